//! Signing keys: their life cycle, and rotation on demand (see [`crate::keys::rotation`]).

use axum::Json;
use axum::extract::State;
use shared::admin::{self, KeyRotation};

use super::{Administrator, Ctx, RawBody, parse_body};
use crate::api::error::ApiError;
use crate::clock::Timestamp;
use crate::keys::Owner;
use crate::keys::rotation::{self, RotateError};
use crate::state::AppState;
use crate::storage::StoredKey;

/// A key as the admin API shows it: never the private key.
fn view(k: StoredKey) -> admin::SigningKey {
    admin::SigningKey {
        kid: k.kid,
        alg: k.alg,
        state: k.state,
        created_at: k.created_at.unix(),
        activated_at: k.activated_at.map(Timestamp::unix),
        retired_at: k.retired_at.map(Timestamp::unix),
    }
}

pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<admin::SigningKey>, ApiError> {
    Ok(ctx
        .db
        .signing_keys("")
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// Promotes the next key of each algorithm (409 with the reason when that is not yet safe,
/// unless `force`).
pub async fn rotate_now(ctx: &Ctx<'_>, force: bool) -> Result<admin::KeysRotated, ApiError> {
    let (changes, stored) = rotate(ctx, force).await?;
    Ok(rotated(changes, stored))
}

/// The rotation, its recorded events, and the stored keys afterwards (read once).
async fn rotate(
    ctx: &Ctx<'_>,
    force: bool,
) -> Result<(Vec<admin::Event>, Vec<StoredKey>), ApiError> {
    let events =
        match rotation::rotate_now(ctx.db, ctx.config, &Owner::root(), force, ctx.now).await {
            Ok(events) => events,
            Err(RotateError::Refused(why)) => return Err(ApiError::Conflict(why)),
            Err(RotateError::Failed(e)) => return Err(ApiError::internal(e)),
        };
    let mut changes = Vec::new();
    for event in events {
        let row = ctx.actor.record_event(ctx.db, event, ctx.now).await?;
        changes.push(super::events::view(row));
    }
    Ok((changes, ctx.db.signing_keys("").await?))
}

fn rotated(changes: Vec<admin::Event>, stored: Vec<StoredKey>) -> admin::KeysRotated {
    admin::KeysRotated {
        changes,
        keys: stored.into_iter().map(view).collect(),
    }
}

#[utoipa::path(get, path = "/admin/keys", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The signing keys' life cycle", body = Vec<shared::admin::SigningKey>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::SigningKey>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

/// `POST /admin/keys/rotate` with `{"force": bool}` or no body. This instance starts signing
/// with the new key at once; others pick it up when PostgreSQL announces the change, and
/// within their reload interval on SQLite.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body(content = Option<shared::admin::KeyRotation>, description = "Optional: `{\"force\": true}` when the next key is younger than the JWKS cache lifetime"),
    responses((status = 200, description = "Rotated", body = shared::admin::KeysRotated), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn rotate_handler(
    State(state): State<AppState>,
    admin: Administrator,
    body: RawBody,
) -> Result<Json<admin::KeysRotated>, ApiError> {
    let request: KeyRotation = if body.is_empty() {
        KeyRotation::default()
    } else {
        parse_body(&body)?
    };
    let (changes, stored) = rotate(&admin.ctx(&state), request.force).await?;
    state.keys.refresh(&stored).map_err(ApiError::internal)?;
    Ok(Json(rotated(changes, stored)))
}
