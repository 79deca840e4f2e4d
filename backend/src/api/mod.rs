//! The resource server: the protected REST API.

pub mod api_token;
pub mod auth;
pub(crate) mod debug;
pub mod error;
pub(crate) mod grants;
pub(crate) mod hello;
pub(crate) mod me;
pub(crate) mod orders;
pub(crate) mod products;
pub(crate) mod refusals;
pub(crate) mod whoami;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::state::AppState;
use error::ApiError;

/// Orders are tiny; anything over 16 KiB is refused with 413 before it is parsed.
const MAX_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hello", get(hello::hello))
        .route("/api/whoami", get(whoami::whoami))
        .route("/api/me", get(me::me))
        .route("/api/me/refusals", get(refusals::list))
        .route("/api/me/grants", get(grants::list))
        .route("/api/debug/token", post(debug::check))
        .route("/api/cors/preflights", get(crate::cors::list))
        .route(
            "/api/lab/clock",
            get(crate::labs::clock::show).post(crate::labs::clock::set),
        )
        .route("/api/lab/keys", get(crate::labs::keys::list))
        .route(
            "/api/lab/tokens",
            get(crate::labs::api_tokens::list).post(crate::labs::api_tokens::create),
        )
        .route(
            "/api/lab/tokens/{id}",
            axum::routing::delete(crate::labs::api_tokens::revoke),
        )
        .route("/api/lab/keys/rotate", post(crate::labs::keys::rotate))
        .route("/api/products", get(products::list))
        .route("/api/orders", get(orders::list).post(orders::create))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Query parameters by name, refusing unknown and repeated ones.
pub fn query_params(
    parts: Option<&str>,
    known: &[&'static str],
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in form_urlencoded::parse(parts.unwrap_or_default().as_bytes()) {
        let Some(name) = known.iter().find(|k| **k == key) else {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter {:?}; known: {}",
                key.chars().take(40).collect::<String>(),
                known.join(", ")
            )));
        };
        if found.iter().any(|(k, _)| k == name) {
            return Err(ApiError::BadRequest(format!(
                "the query parameter {name} is repeated"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(format!(
                "the query parameter {name} contains a control character"
            )));
        }
        found.push((name, value.into_owned()));
    }
    Ok(found)
}
