//! The administration commands: they open the same database as the server and need no running
//! server (a running one picks key changes up within its reload interval).

use std::fmt::Write as _;

use crate::api::api_token::{self, TokenRequest};
use crate::config::{Command, Config, KeysCommand, TokensCommand};
use crate::events::{Event, EventKind};
use crate::oauth::rotation;
use crate::storage::{Db, EventQuery, now};

/// Runs `command`; what it prints goes to standard output.
pub async fn run(config: &Config, command: &Command) -> anyhow::Result<()> {
    config.check()?;
    let db = Db::connect(&config.database_url.0).await?;
    let out = match command {
        Command::Serve => anyhow::bail!("`serve` is not an administration command"),
        Command::Keys(KeysCommand::List) => keys_table(&db).await?,
        Command::Keys(KeysCommand::Rotate { force }) => {
            let events = rotation::rotate_now(&db, config, *force, now()).await?;
            let rows: Vec<_> = events.into_iter().map(|e| e.into_row()).collect();
            db.insert_events(&rows).await?;
            let mut out = String::from("rotated:\n");
            for row in &rows {
                let _ = writeln!(out, "  {:<14} {}", row.kind, row.detail);
            }
            out.push('\n');
            out.push_str(&keys_table(&db).await?);
            out
        }
        Command::Tokens(command) => tokens(&db, command).await?,
        Command::Events {
            limit,
            kind,
            since,
            json,
        } => {
            let events = db
                .events(&EventQuery {
                    kind: kind.clone(),
                    since: *since,
                    limit: *limit,
                })
                .await?;
            if *json {
                let mut out = String::new();
                for event in &events {
                    out.push_str(&serde_json::to_string(event)?);
                    out.push('\n');
                }
                out
            } else {
                events_table(&events)
            }
        }
    };
    print!("{out}");
    Ok(())
}

async fn tokens(db: &Db, command: &TokensCommand) -> anyhow::Result<String> {
    match command {
        TokensCommand::Create {
            user,
            name,
            scope,
            expires_in_days,
        } => {
            let owner = db
                .user_by_username(user)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no user {user:?}"))?;
            let request = TokenRequest {
                name,
                scope,
                expires_at: expires_in_days.map(|days| now() + days * 86_400),
            };
            let (id, token) = api_token::create(db, &owner, &request)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let event = Event::new(EventKind::ApiTokenCreated)
                .user(&owner.id)
                .detail(format!(
                    "{id} ({name}) from the command line; scope {scope}"
                ));
            db.insert_events(&[event.into_row()]).await?;
            Ok(format!(
                "{token}\n\nThis is the only time the token is shown. Use it as\n  \
                 Authorization: Token {token}\n"
            ))
        }
        TokensCommand::List { user, json } => {
            let owner = match user {
                Some(name) => Some(
                    db.user_by_username(name)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("there is no user {name:?}"))?
                        .id,
                ),
                None => None,
            };
            let rows = db.api_tokens(owner.as_deref()).await?;
            if *json {
                let mut out = String::new();
                for row in &rows {
                    out.push_str(&serde_json::to_string(row)?);
                    out.push('\n');
                }
                return Ok(out);
            }
            let mut out = format!(
                "{:<16}  {:<12} {:<20} {:<9} {:<20} {:<20} {}\n",
                "id", "user", "name", "state", "expires", "last used", "scope"
            );
            let now = now();
            for row in &rows {
                let state = if row.revoked_at.is_some() {
                    "revoked"
                } else if row.expires_at.is_some_and(|at| at <= now) {
                    "expired"
                } else {
                    "active"
                };
                let _ = writeln!(
                    out,
                    "{:<16}  {:<12} {:<20} {:<9} {:<20} {:<20} {}",
                    row.id,
                    printable(&row.username),
                    printable(&row.name),
                    state,
                    time(row.expires_at),
                    time(row.last_used_at),
                    row.scope
                );
            }
            Ok(out)
        }
        TokensCommand::Revoke { id } => {
            if !db.revoke_api_token(id, now()).await? {
                anyhow::bail!("there is no active API token with id {id:?}");
            }
            let event = Event::new(EventKind::ApiTokenRevoked)
                .detail(format!("{id} from the command line"));
            db.insert_events(&[event.into_row()]).await?;
            Ok(format!("revoked {id}\n"))
        }
    }
}

async fn keys_table(db: &Db) -> anyhow::Result<String> {
    let mut out = format!(
        "{:<44} {:<8} {:<20} {:<20} {:<20}\n",
        "kid", "state", "created", "activated", "retired"
    );
    for key in db.signing_keys().await? {
        let _ = writeln!(
            out,
            "{:<44} {:<8} {:<20} {:<20} {:<20}",
            key.kid,
            key.state,
            time(Some(key.created_at)),
            time(key.activated_at),
            time(key.retired_at)
        );
    }
    Ok(out)
}

fn events_table(events: &[crate::storage::EventRow]) -> String {
    let mut out = format!(
        "{:>6}  {:<20}  {:<22} {:<16} {:<24} {:<15} {}\n",
        "id", "time (UTC)", "kind", "client", "user", "address", "detail"
    );
    for e in events {
        let _ = writeln!(
            out,
            "{:>6}  {:<20}  {:<22} {:<16} {:<24} {:<15} {}",
            e.id,
            time(Some(e.at)),
            printable(&e.kind),
            printable(e.client_id.as_deref().unwrap_or("-")),
            printable(e.user_id.as_deref().unwrap_or("-")),
            printable(e.address.as_deref().unwrap_or("-")),
            printable(&e.detail)
        );
    }
    out
}

/// Usernames and client ids in the log are whatever a caller typed: control characters are
/// escaped so that they cannot forge table rows or drive the terminal.
fn printable(raw: &str) -> String {
    raw.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SSZ` from Unix seconds (civil-from-days, H. Hinnant's algorithm), so the
/// table needs no date crate.
fn time(unix: Option<i64>) -> String {
    let Some(unix) = unix else {
        return "-".into();
    };
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        assert_eq!(super::printable("user0"), "user0");
        assert_eq!(super::printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn formats_unix_time() {
        assert_eq!(super::time(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(super::time(Some(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(super::time(Some(1_795_398_245)), "2026-11-23T01:44:05Z");
        assert_eq!(super::time(None), "-");
    }
}
