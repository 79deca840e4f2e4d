//! The admin API: who may use it, every operation, every refusal (with nothing stored), the
//! event log it writes, and the command line that runs the same operations.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const ADMIN_PASSWORD: &str = "admin-password";

/// `(status, error)` of a refused admin call, after checking it explains itself and is not
/// cached.
async fn refused(response: reqwest::Response) -> (StatusCode, String) {
    let (status, error, _) = oauth_error(response).await;
    (status, error)
}

async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

async fn client_credentials(
    app: &TestApp,
    id: &str,
    secret: &str,
    scope: &str,
) -> reqwest::Response {
    app.http
        .post(app.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_administrators_get_the_admin_scope_and_the_api() {
    let app = spawn_app().await;
    // RFC 6749 §3.3: the scope a user's role does not allow is left out, and the token response
    // says so.
    let user = app.user_tokens("openid products:read admin").await;
    assert_eq!(user["scope"], "openid products:read");
    let user_token = user["access_token"].as_str().unwrap();
    let admin = app
        .login_tokens("admin", ADMIN_PASSWORD, "openid offline_access admin")
        .await;
    assert_eq!(admin["scope"], "admin offline_access openid");
    let admin_token = admin["access_token"].as_str().unwrap();

    let listed = json_of(
        app.admin(Method::GET, "/admin/users", admin_token, None)
            .await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "user0", "user1"]);
    assert!(
        !listed.to_string().contains("argon2"),
        "no password hash leaves the server"
    );

    // Without credentials, 401 with both challenges; without the scope, 403 naming it.
    let anonymous = app.http.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .admin(Method::GET, "/admin/users", user_token, None)
        .await;
    assert!(www_authenticate(&response).contains(r#"scope="admin""#));
    assert_eq!(
        refused(response).await,
        (StatusCode::FORBIDDEN, "insufficient_scope".into())
    );
    let service = app.service_token().await;
    let response = app
        .admin(Method::GET, "/admin/clients", &service, None)
        .await;
    assert_eq!(refused(response).await.0, StatusCode::FORBIDDEN);

    // The role is read on every request: a demoted administrator's token stops working at
    // once, and the next refresh leaves `admin` out.
    let second = json_of(
        app.admin(
            Method::POST,
            "/admin/users",
            admin_token,
            Some(json!({"username": "root2", "name": "Second Admin",
                        "email": "root2@example.com", "password": "correct horse battery",
                        "role": "admin"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second_token = app
        .login_tokens("root2", "correct horse battery", "openid admin")
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_id = app.user("admin").await.id;
    let demoted = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{admin_id}"),
            &second_token,
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(json_of(demoted, StatusCode::OK).await["role"], "user");
    let response = app
        .admin(Method::GET, "/admin/users", admin_token, None)
        .await;
    let demoted_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        refused(response).await,
        (StatusCode::FORBIDDEN, "access_denied".into())
    );
    // The event log says why: the role read again, against the one needed.
    let why = refusal_explanation(&app, &second_token, &demoted_id).await;
    assert_eq!(why.check.as_deref(), Some("role"));
    assert_eq!(why.got.as_deref(), Some("admin, role user"));
    let refreshed = app
        .refresh(admin["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(
        json_of(refreshed, StatusCode::OK).await["scope"],
        "offline_access openid"
    );
    // The last enabled administrator can be neither demoted nor disabled.
    for change in [json!({"role": "user"}), json!({"disabled": true})] {
        let before = storage_fingerprint(&app).await;
        let response = app
            .admin(
                Method::PATCH,
                &format!("/admin/users/{}", second["id"].as_str().unwrap()),
                &second_token,
                Some(change),
            )
            .await;
        assert_eq!(refused(response).await.0, StatusCode::CONFLICT);
        assert_eq!(storage_fingerprint(&app).await, before);
    }
}

#[tokio::test]
async fn users_are_created_disabled_and_reset() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let new_user = json!({"username": "dana", "name": "Dana Scully",
                          "email": "dana@example.com", "password": "trust-no-one-1993"});
    let created = json_of(
        app.admin(Method::POST, "/admin/users", &token, Some(new_user.clone()))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["role"], "user");
    assert_eq!(created["disabled"], false);
    let id = created["id"].as_str().unwrap().to_owned();
    let dana = app
        .login_tokens("dana", "trust-no-one-1993", "openid offline_access")
        .await;

    // Every malformed or rule-breaking body: refused with a reason, nothing stored.
    let before = storage_fingerprint(&app).await;
    let with = |field: &str, value: Value| {
        let mut body = new_user.clone();
        body["username"] = json!("fox");
        body[field] = value;
        body
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (new_user.clone(), StatusCode::CONFLICT, "conflict"),
        (
            with("password", json!("short")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            with("password", json!("fox")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            with("password", json!("x".repeat(1025))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            with("username", json!("fox mulder")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("username", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("username", json!("a".repeat(65))),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        // A NUL anywhere in a body is refused before any field is looked at.
        (
            with("username", json!("fox\u{0}")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            with("email", json!("not-an-address")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("email", json!("a@b@c.d")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("name", json!("   ")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("name", json!("line\nbreak")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            with("role", json!("root")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            with("is_admin", json!(true)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            with("password", json!(12345678901_i64)),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!(["fox", "Fox", "f@x.io", "password12"]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (json!({}), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (body, status, error) in cases {
        let response = app
            .admin(Method::POST, "/admin/users", &token, Some(body.clone()))
            .await;
        assert_eq!(refused(response).await, (status, error.into()), "{body}");
    }
    for (content_type, body) in [
        ("application/json", "{\"username\":".to_owned()),
        ("text/plain", new_user.to_string()),
        (
            "application/json",
            format!("{{\"name\":\"{}\"}}", "x".repeat(20_000)),
        ),
    ] {
        let response = app
            .http
            .post(app.url("/admin/users"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::PAYLOAD_TOO_LARGE].contains(&response.status()),
            "{content_type}: {}",
            response.status()
        );
        refused(response).await;
    }
    let response = app
        .admin(
            Method::PATCH,
            "/admin/users/usr_nobody",
            &token,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(refused(response).await.0, StatusCode::NOT_FOUND);
    let response = app
        .admin(
            Method::POST,
            &format!("/admin/users/{id}/password"),
            &token,
            Some(json!({"password": "dana"})),
        )
        .await;
    assert_eq!(refused(response).await.1, "weak_password");
    assert_eq!(storage_fingerprint(&app).await, before);

    // Disabling ends the user's grants and logins; enabling lets them log in again.
    let path = format!("/admin/users/{id}");
    let disabled = app
        .admin(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(json_of(disabled, StatusCode::OK).await["disabled"], true);
    let refresh = app
        .refresh(dana["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(oauth_error(refresh).await.1, "invalid_grant");
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "openid"))
        .await;
    let answer = app.submit_login(page, "dana", "trust-no-one-1993").await;
    assert_eq!(answer.status(), StatusCode::OK, "the form again, no code");
    let enabled = app
        .admin(
            Method::PATCH,
            &path,
            &token,
            Some(json!({"disabled": false, "name": "D. Scully"})),
        )
        .await;
    assert_eq!(json_of(enabled, StatusCode::OK).await["name"], "D. Scully");

    // A reset password: the old one fails, the new one works, earlier grants are revoked.
    let grant = app
        .login_tokens("dana", "trust-no-one-1993", "openid offline_access")
        .await;
    let reset = app
        .admin(
            Method::POST,
            &format!("{path}/password"),
            &token,
            Some(json!({"password": "i-want-to-believe"})),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let refresh = app
        .refresh(grant["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(oauth_error(refresh).await.1, "invalid_grant");
    app.login_tokens("dana", "i-want-to-believe", "openid")
        .await;

    // Each change is in the log, attributed to the administrator who made it.
    let admin_id = app.user("admin").await.id;
    for kind in ["user_created", "user_updated", "password_reset"] {
        let events = app.events(kind, 1).await;
        assert!(!events.is_empty(), "{kind}");
        assert!(
            events
                .iter()
                .all(|e| e.user_id.as_deref() == Some(admin_id.as_str()))
        );
        assert!(events.iter().all(|e| e.detail.ends_with("(admin API)")));
        assert!(
            !events.iter().any(|e| e.detail.contains("believe")),
            "no password logged"
        );
    }
}

#[tokio::test]
async fn an_api_services_client_with_a_custom_scope() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    // Source document 003: a custom scope, and a machine client allowed it.
    let scope = json_of(
        app.admin(
            Method::POST,
            "/admin/scopes",
            &token,
            Some(json!({"name": "AccessAll", "description": "Everything the reports API offers"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(scope["builtin"], false);
    assert_eq!(scope["consent_required"], true);
    let created = json_of(
        app.admin(
            Method::POST,
            "/admin/clients",
            &token,
            Some(
                json!({"kind": "service", "name": "Reports job", "client_id": "reports",
                        "scope": "AccessAll products:read"}),
            ),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["client"]["confidential"], true);
    assert_eq!(
        created["client"]["grant_types"],
        json!(["client_credentials"])
    );
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let stored = app
        .db
        .client("reports")
        .await
        .unwrap()
        .unwrap()
        .secret_hash
        .unwrap();
    assert!(!stored.contains(&secret), "only a hash is kept");
    let listed = json_of(
        app.admin(Method::GET, "/admin/clients", &token, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !listed.to_string().contains(&stored),
        "no secret hash is listed"
    );
    let scopes = json_of(
        app.admin(Method::GET, "/admin/scopes", &token, None).await,
        StatusCode::OK,
    )
    .await;
    let access_all = scopes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "AccessAll")
        .unwrap();
    assert_eq!(access_all["clients"], json!(["reports"]));

    let issued = json_of(
        client_credentials(&app, "reports", &secret, "AccessAll").await,
        StatusCode::OK,
    )
    .await;
    let access = issued["access_token"].as_str().unwrap();
    let whoami = json_of(
        app.get_api("/api/whoami", Some(access)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(whoami["subject_type"], "client");
    assert_eq!(whoami["client_id"], "reports");
    assert_eq!(whoami["scope"], "AccessAll");

    // A rotated secret: the old one stops at once, the new one works.
    let rotated = json_of(
        app.admin(Method::POST, "/admin/clients/reports/secret", &token, None)
            .await,
        StatusCode::OK,
    )
    .await;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    let old = client_credentials(&app, "reports", &secret, "AccessAll").await;
    assert_eq!(oauth_error(old).await.1, "invalid_client");
    let new = client_credentials(&app, "reports", new_secret, "AccessAll").await;
    assert_eq!(new.status(), StatusCode::OK);

    // Changing its scopes changes what it may ask for.
    let changed = app
        .admin(
            Method::PATCH,
            "/admin/clients/reports",
            &token,
            Some(json!({"scope": "products:read"})),
        )
        .await;
    assert_eq!(
        json_of(changed, StatusCode::OK).await["scope"],
        "products:read"
    );
    let narrowed = client_credentials(&app, "reports", new_secret, "AccessAll").await;
    assert_eq!(oauth_error(narrowed).await.1, "invalid_scope");

    // The scope is unused now and can go; a built-in one cannot.
    let gone = app
        .admin(Method::DELETE, "/admin/scopes/AccessAll", &token, None)
        .await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    let builtin = app
        .admin(Method::DELETE, "/admin/scopes/orders:read", &token, None)
        .await;
    assert_eq!(refused(builtin).await.0, StatusCode::CONFLICT);

    // Deleting the client ends its access.
    let deleted = app
        .admin(Method::DELETE, "/admin/clients/reports", &token, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after = client_credentials(&app, "reports", new_secret, "products:read").await;
    assert_eq!(oauth_error(after).await.1, "invalid_client");
    // ... and the tokens it already had, even once a client of the same id is created again.
    let r = app.get_api("/api/whoami", Some(access)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&r).contains("has been deleted"));
    for kind in [
        "scope_created",
        "client_created",
        "client_secret_rotated",
        "client_updated",
        "scope_deleted",
        "client_deleted",
    ] {
        assert_eq!(app.events(kind, 1).await.len(), 1, "{kind}");
    }
    assert!(
        app.events("client_secret_rotated", 1).await[0]
            .client_id
            .as_deref()
            == Some("reports")
    );

    // A client created again under the same id is another client: the deleted one's tokens
    // stay refused.
    app.advance(31);
    let again = app
        .admin(
            Method::POST,
            "/admin/clients",
            &app.admin_token().await,
            Some(
                json!({"kind": "service", "name": "Reports again", "client_id": "reports",
                        "scope": "products:read"}),
            ),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    let r = app.get_api("/api/whoami", Some(access)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&r).contains("has been deleted"));
}

#[tokio::test]
async fn a_browser_app_client_logs_in_with_pkce() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let redirect = format!("{}/other-callback", app.app);
    let created = json_of(
        app.admin(
            Method::POST,
            "/admin/clients",
            &token,
            Some(
                json!({"kind": "browser", "name": "Second app", "client_id": "second-app",
                        "scope": "openid products:read", "redirect_uris": [redirect],
                        "refresh_tokens": true, "first_party": true}),
            ),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(
        created.get("client_secret").is_none(),
        "a public client has no secret"
    );
    assert_eq!(
        created["client"]["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let mut auth = app.new_authorization();
    auth.redirect_uri = redirect.clone();
    let query = app.authorize_query_for("second-app", &auth, "openid products:read");
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(location(&answer).starts_with(&redirect));

    // Refusals, each with RFC 7591's error code, and nothing stored.
    let before = storage_fingerprint(&app).await;
    let browser = |field: &str, value: Value| {
        let mut body = json!({"kind": "browser", "name": "Bad", "scope": "openid",
                              "redirect_uris": ["https://app.example/cb"]});
        body[field] = value;
        body
    };
    let service = |field: &str, value: Value| {
        let mut body = json!({"kind": "service", "name": "Bad", "scope": "products:read"});
        body[field] = value;
        body
    };
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            browser("redirect_uris", json!([])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(["http://evil.example/cb"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(["https://app.example/cb#frag"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(["https://user:pw@app.example/cb"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(["/relative/cb"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(["javascript:alert(1)"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser(
                "redirect_uris",
                json!(["https://a.example/cb", "https://a.example/cb"]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("redirect_uris", json!(vec!["https://a.example/cb"; 11])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            browser("scope", json!("openid nonexistent")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            browser("scope", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            browser("client_id", json!("demo-spa")),
            StatusCode::CONFLICT,
            "conflict",
        ),
        (
            browser("client_id", json!("has space")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            browser("lifetimes", json!({"access_token_ttl": 5})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            browser(
                "lifetimes",
                json!({"refresh_token_idle_ttl": 7200, "refresh_token_absolute_ttl": 3600}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            browser("kind", json!("native")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            service("scope", json!("openid products:read")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            service("scope", json!("admin")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            service("redirect_uris", json!(["https://a.example/cb"])),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_redirect_uri",
        ),
        (
            service("refresh_tokens", json!(true)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
        (
            service("name", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_client_metadata",
        ),
    ];
    for (body, status, error) in cases {
        let response = app
            .admin(Method::POST, "/admin/clients", &token, Some(body.clone()))
            .await;
        assert_eq!(refused(response).await, (status, error.into()), "{body}");
    }
    let patches: Vec<(&str, Value, StatusCode)> = vec![
        (
            "second-app",
            json!({"grant_types": ["client_credentials"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "second-app",
            json!({"grant_types": ["refresh_token"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "second-app",
            json!({"grant_types": ["authorization_code", "authorization_code"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "second-app",
            json!({"grant_types": ["password"]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "second-app",
            json!({"redirect_uris": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "second-app",
            json!({"secret_hash": "00"}),
            StatusCode::BAD_REQUEST,
        ),
        ("nobody", json!({"name": "x"}), StatusCode::NOT_FOUND),
    ];
    for (id, body, status) in patches {
        let response = app
            .admin(
                Method::PATCH,
                &format!("/admin/clients/{id}"),
                &token,
                Some(body.clone()),
            )
            .await;
        assert_eq!(refused(response).await.0, status, "{body}");
    }
    for (method, path, status) in [
        (
            Method::POST,
            "/admin/clients/second-app/secret",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::POST,
            "/admin/clients/nobody/secret",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            "/admin/clients/demo-spa",
            StatusCode::CONFLICT,
        ),
        (
            Method::DELETE,
            "/admin/clients/nobody",
            StatusCode::NOT_FOUND,
        ),
        (
            Method::DELETE,
            "/admin/scopes/nonexistent",
            StatusCode::NOT_FOUND,
        ),
        (Method::DELETE, "/admin/scopes/openid", StatusCode::CONFLICT),
    ] {
        let response = app.admin(method.clone(), path, &token, None).await;
        assert_eq!(refused(response).await.0, status, "{method} {path}");
    }
    let scope_cases: Vec<(Value, StatusCode)> = vec![
        (
            json!({"name": "has space", "description": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "quote\"d", "description": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "", "description": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "ok", "description": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "ok", "description": "d".repeat(201)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"name": "products:read", "description": "again"}),
            StatusCode::CONFLICT,
        ),
    ];
    for (body, status) in scope_cases {
        let response = app
            .admin(Method::POST, "/admin/scopes", &token, Some(body.clone()))
            .await;
        assert_eq!(refused(response).await.0, status, "{body}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);

    // A change keeps what is not given, and the consent wording is the scope's description.
    let described = app
        .admin(
            Method::PATCH,
            "/admin/scopes/products:read",
            &token,
            Some(json!({"description": "Look at what the shop sells"})),
        )
        .await;
    assert_eq!(
        json_of(described, StatusCode::OK).await["description"],
        "Look at what the shop sells"
    );
    let renamed = app
        .admin(
            Method::PATCH,
            "/admin/clients/second-app",
            &token,
            Some(json!({"name": "Renamed"})),
        )
        .await;
    let renamed = json_of(renamed, StatusCode::OK).await;
    assert_eq!(renamed["name"], "Renamed");
    assert_eq!(renamed["redirect_uris"], json!([redirect]));
}

#[tokio::test]
async fn api_tokens_through_the_admin_api() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let created = json_of(
        app.admin(
            Method::POST,
            "/admin/tokens",
            &token,
            Some(
                json!({"username": "user0", "name": "laptop", "scope": "orders:read products:read",
                        "expires_in_days": 30}),
            ),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let api_token = created["token"].as_str().unwrap();
    assert!(api_token.starts_with("amt_"));
    assert_eq!(created["api_token"]["state"], "active");
    let id = created["api_token"]["id"].as_str().unwrap().to_owned();
    let whoami = json_of(
        app.http
            .get(app.url("/api/whoami"))
            .header("authorization", format!("Token {api_token}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(whoami["auth_scheme"], "Token");
    let listed = json_of(
        app.admin(Method::GET, "/admin/tokens?username=user0", &token, None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&api_token[21..]),
        "never the secret"
    );

    let before = storage_fingerprint(&app).await;
    let cases: Vec<(Value, StatusCode)> = vec![
        (
            json!({"username": "user0", "name": "laptop", "scope": "orders:read"}),
            StatusCode::CONFLICT,
        ),
        (
            json!({"username": "nobody", "name": "x", "scope": "orders:read"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": "admin"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": "openid"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "", "scope": "orders:read"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": "orders:read", "expires_in_days": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": "orders:read", "expires_in_days": 99999}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"username": "user0", "name": "x", "scope": "orders:read", "secret": "mine"}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, status) in cases {
        let response = app
            .admin(Method::POST, "/admin/tokens", &token, Some(body.clone()))
            .await;
        assert_eq!(refused(response).await.0, status, "{body}");
    }
    for (path, status) in [
        ("/admin/tokens?username=nobody", StatusCode::NOT_FOUND),
        ("/admin/tokens?user=user0", StatusCode::BAD_REQUEST),
        (
            "/admin/tokens?username=user0&username=user1",
            StatusCode::BAD_REQUEST,
        ),
        ("/admin/events?limit=0", StatusCode::BAD_REQUEST),
        ("/admin/events?limit=1001", StatusCode::BAD_REQUEST),
        ("/admin/events?since=yesterday", StatusCode::BAD_REQUEST),
    ] {
        let response = app.admin(Method::GET, path, &token, None).await;
        assert_eq!(refused(response).await.0, status, "{path}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);

    let revoked = app
        .admin(Method::DELETE, &format!("/admin/tokens/{id}"), &token, None)
        .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let again = app
        .admin(Method::DELETE, &format!("/admin/tokens/{id}"), &token, None)
        .await;
    assert_eq!(refused(again).await.0, StatusCode::CONFLICT);
    let unknown = app
        .admin(
            Method::DELETE,
            "/admin/tokens/0000000000000000",
            &token,
            None,
        )
        .await;
    assert_eq!(refused(unknown).await.0, StatusCode::NOT_FOUND);
    let refused_use = app
        .http
        .get(app.url("/api/whoami"))
        .header("authorization", format!("Token {api_token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused_use.status(), StatusCode::UNAUTHORIZED);

    // An administrator's API token with the admin scope drives the admin API headlessly.
    let automation = json_of(
        app.admin(
            Method::POST,
            "/admin/tokens",
            &token,
            Some(json!({"username": "admin", "name": "automation", "scope": "admin"})),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let events = app
        .http
        .get(app.url("/admin/events?kind=api_token_revoked"))
        .header(
            "authorization",
            format!("Token {}", automation["token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    let events = json_of(events, StatusCode::OK).await;
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert!(events[0]["detail"].as_str().unwrap().contains(&id));
}

#[tokio::test]
async fn keys_are_listed_and_rotated_without_private_material() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let keys = json_of(
        app.admin(Method::GET, "/admin/keys", &token, None).await,
        StatusCode::OK,
    )
    .await;
    let text = keys.to_string();
    assert!(
        !text.contains("private") && !text.contains("\"d\""),
        "{text}"
    );
    let current = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "current" && k["alg"] == "ES256")
        .unwrap()["kid"]
        .clone();
    // The next key is too young to sign: refused with the reason, then forced.
    let early = app
        .admin(Method::POST, "/admin/keys/rotate", &token, None)
        .await;
    let (status, _, why) = oauth_error(early).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(why.contains("published for"), "{why}");
    let bad = app
        .http
        .post(app.url("/admin/keys/rotate"))
        .bearer_auth(&token)
        .body("{\"force\": \"yes\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused(bad).await.0, StatusCode::BAD_REQUEST);
    let rotated = json_of(
        app.admin(
            Method::POST,
            "/admin/keys/rotate",
            &token,
            Some(json!({"force": true})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let kinds: Vec<&str> = rotated["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    // Both algorithms' keys (ES256 for access tokens, RS256 for ID tokens) rotate together.
    assert_eq!(
        kinds,
        ["key_retired", "key_activated", "key_created"].repeat(2)
    );
    // This instance signs with the new key at once.
    let fresh = app.service_token().await;
    let kid = jwt_part(&fresh, 0)["kid"].clone();
    assert_ne!(kid, current);
    let now_current = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["state"] == "current" && k["alg"] == "ES256")
        .unwrap()["kid"]
        .clone();
    assert_eq!(kid, now_current);
}

#[tokio::test]
async fn the_command_line_runs_the_same_operations() {
    let app = spawn_app().await;
    let out = app
        .cli(&[
            "users",
            "create",
            "--username",
            "ops",
            "--name",
            "Ops Person",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let password = printed
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    let tokens = app.login_tokens("ops", &password, "openid admin").await;
    assert_eq!(tokens["scope"], "admin openid");

    let out = app
        .cli(&[
            "scopes",
            "create",
            "AccessAll",
            "--description",
            "All reports",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app
        .cli(&[
            "clients",
            "create",
            "--kind",
            "service",
            "--name",
            "Nightly",
            "--id",
            "nightly",
            "--scope",
            "AccessAll",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let secret = printed
        .lines()
        .find_map(|l| l.strip_prefix("client secret: "))
        .unwrap();
    let issued = client_credentials(&app, "nightly", secret, "AccessAll").await;
    assert_eq!(issued.status(), StatusCode::OK);

    let out = app.cli(&["users", "update", "user1", "--disable"]).await;
    assert!(out.status.success());
    let listed = app.cli(&["users", "list", "--json"]).await;
    let listed = String::from_utf8(listed.stdout).unwrap();
    let user1: Value = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|u| u["username"] == "user1")
        .unwrap();
    assert_eq!(user1["disabled"], true);

    // Refusals exit non-zero with the same reasons as the API.
    for args in [
        vec![
            "users",
            "create",
            "--username",
            "ops",
            "--name",
            "x",
            "--email",
            "x@y.z",
        ],
        vec!["users", "update", "nobody", "--enable"],
        vec!["clients", "delete", "demo-spa"],
        vec![
            "clients",
            "create",
            "--kind",
            "browser",
            "--name",
            "x",
            "--scope",
            "openid",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        vec!["scopes", "delete", "openid"],
    ] {
        let out = app.cli(&args).await;
        assert!(!out.status.success(), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let events = app.events("client_created", 1).await;
    assert!(events[0].detail.ends_with("(command line)"));
    assert_eq!(events[0].user_id, None);
}

#[tokio::test]
async fn the_app_origin_may_call_the_admin_api() {
    let app = spawn_app().await;
    for method in ["PATCH", "DELETE"] {
        let preflight = app
            .http
            .request(Method::OPTIONS, app.url("/admin/clients/x"))
            .header("origin", &app.app)
            .header("access-control-request-method", method)
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::OK);
        let allowed = preflight
            .headers()
            .get("access-control-allow-methods")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(allowed.contains(method), "{allowed}");
    }
}
