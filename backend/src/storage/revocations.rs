//! The revocation list: what every instance holds in memory ([`Replica`]) so that checking an
//! access token reads no database, and how it learns what was added.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::{Db, Pool, Result, TokenStatus, dispatch};
use crate::clock::Timestamp;

/// The longest any access token may live (the upper bound of `--access-token-ttl` and of a
/// client's own lifetime) plus the verification leeway: after this, nothing revoked with a
/// grant or a client can still be presented.
pub const LONGEST_ACCESS_TOKEN_SECS: i64 = 86_400 + 30;

/// What a revocation applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationKind {
    /// One access token, by its `jti`.
    Token,
    /// Every access token issued under a grant (its `grant_id` claim).
    Grant,
    /// Every access token of a client issued before the client was deleted.
    Client,
}

impl RevocationKind {
    const ALL: [Self; 3] = [Self::Token, Self::Grant, Self::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Grant => "grant",
            Self::Client => "client",
        }
    }
}

impl TryFrom<String> for RevocationKind {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown revocation kind {s:?}"))
    }
}

/// One row of the list.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Revocation {
    #[sqlx(try_from = "String")]
    pub kind: RevocationKind,
    /// A `jti`, a grant id or a client id.
    pub subject: String,
    pub revoked_at: Timestamp,
    /// After this, no token the row concerns can be valid: it is purged.
    pub expires_at: Timestamp,
}

/// Where a reader of the list stands: the rows before it have been read. Its meaning depends
/// on the database (see the migrations): SQLite's commit-ordered `seq`, or on PostgreSQL the
/// oldest transaction that was still running when the reader last looked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor(i64);

/// Writes a revocation with `$executor` (a pool, or a transaction as `&mut *tx`).
macro_rules! record_revocation {
    ($executor:expr, $kind:expr, $subject:expr, $now:expr, $expires_at:expr) => {
        sqlx::query(
            "INSERT INTO revocations (kind, subject, revoked_at, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(RevocationKind::as_str($kind))
        .bind($subject)
        .bind($now)
        .bind($expires_at)
        .execute($executor)
        .await
    };
}
pub(super) use record_revocation;

impl Db {
    /// The rows committed since `cursor` (every row, from [`Cursor::default`]), and where to
    /// read from next time. A row may come twice (PostgreSQL re-reads from the oldest running
    /// transaction); applying one twice changes nothing.
    async fn revocations_since(&self, cursor: Cursor) -> Result<(Vec<Revocation>, Cursor)> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let rows: Vec<SeqRow> = sqlx::query_as(
                    "SELECT seq, kind, subject, revoked_at, expires_at FROM revocations
                     WHERE seq > $1 ORDER BY seq",
                )
                .bind(cursor.0)
                .fetch_all(pool)
                .await?;
                let next = rows.last().map_or(cursor, |row| Cursor(row.seq));
                Ok((rows.into_iter().map(|row| row.revocation).collect(), next))
            }
            Pool::Postgres(pool) => {
                // Before the read: every transaction older than this had ended, so the read
                // sees all it committed; the ones from here on may still be running.
                let horizon: String =
                    sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")
                        .fetch_one(pool)
                        .await?;
                let rows = sqlx::query_as(
                    "SELECT kind, subject, revoked_at, expires_at FROM revocations
                     WHERE xid >= $1::text::xid8",
                )
                .bind(cursor.0.to_string())
                .fetch_all(pool)
                .await?;
                let next = horizon.parse().map_err(|_| {
                    super::Error::Corrupt(format!("transaction id {horizon:?} is not a number"))
                })?;
                Ok((rows, Cursor(next)))
            }
        }
    }

    /// Whether the list holds a revocation of this token: what [`Replica`] answers from
    /// memory, asked of the database itself when the memory may be behind. A token issued
    /// before grant ids were put in tokens (`grant_id` `None`, `sub` a user) is found by its
    /// recorded grant.
    async fn revocation_status(&self, token: &TokenRef<'_>, leeway: i64) -> Result<TokenStatus> {
        let kind: Option<String> = dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT kind FROM revocations
             WHERE (kind = 'token' AND subject = $1)
                OR (kind = 'grant' AND subject = coalesce($2,
                        (SELECT grant_id FROM access_tokens WHERE jti = $1)))
                OR (kind = 'client' AND subject = $3 AND revoked_at >= $4)
             ORDER BY CASE kind WHEN 'client' THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(token.jti)
        .bind(token.grant_id)
        .bind(token.client_id)
        .bind(token.issued_at.plus_secs(-leeway))
        .fetch_optional(pool)
        .await)?;
        Ok(match kind.as_deref() {
            None => TokenStatus::Live,
            Some("client") => TokenStatus::ClientDeleted,
            Some(_) => TokenStatus::Revoked,
        })
    }

    /// Deletes the rows that no longer concern any valid token.
    pub async fn purge_revocations(&self, now: Timestamp) -> Result<u64> {
        Ok(dispatch!(self, |pool| sqlx::query(
            "DELETE FROM revocations WHERE expires_at < $1"
        )
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?)
    }
}

