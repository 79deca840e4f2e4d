//! The authorization server: discovery, the authorization endpoint with its login form and
//! consent screen, the token endpoint (one file per grant), revocation, introspection and
//! userinfo. The tokens it signs are [`crate::access_token`]'s, with [`crate::keys`].
//!
//! Each endpoint's handler parses the request once into a typed value, calls a function that
//! takes that value and the time and returns a typed outcome (testable without HTTP, with unit
//! tests beside it), and renders the outcome.

pub mod authorize;
pub mod client_assertion;
pub mod client_auth;
pub mod client_keys;
pub mod device;
pub(crate) mod discovery;
pub mod error;
pub mod introspect;
pub mod logout;
pub mod par;
pub mod params;
pub mod proof;
pub mod registration;
pub mod resource;
pub mod revoke;
pub mod token;
pub(crate) mod userinfo;

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
pub(crate) const MAX_BODY: usize = 16 * 1024;

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
        .route("/par", post(par::par))
        .route("/device/authorize", post(device::device_authorization))
        .route("/revoke", post(revoke::revoke))
        .route("/introspect", post(introspect::introspect))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// RFC 7591 and RFC 7592: dynamic client registration (JSON bodies, room for a JWK Set).
pub fn registration_router() -> Router<AppState> {
    Router::new()
        .route("/register", post(registration::register))
        .route(
            "/register/{client_id}",
            get(registration::read)
                .put(registration::update)
                .delete(registration::delete),
        )
        .layer(DefaultBodyLimit::max(registration::MAX_REGISTRATION_BODY))
}

/// The custom authorization servers' endpoints, in Okta's layout under their issuer
/// `/oauth2/{id}` (browsers may call them with fetch: CORS applies as to [`api_router`]).
pub fn servers_router() -> Router<AppState> {
    Router::new()
        .route(
            "/oauth2/{server}/.well-known/oauth-authorization-server",
            get(discovery::server_metadata),
        )
        .route(
            "/oauth2/{server}/.well-known/openid-configuration",
            get(discovery::server_openid_configuration),
        )
        // RFC 8414 §3.1: the well-known part inserted before the issuer's path.
        .route(
            "/.well-known/oauth-authorization-server/oauth2/{server}",
            get(discovery::server_metadata_rfc8414),
        )
        .route("/oauth2/{server}/v1/keys", get(discovery::server_jwks))
        .route("/oauth2/{server}/v1/token", post(token::server_token))
        .route("/oauth2/{server}/v1/par", post(par::server_par))
        .route(
            "/oauth2/{server}/v1/device/authorize",
            post(device::server_device_authorization),
        )
        .route("/oauth2/{server}/v1/revoke", post(revoke::server_revoke))
        .route(
            "/oauth2/{server}/v1/introspect",
            post(introspect::server_introspect),
        )
        .route(
            "/oauth2/{server}/v1/userinfo",
            get(userinfo::server_userinfo).post(userinfo::server_userinfo),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// Endpoints the browser navigates to (pages, not fetch): no CORS.
pub fn page_router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/consent", post(authorize::consent))
        .route("/device", get(device::verification).post(device::verify))
        .route(
            "/logout",
            get(logout::end_session).post(logout::end_session_post),
        )
        .route(
            "/oauth2/{server}/v1/logout",
            get(logout::server_end_session).post(logout::server_end_session_post),
        )
        .route(
            "/oauth2/{server}/v1/device",
            get(device::server_verification).post(device::server_verify),
        )
        .route(
            "/oauth2/{server}/v1/authorize",
            get(authorize::server_authorize),
        )
        .route(
            "/oauth2/{server}/v1/authorize/login",
            post(authorize::server_login),
        )
        .route(
            "/oauth2/{server}/v1/authorize/consent",
            post(authorize::server_consent),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY))
}
