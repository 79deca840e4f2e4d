use axum::Json;
use shared::api::WhoAmI;

use super::auth::AccessToken;

/// `GET /api/whoami`: any valid access token; says who it speaks for.
pub async fn whoami(token: AccessToken) -> Json<WhoAmI> {
    let subject_type = token.subject_type();
    let c = token.claims;
    Json(WhoAmI {
        subject: c.sub,
        client_id: c.client_id,
        scope: c.scope,
        subject_type,
        auth_scheme: "Bearer".into(),
        expires_at: c.exp,
    })
}
