use super::{Db, Result};

/// A login waiting on the consent screen: the authorization request, and who logged in when.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ConsentTicket {
    pub user_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
}

/// A scope as data: what the consent screen says about it, and whether it needs consent.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ScopeInfo {
    pub name: String,
    pub description: String,
    pub consent_required: bool,
}

impl Db {
    /// Stores `t` under the ticket's hash, bound to the hash of the browser's anti-forgery
    /// token.
    pub async fn insert_consent_ticket(
        &self,
        ticket_hash: &str,
        csrf_hash: &str,
        t: &ConsentTicket,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO consent_tickets (ticket_hash, csrf_hash, user_id, client_id, redirect_uri,
                 scope, state, code_challenge, nonce, auth_time, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(ticket_hash)
        .bind(csrf_hash)
        .bind(&t.user_id)
        .bind(&t.client_id)
        .bind(&t.redirect_uri)
        .bind(&t.scope)
        .bind(&t.state)
        .bind(&t.code_challenge)
        .bind(&t.nonce)
        .bind(t.auth_time)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns the ticket if it is still valid and presented by the browser it was
    /// issued to: an answer counts once, and a ticket sent from elsewhere changes nothing.
    pub async fn take_consent_ticket(
        &self,
        ticket_hash: &str,
        csrf_hash: &str,
        now: i64,
    ) -> Result<Option<ConsentTicket>> {
        let ticket: Option<ConsentTicket> = sqlx::query_as(
            "DELETE FROM consent_tickets WHERE ticket_hash = ? AND csrf_hash = ?
             RETURNING user_id, client_id, redirect_uri, scope, state, code_challenge, nonce,
                       auth_time, expires_at",
        )
        .bind(ticket_hash)
        .bind(csrf_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(ticket.filter(|t| t.expires_at > now))
    }

    /// The scopes `user_id` has already let `client_id` have (space-separated).
    pub async fn consented_scope(&self, user_id: &str, client_id: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT scope FROM consents WHERE user_id = ? AND client_id = ?")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope,
                 granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(scope)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every registered scope, by name.
    pub async fn scope_catalogue(&self) -> Result<Vec<ScopeInfo>> {
        sqlx::query_as("SELECT name, description, consent_required FROM scopes ORDER BY name")
            .fetch_all(&self.pool)
            .await
    }

    pub async fn upsert_scope(&self, scope: &ScopeInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO scopes (name, description, consent_required) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET description = excluded.description,
                 consent_required = excluded.consent_required",
        )
        .bind(&scope.name)
        .bind(&scope.description)
        .bind(scope.consent_required)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates a scope; `false` if the name is taken.
    pub async fn insert_scope(&self, scope: &ScopeInfo) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO scopes (name, description, consent_required) VALUES (?, ?, ?)",
        )
        .bind(&scope.name)
        .bind(&scope.description)
        .bind(scope.consent_required)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Changes what is given; `None` if there is no such scope.
    pub async fn update_scope(
        &self,
        name: &str,
        description: Option<&str>,
        consent_required: Option<bool>,
    ) -> Result<Option<ScopeInfo>> {
        sqlx::query_as(
            "UPDATE scopes SET description = coalesce(?, description),
                 consent_required = coalesce(?, consent_required)
             WHERE name = ? RETURNING name, description, consent_required",
        )
        .bind(description)
        .bind(consent_required)
        .bind(name)
        .fetch_optional(&self.pool)
        .await
    }

    /// `false` if there was no such scope.
    pub async fn delete_scope(&self, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM scopes WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn purge_consent_tickets(&self, now: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM consent_tickets WHERE expires_at <= ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
