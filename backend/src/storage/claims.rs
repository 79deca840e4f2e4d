//! The custom claims of custom authorization servers (see `crate::servers::claims`), in order.

use shared::admin::{ClaimToken, UserAttribute};
use shared::scope::ScopeSet;

use super::servers::lock_server;
use super::{Db, Error, Result, dispatch};

/// A custom claim as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredClaim {
    pub name: String,
    /// `None` for always.
    pub scopes: Option<ScopeSet>,
    pub value: ClaimValue,
    pub token: ClaimToken,
}

/// Where a custom claim's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimValue {
    Constant(serde_json::Value),
    User(UserAttribute),
    /// The user's custom attribute of this name.
    Custom(String),
}

impl ClaimValue {
    /// Its three columns: `value` (JSON; `null` for a user's attribute), `user_attribute` and
    /// `custom_attribute`.
    fn columns(&self) -> (String, Option<&str>, Option<&str>) {
        match self {
            Self::Constant(value) => (value.to_string(), None, None),
            Self::User(attribute) => ("null".to_owned(), Some(attribute.as_str()), None),
            Self::Custom(name) => ("null".to_owned(), None, Some(name.as_str())),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    name: String,
    scopes: Option<String>,
    value: String,
    user_attribute: Option<String>,
    custom_attribute: Option<String>,
    token: String,
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
        let value = match (self.user_attribute, self.custom_attribute) {
            (Some(attribute), None) => {
                ClaimValue::User(attribute.parse().map_err(|e| corrupt(&e))?)
            }
            (None, Some(name)) => ClaimValue::Custom(name),
            (None, None) => {
                ClaimValue::Constant(serde_json::from_str(&self.value).map_err(|e| corrupt(&e))?)
            }
            (Some(_), Some(_)) => return Err(corrupt(&"two user attributes")),
        };
        let token = self.token.parse().map_err(|e| corrupt(&e))?;
        Ok(StoredClaim {
            name: self.name,
            scopes,
            value,
            token,
        })
    }
}

impl Db {
    /// The custom claims of server `server_id`, in order.
    pub async fn custom_claims(&self, server_id: &str) -> Result<Vec<StoredClaim>> {
        let rows: Vec<ClaimRow> = dispatch!(self, |pool| {
            sqlx::query_as(
                "SELECT name, scopes, value, user_attribute, custom_attribute, token
             FROM server_claims WHERE server_id = $1 ORDER BY position",
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
                let (value, user_attribute, custom_attribute) = claim.value.columns();
                sqlx::query(
                    "INSERT INTO server_claims
                         (server_id, position, name, scopes, value, user_attribute,
                          custom_attribute, token)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(server_id)
                .bind(position)
                .bind(&claim.name)
                .bind(claim.scopes.as_ref().map(ToString::to_string))
                .bind(value)
                .bind(user_attribute)
                .bind(custom_attribute)
                .bind(claim.token.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
