//! Token preview (see [`crate::oauth::token::preview`]): what a server's token endpoint would
//! answer a client, with nothing issued or stored.

use axum::Json;
use axum::extract::State;
use shared::admin::{TokenPreview, TokenPreviewRequest};

use super::{Administrator, Body};
use crate::api::error::ApiError;
use crate::oauth::token::preview::preview;
use crate::state::AppState;

const INVALID: &str = "invalid_preview";

#[utoipa::path(post, path = "/admin/preview", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::TokenPreviewRequest,
    responses((status = 200, description = "The token endpoint's answer: its error, or the access token's header and unsigned claims, with the policy and rule that decided; nothing is issued, stored or logged", body = shared::admin::TokenPreview), (status = 404, description = "No such authorization server", body = shared::oauth::ErrorResponse), (status = 422, description = "No such client, or a grant with a user (`invalid_preview`)", body = shared::oauth::ErrorResponse)))]
pub async fn run(
    State(state): State<AppState>,
    admin: Administrator,
    Body(request): Body<TokenPreviewRequest>,
) -> Result<Json<TokenPreview>, ApiError> {
    let ctx = admin.ctx(&state);
    let server = match &request.server {
        None => state.root.clone(),
        Some(id) => state
            .servers
            .get(id)
            .ok_or_else(|| ApiError::NotFound(super::servers::no_such_server()))?,
    };
    let client =
        ctx.db
            .client(&request.client_id)
            .await?
            .ok_or_else(|| ApiError::Unprocessable {
                error: INVALID,
                description: format!("there is no client {:?}", request.client_id),
            })?;
    let answer = preview(
        &state,
        &server,
        &client,
        request.grant_type,
        request.scope,
        &request.resources,
        ctx.now,
    )
    .await?;
    answer.map(Json).ok_or_else(|| ApiError::Unprocessable {
        error: INVALID,
        description: format!(
            "the {} grant needs a user's login and is not previewed: preview \
             client_credentials (at the root issuer or at a custom server)",
            request.grant_type.as_str()
        ),
    })
}
