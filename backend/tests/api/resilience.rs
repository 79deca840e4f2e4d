//! A database that goes away: every endpoint answers 503 with `Retry-After` and a message that
//! says what is wrong (never a 500, never a hang), and everything works again once the
//! database is back, without a restart. PostgreSQL only: it is the database that runs on
//! another machine; the suite runs this on PostgreSQL (scripts/test.sh).

use backend::storage::inspect;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{SERVICE, SERVICE_SECRET, built_app, on_postgres, spawn_app_with};

#[tokio::test]
async fn a_database_that_goes_away_gives_503s_and_recovery_needs_no_restart() {
    if !on_postgres() {
        eprintln!(
            "skipped: a database that goes away is PostgreSQL's case (TEST_DATABASE=postgres)"
        );
        return;
    }
    let admin_url = std::env::var("TEST_POSTGRES_URL").unwrap();
    // Clients are kept in memory for one revocation read interval: the shortest, so that the
    // copies have aged out before the requests below.
    let dist = built_app();
    let app = spawn_app_with(&[
        "--db-acquire-timeout",
        "1",
        "--revocation-sync-ms",
        "50",
        "--app-dir",
        dist.path().to_str().unwrap(),
    ])
    .await;
    let token = app.service_token().await;
    let user = app.user_token().await;
    let products = app.get_api("/api/products", Some(&token)).await;
    assert_eq!(products.status(), StatusCode::OK);

    inspect::set_postgres_database_reachable(&admin_url, &app.database_url, false)
        .await
        .unwrap();
    app.db.close().await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    // The token endpoint: RFC 6749's temporarily_unavailable, as a 503.
    let started = std::time::Instant::now();
    let r = app.client_credentials(None).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("database"),
        "{body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered within the acquire timeout, not hung"
    );
    // The API, with a valid token (its revocation cannot be checked).
    for (path, token) in [("/api/products", &token), ("/api/orders", &user)] {
        let r = app.get_api(path, Some(token)).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(r.headers().contains_key("retry-after"), "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{path}");
    }
    // The login page: an error page saying so.
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "openid"))
        .await;
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().await.unwrap().contains("database"));
    // Revocation and introspection.
    for path in ["/revoke", "/introspect"] {
        let r = app
            .http
            .post(app.url(path))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    // What needs no database still works.
    let hello = app.get_api("/api/hello", None).await;
    assert_eq!(hello.status(), StatusCode::OK);
    let jwks = app.http.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    // Alive, not ready: a load balancer sends no more traffic here, and nothing restarts it.
    let alive = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered in time"
    );
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["ready"], false, "{body}");
    let problem = body["checks"]["database"]["problem"].as_str().unwrap();
    assert!(problem.contains("database"), "{problem}");
    assert!(!problem.contains(&app.database_url), "{problem}");
    assert_eq!(body["checks"]["app"]["ready"], true, "{body}");

    // Back: the same server serves again.
    inspect::set_postgres_database_reachable(&admin_url, &app.database_url, true)
        .await
        .unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if app.client_credentials(None).await.status() == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        recovered,
        "the token endpoint works again without a restart"
    );
    let r = app.get_api("/api/products", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = app.user_tokens("openid offline_access").await;
    assert!(tokens["refresh_token"].is_string(), "logins work again");
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK, "ready again");
}
