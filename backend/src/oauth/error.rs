//! RFC 6749 §5.2 error responses, for the token, revocation and introspection endpoints.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::oauth::{ErrorCode, ErrorResponse};

use crate::access_token::SigningError;
use crate::refusals::{Refused, Why};
use crate::storage::{self, Failure};

/// An error answered by the token, revocation or introspection endpoint.
#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: String,
    /// Set when the caller should wait: the answer carries `Retry-After` (RFC 9110 §10.2.3).
    pub retry_after: Option<u64>,
    /// The status when the code alone does not decide it (429 for a rate limit).
    status: Option<StatusCode>,
    /// The check that decided the refusal (recorded, see [`crate::refusals`]).
    pub why: Option<Box<Why>>,
    /// A nonce for the client's next DPoP proofs, sent as `DPoP-Nonce` (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
            status: None,
            why: None,
            dpop_nonce: None,
        }
    }

    /// This refusal, explained by `why`.
    pub fn because(mut self, why: Why) -> Self {
        self.why = Some(Box::new(why));
        self
    }

    /// Too many failed attempts. RFC 6749 §5.2 has no code for this; `temporarily_unavailable`
    /// (§4.1.2.1) is the closest, with the status and `Retry-After` of RFC 6585 §4.
    pub fn throttled(description: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            status: Some(StatusCode::TOO_MANY_REQUESTS),
            ..Self::new(ErrorCode::TemporarilyUnavailable, description)
        }
    }

    /// RFC 9110 §15.5.14: the body is over the endpoint's limit; `invalid_request` (the RFC 6749
    /// §5.2 code for a malformed request) with the status that says why.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: Some(StatusCode::PAYLOAD_TOO_LARGE),
            ..Self::invalid_request(format!(
                "the request body is larger than {} KiB; an OAuth request needs a few hundred bytes",
                limit / 1024
            ))
        }
    }

    /// The database did not answer: 503 `temporarily_unavailable`; the same request may
    /// succeed in a few seconds (unless it spent something single-use before the database
    /// went away, which a retry then hears about).
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(storage::UNAVAILABLE_RETRY_SECS),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the server's database is not answering; try again in a few seconds",
            )
        }
    }

    /// 404: the path names an authorization server that does not exist (the id is not echoed).
    pub fn unknown_server() -> Self {
        Self {
            status: Some(StatusCode::NOT_FOUND),
            ..Self::invalid_request(
                "there is no authorization server with this id; GET /admin/servers lists them",
            )
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// RFC 8707 §2.
    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidTarget, description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// Logs the cause and answers an opaque `server_error`: internals never reach clients.
    pub fn server_error(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "OAuth endpoint failed");
        Self::new(
            ErrorCode::ServerError,
            "the server could not complete the request; try again",
        )
    }
}

impl From<storage::Error> for OAuthError {
    fn from(e: storage::Error) -> Self {
        match e.triage() {
            Failure::Input => Self::invalid_request(storage::NUL_REFUSED),
            Failure::Unavailable => Self::unavailable(),
            Failure::Internal(e) => Self::server_error(e),
        }
    }
}

impl From<SigningError> for OAuthError {
    fn from(e: SigningError) -> Self {
        Self::server_error(e)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.status.unwrap_or(match self.code {
            // RFC 6749 §5.2: 401 for a failed client authentication, with a challenge naming
            // the scheme the client can use (HTTP requires one on every 401).
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        });
        let code = self.code.as_str();
        let body = ErrorResponse {
            error: code.to_owned(),
            error_description: Some(self.description.clone()),
        };
        let mut response = (status, no_store(), Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(nonce) = self.dpop_nonce.as_deref()
            && let Ok(value) = HeaderValue::from_str(nonce)
        {
            response
                .headers_mut()
                .insert(crate::dpop::NONCE_HEADER, value);
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="token", charset="UTF-8""#),
            );
        }
        // RFC 8628 §3.5: a device waiting for its user hears authorization_pending at every
        // poll, and with nonces required (RFC 9449 §8) a client's first proof hears
        // use_dpop_nonce: the protocols' normal course, not refusals worth an event.
        if matches!(
            self.code,
            ErrorCode::AuthorizationPending | ErrorCode::UseDpopNonce
        ) {
            return Refused::tag_unrecorded(response, code);
        }
        Refused::tag(response, code, self.description, self.why)
    }
}

/// RFC 6749 §5.1: token responses, and errors from the same endpoint, must not be cached.
pub fn no_store() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ]
}
