//! Authorization server metadata (RFC 8414) and the JWK Set it points to.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use shared::oauth::{GrantType, ServerMetadata};

use super::client_assertion::signing_alg_names;
use super::client_auth::{CONFIDENTIAL_METHODS, SUPPORTED_METHODS};
use super::error::OAuthError;
use crate::config::Config;
use crate::keys::ID_TOKEN_ALG;
use crate::servers::AuthServer;
use crate::state::AppState;

/// Metadata changes only with configuration, so clients may cache it briefly.
const CACHE: &str = "public, max-age=300";

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "OAuth",
    responses((status = 200, description = "Authorization server metadata (RFC 8414; the same document at /.well-known/openid-configuration)", body = shared::oauth::ServerMetadata)))]
pub async fn metadata(State(state): State<AppState>) -> Result<impl IntoResponse, OAuthError> {
    let scopes_supported = state.db.scope_names().await?;
    Ok(cached(root_document(&state.config, scopes_supported)))
}

/// An authorization server's metadata (RFC 8414), at `{issuer}/.well-known/oauth-authorization-server`
/// (Okta's place) and at `/.well-known/oauth-authorization-server/oauth2/{id}` (RFC 8414 §3.1's).
#[utoipa::path(get, path = "/oauth2/{server}/.well-known/oauth-authorization-server", tag = "Authorization servers",
    params(("server" = String, Path, description = "The authorization server's id")),
    responses(
        (status = 200, description = "Its metadata (RFC 8414, with OpenID Connect Discovery's fields): its endpoints, grants and keys", body = shared::oauth::ServerMetadata),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_metadata(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
) -> Result<impl IntoResponse, OAuthError> {
    let catalogue = server.scope_catalogue(&state.db).await?;
    let scopes_supported = catalogue.into_iter().map(|s| s.name).collect();
    let mut document = server_document(&server, scopes_supported);
    // Clients are every server's: one registered at the root issuer's endpoint logs users in
    // here too, as this server's policies allow (RFC 8414 §2 sets no rule on where it is).
    document.registration_endpoint = registration_endpoint(&state.config);
    Ok(cached(document))
}

/// The same document where OpenID Connect Discovery §4 puts it: `{issuer}/.well-known/openid-configuration`.
#[utoipa::path(get, path = "/oauth2/{server}/.well-known/openid-configuration", tag = "Authorization servers",
    params(("server" = String, Path, description = "The authorization server's id")),
    responses(
        (status = 200, description = "Its metadata (OpenID Connect Discovery 1.0)", body = shared::oauth::ServerMetadata),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_openid_configuration(
    state: State<AppState>,
    server: KnownServer,
) -> Result<impl IntoResponse, OAuthError> {
    server_metadata(state, server).await
}

/// The same document where RFC 8414 §3.1 puts it: the well-known part before the issuer's path.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server/oauth2/{server}", tag = "Authorization servers",
    params(("server" = String, Path, description = "The authorization server's id")),
    responses(
        (status = 200, description = "Its metadata (RFC 8414 §3.1)", body = shared::oauth::ServerMetadata),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_metadata_rfc8414(
    state: State<AppState>,
    server: KnownServer,
) -> Result<impl IntoResponse, OAuthError> {
    server_metadata(state, server).await
}

fn cached(body: ServerMetadata) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static(CACHE))],
        Json(body),
    )
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

/// The root issuer's metadata: every grant, the authorization endpoint and OpenID Connect.
fn root_document(c: &Config, scopes_supported: Vec<String>) -> ServerMetadata {
    ServerMetadata {
        authorization_endpoint: Some(c.endpoint("/authorize")),
        token_endpoint: c.endpoint("/token"),
        jwks_uri: c.endpoint("/jwks.json"),
        userinfo_endpoint: Some(c.endpoint("/userinfo")),
        revocation_endpoint: Some(c.endpoint("/revoke")),
        revocation_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        introspection_endpoint: Some(c.endpoint("/introspect")),
        introspection_endpoint_auth_methods_supported: strings(&CONFIDENTIAL_METHODS),
        token_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        pushed_authorization_request_endpoint: Some(c.endpoint("/par")),
        require_pushed_authorization_requests: c.require_pushed_authorization_requests,
        registration_endpoint: registration_endpoint(c),
        device_authorization_endpoint: Some(c.endpoint("/device/authorize")),
        end_session_endpoint: Some(c.endpoint("/logout")),
        ..openid_document(c.issuer_str().to_owned(), scopes_supported)
    }
}

