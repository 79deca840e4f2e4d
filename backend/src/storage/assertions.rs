//! The client assertions already accepted (RFC 7523 §3 item 7: a `jti` is used once) and the
//! DPoP proofs (RFC 9449 §11.1), kept until they expire, in the database so that a replay at
//! another instance is refused too.

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

impl Db {
    /// Records that `client_id` used the assertion whose `jti` hashes to `jti_hash`, valid until
    /// `expires_at`: `false` if it was used before (the insert and the check are one statement,
    /// so two presentations at two instances cannot both pass).
    pub async fn first_use_of_assertion(
        &self,
        client_id: &str,
        jti_hash: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let done = dispatch!(self, |pool| {
            sqlx::query(
            "INSERT INTO client_assertions (client_id, jti_hash, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (client_id, jti_hash) DO NOTHING",
        )
        .bind(client_id)
        .bind(jti_hash)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Forgets assertions that expired before `before`: they are refused for their `exp` alone.
    pub async fn purge_client_assertions(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM client_assertions WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Records the DPoP proof whose key and `jti` hash to `replay_key`, remembered until
    /// `expires_at`: `false` if it was accepted before (one statement, as for assertions).
    pub async fn first_use_of_dpop_proof(
        &self,
        replay_key: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let done = dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO dpop_proofs (replay_key, expires_at) VALUES ($1, $2)
                 ON CONFLICT (replay_key) DO NOTHING",
            )
            .bind(replay_key)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Forgets proofs that expired before `before`: they are refused for their `iat` alone.
    pub async fn purge_dpop_proofs(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM dpop_proofs WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// The secret every instance shares under `name`: `candidate` if none was stored yet (the
    /// first instance's), else the one stored. One insert that keeps the first, then a read.
    pub async fn shared_secret(&self, name: &str, candidate: &str) -> Result<String> {
        dispatch!(self, |pool| {
            sqlx::query(
                "INSERT INTO shared_secrets (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(candidate)
            .execute(pool)
            .await?;
            let (value,): (String,) =
                sqlx::query_as("SELECT value FROM shared_secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(pool)
                    .await?;
            Ok(value)
        })
    }
}
