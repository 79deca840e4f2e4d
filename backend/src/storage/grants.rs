use super::{Db, Result};

/// A grant as stored: the root of a refresh-token family.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// What the token endpoint writes when it issues tokens under a grant.
pub struct Issue<'a> {
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub access_jti: &'a str,
    pub access_expires_at: i64,
    /// A new refresh token: its hash, scope and expiry.
    pub refresh: Option<(&'a str, &'a str, i64)>,
}

/// A refresh token and its grant, for deciding what a presentation means.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshView {
    pub grant_id: String,
    pub scope: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub client_id: String,
    pub user_id: String,
    pub auth_time: i64,
    pub grant_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

const REFRESH_VIEW: &str =
    "SELECT r.grant_id, r.scope, r.expires_at, r.used_at, g.client_id, g.user_id,
        g.auth_time, g.expires_at AS grant_expires_at, g.revoked_at, r.created_at
     FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = ?";

impl Db {
    /// Creates a grant and writes what was issued under it, in one transaction. `code_hash`
    /// names the authorization code it came from, so a replay of that code can revoke the grant
    /// (RFC 6749 §4.1.2).
    pub async fn create_grant(
        &self,
        grant: &Grant,
        now: i64,
        issue: &Issue<'_>,
        code_hash: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO grants (id, client_id, user_id, scope, auth_time, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&grant.id)
        .bind(&grant.client_id)
        .bind(&grant.user_id)
        .bind(&grant.scope)
        .bind(grant.auth_time)
        .bind(now)
        .bind(grant.expires_at)
        .execute(&mut *tx)
        .await?;
        record_issue(&mut tx, issue, now).await?;
        sqlx::query("UPDATE authorization_codes SET grant_id = ? WHERE code_hash = ?")
            .bind(&grant.id)
            .bind(code_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshView>> {
        sqlx::query_as(REFRESH_VIEW)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
    }

    /// Rotates a refresh token: spends it if, at this instant, it is unused, unexpired, belongs
    /// to `client_id` and its grant is alive, and records what replaces it, in one transaction,
    /// so a crash leaves either the old token usable or the new one stored, never neither.
    /// Returns false, writing nothing, if the token could not be spent. The spend is one
    /// statement, so of two concurrent presentations exactly one wins, on SQLite as on any
    /// database with atomic updates.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
        issue: &Issue<'_>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1
               AND grant_id IN (SELECT id FROM grants
                                WHERE client_id = ?3 AND revoked_at IS NULL AND expires_at > ?1)",
        )
        .bind(now)
        .bind(token_hash)
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        record_issue(&mut tx, issue, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Revokes a grant: its refresh tokens stop working and its access tokens show as inactive.
    /// Idempotent; the first reason is kept.
    pub async fn revoke_grant(&self, grant_id: &str, reason: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(reason)
            .bind(grant_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes every live grant of a user (a disabled account, a reset password); returns how
    /// many.
    pub async fn revoke_grants_of_user(
        &self,
        user_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE grants SET revoked_at = ?, revoked_reason = ?
             WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Revokes one access token by id (it may have been issued without a grant, as with client
    /// credentials, so the row is created if needed).
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (jti) DO UPDATE SET revoked_at = coalesce(revoked_at, excluded.revoked_at)",
        )
        .bind(jti)
        .bind(client_id)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether an access token was revoked, by itself or through its grant.
    pub async fn access_token_revoked(&self, jti: &str) -> Result<bool> {
        let revoked: Option<bool> = sqlx::query_scalar(
            "SELECT a.revoked_at IS NOT NULL OR coalesce(g.revoked_at IS NOT NULL, 0)
             FROM access_tokens a LEFT JOIN grants g ON g.id = a.grant_id WHERE a.jti = ?",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await?;
        Ok(revoked.unwrap_or(false))
    }

    pub async fn grant_of_code(&self, code_hash: &str) -> Result<Option<String>> {
        let grant: Option<Option<String>> =
            sqlx::query_scalar("SELECT grant_id FROM authorization_codes WHERE code_hash = ?")
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(grant.flatten())
    }

    pub async fn grant(&self, id: &str) -> Result<Option<Grant>> {
        sqlx::query_as(
            "SELECT id, client_id, user_id, scope, auth_time, expires_at, revoked_at FROM grants WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }
}

async fn record_issue(tx: &mut sqlx::SqliteConnection, issue: &Issue<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO access_tokens (jti, grant_id, client_id, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(issue.access_jti)
    .bind(issue.grant_id)
    .bind(issue.client_id)
    .bind(issue.access_expires_at)
    .execute(&mut *tx)
    .await?;
    if let Some((hash, scope, expires_at)) = issue.refresh {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, grant_id, scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(hash)
        .bind(issue.grant_id)
        .bind(scope)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