#[derive(sqlx::FromRow)]
struct SeqRow {
    seq: i64,
    #[sqlx(flatten)]
    revocation: Revocation,
}

/// This instance's copy of the revocation list, kept current by [`Db::sync_revocations`]
/// (every `--revocation-sync-ms`, and right after this instance revokes anything). Checking a
/// token against it costs a few hash lookups; when it has not been brought up to date for
/// longer than it may lag (the database unreachable, say), [`Db::token_status`] asks the
/// database instead, so a revocation is never missed for longer than that.
#[derive(Debug)]
pub(super) struct Replica {
    known: RwLock<Known>,
    /// Held while reading the list, so that reads apply in order.
    cursor: tokio::sync::Mutex<Cursor>,
    /// When the last successful read began, in milliseconds since `epoch`; `u64::MAX` before
    /// the first one or after a failed one.
    synced_ms: AtomicU64,
    epoch: Instant,
    stale_after: Duration,
}

#[derive(Debug, Default)]
struct Known {
    /// `jti` → when the row expires.
    tokens: HashMap<String, Timestamp>,
    /// Grant id → when the row expires.
    grants: HashMap<String, Timestamp>,
    /// Client id → when it was (last) deleted, and when that row expires.
    clients: HashMap<String, (Timestamp, Timestamp)>,
    last_purge: Timestamp,
}

impl Known {
    fn apply(&mut self, row: Revocation) {
        match row.kind {
            RevocationKind::Token => {
                self.tokens.insert(row.subject, row.expires_at);
            }
            RevocationKind::Grant => {
                self.grants.insert(row.subject, row.expires_at);
            }
            RevocationKind::Client => {
                let entry = self
                    .clients
                    .entry(row.subject)
                    .or_insert((row.revoked_at, row.expires_at));
                *entry = (entry.0.max(row.revoked_at), entry.1.max(row.expires_at));
            }
        }
    }

    /// Forgets rows past their expiry, once a minute.
    fn purge(&mut self, now: Timestamp) {
        if now.secs_since(self.last_purge) < 60 {
            return;
        }
        self.last_purge = now;
        self.tokens.retain(|_, until| *until >= now);
        self.grants.retain(|_, until| *until >= now);
        self.clients.retain(|_, (_, until)| *until >= now);
    }

    fn status(&self, token: &TokenRef<'_>, leeway: i64) -> TokenStatus {
        let deleted = self
            .clients
            .get(token.client_id)
            .is_some_and(|(at, _)| *at >= token.issued_at.plus_secs(-leeway));
        if deleted {
            TokenStatus::ClientDeleted
        } else if self.tokens.contains_key(token.jti)
            || token.grant_id.is_some_and(|g| self.grants.contains_key(g))
        {
            TokenStatus::Revoked
        } else {
            TokenStatus::Live
        }
    }
}

/// What the revocation list is checked against: an access token's `jti`, `grant_id`,
/// `client_id` and `iat`.
#[derive(Clone, Copy, Debug)]
pub struct TokenRef<'a> {
    pub jti: &'a str,
    /// `None` for client credentials, and for tokens issued before grant ids were in tokens.
    pub grant_id: Option<&'a str>,
    /// Whether the token was issued to a user (not by client credentials).
    pub for_user: bool,
    pub client_id: &'a str,
    pub issued_at: Timestamp,
}

