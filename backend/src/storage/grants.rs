use shared::oauth::GrantType;
use shared::scope::ScopeSet;

use super::revocations::{LONGEST_ACCESS_TOKEN_SECS, RevocationKind, record_revocation};
use super::{Db, Result, Spaced, dispatch};
use crate::clock::Timestamp;

/// What the database says about an access token that verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Live,
    /// Revoked by itself (RFC 7009) or with its grant.
    Revoked,
    /// The client it was issued to was deleted (with its grants), perhaps to be created again.
    ClientDeleted,
}

/// A grant as stored: the root of a refresh-token family.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Grant {
    pub id: String,
    pub client_id: String,
    /// The `sub`: a user id.
    pub user_id: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub auth_time: Timestamp,
    /// The absolute lifetime of the family.
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// The audiences its authorization request named (RFC 8707), which its access tokens are
    /// for unless a request narrows them; empty for none (the issuer's own API).
    #[sqlx(try_from = "String")]
    pub audiences: Spaced,
    /// The custom authorization server it was granted at; `None` for the root issuer.
    pub server_id: Option<String>,
    /// That server's generation (see `StoredServer::generation`).
    pub server_generation: Option<String>,
    /// The DPoP key (its thumbprint) a public client's login is bound to: its refreshes need a
    /// proof by that key (RFC 9449 §5). `None` without DPoP, and for confidential clients.
    pub dpop_jkt: Option<String>,
}

/// What [`Db::create_grant`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    /// The grant and what was issued under it are stored.
    Issued,
    /// Nothing: the code was presented again while it was being redeemed, or the device code
    /// was redeemed by another poll.
    CodeReplayed,
    /// Nothing: the grant's authorization server was deleted (perhaps created again) since
    /// the redemption read it.
    ServerGone,
}

/// What a new grant spends, in the same transaction: an authorization code, or an approved
/// device code (RFC 8628).
#[derive(Clone, Copy, Debug)]
pub enum Spent<'a> {
    /// The hash of an authorization code, which the grant is linked to.
    Code(&'a str),
    /// The hash of a device code whose user allowed it.
    Device(&'a str),
}

impl Spent<'_> {
    /// The grant the login came from, stored with it: its refreshes are decided by the access
    /// policy rules for this grant.
    pub const fn grant_type(self) -> GrantType {
        match self {
            Self::Code(_) => GrantType::AuthorizationCode,
            Self::Device(_) => GrantType::DeviceCode,
        }
    }
}

/// The grant a login came from, as stored with it: its refreshes are decided by the access
/// policy rules for that grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOrigin {
    Grant(GrantType),
    /// A login stored before origins were (migration 0029 cleared the origin 0027 had guessed
    /// for those): it came from a code or a device code, which one is not known.
    Unrecorded,
}

impl TryFrom<Option<String>> for LoginOrigin {
    type Error = shared::UnknownName;
    fn try_from(stored: Option<String>) -> std::result::Result<Self, Self::Error> {
        stored.map_or(Ok(Self::Unrecorded), |name| {
            GrantType::try_from(name).map(Self::Grant)
        })
    }
}

/// Which of a user's logins a logout ends (OpenID Connect RP-Initiated Logout 1.0 §2).
#[derive(Clone, Copy, Debug)]
pub enum LoginsToEnd<'a> {
    /// The login `grant_id` (an ID token's `sid`), if it is the user's at `client_id`.
    One {
        grant_id: &'a str,
        client_id: &'a str,
    },
    /// Every login of the user at `client_id` made by `before` (an ID token without `sid`,
    /// issued then: it names no login made since).
    AtClient {
        client_id: &'a str,
        before: Timestamp,
    },
    /// Every login of the user, at every client.
    Every,
}

/// A login a logout ended: whom to tell (Back-Channel Logout 1.0 §2.5).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct EndedLogin {
    pub grant_id: String,
    pub client_id: String,
    /// The authorization server it was granted at (its issuer signs the logout token); `None`
    /// for the root issuer.
    pub server_id: Option<String>,
    /// The end of its absolute lifetime.
    pub expires_at: Timestamp,
}

