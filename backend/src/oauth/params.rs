//! Request parameters of the OAuth endpoints, from a query string or a form body.

use std::collections::HashMap;

use axum::http::HeaderMap;

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
/// without a value is treated as omitted, and none may be sent twice, but `resource`, which
/// RFC 8707 §2 lets a client send once per resource, and `audience`, which RFC 8693 §2.1 lets
/// a token exchange send once per audience.
#[derive(Debug, Default)]
pub struct Params {
    single: HashMap<String, String>,
    resources: Vec<String>,
    audiences: Vec<String>,
}

/// The parameters that may be repeated (RFC 8707 §2, RFC 8693 §2.1).
const RESOURCE: &str = "resource";
const AUDIENCE: &str = "audience";

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
        let mut resources = Vec::new();
        let mut audiences = Vec::new();
        for (count, (name, value)) in form_urlencoded::parse(encoded).enumerate() {
            if count >= Self::MAX {
                return Err(ParamsError::TooMany);
            }
            if name.contains('\0') || value.contains('\0') {
                let shown: String = name.chars().filter(|c| *c != '\0').take(40).collect();
                return Err(ParamsError::Nul(shown));
            }
            if name == RESOURCE || name == AUDIENCE {
                if !value.is_empty() {
                    let list = match name == RESOURCE {
                        true => &mut resources,
                        false => &mut audiences,
                    };
                    list.push(value.into_owned());
                }
            } else if map.insert(name.to_string(), value.into_owned()).is_some() {
                return Err(ParamsError::Repeated(name.into_owned()));
            }
        }
        Ok(Self {
            single: map,
            resources,
            audiences,
        })
    }

    /// The parameters of a form-encoded POST body (RFC 6749 §3.2: never JSON, never the query).
    pub fn form(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        if !crate::web::is_form_encoded(headers) {
            return Err(OAuthError::invalid_request(
                "the request must be sent as application/x-www-form-urlencoded (RFC 6749 §3.2)",
            ));
        }
        Self::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))
    }

    /// The parameters of a POST to the token, revocation or introspection endpoint: refused
    /// with a description of the fix when any of them came in the URL's query string (see
    /// [`refuse_in_query`]), then read from the form body.
    pub fn post(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Self, OAuthError> {
        refuse_in_query(query)?;
        Self::form(headers, body)
    }

    /// Every `resource` sent, in order (those sent without a value left out).
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// Every `audience` sent, in order (RFC 8693 §2.1; only a token exchange reads them).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.single
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// What the token, revocation and introspection endpoints read from a request body, and two
/// secrets they never take (a password, a client assertion) that must not travel in a URL
/// either. Anything else in an endpoint's query is its own (RFC 6749 §3.2 allows one, and
/// unrecognised parameters are ignored) and passes.
const BODY_PARAMETERS: [&str; 18] = [
    "grant_type",
    "scope",
    "resource",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
    "client_assertion",
    "password",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
];

/// Of those, the ones whose value is a secret: a URL is kept in proxy and server logs and in
/// histories, so one sent there is no longer secret (RFC 6749 §2.3.1: client credentials "MUST
/// NOT be included in the request URI").
const SECRETS: [&str; 8] = [
    "client_secret",
    "subject_token",
    "actor_token",
    "client_assertion",
    "code_verifier",
    "refresh_token",
    "token",
    "password",
];

/// RFC 6749 §3.2 (and RFC 7009 §2.1, RFC 7662 §2.1): these endpoints take their parameters in
/// an `application/x-www-form-urlencoded` body; the endpoint's URL may carry a query of its
/// own, which is not where parameters go. A request with its parameters in the query (Postman's
/// Params tab, `curl 'http://…/token?grant_type=…'`) would otherwise be told only what is missing
/// from the body, which does not say what to change. Such a request is refused as a whole, so
/// a secret in a URL is never accepted, and the description says what to do about it. Only the
/// parameters' names are named, never their values. Refused before the client is
/// authenticated: a secret in a URL is never checked, so it neither counts as a failure nor
/// tells the caller whether it was right.
pub fn refuse_in_query(query: Option<&str>) -> Result<(), OAuthError> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(());
    };
    let mut found: Vec<&str> = Vec::new();
    let mut exposed: Vec<&str> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let Some(known) = BODY_PARAMETERS.iter().find(|known| **known == name) else {
            continue;
        };
        if !found.contains(known) {
            found.push(known);
        }
        if !value.is_empty() && SECRETS.contains(known) && !exposed.contains(known) {
            exposed.push(known);
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let mut description = format!(
        "{} {} sent in the URL's query string; this endpoint reads its parameters only from the \
         request body, encoded as application/x-www-form-urlencoded (RFC 6749 §3.2). In Postman, \
         move them from the Params tab to Body → x-www-form-urlencoded; with curl, send them \
         with -d (for example -d grant_type=client_credentials).",
        found.join(", "),
        if found.len() == 1 { "was" } else { "were" },
    );
    if !exposed.is_empty() {
        description.push_str(&format!(
            " A URL can be kept in logs and histories on the way, so treat {} as exposed{}.",
            exposed.join(", "),
            if exposed.contains(&"client_secret") {
                ": rotate the client secret"
            } else {
                ""
            }
        ));
    }
    Err(OAuthError::invalid_request(description))
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
    fn resource_and_audience_alone_may_be_repeated_and_empty_ones_are_omitted() {
        let params = Params::parse(
            b"resource=api%3A%2F%2Fa&scope=x&resource=&audience=c&resource=api%3A%2F%2Fb&audience=d",
        )
        .unwrap();
        assert_eq!(params.resources(), ["api://a", "api://b"]);
        assert_eq!(params.audiences(), ["c", "d"]);
        assert_eq!(params.get("resource"), None);
        assert_eq!(params.get("audience"), None);
        assert_eq!(
            Params::parse(b"scope=a&scope=b").unwrap_err(),
            ParamsError::Repeated("scope".into())
        );
    }

    #[test]
    fn refuses_too_many() {
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=v")).collect();
        assert_eq!(
            Params::parse(many.join("&").as_bytes()).unwrap_err(),
            ParamsError::TooMany
        );
    }

    #[test]
    fn parameters_in_the_query_are_refused_with_the_fix_and_without_their_values() {
        assert!(refuse_in_query(None).is_ok());
        assert!(refuse_in_query(Some("")).is_ok());
        // The endpoint's own query (RFC 6749 §3.2 allows one) is not a parameter, nor are
        // parameters these endpoints never read (a gateway's `audience`).
        assert!(refuse_in_query(Some("tenant=shop&debug&audience=y")).is_ok());
        // RFC 8707's `resource` is read from the body: in the query it would be ignored.
        let error = refuse_in_query(Some("resource=api%3A%2F%2Fx")).unwrap_err();
        assert!(error.description.starts_with("resource was sent"));
        // Names are compared decoded, as the body's are.
        let error = refuse_in_query(Some("grant%5Ftype=client_credentials")).unwrap_err();
        assert!(error.description.starts_with("grant_type was sent"));
        // A secret's name with no value exposes nothing.
        let error = refuse_in_query(Some("client_secret=&grant_type=x")).unwrap_err();
        assert!(
            !error.description.contains("exposed"),
            "{}",
            error.description
        );

        let error =
            refuse_in_query(Some("grant_type=client_credentials&scope=openid")).unwrap_err();
        assert_eq!(error.code, shared::oauth::ErrorCode::InvalidRequest);
        assert!(
            error
                .description
                .starts_with("grant_type, scope were sent in the URL's query string"),
            "{}",
            error.description
        );
        assert!(error.description.contains("Body → x-www-form-urlencoded"));
        assert!(!error.description.contains("exposed"));

        let error = refuse_in_query(Some(
            "client_id=demo-service&client_secret=s3cr3t-value&scope=x&scope=y",
        ))
        .unwrap_err();
        assert!(
            error
                .description
                .starts_with("client_id, client_secret, scope were sent"),
            "{}",
            error.description
        );
        assert!(
            error
                .description
                .contains("treat client_secret as exposed: rotate the client secret"),
            "{}",
            error.description
        );
        assert!(
            !error.description.contains("s3cr3t-value")
                && !error.description.contains("demo-service")
        );

        let error = refuse_in_query(Some("token=abc")).unwrap_err();
        assert!(error.description.starts_with("token was sent"));
        assert!(error.description.contains("treat token as exposed."));
    }
}
