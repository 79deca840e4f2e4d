use shared::admin::{KeyState, SigningAlg};

use super::{Db, Error, Pool, Result, dispatch};
use crate::clock::Timestamp;

#[derive(Clone, sqlx::FromRow)]
pub struct StoredKey {
    /// The RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// The authorization server whose key it is; `''` for the root issuer's.
    pub server_id: String,
    #[sqlx(try_from = "String")]
    pub alg: SigningAlg,
    /// PKCS#8; the public key is derived from it.
    pub private_der: Vec<u8>,
    #[sqlx(try_from = "String")]
    pub state: KeyState,
    pub created_at: Timestamp,
    /// When it started signing.
    pub activated_at: Option<Timestamp>,
    /// When it stopped signing.
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("server_id", &self.server_id)
            .field("alg", &self.alg)
            .field("state", &self.state)
            .field("created_at", &self.created_at)
            .field("activated_at", &self.activated_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// One rotation of an algorithm's keys: `current` retires, `next` signs, `new_next` is
/// published.
pub struct Rotation<'a> {
    pub current: &'a str,
    pub next: &'a str,
    pub new_next: &'a StoredKey,
}

/// The PostgreSQL channel on which a change to the signing keys is announced: a trigger on
/// `signing_keys` (migrations/postgres) notifies it for every change, made here, by the
/// command line or by hand, when its transaction commits (and not on rollback). SQLite has no
/// such thing: there, and as a fallback, instances poll.
const CHANNEL: &str = "signing_keys";

/// Notifications that another instance (or the command line) changed the signing keys.
pub struct KeyChanges(sqlx::postgres::PgListener);

impl KeyChanges {
    /// Waits for the next change. An error means the connection was lost (the listener
    /// reconnects on the next call).
    pub async fn next(&mut self) -> Result<()> {
        self.0.recv().await?;
        Ok(())
    }
}

impl Db {
    /// The signing keys of the server `server_id` (`''`: the root issuer).
    pub async fn signing_keys(&self, server_id: &str) -> Result<Vec<StoredKey>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT kid, server_id, alg, private_der, state, created_at, activated_at, retired_at
             FROM signing_keys WHERE server_id = $1 ORDER BY created_at, kid",
        )
        .bind(server_id)
        .fetch_all(pool)
        .await)?)
    }

    /// When the root issuer's oldest current signing key (one per algorithm) started signing
    /// (its creation, if it has no activation time), if there is one: what the metrics need,
    /// without the private keys.
    pub async fn current_key_since(&self) -> Result<Option<Timestamp>> {
        let (since,): (Option<Timestamp>,) = dispatch!(self, |pool| sqlx::query_as(
            "SELECT MIN(COALESCE(activated_at, created_at)) FROM signing_keys
             WHERE state = 'current' AND server_id = ''"
        )
        .fetch_one(pool)
        .await)?;
        Ok(since)
    }

    /// Stores a new key unless one of its server and algorithm in the same state already exists
    /// (there is at most one `current` and one `next` per server and algorithm, and another
    /// instance may have just created it); `true` if this one was stored.
    pub async fn insert_signing_key(&self, key: &StoredKey) -> Result<bool> {
        dispatch!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO signing_keys (kid, server_id, alg, private_der, state, created_at,
                     activated_at, retired_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(&key.kid)
            .bind(&key.server_id)
            .bind(key.alg.as_str())
            .bind(&key.private_der)
            .bind(key.state.as_str())
            .bind(key.created_at)
            .bind(key.activated_at)
            .bind(key.retired_at)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// For each rotation, retires `current`, promotes `next` and stores `new_next`, all in one
    /// transaction; `false` (and no change) if any key is no longer in the state the caller saw,
    /// which means another instance or an operator rotated first. The conditional updates are
    /// what make rotation happen once: on PostgreSQL a second rotation waits for the first
    /// one's row locks, then finds the states changed.
    pub async fn rotate_signing_keys(
        &self,
        rotations: &[Rotation<'_>],
        now: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            for &Rotation {
                current,
                next,
                new_next,
            } in rotations
            {
                let retired = sqlx::query(
                    "UPDATE signing_keys SET state = 'retired', retired_at = $1
                 WHERE kid = $2 AND state = 'current'",
                )
                .bind(now)
                .bind(current)
                .execute(&mut *tx)
                .await?;
                let promoted = sqlx::query(
                    "UPDATE signing_keys SET state = 'current', activated_at = $1
                 WHERE kid = $2 AND state = 'next'",
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
                    "INSERT INTO signing_keys (kid, server_id, alg, private_der, state, created_at)
                 VALUES ($1, $2, $3, $4, 'next', $5)",
                )
                .bind(&new_next.kid)
                .bind(&new_next.server_id)
                .bind(new_next.alg.as_str())
                .bind(&new_next.private_der)
                .bind(new_next.created_at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Promotes a next key to current for an algorithm that has none; `false` if it is no
    /// longer next (another instance promoted it).
    pub async fn activate_signing_key(&self, kid: &str, now: Timestamp) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE signing_keys SET state = 'current', activated_at = $1
             WHERE kid = $2 AND state = 'next'"
        )
        .bind(now)
        .bind(kid)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()));
        match done {
            Ok(done) => Ok(done == 1),
            // The one current key per server and algorithm exists already: someone else won.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a next key (it never signed anything); `true` if it was there, still next.
    pub async fn discard_next_key(&self, kid: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM signing_keys WHERE kid = $1 AND state = 'next'"
        )
        .bind(kid)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes a retired key (private part included); `true` if it was there.
    pub async fn remove_retired_key(&self, kid: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM signing_keys WHERE kid = $1 AND state = 'retired'"
        )
        .bind(kid)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Where the database can announce key changes (PostgreSQL), a subscription to them;
    /// `None` on SQLite, where instances only poll.
    pub async fn key_changes(&self) -> Result<Option<KeyChanges>> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(None);
        };
        // A connection of its own, held for good, outside the pool requests share: the
        // listener must not take one of their connections (all of them, with a pool of one).
        let own = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(pool.options().get_acquire_timeout())
            .connect_lazy_with((*pool.connect_options()).clone());
        let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
        listener.listen(CHANNEL).await.map_err(Error::from)?;
        Ok(Some(KeyChanges(listener)))
    }
}
