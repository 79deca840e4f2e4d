use axum::Json;
use axum::extract::State;
use shared::api::Product;
use shared::scope::PRODUCTS_READ;

use super::auth::AccessToken;
use super::error::ApiError;
use crate::state::AppState;

/// `GET /api/products`: the catalogue, for tokens with `products:read`.
#[utoipa::path(get, path = "/api/products", tag = "API", security(("oauth2" = ["products:read"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The catalogue", body = Vec<shared::api::Product>)))]
pub async fn list(
    State(state): State<AppState>,
    token: AccessToken,
) -> Result<Json<Vec<Product>>, ApiError> {
    token.require(PRODUCTS_READ)?;
    Ok(Json(state.db.products().await?))
}
