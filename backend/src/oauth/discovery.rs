//! Authorization server metadata (RFC 8414) and the JWK Set it points to.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::client_auth::SUPPORTED_METHODS;
use super::keys::ALGORITHM;
use super::token::GrantType;
use crate::state::AppState;

/// Metadata changes only with configuration, so clients may cache it briefly.
const CACHE: &str = "public, max-age=300";

pub async fn metadata(State(state): State<AppState>) -> impl IntoResponse {
    let scopes = state.db.scope_names().await.unwrap_or_default();
    let c = &state.config;
    let alg = format!("{ALGORITHM:?}");
    let body: Value = json!({
        "issuer": c.issuer_str(),
        "authorization_endpoint": c.endpoint("/authorize"),
        "token_endpoint": c.endpoint("/token"),
        "jwks_uri": c.endpoint("/jwks.json"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        "code_challenge_methods_supported": [shared::pkce::METHOD_S256],
        "token_endpoint_auth_methods_supported": SUPPORTED_METHODS,
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
            "preferred_username", "name", "email",
        ],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    });
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static(CACHE))],
        Json(body),
    )
}

pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static(CACHE))],
        Json(state.keys.jwks().clone()),
    )
}
