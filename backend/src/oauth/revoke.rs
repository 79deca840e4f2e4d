//! `POST /revoke` (RFC 7009).

use std::net::IpAddr;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::discovery::KnownServer;
use super::error::{OAuthError, no_store};
use super::params::{FormBody, Params};
use crate::access_token::{LEEWAY_SECS, MAX_TOKEN_LEN};
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::Client;

/// What a revocation did (RFC 7009 §2.2 answers the same 200 whatever it was).
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// A refresh token: its whole grant, access tokens included (§2.1).
    Grant(String),
    /// One access token, by its `jti`.
    AccessToken(String),
    /// Unknown, invalid, another client's, or already revoked: nothing changed.
    Nothing,
}

#[utoipa::path(post, path = "/revoke", tag = "OAuth",
    security((), ("clientBasic" = [])),
    request_body(content = crate::openapi::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or unknown (RFC 7009 §2.2: the same answer)"),
        (status = 400, description = "`invalid_request`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let root = state.root.clone();
    answer(handle(&state, &root, address, &headers, query.as_deref(), &body).await)
}

/// RFC 7009 §2.2: 200 whatever was revoked.
fn answer(outcome: Result<Revoked, OAuthError>) -> Response {
    match outcome {
        Ok(_) => (StatusCode::OK, no_store()).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    server: &AuthServer,
    address: IpAddr,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Revoked, OAuthError> {
    let params = Params::post(headers, query, body)?;
    let (client, _) = client_auth::authenticate(state, server, address, headers, &params).await?;
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("missing token (the token to revoke)"))?;
    revoke_token(state, server, &client, token, address, state.clock.now()).await
}

/// An authorization server's revocation endpoint: its own access tokens.
#[utoipa::path(post, path = "/oauth2/{server}/v1/revoke", tag = "Authorization servers",
    security(("clientBasic" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = crate::openapi::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or unknown (RFC 7009 §2.2: the same answer)"),
        (status = 400, description = "`invalid_request`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn server_revoke(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    answer(handle(&state, &server, address, &headers, query.as_deref(), &body).await)
}

/// Revokes `token` on behalf of `client`, at `now`. RFC 7009 §2.1: `token_type_hint` only
/// says where to look first; every type is searched, so it is not needed. §2.2: an invalid,
/// unknown or already revoked token changes nothing, and a token of another client is left
/// untouched.
pub async fn revoke_token(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
    address: IpAddr,
    now: Timestamp,
) -> Result<Revoked, OAuthError> {
    // A refresh token is revoked at the server whose login issued it; elsewhere it is as
    // unknown as any other string.
    if token.len() <= MAX_TOKEN_LEN
        && let Some(refresh) = state.db.refresh_token(&crypto::sha256_hex(token)).await?
        && server.owns(
            refresh.server_id.as_deref(),
            refresh.server_generation.as_deref(),
        )
    {
        if refresh.client_id != client.id {
            return Ok(Revoked::Nothing);
        }
        // RFC 7009 §2.1: revoking a refresh token revokes its grant, access tokens included.
        state
            .db
            .revoke_grant(&refresh.grant_id, "revoked by the client", now)
            .await?;
        let what = format!("refresh token; grant {} revoked", refresh.grant_id);
        record(state, address, &client.id, &refresh.user_id, what).await;
        return Ok(Revoked::Grant(refresh.grant_id));
    }
    if let Ok(claims) = server.tokens.verify(token, now)
        && claims.client_id == client.id
    {
        // Accepted until `exp` plus the leeway: listed until then.
        let expires_at = Timestamp::from_unix(claims.exp).plus_secs(LEEWAY_SECS);
        state
            .db
            .revoke_access_token(&claims.jti, expires_at, now)
            .await?;
        let what = format!("access token {}", claims.jti);
        record(state, address, &client.id, &claims.sub, what).await;
        return Ok(Revoked::AccessToken(claims.jti));
    }
    Ok(Revoked::Nothing)
}

async fn record(state: &AppState, address: IpAddr, client_id: &str, user: &str, what: String) {
    let event = Event::new(EventKind::TokenRevoked)
        .client(client_id)
        .user(user)
        .address(address)
        .detail(what);
    state.events.record(event).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{self, demo_state};

    #[tokio::test]
    async fn an_access_token_is_revoked_for_its_own_client_only() {
        let (state, _dir) = demo_state(&[]).await;
        let now = state.clock.now();
        let service = testing::client(&state, "demo-service").await;
        let spa = testing::client(&state, "demo-spa").await;
        let issued = testing::service_token(&state, 900);
        let token = &issued.response.access_token;
        let here = testing::HERE;
        assert_eq!(
            revoke_token(&state, &state.root, &spa, token, here, now)
                .await
                .unwrap(),
            Revoked::Nothing
        );
        assert!(
            state
                .tokens
                .verify_live(&state.db, token, now)
                .await
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            revoke_token(&state, &state.root, &service, token, here, now)
                .await
                .unwrap(),
            Revoked::AccessToken(issued.jti.clone())
        );
        assert_eq!(
            state
                .tokens
                .verify_live(&state.db, token, now)
                .await
                .unwrap(),
            Err("the access token was revoked")
        );
        assert_eq!(
            revoke_token(&state, &state.root, &service, "not-a-token", here, now)
                .await
                .unwrap(),
            Revoked::Nothing
        );
    }
}
