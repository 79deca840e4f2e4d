use shared::admin::SigningAlg;
use shared::oauth::Audience;

use super::policies::{StoredPolicy, insert_policies};
use super::revocations::LONGEST_ACCESS_TOKEN_SECS;
use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// A custom authorization server (see `crate::servers`).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredServer {
    /// In its issuer: `{ISSUER}/oauth2/{id}`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// The `aud` of its access tokens when a request names no resource (RFC 8707).
    pub audience: String,
    /// The other audiences a request may name with `resource`.
    #[sqlx(try_from = "String")]
    pub extra_audiences: Spaced,
    #[sqlx(try_from = "String")]
    pub signing_alg: SigningAlg,
    pub created_at: Timestamp,
    /// Drawn at random when it is created: a server deleted and created again under its id is
    /// another server to the logins begun at the first (see `AuthServer::owns`).
    pub generation: String,
    /// Its authorization endpoint takes only pushed requests (RFC 9126 §5).
    pub require_pushed_requests: bool,
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

/// Words stored space-separated in one column ('' for none): URIs or names, which hold no
/// space.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Spaced(pub Vec<String>);

impl Spaced {
    pub fn joined(&self) -> String {
        self.0.join(" ")
    }
}

impl Spaced {
    /// Audiences as a token's `aud`; `None` for none.
    pub fn audience(&self) -> Option<Audience> {
        Audience::of(self.0.iter().cloned())
    }
}

impl From<Option<Audience>> for Spaced {
    fn from(audience: Option<Audience>) -> Self {
        Self(
            audience
                .iter()
                .flat_map(|a| a.iter().map(str::to_owned))
                .collect(),
        )
    }
}

impl From<String> for Spaced {
    fn from(raw: String) -> Self {
        Self(
            raw.split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

impl StoredServer {
    /// Every audience it issues tokens for: its default one first.
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.audience.as_str())
            .chain(self.extra_audiences.0.iter().map(String::as_str))
    }
}

impl Db {
    /// Every authorization server, by id.
    pub async fn authorization_servers(&self) -> Result<Vec<StoredServer>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, description, audience, extra_audiences, signing_alg, created_at,
                 generation, require_pushed_requests
             FROM authorization_servers ORDER BY id"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The stored server `id`, if there is one.
    pub async fn authorization_server(&self, id: &str) -> Result<Option<StoredServer>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, description, audience, extra_audiences, signing_alg, created_at,
                 generation, require_pushed_requests
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
                     (id, name, description, audience, extra_audiences, signing_alg, created_at,
                      generation, require_pushed_requests)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(&server.id)
            .bind(&server.name)
            .bind(&server.description)
            .bind(&server.audience)
            .bind(server.extra_audiences.joined())
            .bind(server.signing_alg.as_str())
            .bind(server.created_at)
            .bind(&server.generation)
            .bind(server.require_pushed_requests)
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

    /// Changes the name, description, audiences and pushed-request requirement of server
    /// `server.id` (its signing algorithm and creation time stay); [`Error::NotFound`] if there
    /// is no such server.
    pub async fn update_authorization_server(&self, server: &StoredServer) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "UPDATE authorization_servers
             SET name = $2, description = $3, audience = $4, extra_audiences = $5,
                 require_pushed_requests = $6
             WHERE id = $1"
        )
        .bind(&server.id)
        .bind(&server.name)
        .bind(&server.description)
        .bind(&server.audience)
        .bind(server.extra_audiences.joined())
        .bind(server.require_pushed_requests)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(Error::from)
        .and_then(|rows| one_row(rows, Error::NotFound))
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
    /// anywhere; the policies go by the foreign key's cascade), and ends the logins begun at it:
    /// its grants are revoked and its unspent codes and consent tickets deleted, so that a server
    /// created again under the same id never honours them. [`Error::NotFound`] if there was no
    /// such server.
    pub async fn delete_authorization_server(&self, id: &str, now: Timestamp) -> Result<()> {
        let outcome: Result<()> = dispatch!(self, |pool| {
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
            // Codes first (device codes too): a redemption under way holds its code's row until
            // its grant is written (see `Db::create_grant`), so the grants read below include it.
            for table in [
                "authorization_codes",
                "device_authorizations",
                "consent_tickets",
                "consents",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE server_id = $1"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE grants SET revoked_at = $2, revoked_reason = 'authorization server deleted'
                 WHERE server_id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            // Their access tokens go on the revocation list too: an instance that has not yet
            // seen the deletion still holds the server's keys.
            sqlx::query(
                "INSERT INTO revocations (kind, subject, revoked_at, expires_at)
                 SELECT 'grant', id, $2, $3 FROM grants
                 WHERE server_id = $1 AND revoked_at = $2",
            )
            .bind(id)
            .bind(now)
            .bind(now.plus_secs(LONGEST_ACCESS_TOKEN_SECS))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        });
        outcome?;
        self.revoked_here(now).await;
        Ok(())
    }
}
