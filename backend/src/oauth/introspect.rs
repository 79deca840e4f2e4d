//! `POST /introspect` (RFC 7662).

use std::net::IpAddr;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth::{self, AuthMethod};
use super::discovery::KnownServer;
use super::error::{OAuthError, no_store};
use super::params::{FormBody, Params};
use crate::access_token::MAX_TOKEN_LEN;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::crypto;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::Client;

#[utoipa::path(post, path = "/introspect", tag = "OAuth",
    security(("clientBasic" = [])),
    request_body(content = crate::openapi::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662 §2.2: the token's claims, or only `active: false`", body = crate::openapi::Introspection),
        (status = 400, description = "`invalid_request`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn introspect(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let root = state.root.clone();
    answer(handle(&state, &root, address, &headers, query.as_deref(), &body).await)
}

fn answer(outcome: Result<Value, OAuthError>) -> Response {
    match outcome {
        Ok(answer) => (no_store(), Json(answer)).into_response(),
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
) -> Result<Value, OAuthError> {
    let params = Params::post(headers, query, body)?;
    let (client, method) =
        client_auth::authenticate(state, server, address, headers, &params).await?;
    // RFC 7662 §2.1: the endpoint must be protected; a public client proves nothing about
    // itself, so only confidential clients (resource servers, services) may ask.
    if method == AuthMethod::None {
        return Err(OAuthError::invalid_client(
            "introspection needs a confidential client's credentials (client_secret_basic, client_secret_post or private_key_jwt)",
        ));
    }
    let token = params
        .get("token")
        .ok_or_else(|| OAuthError::invalid_request("missing token (the token to introspect)"))?;
    describe(state, server, &client, token, state.clock.now()).await
}

/// An authorization server's introspection endpoint: its own access tokens only.
#[utoipa::path(post, path = "/oauth2/{server}/v1/introspect", tag = "Authorization servers",
    security(("clientBasic" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = crate::openapi::TokenHintForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 7662 §2.2: the claims of an active access token of this server, or only `active: false` (a token of another server or of the root issuer included)", body = crate::openapi::Introspection),
        (status = 400, description = "`invalid_request`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn server_introspect(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    answer(handle(&state, &server, address, &headers, query.as_deref(), &body).await)
}

/// What `client` may learn about `token` at `now` (RFC 7662 §2.2): its claims if it is an
/// active access token, or an active refresh token of `client`'s own; exactly
/// `{"active": false}` for anything else, so the answer never tells why (expired, revoked,
/// unknown, another audience).
pub async fn describe(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    token: &str,
    now: Timestamp,
) -> Result<Value, OAuthError> {
    // A revoked access token falls through: no refresh token has its hash, so it is inactive.
    if let Ok(claims) = server.tokens.verify_live(&state.db, token, now).await? {
        let mut described = json!({
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
        });
        // RFC 9449 §6.2: a DPoP-bound token says so, and names its key.
        if let Some(cnf) = &claims.cnf {
            described["token_type"] = json!("DPoP");
            described["cnf"] = json!(cnf);
        }
        // RFC 8693 §4.1: a token issued by a token exchange names who acts for its subject.
        if let Some(act) = &claims.act {
            described["act"] = json!(act);
        }
        return Ok(described);
    }
    // A refresh token is only ever shown to the client that holds it: a resource server has no
    // business with refresh tokens, and another client must not learn that one is live. Each
    // server describes its own logins' refresh tokens only.
    if token.len() <= MAX_TOKEN_LEN
        && let Some(refresh) = state.db.refresh_token(&crypto::sha256_hex(token)).await?
        && server.owns(
            refresh.server_id.as_deref(),
            refresh.server_generation.as_deref(),
        )
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
                "iss": server.tokens.issuer(),
                "exp": refresh.expires_at.unix(),
                "iat": refresh.created_at.unix(),
                "token_type": "refresh_token",
            }));
        }
    }
    Ok(json!({ "active": false }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::testing::{self, demo_state};

    #[tokio::test]
    async fn a_token_is_active_until_its_expiry_and_then_says_nothing_more() {
        let (state, _dir) = demo_state(&[]).await;
        let service = testing::client(&state, "demo-service").await;
        let now = state.clock.now();
        let issued = testing::service_token(&state, 60);
        let token = &issued.response.access_token;
        let active = describe(&state, &state.root, &service, token, now)
            .await
            .unwrap();
        assert_eq!(active["active"], true);
        assert_eq!(active["exp"], now.unix() + 60);
        state.clock.advance(Duration::from_secs(60 + 31));
        let later = describe(&state, &state.root, &service, token, state.clock.now())
            .await
            .unwrap();
        assert_eq!(later, json!({ "active": false }));
    }
}
