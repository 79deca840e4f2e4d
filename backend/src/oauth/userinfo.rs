//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the logged-in user's claims, for an access
//! token with the `openid` scope; and each authorization server's `/v1/userinfo`, for its own.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use serde_json::{Map, Value};
use shared::api::SubjectType;
use shared::oauth::AccessTokenClaims;

use super::discovery::KnownServer;
use crate::api::auth::{AccessToken, Scheme, bound_to_proof, presented};
use crate::api::error::ApiError;
use crate::state::AppState;

#[utoipa::path(method(get, post), path = "/userinfo", tag = "OAuth", security(("oauth2" = ["openid"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The user's claims (OpenID Connect Core §5.3)", body = crate::openapi::UserInfo)))]
pub async fn userinfo(
    State(state): State<AppState>,
    token: AccessToken,
) -> Result<Json<Value>, ApiError> {
    token.require_issuer(&state.root.issuer)?;
    token.require("openid")?;
    if token.subject_type() == SubjectType::Client {
        return Err(no_user());
    }
    user_claims(&state, &token.claims).await
}

/// An authorization server's userinfo endpoint, in Okta's layout: for an access token of that
/// server (any of its audiences), with `openid`.
#[utoipa::path(method(get, post), path = "/oauth2/{server}/v1/userinfo", tag = "Authorization servers", security(("bearer" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    responses(
        (status = 200, description = "The user's claims (OpenID Connect Core §5.3)", body = crate::openapi::UserInfo),
        (status = 401, description = "No access token, or not one of this server's (`invalid_token`, with `WWW-Authenticate`)", body = shared::oauth::ErrorResponse),
        (status = 403, description = "The token lacks `openid`, or speaks for a client, not a user (`insufficient_scope`)", body = shared::oauth::ErrorResponse),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_userinfo(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    parts: Parts,
) -> Result<Json<Value>, ApiError> {
    let id = server.id().unwrap_or_default();
    let (scheme, token) = match presented(&parts.headers)? {
        None => return Err(ApiError::NoCredentials),
        Some((scheme @ (Scheme::Bearer | Scheme::Dpop), token)) => (scheme, token),
        Some((Scheme::Token, _)) => {
            return Err(ApiError::InvalidToken(format!(
                "this endpoint takes an access token of authorization server {id} as \
                 Authorization: Bearer, not an API token"
            )));
        }
    };
    let claims = server
        .tokens
        .verify_live(&state.db, token, state.clock.now())
        .await?
        .map_err(|why| {
            ApiError::InvalidToken(format!(
                "{why} (this endpoint takes access tokens of authorization server {id}, {})",
                server.issuer
            ))
        })?;
    bound_to_proof(&state, &parts, scheme, token, &claims).await?;
    if !claims.scope.contains("openid") {
        return Err(ApiError::InsufficientScope {
            scope: "openid",
            description: "this endpoint needs the openid scope, which the access token lacks"
                .into(),
        });
    }
    if claims.sub == claims.client_id {
        return Err(no_user());
    }
    user_claims(&state, &claims).await
}

fn no_user() -> ApiError {
    ApiError::InsufficientScope {
        scope: "openid",
        description: "this token belongs to a client acting for itself and has no user".into(),
    }
}

/// The claims of the user `claims` speaks for, as its scope allows.
async fn user_claims(
    state: &AppState,
    claims: &AccessTokenClaims,
) -> Result<Json<Value>, ApiError> {
    let Some(user) = state
        .db
        .user_by_id(&claims.sub)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Err(ApiError::InvalidToken(
            "the user of this access token no longer exists or is disabled".into(),
        ));
    };
    // §5.4: `profile` and `email` decide which claims are returned; `sub` always is (§5.3.2).
    let mut out = Map::new();
    out.insert("sub".into(), user.id.into());
    if claims.scope.contains("profile") {
        out.insert("preferred_username".into(), user.username.into());
        out.insert("name".into(), user.name.into());
    }
    if claims.scope.contains("email") {
        out.insert("email".into(), user.email.into());
        // Addresses are not verified by this server, and §5.1 says to say so.
        out.insert("email_verified".into(), false.into());
    }
    Ok(Json(Value::Object(out)))
}
