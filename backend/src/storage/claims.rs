//! The custom claims of custom authorization servers (see `crate::servers::claims`), in order.

use shared::scope::ScopeSet;

use super::servers::lock_server;
use super::{Db, Error, Result, dispatch};

/// A custom claim as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClaim {
    pub name: String,
    /// `None` for always.
    pub scopes: Option<ScopeSet>,
    pub value: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    name: String,
    scopes: Option<String>,
    value: String,
}

impl ClaimRow {
    fn into_claim(self) -> Result<StoredClaim> {
        let corrupt =
            |e: &dyn std::fmt::Display| Error::Corrupt(format!("claim {}: {e}", self.name));
        let scopes = self
            .scopes
            .as_deref()
            .map(ScopeSet::parse)
            .transpose()
            .map_err(|e| corrupt(&e))?;
        let value = serde_json::from_str(&self.value).map_err(|e| corrupt(&e))?;
        Ok(StoredClaim {
            name: self.name,
            scopes,
            value,
        })
    }
}

impl Db {
    /// The custom claims of server `server_id`, in order.
    pub async fn custom_claims(&self, server_id: &str) -> Result<Vec<StoredClaim>> {
        let rows: Vec<ClaimRow> = dispatch!(self, |pool| {
            sqlx::query_as(
            "SELECT name, scopes, value FROM server_claims WHERE server_id = $1 ORDER BY position"
        )
        .bind(server_id)
        .fetch_all(pool)
        .await
        })?;
        rows.into_iter().map(ClaimRow::into_claim).collect()
    }

    /// Replaces every custom claim of server `server_id` with `claims` at once;
    /// [`Error::NotFound`] if there is no such server (its row is locked first, as for its
    /// policies).
    pub async fn replace_custom_claims(
        &self,
        server_id: &str,
        claims: &[StoredClaim],
    ) -> Result<()> {
        dispatch!(self, |pool, engine| {
            let mut tx = pool.begin_with(engine.begin_write()).await?;
            lock_server!(tx, engine, server_id)?;
            sqlx::query("DELETE FROM server_claims WHERE server_id = $1")
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
            for (position, claim) in (0i32..).zip(claims) {
                sqlx::query(
                    "INSERT INTO server_claims (server_id, position, name, scopes, value)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(server_id)
                .bind(position)
                .bind(&claim.name)
                .bind(claim.scopes.as_ref().map(ToString::to_string))
                .bind(claim.value.to_string())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
