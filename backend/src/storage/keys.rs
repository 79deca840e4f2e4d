use super::{Db, Result};

#[derive(Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
    pub public_x: String,
    pub public_y: String,
    /// `next`, `current` or `retired`.
    pub state: String,
    pub created_at: i64,
    /// When it started signing.
    pub activated_at: Option<i64>,
    /// When it stopped signing.
    pub retired_at: Option<i64>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl Db {
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        sqlx::query_as(
            "SELECT kid, alg, private_der, public_x, public_y, state, created_at, activated_at,
                    retired_at
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// Stores a new key unless one in the same state already exists (there is at most one
    /// `current` and one `next`, and another instance may have just created it); `true` if
    /// this one was stored.
    pub async fn insert_signing_key(&self, key: &StoredKey) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO signing_keys
                 (kid, alg, private_der, public_x, public_y, state, created_at, activated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_der)
        .bind(&key.public_x)
        .bind(&key.public_y)
        .bind(&key.state)
        .bind(key.created_at)
        .bind(key.activated_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Retires `current`, promotes `next` and stores `new_next`, all at once; `false` (and no
    /// change) if either key is no longer in the state the caller saw, which means another
    /// instance or an operator rotated first.
    pub async fn rotate_signing_keys(
        &self,
        current: &str,
        next: &str,
        new_next: &StoredKey,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let retired = sqlx::query(
            "UPDATE signing_keys SET state = 'retired', retired_at = ?
             WHERE kid = ? AND state = 'current'",
        )
        .bind(now)
        .bind(current)
        .execute(&mut *tx)
        .await?;
        let promoted = sqlx::query(
            "UPDATE signing_keys SET state = 'current', activated_at = ?
             WHERE kid = ? AND state = 'next'",
        )
        .bind(now)
        .bind(next)
        .execute(&mut *tx)
        .await?;
        if retired.rows_affected() != 1 || promoted.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO signing_keys
                 (kid, alg, private_der, public_x, public_y, state, created_at)
             VALUES (?, ?, ?, ?, ?, 'next', ?)",
        )
        .bind(&new_next.kid)
        .bind(&new_next.alg)
        .bind(&new_next.private_der)
        .bind(&new_next.public_x)
        .bind(&new_next.public_y)
        .bind(new_next.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a retired key (private part included); `true` if it was there.
    pub async fn remove_retired_key(&self, kid: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM signing_keys WHERE kid = ? AND state = 'retired'")
            .bind(kid)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
