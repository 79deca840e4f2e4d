//! Trusted external issuers: another deployment of this server (a real OpenID provider with
//! discovery and a JWKS, over real HTTP) trusted by the API, its tokens accepted for what they
//! grant and never for this server's users or admin API; every bad definition refused with what
//! to fix and nothing stored. node-oidc-provider plays the external provider in the end-to-end
//! suite (tests/e2e/trusted-issuer.test.mjs).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, jwt_part, oauth_error, spawn_app, spawn_app_with, storage_fingerprint,
};

fn definition(provider: &TestApp) -> Value {
    json!({
        "id": "partner",
        "name": "Partner shop",
        "issuer": provider.api,
        "audience": "api://default",
    })
}

async fn trust(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.admin(Method::POST, "/admin/issuers", admin, Some(body))
        .await
}

async fn description(response: reqwest::Response) -> String {
    let (status, error, description) = oauth_error(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{description}");
    assert_eq!(error, "invalid_token");
    description
}

#[tokio::test]
async fn another_deployment_as_a_trusted_issuer_calls_the_api_and_nothing_else() {
    let (app, provider) = tokio::join!(spawn_app(), spawn_app());
    let admin = app.admin_token().await;
    let token = provider.service_token().await;

    // Not trusted yet: the refusal names the issuer seen and the issuers trusted.
    let refused = description(app.get_api("/api/products", Some(&token)).await).await;
    assert!(
        refused.contains(&format!(
            "issued by {:?}, an issuer this API does not trust",
            provider.api
        )) && refused.contains(&app.api),
        "{refused}"
    );

    let response = trust(&app, &admin, definition(&provider)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["issuer"], provider.api.as_str());
    assert_eq!(added["algorithms"], json!(["RS256"]));
    assert_eq!(
        added["status"]["jwks_uri"],
        provider.url("/jwks.json").as_str()
    );
    let logged = app.events("issuer_trusted", 1).await;
    assert!(logged[0].detail.contains("partner"), "{}", logged[0].detail);

    // The provider's root issuer signs ES256: a definition allowing RS256 only refuses it.
    let refused = description(app.get_api("/api/products", Some(&token)).await).await;
    assert!(
        refused.contains("signed with ES256, but this API accepts RS256"),
        "{refused}"
    );
    let mut es256 = definition(&provider);
    es256["algorithms"] = json!(["ES256", "RS256"]);
    let response = app
        .admin(Method::PUT, "/admin/issuers/partner", &admin, Some(es256))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let products = app.get_api("/api/products", Some(&token)).await;
    assert_eq!(products.status(), StatusCode::OK);
    let whoami: Value = app
        .get_api("/api/whoami", Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["issuer"], provider.api.as_str());
    assert_eq!(whoami["subject_type"], "client");

    // A user of the provider: orders are theirs under the provider, never a local user's;
    // /api/me, userinfo and the admin API are for this server's own users.
    let provider_admin = provider.admin_token().await;
    let user = provider
        .login_tokens(
            "user0",
            "password0",
            "openid profile orders:read orders:write",
        )
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let placed = app
        .http
        .post(app.url("/api/orders"))
        .bearer_auth(&user)
        .json(&json!({"product_id": 1, "quantity": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), StatusCode::CREATED);
    let theirs: Value = app
        .get_api("/api/orders", Some(&user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    let local_user0 = app.user_token().await;
    let local: Value = app
        .get_api("/api/orders", Some(&local_user0))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        local
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["id"] != theirs[0]["id"]),
        "the provider's user0 is not this server's user0"
    );
    let me = app.get_api("/api/me", Some(&user)).await;
    assert_eq!(me.status(), StatusCode::FORBIDDEN);
    // Its refusal is the provider's user's, qualified by the issuer: never a local user's,
    // whatever the provider's `sub` is.
    let sub = jwt_part(&user, 1)["sub"].as_str().unwrap().to_owned();
    let mut at_me = None;
    for _ in 0..100 {
        let refused = app.events("request_refused", 1).await;
        at_me = refused
            .into_iter()
            .find(|e| e.detail.starts_with("GET /api/me "));
        if at_me.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let at_me = at_me.expect("the refusal of /api/me is recorded");
    assert_eq!(
        at_me.user_id.as_deref(),
        Some(format!("{}#{sub}", provider.api).as_str())
    );
    let userinfo = app.get_api("/userinfo", Some(&user)).await;
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    let users = app
        .admin(Method::GET, "/admin/users", &provider_admin, None)
        .await;
    assert_eq!(users.status(), StatusCode::UNAUTHORIZED);

    // RFC 9728: the API's metadata names it; the admin API's does not.
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/api"))
        .await;
    assert!(
        metadata["authorization_servers"]
            .as_array()
            .unwrap()
            .contains(&json!(provider.api)),
        "{metadata}"
    );
    let admin_metadata = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/admin"))
        .await;
    assert_eq!(admin_metadata["authorization_servers"], json!([app.api]));

    // What the instance knows of it, and a refusal counted there and logged.
    let garbage_scope = app.get_api("/api/orders", Some(&token)).await;
    assert_eq!(garbage_scope.status(), StatusCode::FORBIDDEN);
    let listed: Value = app
        .admin(Method::GET, "/admin/issuers", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let status = &listed[0]["status"];
    assert_eq!(status["refusals"], 1, "{listed}");
    assert!(status["last_refusal"].as_str().unwrap().contains("ES256"));
    // Its root issuer's keys: ES256 for access tokens, RS256 for ID tokens, and the next ones.
    assert!(status["kids"].as_array().unwrap().len() >= 2, "{listed}");
    let refusal = app.events("external_token_refused", 1).await;
    assert!(
        refusal[0].detail.contains("trusted issuer partner"),
        "{}",
        refusal[0].detail
    );
    let reread = app
        .admin(Method::POST, "/admin/issuers/partner/refresh", &admin, None)
        .await;
    assert_eq!(reread.status(), StatusCode::OK);

    // Another issuer of the same provider (its custom server `default`, found through RFC
    // 8414): no two trusted issuers share an issuer URL, when one changes as when one is added.
    let mut second = definition(&provider);
    second["id"] = json!("partner-default");
    second["issuer"] = json!(provider.url("/oauth2/default"));
    let added = trust(&app, &admin, second.clone()).await;
    assert_eq!(added.status(), StatusCode::CREATED);
    second["issuer"] = json!(provider.api);
    let before = app.db.trusted_issuers().await.unwrap();
    let clash = app
        .admin(
            Method::PUT,
            "/admin/issuers/partner-default",
            &admin,
            Some(second),
        )
        .await;
    assert_eq!(clash.status(), StatusCode::CONFLICT);
    let clash: Value = clash.json().await.unwrap();
    assert!(
        clash["error_description"]
            .as_str()
            .unwrap()
            .contains("another trusted issuer has the issuer"),
        "{clash}"
    );
    assert_eq!(app.db.trusted_issuers().await.unwrap(), before);
    let removed = app
        .admin(
            Method::DELETE,
            "/admin/issuers/partner-default",
            &admin,
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);

    // On the command line too; removed, it is refused from the next request.
    let out = app.cli(&["issuers", "list"]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&provider.api));
    let removed = app
        .admin(Method::DELETE, "/admin/issuers/partner", &admin, None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let refused = description(app.get_api("/api/products", Some(&token)).await).await;
    assert!(refused.contains("does not trust"), "{refused}");
    app.events("issuer_removed", 1).await;
    let out = app
        .cli(&[
            "issuers",
            "add",
            "partner",
            "--issuer",
            &provider.api,
            "--audience",
            "api://default",
            "--name",
            "Partner",
            "--algorithms",
            "ES256",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        app.get_api("/api/products", Some(&token)).await.status(),
        StatusCode::OK,
        "an issuer added on the command line is trusted by the running server at once"
    );
}

#[tokio::test]
async fn bad_definitions_are_refused_with_what_to_fix_and_nothing_is_stored() {
    let (app, provider) = tokio::join!(spawn_app(), spawn_app());
    let admin = app.admin_token().await;
    let user = app.user_token().await;
    let before = storage_fingerprint(&app).await;
    let issuers_before = app.db.snapshot("trusted_issuers", &[]).await.unwrap();
    let with = |field: &str, value: Value| {
        let mut body = definition(&provider);
        body[field] = value;
        body
    };
    let long = "a".repeat(300);
    for (body, expected) in [
        (with("id", json!("a b")), "the id must be"),
        (with("id", json!("")), "the id must be"),
        (with("name", json!(" ")), "the name must be"),
        (with("issuer", json!("http://idp.example.com")), "https URL"),
        (
            with("issuer", json!("https://idp.example.com/?q=1")),
            "https URL",
        ),
        (
            with("issuer", json!("https://user:pw@idp.example.com")),
            "https URL",
        ),
        (
            with("issuer", json!(format!("https://{long}.example.com"))),
            "https URL",
        ),
        (with("issuer", json!("not a url")), "https URL"),
        (with("issuer", json!(app.api)), "own issuer"),
        (
            with("issuer", json!(format!("{}/oauth2/default", app.api))),
            "own issuer",
        ),
        (with("audience", json!("")), "absolute URI"),
        (with("algorithms", json!([])), "at least one algorithm"),
        (with("algorithms", json!(["HS256"])), "asymmetric only"),
        (with("algorithms", json!(["none"])), "asymmetric only"),
        (with("algorithms", json!(["RS256", "RS256"])), "named twice"),
        (
            with("required_claims", json!({"exp": "1"})),
            "checked for every token",
        ),
        (
            with("required_claims", json!({"a b": "1"})),
            "required claim's name",
        ),
        (
            with("required_claims", json!({"tid": ""})),
            "required value of tid",
        ),
        (
            with("issuer", json!(format!("{}/", provider.api))),
            "must name exactly that issuer",
        ),
        (
            with("issuer", json!("http://127.0.0.1:9/idp")),
            "could not be read, so it was not stored",
        ),
    ] {
        let response = trust(&app, &admin, body.clone()).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error, "invalid_issuer", "{body}");
        assert!(description.contains(expected), "{body}: {description}");
    }
    for (body, expected) in [
        (
            with("scope_claim", json!("scopes")),
            StatusCode::BAD_REQUEST,
        ),
        (with("unknown", json!(1)), StatusCode::BAD_REQUEST),
        (with("name", json!("a\u{0}b")), StatusCode::BAD_REQUEST),
        (json!([definition(&provider)]), StatusCode::BAD_REQUEST),
        (json!({"id": "x"}), StatusCode::BAD_REQUEST),
        (
            with("name", json!("x".repeat(20_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let response = trust(&app, &admin, body.clone()).await;
        assert_eq!(response.status(), expected, "{body}");
    }
    // No such issuer; the body's id must be the path's; without administrator rights.
    for (method, path, body) in [
        (
            Method::PUT,
            "/admin/issuers/nobody",
            Some(with("id", json!("nobody"))),
        ),
        (Method::DELETE, "/admin/issuers/nobody", None),
        (Method::POST, "/admin/issuers/nobody/refresh", None),
    ] {
        let response = app.admin(method, path, &admin, body).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = trust(&app, &user, definition(&provider)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.db.snapshot("trusted_issuers", &[]).await.unwrap(),
        issuers_before
    );
    assert_eq!(storage_fingerprint(&app).await, before);

    // Stored once; the same id or issuer again is a conflict; a mismatched id is refused.
    assert_eq!(
        trust(&app, &admin, definition(&provider)).await.status(),
        StatusCode::CREATED
    );
    let again = trust(&app, &admin, with("id", json!("partner2"))).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let renamed = app
        .admin(
            Method::PUT,
            "/admin/issuers/partner",
            &admin,
            Some(with("id", json!("other"))),
        )
        .await;
    let (status, _, description) = oauth_error(renamed).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(description.contains("cannot change"), "{description}");
}

#[tokio::test]
async fn issuers_of_the_configuration_file_are_trusted_from_the_start() {
    let provider = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("issuers.json");
    let mut declared = definition(&provider);
    declared["algorithms"] = json!(["ES256"]);
    std::fs::write(&file, json!({ "issuers": [declared] }).to_string()).unwrap();
    let app = spawn_app_with(&["--trusted-issuers-file", file.to_str().unwrap()]).await;
    let token = provider.service_token().await;
    assert_eq!(
        app.get_api("/api/products", Some(&token)).await.status(),
        StatusCode::OK
    );
    let logged = app.events("issuer_trusted", 1).await;
    assert!(
        logged[0].detail.ends_with("(configuration file)"),
        "{}",
        logged[0].detail
    );

    // A file that breaks a rule stops the server at start, saying which issuer and why.
    std::fs::write(
        &file,
        json!({"issuers": [{"id": "x", "name": "x", "issuer": "http://idp.example.com", "audience": "api://x"}]})
            .to_string(),
    )
    .unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
    server
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .args(["--trusted-issuers-file", file.to_str().unwrap()])
        .args(["--api-addr", "127.0.0.1:0", "--app-addr", "127.0.0.1:0"]);
    let out = tokio::task::spawn_blocking(move || server.output().unwrap())
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"issuer "x""#) && stderr.contains("https URL"),
        "{stderr}"
    );
}
