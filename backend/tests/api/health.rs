//! `/healthz` and `/readyz`: what a load balancer probes. Alive whatever the dependencies;
//! ready only when the database answers, the schema is complete, the signing keys are reloaded
//! and the app was built; each problem named, nothing else said; never throttled.

/// A server with a built browser app (and the directory it is in).
async fn spawn_built() -> (TestApp, tempfile::TempDir) {
    let dist = built_app();
    let app = spawn_app_with(&["--app-dir", dist.path().to_str().unwrap()]).await;
    (app, dist)
}

use reqwest::StatusCode;
use serde_json::Value;

use std::time::Duration;

use backend::storage::inspect;

use crate::helpers::{TestApp, built_app, on_postgres, spawn_app, spawn_app_with};

async fn probe(app: &TestApp, path: &str) -> (StatusCode, Value, String) {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    let status = r.status();
    let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
    (status, r.json().await.unwrap(), cache)
}

#[tokio::test]
async fn ready_with_or_without_the_app_and_each_problem_named() {
    let app = spawn_app().await;
    let (status, body, cache) = probe(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"status": "alive"}));
    assert_eq!(cache, "no-store");

    // Started without a built app: only the API runs, which is ready, and says so.
    let (status, body, _) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["app"]["ready"], true);
    let note = body["checks"]["app"]["note"].as_str().unwrap();
    assert!(note.contains("only the API"), "{note}");
    for check in ["database", "migrations", "signing_keys"] {
        assert_eq!(
            body["checks"][check],
            serde_json::json!({"ready": true}),
            "{body}"
        );
    }

    let (app, _dist) = spawn_built().await;
    let (status, body, _) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"]["app"],
        serde_json::json!({"ready": true}),
        "{body}"
    );

    // A schema this build expects more of than the database has: not ready, and which.
    app.db.forget_migration(8).await.unwrap();
    let (status, body, _) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let problem = body["checks"]["migrations"]["problem"].as_str().unwrap();
    assert!(problem.contains("migrations 8 "), "{problem}");
    assert_eq!(probe(&app, "/healthz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn probes_every_few_milliseconds_are_never_throttled_and_take_no_input() {
    let (app, _dist) = spawn_built().await;
    for _ in 0..200 {
        assert_eq!(probe(&app, "/readyz").await.0, StatusCode::OK);
    }
    // Whatever comes with a probe is ignored; other methods are not probes.
    let r = app
        .http
        .get(app.url("/readyz?verbose=1&x=%00"))
        .header("authorization", "Bearer nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for path in ["/healthz", "/readyz"] {
        let r = app
            .http
            .post(app.url(path))
            .body("x".repeat(10_000))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
}

/// A rotation made elsewhere (here, with the command line) leaves this instance signing with
/// the key just retired until its next reload: normal, and still ready (readiness asks only
/// that the keys were reloaded lately, on this instance's own clock).
#[tokio::test]
async fn a_rotation_elsewhere_leaves_every_instance_ready() {
    let dist = built_app();
    let app = spawn_app_with(&[
        "--key-rotation-interval",
        "0",
        "--app-dir",
        dist.path().to_str().unwrap(),
    ])
    .await;
    let out = app.cli(&["keys", "rotate", "--force"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for _ in 0..20 {
        let (status, body, _) = probe(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Even hours later on the server's clock: the reloads are timed on the machine's own.
    app.clock.advance(Duration::from_secs(7200));
    let (status, body, _) = probe(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A database that stalls (PostgreSQL: a lock nobody releases) makes a probe answer "not
/// ready" within its timeout, holds none of the requests' connections, and is ready again
/// once the lock goes.
#[tokio::test]
async fn a_stalled_database_is_not_ready_within_the_probe_timeout() {
    if !on_postgres() {
        eprintln!("skipped: a stalled database server is PostgreSQL's case");
        return;
    }
    let (app, _dist) = spawn_built().await;
    let lock = inspect::lock_postgres_table(&app.database_url, "_sqlx_migrations")
        .await
        .unwrap();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let (status, body, _) = probe(&app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        let problem = body["checks"]["database"]["problem"].as_str().unwrap();
        assert!(problem.contains("within 2 s"), "{problem}");
    }
    // The requests' connections were not taken by the stalled probes.
    let r = app.client_credentials(None).await;
    assert_eq!(r.status(), StatusCode::OK);
    drop(lock);
    let mut ready = false;
    for _ in 0..50 {
        if probe(&app, "/readyz").await.0 == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the lock is gone");
}
