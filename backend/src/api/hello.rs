use axum::Json;
use shared::api::Hello;

use super::auth::AccessToken;

/// `GET /api/hello`: open to anyone. A valid token is noticed but not needed; an invalid one
/// is still refused, so a client never believes a broken token works.
pub async fn hello(token: Option<AccessToken>) -> Json<Hello> {
    Json(match token {
        Some(token) => Hello { message: format!("Hello, {}!", token.claims.sub), authenticated: true },
        None => Hello { message: "Hello, anonymous caller! This endpoint needs no token.".into(), authenticated: false },
    })
}
