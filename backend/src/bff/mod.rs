//! The MVC mode's backend-for-frontend (`--app-mode mvc`), on the browser app's origin.
//!
//! In REST mode the browser holds the access token and sends it itself. Here it never sees one:
//! this module is a confidential client of the authorization server. It runs the
//! authorization-code flow with PKCE for the browser ([`login`]), keeps the tokens in a
//! server-side session found by an `HttpOnly` cookie ([`session`]), renews them with the
//! refresh token, and calls the API with them on the browser's behalf ([`proxy`]). It talks to
//! the authorization server and the API over HTTP ([`upstream`]), as it would if they ran
//! elsewhere. The paths are listed in [`shared::bff`].
//!
//! This is the "backend for frontend" of the IETF's *OAuth 2.0 for Browser-Based Applications*
//! (§6.1): a script injected into the page can still act through the session while it runs, but
//! cannot carry a token away.

mod backchannel;
mod login;
mod proxy;
mod session;
mod upstream;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;
use crate::storage::{self, Failure};

/// The admin API accepts bodies up to 16 KiB, the API less; this leaves room and no more.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// How long one call to the authorization server or the API may take.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(10);

/// The backend-for-frontend's state.
pub struct Bff {
    app: AppState,
    http: reqwest::Client,
    /// One lock per session while its tokens are renewed: two API calls that find the access
    /// token stale at once must not both present the refresh token, or the second would be a
    /// reuse and end the login (RFC 9700 §4.14.2). Calls on this instance queue here; across
    /// instances, the lease on the session's row decides which one renews.
    refreshing: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

pub fn router(app: AppState) -> anyhow::Result<Router> {
    crate::crypto::install_tls_provider();
    let http = reqwest::Client::builder()
        .timeout(UPSTREAM_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let bff = Arc::new(Bff {
        app,
        http,
        refreshing: Mutex::new(HashMap::new()),
    });
    Ok(Router::new()
        .route("/bff/login", get(login::start))
        .route("/bff/callback", get(login::callback))
        .route("/bff/logout", post(login::logout))
        .route(
            shared::bff::BACKCHANNEL_LOGOUT_PATH,
            post(backchannel::logout),
        )
        .route("/bff/session", get(proxy::session_info))
        .route("/bff/api/{*path}", any(proxy::forward))
        .route("/bff/admin/{*path}", any(proxy::forward))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(bff))
}

impl Bff {
    /// How long the request renewing a session's tokens holds the session's lease before
    /// another may try: as long as the refresh can legitimately take (the claim itself, the
    /// upstream call, then storing the result: two database statements, each of which may
    /// wait for a connection and then run), with a margin. A lease that ran out under a
    /// refresh still under way would let a second request present the same refresh token.
    fn refresh_lease(&self) -> Duration {
        let statement = Duration::from_secs(
            self.app.config.db_acquire_timeout + self.app.config.db_statement_timeout,
        );
        UPSTREAM_TIMEOUT + statement * 2 + Duration::from_secs(5)
    }

    /// The lock that serialises `session`'s refreshes.
    fn refresh_lock(&self, session: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .refreshing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(lock) = locks.get(session).and_then(Weak::upgrade) {
            return lock;
        }
        locks.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(session.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

/// Why the backend-for-frontend refused, as the browser app reads it: the JSON error body the
/// API uses, so the app's one error path handles both modes.
#[derive(Debug)]
pub enum BffError {
    /// 401 `invalid_token`: the request carried no session cookie. Nothing is cleared: a
    /// cross-site request arrives without the `SameSite=Strict` cookie, and clearing it then
    /// would let any site log the user out.
    NotLoggedIn,
    /// 401 `invalid_token`: the request's session ended (or never existed); its cookie is
    /// cleared. The check that ended it, for the event log.
    NoSession(String, Box<crate::refusals::Why>),
    /// 403 `access_denied`: a cross-site request, or one without the session's CSRF token;
    /// the check that refused it, for the event log.
    Forbidden(String, Box<crate::refusals::Why>),
    /// 400 `invalid_request`.
    BadRequest(String),
    /// 502 `temporarily_unavailable`: the authorization server or the API did not answer.
    Upstream(String),
    /// 503 `temporarily_unavailable` with `Retry-After`: the database did not answer.
    Unavailable,
    /// 500: logged, never explained.
    Internal,
}

impl From<storage::Error> for BffError {
    fn from(e: storage::Error) -> Self {
        match e.triage() {
            Failure::Input => Self::BadRequest(storage::NUL_REFUSED.into()),
            Failure::Unavailable => Self::Unavailable,
            Failure::Internal(e) => {
                tracing::error!(error = %e, "backend-for-frontend database error");
                Self::Internal
            }
        }
    }
}

impl IntoResponse for BffError {
    fn into_response(self) -> Response {
        let clear = matches!(self, Self::NoSession(..));
        let anonymous = matches!(self, Self::NotLoggedIn);
        let mut why = None;
        let (status, error, description) = match self {
            Self::NotLoggedIn => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "you are not logged in".to_owned(),
            ),
            Self::NoSession(description, check) => {
                why = Some(check);
                (StatusCode::UNAUTHORIZED, "invalid_token", description)
            }
            Self::Forbidden(description, check) => {
                why = Some(check);
                (StatusCode::FORBIDDEN, "access_denied", description)
            }
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, "invalid_request", why),
            Self::Upstream(why) => (StatusCode::BAD_GATEWAY, "temporarily_unavailable", why),
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the server's database is not answering; try again in a few seconds".to_owned(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the server failed; the error is logged".to_owned(),
            ),
        };
        let mut response = (
            status,
            axum::Json(json!({ "error": error, "error_description": &description })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(storage::UNAVAILABLE_RETRY_SECS),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names how to authenticate; here, by logging in to get a
            // session cookie.
            let headers = response.headers_mut();
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Cookie realm=\"app\""),
            );
            if clear {
                // The browser's cookie names a session that is gone: drop it.
                for cookie in session::CLEARED_COOKIES {
                    headers.append(header::SET_COOKIE, HeaderValue::from_static(cookie));
                }
            }
        }
        if anonymous {
            // A visitor who has not logged in: nothing to explain.
            return crate::refusals::Refused::tag_unrecorded(response, error);
        }
        crate::refusals::Refused::tag(response, error, description, why)
    }
}
