use shared::pkce::CodeChallenge;
use shared::scope::ScopeSet;

use super::{Db, Error, Result, Spaced, dispatch, one_row};
use crate::clock::Timestamp;

/// A login waiting on the consent screen: the authorization request, and who logged in when.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConsentTicket {
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub state: Option<String>,
    #[sqlx(try_from = "String")]
    pub code_challenge: CodeChallenge,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
    /// The audiences the request named (RFC 8707); empty for none.
    #[sqlx(try_from = "String")]
    pub audiences: Spaced,
    /// The custom authorization server the login is at; `None` for the root issuer.
    pub server_id: Option<String>,
    /// That server's generation (see `StoredServer::generation`).
    pub server_generation: Option<String>,
    /// The DPoP key the request bound its code to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
}

/// A scope as data: what the consent screen says about it, and whether it needs consent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScopeInfo {
    pub name: String,
    pub description: String,
    pub consent_required: bool,
}

/// Where a consent was given: the custom authorization server of the login (`None` for the root
/// issuer) and that server's generation. A consent of another generation of the same id is
/// none at all.
#[derive(Clone, Copy, Debug)]
pub struct ConsentAt<'a> {
    pub server_id: Option<&'a str>,
    pub generation: Option<&'a str>,
}

impl ConsentAt<'_> {
    /// The root issuer's.
    pub const ROOT: ConsentAt<'static> = ConsentAt {
        server_id: None,
        generation: None,
    };

    /// The key columns as stored: `''` for the root issuer.
    fn columns(&self) -> (&str, &str) {
        (
            self.server_id.unwrap_or_default(),
            self.generation.unwrap_or_default(),
        )
    }
}

const TICKET_COLUMNS: &str = "user_id, client_id, redirect_uri, scope, state, code_challenge,
     nonce, auth_time, expires_at, audiences, server_id, server_generation, dpop_jkt";