/// A refresh token to store: its hash, scope and expiry.
pub struct NewRefreshToken<'a> {
    pub hash: &'a str,
    pub scope: &'a ScopeSet,
    pub expires_at: Timestamp,
}

/// What the token endpoint writes when it issues tokens under a grant.
pub struct Issue<'a> {
    pub grant_id: &'a str,
    pub client_id: &'a str,
    pub access_jti: &'a str,
    pub access_expires_at: Timestamp,
    pub refresh: Option<NewRefreshToken<'a>>,
}

/// A refresh token and its grant, for deciding what a presentation means.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshView {
    pub grant_id: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub client_id: String,
    pub user_id: String,
    pub auth_time: Timestamp,
    pub grant_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
    /// The grant's audiences.
    #[sqlx(try_from = "String")]
    pub audiences: Spaced,
    /// The grant's custom authorization server; `None` for the root issuer.
    pub server_id: Option<String>,
    pub server_generation: Option<String>,
    /// When the grant began (its login's code was redeemed).
    pub grant_created_at: Timestamp,
    /// The grant the login came from (see [`Spent::grant_type`]).
    #[sqlx(try_from = "Option<String>")]
    pub origin: LoginOrigin,
    /// The grant's DPoP key, if its refreshes need a proof by it (see [`Grant::dpop_jkt`]).
    pub dpop_jkt: Option<String>,
}

/// One refresh token of one of a user's logins (or a login without one), for
/// [`Db::families_of`].
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FamilyRow {
    pub grant_id: String,
    pub client_id: String,
    #[sqlx(try_from = "String")]
    pub scope: ScopeSet,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoked_reason: Option<String>,
    /// `None` for a login that holds no refresh token.
    pub token_hash: Option<String>,
    pub token_created_at: Option<Timestamp>,
    pub token_expires_at: Option<Timestamp>,
    pub used_at: Option<Timestamp>,
}

const REFRESH_VIEW: &str =
    "SELECT r.grant_id, r.scope, r.expires_at, r.used_at, g.client_id, g.user_id,
        g.auth_time, g.expires_at AS grant_expires_at, g.revoked_at, r.created_at, g.audiences,
        g.server_id, g.server_generation, g.created_at AS grant_created_at,
        g.grant_type AS origin, g.dpop_jkt
     FROM refresh_tokens r JOIN grants g ON g.id = r.grant_id WHERE r.token_hash = $1";

/// Revokes a user's live grants: `$1` now, `$2` the reason, `$3` the user id.
pub(super) const REVOKE_USER_GRANTS: &str = "UPDATE grants SET revoked_at = $1, revoked_reason = $2
     WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1
     RETURNING id AS grant_id, client_id, server_id, expires_at";

/// Puts on the revocation list every grant of a user whose access tokens may still be valid,
/// after [`REVOKE_USER_GRANTS`] in the same transaction: `$1` now, `$2` the user id, `$3` when
/// the rows may be purged, `$4` [`LONGEST_ACCESS_TOKEN_SECS`]. It sees the grants that update
/// revoked (`revoked_at = $1`), and any committed since (PostgreSQL's next statement sees them),
/// so no grant is marked revoked without its access tokens being listed. A grant past its
/// absolute lifetime issues nothing more, but its last access token may live on.
pub(super) const RECORD_USER_GRANT_REVOCATIONS: &str =
    "INSERT INTO revocations (kind, subject, revoked_at, expires_at)
     SELECT 'grant', id, $1, $3 FROM grants
     WHERE user_id = $2 AND (revoked_at IS NULL OR revoked_at = $1) AND expires_at > $1 - $4";

