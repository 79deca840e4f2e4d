//! `GET /api/me/refusals`: why the server refused the caller's own requests, as its security
//! event log explains them (see [`crate::refusals`]). Only the user's own: a refusal is theirs
//! when the server knew the request was (a token whose signature verified, their session, their
//! login), never because a request claimed it.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::api::{MAX_REFUSALS, Refusal};

use super::auth::AccessToken;
use super::error::ApiError;
use super::query_params;
use crate::state::AppState;

/// `GET /api/me/refusals[?request_id=ID]`: the refusals of the user's requests, newest first
/// (at most 50), or the one answered with `X-Request-Id: ID`. Needs a user's token with the
/// `profile` scope.
#[utoipa::path(get, path = "/api/me/refusals", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = []), ("apiToken" = [])),
    params(("request_id" = Option<String>, Query, description = "An answer's X-Request-Id")),
    responses((status = 200, description = "Why the user's requests were refused, newest first", body = Vec<shared::api::Refusal>)))]
pub async fn list(
    State(state): State<AppState>,
    token: AccessToken,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<Refusal>>, ApiError> {
    token.require_user("profile", "refusals")?;
    let mut request_id = None;
    for (_, value) in query_params(raw.as_deref(), &["request_id"])? {
        if !crate::logs::well_formed(value.as_bytes()) {
            return Err(ApiError::BadRequest(
                "request_id is an X-Request-Id: 1 to 64 letters, digits and -_.:".into(),
            ));
        }
        request_id = Some(value);
    }
    let rows = state
        .db
        .refusals_of(&token.claims.sub, request_id.as_deref(), MAX_REFUSALS)
        .await?;
    Ok(Json(
        rows.into_iter()
            .filter_map(|row| {
                Some(Refusal {
                    request_id: row.request_id?,
                    at: row.at.unix(),
                    client_id: row.client_id,
                    explanation: *row.explanation.0?,
                })
            })
            .collect(),
    ))
}
