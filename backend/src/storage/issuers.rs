//! The trusted external issuers (see `crate::issuers`).

use std::collections::BTreeMap;

use shared::admin::ScopeClaim;

use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// A trusted external issuer as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredIssuer {
    pub id: String,
    pub name: String,
    /// Compared exactly with `iss`.
    pub issuer: String,
    pub audience: String,
    /// JWS algorithm names, checked against `shared::admin::EXTERNAL_ALGS` when stored.
    pub algorithms: Vec<String>,
    pub scope_claim: ScopeClaim,
    pub required_claims: BTreeMap<String, String>,
    pub created_at: Timestamp,
}

#[derive(sqlx::FromRow)]
struct IssuerRow {
    id: String,
    name: String,
    issuer: String,
    audience: String,
    algorithms: String,
    scope_claim: String,
    required_claims: String,
    created_at: Timestamp,
}

impl IssuerRow {
    fn into_issuer(self) -> Result<StoredIssuer> {
        let corrupt =
            |e: &dyn std::fmt::Display| Error::Corrupt(format!("trusted issuer {}: {e}", self.id));
        let scope_claim = self.scope_claim.parse().map_err(|e| corrupt(&e))?;
        let required_claims =
            serde_json::from_str(&self.required_claims).map_err(|e| corrupt(&e))?;
        Ok(StoredIssuer {
            algorithms: self
                .algorithms
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
            scope_claim,
            required_claims,
            id: self.id,
            name: self.name,
            issuer: self.issuer,
            audience: self.audience,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str =
    "id, name, issuer, audience, algorithms, scope_claim, required_claims, created_at";

/// `Error::Conflict` naming what is taken, for an insert or update that broke a unique key.
fn taken(e: sqlx::Error) -> Error {
    match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("trusted_issuers.issuer".into()),
        other => other,
    }
}

impl Db {
    /// Every trusted issuer, by id.
    pub async fn trusted_issuers(&self) -> Result<Vec<StoredIssuer>> {
        let sql = format!("SELECT {COLUMNS} FROM trusted_issuers ORDER BY id");
        let rows: Vec<IssuerRow> =
            dispatch!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        rows.into_iter().map(IssuerRow::into_issuer).collect()
    }

    /// The trusted issuer `id`.
    pub async fn trusted_issuer(&self, id: &str) -> Result<Option<StoredIssuer>> {
        let sql = format!("SELECT {COLUMNS} FROM trusted_issuers WHERE id = $1");
        let row: Option<IssuerRow> = dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        row.map(IssuerRow::into_issuer).transpose()
    }

    /// Stores a new trusted issuer; [`Error::Conflict`] if its id or issuer is taken.
    pub async fn insert_trusted_issuer(&self, issuer: &StoredIssuer) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO trusted_issuers
                 (id, name, issuer, audience, algorithms, scope_claim, required_claims, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING"
        )
        .bind(&issuer.id)
        .bind(&issuer.name)
        .bind(&issuer.issuer)
        .bind(&issuer.audience)
        .bind(issuer.algorithms.join(" "))
        .bind(issuer.scope_claim.as_str())
        .bind(required_json(issuer))
        .bind(issuer.created_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(taken)?;
        one_row(done, Error::Conflict("trusted_issuers.id".into()))
    }

    /// Replaces what is stored of the trusted issuer `issuer.id` (all but its creation time);
    /// [`Error::NotFound`] if there is none, [`Error::Conflict`] if another has its issuer.
    pub async fn update_trusted_issuer(&self, issuer: &StoredIssuer) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE trusted_issuers SET name = $2, issuer = $3, audience = $4, algorithms = $5,
                 scope_claim = $6, required_claims = $7
             WHERE id = $1"
        )
        .bind(&issuer.id)
        .bind(&issuer.name)
        .bind(&issuer.issuer)
        .bind(&issuer.audience)
        .bind(issuer.algorithms.join(" "))
        .bind(issuer.scope_claim.as_str())
        .bind(required_json(issuer))
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))
        .map_err(taken)?;
        one_row(done, Error::NotFound)
    }

    /// Deletes the trusted issuer `id`; [`Error::NotFound`] if there was none.
    pub async fn delete_trusted_issuer(&self, id: &str) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM trusted_issuers WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::NotFound)
    }
}

fn required_json(issuer: &StoredIssuer) -> String {
    serde_json::to_string(&issuer.required_claims).unwrap_or_else(|_| "{}".into())
}
