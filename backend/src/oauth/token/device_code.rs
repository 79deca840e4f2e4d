//! RFC 8628 §3.4, §3.5: the device polls with its device code until its user has answered on
//! the verification page; once allowed, one poll gets the tokens, as a code's redemption does.

use shared::oauth::{Audience, ErrorCode, GrantType};

use super::login::{self, Login};
use super::{Caller, Granted, elsewhere};
use crate::clock::Timestamp;
use crate::crypto;
use crate::oauth::error::OAuthError;
use crate::refusals::Why;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{DeviceRequest, DeviceStatus, Spent};

/// Device codes this server issues are 43 characters; anything much longer is not one of them.
const MAX_DEVICE_CODE_LEN: usize = 256;

/// §3.5: "the interval MUST be increased by 5 seconds for this and all subsequent requests".
const SLOW_DOWN_SECS: i64 = 5;

/// The interval never grows past this, whatever a device does: it expires first anyway.
const MAX_INTERVAL_SECS: i64 = 600;

/// Polls are stored to the whole second, and a device's timer, the network and two instances'
/// clocks each move a poll by a fraction of one: a poll up to this much early is still on time,
/// so that a device keeping the interval exactly never hears `slow_down`. Two polls in the same
/// second are too soon whatever the interval.
const POLL_LEEWAY_SECS: i64 = 1;

/// Answers a poll of `device_code` by `caller` at `server`, at `now`, for `audience` (the
/// request's resources, `None` for the device request's own).
pub async fn poll(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    device_code: &str,
    audience: Option<Audience>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let client = caller.client;
    if device_code.len() > MAX_DEVICE_CODE_LEN {
        return Err(unknown());
    }
    let hash = crypto::sha256_hex(device_code);
    let Some(request) = state.db.device_request(&hash).await? else {
        return Err(unknown());
    };
    if request.client_id != client.id {
        tracing::warn!(client_id = %client.id, "a device code presented by another client");
        return Err(
            OAuthError::invalid_grant("the device code was issued to another client").because(
                Why::check("client")
                    .expected(format!(
                        "client {}, which the device code was issued to",
                        request.client_id
                    ))
                    .got(format!("client {}", client.id))
                    .remedy("poll with the client that asked for the device code"),
            ),
        );
    }
    // A device code is polled at the token endpoint of the server that issued it; a poll
    // elsewhere is refused before it counts against the interval.
    if !server.owns(
        request.server_id.as_deref(),
        request.server_generation.as_deref(),
    ) {
        return Err(elsewhere(
            state,
            server,
            request.server_id.as_deref(),
            "device code",
        ));
    }
    if request.status == DeviceStatus::Redeemed {
        return Err(redeemed());
    }
    if request.expires_at <= now {
        return Err(OAuthError::new(
            ErrorCode::ExpiredToken,
            "the device code expired before the user answered; start again at the device \
             authorization endpoint",
        )
        .because(
            Why::check("exp")
                .expected(format!("a device code polled before {}", request.expires_at.rfc3339()))
                .got(format!("a poll at {}", now.rfc3339()))
                .remedy("ask for a new device code and show the user its new user code (RFC 8628 §3.5 expired_token)"),
        ));
    }
    // §3.5: polls come at least `interval` seconds apart, or the answer is slow_down and the
    // interval grows. The poll is recorded against the last one as read, so that two polls at
    // once (at one instance or two) cannot both pass as slow enough.
    let too_soon = request.last_polled_at.is_some_and(|last| {
        now.secs_since(last) < (request.interval_secs - POLL_LEEWAY_SECS).max(1)
    });
    let interval = if too_soon {
        (request.interval_secs + SLOW_DOWN_SECS).min(MAX_INTERVAL_SECS)
    } else {
        request.interval_secs
    };
    let recorded = state
        .db
        .record_device_poll(&hash, request.last_polled_at, now, interval)
        .await?;
    if request.status == DeviceStatus::Pending && (too_soon || !recorded) {
        return Err(slow_down(interval));
    }
    match request.status {
        DeviceStatus::Pending => Err(OAuthError::new(
            ErrorCode::AuthorizationPending,
            format!(
                "the user has not answered yet on the verification page; poll again in {interval} \
                 seconds"
            ),
        )),
        DeviceStatus::Denied => Err(denied(request.refusal.as_deref())),
        DeviceStatus::Approved => {
            redeem(state, server, caller, &hash, &request, audience, now).await
        }
        DeviceStatus::Redeemed => Err(redeemed()),
    }
}

/// An allowed request's tokens: decided as a code's would be, and issued under a new grant
/// that spends the device code (one of two polls at once gets them).
async fn redeem(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    hash: &str,
    request: &DeviceRequest,
    audience: Option<Audience>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let (Some(user_id), Some(scope), Some(auth_time)) = (
        request.user_id.as_deref(),
        request.granted_scope.as_deref(),
        request.auth_time,
    ) else {
        return Err(OAuthError::server_error(
            "an allowed device request lacks its user",
        ));
    };
    let scope = shared::scope::ScopeSet::parse(scope)
        .map_err(|e| OAuthError::server_error(format!("a stored scope is malformed: {e}")))?;
    crate::logs::identify(&caller.client.id, Some(user_id));
    let login = Login {
        grant_type: GrantType::DeviceCode,
        user_id,
        scope: &scope,
        auth_time,
        nonce: None,
        audiences: &request.audiences,
        server_id: request.server_id.as_deref(),
        server_generation: request.server_generation.as_deref(),
    };
    let decided = login::decide(state, server, caller, &login, audience).await?;
    login::issue(
        state,
        server,
        caller,
        &login,
        decided,
        Spent::Device(hash),
        now,
    )
    .await
}

fn redeemed() -> OAuthError {
    OAuthError::invalid_grant("this device code was already redeemed; device codes are single-use")
        .because(
            Why::check("single_use")
                .expected("a device code redeemed once (RFC 8628 §3.4)")
                .got("a device code whose tokens were issued before")
                .remedy("stop polling once the token endpoint answers with tokens"),
        )
}

/// §3.5 `access_denied`: the user said no, or the server's access policy refused the user
/// (`refusal` says which policy and why).
fn denied(refusal: Option<&str>) -> OAuthError {
    match refusal {
        None => OAuthError::new(
            ErrorCode::AccessDenied,
            "the user denied this device's request on the verification page",
        ),
        Some(why) => OAuthError::new(
            ErrorCode::AccessDenied,
            format!(
                "the user allowed this device, but the authorization server's access policy \
                 refused: {why}"
            ),
        )
        .because(
            Why::check("policy")
                .expected("an access policy rule that allows this client, user, grant and scope")
                .got(why.to_owned())
                .remedy("change the server's access policy, or log in as a user it allows; then start again"),
        ),
    }
}

fn slow_down(interval: i64) -> OAuthError {
    OAuthError::new(
        ErrorCode::SlowDown,
        format!("polling too fast; wait {interval} seconds between polls from now on"),
    )
    .because(
        Why::check("interval")
            .expected(format!("polls at least {interval} seconds apart"))
            .got("a poll sooner than the interval allows")
            .remedy("add 5 seconds to the interval at each slow_down, and keep it (RFC 8628 §3.5)"),
    )
}

fn unknown() -> OAuthError {
    OAuthError::invalid_grant("unknown device code").because(
        Why::check("device_code")
            .expected("a device_code the device authorization endpoint issued")
            .got("a device code this server does not know (or one it forgot after expiry)")
            .remedy("send the device_code of the device authorization response, exactly"),
    )
}