impl<'a> TokenRef<'a> {
    /// What the revocation list is checked against for a token with `claims`.
    pub fn of(claims: &'a shared::oauth::AccessTokenClaims) -> Self {
        Self {
            jti: &claims.jti,
            grant_id: claims.grant_id.as_deref(),
            // A token exchange's token for a trusted issuer's subject (RFC 8693, `act` and no
            // grant) is no user's login here: nothing of it is in the grants table.
            for_user: claims.sub != claims.client_id
                && !(claims.act.is_some() && claims.grant_id.is_none()),
            client_id: &claims.client_id,
            issued_at: Timestamp::from_unix(claims.iat),
        }
    }
}

impl Replica {
    pub(super) fn new(sync_every: Duration) -> Self {
        Self {
            known: RwLock::default(),
            cursor: tokio::sync::Mutex::new(Cursor::default()),
            synced_ms: AtomicU64::new(u64::MAX),
            epoch: Instant::now(),
            // One read may come late, not two.
            stale_after: sync_every * 2 + Duration::from_millis(500),
        }
    }

    fn fresh(&self) -> bool {
        let synced = self.synced_ms.load(Ordering::Acquire);
        synced != u64::MAX && self.millis() <= synced.saturating_add(millis(self.stale_after))
    }

    fn millis(&self) -> u64 {
        millis(self.epoch.elapsed())
    }
}

fn millis(span: Duration) -> u64 {
    u64::try_from(span.as_millis()).unwrap_or(u64::MAX)
}

