use shared::admin::EventKind;

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
}

/// Which events to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    /// An event kind's name (any text: an unknown one matches nothing).
    pub kind: Option<String>,
    pub since: Option<Timestamp>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub limit: i64,
}

const INSERT: &str = "INSERT INTO security_events (at, kind, client_id, user_id, address, detail)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

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
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, at, kind, client_id, user_id, address, detail FROM security_events
             WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR at >= $2)
                 AND ($3 IS NULL OR user_id = $3) AND ($4 IS NULL OR client_id = $4)
             ORDER BY id DESC LIMIT $5",
        )
        .bind(&query.kind)
        .bind(query.since)
        .bind(&query.user_id)
        .bind(&query.client_id)
        .bind(query.limit)
        .fetch_all(pool)
        .await)?)
    }
}
