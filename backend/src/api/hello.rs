use axum::Json;
use shared::api::Hello;

use super::auth::AccessToken;
use super::error::ApiError;

/// `GET /api/hello`: open to anyone, 200 whatever the request carries. A valid token is
/// noticed; an unacceptable one is not an error here, but the answer says it was not accepted so
/// a developer is not misled into thinking it works.
#[utoipa::path(get, path = "/api/hello", tag = "API",
    security((), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "A greeting; `authenticated` says whether a token was accepted", body = shared::api::Hello)))]
pub async fn hello(token: Result<Option<AccessToken>, ApiError>) -> Json<Hello> {
    Json(match token {
        Ok(Some(token)) => Hello {
            message: format!("Hello, {}!", token.claims.sub),
            authenticated: true,
        },
        Ok(None) => Hello {
            message: "Hello, anonymous caller! This endpoint needs no token.".into(),
            authenticated: false,
        },
        Err(e) => Hello {
            message: format!(
                "Hello, anonymous caller! The credentials you sent were not accepted ({}).",
                e.description()
            ),
            authenticated: false,
        },
    })
}
