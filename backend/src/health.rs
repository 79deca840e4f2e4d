//! `GET /healthz` and `GET /readyz`, for a load balancer or an orchestrator to probe.
//!
//! `/healthz` says the process is alive and answering, and checks nothing else: a failing
//! liveness probe restarts the process, which would not bring a database back. `/readyz` says
//! whether this instance can serve now: its database answers in time, every migration this
//! build knows is applied, and its signing keys were reloaded from the database as often as
//! they should be; it also says whether it serves the browser app. A probe is one read on a
//! connection of its own, is never rate-limited, and names what is not ready without any
//! detail a stranger could use (a change is logged at `warn` with the causes).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::keys::rotation;
use crate::state::AppState;
use crate::storage::PROBE_TIMEOUT;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[utoipa::path(get, path = "/healthz", tag = "Health",
    responses((status = 200, description = "The process answers (nothing else is checked)", body = Liveness)))]
pub async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "alive" })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Liveness {
    status: &'static str,
}

#[utoipa::path(get, path = "/readyz", tag = "Health",
    responses((status = 200, description = "Ready", body = Readiness), (status = 503, description = "Not ready: each failed check has a `problem`", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let readiness = readiness(&state).await;
    state.readiness.saw(&readiness);
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness)).into_response()
}

/// `/readyz`'s answer: `ready` or `not_ready`, and each check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: BTreeMap<&'static str, Check>,
}

/// One check: whether it passed, and if not, what is wrong in one sentence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// What a passing check is worth knowing about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// The cause behind `problem`, for the server log only.
    #[serde(skip)]
    cause: Option<String>,
}

impl Check {
    fn passed() -> Self {
        Self {
            ready: true,
            problem: None,
            note: None,
            cause: None,
        }
    }

    fn failed(problem: impl Into<String>) -> Self {
        Self {
            ready: false,
            problem: Some(problem.into()),
            note: None,
            cause: None,
        }
    }

    fn because(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.checks.values().all(|check| check.ready)
    }
}

/// Runs every check of `/readyz`: one read of the database, on a connection of its own (see
/// `storage::Db::missing_migrations`), the rest from memory.
pub async fn readiness(state: &AppState) -> Readiness {
    let mut checks = BTreeMap::new();
    let (database, migrations) = database_checks(state).await;
    checks.insert("database", database);
    checks.insert("migrations", migrations);
    checks.insert("signing_keys", signing_check(state));
    checks.insert("app", app_check(state));
    let mut readiness = Readiness {
        status: "ready",
        checks,
    };
    if !readiness.is_ready() {
        readiness.status = "not_ready";
    }
    readiness
}

/// Whether the database answers in time, and has every migration of this build.
async fn database_checks(state: &AppState) -> (Check, Check) {
    // The probe's connection gives up after PROBE_TIMEOUT; this is only a safety net.
    let limit = PROBE_TIMEOUT + Duration::from_secs(1);
    let missing = match tokio::time::timeout(limit, state.db.missing_migrations()).await {
        Ok(Ok(missing)) => missing,
        Ok(Err(e)) => {
            let problem = if e.is_unavailable() {
                format!(
                    "the database is unreachable or did not answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                )
            } else {
                "the database answered with an error (see the server log)".into()
            };
            return (
                Check::failed(problem).because(e),
                Check::failed(NOT_CHECKED),
            );
        }
        Err(_) => {
            let problem = format!("the database did not answer within {} s", limit.as_secs());
            return (Check::failed(problem), Check::failed(NOT_CHECKED));
        }
    };
    let migrations = if missing.is_empty() {
        Check::passed()
    } else {
        let versions: Vec<String> = missing.iter().map(i64::to_string).collect();
        Check::failed(format!(
            "migrations {} of this build are not applied; restart the server to apply them",
            versions.join(", ")
        ))
    };
    (Check::passed(), migrations)
}

const NOT_CHECKED: &str = "not checked: the database did not answer";

/// The keys in use were compared with the stored ones (and replaced if a rotation here or
/// elsewhere changed them) within two reload intervals: one reload may come late, not two.
/// Judged on this instance's own monotonic clock, so that no clock elsewhere matters.
fn signing_check(state: &AppState) -> Check {
    let every = rotation::reload_interval(&state.config);
    let ago = state.keys.checked_ago();
    if ago <= every * 2 {
        Check::passed()
    } else {
        Check::failed(format!(
            "the signing keys were last reloaded {} s ago; they are reloaded every {} s, so \
             reloading fails (see the server log)",
            ago.as_secs(),
            every.as_secs()
        ))
    }
}

/// The browser app: served as it was found at start (the content security policy names its
/// inline script by its hash). Without a built app only the API runs, which is a deployment of
/// its own, not a fault: the check passes, and says so.
fn app_check(state: &AppState) -> Check {
    let mut check = Check::passed();
    if !state.app_built {
        check.note = Some(
            "no browser app was built when this instance started: only the API is served \
             (build it with trunk build, or scripts/run.sh, and restart to serve it)",
        );
    }
    check
}

/// What the last probe found, to log a change once: not ready at `warn` with every problem
/// (the body says less), ready again at `info`.
#[derive(Debug, Default)]
pub struct Seen(AtomicU8);

// 0: no probe yet.
const READY: u8 = 1;
const NOT_READY: u8 = 2;

impl Seen {
    fn saw(&self, readiness: &Readiness) {
        let now = if readiness.is_ready() {
            READY
        } else {
            NOT_READY
        };
        let before = self.0.swap(now, Ordering::Relaxed);
        if before == now {
            return;
        }
        if now == NOT_READY {
            let problems: Vec<String> = readiness
                .checks
                .iter()
                .filter_map(|(name, check)| {
                    let problem = check.problem.as_ref()?;
                    Some(match &check.cause {
                        Some(cause) => format!("{name}: {problem} ({cause})"),
                        None => format!("{name}: {problem}"),
                    })
                })
                .collect();
            tracing::warn!(problems = %problems.join("; "), "not ready");
        } else if before == NOT_READY {
            tracing::info!("ready again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing;

    #[tokio::test]
    async fn ready_with_or_without_the_app_and_saying_which() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("index.html"), "<html></html>").unwrap();
        let built = dist.path().to_str().unwrap();
        let (state, _dir) = testing::demo_state(&["--app-dir", built]).await;
        let ready = readiness(&state).await;
        assert!(ready.is_ready(), "{ready:?}");
        assert_eq!(ready.status, "ready");
        assert_eq!(ready.checks.len(), 4);

        let (state, _dir) = testing::demo_state(&["--app-dir", "/nonexistent/dist"]).await;
        let api_only = readiness(&state).await;
        assert!(api_only.is_ready(), "only the API is served: {api_only:?}");
        let note = api_only.checks["app"].note.unwrap();
        assert!(note.contains("only the API"), "{note}");
        assert!(!note.contains("/nonexistent"), "no path: {note}");
    }
}
