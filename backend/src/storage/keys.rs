use super::{Db, Result, now};

#[derive(Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
    pub public_x: String,
    pub public_y: String,
    pub state: String,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Db {
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        sqlx::query_as(
            "SELECT kid, alg, private_der, public_x, public_y, state FROM signing_keys ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await
    }

    pub async fn insert_signing_key(&self, key: &StoredKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, private_der, public_x, public_y, state, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_der)
        .bind(&key.public_x)
        .bind(&key.public_y)
        .bind(&key.state)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
