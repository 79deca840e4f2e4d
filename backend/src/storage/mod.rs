//! The storage seam: every SQL statement, and the only module that knows `sqlx`.
//!
//! Two databases stand behind the same typed operations: SQLite, the embedded default (one
//! file, no server, one instance), and PostgreSQL, for several instances on one database.
//!
//! # How one set of statements serves both
//!
//! [`Db`] holds a pool of either kind, and each operation is written once: [`dispatch!`] expands
//! its body for each pool, so the compiler checks every statement's bound and decoded types
//! against both drivers, and the logic above the seam never sees which database answers. The
//! statements keep to the SQL both databases share (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`, `CASE`); where they differ (locking a row before a decision, the
//! notifications PostgreSQL can send) the body asks [`Engine`] and says why. Rejected
//! alternatives: `sqlx::Any` converts every row into dynamically typed values (a cost on the
//! hottest reads, and type mismatches found at run time instead of compile time); a trait with
//! one implementation per database would write every statement twice.
//!
//! # What the databases guarantee
//!
//! - Single use (codes, refresh tokens, consent tickets, logins of the backend-for-frontend) is
//!   one conditional `UPDATE`/`DELETE … RETURNING`: of two concurrent presentations, on one
//!   instance or two, the database lets exactly one change the row.
//! - Decisions that read before they write (the last administrator, a consent that adds to the
//!   previous one) run in a transaction that locks first: `SELECT … FOR UPDATE` on
//!   PostgreSQL, `BEGIN IMMEDIATE` (the one writer) on SQLite.
//! - Everything a request writes together (a grant and its tokens, a rotation) is one
//!   transaction: an error or a crash leaves all of it or none.
//!
//! Migrations for each database live side by side (`migrations/sqlite`,
//! `migrations/postgres`), embedded in the binary and applied at start-up; on PostgreSQL
//! `sqlx` holds an advisory lock while migrating, so instances starting together on an empty
//! database wait for the first one.

mod api_tokens;
mod assertions;
mod bff;
mod claims;
mod clients;
mod codes;
mod consents;
mod devices;
mod events;
mod grants;
pub mod inspect;
mod issuers;
mod keys;
mod lab_clock;
mod policies;
mod pushed;
mod rate_limits;
mod registrations;
mod revocations;
mod server_scopes;
mod servers;
mod shop;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

use crate::clock::Timestamp;

pub use api_tokens::{ApiTokenRow, NewApiToken};
pub use bff::{BffLogin, BffSessionRow, EndedLogins, RefreshLease};
pub use claims::{ClaimValue, StoredClaim};
pub use clients::{Client, ClientKeys, Lifetimes, NewClient, REGISTERED_PREFIX};
pub use codes::{CodeGrant, NewCode, Redemption};
pub use consents::{ConsentAt, ConsentTicket, ScopeInfo};
pub use devices::{DeviceAnswer, DeviceRequest, DeviceStatus, DeviceVerdict, NewDeviceRequest};
pub use events::{EventQuery, EventRow, Explained};
pub use grants::{
    Created, EndedLogin, FamilyRow, Grant, Issue, LoginOrigin, LoginsToEnd, NewRefreshToken,
    RefreshView, Spent, TokenStatus,
};
pub use issuers::StoredIssuer;
pub use keys::KeyChanges;
pub use keys::{Rotation, StoredKey};
pub use policies::{StoredPolicy, StoredRule};
pub use pushed::{NewPushedRequest, Opening, PushedRequest, Unopened};
pub use rate_limits::Hit;
pub use registrations::InitialAccessToken;
pub use revocations::TokenRef;
pub use servers::{Spaced, StoredServer};
pub use shop::NewOrderRow;
pub use users::{Attributes, NewUser, User, UserChanges, UserUpdated};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a [`Db`] speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a URL names: `sqlite:` or `postgres://`/`postgresql://`.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }

    /// How a transaction that reads before it writes starts. SQLite's default (`DEFERRED`)
    /// takes the write lock only at the first write, and fails rather than waits when another
    /// connection wrote in between; `IMMEDIATE` takes it at once, so the reads inside see what
    /// the writes will be checked against. PostgreSQL locks the rows it reads instead
    /// ([`Engine::for_update`]).
    fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// The suffix that locks the rows a `SELECT` reads until the transaction ends: PostgreSQL's
    /// `FOR UPDATE`; nothing on SQLite, whose write transaction already excludes other writers.
    fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

