//! The security event log, newest first, filtered by kind, user, client and time.

use axum::Json;
use axum::extract::{RawQuery, State};
use shared::admin::{self, MAX_EVENTS};

use super::{Administrator, Ctx};
use crate::api::error::ApiError;
use crate::api::query_params;
use crate::clock::Timestamp;
use crate::state::AppState;
use crate::storage::{EventQuery, EventRow};

pub fn view(row: EventRow) -> admin::Event {
    admin::Event {
        id: row.id,
        at: row.at.unix(),
        kind: row.kind.as_str().to_owned(),
        client_id: row.client_id,
        user_id: row.user_id,
        address: row.address,
        detail: row.detail,
        request_id: row.request_id,
        explanation: row.explanation.0.map(|e| *e),
    }
}

pub async fn query(ctx: &Ctx<'_>, query: &EventQuery) -> Result<Vec<admin::Event>, ApiError> {
    Ok(ctx.db.events(query).await?.into_iter().map(view).collect())
}

/// `GET /admin/events?kind=&user=&client=&request_id=&since=&limit=` (limit 1 to 1000, default
/// 100). `request_id` finds what happened in one request (an answer's `X-Request-Id`): its
/// refusal's explanation, and the other events it caused.
#[utoipa::path(get, path = "/admin/events", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(
        ("kind" = Option<String>, Query), ("user" = Option<String>, Query), ("client" = Option<String>, Query),
        ("request_id" = Option<String>, Query, description = "An answer's X-Request-Id"),
        ("since" = Option<i64>, Query, description = "Unix seconds"), ("limit" = Option<u32>, Query, description = "1 to 1000 (100)")),
    responses((status = 200, description = "The security event log, newest first", body = Vec<shared::admin::Event>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<admin::Event>>, ApiError> {
    let mut filter = EventQuery {
        limit: 100,
        ..EventQuery::default()
    };
    for (name, value) in query_params(
        raw.as_deref(),
        &["kind", "user", "client", "request_id", "since", "limit"],
    )? {
        let value = Some(value).filter(|v| !v.is_empty());
        let number = |v: &Option<String>| -> Result<Option<i64>, ApiError> {
            v.as_deref()
                .map(|v| {
                    v.parse::<i64>().map_err(|_| {
                        ApiError::BadRequest(format!("{name} must be an integer, not {v:?}"))
                    })
                })
                .transpose()
        };
        match name {
            "kind" => filter.kind = value,
            "user" => filter.user_id = value,
            "client" => filter.client_id = value,
            "request_id" => {
                if let Some(id) = &value
                    && !crate::logs::well_formed(id.as_bytes())
                {
                    return Err(ApiError::BadRequest(
                        "request_id is an X-Request-Id: 1 to 64 letters, digits and -_.:".into(),
                    ));
                }
                filter.request_id = value;
            }
            "since" => filter.since = number(&value)?.map(Timestamp::from_unix),
            _ => {
                if let Some(limit) = number(&value)? {
                    if !(1..=MAX_EVENTS).contains(&limit) {
                        return Err(ApiError::BadRequest(format!(
                            "limit must be between 1 and {MAX_EVENTS}"
                        )));
                    }
                    filter.limit = limit;
                }
            }
        }
    }
    query(&admin.ctx(&state), &filter).await.map(Json)
}
