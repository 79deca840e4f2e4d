//! Signing keys, the root issuer's or an authorization server's: their life cycle, and rotation
//! on demand (see [`crate::keys::rotation`]).

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::admin::{self, KeyRotation};

use super::{Administrator, Ctx, RawBody, parse_body};
use crate::api::error::ApiError;
use crate::api::query_params;
use crate::clock::Timestamp;
use crate::keys::Owner;
use crate::keys::rotation::{self, RotateError};
use crate::state::AppState;
use crate::storage::StoredKey;

/// A rotation refused says why (409); one that failed is the server's fault.
impl From<RotateError> for ApiError {
    fn from(e: RotateError) -> Self {
        match e {
            RotateError::Refused(why) => ApiError::Conflict(why),
            RotateError::Failed(e) => ApiError::internal(e),
        }
    }
}

/// A key as the admin API shows it: never the private key.
pub(crate) fn view(k: StoredKey) -> admin::SigningKey {
    admin::SigningKey {
        kid: k.kid,
        alg: k.alg,
        state: k.state,
        created_at: k.created_at.unix(),
        activated_at: k.activated_at.map(Timestamp::unix),
        retired_at: k.retired_at.map(Timestamp::unix),
    }
}

/// Whose keys: the root issuer's (`None`), or the authorization server `server`'s (404 if there
/// is none).
async fn owner(ctx: &Ctx<'_>, server: Option<&str>) -> Result<Owner, ApiError> {
    let Some(id) = server else {
        return Ok(Owner::root());
    };
    let server = ctx
        .db
        .authorization_server(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(super::servers::no_such_server()))?;
    Ok(Owner::of(&server))
}

pub async fn all(ctx: &Ctx<'_>, server: Option<&str>) -> Result<Vec<admin::SigningKey>, ApiError> {
    let owner = owner(ctx, server).await?;
    let stored = ctx.db.signing_keys(&owner.server_id).await?;
    Ok(stored.into_iter().map(view).collect())
}

/// Promotes the next key of each algorithm of the root issuer or of the server `server` (409
/// with the reason when that is not yet safe, unless `force`).
pub async fn rotate_now(
    ctx: &Ctx<'_>,
    server: Option<&str>,
    force: bool,
) -> Result<admin::KeysRotated, ApiError> {
    let (changes, stored) = rotate(ctx, &owner(ctx, server).await?, force).await?;
    Ok(rotated(changes, stored))
}

/// The rotation, its recorded events, and the stored keys afterwards (read once).
async fn rotate(
    ctx: &Ctx<'_>,
    owner: &Owner,
    force: bool,
) -> Result<(Vec<admin::Event>, Vec<StoredKey>), ApiError> {
    let events = rotation::rotate_now(ctx.db, ctx.config, owner, force, ctx.now).await?;
    let mut changes = Vec::new();
    for event in events {
        let row = ctx.actor.record_event(ctx.db, event, ctx.now).await?;
        changes.push(super::events::view(row));
    }
    Ok((changes, ctx.db.signing_keys(&owner.server_id).await?))
}

fn rotated(changes: Vec<admin::Event>, stored: Vec<StoredKey>) -> admin::KeysRotated {
    admin::KeysRotated {
        changes,
        keys: stored.into_iter().map(view).collect(),
    }
}

#[utoipa::path(get, path = "/admin/keys", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    params(("server" = Option<String>, Query, description = "An authorization server's keys; the root issuer's without it")),
    responses((status = 200, description = "The signing keys' life cycle", body = Vec<shared::admin::SigningKey>), (status = 404, description = "No such authorization server", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<admin::SigningKey>>, ApiError> {
    let params = query_params(query.as_deref(), &["server"])?;
    let server = params.first().map(|(_, v)| v.as_str());
    all(&admin.ctx(&state), server).await.map(Json)
}

/// `POST /admin/keys/rotate` with `{"force": bool, "server": id}` (both optional) or no body.
/// This instance starts signing with the new keys at once; others pick them up when PostgreSQL
/// announces the change, and within their reload interval on SQLite.
#[utoipa::path(post, path = "/admin/keys/rotate", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body(content = Option<shared::admin::KeyRotation>, description = "Optional: `{\"force\": true}` when a next key is younger than the JWKS cache lifetime; `\"server\"` for an authorization server's keys"),
    responses((status = 200, description = "Rotated", body = shared::admin::KeysRotated), (status = 404, description = "No such authorization server", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
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
    let ctx = admin.ctx(&state);
    let owner = owner(&ctx, request.server.as_deref()).await?;
    let (changes, stored) = rotate(&ctx, &owner, request.force).await?;
    let ring = match request.server.as_deref() {
        None => Some(state.keys.clone()),
        Some(id) => state.servers.get(id).map(|server| server.keys.clone()),
    };
    // The rotation is stored: a ring that cannot load the keys now keeps its own until the
    // next reload, and the answer still says what happened.
    if let Some(ring) = ring
        && let Err(e) = ring.refresh(&stored)
    {
        tracing::warn!(error = %e, "reloading the keys after a rotation failed");
    }
    Ok(Json(rotated(changes, stored)))
}
