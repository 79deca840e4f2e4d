//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3): the logged-in user's claims, for an access
//! token with the `openid` scope.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value};
use shared::api::SubjectType;

use crate::api::auth::AccessToken;
use crate::api::error::ApiError;
use crate::state::AppState;

#[utoipa::path(method(get, post), path = "/userinfo", tag = "OAuth", security(("oauth2" = ["openid"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The user's claims (OpenID Connect Core §5.3)", body = crate::openapi::UserInfo)))]
pub async fn userinfo(
    State(state): State<AppState>,
    token: AccessToken,
) -> Result<Json<Value>, ApiError> {
    token.require_issuer(&state.root.issuer)?;
    token.require("openid")?;
    if token.subject_type() == SubjectType::Client {
        return Err(ApiError::InsufficientScope {
            scope: "openid",
            description: "this token belongs to a client acting for itself and has no user".into(),
        });
    }
    let Some(user) = state
        .db
        .user_by_id(&token.claims.sub)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Err(ApiError::InvalidToken(
            "the user of this access token no longer exists or is disabled".into(),
        ));
    };
    // §5.4: `profile` and `email` decide which claims are returned; `sub` always is (§5.3.2).
    let mut claims = Map::new();
    claims.insert("sub".into(), user.id.into());
    if token.claims.scope.contains("profile") {
        claims.insert("preferred_username".into(), user.username.into());
        claims.insert("name".into(), user.name.into());
    }
    if token.claims.scope.contains("email") {
        claims.insert("email".into(), user.email.into());
        // Addresses are not verified by this server, and §5.1 says to say so.
        claims.insert("email_verified".into(), false.into());
    }
    Ok(Json(Value::Object(claims)))
}
