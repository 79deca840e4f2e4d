//! Bearer-token authentication of API requests (RFC 6750 §2.1, RFC 9068 §4).

use std::collections::HashSet;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use shared::api::SubjectType;
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims};

use super::error::ApiError;
use crate::oauth::keys::ALGORITHM;
use crate::state::AppState;

/// Tokens this server issues are under 1 KiB; anything far larger is refused before parsing.
const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 8725 §3.10 asks for a small one).
const LEEWAY_SECS: u64 = 30;

/// A request's verified access token. Put it in a handler's arguments to require one;
/// `Option<AccessToken>` accepts anonymous requests but still refuses a bad token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub claims: AccessTokenClaims,
}

impl AccessToken {
    /// RFC 6750 §3.1: 403 `insufficient_scope` naming what was needed.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.claims.scope.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope {
                scope,
                description: format!(
                    "this endpoint needs the {scope} scope, which the access token lacks"
                ),
            })
        }
    }

    /// Client-credentials tokens have the client as subject (RFC 9068 §2.2).
    pub fn subject_type(&self) -> SubjectType {
        if self.claims.sub == self.claims.client_id {
            SubjectType::Client
        } else {
            SubjectType::User
        }
    }
}

impl<S> FromRequestParts<S> for AccessToken
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match <Self as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await? {
            Some(token) => Ok(token),
            None => Err(ApiError::NoCredentials),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for AccessToken
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let state = AppState::from_ref(state);
        // RFC 6750 §2.3 would allow a query parameter, RFC 9700 §2.4 says not to: it ends up in
        // logs and Referer headers. Say so rather than silently ignoring it.
        if parts
            .uri
            .query()
            .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"))
        {
            return Err(ApiError::InvalidAuthRequest(
                "access tokens are not accepted in the query string; send Authorization: Bearer <token>".into(),
            ));
        }
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Ok(None),
            (Some(_), Some(_)) => {
                return Err(ApiError::InvalidAuthRequest(
                    "more than one Authorization header".into(),
                ));
            }
            (Some(value), None) => value,
        };
        let token = bearer_token(value.as_bytes())?;
        validate(&state, token).map(|claims| Some(AccessToken { claims }))
    }
}

/// The token of `Bearer <token>`: scheme case-insensitive (RFC 9110 §11.1), token in the
/// `token68` syntax of RFC 6750 §2.1.
fn bearer_token(value: &[u8]) -> Result<&str, ApiError> {
    let value = std::str::from_utf8(value).map_err(|_| {
        ApiError::InvalidAuthRequest("the Authorization header is not valid text".into())
    })?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidAuthRequest(format!(
            "unsupported authorization scheme {:?}; use Bearer",
            scheme.chars().take(20).collect::<String>()
        )));
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(ApiError::InvalidAuthRequest(
            "the Bearer token is empty".into(),
        ));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::InvalidToken(format!(
            "the access token is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let token68 = token
        .trim_end_matches('=')
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !token68 {
        return Err(ApiError::InvalidAuthRequest(
            "the Bearer token contains characters RFC 6750 §2.1 does not allow".into(),
        ));
    }
    Ok(token)
}

/// RFC 9068 §4 and RFC 8725: the algorithm is fixed by the server (never read from the token),
/// the key comes from our own key set by `kid` (never from `jwk`/`jku`/`x5u` headers), and
/// `typ`, `iss`, `aud`, `exp` and `nbf` are all checked.
fn validate(state: &AppState, token: &str) -> Result<AccessTokenClaims, ApiError> {
    let invalid = |d: &str| ApiError::InvalidToken(d.to_owned());
    if token.split('.').count() != 3 {
        return Err(invalid(
            "the access token is not a JWT (expected three dot-separated parts)",
        ));
    }
    let header =
        decode_header(token).map_err(|_| invalid("the access token's header is malformed"))?;
    if header.alg != ALGORITHM {
        return Err(invalid(
            "the access token is not signed with ES256, the only algorithm this API accepts",
        ));
    }
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err(invalid(
            "the token is not an access token (its typ header is not at+jwt)",
        ));
    }
    if header.crit.is_some() {
        return Err(invalid(
            "the access token has critical header parameters this API does not understand",
        ));
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() {
        return Err(invalid(
            "the access token names its own key (jwk/jku/x5u); this API only trusts its issuer's keys",
        ));
    }
    let kid = header
        .kid
        .ok_or_else(|| invalid("the access token has no kid header"))?;
    let key = state
        .keys
        .verifying_key(&kid)
        .ok_or_else(|| invalid("the access token was signed by an unknown key"))?;

    let mut validation = Validation::new(ALGORITHM);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[state.config.issuer_str()]);
    validation.set_audience(&[&state.config.audience]);
    // `iat`, `jti`, `client_id` and `scope` are required by the claims type itself.
    validation.required_spec_claims = ["exp", "iss", "aud", "sub"]
        .into_iter()
        .map(String::from)
        .collect::<HashSet<_>>();
    let data = decode::<AccessTokenClaims>(token, key, &validation).map_err(|e| {
        invalid(match e.kind() {
            ErrorKind::ExpiredSignature => "the access token expired",
            ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)",
            ErrorKind::InvalidIssuer => "the access token was issued by another issuer",
            ErrorKind::InvalidAudience => "the access token is meant for another audience",
            ErrorKind::InvalidSignature => "the access token's signature is invalid",
            ErrorKind::MissingRequiredClaim(_) => "the access token lacks a required claim",
            _ => "the access token is malformed",
        })
    })?;
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(b"Bearer abc.def.ghi").unwrap(), "abc.def.ghi");
        assert_eq!(bearer_token(b"bearer abc").unwrap(), "abc");
        assert!(matches!(
            bearer_token(b"Bearer"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Bearer "),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Basic abc"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Bearer a b"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Bearer \xff"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert!(matches!(
            bearer_token(long.as_bytes()),
            Err(ApiError::InvalidToken(_))
        ));
    }
}
