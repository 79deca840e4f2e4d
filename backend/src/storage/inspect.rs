//! Reading the database as a whole, for tests and diagnostics: what a request must not have
//! changed, how many rows a table holds, whether the file is sound. The same operations on
//! both databases, so the tests that use them run on either.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Db, Engine, Error, Pool, Result, dispatch};
use crate::clock::Timestamp;

/// A grant and the tokens stored under it, counted.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GrantFamily {
    pub grant_id: String,
    pub refresh_tokens: i64,
    pub unused_refresh_tokens: i64,
    pub access_tokens: i64,
}

/// An order row as stored, with its product's name and current price if the product exists.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredOrder {
    pub id: i64,
    pub owner: String,
    pub client_id: String,
    pub product_id: i64,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub created_at: Timestamp,
    pub product_name: Option<String>,
    pub product_price_cents: Option<i64>,
}

impl Db {
    /// Opens an existing database to look at it, without migrating or writing anything: a
    /// SQLite file read-only, exactly as a killed server left it (its write-ahead log is read,
    /// not checkpointed); a PostgreSQL database as usual.
    pub async fn open_for_inspection(url: &str) -> Result<Self> {
        let pool = match Engine::of_url(url) {
            Some(Engine::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)?.read_only(true);
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await?,
                )
            }
            Some(Engine::Postgres) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(PgConnectOptions::from_str(url)?)
                    .await?,
            ),
            None => return Err(Error::Database(format!("{url:?} is not a database URL"))),
        };
        // Never synced, so every token check here asks the database.
        Ok(Self::new(pool, std::time::Duration::from_secs(1)))
    }

    /// Deletes the record that migration `version` was applied (not what it did): to the
    /// servers on this database, the schema now lacks it.
    pub async fn forget_migration(&self, version: i64) -> Result<()> {
        dispatch!(self, |pool| sqlx::query(
            "DELETE FROM _sqlx_migrations WHERE version = $1"
        )
        .bind(version)
        .execute(pool)
        .await
        .map(drop))?;
        Ok(())
    }

    /// Every row of `table`, each as one line of its columns' values in text (`∅` for NULL),
    /// sorted, leaving out the columns named in `except`: two snapshots are equal exactly
    /// when no row was added, removed or changed. `table` must be one of this schema's tables.
    pub async fn snapshot(&self, table: &str, except: &[&str]) -> Result<String> {
        if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::Database(format!("{table:?} is not a table name")));
        }
        let columns: Vec<String> = dispatch!(self, |pool, engine| {
            let sql = match engine {
                Engine::Sqlite => "SELECT name FROM pragma_table_info($1) ORDER BY cid",
                Engine::Postgres => {
                    "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position"
                }
            };
            sqlx::query_scalar(sql).bind(table).fetch_all(pool).await?
        });
        let columns: Vec<String> = columns
            .into_iter()
            .filter(|c| !except.contains(&c.as_str()))
            .collect();
        if columns.is_empty() {
            return Err(Error::Database(format!("there is no table {table:?}")));
        }
        // Binary columns as hex (SQLite would otherwise hand back bytes that are not text;
        // PostgreSQL writes `bytea` as hex itself).
        let as_text = |c: &String| match self.engine() {
            Engine::Sqlite => format!(
                "coalesce(CASE WHEN typeof({c}) = 'blob' THEN hex({c}) ELSE CAST({c} AS TEXT) END, '∅')"
            ),
            Engine::Postgres => format!("coalesce(CAST({c} AS TEXT), '∅')"),
        };
        let row = columns
            .iter()
            .map(as_text)
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT {row} FROM {table} ORDER BY 1");
        let rows: Vec<String> =
            dispatch!(self, |pool| sqlx::query_scalar(&sql).fetch_all(pool).await)?;
        Ok(rows.join("\n"))
    }

    /// How many rows `table` holds (`table` must be one of this schema's tables).
    pub async fn count(&self, table: &str) -> Result<i64> {
        if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::Database(format!("{table:?} is not a table name")));
        }
        let sql = format!("SELECT count(*) FROM {table}");
        Ok(dispatch!(self, |pool| sqlx::query_scalar(&sql)
            .fetch_one(pool)
            .await)?)
    }

    /// Every grant with the number of refresh tokens (all, and unused) and access tokens
    /// stored under it: a crash must never leave a family without exactly one unused refresh
    /// token, or with a refresh token whose access token was not stored with it.
    pub async fn grant_families(&self) -> Result<Vec<GrantFamily>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT g.id AS grant_id,
                    (SELECT count(*) FROM refresh_tokens r WHERE r.grant_id = g.id)
                        AS refresh_tokens,
                    (SELECT count(*) FROM refresh_tokens r
                     WHERE r.grant_id = g.id AND r.used_at IS NULL) AS unused_refresh_tokens,
                    (SELECT count(*) FROM access_tokens a WHERE a.grant_id = g.id)
                        AS access_tokens
             FROM grants g ORDER BY g.id",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// How many authorization codes name a grant that is not stored.
    pub async fn codes_naming_missing_grants(&self) -> Result<i64> {
        Ok(dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT count(*) FROM authorization_codes c
             WHERE c.grant_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = c.grant_id)",
        )
        .fetch_one(pool)
        .await)?)
    }

    /// Every order, whoever placed it, with its product as it is now.
    pub async fn all_orders(&self) -> Result<Vec<StoredOrder>> {
        Ok(dispatch!(self, |pool| sqlx::query_as(
            "SELECT o.id, o.owner, o.client_id, o.product_id, o.quantity, o.unit_price_cents,
                    o.created_at, p.name AS product_name, p.price_cents AS product_price_cents
             FROM orders o LEFT JOIN products p ON p.id = o.product_id ORDER BY o.id",
        )
        .fetch_all(pool)
        .await)?)
    }

    /// What the database says is wrong with its own storage: SQLite's `integrity_check` and
    /// `foreign_key_check`; nothing on PostgreSQL, which checks its pages itself.
    pub async fn integrity_problems(&self) -> Result<Vec<String>> {
        dispatch!(self, |pool, engine| {
            if engine == Engine::Postgres {
                return Ok(Vec::new());
            }
            let mut problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_all(pool)
                .await?;
            problems.retain(|p| p != "ok");
            let dangling: Vec<(String,)> =
                sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                    .fetch_all(pool)
                    .await?;
            problems.extend(
                dangling
                    .into_iter()
                    .map(|(table,)| format!("a row of {table} refers to a missing row")),
            );
            Ok(problems)
        })
    }
}

