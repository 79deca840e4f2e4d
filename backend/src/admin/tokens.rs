//! API tokens through the admin API: list, create for a user (the token is shown once), revoke.
//! The rules are those of [`crate::api::api_token`].

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use shared::admin::{self, ApiTokenState};

use super::{Administrator, Body, Ctx, Named, users};
use crate::api::api_token::{self, TokenRequest};
use crate::api::error::ApiError;
use crate::api::query_params;
use crate::clock::Timestamp;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::ApiTokenRow;

/// The longest expiry a token may be given, in days.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

pub fn view(row: ApiTokenRow, now: Timestamp) -> admin::ApiToken {
    let state = if row.revoked_at.is_some() {
        ApiTokenState::Revoked
    } else if row.expires_at.is_some_and(|at| at <= now) {
        ApiTokenState::Expired
    } else {
        ApiTokenState::Active
    };
    admin::ApiToken {
        id: row.id,
        user_id: row.user_id,
        username: row.username,
        name: row.name,
        scope: row.scope,
        state,
        created_at: row.created_at.unix(),
        expires_at: row.expires_at.map(Timestamp::unix),
        last_used_at: row.last_used_at.map(Timestamp::unix),
        revoked_at: row.revoked_at.map(Timestamp::unix),
    }
}

/// Every token, or one user's, newest first.
pub async fn all(ctx: &Ctx<'_>, username: Option<&str>) -> Result<Vec<admin::ApiToken>, ApiError> {
    let owner = match username {
        Some(name) => Some(users::by_username(ctx, name).await?.id),
        None => None,
    };
    let now = ctx.now;
    Ok(ctx
        .db
        .api_tokens(owner.as_deref())
        .await?
        .into_iter()
        .map(|row| view(row, now))
        .collect())
}

pub async fn add(
    ctx: &Ctx<'_>,
    new: &admin::NewApiToken,
) -> Result<admin::ApiTokenCreated, ApiError> {
    let owner = users::by_username(ctx, &new.username).await?;
    if new
        .expires_in_days
        .is_some_and(|days| !(1..=MAX_EXPIRY_DAYS).contains(&days))
    {
        return Err(ApiError::Unprocessable {
            error: "invalid_request",
            description: format!("expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}"),
        });
    }
    let request = TokenRequest {
        name: &new.name,
        scope: &new.scope,
        expires_at: new
            .expires_in_days
            .map(|days| ctx.now.plus_secs(days * 86_400)),
    };
    let (id, token) = api_token::create(ctx.db, &owner, &request, ctx.now).await?;
    ctx.record(
        EventKind::ApiTokenCreated,
        None,
        format!(
            "{id} ({}) for {}; scope {}",
            new.name.trim(),
            owner.username,
            new.scope
        ),
    )
    .await?;
    let row = ctx
        .db
        .api_token(&id)
        .await?
        .ok_or_else(|| ApiError::internal("an API token vanished after its creation"))?;
    Ok(admin::ApiTokenCreated {
        api_token: view(row, ctx.now),
        token,
    })
}

/// Revokes a token; the row stays, for the record. 409 if it was already revoked.
pub async fn revoke_one(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    let Some(row) = ctx.db.api_token(id).await? else {
        return Err(ApiError::NotFound(format!("there is no API token {id:?}")));
    };
    if !ctx.db.revoke_api_token(id, ctx.now).await? {
        return Err(ApiError::Conflict(format!(
            "the API token {id} is already revoked"
        )));
    }
    ctx.record(
        EventKind::ApiTokenRevoked,
        None,
        format!("{id} ({}) of {}", row.name, row.username),
    )
    .await
}

#[utoipa::path(get, path = "/admin/tokens", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("username" = Option<String>, Query, description = "Only this user's tokens")),
    responses((status = 200, description = "API tokens (never a secret)", body = Vec<shared::admin::ApiToken>), (status = 404, description = "No such user", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<admin::ApiToken>>, ApiError> {
    let params = query_params(query.as_deref(), &["username"])?;
    let username = params.first().map(|(_, v)| v.as_str());
    all(&admin.ctx(&state), username).await.map(Json)
}

#[utoipa::path(post, path = "/admin/tokens", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewApiToken,
    responses((status = 201, description = "The token (shown once)", body = shared::admin::ApiTokenCreated), (status = 404, description = "No such user", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewApiToken>,
) -> Result<(StatusCode, Json<admin::ApiTokenCreated>), ApiError> {
    let created = add(&admin.ctx(&state), &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(delete, path = "/admin/tokens/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")),
    responses((status = 204, description = "Revoked"), (status = 409, description = "Already revoked", body = shared::oauth::ErrorResponse), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse)))]
pub async fn revoke(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    revoke_one(&admin.ctx(&state), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
