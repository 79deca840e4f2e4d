use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use shared::api::{MAX_QUANTITY, MIN_QUANTITY, NewOrder, Order};
use shared::scope::{ORDERS_READ, ORDERS_WRITE};

use super::auth::AccessToken;
use super::error::ApiError;
use crate::state::AppState;
use crate::storage::NewOrderRow;

/// `GET /api/orders`: the caller's own orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "API", security(("oauth2" = ["orders:read"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "The caller's orders, newest first", body = Vec<shared::api::Order>)))]
pub async fn list(
    State(state): State<AppState>,
    token: AccessToken,
) -> Result<Json<Vec<Order>>, ApiError> {
    token.require(ORDERS_READ)?;
    Ok(Json(state.db.orders_of(&token.owner()).await?))
}

/// `POST /api/orders` with `{"product_id": …, "quantity": …}`: 201 with the stored order.
#[utoipa::path(post, path = "/api/orders", tag = "API", security(("oauth2" = ["orders:write"]), ("bearer" = []), ("apiToken" = [])),
    request_body = shared::api::NewOrder,
    responses((status = 201, description = "The stored order", body = shared::api::Order),
        (status = 422, description = "No such product, or a quantity out of range", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    token: AccessToken,
    body: Result<Json<serde_json::Map<String, serde_json::Value>>, JsonRejection>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    // Authorization first: a caller without the scope learns nothing about body validation.
    token.require(ORDERS_WRITE)?;
    const SHAPE: &str =
        r#"the order must be a JSON object {"product_id": <integer>, "quantity": <integer>}"#;
    // Parsed as an object first: serde would otherwise also accept `[product_id, quantity]`.
    let Json(object) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        ApiError::BadRequest(match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                "send the order as JSON with Content-Type: application/json".into()
            }
            JsonRejection::JsonSyntaxError(_) => "the body is not valid JSON".into(),
            JsonRejection::JsonDataError(_) => SHAPE.into(),
            other => other.body_text(),
        })
    })?;
    let order: NewOrder = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| ApiError::BadRequest(format!("{SHAPE}: {e}")))?;
    if !(MIN_QUANTITY..=MAX_QUANTITY).contains(&order.quantity) {
        return Err(ApiError::Unprocessable {
            error: "invalid_quantity",
            description: format!(
                "quantity must be between {MIN_QUANTITY} and {MAX_QUANTITY}, got {}",
                order.quantity
            ),
        });
    }
    let owner = token.owner();
    let row = NewOrderRow {
        owner: &owner,
        client_id: &token.claims.client_id,
        product_id: order.product_id,
        quantity: order.quantity,
    };
    match state.db.insert_order(&row, state.clock.now()).await? {
        Some(stored) => Ok((StatusCode::CREATED, Json(stored))),
        None => Err(ApiError::Unprocessable {
            error: "unknown_product",
            description: format!("there is no product with id {}", order.product_id),
        }),
    }
}
