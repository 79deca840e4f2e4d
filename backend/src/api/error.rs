//! Errors of the protected API: RFC 6750 §3 for authentication and authorization, plain JSON
//! errors for everything else.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::oauth::ErrorResponse;

use crate::refusals::{Refused, Why};
use crate::storage::{self, Failure};

#[derive(Debug)]
pub enum ApiError {
    /// 401 with a bare `Bearer` challenge: the request carried no credentials
    /// (RFC 6750 §3.1: then the challenge SHOULD NOT carry an error code).
    NoCredentials,
    /// 401 `invalid_token`: expired, revoked, malformed or otherwise unacceptable.
    InvalidToken(String),
    /// 401 `invalid_dpop_proof` in a `DPoP` challenge (RFC 9449 §7.1): a DPoP-bound token
    /// without its proof, or a proof that fails a check.
    InvalidDpopProof(String),
    /// 401 `use_dpop_nonce` in a `DPoP` challenge, with the nonce to use in `DPoP-Nonce`
    /// (RFC 9449 §9).
    UseDpopNonce {
        description: &'static str,
        nonce: String,
    },
    /// 400 `invalid_request` in the challenge: the credentials were sent in a malformed way.
    InvalidAuthRequest(String),
    /// 403 `insufficient_scope`, naming the scope the endpoint needs.
    InsufficientScope {
        scope: &'static str,
        description: String,
    },
    /// 400: the request body or parameters are malformed.
    BadRequest(String),
    /// 403 `access_denied`: the credentials are fine, but their holder may not do this.
    Forbidden(String),
    /// 404 `not_found`: the named record does not exist.
    NotFound(String),
    /// 409 `conflict`: the change clashes with what is stored (a taken name, a record in use).
    Conflict(String),
    /// 413: the body is larger than the endpoint accepts.
    TooLarge,
    /// 422: well-formed but refers to something that does not exist or breaks a rule.
    Unprocessable {
        error: &'static str,
        description: String,
    },
    /// 503 `temporarily_unavailable` with `Retry-After`: the database did not answer; nothing
    /// was changed.
    Unavailable,
    /// 500: logged, never explained to the caller.
    Internal,
    /// Any of the above, with the check that decided it (recorded, see [`crate::refusals`]).
    Because(Box<(ApiError, Why)>),
}

impl ApiError {
    /// This refusal, explained by `why`.
    pub fn because(self, why: Why) -> Self {
        match self {
            Self::Because(explained) => Self::Because(Box::new((explained.0, why))),
            error => Self::Because(Box::new((error, why))),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "API request failed");
        Self::Internal
    }
}

