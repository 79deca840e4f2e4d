use super::{Db, Result};

/// One row of the security event log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub address: Option<String>,
    pub detail: String,
}

/// Which events to read, newest first.
#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub kind: Option<String>,
    pub since: Option<i64>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub limit: i64,
}

impl Db {
    /// Writes a batch in one transaction: one fsync for many events.
    pub async fn insert_events(&self, events: &[EventRow]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for event in events {
            sqlx::query(
                "INSERT INTO security_events (at, kind, client_id, user_id, address, detail)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(event.at)
            .bind(&event.kind)
            .bind(&event.client_id)
            .bind(&event.user_id)
            .bind(&event.address)
            .bind(&event.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Deletes events older than `before` (the retention period); returns how many.
    pub async fn purge_events(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM security_events WHERE at < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn events(&self, query: &EventQuery) -> Result<Vec<EventRow>> {
        sqlx::query_as(
            "SELECT id, at, kind, client_id, user_id, address, detail FROM security_events
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR at >= ?2)
                 AND (?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR client_id = ?4)
             ORDER BY id DESC LIMIT ?5",
        )
        .bind(&query.kind)
        .bind(query.since)
        .bind(&query.user_id)
        .bind(&query.client_id)
        .bind(query.limit)
        .fetch_all(&self.pool)
        .await
    }
}
