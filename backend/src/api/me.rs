use axum::Json;
use axum::extract::State;
use shared::api::{Me, SubjectType};

use super::auth::AccessToken;
use super::error::ApiError;
use crate::state::AppState;

/// `GET /api/me`: the logged-in user's profile. Needs a token issued to a user (not to a client
/// acting for itself) with the `profile` scope.
#[utoipa::path(get, path = "/api/me", tag = "API", security(("oauth2" = ["profile"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The user's profile", body = shared::api::Me)))]
pub async fn me(State(state): State<AppState>, token: AccessToken) -> Result<Json<Me>, ApiError> {
    token.require("profile")?;
    token.require_own_user()?;
    if token.subject_type() == SubjectType::Client {
        return Err(ApiError::InsufficientScope {
            scope: "profile",
            description: "this token was issued to a client acting for itself (client credentials) and has no user; \
                          log in as a user to call /api/me"
                .into(),
        });
    }
    let user = state.db.user_by_id(&token.claims.sub).await?;
    match user {
        Some(user) if !user.disabled => Ok(Json(Me {
            user_id: user.id,
            username: user.username,
            name: user.name,
            email: user.email,
        })),
        _ => Err(ApiError::InvalidToken(
            "the user of this access token no longer exists or is disabled".into(),
        )),
    }
}
