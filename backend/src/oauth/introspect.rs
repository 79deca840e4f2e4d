//! `POST /introspect` (RFC 7662).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::access_token;
use super::client_auth::{self, AuthMethod};
use super::error::{OAuthError, no_store};
use super::params::Params;
use crate::crypto;
use crate::state::AppState;
use crate::storage::now;

pub async fn introspect(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, peer.ip(), &headers, &body).await {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// RFC 7662 §2.2: anything but an active token is exactly `{"active": false}`, so the answer
/// never tells why (expired, revoked, unknown, another audience).
fn inactive() -> Value {
    json!({ "active": false })
}

async fn handle(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let params = Params::form(headers, body)?;
    let (client, method) = client_auth::authenticate(state, peer, headers, &params).await?;
    // RFC 7662 §2.1: the endpoint must be protected; a public client proves nothing about
    // itself, so only confidential clients (resource servers, services) may ask.
    if method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "introspection needs a confidential client's credentials (client_secret_basic or client_secret_post)",
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("missing token (the token to introspect)"))?;
    let now = now();
    let config = &state.config;

    // A revoked access token falls through: no refresh token has its hash, so it is inactive.
    if let Ok(claims) = access_token::verify_live(state, token).await? {
        return Ok(json!({
            "active": true,
            "scope": claims.scope,
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "token_type": "Bearer",
        }));
    }
    // A refresh token is only ever shown to the client that holds it: a resource server has no
    // business with refresh tokens, and another client must not learn that one is live.
    if token.len() <= access_token::MAX_TOKEN_LEN
        && let Some(refresh) = state.db.refresh_token(&crypto::sha256_hex(token)).await?
    {
        let live = refresh.used_at.is_none()
            && refresh.revoked_at.is_none()
            && refresh.expires_at > now
            && refresh.grant_expires_at > now;
        if live && refresh.client_id == client.id {
            return Ok(json!({
                "active": true,
                "scope": refresh.scope,
                "client_id": refresh.client_id,
                "sub": refresh.user_id,
                "iss": config.issuer_str(),
                "exp": refresh.expires_at,
                "iat": refresh.created_at,
                "token_type": "refresh_token",
            }));
        }
    }
    Ok(inactive())
}
