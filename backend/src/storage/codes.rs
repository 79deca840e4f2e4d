use shared::pkce::CodeChallenge;
use shared::scope::ScopeSet;

use super::{Db, Result, Spaced, dispatch};
use crate::clock::Timestamp;

/// What an authorization code was issued for (RFC 6749 §4.1.3 checks each of these).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CodeGrant {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    #[sqlx(try_from = "String")]
    pub code_challenge: CodeChallenge,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
    /// The audiences the authorization request named (RFC 8707); empty for none.
    #[sqlx(try_from = "String")]
    pub audiences: Spaced,
    /// The custom authorization server whose `/v1/authorize` issued it; `None` for the root
    /// issuer's.
    pub server_id: Option<String>,
    /// That server's generation (see `StoredServer::generation`).
    pub server_generation: Option<String>,
    /// The DPoP key the request bound the code to (RFC 9449 §10): redeemed only with a proof
    /// by it.
    pub dpop_jkt: Option<String>,
}

pub struct NewCode<'a> {
    pub code_hash: &'a str,
    pub grant: &'a CodeGrant,
}

/// The outcome of presenting a code at the token endpoint.
#[derive(Debug)]
pub enum Redemption {
    /// First presentation: the code is now spent, whatever the caller does next.
    First(Box<CodeGrant>),
    /// It was presented before (RFC 6749 §4.1.2: codes are single-use); `grant` is what its
    /// first redemption produced, if it has produced anything yet. The code is now marked
    /// replayed, so a first redemption still under way issues nothing (see
    /// [`Db::create_grant`]).
    Replayed {
        grant: Option<String>,
    },
    Unknown,
}

const GRANT_COLUMNS: &str = "client_id, user_id, redirect_uri, scope, code_challenge, nonce,
     auth_time, expires_at, audiences, server_id, server_generation, dpop_jkt";

impl Db {
    pub async fn insert_code(&self, code: &NewCode<'_>) -> Result<()> {
        let g = code.grant;
        dispatch!(self, |pool| sqlx::query(
            "INSERT INTO authorization_codes
                 (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce,
                  auth_time, expires_at, audiences, server_id, server_generation, dpop_jkt)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(code.code_hash)
        .bind(&g.client_id)
        .bind(&g.user_id)
        .bind(&g.redirect_uri)
        .bind(g.scope.to_string())
        .bind(g.code_challenge.as_str())
        .bind(&g.nonce)
        .bind(g.auth_time)
        .bind(g.expires_at)
        .bind(g.audiences.joined())
        .bind(&g.server_id)
        .bind(&g.server_generation)
        .bind(&g.dpop_jkt)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Marks the code spent and returns what it was for, in one statement, so that two
    /// concurrent redemptions (on one instance or two) cannot both see it unspent. A code
    /// already spent is marked replayed, in one statement too.
    pub async fn redeem_code(&self, code_hash: &str, now: Timestamp) -> Result<Redemption> {
        let sql = format!(
            "UPDATE authorization_codes SET consumed_at = $1
             WHERE code_hash = $2 AND consumed_at IS NULL
             RETURNING {GRANT_COLUMNS}"
        );
        dispatch!(self, |pool| {
            let granted: Option<CodeGrant> = sqlx::query_as(&sql)
                .bind(now)
                .bind(code_hash)
                .fetch_optional(pool)
                .await?;
            if let Some(grant) = granted {
                return Ok(Redemption::First(Box::new(grant)));
            }
            let seen: Option<Option<String>> = sqlx::query_scalar(
                "UPDATE authorization_codes SET replayed_at = coalesce(replayed_at, $1)
                 WHERE code_hash = $2 RETURNING grant_id",
            )
            .bind(now)
            .bind(code_hash)
            .fetch_optional(pool)
            .await?;
            Ok(match seen {
                Some(grant) => Redemption::Replayed { grant },
                None => Redemption::Unknown,
            })
        })
    }

    /// What the unspent, unexpired code `code_hash` of `client_id` was issued for, without
    /// spending it: a token request the code's server, its resources or its server's policy
    /// refuse is refused before the code is redeemed (what a code is for never changes, so
    /// reading it first decides as reading it at redemption would). `None` for any other code
    /// (redemption then says what is wrong, and spends it): only the code's own client learns
    /// anything without spending it.
    pub async fn unspent_code(
        &self,
        code_hash: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Result<Option<CodeGrant>> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM authorization_codes
             WHERE code_hash = $1 AND client_id = $2 AND expires_at > $3 AND consumed_at IS NULL"
        );
        Ok(dispatch!(self, |pool| sqlx::query_as(&sql)
            .bind(code_hash)
            .bind(client_id)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Forgets codes that expired before `before`. Spent codes are kept a while after their
    /// expiry so that a late replay is still recognised as one.
    pub async fn purge_codes(&self, before: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM authorization_codes WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}
