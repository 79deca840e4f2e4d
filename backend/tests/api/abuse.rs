//! Abuse and hygiene: rate limits on guessing, header size limits, and the security event log.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    SERVICE, SERVICE_SECRET, TestApp, hidden_inputs, oauth_error, page_cookie, spawn_app,
    spawn_app_with,
};

async fn try_login(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "openid"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    app.submit_login(page, username, password).await
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn failed_logins_per_user_are_throttled() {
    let app = spawn_app().await;
    // The default: five failures per user in five minutes.
    for _ in 0..5 {
        let r = try_login(&app, "user1", "wrong").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Invalid username or password")
        );
    }
    // Now even the right password waits: the attacker cannot tell it was right.
    let r = try_login(&app, "user1", "password1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.text().await.unwrap().contains("Too many login attempts"));
    assert_eq!(app.code_count().await, 0);
    // Other users are not affected.
    let r = try_login(&app, "user0", "password0").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    assert_eq!(app.events("login_failed", 5).await.len(), 5);
    let throttled = app.events("login_throttled", 1).await;
    assert_eq!(throttled.len(), 1);
    assert_eq!(throttled[0].user_id.as_deref(), Some("user1"));
    assert_eq!(throttled[0].address.as_deref(), Some("127.0.0.1"));
    assert_eq!(app.events("login_succeeded", 1).await.len(), 1);
}

#[tokio::test]
async fn parallel_guesses_cannot_slip_past_the_limit() {
    let app = spawn_app().await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let auth = app.new_authorization();
        let page = app
            .get_authorize(&app.authorize_query(&auth, "openid"))
            .await;
        let cookie = page_cookie(&page);
        let mut form = hidden_inputs(&page.text().await.unwrap());
        form.push(("username".into(), "user1".into()));
        form.push(("password".into(), "guess".into()));
        let request = app
            .http
            .post(app.url("/authorize/login"))
            .header("cookie", cookie)
            .form(&form);
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    // Twenty guesses for one user at once: each is counted before its password is hashed.
    let statuses = tasks.join_all().await;
    let tried = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((tried, refused), (5, 15), "{statuses:?}");
    assert_eq!(
        app.events("login_throttled", 1).await.len(),
        1,
        "logged once"
    );
}

#[tokio::test]
async fn login_attempts_per_address_are_throttled() {
    let app = spawn_app_with(&["--login-attempts-per-address", "3/60"]).await;
    for name in ["a", "b", "c"] {
        let r = try_login(&app, name, "guess").await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = try_login(&app, "user0", "password0").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!((1..=20).contains(&retry_after(&r)));
}

async fn token_with_secret(app: &TestApp, client: &str, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url("/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

async fn introspect_with_secret(app: &TestApp, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url("/introspect"))
        .basic_auth(SERVICE, Some(secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn failed_client_authentication_is_throttled_per_client() {
    let app = spawn_app_with(&[
        "--client-auth-failures-per-client",
        "3/60",
        "--client-auth-failures-per-address",
        "100/60",
    ])
    .await;
    let good = app.service_token().await;
    for _ in 0..2 {
        let r = token_with_secret(&app, SERVICE, "wrong").await;
        assert_eq!(oauth_error(r).await.1, "invalid_client");
    }
    // Failures count across /token, /revoke and /introspect.
    let r = introspect_with_secret(&app, "wrong").await;
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    for r in [
        token_with_secret(&app, SERVICE, SERVICE_SECRET).await,
        introspect_with_secret(&app, SERVICE_SECRET).await,
    ] {
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!((1..=20).contains(&retry_after(&r)));
        let (_, error, description) = oauth_error(r).await;
        assert_eq!(error, "temporarily_unavailable");
        assert!(description.contains("too many"), "{description}");
    }
    // Other clients are not held up, and issued tokens keep working.
    assert_eq!(
        app.refresh("not-a-token", None).await.status(),
        StatusCode::BAD_REQUEST
    );
    let r = app.get_api("/api/products", Some(&good)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.events("client_auth_failed", 3).await.len(), 3);
    assert_eq!(app.events("client_auth_throttled", 1).await.len(), 1);
}

#[tokio::test]
async fn guessing_unknown_clients_is_throttled_per_address() {
    let app = spawn_app_with(&["--client-auth-failures-per-address", "3/60"]).await;
    for i in 0..3 {
        let r = token_with_secret(&app, &format!("made-up-{i}"), "guess").await;
        assert_eq!(oauth_error(r).await.1, "invalid_client");
    }
    let r = token_with_secret(&app, SERVICE, SERVICE_SECRET).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(oauth_error(r).await.1, "temporarily_unavailable");
}

#[tokio::test]
async fn oversized_headers_are_refused_with_431() {
    let app = spawn_app().await;
    let big = "a".repeat(20 * 1024);
    for (method, path) in [
        (reqwest::Method::POST, "/token"),
        (reqwest::Method::GET, "/api/hello"),
        (reqwest::Method::GET, "/authorize"),
        (reqwest::Method::GET, "/jwks.json"),
    ] {
        let r = app
            .http
            .request(method, app.url(path))
            .header("x-filler", &big)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "{path}"
        );
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    // Many small headers add up the same way.
    let mut request = app.http.get(app.url("/api/hello"));
    for i in 0..90 {
        request = request.header(format!("x-h{i}"), "b".repeat(200));
    }
    assert_eq!(
        request.send().await.unwrap().status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // A megabyte of header is refused by the HTTP layer before it is buffered whole, and the
    // server is still there afterwards.
    let huge = "c".repeat(1024 * 1024);
    match app
        .http
        .get(app.url("/api/hello"))
        .header("x-huge", huge)
        .send()
        .await
    {
        Ok(r) => assert!(r.status().is_client_error(), "{}", r.status()),
        Err(e) => assert!(e.is_request() || e.is_connect() || e.is_body(), "{e}"),
    }
    let r = app.get_api("/api/hello", None).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_security_log_is_readable_from_the_command_line() {
    let app = spawn_app().await;
    let _ = try_login(&app, "user0", "nope").await;
    let tokens = app.user_tokens("openid offline_access").await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(refresh, None).await.status(), StatusCode::OK);
    // A replay of the spent refresh token: reuse detection.
    assert_eq!(
        app.refresh(refresh, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    let _ = app.service_token().await;
    app.events("refresh_token_reused", 1).await;
    app.events("token_issued", 3).await;

    let out = app.cli(&["events", "--json", "--limit", "100"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in [
        "key_created",
        "login_failed",
        "login_succeeded",
        "token_issued",
        "refresh_token_reused",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    // Newest first, and a failed login names the username that was tried.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]));
    let failed = events.iter().find(|e| e["kind"] == "login_failed").unwrap();
    assert_eq!(failed["user_id"], "user0");
    assert_eq!(failed["client_id"], "demo-spa");

    let out = app.cli(&["events", "--kind", "token_issued"]).await;
    let table = String::from_utf8(out.stdout).unwrap();
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("kind"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows.iter().all(|r| r.contains("token_issued")));
    assert!(rows.iter().any(|r| r.contains("client_credentials")));
}

#[tokio::test]
async fn the_log_never_holds_secrets() {
    let app = spawn_app().await;
    let tokens = app.user_tokens("openid offline_access").await;
    let _ = try_login(&app, "user0", "the-wrong-password").await;
    let _ = token_with_secret(&app, SERVICE, "a-wrong-secret").await;
    app.events("client_auth_failed", 1).await;
    let dump = app.db.snapshot("security_events", &[]).await.unwrap();
    for secret in [
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        "the-wrong-password",
        "a-wrong-secret",
        "password0",
    ] {
        assert!(!dump.contains(secret), "the log holds {secret}");
    }
}

#[tokio::test]
async fn spawn_app_default_is_not_throttled_by_normal_use() {
    // The default limits leave room for a busy but honest client.
    let app = spawn_app().await;
    for _ in 0..50 {
        let _ = app.service_token().await;
    }
}
