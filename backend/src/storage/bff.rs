use super::{Db, Result};

/// A login under way (`/bff/login` → `/bff/callback`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BffLogin {
    pub state: String,
    pub code_verifier: String,
    pub requested_scope: String,
    pub return_to: String,
    /// Sealed; see `bff::login`.
    pub replaces: Option<Vec<u8>>,
    pub expires_at: i64,
}

/// A backend-for-frontend session, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BffSessionRow {
    pub id_hash: String,
    pub subject: String,
    pub requested_scope: String,
    /// Sealed; see `bff::session`.
    pub tokens: Vec<u8>,
    pub access_expires_at: i64,
    pub refreshable: bool,
    /// JSON array of `shared::bff::Exchange`.
    pub exchanges: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl Db {
    pub async fn insert_bff_login(&self, id_hash: &str, login: &BffLogin) -> Result<()> {
        sqlx::query(
            "INSERT INTO bff_logins
                 (id_hash, state, code_verifier, requested_scope, return_to, replaces, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(&login.state)
        .bind(&login.code_verifier)
        .bind(&login.requested_scope)
        .bind(&login.return_to)
        .bind(&login.replaces)
        .bind(login.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn bff_login(&self, id_hash: &str) -> Result<Option<BffLogin>> {
        sqlx::query_as(
            "SELECT state, code_verifier, requested_scope, return_to, replaces, expires_at
             FROM bff_logins WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// Deletes the login; `false` if another request already did: a callback uses it once.
    pub async fn take_bff_login(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM bff_logins WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_bff_session(&self, row: &BffSessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO bff_sessions (id_hash, subject, requested_scope, tokens, access_expires_at,
                 refreshable, exchanges, created_at, last_seen_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.id_hash)
        .bind(&row.subject)
        .bind(&row.requested_scope)
        .bind(&row.tokens)
        .bind(row.access_expires_at)
        .bind(row.refreshable)
        .bind(&row.exchanges)
        .bind(row.created_at)
        .bind(row.last_seen_at)
        .bind(row.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn bff_session(&self, id_hash: &str) -> Result<Option<BffSessionRow>> {
        sqlx::query_as(
            "SELECT id_hash, subject, requested_scope, tokens, access_expires_at, refreshable,
                    exchanges, created_at, last_seen_at, expires_at
             FROM bff_sessions WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// Stores renewed tokens (after a refresh) and the exchange log.
    pub async fn update_bff_tokens(
        &self,
        id_hash: &str,
        tokens: &[u8],
        access_expires_at: i64,
        refreshable: bool,
        exchanges: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE bff_sessions SET tokens = ?, access_expires_at = ?, refreshable = ?, exchanges = ?
             WHERE id_hash = ?",
        )
        .bind(tokens)
        .bind(access_expires_at)
        .bind(refreshable)
        .bind(exchanges)
        .bind(id_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_bff_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE bff_sessions SET last_seen_at = ? WHERE id_hash = ?")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_bff_session(&self, id_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM bff_sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets logins and sessions that can no longer be used: past their lifetime, or idle
    /// for longer than `idle_secs`.
    pub async fn purge_bff(&self, now: i64, idle_secs: i64) -> Result<u64> {
        let logins = sqlx::query("DELETE FROM bff_logins WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let sessions =
            sqlx::query("DELETE FROM bff_sessions WHERE expires_at < ? OR last_seen_at < ?")
                .bind(now)
                .bind(now - idle_secs)
                .execute(&self.pool)
                .await?;
        Ok(logins.rows_affected() + sessions.rows_affected())
    }

    pub async fn count_bff_sessions(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM bff_sessions")
            .fetch_one(&self.pool)
            .await
    }
}
