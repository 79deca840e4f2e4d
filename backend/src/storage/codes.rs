use super::{Db, Result};

/// What an authorization code was issued for (RFC 6749 §4.1.3 checks each of these).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CodeGrant {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
}

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub grant: &'a CodeGrant,
}

/// The outcome of presenting a code at the token endpoint.
#[derive(Debug)]
pub enum Redemption {
    /// First presentation: the code is now spent, whatever the caller does next.
    First(CodeGrant),
    /// It was presented before (RFC 6749 §4.1.2: codes are single-use).
    Replayed,
    Unknown,
}

impl Db {
    pub async fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        let g = code.grant;
        sqlx::query(
            "INSERT INTO authorization_codes
                 (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(code.code_hash)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.redirect_uri)
        .bind(&g.scope)
        .bind(&g.code_challenge)
        .bind(&g.nonce)
        .bind(g.auth_time)
        .bind(g.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the code spent and returns what it was for, in one statement, so that two
    /// concurrent redemptions cannot both see it unspent.
    pub async fn redeem_code(&self, code_hash: &str, now: i64) -> Result<Redemption> {
        let granted: Option<CodeGrant> = sqlx::query_as(
            "UPDATE authorization_codes SET consumed_at = ?
             WHERE code_hash = ? AND consumed_at IS NULL
             RETURNING client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, expires_at",
        )
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(grant) = granted {
            return Ok(Redemption::First(grant));
        }
        let seen: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM authorization_codes WHERE code_hash = ?")
                .bind(code_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(if seen.is_some() {
            Redemption::Replayed
        } else {
            Redemption::Unknown
        })
    }

    /// Forgets codes that expired more than `keep_secs` ago. Spent codes are kept that long
    /// so a late replay is still recognised as one.
    pub async fn purge_codes(&self, now: i64, keep_secs: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM authorization_codes WHERE expires_at < ?")
            .bind(now - keep_secs)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn count_codes(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT count(*) FROM authorization_codes")
            .fetch_one(&self.pool)
            .await
    }
}
