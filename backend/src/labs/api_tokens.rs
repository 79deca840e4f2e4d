//! The API-token lab (demo mode only): a signed-in user's own API tokens through their life
//! cycle (created, last used, revoked, expired). `GET /api/lab/tokens` lists them;
//! `POST /api/lab/tokens` creates a short-lived one (shown once, as `POST /admin/tokens` does);
//! `DELETE /api/lab/tokens/{id}` revokes one. The app uses a token with
//! `Authorization: Token amt_…` straight at the API, as a script would, and shows the server
//! noting its use; the clock lab or a lifetime of seconds shows it expire.
//!
//! Only the user's own tokens, and only through a root-issuer access token of theirs: an API
//! token cannot mint another, a new token's scopes are among the calling token's and it expires
//! no later than the calling token, so the lab never hands out more than the caller holds. At
//! most [`MAX_LAB_TOKENS`] of the user's tokens may be active, and the lab creates at most as
//! many an hour per user (per instance: creations are serialised within one).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{ApiToken, ApiTokenCreated, ApiTokenState};
use shared::api::{
    LabApiToken, LabApiTokens, MAX_LAB_TOKEN_SECS, MAX_LAB_TOKENS, MAX_LISTED_TOKENS,
    MIN_LAB_TOKEN_SECS,
};
use shared::scope::ScopeSet;

use super::demo_only;
use crate::admin::tokens::view;
use crate::admin::{Body, Named};
use crate::api::api_token::{self, TokenRequest};
use crate::api::auth::{AccessToken, Scheme};
use crate::api::error::ApiError;
use crate::clock::Timestamp;
use crate::events::{Event, EventKind};
use crate::state::AppState;

const LAB: &str = "the API-token lab";
static CREATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// What the lab needs of the caller: a user's token that may read the user's profile.
const SCOPE: &str = "profile";

/// `GET /api/lab/tokens`: the caller's API tokens, newest first (at most 20), never a secret,
/// and the server's time. A user's token with `profile`, demo mode only.
#[utoipa::path(get, path = "/api/lab/tokens", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The user's own API tokens and the server's time", body = shared::api::LabApiTokens),
        (status = 403, description = "Not a user's token with profile", body = shared::oauth::ErrorResponse),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    caller: AccessToken,
) -> Result<Json<LabApiTokens>, ApiError> {
    demo_only(&state, LAB)?;
    own_user(&state, &caller)?;
    let mut tokens = own(&state, &caller).await?;
    tokens.truncate(MAX_LISTED_TOKENS);
    Ok(Json(LabApiTokens {
        server_time: state.clock.now().unix(),
        tokens,
    }))
}

/// `POST /api/lab/tokens {"name", "scope", "expires_in_secs"}`: a new API token of the caller's
/// (`201`, the token shown this once). An OAuth access token of the root issuer's, a user's with
/// `profile`; the scopes among its own; 30 s to an hour, and never beyond the calling token's
/// expiry; demo mode only.
#[utoipa::path(post, path = "/api/lab/tokens", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = [])),
    request_body = shared::api::LabApiToken,
    responses((status = 201, description = "The token (shown once)", body = shared::admin::ApiTokenCreated),
        (status = 400, description = "Not the JSON asked for", body = shared::oauth::ErrorResponse),
        (status = 403, description = "Not a user's bearer OAuth access token with profile", body = shared::oauth::ErrorResponse),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse),
        (status = 409, description = "A token by that name exists, or too many tokens", body = shared::oauth::ErrorResponse),
        (status = 422, description = "A name or lifetime that breaks the rules, or scopes the calling token does not hold", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    caller: AccessToken,
    Body(wanted): Body<LabApiToken>,
) -> Result<(StatusCode, Json<ApiTokenCreated>), ApiError> {
    demo_only(&state, LAB)?;
    own_user(&state, &caller)?;
    match caller.scheme {
        Scheme::Bearer => {}
        Scheme::Token => {
            return Err(ApiError::Forbidden(
                "an API token cannot create another: sign in and use the access token the \
                 login gave you"
                    .into(),
            ));
        }
        // An API token is a bearer credential: made from a token bound to a key, it would be
        // a way around the binding (RFC 9449 §1: a stolen token must be useless without it).
        Scheme::Dpop => {
            return Err(ApiError::Forbidden(
                "a DPoP-bound access token cannot create an API token, which anyone holding it \
                 could use without the key: sign in without DPoP to try the lab"
                    .into(),
            ));
        }
    }
    if !(MIN_LAB_TOKEN_SECS..=MAX_LAB_TOKEN_SECS).contains(&wanted.expires_in_secs) {
        return Err(ApiError::Unprocessable {
            error: "invalid_request",
            description: format!(
                "expires_in_secs must be between {MIN_LAB_TOKEN_SECS} and \
                 {MAX_LAB_TOKEN_SECS} (a lab token lives an hour at most), got {}",
                wanted.expires_in_secs
            ),
        });
    }
    let scope = ScopeSet::parse(&wanted.scope).map_err(|e| ApiError::Unprocessable {
        error: "invalid_scope",
        description: e.to_string(),
    })?;
    let beyond: Vec<&str> = scope.difference(&caller.claims.scope).collect();
    if !beyond.is_empty() {
        return Err(ApiError::Unprocessable {
            error: "invalid_scope",
            description: format!(
                "a lab token may have only scopes your access token holds ({}); it does not \
                 hold: {}",
                caller.claims.scope,
                beyond.join(" ")
            ),
        });
    }
    // One creation at a time on this instance, so that parallel requests cannot all pass the
    // limits below before any of them is stored (instances × the limits at most).
    let _one_at_a_time = CREATING.lock().await;
    let now = state.clock.now();
    let tokens = own(&state, &caller).await?;
    room_for_another(&tokens, now)?;
    // Never beyond the access token it was made with: logging out, or a revoked login, must
    // not leave a credential that outlives them by the hour.
    let expires_at = now
        .plus_secs(wanted.expires_in_secs)
        .unix()
        .min(caller.expires_at.unwrap_or(i64::MAX));
    let owner = state
        .db
        .user_by_id(&caller.claims.sub)
        .await?
        .ok_or_else(|| ApiError::InvalidToken("the token's user no longer exists".into()))?;
    let request = TokenRequest {
        name: &wanted.name,
        scope: &wanted.scope,
        expires_at: Some(Timestamp::from_unix(expires_at)),
    };
    let (id, token) = api_token::create(&state.db, &owner, &request, now).await?;
    record(
        &state,
        &caller,
        EventKind::ApiTokenCreated,
        format!(
            "{id} ({}) for {}; scope {scope}; for {} s (the API-token lab)",
            wanted.name.trim(),
            owner.username,
            expires_at - now.unix()
        ),
    )
    .await;
    let row = state
        .db
        .api_token(&id)
        .await?
        .ok_or_else(|| ApiError::internal("an API token vanished after its creation"))?;
    Ok((
        StatusCode::CREATED,
        Json(ApiTokenCreated {
            api_token: view(row, now),
            token,
        }),
    ))
}

