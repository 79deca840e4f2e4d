//! Initial access tokens for dynamic client registration (RFC 7591 §3): made by an
//! administrator for a developer when registration is by token (`REGISTRATION=token`); shown
//! once, kept as a SHA-256, usable until they expire or are deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{
    self, MAX_NAME_LEN, MAX_REGISTRATION_TOKEN_SECS, NewRegistrationToken, RegistrationToken,
    RegistrationTokenCreated,
};

use super::{Administrator, Answered, Body, Ctx, Named, text};
use crate::api::error::ApiError;
use crate::crypto;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::InitialAccessToken;

/// One day.
const DEFAULT_SECS: u64 = 86_400;
const INVALID: &str = "invalid_registration_token";

fn view(t: InitialAccessToken) -> RegistrationToken {
    RegistrationToken {
        id: t.id,
        name: t.name,
        created_at: t.created_at.unix(),
        expires_at: t.expires_at.unix(),
    }
}

pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<RegistrationToken>, ApiError> {
    Ok(ctx
        .db
        .initial_access_tokens()
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Makes a token: its text is in the answer, and nowhere else.
pub async fn make(
    ctx: &Ctx<'_>,
    new: &NewRegistrationToken,
) -> Result<RegistrationTokenCreated, ApiError> {
    let name = text("name", &new.name, MAX_NAME_LEN, INVALID)?;
    let secs = new.expires_in.unwrap_or(DEFAULT_SECS);
    if !(60..=MAX_REGISTRATION_TOKEN_SECS).contains(&secs) {
        return Err(ApiError::Unprocessable {
            error: INVALID,
            description: format!(
                "expires_in is {secs} s; it must be from 60 s to {MAX_REGISTRATION_TOKEN_SECS} \
                 s (thirty days)"
            ),
        });
    }
    let token = format!("iat_{}", crypto::random_token(32));
    let stored = InitialAccessToken {
        id: format!("rt-{}", crypto::random_token(6)),
        name,
        token_hash: crypto::sha256_hex(&token),
        created_at: ctx.now,
        expires_at: ctx.now.after(secs),
    };
    ctx.db.insert_initial_access_token(&stored).await?;
    ctx.record(
        EventKind::RegistrationTokenCreated,
        None,
        format!(
            "initial access token {} ({:?}) made, for {secs} s",
            stored.id, stored.name
        ),
    )
    .await?;
    let shown = view(stored);
    Ok(RegistrationTokenCreated {
        token,
        id: shown.id,
        name: shown.name,
        created_at: shown.created_at,
        expires_at: shown.expires_at,
    })
}

pub async fn remove(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    ctx.db
        .delete_initial_access_token(id)
        .await
        .or_not_found(|| format!("there is no initial access token {id:?}"))?;
    ctx.record(
        EventKind::RegistrationTokenDeleted,
        None,
        format!("initial access token {id} deleted"),
    )
    .await
}

#[utoipa::path(get, path = "/admin/registration-tokens", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every initial access token for dynamic registration, newest first (never the token itself)", body = Vec<shared::admin::RegistrationToken>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::RegistrationToken>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

#[utoipa::path(post, path = "/admin/registration-tokens", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewRegistrationToken,
    responses((status = 201, description = "The initial access token (shown once): a developer registers with it at /register as Authorization: Bearer", body = shared::admin::RegistrationTokenCreated), (status = 422, description = "A rule was broken (`invalid_registration_token`: the name, or expires_in outside 60 s to 30 days)", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<NewRegistrationToken>,
) -> Result<(StatusCode, Json<RegistrationTokenCreated>), ApiError> {
    let made = make(&admin.ctx(&state), &new).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(delete, path = "/admin/registration-tokens/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")),
    responses((status = 204, description = "Deleted: it registers nothing more (clients registered with it stay)"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    remove(&admin.ctx(&state), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
