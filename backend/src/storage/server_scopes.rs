//! The scopes each custom authorization server offers beside OpenID Connect's.

use super::servers::lock_server;
use super::{Db, Error, Result, ScopeInfo, dispatch};

/// A row of `server_scopes`.
#[derive(sqlx::FromRow)]
struct ServerScopeRow {
    server_id: String,
    #[sqlx(flatten)]
    scope: ScopeInfo,
}

impl Db {
    /// The scopes server `server_id` offers of its own, by name (none for an unknown server).
    pub async fn server_scopes(&self, server_id: &str) -> Result<Vec<ScopeInfo>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT name, description, consent_required FROM server_scopes
             WHERE server_id = $1 ORDER BY name"
        )
        .bind(server_id)
        .fetch_all(pool)
        .await)?)
    }

    /// Replaces the scopes of server `server_id` with `scopes`, all at once;
    /// [`Error::NotFound`] if there is no such server.
    pub async fn replace_server_scopes(&self, server_id: &str, scopes: &[ScopeInfo]) -> Result<()> {
        dispatch!(self, |pool, engine| {
            let mut tx = pool.begin_with(engine.begin_write()).await?;
            lock_server!(tx, engine, server_id)?;
            sqlx::query("DELETE FROM server_scopes WHERE server_id = $1")
                .bind(server_id)
                .execute(&mut *tx)
                .await?;
            for scope in scopes {
                sqlx::query(
                    "INSERT INTO server_scopes (server_id, name, description, consent_required)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(server_id)
                .bind(&scope.name)
                .bind(&scope.description)
                .bind(scope.consent_required)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every server's scopes, with the server's id, by name then server.
    pub async fn every_server_scope(&self) -> Result<Vec<(String, ScopeInfo)>> {
        let rows: Vec<ServerScopeRow> = dispatch!(self, |pool| sqlx::query_as(
            "SELECT server_id, name, description, consent_required FROM server_scopes
             ORDER BY name, server_id"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|r| (r.server_id, r.scope)).collect())
    }

    /// Every scope name a client may be allowed: the root issuer's and every server's.
    pub async fn every_scope_name(&self) -> Result<Vec<String>> {
        Ok(dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT name FROM scopes UNION SELECT name FROM server_scopes ORDER BY 1"
        )
        .fetch_all(pool)
        .await)?)
    }
}
