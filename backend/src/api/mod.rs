//! The resource server: the protected REST API.

pub mod api_token;
pub mod auth;
pub mod error;
pub(crate) mod hello;
pub(crate) mod me;
pub(crate) mod orders;
pub(crate) mod products;
pub(crate) mod whoami;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::state::AppState;

/// Orders are tiny; anything over 16 KiB is refused with 413 before it is parsed.
const MAX_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/hello", get(hello::hello))
        .route("/api/whoami", get(whoami::whoami))
        .route("/api/me", get(me::me))
        .route("/api/products", get(products::list))
        .route("/api/orders", get(orders::list).post(orders::create))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}