impl Db {
    /// Stores `t` under the ticket's hash, bound to the hash of the browser's anti-forgery
    /// token.
    pub async fn insert_consent_ticket(
        &self,
        ticket_hash: &str,
        csrf_hash: &str,
        t: &ConsentTicket,
    ) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(&format!(
            "INSERT INTO consent_tickets (ticket_hash, csrf_hash, {TICKET_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(ticket_hash)
        .bind(csrf_hash)
        .bind(&t.user_id)
        .bind(&t.client_id)
        .bind(&t.redirect_uri)
        .bind(t.scope.to_string())
        .bind(&t.state)
        .bind(t.code_challenge.as_str())
        .bind(&t.nonce)
        .bind(t.auth_time)
        .bind(t.expires_at)
        .bind(t.audiences.joined())
        .bind(&t.server_id)
        .bind(&t.server_generation)
        .bind(&t.dpop_jkt)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Removes and returns the ticket if it is still valid and presented by the browser it was
    /// issued to: an answer counts once, and a ticket sent from elsewhere changes nothing.
    /// Only a ticket of the login at `server_id` (`None`: the root issuer) is taken: one posted
    /// to another server's consent endpoint stays for its own.
    pub async fn take_consent_ticket(
        &self,
        ticket_hash: &str,
        csrf_hash: &str,
        server_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<ConsentTicket>> {
        let sql = format!(
            "DELETE FROM consent_tickets
             WHERE ticket_hash = $1 AND csrf_hash = $2 AND server_id IS NOT DISTINCT FROM $3
             RETURNING {TICKET_COLUMNS}"
        );
        let ticket: Option<ConsentTicket> = dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(ticket_hash)
            .bind(csrf_hash)
            .bind(server_id)
            .fetch_optional(pool)
            .await)?;
        Ok(ticket.filter(|t| t.expires_at > now))
    }

    /// The scopes `user_id` has already let `client_id` have at `at`.
    pub async fn consented_scope(
        &self,
        user_id: &str,
        client_id: &str,
        at: ConsentAt<'_>,
    ) -> Result<ScopeSet> {
        let (server_id, generation) = at.columns();
        let scope: Option<String> = dispatch!(self, |pool| {
            sqlx::query_scalar(
                "SELECT scope FROM consents
                 WHERE user_id = $1 AND client_id = $2 AND server_id = $3
                     AND server_generation = $4",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(server_id)
            .bind(generation)
            .fetch_optional(pool)
            .await
        })?;
        scope
            .map(|s| ScopeSet::parse(&s).map_err(|e| Error::Corrupt(e.to_string())))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// Adds `scope` to what `user_id` has let `client_id` have at `at`, in one transaction whose
    /// first statement creates or touches the row: that locks it (PostgreSQL makes a concurrent
    /// answer, on any instance, wait for this one's commit; SQLite has one writer), so two
    /// answers arriving together both count. A row left by another generation of the server
    /// is replaced, not added to.
    pub async fn add_consent(
        &self,
        user_id: &str,
        client_id: &str,
        at: ConsentAt<'_>,
        scope: &ScopeSet,
        now: Timestamp,
    ) -> Result<()> {
        let (server_id, generation) = at.columns();
        dispatch!(self, |pool, engine| {
            let mut tx = pool.begin_with(engine.begin_write()).await?;
            let before: String = sqlx::query_scalar(
                "INSERT INTO consents (user_id, client_id, server_id, server_generation, scope,
                     granted_at)
                 VALUES ($1, $2, $3, $4, '', $5)
                 ON CONFLICT (user_id, client_id, server_id)
                 DO UPDATE SET granted_at = excluded.granted_at,
                     scope = CASE WHEN consents.server_generation = excluded.server_generation
                         THEN consents.scope ELSE '' END,
                     server_generation = excluded.server_generation
                 RETURNING scope",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(server_id)
            .bind(generation)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let before = ScopeSet::parse(&before).map_err(|e| Error::Corrupt(e.to_string()))?;
            let all: ScopeSet = before.iter().chain(scope.iter()).collect();
            sqlx::query(
                "UPDATE consents SET scope = $1
                 WHERE user_id = $2 AND client_id = $3 AND server_id = $4",
            )
            .bind(all.to_string())
            .bind(user_id)
            .bind(client_id)
            .bind(server_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every registered scope, by name.
    pub async fn scope_catalogue(&self) -> Result<Vec<ScopeInfo>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT name, description, consent_required FROM scopes ORDER BY name"
        )
        .fetch_all(pool)
        .await)?)
    }

    pub async fn upsert_scope(&self, scope: &ScopeInfo) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO scopes (name, description, consent_required) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 consent_required = excluded.consent_required",
        )
        .bind(&scope.name)
        .bind(&scope.description)
        .bind(scope.consent_required)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Creates a scope; [`Error::Conflict`] if the name is taken.
    pub async fn insert_scope(&self, scope: &ScopeInfo) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO scopes (name, description, consent_required) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(&scope.name)
        .bind(&scope.description)
        .bind(scope.consent_required)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::Conflict("scopes.name".into()))
    }

    /// Changes what is given; [`Error::NotFound`] if there is no such scope.
    pub async fn update_scope(
        &self,
        name: &str,
        description: Option<&str>,
        consent_required: Option<bool>,
    ) -> Result<ScopeInfo> {
        let updated: Option<ScopeInfo> = dispatch!(self, |pool| sqlx::query_as(
            "UPDATE scopes SET description = coalesce($1, description),
                 consent_required = coalesce($2, consent_required)
             WHERE name = $3 RETURNING name, description, consent_required",
        )
        .bind(description)
        .bind(consent_required)
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        updated.ok_or(Error::NotFound)
    }

    /// [`Error::NotFound`] if there was no such scope.
    pub async fn delete_scope(&self, name: &str) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM scopes WHERE name = $1"
        )
        .bind(name)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::NotFound)
    }

    pub async fn purge_consent_tickets(&self, now: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM consent_tickets WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}
