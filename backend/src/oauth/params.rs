//! Request parameters of the OAuth endpoints, from a query string or a form body.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use super::MAX_BODY;
use super::error::OAuthError;

/// The body of a token, revocation or introspection request: an RFC 6749 §5.2 error body
/// when it cannot be read (413 past the endpoint's limit).
pub type FormBody = crate::body::BodyBytes<OAuthError>;

impl From<crate::body::Unread> for OAuthError {
    fn from(unread: crate::body::Unread) -> Self {
        match unread {
            crate::body::Unread::TooLarge => Self::too_large(MAX_BODY),
            crate::body::Unread::Unreadable(why) => {
                Self::invalid_request(format!("the body could not be read: {why}"))
            }
        }
    }
}

/// Parameters with the two rules RFC 6749 §3.1/§3.2 sets for every endpoint: a parameter sent
/// without a value is treated as omitted, and none may be sent twice.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

#[derive(Debug, PartialEq, Eq)]
pub enum ParamsError {
    Repeated(String),
    TooMany,
    /// A name or value holds a NUL character: no OAuth parameter can (RFC 6749 Appendix A
    /// allows printable characters, and Unicode for a few), and no database column takes one.
    Nul(String),
}

impl std::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Repeated(name) => write!(
                f,
                "parameter `{name}` is sent more than once (RFC 6749 §3.1)"
            ),
            Self::TooMany => write!(f, "too many parameters (at most {})", Params::MAX),
            Self::Nul(name) => write!(
                f,
                "parameter `{name}` contains a NUL character, which no OAuth parameter may \
                 (RFC 6749 Appendix A)"
            ),
        }
    }
}

impl Params {
    /// No OAuth request needs more; it bounds what a hostile request can make us allocate.
    pub const MAX: usize = 32;

    pub fn parse(encoded: &[u8]) -> Result<Self, ParamsError> {
        let mut map = HashMap::new();
        for (count, (name, value)) in form_urlencoded::parse(encoded).enumerate() {
            if count >= Self::MAX {
                return Err(ParamsError::TooMany);
            }
            if name.contains('\0') || value.contains('\0') {
                let shown: String = name.chars().filter(|c| *c != '\0').take(40).collect();
                return Err(ParamsError::Nul(shown));
            }
            if map.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(ParamsError::Repeated(name.into_owned()));
            }
        }
        Ok(Self(map))
    }

    /// The parameters of a form-encoded POST body (RFC 6749 §3.2: never JSON, never the query).
    pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let form_encoded = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_encoded {
            return Err(OAuthError::invalid_request(
                "the request must be sent as application/x-www-form-urlencoded (RFC 6749 §3.2)",
            ));
        }
        Self::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_drops_empty_values() {
        let p = Params::parse(b"a=1&b=&c=x%20y+z").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some("x y z"));
    }

    #[test]
    fn refuses_repeats() {
        assert_eq!(
            Params::parse(b"a=1&a=2").unwrap_err(),
            ParamsError::Repeated("a".into())
        );
        assert_eq!(
            Params::parse(b"a=1&a=").unwrap_err(),
            ParamsError::Repeated("a".into())
        );
        assert_eq!(
            Params::parse(b"a=&a=1").unwrap_err(),
            ParamsError::Repeated("a".into())
        );
    }

    #[test]
    fn refuses_nul_characters() {
        assert_eq!(
            Params::parse(b"state=a%00b").unwrap_err(),
            ParamsError::Nul("state".into())
        );
        assert!(matches!(
            Params::parse(b"a%00=1").unwrap_err(),
            ParamsError::Nul(_)
        ));
    }

    #[test]
    fn refuses_too_many() {
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=v")).collect();
        assert_eq!(
            Params::parse(many.join("&").as_bytes()).unwrap_err(),
            ParamsError::TooMany
        );
    }
}
