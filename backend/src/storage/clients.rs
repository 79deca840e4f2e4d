use shared::oauth::GrantType;
use shared::scope::ScopeSet;

use super::revocations::{LONGEST_ACCESS_TOKEN_SECS, RevocationKind, record_revocation};
use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// A registered OAuth client.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// `None` for a public client (a browser app cannot keep a secret).
    pub secret_hash: Option<String>,
    pub first_party: bool,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// The most it may be granted.
    pub scopes: ScopeSet,
    /// Compared by exact string equality (RFC 9700 §4.1.3), in the order they were given.
    pub redirect_uris: Vec<String>,
    /// Lifetimes in seconds for this client's tokens, or `None` for the server-wide default.
    pub lifetimes: Lifetimes,
    pub created_at: Timestamp,
}

/// Per-client token lifetimes; `None` means the server-wide setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Lifetimes {
    pub access_token_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
    pub refresh_token_absolute_ttl: Option<i64>,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn may_use_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// This client's access-token lifetime in seconds, or `default`.
    pub fn access_token_ttl(&self, default: u64) -> u64 {
        or_default(self.lifetimes.access_token_ttl, default)
    }

    pub fn refresh_token_idle_ttl(&self, default: u64) -> u64 {
        or_default(self.lifetimes.refresh_token_idle_ttl, default)
    }

    pub fn refresh_token_absolute_ttl(&self, default: u64) -> u64 {
        or_default(self.lifetimes.refresh_token_absolute_ttl, default)
    }
}

fn or_default(value: Option<i64>, default: u64) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
}

pub struct NewClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub secret_hash: Option<&'a str>,
    pub first_party: bool,
    pub grant_types: &'a [GrantType],
    pub scopes: &'a ScopeSet,
    pub redirect_uris: &'a [String],
    pub lifetimes: Lifetimes,
}

impl NewClient<'_> {
    fn grant_types(&self) -> String {
        GrantType::join(self.grant_types, " ")
    }
}

/// The row as stored: grant types space-separated, scopes as RFC 6749 §3.3 writes them.
#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    first_party: bool,
    grant_types: String,
    #[sqlx(try_from = "String")]
    scopes: ScopeSet,
    #[sqlx(flatten)]
    lifetimes: Lifetimes,
    created_at: Timestamp,
}

/// A client's row beside one of its redirect URIs (`None` for a client without any).
#[derive(sqlx::FromRow)]
struct ClientWithUri {
    #[sqlx(flatten)]
    client: ClientRow,
    uri: Option<String>,
}

impl ClientRow {
    fn into_client(self, redirect_uris: Vec<String>) -> Result<Client> {
        let grant_types = self
            .grant_types
            .split(' ')
            .map(|g| g.parse::<GrantType>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Corrupt(format!("client {}: {e}", self.id)))?;
        Ok(Client {
            id: self.id,
            name: self.name,
            secret_hash: self.secret_hash,
            first_party: self.first_party,
            grant_types,
            scopes: self.scopes,
            redirect_uris,
            lifetimes: self.lifetimes,
            created_at: self.created_at,
        })
    }
}

const SELECT: &str = "SELECT id, name, secret_hash, first_party, grant_types, scopes,
        access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl, created_at
     FROM clients";

