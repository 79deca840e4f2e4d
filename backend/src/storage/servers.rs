use shared::admin::SigningAlg;

use super::policies::{StoredPolicy, insert_policies};
use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// A custom authorization server (see `crate::servers`).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredServer {
    /// In its issuer: `{ISSUER}/oauth2/{id}`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// The `aud` of its access tokens.
    pub audience: String,
    #[sqlx(try_from = "String")]
    pub signing_alg: SigningAlg,
    pub created_at: Timestamp,
}

/// Locks the row of server `$id` until `$tx` (a transaction begun with `$engine.begin_write()`)
/// ends, so that its deletion runs wholly before or after; [`Error::NotFound`] if there is no
/// such server. A `Result<()>`.
macro_rules! lock_server {
    ($tx:expr, $engine:expr, $id:expr) => {{
        let sql = format!(
            "SELECT id FROM authorization_servers WHERE id = $1{}",
            $engine.for_update()
        );
        let found: Option<String> = sqlx::query_scalar(&sql)
            .bind($id)
            .fetch_optional(&mut *$tx)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::NotFound),
        }
    }};
}
pub(super) use lock_server;

impl Db {
    /// Every authorization server, by id.
    pub async fn authorization_servers(&self) -> Result<Vec<StoredServer>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, description, audience, signing_alg, created_at
             FROM authorization_servers ORDER BY id"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The stored server `id`, if there is one.
    pub async fn authorization_server(&self, id: &str) -> Result<Option<StoredServer>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, description, audience, signing_alg, created_at
             FROM authorization_servers WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }

    /// Creates a server with the default access policy ([`StoredPolicy::default_policy`]);
    /// [`Error::Conflict`] if the id is taken. Keys left under its id by a
    /// deleted server of the same id (a key-maintenance round that raced the deletion) are
    /// deleted with it, so the new server never signs with them.
    pub async fn insert_authorization_server(&self, server: &StoredServer) -> Result<()> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "INSERT INTO authorization_servers
                     (id, name, description, audience, signing_alg, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&server.id)
            .bind(&server.name)
            .bind(&server.description)
            .bind(&server.audience)
            .bind(server.signing_alg.as_str())
            .bind(server.created_at)
            .execute(&mut *tx)
            .await?;
            one_row(
                done.rows_affected(),
                Error::Conflict("authorization_servers.id".into()),
            )?;
            sqlx::query("DELETE FROM signing_keys WHERE server_id = $1")
                .bind(&server.id)
                .execute(&mut *tx)
                .await?;
            insert_policies!(tx, &server.id, [StoredPolicy::default_policy()])?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Deletes the keys of servers that no longer exist (left by a key-maintenance round that
    /// raced a deletion); how many.
    pub async fn purge_orphan_keys(&self) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM signing_keys WHERE server_id <> '' AND NOT EXISTS
                 (SELECT 1 FROM authorization_servers s WHERE s.id = signing_keys.server_id)"
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    /// Deletes a server, its signing keys and its policies at once (its tokens no longer verify
    /// anywhere; the policies go by the foreign key's cascade);
    /// [`Error::NotFound`] if there was no such server.
    pub async fn delete_authorization_server(&self, id: &str) -> Result<()> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("DELETE FROM authorization_servers WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(Error::NotFound);
            }
            sqlx::query("DELETE FROM signing_keys WHERE server_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