/// Revokes a user's grants inside the transaction `$tx` (with the reason `$reason`) and puts
/// them on the revocation list; the logins it ended (to be told of it, Back-Channel Logout).
macro_rules! revoke_user_grants {
    ($tx:expr, $user_id:expr, $reason:expr, $now:expr) => {{
        let now: crate::clock::Timestamp = $now;
        let revoked: Vec<super::grants::EndedLogin> =
            sqlx::query_as(super::grants::REVOKE_USER_GRANTS)
                .bind(now)
                .bind($reason)
                .bind($user_id)
                .fetch_all(&mut *$tx)
                .await?;
        sqlx::query(super::grants::RECORD_USER_GRANT_REVOCATIONS)
            .bind(now)
            .bind($user_id)
            .bind(now.plus_secs(super::revocations::LONGEST_ACCESS_TOKEN_SECS))
            .bind(super::revocations::LONGEST_ACCESS_TOKEN_SECS)
            .execute(&mut *$tx)
            .await?;
        revoked
    }};
}
pub(super) use revoke_user_grants;

/// Writes what was issued under a grant inside the transaction `$tx`.
macro_rules! record_issue {
    ($tx:expr, $issue:expr, $now:expr) => {{
        let issue: &Issue<'_> = $issue;
        sqlx::query(
            "INSERT INTO access_tokens (jti, grant_id, client_id, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(issue.access_jti)
        .bind(issue.grant_id)
        .bind(issue.client_id)
        .bind(issue.access_expires_at)
        .execute(&mut *$tx)
        .await?;
        if let Some(refresh) = &issue.refresh {
            sqlx::query(
                "INSERT INTO refresh_tokens (token_hash, grant_id, scope, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(refresh.hash)
            .bind(issue.grant_id)
            .bind(refresh.scope.to_string())
            .bind($now)
            .bind(refresh.expires_at)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Db {
    /// Creates a grant and writes what was issued under it, in one transaction, unless what it
    /// `spent` (the code) has been presented again since it was redeemed, or the
    /// grant's authorization server is gone: then nothing is written. The code is updated
    /// first, so a replay and this transaction take turns on the code's row (PostgreSQL's row
    /// lock, SQLite's one writer): either the replay comes first and nothing is issued, or it
    /// comes after and finds the grant to revoke (RFC 6749 §4.1.2). A server's deletion deletes
    /// its codes before it revokes its grants, so it takes turns with this on the same row: a
    /// grant written first is revoked with the rest, and none is written after. An approved
    /// device code (RFC 8628) is spent the same way: of two polls that both found it approved,
    /// one gets the tokens.
    pub async fn create_grant(
        &self,
        grant: &Grant,
        now: Timestamp,
        issue: &Issue<'_>,
        spent: Spent<'_>,
    ) -> Result<Created> {
        let (spend, hash) = match spent {
            Spent::Code(hash) => (
                "UPDATE authorization_codes SET grant_id = $1
                 WHERE code_hash = $2 AND replayed_at IS NULL",
                hash,
            ),
            Spent::Device(hash) => (
                "UPDATE device_authorizations SET grant_id = $1, status = 'redeemed'
                 WHERE device_code_hash = $2 AND status = 'approved'",
                hash,
            ),
        };
        let origin = spent.grant_type().as_str();
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let linked = sqlx::query(spend)
                .bind(&grant.id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
            if linked.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(Created::CodeReplayed);
            }
            let inserted = sqlx::query(
                "INSERT INTO grants (id, client_id, user_id, scope, auth_time, created_at,
                     expires_at, audiences, server_id, server_generation, grant_type, dpop_jkt)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
                 WHERE $9 IS NULL OR EXISTS (
                     SELECT 1 FROM authorization_servers WHERE id = $9 AND generation = $10)",
            )
            .bind(&grant.id)
            .bind(&grant.client_id)
            .bind(&grant.user_id)
            .bind(grant.scope.to_string())
            .bind(grant.auth_time)
            .bind(now)
            .bind(grant.expires_at)
            .bind(grant.audiences.joined())
            .bind(&grant.server_id)
            .bind(&grant.server_generation)
            .bind(origin)
            .bind(&grant.dpop_jkt)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(Created::ServerGone);
            }
            record_issue!(tx, issue, now);
            tx.commit().await?;
            Ok(Created::Issued)
        })
    }

    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshView>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(REFRESH_VIEW)
            .bind(token_hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// Rotates a refresh token: spends it if, at this instant, it is unused, unexpired, belongs
    /// to `client_id` and its grant is alive, and records what replaces it, in one transaction,
    /// so a crash leaves either the old token usable or the new one stored, never neither.
    /// Returns false, writing nothing, if the token could not be spent. The spend is one
    /// conditional `UPDATE`: of concurrent presentations, on one instance or several, the
    /// database lets exactly one change the row (PostgreSQL makes the others wait for its
    /// commit and then re-check `used_at IS NULL`). With `bind`, a grant not yet bound to a
    /// DPoP key is bound to that one (see [`Grant::dpop_jkt`]), in the same transaction.
    pub async fn rotate_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: Timestamp,
        issue: &Issue<'_>,
        bind: Option<&str>,
    ) -> Result<bool> {
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE refresh_tokens SET used_at = $1
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
                   AND grant_id IN (SELECT id FROM grants
                                    WHERE client_id = $3 AND revoked_at IS NULL
                                      AND expires_at > $1)",
            )
            .bind(now)
            .bind(token_hash)
            .bind(client_id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            if let Some(jkt) = bind {
                sqlx::query("UPDATE grants SET dpop_jkt = $1 WHERE id = $2 AND dpop_jkt IS NULL")
                    .bind(jkt)
                    .bind(issue.grant_id)
                    .execute(&mut *tx)
                    .await?;
            }
            record_issue!(tx, issue, now);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Revokes a grant: its refresh tokens stop working, and it goes on the revocation list
    /// that every instance reads, so its access tokens are refused. Idempotent; the first
    /// reason is kept. `true` when this call revoked it (it was live until now).
    pub async fn revoke_grant(&self, grant_id: &str, reason: &str, now: Timestamp) -> Result<bool> {
        let revoked: bool = dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let revoked = sqlx::query(
                "UPDATE grants SET revoked_at = $1, revoked_reason = $2
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(reason)
            .bind(grant_id)
            .execute(&mut *tx)
            .await?;
            let revoked = revoked.rows_affected() == 1;
            if revoked {
                let until = now.plus_secs(LONGEST_ACCESS_TOKEN_SECS);
                record_revocation!(&mut *tx, RevocationKind::Grant, grant_id, now, until)?;
            }
            tx.commit().await?;
            revoked
        });
        if revoked {
            self.revoked_here(now).await;
        }
        Ok(revoked)
    }

    /// Ends `user_id`'s logins that `which` names and that are live at `now`: they are revoked
    /// (with `reason`) and put on the revocation list, in one transaction, as
    /// [`Db::revoke_grant`] does. A login past its absolute lifetime whose last access token
    /// may still be valid is listed too (as [`RECORD_USER_GRANT_REVOCATIONS`] does). The live
    /// logins it ended, to be told of it; none if they had ended already (a logout sent twice
    /// ends nothing more).
    pub async fn end_logins(
        &self,
        user_id: &str,
        which: LoginsToEnd<'_>,
        reason: &str,
        now: Timestamp,
    ) -> Result<Vec<EndedLogin>> {
        let (grant_id, client_id, before) = match which {
            LoginsToEnd::One {
                grant_id,
                client_id,
            } => (Some(grant_id), Some(client_id), None),
            LoginsToEnd::AtClient { client_id, before } => (None, Some(client_id), Some(before)),
            LoginsToEnd::Every => (None, None, None),
        };
        let ended: Vec<EndedLogin> = dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let ended: Vec<EndedLogin> = sqlx::query_as(
                "UPDATE grants SET revoked_at = $1, revoked_reason = $2
                 WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1 - $7
                   AND ($4 IS NULL OR id = $4) AND ($5 IS NULL OR client_id = $5)
                   AND ($6 IS NULL OR created_at <= $6)
                 RETURNING id AS grant_id, client_id, server_id, expires_at",
            )
            .bind(now)
            .bind(reason)
            .bind(user_id)
            .bind(grant_id)
            .bind(client_id)
            .bind(before)
            .bind(LONGEST_ACCESS_TOKEN_SECS)
            .fetch_all(&mut *tx)
            .await?;
            let until = now.plus_secs(LONGEST_ACCESS_TOKEN_SECS);
            for login in &ended {
                record_revocation!(&mut *tx, RevocationKind::Grant, &login.grant_id, now, until)?;
            }
            tx.commit().await?;
            ended
        });
        if !ended.is_empty() {
            self.revoked_here(now).await;
        }
        Ok(ended
            .into_iter()
            .filter(|login| login.expires_at > now)
            .collect())
    }

    /// Puts one access token on the revocation list, until it expires (it may have been issued
    /// without a grant, as with client credentials: nothing else of it is stored).
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        // Listed once: revoking the same token again adds nothing.
        let added = dispatch!(self, |pool| sqlx::query(
            "INSERT INTO revocations (kind, subject, revoked_at, expires_at)
             SELECT 'token', $1, $2, $3
             WHERE NOT EXISTS (SELECT 1 FROM revocations WHERE kind = 'token' AND subject = $1)",
        )
        .bind(jti)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        if added > 0 {
            self.revoked_here(now).await;
        }
        Ok(())
    }

    /// The `grants` most recent logins of `user_id` at the client `client_id`, newest first, each with its newest `tokens`
    /// refresh tokens, oldest first (one row per token; one row with no token for a login
    /// without any). A family is a chain, each token created when its predecessor was spent, so
    /// within one second the spent come first, in the order they were spent.
    pub async fn families_of(
        &self,
        user_id: &str,
        client_id: &str,
        grants: i64,
        tokens: i64,
    ) -> Result<Vec<FamilyRow>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT g.id AS grant_id, g.client_id, g.scope, g.created_at, g.expires_at,
                 g.revoked_at, g.revoked_reason, r.token_hash, r.created_at AS token_created_at,
                 r.expires_at AS token_expires_at, r.used_at
             FROM (SELECT * FROM grants WHERE user_id = $1 AND client_id = $4
                   ORDER BY created_at DESC, id DESC LIMIT $2) g
             LEFT JOIN (SELECT token_hash, grant_id, created_at, expires_at, used_at,
                            ROW_NUMBER() OVER (PARTITION BY grant_id
                                               ORDER BY created_at DESC, (used_at IS NULL) DESC,
                                                        used_at DESC, token_hash DESC) AS n
                        FROM refresh_tokens
                        WHERE grant_id IN (SELECT id FROM grants
                                           WHERE user_id = $1 AND client_id = $4
                                           ORDER BY created_at DESC, id DESC LIMIT $2)) r
               ON r.grant_id = g.id AND r.n <= $3
             ORDER BY g.created_at DESC, g.id DESC,
                      r.created_at, (r.used_at IS NULL), r.used_at, r.token_hash",
        )
        .bind(user_id)
        .bind(grants)
        .bind(tokens)
        .bind(client_id)
        .fetch_all(pool)
        .await)?)
    }

    /// When the grant `id` was revoked and why, if it was (a refusal's explanation).
    pub async fn grant_revocation(&self, id: &str) -> Result<Option<(Timestamp, Option<String>)>> {
        let row: Option<(Option<Timestamp>, Option<String>)> =
            dispatch!(self, |pool| sqlx::query_as(
                "SELECT revoked_at, revoked_reason FROM grants WHERE id = $1"
            )
            .bind(id)
            .fetch_optional(pool)
            .await)?;
        Ok(row.and_then(|(at, reason)| at.map(|at| (at, reason))))
    }

    pub async fn grant(&self, id: &str) -> Result<Option<Grant>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT id, client_id, user_id, scope, auth_time, expires_at, revoked_at, audiences,
                 server_id, server_generation, dpop_jkt
             FROM grants WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?)
    }
}
