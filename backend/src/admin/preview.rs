//! Token preview (see [`crate::oauth::token::preview`]): what a server's token endpoint would
//! answer a client, with nothing issued or stored.

use axum::Json;
use axum::extract::State;
use shared::admin::{TokenPreview, TokenPreviewRequest};
use shared::oauth::GrantType;

use super::{Administrator, Body, Ctx};
use crate::api::error::ApiError;
use crate::oauth::token::preview::{Asked, preview};
use crate::state::AppState;

const INVALID: &str = "invalid_preview";

#[utoipa::path(post, path = "/admin/preview", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::TokenPreviewRequest,
    responses((status = 200, description = "The token endpoint's answer (for a code, the login's and the redemption's): its error, or the access token's header and unsigned claims, the ID token's claims and the refresh token's lifetime, with the policy and rule that decided; nothing is issued, stored or logged", body = shared::admin::TokenPreview), (status = 404, description = "No such authorization server", body = shared::oauth::ErrorResponse), (status = 422, description = "No such client or user, a code without a user, a refresh or a token exchange (`invalid_preview`)", body = shared::oauth::ErrorResponse)))]
pub async fn run(
    State(state): State<AppState>,
    admin: Administrator,
    Body(request): Body<TokenPreviewRequest>,
) -> Result<Json<TokenPreview>, ApiError> {
    answer(&state, &admin.ctx(&state), &request).await.map(Json)
}

/// What `request` previews, at the admin API and on the command line alike.
pub async fn answer(
    state: &AppState,
    ctx: &Ctx<'_>,
    request: &TokenPreviewRequest,
) -> Result<TokenPreview, ApiError> {
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
    let user = match (&request.username, request.grant_type) {
        (Some(username), grant) if grant.logs_users_in() => {
            Some(ctx.db.user_by_username(username).await?.ok_or_else(|| {
                ApiError::Unprocessable {
                    error: INVALID,
                    description: format!("there is no user {username:?}"),
                }
            })?)
        }
        (Some(_), _) => {
            return Err(ApiError::Unprocessable {
                error: INVALID,
                description: "username goes with a grant that logs a user in (authorization_code or the device \
                     grant) only"
                    .into(),
            });
        }
        (None, _) => None,
    };
    let asked = Asked {
        client: &client,
        grant_type: request.grant_type,
        scope: request.scope.clone(),
        resources: &request.resources,
        user: user.as_ref(),
        now: ctx.now,
    };
    let answer = preview(state, &server, asked).await?;
    answer.ok_or_else(|| ApiError::Unprocessable {
        error: INVALID,
        description: match request.grant_type {
            grant if grant.logs_users_in() => format!(
                "the {} grant is previewed for a user: give username, the user who would log in",
                grant.as_str()
            ),
            GrantType::TokenExchange => format!(
                "the {} grant needs a subject token and is not previewed: exchange a real \
                 token at the token endpoint (its refusals name the policy and rule)",
                GrantType::TokenExchange
            ),
            grant => format!(
                "the {} grant needs a refresh token and is not previewed: preview the \
                 authorization_code grant that begins the login (its refreshes are decided \
                 the same way)",
                grant.as_str()
            ),
        },
    })
}
