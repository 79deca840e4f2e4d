//! Bearer-token authentication of API requests (RFC 6750 §2.1, RFC 9068 §4).

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use shared::api::SubjectType;
use shared::oauth::AccessTokenClaims;

use super::error::ApiError;
use crate::oauth::access_token::{self, MAX_TOKEN_LEN};
use crate::state::AppState;

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
        access_token::verify(&state, token)
            .map(|claims| Some(AccessToken { claims }))
            .map_err(|why| ApiError::InvalidToken(why.to_owned()))
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
