//! All SQL lives here, one file per kind of record, so a second database (PostgreSQL, for
//! deployments with more than one instance) can be added behind the same methods.

mod api_tokens;
mod bff;
mod clients;
mod codes;
mod consents;
mod events;
mod grants;
mod keys;
mod shop;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use api_tokens::{ApiTokenRow, NewApiToken};
pub use bff::{BffLogin, BffSessionRow};
pub use clients::{Client, Lifetimes, NewClient};
pub use codes::{CodeGrant, NewCode, Redemption};
pub use consents::{ConsentTicket, ScopeInfo};
pub use events::{EventQuery, EventRow};
pub use grants::{Grant, Issue, RefreshView};
pub use keys::StoredKey;
pub use shop::NewOrderRow;
pub use users::{NewUser, User, UserChanges};

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
}

pub type Result<T, E = sqlx::Error> = std::result::Result<T, E>;

impl Db {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            // WAL lets readers (every API call) proceed while a writer commits.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged write (an order, a consumed code) survives a power cut, not
            // only a process crash. Writes are rare next to reads here, so the fsync is cheap.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        if let Some(path) = options.get_filename().parent()
            && !path.as_os_str().is_empty()
        {
            std::fs::create_dir_all(path)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
