//! Per-user API tokens: created from the command line, accepted as `Authorization: Token`, and
//! refused in every bad case with a 401 that offers both schemes.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    DPOP_CHALLENGE, TestApp, jwt_part, resource_metadata, spawn_app, www_authenticate,
};

/// Creates a token through `backend tokens create`; returns it.
pub async fn create(app: &TestApp, user: &str, name: &str, scope: &str) -> String {
    create_with(app, &["--user", user, "--name", name, "--scope", scope]).await
}

/// `backend tokens create` with `args`; returns the token it printed.
async fn create_with(app: &TestApp, args: &[&str]) -> String {
    let out = app.cli(&[&["tokens", "create"], args].concat()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().next().unwrap().to_owned();
    assert!(token.starts_with("amt_"), "{stdout}");
    token
}

/// `Bearer <access token>` of a token response.
fn bearer_of(tokens: &Value) -> String {
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

async fn with_token(app: &TestApp, path: &str, value: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .header("authorization", value)
        .send()
        .await
        .unwrap()
}

fn challenges(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn assert_refused(app: &TestApp, value: &str, why: &str) {
    let r = with_token(app, "/api/whoami", value).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
    let offered = challenges(&r);
    assert!(
        offered.iter().any(|c| c.starts_with("Bearer ")),
        "{offered:?}"
    );
    assert!(
        offered.iter().any(|c| c.starts_with("Token ")),
        "{offered:?}"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{why}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(why),
        "{description:?} should say {why:?}"
    );
}

#[tokio::test]
async fn an_api_token_acts_for_its_owner_within_its_scopes() {
    let app = spawn_app().await;
    let token = create(&app, "user0", "laptop", "products:read orders:read").await;
    let r = with_token(&app, "/api/whoami", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["auth_scheme"], "Token");
    assert_eq!(me["subject_type"], "user");
    assert_eq!(me["scope"], "orders:read products:read");
    assert!(me["expires_at"].is_null());
    let id = &token[4..20];
    assert_eq!(me["client_id"], format!("api-token:{id}"));
    let owner = app.user("user0").await.id;
    assert_eq!(me["subject"], owner.as_str());

    // The scheme name is case-insensitive, like Bearer.
    let r = with_token(&app, "/api/products", &format!("token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = with_token(&app, "/api/orders", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Scopes it lacks are 403 with the scope named, as for access tokens.
    let r = with_token(&app, "/api/me", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&r).contains(r#"scope="profile""#));
    let r = app
        .http
        .post(app.url("/api/orders"))
        .header("authorization", format!("Token {token}"))
        .json(&serde_json::json!({"product_id": 1, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Its use is recorded (at most once a minute), and the list never shows a secret.
    let out = app.cli(&["tokens", "list", "--json"]).await;
    let listed = String::from_utf8(out.stdout).unwrap();
    let row: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(row["id"], id);
    assert_eq!(row["name"], "laptop");
    assert_eq!(row["username"], "user0");
    assert!(row["last_used_at"].is_i64());
    assert!(!listed.contains(&token[21..]), "the secret is never listed");
    assert!(row.get("secret_hash").is_none());
    let stored = app.db.api_tokens(None).await.unwrap()[0]
        .secret_hash
        .clone();
    assert!(!stored.contains(&token[21..]), "only a digest is stored");
}

#[tokio::test]
async fn bad_api_tokens_are_401_with_both_challenges() {
    let app = spawn_app().await;
    let token = create(&app, "user1", "ci", "products:read").await;
    let r = app.get_api("/api/whoami", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&r),
        [
            format!(r#"Bearer realm="api"{}"#, resource_metadata(r.url())),
            r#"Token realm="api""#.to_owned(),
            format!("{DPOP_CHALLENGE}{}", resource_metadata(r.url())),
        ]
    );

    // The wrong scheme either way round.
    assert_refused(
        &app,
        &format!("Bearer {token}"),
        "send it as Authorization: Token",
    )
    .await;
    let jwt = app.service_token().await;
    assert_refused(
        &app,
        &format!("Token {jwt}"),
        "send it as Authorization: Bearer",
    )
    .await;
    // Tampered, unknown, malformed.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_refused(&app, &format!("Token {tampered}"), "unknown API token").await;
    let unknown = format!("amt_0000000000000000_{}", &token[21..]);
    assert_refused(&app, &format!("Token {unknown}"), "unknown API token").await;
    for malformed in ["amt_", "amt_xyz", &token[..30], "hello"] {
        assert_refused(&app, &format!("Token {malformed}"), "malformed").await;
    }
    let r = with_token(&app, "/api/whoami", "Token ").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Expired: a token for a day, a day and a second later by the server's clock.
    let expiring = create_with(
        &app,
        &[
            "--user",
            "user1",
            "--name",
            "for a day",
            "--scope",
            "products:read",
            "--expires-in-days",
            "1",
        ],
    )
    .await;
    let r = with_token(&app, "/api/whoami", &format!("Token {expiring}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.advance(86_400 + 1);
    assert_refused(&app, &format!("Token {expiring}"), "expired").await;
    // A disabled owner.
    app.set_disabled("user1", true).await;
    assert_refused(&app, &format!("Token {token}"), "disabled").await;
    app.set_disabled("user1", false).await;
    let r = with_token(&app, "/api/whoami", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK, "working again");
    // Revoked from the command line.
    let id = &token[4..20];
    let out = app.cli(&["tokens", "revoke", id]).await;
    assert!(out.status.success());
    assert_refused(&app, &format!("Token {token}"), "revoked").await;
    let out = app.cli(&["tokens", "revoke", id]).await;
    assert!(!out.status.success(), "revoking twice says so");
    assert_eq!(app.events("api_token_revoked", 1).await.len(), 1);
}

#[tokio::test]
async fn tokens_never_exceed_what_their_owner_may_have() {
    let app = spawn_app().await;
    let long_name = "n".repeat(65);
    let mut refusals: Vec<(&str, &str, &str, &str)> = vec![
        ("user0", "x", "openid", "may not have: openid"),
        (
            "user0",
            "x",
            "offline_access products:read",
            "may not have: offline_access",
        ),
        ("user0", "x", "admin", "may not have: admin"),
        ("user0", "x", "made:up", "may not have: made:up"),
        ("user0", "x", "", "at least one scope"),
        ("user0", "x", "bad\"scope", "scope"),
        ("nobody", "x", "products:read", "no user"),
        ("user0", &long_name, "products:read", "name"),
        ("user0", " ", "products:read", "name"),
    ];
    let _ = create(&app, "user0", "one", "products:read").await;
    refusals.push(("user0", "one", "products:read", "already has a token named"));
    for (user, name, scope, why) in refusals {
        let out = app
            .cli(&[
                "tokens", "create", "--user", user, "--name", name, "--scope", scope,
            ])
            .await;
        assert!(!out.status.success(), "{user} {name} {scope}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{user} {name} {scope}: {stderr}");
    }
    let count = app.db.count("api_tokens").await.unwrap();
    assert_eq!(count, 1, "nothing else was stored");
}

/// The API-token lab (demo mode): a user creates a short-lived token of their own through the
/// API, uses it, sees its use, watches it expire and revokes another; bad requests store
/// nothing; another user, a client and an API token can do none of it.
#[tokio::test]
async fn the_api_token_lab_takes_a_users_own_tokens_through_their_life_cycle() {
    let app = spawn_app().await;
    let tokens = app
        .user_tokens("openid profile products:read orders:read")
        .await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (app, access) = (&app, access.as_str());
    let list = move |authorization: &str| {
        let authorization = authorization.to_owned();
        async move {
            let r = app
                .http
                .get(app.url("/api/lab/tokens"))
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.json::<Value>().await.unwrap();
            (status, body.get("tokens").cloned().unwrap_or(body))
        }
    };
    let bearer = format!("Bearer {access}");
    let bearer = bearer.as_str();
    let create = move |authorization: String, body: &str| {
        let body = body.to_owned();
        async move {
            app.http
                .post(app.url("/api/lab/tokens"))
                .header("authorization", authorization)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(list(bearer).await, (StatusCode::OK, serde_json::json!([])));

    // Bad requests: each refused with what to fix, nothing stored.
    for (body, status, error) in [
        ("name=x", StatusCode::BAD_REQUEST, "invalid_request"),
        (
            r#"{"name": "x", "scope": "products:read"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            r#"{"name": "x", "scope": "products:read", "expires_in_secs": 60, "user": "user1"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            r#"{"name": "x", "scope": "products:read", "expires_in_secs": 5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            r#"{"name": "x", "scope": "products:read", "expires_in_secs": 7200}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            r#"{"name": "x", "scope": "admin", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_scope",
        ),
        (
            r#"{"name": "x", "scope": "orders:write", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_scope",
        ),
        (
            r#"{"name": "x", "scope": "openid", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_scope",
        ),
        (
            r#"{"name": "x", "scope": "", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_scope",
        ),
        (
            r#"{"name": "", "scope": "products:read", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
        (
            r#"{"name": "a\u0007b", "scope": "products:read", "expires_in_secs": 60}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
        ),
    ] {
        let r = create(bearer.to_owned(), body).await;
        assert_eq!(r.status(), status, "{body}");
        let refusal: Value = r.json().await.unwrap();
        assert_eq!(refusal["error"], error, "{body}: {refusal}");
        assert!(!refusal["error_description"].as_str().unwrap().is_empty());
    }
    assert!(app.db.api_tokens(None).await.unwrap().is_empty());

    let r = create(
        bearer.to_owned(),
        r#"{"name": "script", "scope": "products:read", "expires_in_secs": 60}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["api_token"]["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with(&format!("amt_{id}_")), "{created}");
    assert_eq!(created["api_token"]["state"], "active");
    assert!(created["api_token"]["last_used_at"].is_null());
    let r = create(
        bearer.to_owned(),
        r#"{"name": "script", "scope": "products:read", "expires_in_secs": 60}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "one name per user");

    // Used as a script would: its use shows in the list, never its secret.
    let r = with_token(app, "/api/products", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, listed) = list(bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0]["last_used_at"].is_i64(), "{listed}");
    assert!(!listed.to_string().contains(&token[21..]));

    // Another user sees none of it and cannot revoke it; nor can a client or an API token.
    let other = app
        .login_tokens("user1", "password1", "openid profile")
        .await;
    let other = &bearer_of(&other);
    assert_eq!(list(other).await, (StatusCode::OK, serde_json::json!([])));
    let revoke = move |authorization: String, id: String| async move {
        app.http
            .delete(app.url(&format!("/api/lab/tokens/{id}")))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(
        revoke(other.to_owned(), id.clone()).await.status(),
        StatusCode::NOT_FOUND
    );
    let service = &format!("Bearer {}", app.service_token().await);
    assert_eq!(list(service).await.0, StatusCode::FORBIDDEN);
    let r = create(
        bearer.to_owned(),
        r#"{"name": "minter", "scope": "profile", "expires_in_secs": 60}"#,
    )
    .await;
    let minter = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = create(
        format!("Token {minter}"),
        r#"{"name": "child", "scope": "profile", "expires_in_secs": 60}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "an API token mints none");
    let refusal: Value = r.json().await.unwrap();
    assert_eq!(refusal["error"], "access_denied");
    assert!(
        refusal["error_description"]
            .as_str()
            .unwrap()
            .contains("cannot create another"),
        "{refusal}"
    );
    // A user's token without profile may not either.
    let narrow = app.user_tokens("openid products:read").await;
    let r = create(
        format!("Bearer {}", narrow["access_token"].as_str().unwrap()),
        r#"{"name": "narrow", "scope": "products:read", "expires_in_secs": 60}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&r).contains(r#"scope="profile""#));
    let r = app
        .http
        .get(app.url("/api/lab/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = with_token(app, "/api/products", &format!("Token {token}")).await;
    assert_eq!(r.status(), StatusCode::OK, "still the owner's, still live");

    // Revoked: refused at once, and a second revocation says so.
    let minter_id = minter[4..20].to_owned();
    assert_eq!(
        revoke(bearer.to_owned(), minter_id.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        revoke(bearer.to_owned(), minter_id.clone()).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        revoke(bearer.to_owned(), "not-a-token".into())
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_refused(app, &format!("Token {minter}"), "revoked").await;
    let revoked = app.events("api_token_revoked", 1).await;
    assert_eq!(
        revoked[0].user_id.as_deref(),
        Some(app.user("user0").await.id.as_str())
    );

    // Expired: a minute later by the server's clock.
    app.advance(61);
    let fresh = app.user_tokens("openid profile products:read").await;
    let fresh = &bearer_of(&fresh);
    assert_refused(app, &format!("Token {token}"), "expired").await;
    let (_, listed) = list(fresh).await;
    let state_of = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["state"].clone())
    };
    assert_eq!(state_of(&id), Some("expired".into()));
    assert_eq!(state_of(&minter_id), Some("revoked".into()));

    // At most ten active at once (and ten made an hour).
    let mut made = 2;
    loop {
        let body =
            format!(r#"{{"name": "n{made}", "scope": "products:read", "expires_in_secs": 600}}"#);
        let r = create(fresh.to_owned(), &body).await;
        if r.status() == StatusCode::CONFLICT {
            break;
        }
        assert_eq!(r.status(), StatusCode::CREATED);
        made += 1;
        assert!(made <= 10, "the lab stops at ten");
    }
    assert_eq!(made, 10);

    // An hour later: ten active at most, none living beyond the access token that made it.
    app.advance(3601);
    let later = app.user_tokens("openid profile products:read").await;
    let caller_exp = jwt_part(later["access_token"].as_str().unwrap(), 1)["exp"]
        .as_i64()
        .unwrap();
    let later = &bearer_of(&later);
    let active = |listed: &Value| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["state"] == "active")
            .count()
    };
    let already = active(&list(later).await.1);
    for n in already..10 {
        let body =
            format!(r#"{{"name": "h{n}", "scope": "products:read", "expires_in_secs": 3600}}"#);
        let r = create(later.to_owned(), &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let created: Value = r.json().await.unwrap();
        assert!(
            created["api_token"]["expires_at"].as_i64().unwrap() <= caller_exp,
            "capped at the caller's exp {caller_exp}: {created}"
        );
    }
    let r = create(
        later.to_owned(),
        r#"{"name": "eleventh", "scope": "products:read", "expires_in_secs": 60}"#,
    )
    .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let refusal: Value = r.json().await.unwrap();
    assert!(
        refusal["error_description"]
            .as_str()
            .unwrap()
            .contains("active"),
        "{refusal}"
    );
    assert_eq!(active(&list(later).await.1), 10);
}