impl Db {
    /// Brings this instance's copy of the revocation list up to date with the database, and
    /// forgets what no longer concerns any valid token. On failure the copy counts as stale:
    /// until a read succeeds, [`Db::token_status`] asks the database.
    pub async fn sync_revocations(&self, now: Timestamp) -> Result<()> {
        let replica = &self.revoked;
        let mut cursor = replica.cursor.lock().await;
        let began = replica.millis();
        match self.revocations_since(*cursor).await {
            Ok((rows, next)) => {
                let mut known = replica
                    .known
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                for row in rows {
                    if row.kind == RevocationKind::Client {
                        // Deleted by another instance: not a client to authenticate any more.
                        self.clients.forget(&row.subject);
                    }
                    known.apply(row);
                }
                known.purge(now);
                drop(known);
                *cursor = next;
                replica.synced_ms.store(began, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                replica.synced_ms.store(u64::MAX, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Whether a verified access token has been revoked, with its grant, or with its client:
    /// from this instance's copy of the list (no database read) while it is current, else
    /// from the database.
    pub async fn token_status(&self, token: TokenRef<'_>, leeway: i64) -> Result<TokenStatus> {
        // A user's token without a grant id predates them: its grant is found in the database.
        let legacy = token.for_user && token.grant_id.is_none();
        if !legacy && self.revoked.fresh() {
            let known = self
                .revoked
                .known
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            return Ok(known.status(&token, leeway));
        }
        self.revocation_status(&token, leeway).await
    }

    /// After this instance revoked something: its own copy of the list learns it before the
    /// answer goes out, so the revoked token is refused here at once. A failed read leaves the
    /// copy stale, and the database is asked until the next read succeeds.
    pub(super) async fn revoked_here(&self, now: Timestamp) {
        if let Err(e) = self.sync_revocations(now).await {
            tracing::warn!(error = %e, "reading the revocation list failed; checking tokens against the database");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Settings, inspect};

    fn token(jti: &str) -> TokenRef<'_> {
        TokenRef {
            jti,
            grant_id: Some("g1"),
            for_user: true,
            client_id: "c1",
            issued_at: Timestamp::from_unix(1_000),
        }
    }

    fn row(kind: RevocationKind, subject: &str, at: i64) -> Revocation {
        Revocation {
            kind,
            subject: subject.into(),
            revoked_at: Timestamp::from_unix(at),
            expires_at: Timestamp::from_unix(at + LONGEST_ACCESS_TOKEN_SECS),
        }
    }

    #[test]
    fn a_token_is_revoked_by_its_jti_its_grant_or_its_clients_deletion() {
        let mut known = Known::default();
        assert_eq!(known.status(&token("j1"), 30), TokenStatus::Live);
        known.apply(row(RevocationKind::Token, "j1", 1_100));
        assert_eq!(known.status(&token("j1"), 30), TokenStatus::Revoked);
        assert_eq!(known.status(&token("j2"), 30), TokenStatus::Live);
        known.apply(row(RevocationKind::Grant, "g1", 1_100));
        assert_eq!(known.status(&token("j2"), 30), TokenStatus::Revoked);
        let cc = TokenRef {
            grant_id: None,
            for_user: false,
            ..token("j3")
        };
        assert_eq!(known.status(&cc, 30), TokenStatus::Live);
        // Deleted 40 s before the token was issued: a later client of the same id issued it.
        known.apply(row(RevocationKind::Client, "c1", 960));
        assert_eq!(known.status(&cc, 30), TokenStatus::Live);
        // Deleted within the leeway of its issue, or after: refused.
        known.apply(row(RevocationKind::Client, "c1", 975));
        assert_eq!(known.status(&cc, 30), TokenStatus::ClientDeleted);
        // Rows past their expiry are forgotten.
        known.purge(Timestamp::from_unix(1_100 + LONGEST_ACCESS_TOKEN_SECS + 1));
        assert_eq!(known.status(&token("j1"), 30), TokenStatus::Live);
    }

    async fn open(url: &str, sync_ms: u64) -> Db {
        let mut settings = Settings::new(url);
        settings.revocation_sync = Duration::from_millis(sync_ms);
        Db::connect(&settings).await.unwrap()
    }

    /// Another instance's revocation reaches this one's copy at its next read; until then the
    /// copy is behind, and once it has not been read for longer than it may lag, the database
    /// is asked instead.
    #[tokio::test]
    async fn a_copy_not_read_for_too_long_gives_way_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let here = open(&url, 500).await;
        let there = open(&url, 500).await;
        let trusted_for = Duration::from_millis(2 * 500 + 500);
        let now = Timestamp::from_unix(1_000);
        // Taken before the read: the copy counts as read when its read began.
        let synced = Instant::now();
        here.sync_revocations(now).await.unwrap();
        there
            .revoke_access_token("j1", now.plus_secs(900), now)
            .await
            .unwrap();
        assert_eq!(
            there.token_status(token("j1"), 30).await.unwrap(),
            TokenStatus::Revoked,
            "the revoking instance knows at once"
        );
        let lagging = here.token_status(token("j1"), 30).await.unwrap();
        // (Unless this machine is so slow that the copy is already stale.)
        if synced.elapsed() < trusted_for {
            assert_eq!(
                lagging,
                TokenStatus::Live,
                "the other one learns it at its next read"
            );
        }
        tokio::time::sleep(
            trusted_for.saturating_sub(synced.elapsed()) + Duration::from_millis(100),
        )
        .await;
        assert_eq!(
            here.token_status(token("j1"), 30).await.unwrap(),
            TokenStatus::Revoked,
            "a copy not read for too long is not trusted"
        );
        here.sync_revocations(now).await.unwrap();
        assert!(here.revoked.fresh());
        assert_eq!(
            here.token_status(token("j1"), 30).await.unwrap(),
            TokenStatus::Revoked
        );
    }

    /// PostgreSQL: a revocation whose transaction began before another's but commits after it
    /// is still read (a reader that went by commit order, or by a sequence, would skip it).
    /// Runs where `TEST_POSTGRES_URL` names a server (scripts/test.sh).
    #[tokio::test]
    async fn a_late_commit_is_not_skipped_on_postgres() {
        let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
            eprintln!("skipped: TEST_POSTGRES_URL is not set");
            return;
        };
        let url = inspect::create_postgres_database(&admin).await.unwrap();
        let db = open(&url, 1000).await;
        let now = Timestamp::from_unix(1_000);
        let Pool::Postgres(pool) = &db.pool else {
            unreachable!()
        };
        let mut slow = pool.begin().await.unwrap();
        record_revocation!(
            &mut *slow,
            RevocationKind::Token,
            "late",
            now,
            now.plus_secs(900)
        )
        .unwrap();
        // Committed, and read, while the slow transaction is still open.
        db.revoke_access_token("early", now.plus_secs(900), now)
            .await
            .unwrap();
        assert_eq!(
            db.token_status(token("early"), 30).await.unwrap(),
            TokenStatus::Revoked
        );
        slow.commit().await.unwrap();
        db.sync_revocations(now).await.unwrap();
        assert_eq!(
            db.token_status(token("late"), 30).await.unwrap(),
            TokenStatus::Revoked,
            "the row committed late was skipped"
        );
    }
}
