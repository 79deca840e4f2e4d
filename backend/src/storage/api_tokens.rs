use shared::scope::ScopeSet;

use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// An API token as stored, with what its verification needs to know about its owner.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiTokenRow {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub secret_hash: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub owner_disabled: bool,
}

pub struct NewApiToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub scope: &'a ScopeSet,
    pub expires_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT t.id, t.user_id, u.username, t.name, t.secret_hash, t.scope,
        t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.disabled AS owner_disabled
     FROM api_tokens t JOIN users u ON u.id = t.user_id";

impl Db {
    /// [`Error::Conflict`] if the user already has a token with this name.
    pub async fn insert_api_token(&self, t: &NewApiToken<'_>, now: Timestamp) -> Result<()> {
        let done = dispatch!(self, |pool| {
            sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, secret_hash, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(t.id)
        .bind(t.user_id)
        .bind(t.name)
        .bind(t.secret_hash)
        .bind(t.scope.to_string())
        .bind(now)
        .bind(t.expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        one_row(done, Error::Conflict("api_tokens (user_id, name)".into()))
    }

    pub async fn api_token(&self, id: &str) -> Result<Option<ApiTokenRow>> {
        let sql = format!("{SELECT} WHERE t.id = $1");
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?)
    }

    /// Every token, or one user's, newest first.
    pub async fn api_tokens(&self, user_id: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        let sql = format!(
            "{SELECT} WHERE ($1 IS NULL OR t.user_id = $1) ORDER BY t.created_at DESC, t.id"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(user_id)
            .fetch_all(pool)
            .await)?)
    }

    /// `true` if the token existed and was not revoked before.
    pub async fn revoke_api_token(&self, id: &str, now: Timestamp) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Records a use (the caller decides how often).
    pub async fn touch_api_token(&self, id: &str, now: Timestamp) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
        )
        .bind(now)
        .bind(id)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }
}
