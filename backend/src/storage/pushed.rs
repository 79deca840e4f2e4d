//! Pushed authorization requests (RFC 9126): kept under the hash of their `request_uri` from
//! the push until the browser opens them, then for that browser's login form only.

use super::{Db, Result, dispatch};
use crate::clock::Timestamp;

/// A request as pushed and validated, form-encoded, with whose it is.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PushedRequest {
    pub client_id: String,
    /// The authorization server it was pushed to; `None` for the root issuer.
    pub server_id: Option<String>,
    pub server_generation: Option<String>,
    /// The authorization request's parameters, `application/x-www-form-urlencoded`.
    pub params: String,
}

pub struct NewPushedRequest<'a> {
    pub uri_hash: &'a str,
    pub request: &'a PushedRequest,
    pub expires_at: Timestamp,
}

/// Which request, for whom: its `request_uri`'s hash, the client presenting it, the server
/// whose authorization endpoint it was sent to, and the browser (its anti-forgery token's hash).
pub struct Opening<'a> {
    pub uri_hash: &'a str,
    pub client_id: &'a str,
    pub server_id: Option<&'a str>,
    pub server_generation: Option<&'a str>,
    pub csrf_hash: &'a str,
}

/// Why a `request_uri` could not be opened, for a description that says what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unopened {
    /// Never issued, expired and purged, or its client deleted.
    Unknown,
    /// Issued to another client than the one that presents it.
    OtherClient,
    /// Pushed to another authorization server.
    OtherServer,
    /// Its lifetime ended before a browser opened it.
    Expired,
    /// A browser opened it already (RFC 9126 §4: one use).
    Used,
}

const COLUMNS: &str = "client_id, server_id, server_generation, params";
const WHOSE: &str = "uri_hash = $1 AND client_id = $2 AND server_id IS NOT DISTINCT FROM $3
     AND server_generation IS NOT DISTINCT FROM $4";

impl Db {
    pub async fn insert_pushed_request(&self, new: &NewPushedRequest<'_>) -> Result<()> {
        let r = new.request;
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO pushed_requests
                 (uri_hash, client_id, server_id, server_generation, params, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.uri_hash)
        .bind(&r.client_id)
        .bind(&r.server_id)
        .bind(&r.server_generation)
        .bind(&r.params)
        .bind(new.expires_at)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Opens the unexpired, unopened request `o` names for its browser, in one statement (two
    /// browsers, on one instance or two, cannot both open it), and keeps it for that browser
    /// until `keep_until`.
    pub async fn open_pushed_request(
        &self,
        o: &Opening<'_>,
        now: Timestamp,
        keep_until: Timestamp,
    ) -> Result<std::result::Result<PushedRequest, Unopened>> {
        let sql = format!(
            "UPDATE pushed_requests SET csrf_hash = $5, expires_at = $6
             WHERE {WHOSE} AND csrf_hash IS NULL AND expires_at > $7
             RETURNING {COLUMNS}"
        );
        let opened: Option<PushedRequest> = dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(o.uri_hash)
            .bind(o.client_id)
            .bind(o.server_id)
            .bind(o.server_generation)
            .bind(o.csrf_hash)
            .bind(keep_until)
            .bind(now)
            .fetch_optional(pool)
            .await)?;
        if let Some(request) = opened {
            return Ok(Ok(request));
        }
        type Found = (String, Option<String>, Option<String>, Option<String>);
        let found: Option<Found> = dispatch!(self, |pool| sqlx::query_as(
            "SELECT client_id, server_id, server_generation, csrf_hash
             FROM pushed_requests WHERE uri_hash = $1"
        )
        .bind(o.uri_hash)
        .fetch_optional(pool)
        .await)?;
        Ok(Err(match found {
            None => Unopened::Unknown,
            Some((client_id, ..)) if client_id != o.client_id => Unopened::OtherClient,
            Some((_, server_id, generation, _))
                if (server_id.as_deref(), generation.as_deref())
                    != (o.server_id, o.server_generation) =>
            {
                Unopened::OtherServer
            }
            Some((.., Some(_))) => Unopened::Used,
            Some(_) => Unopened::Expired,
        }))
    }

    /// The request `o` names that its browser opened, while its login form lasts: `None` for
    /// any other.
    pub async fn opened_pushed_request(
        &self,
        o: &Opening<'_>,
        now: Timestamp,
    ) -> Result<Option<PushedRequest>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM pushed_requests
             WHERE {WHOSE} AND csrf_hash = $5 AND expires_at > $6"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(o.uri_hash)
            .bind(o.client_id)
            .bind(o.server_id)
            .bind(o.server_generation)
            .bind(o.csrf_hash)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Removes the request `uri_hash` that the browser whose anti-forgery token hashes to
    /// `csrf_hash` opened: its login ends with a code or a consent ticket, which carries what the
    /// login needs from then on. `false` if it was not there (another post of the same form,
    /// at this instance or another, ended it first): one statement, so only one post ends it.
    pub async fn finish_pushed_request(&self, uri_hash: &str, csrf_hash: &str) -> Result<bool> {
        let done = dispatch!(self, |pool| sqlx::query(
            "DELETE FROM pushed_requests WHERE uri_hash = $1 AND csrf_hash = $2"
        )
        .bind(uri_hash)
        .bind(csrf_hash)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        Ok(done == 1)
    }

    /// Forgets requests whose time ended before `before`.
    pub async fn purge_pushed_requests(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM pushed_requests WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}
