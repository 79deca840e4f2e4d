//! The authorization server: discovery, keys, the authorization endpoint with its login form,
//! the token endpoint (with refresh-token rotation), revocation and introspection.

pub mod access_token;
mod authorize;
pub mod client_auth;
mod consent;
mod discovery;
pub mod error;
mod introspect;
pub mod keys;
mod page;
pub mod params;
mod revoke;
pub mod rotation;
pub mod throttle;
pub mod token;
mod userinfo;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use shared::scope::{ADMIN, ScopeSet};

use crate::state::AppState;
use crate::storage::User;

/// What `user` may be granted of `scope`: everything but `admin` unless they are an
/// administrator. Applied at login and again at every refresh, so a demoted user's next access
/// token lacks it.
pub fn scope_for_user(user: &User, scope: ScopeSet) -> ScopeSet {
    if user.is_admin() || !scope.contains(ADMIN) {
        return scope;
    }
    scope.iter().filter(|s| *s != ADMIN).collect()
}

/// OAuth requests are a few hundred bytes; 16 KiB leaves room and refuses floods early (413).
const MAX_BODY: usize = 16 * 1024;

/// Endpoints that browsers call with fetch (and so need CORS).
pub fn api_router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route("/jwks.json", get(discovery::jwks))
        .route("/token", post(token::token))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Endpoints the browser navigates to (pages, not fetch): no CORS.
pub fn page_router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/consent", post(consent::answer))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}
