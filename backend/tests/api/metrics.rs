//! `GET /metrics` on its own listener: what Prometheus scrapes. Routes by template, refusals by
//! error code, bounded labels only; nothing secret in it; not on the public ports.

use std::time::Duration;

use reqwest::{Method, StatusCode};

use crate::helpers::{SERVICE, SERVICE_SECRET, TestApp, on_postgres, spawn_app, spawn_app_with};

/// The scrape, after checking it is the Prometheus text format.
async fn scrape(app: &TestApp) -> String {
    let response = app.http.get(&app.metrics).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// The value of the series named exactly `series` (name and labels, as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

fn value(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn requests_tokens_and_refusals_are_counted_by_template_and_code() {
    let app = spawn_app().await;
    // Not on the public ports.
    for origin in [&app.api, &app.app] {
        let r = app
            .http
            .get(format!("{origin}/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{origin}");
    }

    let token = app.service_token().await;
    let wrong = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    for id in ["8412345", "8499999"] {
        let r = app
            .http
            .patch(app.url(&format!("/admin/users/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .http
        .get(app.url("/api/products"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let brew = Method::from_bytes(b"BREW").unwrap();
    app.http
        .request(brew, app.url("/api/products"))
        .send()
        .await
        .unwrap();
    let r = app
        .http
        .get(app.url("/no/such/path/7412369"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    let database = if on_postgres() { "postgres" } else { "sqlite" };
    let info = format!(
        "backend_info{{version=\"{}\",database=\"{database}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&text, &info), 1.0);
    assert_eq!(
        value(
            &text,
            r#"oauth_tokens_issued_total{grant_type="client_credentials",client_id="demo-service",server="org"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{origin="api",method="POST",route="/token",status="200"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"oauth_refusals_total{route="/token",reason="invalid_client"}"#
        ),
        1.0
    );
    // Two ids, one series: the template, never the path asked for.
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{origin="api",method="PATCH",route="/admin/users/{id}",status="401"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"oauth_refusals_total{route="/admin/users/{id}",reason="unauthorized"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"http_request_duration_seconds_count{origin="api",method="PATCH",route="/admin/users/{id}"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"http_requests_total{origin="api",method="GET",route="/api/products",status="200"}"#
        ),
        1.0
    );
    assert!(
        text.contains(r#"method="other",route="/api/products""#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(value(&text, r#"security_events_total{kind="token_issued"}"#) >= 1.0);
    assert_eq!(
        value(&text, r#"security_events_total{kind="client_auth_failed"}"#),
        1.0
    );
    assert!(value(&text, "db_operation_duration_seconds_count") > 0.0);
    let in_use = value(&text, r#"db_pool_connections{state="in_use"}"#);
    let idle = value(&text, r#"db_pool_connections{state="idle"}"#);
    let max = value(&text, "db_pool_max_connections");
    assert_eq!(max, 8.0, "DB_MAX_CONNECTIONS' default");
    assert!(
        in_use >= 0.0 && idle >= 0.0 && in_use + idle <= max,
        "{in_use} {idle} {max}"
    );
    let age = value(&text, "signing_key_age_seconds");
    assert!((0.0..60.0).contains(&age), "{age}");
    let due = value(&text, "signing_key_rotation_due_seconds");
    assert!((2_592_000.0 - 60.0..=2_592_000.0).contains(&due), "{due}");
    assert_eq!(value(&text, "bff_sessions"), 0.0);
    // Bounded labels: no raw path, no secret, no token, no address.
    for secret in [
        "7412369",
        "8412345",
        SERVICE_SECRET,
        "not-the-secret",
        &token[..20],
        "127.0.0.1",
    ] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
}

#[tokio::test]
async fn rate_limit_rejections_are_counted_by_limit() {
    let app = spawn_app_with(&["--client-auth-failures-per-client", "2/60"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = app
            .http
            .post(app.url("/token"))
            .basic_auth(SERVICE, Some("guess"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    let text = scrape(&app).await;
    assert_eq!(
        value(
            &text,
            r#"rate_limit_rejections_total{limit="client_auth_failures_per_client"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"oauth_refusals_total{route="/token",reason="temporarily_unavailable"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"security_events_total{kind="client_auth_throttled"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn an_overdue_rotation_shows_as_a_negative_time_to_rotation() {
    // A key signs two hours; the next one must be published 2 h 1 min before it may: half a
    // minute past due, no maintenance round can have rotated yet, whenever it runs.
    let app = spawn_app_with(&["--key-rotation-interval", "7200", "--jwks-max-age", "7200"]).await;
    let due = value(&scrape(&app).await, "signing_key_rotation_due_seconds");
    assert!((7_140.0..=7_200.0).contains(&due), "{due}");
    app.clock.advance(Duration::from_secs(7_230));
    let text = scrape(&app).await;
    let due = value(&text, "signing_key_rotation_due_seconds");
    assert!((-90.0..=-30.0).contains(&due), "{due}");
    assert!(value(&text, "signing_key_age_seconds") >= 7_230.0);

    // Rotating only by command: no schedule, no series.
    let manual = spawn_app_with(&["--key-rotation-interval", "0"]).await;
    let text = scrape(&manual).await;
    assert_eq!(sample(&text, "signing_key_rotation_due_seconds"), None);
    assert!(sample(&text, "signing_key_age_seconds").is_some());
}