impl ApiError {
    /// What went wrong, in words for the caller.
    pub fn description(&self) -> &str {
        match self {
            Self::NoCredentials => "no credentials",
            Self::InvalidToken(d)
            | Self::InvalidDpopProof(d)
            | Self::InvalidAuthRequest(d)
            | Self::BadRequest(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::Conflict(d) => d,
            Self::InsufficientScope { description, .. }
            | Self::Unprocessable { description, .. } => description,
            Self::UseDpopNonce { description, .. } => description,
            Self::TooLarge => "the request body is too large",
            Self::Unavailable => "the database is not answering",
            Self::Internal => "internal error",
            Self::Because(explained) => explained.0.description(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for ApiError {}

impl From<storage::Error> for ApiError {
    fn from(e: storage::Error) -> Self {
        match e.triage() {
            Failure::Input => Self::BadRequest(storage::NUL_REFUSED.into()),
            Failure::Unavailable => Self::Unavailable,
            Failure::Internal(e) => Self::internal(e),
        }
    }
}

impl From<crate::body::Unread> for ApiError {
    fn from(unread: crate::body::Unread) -> Self {
        match unread {
            crate::body::Unread::TooLarge => Self::TooLarge,
            crate::body::Unread::Unreadable(_) => {
                Self::BadRequest("the request body could not be read".into())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut nonce = None;
        let (status, error, description, challenge) = match self {
            Self::Because(explained) => {
                let (error, why) = *explained;
                let mut response = error.into_response();
                if let Some(refused) = response.extensions_mut().get_mut::<Refused>() {
                    refused.why = Some(Box::new(why));
                }
                return response;
            }
            Self::NoCredentials => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "this endpoint needs credentials: send Authorization: Bearer <access token>, \
                 Authorization: DPoP <access token> with a DPoP proof, or Authorization: Token \
                 <API token>"
                    .to_owned(),
                r#"Bearer realm="api""#.to_owned(),
            ),
            Self::InvalidToken(d) => {
                let c = challenge("invalid_token", &d, None);
                (StatusCode::UNAUTHORIZED, "invalid_token", d, c)
            }
            Self::InvalidDpopProof(d) => {
                let c = dpop_challenge("invalid_dpop_proof", &d);
                (StatusCode::UNAUTHORIZED, "invalid_dpop_proof", d, c)
            }
            Self::UseDpopNonce {
                description,
                nonce: fresh,
            } => {
                nonce = Some(fresh);
                let c = dpop_challenge("use_dpop_nonce", description);
                (
                    StatusCode::UNAUTHORIZED,
                    "use_dpop_nonce",
                    description.to_owned(),
                    c,
                )
            }
            Self::InvalidAuthRequest(d) => {
                let c = challenge("invalid_request", &d, None);
                (StatusCode::BAD_REQUEST, "invalid_request", d, c)
            }
            Self::InsufficientScope { scope, description } => {
                let c = challenge("insufficient_scope", &description, Some(scope));
                (StatusCode::FORBIDDEN, "insufficient_scope", description, c)
            }
            Self::BadRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d, String::new()),
            Self::Forbidden(d) => (StatusCode::FORBIDDEN, "access_denied", d, String::new()),
            Self::NotFound(d) => (StatusCode::NOT_FOUND, "not_found", d, String::new()),
            Self::Conflict(d) => (StatusCode::CONFLICT, "conflict", d, String::new()),
            Self::Unprocessable { error, description } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                error,
                description,
                String::new(),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is too large".to_owned(),
                String::new(),
            ),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server's database is not answering; try again in a few seconds".to_owned(),
                String::new(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server could not complete the request".to_owned(),
                String::new(),
            ),
        };
        let body = ErrorResponse {
            error: error.to_owned(),
            error_description: Some(description.clone()),
        };
        // No credentials at all, or a DPoP client's first proof without the nonce it cannot
        // know yet (RFC 9449 §9): the protocols' normal course, not refusals worth an event.
        let unrecorded = matches!(error, "unauthorized" | "use_dpop_nonce");
        let mut response = (status, Json(body)).into_response();
        if !challenge.is_empty()
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(storage::UNAVAILABLE_RETRY_SECS),
            );
        }
        // RFC 9110 §11.6.1: a 401 lists every scheme that could succeed: API tokens, and
        // DPoP-bound access tokens with the proof algorithms taken (RFC 9449 §7.1).
        if status == StatusCode::UNAUTHORIZED {
            let headers = response.headers_mut();
            headers.append(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Token realm="api""#),
            );
            if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
                headers.insert(crate::dpop::NONCE_HEADER, value);
            }
            if !matches!(error, "invalid_dpop_proof" | "use_dpop_nonce") {
                headers.append(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(DPOP_CHALLENGE),
                );
            }
        }
        if unrecorded {
            return Refused::tag_unrecorded(response, error);
        }
        Refused::tag(response, error, description, None)
    }
}

/// RFC 9449 §7.1: the `DPoP` scheme and the proof algorithms this API takes (those of
/// [`crate::dpop::ALGS`]).
const DPOP_CHALLENGE: &str = r#"DPoP realm="api", algs="ES256 EdDSA Ed25519""#;

/// RFC 9449 §7.1: `DPoP realm="api", algs="…", error="…", error_description="…"`.
fn dpop_challenge(error: &str, description: &str) -> String {
    format!(
        r#"{DPOP_CHALLENGE}, error="{error}", error_description="{}""#,
        quotable(description)
    )
}

/// RFC 6750 §3: `Bearer realm="api", error="…", error_description="…", scope="…"`.
fn challenge(error: &str, description: &str, scope: Option<&str>) -> String {
    let clean = quotable(description);
    let mut value = format!(r#"Bearer realm="api", error="{error}", error_description="{clean}""#);
    if let Some(scope) = scope {
        value.push_str(&format!(r#", scope="{scope}""#));
    }
    value
}

/// Quoted values may not contain `"` or `\` (RFC 6750 §3, the grammar of
/// `error_description`), so those and anything outside printable ASCII are replaced.
fn quotable(description: &str) -> String {
    description
        .chars()
        .map(|c| {
            if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                c
            } else {
                '\''
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dpop_challenge_names_the_algorithms_the_proofs_may_use() {
        let names = crate::dpop::alg_names().join(" ");
        assert!(super::DPOP_CHALLENGE.ends_with(&format!(r#"algs="{names}""#)));
    }

    #[test]
    fn challenge_quotes_safely() {
        let c = super::challenge("invalid_token", "bad \"kid\" \\ é", Some("orders:read"));
        assert_eq!(
            c,
            r#"Bearer realm="api", error="invalid_token", error_description="bad 'kid' ' '", scope="orders:read""#
        );
    }
}
