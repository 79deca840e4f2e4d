use shared::scope::ScopeSet;

use super::{Db, Result, now};

/// A registered OAuth client.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// `None` for a public client (a browser app cannot keep a secret).
    pub secret_hash: Option<String>,
    pub first_party: bool,
    /// Grant types it may use, as RFC 6749 names them.
    pub grant_types: Vec<String>,
    /// The most it may be granted.
    pub scopes: ScopeSet,
    /// Compared by exact string equality (RFC 9700 §4.1.3).
    pub redirect_uris: Vec<String>,
    /// Lifetimes in seconds for this client's tokens, or `None` for the server-wide default.
    pub lifetimes: Lifetimes,
    pub created_at: i64,
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

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
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
    pub grant_types: &'a [&'a str],
    pub scopes: &'a str,
    pub redirect_uris: &'a [String],
    pub lifetimes: Lifetimes,
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    first_party: bool,
    grant_types: String,
    scopes: String,
    #[sqlx(flatten)]
    lifetimes: Lifetimes,
    created_at: i64,
}

impl ClientRow {
    fn into_client(self, redirect_uris: Vec<String>) -> Client {
        Client {
            id: self.id,
            name: self.name,
            secret_hash: self.secret_hash,
            first_party: self.first_party,
            grant_types: self.grant_types.split(' ').map(str::to_owned).collect(),
            // Stored scopes were validated when written; an unparsable value grants nothing.
            scopes: ScopeSet::parse(&self.scopes).unwrap_or_default(),
            redirect_uris,
            lifetimes: self.lifetimes,
            created_at: self.created_at,
        }
    }
}

const SELECT: &str = "SELECT id, name, secret_hash, first_party, grant_types, scopes,
        access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl, created_at
     FROM clients";

impl Db {
    pub async fn client(&self, id: &str) -> Result<Option<Client>> {
        let Some(row): Option<ClientRow> = sqlx::query_as(&format!("{SELECT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let redirect_uris =
            sqlx::query_scalar("SELECT uri FROM client_redirect_uris WHERE client_id = ?")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        Ok(Some(row.into_client(redirect_uris)))
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        let rows: Vec<ClientRow> = sqlx::query_as(&format!("{SELECT} ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        let uris: Vec<(String, String)> =
            sqlx::query_as("SELECT client_id, uri FROM client_redirect_uris ORDER BY rowid")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mine = uris
                    .iter()
                    .filter(|(client, _)| *client == row.id)
                    .map(|(_, uri)| uri.clone())
                    .collect();
                row.into_client(mine)
            })
            .collect())
    }

    /// Creates a client; `false` if the id is taken.
    pub async fn insert_client(&self, client: &NewClient<'_>) -> Result<bool> {
        self.write_client(client, "ON CONFLICT (id) DO NOTHING")
            .await
    }

    /// Rewrites everything but the id, the secret and the creation time; `false` if there is no
    /// such client.
    pub async fn update_client(&self, client: &NewClient<'_>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE clients SET name = ?, first_party = ?, grant_types = ?, scopes = ?,
                 access_token_ttl = ?, refresh_token_idle_ttl = ?, refresh_token_absolute_ttl = ?
             WHERE id = ?",
        )
        .bind(client.name)
        .bind(client.first_party)
        .bind(client.grant_types.join(" "))
        .bind(client.scopes)
        .bind(client.lifetimes.access_token_ttl)
        .bind(client.lifetimes.refresh_token_idle_ttl)
        .bind(client.lifetimes.refresh_token_absolute_ttl)
        .bind(client.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        replace_redirect_uris(&mut tx, client.id, client.redirect_uris).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces a confidential client's secret hash; `false` if there is no such confidential
    /// client.
    pub async fn set_client_secret(&self, id: &str, secret_hash: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE clients SET secret_hash = ? WHERE id = ? AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a client and, by cascade, its redirect URIs, codes, grants, refresh tokens and
    /// consents; `false` if there was no such client.
    pub async fn delete_client(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM clients WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates the client or brings an existing one with the same id to this definition.
    pub async fn upsert_client(&self, client: &NewClient<'_>) -> Result<()> {
        self.write_client(
            client,
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
    async fn write_client(&self, client: &NewClient<'_>, on_conflict: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&format!(
            "INSERT INTO clients (id, name, secret_hash, first_party, grant_types, scopes,
                 created_at, access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {on_conflict}"
        ))
        .bind(client.id)
        .bind(client.name)
        .bind(client.secret_hash)
        .bind(client.first_party)
        .bind(client.grant_types.join(" "))
        .bind(client.scopes)
        .bind(now())
        .bind(client.lifetimes.access_token_ttl)
        .bind(client.lifetimes.refresh_token_idle_ttl)
        .bind(client.lifetimes.refresh_token_absolute_ttl)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        replace_redirect_uris(&mut tx, client.id, client.redirect_uris).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn scope_names(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT name FROM scopes ORDER BY name")
            .fetch_all(&self.pool)
            .await
    }
}

async fn replace_redirect_uris(
    tx: &mut sqlx::SqliteConnection,
    client_id: &str,
    uris: &[String],
) -> Result<()> {
    sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = ?")
        .bind(client_id)
        .execute(&mut *tx)
        .await?;
    for uri in uris {
        sqlx::query("INSERT INTO client_redirect_uris (client_id, uri) VALUES (?, ?)")
            .bind(client_id)
            .bind(uri)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