/// Replaces a client's redirect URIs inside the transaction `$tx`, keeping their order.
macro_rules! replace_redirect_uris {
    ($tx:expr, $client_id:expr, $uris:expr) => {{
        sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = $1")
            .bind($client_id)
            .execute(&mut *$tx)
            .await?;
        for (position, uri) in (0_i64..).zip($uris.iter()) {
            sqlx::query(
                "INSERT INTO client_redirect_uris (client_id, uri, position) VALUES ($1, $2, $3)",
            )
            .bind($client_id)
            .bind(uri)
            .bind(position)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Db {
    /// One client with its redirect URIs, in one round trip (every `/token` and `/authorize`
    /// reads one): a row per URI, or one with none.
    pub async fn client(&self, id: &str) -> Result<Option<Client>> {
        let rows: Vec<ClientWithUri> = dispatch!(self, |pool| sqlx::query_as(
            "SELECT c.id, c.name, c.secret_hash, c.first_party, c.grant_types, c.scopes,
                    c.access_token_ttl, c.refresh_token_idle_ttl, c.refresh_token_absolute_ttl,
                    c.created_at, u.uri
             FROM clients c LEFT JOIN client_redirect_uris u ON u.client_id = c.id
             WHERE c.id = $1 ORDER BY u.position",
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        let redirect_uris = rows.iter().filter_map(|r| r.uri.clone()).collect();
        rows.into_iter()
            .next()
            .map(|row| row.client.into_client(redirect_uris))
            .transpose()
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        let sql = format!("{SELECT} ORDER BY id");
        let (rows, uris): (Vec<ClientRow>, Vec<(String, String)>) = dispatch!(self, |pool| {
            let rows = sqlx::query_as(&sql).fetch_all(pool).await?;
            let uris = sqlx::query_as(
                "SELECT client_id, uri FROM client_redirect_uris ORDER BY client_id, position",
            )
            .fetch_all(pool)
            .await?;
            (rows, uris)
        });
        rows.into_iter()
            .map(|row| {
                let mine = uris
                    .iter()
                    .filter(|(client, _)| *client == row.id)
                    .map(|(_, uri)| uri.clone())
                    .collect();
                row.into_client(mine)
            })
            .collect()
    }

    /// Creates a client with its redirect URIs; [`Error::Conflict`] if the id is taken.
    pub async fn insert_client(&self, client: &NewClient<'_>, now: Timestamp) -> Result<()> {
        if self
            .write_client(client, now, "ON CONFLICT (id) DO NOTHING")
            .await?
        {
            Ok(())
        } else {
            Err(Error::Conflict("clients.id".into()))
        }
    }

    /// Creates the client or brings an existing one with the same id to this definition.
    pub async fn upsert_client(&self, client: &NewClient<'_>, now: Timestamp) -> Result<()> {
        self.write_client(
            client,
            now,
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 secret_hash = excluded.secret_hash, first_party = excluded.first_party,
                 grant_types = excluded.grant_types, scopes = excluded.scopes,
                 access_token_ttl = excluded.access_token_ttl,
                 refresh_token_idle_ttl = excluded.refresh_token_idle_ttl,
                 refresh_token_absolute_ttl = excluded.refresh_token_absolute_ttl",
        )
        .await
        .map(drop)
    }

    /// Inserts `client` with its redirect URIs, in one transaction; `on_conflict` says what a
    /// taken id means. `false` if nothing was written.
    async fn write_client(
        &self,
        client: &NewClient<'_>,
        now: Timestamp,
        on_conflict: &str,
    ) -> Result<bool> {
        let sql = format!(
            "INSERT INTO clients (id, name, secret_hash, first_party, grant_types, scopes,
                 created_at, access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) {on_conflict}"
        );
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(&sql)
                .bind(client.id)
                .bind(client.name)
                .bind(client.secret_hash)
                .bind(client.first_party)
                .bind(client.grant_types())
                .bind(client.scopes.to_string())
                .bind(now)
                .bind(client.lifetimes.access_token_ttl)
                .bind(client.lifetimes.refresh_token_idle_ttl)
                .bind(client.lifetimes.refresh_token_absolute_ttl)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            replace_redirect_uris!(tx, client.id, client.redirect_uris);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Rewrites everything but the id, the secret and the creation time, redirect URIs
    /// included, in one transaction; [`Error::NotFound`] if there is no such client.
    pub async fn update_client(&self, client: &NewClient<'_>) -> Result<()> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE clients SET name = $1, first_party = $2, grant_types = $3, scopes = $4,
                     access_token_ttl = $5, refresh_token_idle_ttl = $6,
                     refresh_token_absolute_ttl = $7
                 WHERE id = $8",
            )
            .bind(client.name)
            .bind(client.first_party)
            .bind(client.grant_types())
            .bind(client.scopes.to_string())
            .bind(client.lifetimes.access_token_ttl)
            .bind(client.lifetimes.refresh_token_idle_ttl)
            .bind(client.lifetimes.refresh_token_absolute_ttl)
            .bind(client.id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::NotFound);
            }
            replace_redirect_uris!(tx, client.id, client.redirect_uris);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Replaces a confidential client's secret hash; [`Error::NotFound`] if there is no such
    /// confidential client.
    pub async fn set_client_secret(&self, id: &str, secret_hash: &str) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE clients SET secret_hash = $1 WHERE id = $2 AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::NotFound)
    }

    /// Deletes a client and, by cascade, its redirect URIs, codes, grants (with their refresh
    /// tokens) and consents, and puts it on the revocation list: every access token it was
    /// issued until now is refused, even if a client of the same id is created later.
    /// [`Error::NotFound`] if there was no such client.
    pub async fn delete_client(&self, id: &str, now: Timestamp) -> Result<()> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            one_row(done.rows_affected(), Error::NotFound)?;
            let until = now.plus_secs(LONGEST_ACCESS_TOKEN_SECS);
            record_revocation!(&mut *tx, RevocationKind::Client, id, now, until)?;
            tx.commit().await?;
        });
        self.revoked_here(now).await;
        Ok(())
    }

    /// Every registered scope name, sorted.
    pub async fn scope_names(&self) -> Result<Vec<String>> {
        Ok(dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT name FROM scopes ORDER BY name"
        )
        .fetch_all(pool)
        .await)?)
    }
}