/// How to reach the database and how long to wait for it.
#[derive(Clone, Debug)]
pub struct Settings {
    pub url: String,
    /// Connections per instance.
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout`: a statement running longer is cancelled (and the
    /// request answered 503). SQLite has no such limit; its writers wait at most
    /// `acquire_timeout` for the lock.
    pub statement_timeout: Duration,
    /// How often the revocation list is read ([`Db::sync_revocations`]); the copy of it is
    /// trusted for a little over two of these, then the database is asked per token.
    pub revocation_sync: Duration,
}

impl Settings {
    /// The defaults for `url`.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            revocation_sync: Duration::from_secs(1),
        }
    }
}

/// How long a readiness probe waits for the database (its connection, then its statement).
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: Pool,
    /// This instance's copy of the revocation list (see [`Db::token_status`]).
    revoked: Arc<revocations::Replica>,
    /// Clients read recently (see [`Db::client`]).
    clients: Arc<clients::ClientCache>,
    /// One connection of its own for readiness probes (see [`Db::missing_migrations`]), so
    /// that a probe neither waits behind requests nor holds one of theirs; `None` on a handle
    /// opened for inspection, and for an in-memory SQLite database.
    probe: Option<Pool>,
    /// How long each operation took (see [`dispatch`]), for the metrics.
    operations: Histogram,
}

/// Why a storage operation failed, as the code above the seam needs to tell cases apart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database did not answer in time, or the connection to it failed: nothing was
    /// changed (or the change was rolled back), and the same request may succeed shortly.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness constraint refused the write; the constraint is named.
    #[error("conflicts with a stored record ({0})")]
    Conflict(String),
    /// The record to change does not exist.
    #[error("no such record")]
    NotFound,
    /// A stored value does not read back as its type (a row written by hand, or a bug).
    #[error("a stored value could not be read: {0}")]
    Corrupt(String),
    /// A value the database cannot store or compare (PostgreSQL takes no NUL character in
    /// text): the request's input is at fault, and nothing was written.
    #[error("a value contains a character the database cannot store")]
    Invalid,
    /// Any other failure of the database.
    #[error("database error: {0}")]
    Database(String),
}

impl Error {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Sorts the error into what every boundary answers differently; an unavailable database
    /// is logged here, once for all of them.
    pub fn triage(self) -> Failure {
        match self {
            Self::Invalid => Failure::Input,
            Self::Unavailable(_) => {
                tracing::warn!(error = %self, "database unavailable");
                Failure::Unavailable
            }
            other => Failure::Internal(other),
        }
    }
}

/// A storage error as the code above the seam answers it.
#[derive(Debug)]
pub enum Failure {
    /// The request's input holds what no field may ([`NUL_REFUSED`]): 400, nothing written.
    Input,
    /// The database is not answering: 503 with `Retry-After` ([`UNAVAILABLE_RETRY_SECS`]);
    /// the request may succeed shortly.
    Unavailable,
    /// Anything else: 500, logged by the boundary with what it was doing.
    Internal(Error),
}

/// What a developer is told when the input holds a NUL character (PostgreSQL stores none,
/// so neither database is given one).
pub const NUL_REFUSED: &str = "the request contains a NUL character, which no field may hold";

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e.to_string()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
                Self::Corrupt(e.to_string())
            }
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) => {
                if db.kind() == ErrorKind::UniqueViolation {
                    let named = db
                        .constraint()
                        .map(str::to_owned)
                        .unwrap_or_else(|| db.message().to_owned());
                    return Self::Conflict(named);
                }
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // 22021 and 22P05: a character the database cannot take (a NUL in text).
                if matches!(code.as_str(), "22021" | "22P05") {
                    return Self::Invalid;
                }
                // PostgreSQL: class 08 (connection exception), 57P01-57P04 (the server is
                // shutting down, starting, or dropped the database), 57014 (statement
                // timeout), 53300 (too many connections), class 28 and 3D000 (the database or
                // its credentials are gone), 55000 when the database refuses connections,
                // 25006 (connected to a read-only standby during a failover), 40001 and 40P01
                // (a serialization failure or deadlock: the same request may succeed). SQLite
                // (extended result codes, shorter than PostgreSQL's five characters): the BUSY
                // and LOCKED families, 5 and 6 in the low byte (busy past the busy timeout).
                let sqlite_busy =
                    code.len() < 5 && code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
                let unavailable = sqlite_busy
                    || code.starts_with("08")
                    || code.starts_with("28")
                    || matches!(
                        code.as_str(),
                        "57P01"
                            | "57P02"
                            | "57P03"
                            | "57P04"
                            | "57014"
                            | "53300"
                            | "3D000"
                            | "25006"
                            | "40001"
                            | "40P01"
                    )
                    || (code == "55000" && db.message().contains("accepting connections"));
                if unavailable {
                    Self::Unavailable(db.message().to_owned())
                } else {
                    Self::Database(db.to_string())
                }
            }
            other => Self::Database(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Seconds a caller is asked to wait (`Retry-After`) when the database is unavailable: about
/// what a restart or a failover of PostgreSQL takes.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// Times are stored as Unix seconds in a 64-bit integer column, on both databases.
impl<DB: sqlx::Database> sqlx::Type<DB> for Timestamp
where
    i64: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <i64 as sqlx::Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <i64 as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Timestamp
where
    i64: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        self.unix().encode_by_ref(buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Timestamp
where
    i64: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Timestamp::from_unix(<i64 as sqlx::Decode<'r, DB>>::decode(
            value,
        )?))
    }
}

/// `Ok` if a statement changed exactly one row, else `otherwise`: the row it names is missing
/// ([`Error::NotFound`]), or an insert yielded to an existing one ([`Error::Conflict`]).
fn one_row(changed: u64, otherwise: Error) -> Result<()> {
    if changed == 1 { Ok(()) } else { Err(otherwise) }
}

/// Runs `$body` with `$pool` bound to the pool, once written and compiled for each database.
/// `$engine` names the [`Engine`] inside the body, for the few statements that differ.
macro_rules! dispatch {
    ($db:expr, |$pool:ident| $body:expr) => {{
        let _timed = $crate::storage::Timed::start(&$db.operations);
        match &$db.pool {
            $crate::storage::Pool::Sqlite($pool) => $body,
            $crate::storage::Pool::Postgres($pool) => $body,
        }
    }};
    ($db:expr, |$pool:ident, $engine:ident| $body:expr) => {{
        let _timed = $crate::storage::Timed::start(&$db.operations);
        match &$db.pool {
            $crate::storage::Pool::Sqlite($pool) => {
                let $engine = $crate::storage::Engine::Sqlite;
                $body
            }
            $crate::storage::Pool::Postgres($pool) => {
                let $engine = $crate::storage::Engine::Postgres;
                $body
            }
        }
    }};
}
use dispatch;

/// Observes, when dropped, how long it lived in a histogram: an operation timed this way is
/// counted however it ends (`?` included).
pub struct Timed<'a> {
    histogram: &'a Histogram,
    started: std::time::Instant,
}

impl<'a> Timed<'a> {
    pub fn start(histogram: &'a Histogram) -> Self {
        Self {
            histogram,
            started: std::time::Instant::now(),
        }
    }
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

impl Db {
    /// Opens the database `settings` names (creating a SQLite file if needed) and applies
    /// pending migrations.
    pub async fn connect(settings: &Settings) -> Result<Self> {
        let pool = match Engine::of_url(&settings.url) {
            Some(Engine::Sqlite) => Pool::Sqlite(connect_sqlite(settings).await?),
            Some(Engine::Postgres) => Pool::Postgres(connect_postgres(settings).await?),
            None => {
                return Err(Error::Database(
                    "the database URL must start with sqlite: or postgres://".into(),
                ));
            }
        };
        let mut db = Self::new(pool, settings.revocation_sync);
        db.migrate().await?;
        db.probe = probe_pool(db.engine(), &settings.url)?;
        Ok(db)
    }

    /// A handle on `pool`, whose copy of the revocation list is read every `revocation_sync`.
    fn new(pool: Pool, revocation_sync: Duration) -> Self {
        Self {
            pool,
            revoked: Arc::new(revocations::Replica::new(revocation_sync)),
            clients: Arc::new(clients::ClientCache::new(revocation_sync)),
            probe: None,
            operations: crate::metrics::latency_histogram(),
        }
    }

    async fn migrate(&self) -> Result<()> {
        let done = match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        done.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => Error::from(e),
            other => Error::Database(format!("applying migrations: {other}")),
        })
    }

    /// The migrations this build knows that the database has not applied: none once
    /// [`Db::connect`] has run, unless the schema was changed behind the server's back (or an
    /// older build migrated it since). Read on the readiness probe's own connection, which
    /// waits at most [`PROBE_TIMEOUT`] to be had and (PostgreSQL) for the statement.
    pub async fn missing_migrations(&self) -> Result<Vec<i64>> {
        const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success";
        let applied: Vec<i64> = match self.probe.as_ref().unwrap_or(&self.pool) {
            Pool::Sqlite(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await?,
            Pool::Postgres(pool) => sqlx::query_scalar(SQL).fetch_all(pool).await?,
        };
        let known = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        Ok(known
            .iter()
            .map(|migration| migration.version)
            .filter(|version| !applied.contains(version))
            .collect())
    }

    pub fn engine(&self) -> Engine {
        match &self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// The histogram of how long each storage operation took, waiting for a connection
    /// included (shared with the handle's clones).
    pub fn operations(&self) -> Histogram {
        self.operations.clone()
    }

    /// The request pool's connections: (in use, idle, most it opens).
    pub fn pool_connections(&self) -> (i64, i64, i64) {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
            Pool::Postgres(pool) => (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ),
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        // Two reads a moment apart: never report fewer than none in use.
        ((i64::from(size) - idle).max(0), idle, i64::from(max))
    }

    /// Waits until in-flight statements finish and closes every connection.
    pub async fn close(&self) {
        match &self.probe {
            Some(Pool::Sqlite(pool)) => pool.close().await,
            Some(Pool::Postgres(pool)) => pool.close().await,
            None => {}
        }
        dispatch!(self, |pool| pool.close().await)
    }
}

/// The readiness probes' pool: one connection, opened when a probe first needs it (so neither
/// the start nor the command line waits for it), which waits at most [`PROBE_TIMEOUT`] to be
/// had and (PostgreSQL) for a statement. `None` for an in-memory SQLite database, which only
/// the main pool can see.
fn probe_pool(engine: Engine, url: &str) -> Result<Option<Pool>> {
    Ok(Some(match engine {
        Engine::Sqlite => {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Ok(None);
            }
            let options = SqliteConnectOptions::from_str(url)?.busy_timeout(PROBE_TIMEOUT);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(PROBE_TIMEOUT)
                    .connect_lazy_with(options),
            )
        }
        Engine::Postgres => {
            let options = postgres_options(url, PROBE_TIMEOUT)?
                .application_name("api-access-management-probe");
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(PROBE_TIMEOUT)
                    .test_before_acquire(true)
                    .connect_lazy_with(options),
            )
        }
    }))
}

async fn connect_sqlite(settings: &Settings) -> Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(&settings.url)?
        .create_if_missing(true)
        .foreign_keys(true)
        // WAL lets readers (every API call) proceed while a writer commits.
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: an acknowledged write (an order, a consumed code) survives a power cut, not
        // only a process crash. Writes are rare next to reads here, so the fsync is cheap.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(settings.acquire_timeout);
    if let Some(path) = options.get_filename().parent()
        && !path.as_os_str().is_empty()
    {
        std::fs::create_dir_all(path)
            .map_err(|e| Error::Database(format!("creating {}: {e}", path.display())))?;
    }
    Ok(SqlitePoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_with(options)
        .await?)
}

/// How this server connects to PostgreSQL: named, with a bound on every statement.
fn postgres_options(url: &str, statement_timeout: Duration) -> Result<PgConnectOptions> {
    let timeout_ms = statement_timeout.as_millis().to_string();
    Ok(PgConnectOptions::from_str(url)?
        .application_name("api-access-management")
        .options([("statement_timeout", timeout_ms.as_str())]))
}

async fn connect_postgres(settings: &Settings) -> Result<PgPool> {
    let options = postgres_options(&settings.url, settings.statement_timeout)?;
    // One connection first, for the real reason when it fails (refused, unknown database,
    // wrong password, TLS), which a pool would only report as a timeout.
    let first = tokio::time::timeout(settings.acquire_timeout, options.connect())
        .await
        .map_err(|_| {
            Error::Unavailable(format!(
                "no answer within {} s",
                settings.acquire_timeout.as_secs()
            ))
        })?;
    first?.close().await?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        // A connection the database dropped (a restart, a failover) is found and replaced
        // before a request gets it.
        .test_before_acquire(true)
        .connect_with(options)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SQLite database at `url` with the migrations before `release` (e.g. "0007") applied,
    /// as an earlier release left it.
    async fn sqlite_as_before(dir: &std::path::Path, url: &str, release: &str) -> SqlitePool {
        let pool = connect_sqlite(&Settings::new(url)).await.unwrap();
        migrated_before(dir, &pool, release).await;
        pool
    }

    /// Applies the migrations before `release` that `pool`'s database has not applied.
    async fn migrated_before(dir: &std::path::Path, pool: &SqlitePool, release: &str) {
        let old = dir.join(format!("migrations-before-{release}"));
        std::fs::create_dir(&old).unwrap();
        for entry in std::fs::read_dir("migrations/sqlite").unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.as_str() < release {
                std::fs::copy(&path, old.join(name)).unwrap();
            }
        }
        Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(pool)
            .await
            .unwrap();
    }

    /// Migration 0029: logins stored before 0027 recorded their origin have none (0027 had
    /// called device logins `authorization_code`); those stored since keep theirs.
    #[tokio::test]
    async fn logins_stored_before_their_origin_was_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = sqlite_as_before(dir.path(), &url, "0027").await;
        let login = |id: &str, created_at: i64| {
            [
                format!(
                    "INSERT INTO grants (id, client_id, user_id, scope, auth_time, created_at,
                         expires_at)
                     VALUES ('{id}', 'tv', 'u1', 'openid', 1, {created_at}, 9999999999)"
                ),
                format!(
                    "INSERT INTO refresh_tokens (token_hash, grant_id, scope, created_at,
                         expires_at)
                     VALUES ('{id}-hash', '{id}', 'openid', {created_at}, 9999999999)"
                ),
            ]
        };
        sqlx::query(
            "INSERT INTO clients (id, name, grant_types, scopes, created_at)
             VALUES ('tv', 'TV', 'urn:ietf:params:oauth:grant-type:device_code', 'openid', 1)",
        )
        .execute(&pool)
        .await
        .unwrap();
        for statement in login("old", 1) {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
        migrated_before(dir.path(), &pool, "0029").await;
        // A device login stored by a build with 0027 (after it ran).
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 1;
        for statement in login("new", since) {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
        sqlx::query(
            "UPDATE grants SET grant_type = 'urn:ietf:params:oauth:grant-type:device_code'
             WHERE id = 'new'",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        let origin = |view: Option<RefreshView>| view.unwrap().origin;
        assert_eq!(
            origin(db.refresh_token("old-hash").await.unwrap()),
            LoginOrigin::Unrecorded
        );
        assert_eq!(
            origin(db.refresh_token("new-hash").await.unwrap()),
            LoginOrigin::Grant(shared::oauth::GrantType::DeviceCode)
        );
    }

    /// A database written by the release before PostgreSQL support (SQLite migrations 0001 to
    /// 0006) is brought forward by 0007 with its data: order times become Unix seconds, and
    /// redirect URIs keep their order.
    #[tokio::test]
    async fn an_existing_sqlite_database_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = sqlite_as_before(dir.path(), &url, "0007").await;
        for statement in [
            "INSERT INTO users (id, username, name, email, password_hash, created_at)
             VALUES ('u1', 'user0', 'U', 'u@example.com', 'x', 1)",
            "INSERT INTO clients (id, name, grant_types, scopes, created_at)
             VALUES ('spa', 'App', 'authorization_code', 'openid', 1)",
            "INSERT INTO client_redirect_uris (client_id, uri) VALUES ('spa', 'https://b.test/cb')",
            "INSERT INTO client_redirect_uris (client_id, uri) VALUES ('spa', 'https://a.test/cb')",
            "INSERT INTO products (id, name, description, price_cents) VALUES (1, 'P', 'd', 100)",
            "INSERT INTO orders (owner, client_id, product_id, quantity, unit_price_cents,
                 created_at)
             VALUES ('u1', 'spa', 1, 2, 100, '2026-11-23T01:44:05Z')",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        let orders = db.orders_of("u1").await.unwrap();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].created_at, "2026-11-23T01:44:05Z");
        assert_eq!(orders[0].total_cents, 200);
        let client = db.client("spa").await.unwrap().unwrap();
        assert_eq!(
            client.redirect_uris,
            ["https://b.test/cb", "https://a.test/cb"],
            "in the order they were stored"
        );
        // New orders get the server's time.
        let placed = db
            .insert_order(
                &NewOrderRow {
                    owner: "u1",
                    client_id: "spa",
                    product_id: 1,
                    quantity: 1,
                },
                crate::clock::Timestamp::from_unix(1_800_000_000),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(placed.created_at, "2027-01-15T08:00:00Z");
    }

    /// Authorization servers stored before access policies existed (migration 0012) get the
    /// default policy, so they go on issuing what they issued (and only that, after 0017).
    #[tokio::test]
    async fn servers_stored_before_access_policies_get_the_default_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = sqlite_as_before(dir.path(), &url, "0012").await;
        sqlx::query(
            "INSERT INTO authorization_servers (id, name, description, audience, signing_alg,
                 created_at)
             VALUES ('orders', 'Orders', '', 'api://orders', 'EdDSA', 1)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        // Migration 0017 keeps what it allowed: client credentials (servers ran no other grant
        // before it), and draws the server's generation.
        let mut upgraded = StoredPolicy::default_policy();
        upgraded.rules[0].grant_types = vec![shared::oauth::GrantType::ClientCredentials];
        assert_eq!(db.access_policies("orders").await.unwrap(), [upgraded]);
        let server = db.authorization_server("orders").await.unwrap().unwrap();
        assert_eq!(server.generation.len(), 32);
        // A server created afterwards gets the default one (every grant), from the code that
        // creates it.
        db.delete_authorization_server("orders", Timestamp::from_unix(0))
            .await
            .unwrap();
        assert!(db.access_policies("orders").await.unwrap().is_empty());
        db.insert_authorization_server(&server).await.unwrap();
        assert_eq!(
            db.access_policies("orders").await.unwrap(),
            [StoredPolicy::default_policy()]
        );
    }

    /// Migration 0018 corrects what 0017 left: an allow rule naming roles keeps every grant
    /// (for users of those roles) rather than becoming an unmatchable client-credentials rule,
    /// and consents at a server belong to its generation.
    #[tokio::test]
    async fn rules_and_consents_left_by_0017_are_corrected() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = sqlite_as_before(dir.path(), &url, "0018").await;
        for statement in [
            "INSERT INTO users (id, username, name, email, password_hash, created_at)
             VALUES ('u1', 'user0', 'U', 'u@example.com', 'x', 1)",
            "INSERT INTO clients (id, name, grant_types, scopes, created_at)
             VALUES ('spa', 'App', 'authorization_code', 'openid', 1)",
            "INSERT INTO authorization_servers (id, name, description, audience, signing_alg,
                 created_at, generation)
             VALUES ('orders', 'Orders', '', 'api://orders', 'EdDSA', 1, 'g1')",
            "INSERT INTO access_policies (server_id, position, name, description, clients)
             VALUES ('orders', 0, 'P', '', '')",
            // As 0017 left them: a role rule made a client-credentials rule, beside a rule it
            // rightly restricted and a deny rule it did not touch.
            "INSERT INTO policy_rules (server_id, policy, position, name, grant_types, roles,
                 decision)
             VALUES ('orders', 0, 0, 'Admins', 'client_credentials', 'admin', 'allow'),
                    ('orders', 0, 1, 'Services', 'client_credentials', '', 'allow'),
                    ('orders', 0, 2, 'Nobody else', '', '', 'deny')",
            "INSERT INTO consents (user_id, client_id, server_id, scope, granted_at)
             VALUES ('u1', 'spa', '', 'openid', 1), ('u1', 'spa', 'orders', 'openid email', 1)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        let policies = db.access_policies("orders").await.unwrap();
        let rules: Vec<_> = policies[0]
            .rules
            .iter()
            .map(|r| (r.name.as_str(), r.grant_types.clone(), r.roles.clone()))
            .collect();
        use shared::admin::Role;
        use shared::oauth::GrantType;
        assert_eq!(
            rules,
            [
                ("Admins", vec![], vec![Role::Admin]),
                ("Services", vec![GrantType::ClientCredentials], vec![]),
                ("Nobody else", vec![], vec![]),
            ]
        );
        let at = |server_id, generation| ConsentAt {
            server_id,
            generation,
        };
        let root = db.consented_scope("u1", "spa", ConsentAt::ROOT).await;
        assert_eq!(root.unwrap().to_string(), "openid");
        let orders = db
            .consented_scope("u1", "spa", at(Some("orders"), Some("g1")))
            .await;
        assert_eq!(orders.unwrap().to_string(), "email openid");
        // Another generation of `orders` has none of it, and a consent given there replaces
        // the old one rather than adding to it.
        let again = at(Some("orders"), Some("g2"));
        assert!(
            db.consented_scope("u1", "spa", again)
                .await
                .unwrap()
                .is_empty()
        );
        let profile = shared::scope::ScopeSet::parse("profile").unwrap();
        db.add_consent("u1", "spa", again, &profile, Timestamp::from_unix(2))
            .await
            .unwrap();
        let now = db.consented_scope("u1", "spa", again).await.unwrap();
        assert_eq!(now.to_string(), "profile");
        let old = db
            .consented_scope("u1", "spa", at(Some("orders"), Some("g1")))
            .await;
        assert!(old.unwrap().is_empty());
    }

    /// Migration 0019: a server stored before scopes were per server keeps offering the
    /// catalogue's scopes, but OpenID Connect's (every server's) and the console's `admin`.
    #[tokio::test]
    async fn servers_stored_before_0019_keep_offering_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let pool = sqlite_as_before(dir.path(), &url, "0019").await;
        for statement in [
            "INSERT INTO authorization_servers (id, name, description, audience, signing_alg,
                 created_at, generation)
             VALUES ('orders', 'Orders', '', 'api://orders', 'EdDSA', 1, 'g1')",
            "INSERT INTO scopes (name, description, consent_required)
             VALUES ('openid', 'Sign in', 0), ('admin', 'The console', 1),
                    ('reports:read', 'Read reports', 1), ('AccessAll', 'Everything', 0)
             ON CONFLICT (name) DO NOTHING",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;

        let db = Db::connect(&Settings::new(&url)).await.unwrap();
        let offered: Vec<(String, bool)> = db
            .server_scopes("orders")
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.name, s.consent_required))
            .collect();
        let expected: Vec<(String, bool)> = db
            .scope_catalogue()
            .await
            .unwrap()
            .into_iter()
            .filter(|s| !shared::scope::OPENID_SCOPES.contains(&s.name.as_str()))
            .filter(|s| s.name != shared::scope::ADMIN)
            .map(|s| (s.name, s.consent_required))
            .collect();
        assert!(
            expected.contains(&("reports:read".into(), true)),
            "{expected:?}"
        );
        assert!(
            expected.contains(&("AccessAll".into(), false)),
            "{expected:?}"
        );
        assert_eq!(offered, expected);
    }
}
