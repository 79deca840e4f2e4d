use shared::admin::EventKind;
use shared::api::Explanation;

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

/// One row of the security event log.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    /// Assigned by the database when the event is stored (0 before).
    pub id: i64,
    pub at: Timestamp,
    #[sqlx(try_from = "String")]
    pub kind: EventKind,
    pub client_id: Option<String>,
    /// A user id, or the username tried at a failed login.
    pub user_id: Option<String>,
    /// The client's IP address.
    pub address: Option<String>,
    pub detail: String,
    /// The `X-Request-Id` of the request the event happened in.
    pub request_id: Option<String>,
    #[sqlx(try_from = "Option<String>")]
    pub explanation: Explained,
}

/// A refusal's explanation, stored as a JSON object (none for other events).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Explained(pub Option<Box<Explanation>>);

impl Explained {
    fn json(&self) -> Option<String> {
        self.0.as_ref().and_then(|e| serde_json::to_string(e).ok())
    }
}

impl TryFrom<Option<String>> for Explained {
    type Error = serde_json::Error;

    fn try_from(raw: Option<String>) -> std::result::Result<Self, Self::Error> {
        raw.map(|raw| serde_json::from_str(&raw))
            .transpose()
            .map(Self)
    }
}

/// Which events to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// An event kind's name (any text: an unknown one matches nothing).
    pub kind: Option<String>,
    pub since: Option<Timestamp>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub request_id: Option<String>,
    pub limit: i64,
}

const INSERT: &str = "INSERT INTO security_events
     (at, kind, client_id, user_id, address, detail, request_id, explanation)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

impl Db {
    /// Writes a batch in one transaction: one fsync for many events.
    pub async fn insert_events(&self, events: &[EventRow]) -> Result<()> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            for event in events {
                sqlx::query(INSERT)
                    .bind(event.at)
                    .bind(event.kind.as_str())
                    .bind(&event.client_id)
                    .bind(&event.user_id)
                    .bind(&event.address)
                    .bind(&event.detail)
                    .bind(&event.request_id)
                    .bind(event.explanation.json())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Stores one event now and returns it with its id.
    pub async fn insert_event(&self, event: &EventRow) -> Result<EventRow> {
        let id: i64 = dispatch!(self, |pool| sqlx::query_scalar(INSERT)
            .bind(event.at)
            .bind(event.kind.as_str())
            .bind(&event.client_id)
            .bind(&event.user_id)
            .bind(&event.address)
            .bind(&event.detail)
            .bind(&event.request_id)
            .bind(event.explanation.json())
            .fetch_one(pool)
            .await)?;
        Ok(EventRow {
            id,
            ..event.clone()
        })
    }

    /// Deletes events older than `before` (the retention period); returns how many.
    pub async fn purge_events(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM security_events WHERE at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    pub async fn events(&self, query: &EventQuery) -> Result<Vec<EventRow>> {
        // A request id is looked up through its index: a statement of its own, since
        // `$1 IS NULL OR request_id = $1` would keep either database from using it.
        let by_request = if query.request_id.is_some() {
            "request_id = $5"
        } else {
            "$5 IS NULL"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM security_events
             WHERE {by_request} AND ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR at >= $2)
                 AND ($3 IS NULL OR user_id = $3) AND ($4 IS NULL OR client_id = $4)
             ORDER BY id DESC LIMIT $6"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(&query.kind)
            .bind(query.since)
            .bind(&query.user_id)
            .bind(&query.client_id)
            .bind(&query.request_id)
            .bind(query.limit)
            .fetch_all(pool)
            .await)?)
    }

    /// The refusals of requests made for `user_id`, newest first, or the one of `request_id`
    /// (through the partial index on refusals by user).
    pub async fn refusals_of(
        &self,
        user_id: &str,
        request_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EventRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM security_events
             WHERE kind = 'request_refused' AND user_id = $1 AND ($2 IS NULL OR request_id = $2)
             ORDER BY id DESC LIMIT $3"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .bind(request_id)
            .bind(limit)
            .fetch_all(pool)
            .await)?)
    }
}

const COLUMNS: &str = "id, at, kind, client_id, user_id, address, detail, request_id, explanation";
