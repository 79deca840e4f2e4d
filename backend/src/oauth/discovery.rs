//! Authorization server metadata (RFC 8414) and the JWK Set it points to.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use shared::oauth::{GrantType, ServerMetadata};

use super::client_auth::SUPPORTED_METHODS;
use super::error::OAuthError;
use crate::keys::ID_TOKEN_ALG;
use crate::state::AppState;

/// Metadata changes only with configuration, so clients may cache it briefly.
const CACHE: &str = "public, max-age=300";

#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "OAuth",
    responses((status = 200, description = "Authorization server metadata (RFC 8414; the same document at /.well-known/openid-configuration)", body = shared::oauth::ServerMetadata)))]
pub async fn metadata(State(state): State<AppState>) -> Result<impl IntoResponse, OAuthError> {
    let scopes_supported = state.db.scope_names().await?;
    let c = &state.config;
    let strings = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
    let body = ServerMetadata {
        issuer: c.issuer_str().to_owned(),
        authorization_endpoint: c.endpoint("/authorize"),
        token_endpoint: c.endpoint("/token"),
        jwks_uri: c.endpoint("/jwks.json"),
        userinfo_endpoint: Some(c.endpoint("/userinfo")),
        revocation_endpoint: Some(c.endpoint("/revoke")),
        revocation_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        introspection_endpoint: Some(c.endpoint("/introspect")),
        introspection_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS[..2]),
        scopes_supported,
        response_types_supported: strings(&["code"]),
        response_modes_supported: strings(&["query"]),
        grant_types_supported: GrantType::ALL.map(|g| g.as_str().to_owned()).to_vec(),
        code_challenge_methods_supported: strings(&[shared::pkce::METHOD_S256]),
        token_endpoint_auth_methods_supported: strings(&SUPPORTED_METHODS),
        authorization_response_iss_parameter_supported: true,
        subject_types_supported: strings(&["public"]),
        // ID tokens are RS256 only (the OpenID Connect default); access tokens are in
        // the JWKS's keys' `alg`, which RFC 8414 has no metadata field for.
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
            "preferred_username",
            "name",
            "email",
            "email_verified",
        ]),
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static(CACHE))],
        Json(body),
    ))
}

/// The JWKS may be cached exactly as long as the rotation schedule allows: a key is published
/// for `jwks_max_age` before it signs (see `rotation`).
#[utoipa::path(get, path = "/jwks.json", tag = "OAuth",
    responses((status = 200, description = "The public signing keys (RFC 7517), cacheable as `Cache-Control` says", body = crate::keys::Jwks)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    let cache = format!("public, max-age={}", state.config.jwks_max_age);
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static(CACHE)),
        )],
        Json(state.keys.get().jwks().clone()),
    )
}