/// `DELETE /api/lab/tokens/{id}`: revokes one of the caller's API tokens (`204`); 404 for any
/// other, 409 if it was revoked already. A user's token with `profile`, demo mode only.
#[utoipa::path(delete, path = "/api/lab/tokens/{id}", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = []), ("apiToken" = [])),
    params(("id" = String, Path, description = "The 16 hex digits after amt_")),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "Not one of the caller's tokens, or not in demo mode", body = shared::oauth::ErrorResponse),
        (status = 409, description = "Already revoked", body = shared::oauth::ErrorResponse)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: AccessToken,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    demo_only(&state, LAB)?;
    own_user(&state, &caller)?;
    // Another user's token reads as no token at all.
    let row = match state.db.api_token(&id).await? {
        Some(row) if row.user_id == caller.claims.sub => row,
        _ => {
            return Err(ApiError::NotFound(format!("you have no API token {id:?}")));
        }
    };
    if !state.db.revoke_api_token(&id, state.clock.now()).await? {
        return Err(ApiError::Conflict(format!(
            "the API token {id} is already revoked"
        )));
    }
    record(
        &state,
        &caller,
        EventKind::ApiTokenRevoked,
        format!(
            "{id} ({}) of {} (the API-token lab)",
            row.name, row.username
        ),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's token with `profile`, of the root issuer: an API token speaks for the root issuer,
/// so a custom authorization server's token (whose scopes that server decides) must not mint one.
fn own_user(state: &AppState, caller: &AccessToken) -> Result<(), ApiError> {
    caller.require_user(SCOPE, "API tokens")?;
    caller.require_issuer(&state.root.issuer)
}

/// The caller's API tokens, newest first.
async fn own(state: &AppState, caller: &AccessToken) -> Result<Vec<ApiToken>, ApiError> {
    let now = state.clock.now();
    Ok(state
        .db
        .api_tokens(Some(&caller.claims.sub))
        .await?
        .into_iter()
        .map(|row| view(row, now))
        .collect())
}

/// 409 when the user has [`MAX_LAB_TOKENS`] active tokens, or the lab made as many in the last
/// hour: revoking and creating in a loop must not grow the table without end.
fn room_for_another(tokens: &[ApiToken], now: Timestamp) -> Result<(), ApiError> {
    let active = tokens
        .iter()
        .filter(|t| t.state == ApiTokenState::Active)
        .count();
    if active >= MAX_LAB_TOKENS {
        return Err(ApiError::Conflict(format!(
            "you have {active} active API tokens, the lab's most: revoke one first"
        )));
    }
    let hour_ago = now.plus_secs(-3600).unix();
    let recent = tokens.iter().filter(|t| t.created_at > hour_ago).count();
    if recent >= MAX_LAB_TOKENS {
        return Err(ApiError::Conflict(format!(
            "{recent} API tokens were created for you in the last hour, the lab's most: try \
             again later"
        )));
    }
    Ok(())
}

async fn record(state: &AppState, caller: &AccessToken, kind: EventKind, detail: String) {
    let event = Event::new(kind)
        .client(&caller.claims.client_id)
        .user(&caller.claims.sub)
        .detail(detail);
    state.events.record(event).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(state: ApiTokenState, created_at: i64) -> ApiToken {
        ApiToken {
            id: "0123456789abcdef".into(),
            user_id: "u".into(),
            username: "alice".into(),
            name: "t".into(),
            scope: ScopeSet::parse("products:read").unwrap(),
            state,
            created_at,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn bounds_active_tokens_and_creations_an_hour() {
        let now = Timestamp::from_unix(10_000);
        let old = 10_000 - 3601;
        let active = vec![token(ApiTokenState::Active, old); MAX_LAB_TOKENS];
        assert!(room_for_another(&active[1..], now).is_ok());
        assert!(matches!(
            room_for_another(&active, now),
            Err(ApiError::Conflict(_))
        ));
        let recent = vec![token(ApiTokenState::Revoked, 9_000); MAX_LAB_TOKENS];
        assert!(room_for_another(&recent[1..], now).is_ok());
        assert!(matches!(
            room_for_another(&recent, now),
            Err(ApiError::Conflict(_))
        ));
    }
}
