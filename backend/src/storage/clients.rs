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
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

pub struct NewClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub secret_hash: Option<&'a str>,
    pub first_party: bool,
    pub grant_types: &'a [&'a str],
    pub scopes: &'a str,
    pub redirect_uris: &'a [String],
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    first_party: bool,
    grant_types: String,
    scopes: String,
}

impl Db {
    pub async fn client(&self, id: &str) -> Result<Option<Client>> {
        let Some(row): Option<ClientRow> = sqlx::query_as(
            "SELECT id, name, secret_hash, first_party, grant_types, scopes FROM clients WHERE id = ?",
        )
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
        Ok(Some(Client {
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            first_party: row.first_party,
            grant_types: row.grant_types.split(' ').map(str::to_owned).collect(),
            // Stored scopes were validated when written; an unparsable value grants nothing.
            scopes: ScopeSet::parse(&row.scopes).unwrap_or_default(),
            redirect_uris,
        }))
    }

    /// Creates the client or brings an existing one with the same id to this definition.
    pub async fn upsert_client(&self, client: &NewClient<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, first_party, grant_types, scopes, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash,
                 first_party = excluded.first_party, grant_types = excluded.grant_types,
                 scopes = excluded.scopes",
        )
        .bind(client.id)
        .bind(client.name)
        .bind(client.secret_hash)
        .bind(client.first_party)
        .bind(client.grant_types.join(" "))
        .bind(client.scopes)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = ?")
            .bind(client.id)
            .execute(&mut *tx)
            .await?;
        for uri in client.redirect_uris {
            sqlx::query("INSERT INTO client_redirect_uris (client_id, uri) VALUES (?, ?)")
                .bind(client.id)
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    pub async fn upsert_scope(&self, name: &str, description: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO scopes (name, description) VALUES (?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description",
        )
        .bind(name)
        .bind(description)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn scope_names(&self) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT name FROM scopes ORDER BY name")
            .fetch_all(&self.pool)
            .await
    }
}
