//! Dynamic client registration (RFC 7591, RFC 7592): the registration access token of each
//! client registered at `/register` (its SHA-256), and the initial access tokens an administrator
//! hands out when registration needs one.

use super::{Db, Error, Result, dispatch, one_row};
use crate::clock::Timestamp;

/// An initial access token as stored (its SHA-256, never the token).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct InitialAccessToken {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Db {
    /// Client `id`'s registration (RFC 7592): the SHA-256 of its registration access token,
    /// and how it was registered (`open`, or an initial access token's id); `None` for a
    /// client not registered at `/register`, one an administrator has changed since, or no
    /// such client.
    pub async fn registration(&self, id: &str) -> Result<Option<(String, Option<String>)>> {
        let row: Option<(Option<String>, Option<String>)> =
            dispatch!(self, |pool| sqlx::query_as(
                "SELECT registration_token_hash, registered_with FROM clients WHERE id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(hash, with)| hash.map(|hash| (hash, with))))
    }

    /// Replaces client `id`'s registration access token, if it is still `old` (RFC 7592 §3:
    /// a new one with each read and update); `false` if another request replaced it first.
    pub async fn rotate_registration_token(&self, id: &str, old: &str, new: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "UPDATE clients SET registration_token_hash = $1
             WHERE id = $2 AND registration_token_hash = $3"
        )
        .bind(new)
        .bind(id)
        .bind(old)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Deletes the initial access tokens expired before `before`; how many.
    pub async fn purge_initial_access_tokens(
        &self,
        before: crate::clock::Timestamp,
    ) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM initial_access_tokens WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }

    pub async fn insert_initial_access_token(&self, token: &InitialAccessToken) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO initial_access_tokens (id, name, token_hash, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
        )
        .bind(&token.id)
        .bind(&token.name)
        .bind(&token.token_hash)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::Conflict("initial_access_tokens.id".into()))
    }

    /// Every initial access token, newest first.
    pub async fn initial_access_tokens(&self) -> Result<Vec<InitialAccessToken>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, token_hash, created_at, expires_at FROM initial_access_tokens
             ORDER BY created_at DESC, id"
        )
        .fetch_all(pool)
        .await)?)
    }

    /// The initial access token whose SHA-256 is `hash`, if there is one (expired or not).
    pub async fn initial_access_token(&self, hash: &str) -> Result<Option<InitialAccessToken>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, name, token_hash, created_at, expires_at FROM initial_access_tokens
             WHERE token_hash = $1"
        )
        .bind(hash)
        .fetch_optional(pool)
        .await)?)
    }

    /// [`Error::NotFound`] if there is no such token.
    pub async fn delete_initial_access_token(&self, id: &str) -> Result<()> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM initial_access_tokens WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::NotFound)
    }
}
