//! The key-rotation lab (demo mode only): `GET /api/lab/keys` lists the root issuer's signing
//! keys with their life cycle (next, current, retired); `POST /api/lab/keys/rotate` promotes each
//! next key, as `POST /admin/keys/rotate` does, for any signed-in user of a demo server. The
//! app's Labs page keeps the JWKS it fetched before, as a resource server caching it would, and
//! shows that a token signed by the promoted key verifies against that cache: the next key was
//! published before it signed anything, so nobody meets "kid not found".

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use shared::admin::SigningKey;
use shared::api::{KeyRotationLab, SubjectType};

use super::demo_only;
use crate::admin::keys::view;
use crate::api::auth::AccessToken;
use crate::api::error::ApiError;
use crate::keys::Owner;
use crate::keys::rotation;
use crate::state::AppState;

/// `GET /api/lab/keys`: the root issuer's signing keys. Any valid token, demo mode only.
#[utoipa::path(get, path = "/api/lab/keys", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The root issuer's signing keys", body = Vec<shared::admin::SigningKey>),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    _caller: AccessToken,
) -> Result<Json<Vec<SigningKey>>, ApiError> {
    demo_only(&state, "the key-rotation lab")?;
    keys(&state).await.map(Json)
}

/// `POST /api/lab/keys/rotate` (`{"force": true}` or no body): promotes the root issuer's next
/// keys; 409 with the reason when that is not yet safe and `force` is not set. Any valid token,
/// demo mode only; the rotation's events name the user.
#[utoipa::path(post, path = "/api/lab/keys/rotate", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    request_body(content = Option<shared::api::KeyRotationLab>, description = "Optional: `{\"force\": true}`"),
    responses((status = 200, description = "Rotated: the keys now", body = Vec<shared::admin::SigningKey>),
        (status = 400, description = "Not the JSON asked for", body = shared::oauth::ErrorResponse),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse),
        (status = 409, description = "Not yet safe to rotate: the reason, and force to do it anyway", body = shared::oauth::ErrorResponse)))]
pub async fn rotate(
    State(state): State<AppState>,
    caller: AccessToken,
    body: Bytes,
) -> Result<Json<Vec<SigningKey>>, ApiError> {
    demo_only(&state, "the key-rotation lab")?;
    let request: KeyRotationLab = if body.iter().all(u8::is_ascii_whitespace) {
        KeyRotationLab::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::BadRequest(
                r#"send {"force": true} (rotate even if a next key is younger than the JWKS cache lifetime), {"force": false}, or no body"#
                    .into(),
            )
        })?
    };
    // The schedule is about real cache lifetimes: the clock lab's moves do not count.
    let now = state.clock.unmoved_now();
    let owner = Owner::root();
    // Every rotation publishes new keys and keeps the retired ones published for a day: a loop
    // of forced rotations would grow the JWKS without end.
    let stored = state.db.signing_keys(&owner.server_id).await?;
    let last = stored.iter().filter_map(|key| key.retired_at).max();
    if let Some(last) = last
        && now.secs_since(last) < MIN_SECS_BETWEEN_ROTATIONS
    {
        return Err(ApiError::Conflict(format!(
            "the keys were rotated {} s ago; the lab rotates at most once a minute",
            now.secs_since(last).max(0)
        )));
    }
    let events = rotation::rotate_now(&state.db, &state.config, &owner, request.force, now).await?;
    for event in events {
        let event = event.client(&caller.claims.client_id);
        let event = match caller.subject_type() {
            SubjectType::User => event.user(&caller.owner()),
            SubjectType::Client => event,
        };
        state.events.record(event).await;
    }
    let stored = state.db.signing_keys(&owner.server_id).await?;
    // The rotation is stored: a ring that cannot load the keys now keeps its own until the next
    // reload, and the answer still says what happened.
    if let Err(e) = state.keys.refresh(&stored) {
        tracing::warn!(error = %e, "reloading the keys after a rotation failed");
    }
    Ok(Json(stored.into_iter().map(view).collect()))
}

/// The lab refuses to rotate again within this many seconds of the last rotation.
const MIN_SECS_BETWEEN_ROTATIONS: i64 = 60;

async fn keys(state: &AppState) -> Result<Vec<SigningKey>, ApiError> {
    let stored = state.db.signing_keys(&Owner::root().server_id).await?;
    Ok(stored.into_iter().map(view).collect())
}
