//! Reading an access token for display.
//!
//! The browser never checks the signature: it could not do anything useful with the answer, and
//! the API checks it on every request anyway. This module only shows what the token says.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use shared::oauth::AccessTokenClaims;

/// A JWT split into its parts (RFC 7519 §3, compact serialization).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedToken {
    pub header: Value,
    pub payload: Value,
    /// The payload read as RFC 9068 claims, when it has them all.
    pub claims: Option<AccessTokenClaims>,
    /// The three base64url segments as they travel.
    pub segments: [String; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtError {
    NotThreeSegments,
    NotBase64Url(Part),
    NotJson(Part),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    Payload,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Payload => "payload",
        })
    }
}

impl fmt::Display for JwtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotThreeSegments => {
                f.write_str("The token is not a JWT: it does not have three dot-separated parts.")
            }
            Self::NotBase64Url(part) => write!(f, "The token's {part} is not base64url."),
            Self::NotJson(part) => write!(f, "The token's {part} is not a JSON object."),
        }
    }
}

impl std::error::Error for JwtError {}

pub fn decode(token: &str) -> Result<DecodedToken, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NotThreeSegments);
    };
    let payload_json = decode_part(payload, Part::Payload)?;
    Ok(DecodedToken {
        header: decode_part(header, Part::Header)?,
        claims: serde_json::from_value(payload_json.clone()).ok(),
        payload: payload_json,
        segments: [header.to_owned(), payload.to_owned(), signature.to_owned()],
    })
}

fn decode_part(segment: &str, part: Part) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::NotBase64Url(part))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(JwtError::NotJson(part)),
    }
}

/// JSON as people read it: indented, one claim per line.
pub fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn decodes_an_access_token() {
        let token = format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            encode(
                r#"{"iss":"http://localhost:5000","sub":"user0","aud":"api","exp":2,"iat":1,"jti":"j","client_id":"demo-spa","scope":"products:read"}"#
            )
        );
        let decoded = decode(&token).unwrap();
        assert_eq!(decoded.header["typ"], "at+jwt");
        let claims = decoded.claims.unwrap();
        assert_eq!(claims.sub, "user0");
        assert!(claims.scope.contains("products:read"));
    }

    #[test]
    fn refuses_what_is_not_a_jwt() {
        assert_eq!(decode("abc"), Err(JwtError::NotThreeSegments));
        assert_eq!(decode("a.b.c.d"), Err(JwtError::NotThreeSegments));
        assert_eq!(
            decode("!!.e30.x"),
            Err(JwtError::NotBase64Url(Part::Header))
        );
        assert_eq!(
            decode(&format!("e30.{}.x", encode("[1]"))),
            Err(JwtError::NotJson(Part::Payload))
        );
    }
}
