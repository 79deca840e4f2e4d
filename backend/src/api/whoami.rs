use axum::Json;
use shared::api::WhoAmI;

use super::auth::AccessToken;

/// `GET /api/whoami`: any valid access token or API token; says who it speaks for and how the
/// caller authenticated.
#[utoipa::path(get, path = "/api/whoami", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Who the token speaks for", body = shared::api::WhoAmI)))]
pub async fn whoami(token: AccessToken) -> Json<WhoAmI> {
    let subject_type = token.subject_type();
    let c = token.claims;
    Json(WhoAmI {
        subject: c.sub,
        client_id: c.client_id,
        scope: c.scope,
        subject_type,
        auth_scheme: token.scheme.as_str().into(),
        expires_at: token.expires_at,
        issuer: c.iss,
        act: c.act,
    })
}
