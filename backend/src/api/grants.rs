//! `GET /api/me/grants`: the caller's own logins at the calling client, each with its refresh-token family (issued,
//! spent, expired, revoked, and why), never a token. The app draws each family as a chain and
//! marks the token it holds, which it recognises by the hash the server stores.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::api::{
    FAMILY_TOKEN_ID_CHARS, FamilyToken, FamilyTokenState, GrantFamily, MAX_FAMILY_TOKENS,
    MAX_GRANTS,
};

use super::auth::AccessToken;
use super::error::ApiError;
use super::query_params;
use crate::clock::Timestamp;
use crate::state::AppState;
use crate::storage::FamilyRow;

/// `GET /api/me/grants`: the user's logins at the client the token was issued to, newest first
/// (at most 10), each with its refresh tokens, oldest first (the newest 100). Needs a user's
/// token with the `profile` scope. Only that client's: a third-party app the user let read
/// their profile learns nothing of their other logins.
#[utoipa::path(get, path = "/api/me/grants", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The user's logins and their refresh-token families", body = Vec<shared::api::GrantFamily>)))]
pub async fn list(
    State(state): State<AppState>,
    token: AccessToken,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<GrantFamily>>, ApiError> {
    token.require_user("profile", "logins")?;
    query_params(raw.as_deref(), &[])?;
    let rows = state
        .db
        .families_of(
            &token.claims.sub,
            &token.claims.client_id,
            MAX_GRANTS,
            MAX_FAMILY_TOKENS,
        )
        .await?;
    Ok(Json(families(rows, state.clock.now())))
}

/// The rows of [`crate::storage::Db::families_of`] (ordered by login, then token) as families.
pub fn families(rows: Vec<FamilyRow>, now: Timestamp) -> Vec<GrantFamily> {
    let mut families: Vec<GrantFamily> = Vec::new();
    for row in rows {
        if families
            .last()
            .is_none_or(|family| family.grant_id != row.grant_id)
        {
            families.push(GrantFamily {
                grant_id: row.grant_id.clone(),
                client_id: row.client_id.clone(),
                scope: row.scope.clone(),
                created_at: row.created_at.unix(),
                expires_at: row.expires_at.unix(),
                revoked_at: row.revoked_at.map(Timestamp::unix),
                revoked_reason: row.revoked_reason.clone(),
                refresh_tokens: Vec::new(),
            });
        }
        let (Some(family), Some(hash), Some(created_at), Some(expires_at)) = (
            families.last_mut(),
            row.token_hash,
            row.token_created_at,
            row.token_expires_at,
        ) else {
            continue;
        };
        let expired = expires_at <= now || row.expires_at <= now;
        family.refresh_tokens.push(FamilyToken {
            id: hash.chars().take(FAMILY_TOKEN_ID_CHARS).collect(),
            created_at: created_at.unix(),
            expires_at: expires_at.unix(),
            used_at: row.used_at.map(Timestamp::unix),
            state: FamilyTokenState::of(row.used_at.is_some(), row.revoked_at.is_some(), expired),
        });
    }
    families
}