/// What every issuer here supports, whatever its endpoints: the code flow with PKCE S256, the
/// three grants, RS256 ID tokens, RFC 9207 and RFC 8707.
fn openid_document(issuer: String, scopes_supported: Vec<String>) -> ServerMetadata {
    ServerMetadata {
        issuer,
        authorization_endpoint: None,
        token_endpoint: String::new(),
        jwks_uri: String::new(),
        userinfo_endpoint: None,
        revocation_endpoint: None,
        revocation_endpoint_auth_methods_supported: Vec::new(),
        introspection_endpoint: None,
        introspection_endpoint_auth_methods_supported: Vec::new(),
        scopes_supported,
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: GrantType::ALL.map(|g| g.as_str().to_owned()).to_vec(),
        code_challenge_methods_supported: strings(&[shared::pkce::METHOD_S256]),
        token_endpoint_auth_methods_supported: Vec::new(),
        token_endpoint_auth_signing_alg_values_supported: signing_alg_names(),
        revocation_endpoint_auth_signing_alg_values_supported: signing_alg_names(),
        introspection_endpoint_auth_signing_alg_values_supported: signing_alg_names(),
        dpop_signing_alg_values_supported: strings(&crate::dpop::alg_names()),
        authorization_response_iss_parameter_supported: true,
        subject_types_supported: strings(&["public"]),
        // ID tokens are RS256 (the OpenID Connect default); access tokens are in the JWKS's
        // keys' `alg`, which RFC 8414 has no field for.
        id_token_signing_alg_values_supported: strings(&[ID_TOKEN_ALG.as_str()]),
        claims_supported: strings(&[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "sid",
            "preferred_username",
            "name",
            "email",
            "email_verified",
        ]),
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
        resource_indicators_supported: true,
        pushed_authorization_request_endpoint: None,
        require_pushed_authorization_requests: false,
        registration_endpoint: None,
        device_authorization_endpoint: None,
        end_session_endpoint: None,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
    }
}

/// RFC 7591 §3: where clients register, when they may.
fn registration_endpoint(c: &Config) -> Option<String> {
    (c.registration != crate::config::Registration::Disabled).then(|| c.endpoint("/register"))
}

/// A custom server's metadata, endpoints in Okta's layout (`{issuer}/v1/...`): every grant, its
/// own authorization endpoint and OpenID Connect, as the root issuer's.
fn server_document(server: &AuthServer, scopes_supported: Vec<String>) -> ServerMetadata {
    ServerMetadata {
        issuer: server.issuer.clone(),
        authorization_endpoint: Some(server.endpoint("/authorize")),
        token_endpoint: server.endpoint("/token"),
        jwks_uri: server.endpoint("/keys"),
        userinfo_endpoint: Some(server.endpoint("/userinfo")),
        revocation_endpoint: Some(server.endpoint("/revoke")),
        revocation_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        introspection_endpoint: Some(server.endpoint("/introspect")),
        introspection_endpoint_auth_methods_supported: strings(&CONFIDENTIAL_METHODS),
        token_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        pushed_authorization_request_endpoint: Some(server.endpoint("/par")),
        device_authorization_endpoint: Some(server.endpoint("/device/authorize")),
        end_session_endpoint: Some(server.endpoint("/logout")),
        require_pushed_authorization_requests: server
            .stored
            .as_ref()
            .is_some_and(|s| s.require_pushed_requests),
        ..openid_document(server.issuer.clone(), scopes_supported)
    }
}

/// The authorization server an URL names in its `{server}` segment (`/oauth2/{server}/…`, or
/// RFC 8414's `/.well-known/oauth-authorization-server/oauth2/{server}`), or the JSON 404. The
/// segment is read as it was sent, not percent-decoded: ids are plain characters, so any
/// encoding names no server (where a decoding extractor would answer malformed encoding in
/// plain text), and the id is never echoed.
pub struct KnownServer(pub Arc<AuthServer>);

impl FromRequestParts<AppState> for KnownServer {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OAuthError> {
        let path = parts.uri.path();
        let rest = path
            .strip_prefix("/.well-known/oauth-authorization-server/oauth2/")
            .or_else(|| path.strip_prefix("/oauth2/"))
            .unwrap_or_default();
        let id = rest.split('/').next().unwrap_or_default();
        state
            .servers
            .get(id)
            .map(Self)
            .ok_or_else(OAuthError::unknown_server)
    }
}

/// The JWKS may be cached exactly as long as the rotation schedule allows: a key is published
/// for `jwks_max_age` before it signs (see `rotation`).
#[utoipa::path(get, path = "/jwks.json", tag = "OAuth",
    responses((status = 200, description = "The public signing keys (RFC 7517), cacheable as `Cache-Control` says", body = crate::keys::Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    jwks_of(&state, &state.root)
}

/// An authorization server's keys, with the same caching rule.
#[utoipa::path(get, path = "/oauth2/{server}/v1/keys", tag = "Authorization servers",
    params(("server" = String, Path, description = "The authorization server's id")),
    responses(
        (status = 200, description = "Its public signing keys (RFC 7517), cacheable as `Cache-Control` says", body = crate::keys::Jwks),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_jwks(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
) -> impl IntoResponse {
    jwks_of(&state, &server)
}

fn jwks_of(state: &AppState, server: &AuthServer) -> impl IntoResponse + use<> {
    let cache = format!("public, max-age={}", state.config.jwks_max_age);
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static(CACHE)),
        )],
        Json(server.keys.get().jwks().clone()),
    )
}
