//! The clock lab (demo mode only): `GET /api/lab/clock` shows the server's time and how far it
//! runs ahead of the system's; `POST /api/lab/clock {"offset_secs": 960}` moves it (0 resets).
//! Every decision reads this clock (token expiry, refresh-token lifetimes, key rotation, rate
//! limits), so moving it 16 minutes expires every access token at once and shows what clients do
//! then. The offset is stored in the database and read by every instance with the revocation
//! list (within `REVOCATION_SYNC_MS`); the instance that moved it sees it at once. Outside demo
//! mode neither endpoint exists (404) and the stored offset is ignored.
//!
//! Moving it back must not make anything wrong:
//! - purges (the revocation list above all) and the signing keys' schedule go by the unmoved
//!   time ([`crate::clock::Clock::unmoved_now`]), so a revoked token is still refused after a
//!   reset and no key is retired or removed early;
//! - this server's tokens issued while it was ahead are refused after a reset (`iat` in the
//!   future, see [`crate::access_token::check_issued`]): they would outlive the revocation
//!   list, which keeps an entry only as long as a token can live. Their holders log in again;
//! - rate-limit counts made "in the future" are forgotten (they would refuse their keys for as
//!   long as the clock had been ahead); counts made at the present time stay.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use shared::api::SubjectType;
use shared::api::{ClockLab, ClockMove, MAX_CLOCK_OFFSET_SECS};

use super::demo_only;
use crate::api::auth::AccessToken;
use crate::api::error::ApiError;
use crate::events::{Event, EventKind};
use crate::state::AppState;

/// `GET /api/lab/clock`: the server's time and its offset. Any valid token, demo mode only.
#[utoipa::path(get, path = "/api/lab/clock", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The server's clock", body = shared::api::ClockLab),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse)))]
pub async fn show(
    State(state): State<AppState>,
    _caller: AccessToken,
) -> Result<Json<ClockLab>, ApiError> {
    demo_only(&state, "the clock lab")?;
    Ok(Json(view(&state)))
}

/// `POST /api/lab/clock {"offset_secs": N}`: every instance's clock runs N seconds ahead of the
/// system's from now on (0 to 30 days; 0 resets it). Any valid token, demo mode only; recorded
/// as a `clock_moved` event.
#[utoipa::path(post, path = "/api/lab/clock", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    request_body = shared::api::ClockMove,
    responses((status = 200, description = "The server's clock, moved", body = shared::api::ClockLab),
        (status = 400, description = "An offset out of range, or not the JSON asked for", body = shared::oauth::ErrorResponse),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse)))]
pub async fn set(
    State(state): State<AppState>,
    caller: AccessToken,
    body: Result<Json<ClockMove>, JsonRejection>,
) -> Result<Json<ClockLab>, ApiError> {
    demo_only(&state, "the clock lab")?;
    let Json(wanted) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(format!(
            r#"send {{"offset_secs": <seconds ahead of the system clock, 0 to reset>}} as JSON with Content-Type: application/json ({})"#,
            rejection.body_text().chars().take(160).collect::<String>()
        ))
    })?;
    if !(0..=MAX_CLOCK_OFFSET_SECS).contains(&wanted.offset_secs) {
        return Err(ApiError::BadRequest(format!(
            "offset_secs is how many seconds the server's clock runs ahead of the system's: 0 \
             (reset) to {MAX_CLOCK_OFFSET_SECS} (30 days), got {}; the clock never goes back \
             behind the system's",
            wanted.offset_secs
        )));
    }
    // As stored: another instance may have moved it since this one last read it.
    let before = state.db.lab_clock_offset().await?;
    state
        .db
        .set_lab_clock_offset(wanted.offset_secs, state.clock.unmoved_now())
        .await?;
    state.clock.set_lab_offset_secs(wanted.offset_secs);
    // Rate-limit counts made while the clock was further ahead would refuse their keys (a
    // user's logins, an address) for as long as it had been moved; those lie beyond anything a
    // count made now can reach, and go. Real counts stay: moving the clock is no way around a
    // lockout.
    let now_us = state.clock.now_us();
    let forgotten = state
        .db
        .forget_rate_limits_after(now_us.saturating_add(state.throttles.horizon_us()))
        .await?;
    if forgotten > 0 {
        state.throttles.load(&state.db, now_us).await?;
    }
    let mut event = Event::new(EventKind::ClockMoved)
        .client(&caller.claims.client_id)
        .detail(format!(
            "the clock lab set the server's clock {} s ahead of the system's (was {before} s)",
            wanted.offset_secs
        ));
    if caller.subject_type() == SubjectType::User {
        event = event.user(&caller.owner());
    }
    state.events.record(event).await;
    Ok(Json(view(&state)))
}

/// Reads the shared offset into this instance's clock (demo mode; nothing otherwise). Called
/// with each read of the revocation list.
pub async fn follow(state: &AppState) -> crate::storage::Result<()> {
    if state.config.demo {
        let offset = state.db.lab_clock_offset().await?;
        state.clock.set_lab_offset_secs(offset);
    }
    Ok(())
}

fn view(state: &AppState) -> ClockLab {
    ClockLab {
        server_time: state.clock.now().unix(),
        offset_secs: state.clock.lab_offset_secs(),
        max_offset_secs: MAX_CLOCK_OFFSET_SECS,
    }
}
