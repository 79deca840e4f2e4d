use super::{Db, Result};

/// An API token as stored, with what its verification needs to know about its owner.
#[derive(Clone, Debug, serde::Serialize, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    #[serde(skip)]
    pub secret_hash: String,
    pub scope: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    #[serde(skip)]
    pub owner_disabled: bool,
}

pub struct NewApiToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub scope: &'a str,
    pub expires_at: Option<i64>,
}

const SELECT: &str = "SELECT t.id, t.user_id, u.username, t.name, t.secret_hash, t.scope,
        t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.disabled AS owner_disabled
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

impl Db {
    /// `false` if the user already has a token with this name.
    pub async fn insert_api_token(&self, t: &NewApiToken<'_>, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO api_tokens (id, user_id, name, secret_hash, scope, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id)
        .bind(t.user_id)
        .bind(t.name)
        .bind(t.secret_hash)
        .bind(t.scope)
        .bind(now)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>> {
        sqlx::query_as(&format!("{SELECT} WHERE t.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Every token, or one user's, newest first.
    pub async fn api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        sqlx::query_as(&format!(
            "{SELECT} WHERE (?1 IS NULL OR t.user_id = ?1) ORDER BY t.created_at DESC, t.id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
    }

    /// `true` if the token existed and was not revoked before.
    pub async fn revoke_api_token(&self, id: &str, now: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a use (the caller decides how often).
    pub async fn touch_api_token(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