/// Creates an empty database on the PostgreSQL server `admin_url` points to (a role allowed
/// to create databases) and returns its URL: each test gets a database of its own.
pub async fn create_postgres_database(admin_url: &str) -> Result<String> {
    let mut url = url::Url::parse(admin_url).map_err(|e| Error::Database(e.to_string()))?;
    let name = format!(
        "test_{}",
        crate::crypto::random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    url.set_path(&name);
    Ok(url.to_string())
}

/// Takes PostgreSQL's strongest lock on `table` of the database `url` names, in a transaction
/// left open: every statement touching the table waits until the returned connection is
/// dropped (which ends the transaction). To the servers, the database has stalled.
pub async fn lock_postgres_table(url: &str, table: &str) -> Result<sqlx::PgConnection> {
    if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(Error::Database(format!("{table:?} is not a table name")));
    }
    let mut connection = sqlx::PgConnection::connect(url).await?;
    sqlx::query("BEGIN").execute(&mut connection).await?;
    sqlx::query(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .execute(&mut connection)
        .await?;
    Ok(connection)
}

/// Forbids (or allows again) new connections to the PostgreSQL database `url` names and
/// ends the open ones: to the servers using it, the database has gone away. `admin_url` is a
/// connection to another database of the same server.
pub async fn set_postgres_database_reachable(
    admin_url: &str,
    url: &str,
    reachable: bool,
) -> Result<()> {
    let parsed = url::Url::parse(url).map_err(|e| Error::Database(e.to_string()))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::Database(format!("{name:?} is not a database name")));
    }
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    sqlx::query(&format!(
        "ALTER DATABASE {name} ALLOW_CONNECTIONS {reachable}"
    ))
    .execute(&mut admin)
    .await?;
    if !reachable {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&name)
        .execute(&mut admin)
        .await?;
    }
    admin.close().await?;
    Ok(())
}
