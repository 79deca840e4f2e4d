//! `POST /revoke` (RFC 7009).

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::access_token;
use super::client_auth;
use super::error::{OAuthError, no_store};
use super::params::Params;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::state::AppState;
use crate::storage::now;

pub async fn revoke(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, peer.ip(), &headers, &body).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let params = Params::form(headers, body)?;
    let (client, _) = client_auth::authenticate(state, peer, headers, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("missing token (the token to revoke)"))?;
    let now = now();
    // RFC 7009 §2.1: `token_type_hint` only says where to look first; every type is searched,
    // so it is not needed here. §2.2: an invalid, unknown or already revoked token gets the same
    // 200 as a revoked one, and a token of another client is left untouched.
    if let Some(refresh) = state.db.refresh_token(&crypto::sha256_hex(token)).await? {
        if refresh.client_id == client.id {
            // RFC 7009 §2.1: revoking a refresh token revokes its grant, access tokens included.
            state
                .db
                .revoke_grant(&refresh.grant_id, "revoked by the client", now)
                .await?;
            let what = format!("refresh token; grant {} revoked", refresh.grant_id);
            record(state, peer, &client.id, &refresh.user_id, what).await;
        }
        return Ok(());
    }
    if let Ok(claims) = access_token::verify(state, token)
        && claims.client_id == client.id
    {
        state
            .db
            .revoke_access_token(&claims.jti, &client.id, claims.exp, now)
            .await?;
        let what = format!("access token {}", claims.jti);
        record(state, peer, &client.id, &claims.sub, what).await;
    }
    Ok(())
}

async fn record(state: &AppState, peer: IpAddr, client_id: &str, user: &str, what: String) {
    let event = Event::new(EventKind::TokenRevoked)
        .client(client_id)
        .user(user)
        .address(peer)
        .detail(what);
    state.events.record(event).await;
}
