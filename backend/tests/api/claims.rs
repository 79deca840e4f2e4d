//! Custom claims of custom authorization servers: carried with their scopes (or always) in the
//! server's access tokens and in its token preview, never overriding the claims the server sets
//! itself, checked as a whole by the admin API, managed on the command line.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::admin::TokenPreview;

use crate::helpers::{TestApp, jwt_part, oauth_error, spawn_app, storage_fingerprint};

const SERVICE: &str = "demo-service";
const SERVICE_SECRET: &str = "demo-service-secret";

async fn put_claims(app: &TestApp, admin: &str, server: &str, claims: Value) -> reqwest::Response {
    app.admin(
        Method::PUT,
        &format!("/admin/servers/{server}/claims"),
        admin,
        Some(json!({ "claims": claims })),
    )
    .await
}

/// The claims of a client-credentials token from server `server`, asking for `scope`.
async fn token_claims(
    app: &TestApp,
    server: &str,
    credentials: (&str, &str),
    scope: &str,
) -> (String, Value) {
    let response = app
        .http
        .post(app.url(&format!("/oauth2/{server}/v1/token")))
        .basic_auth(credentials.0, Some(credentials.1))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{scope}");
    let token = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let claims = jwt_part(&token, 1);
    (token, claims)
}

#[tokio::test]
async fn claims_ride_with_their_scopes_in_tokens_and_previews() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(
                json!({"kind": "service", "name": "batch", "client_id": "batch",
                        "scope": "products:read orders:read"}),
            ),
        )
        .await;
    let secret: Value = created.json().await.unwrap();
    let batch = ("batch", secret["client_secret"].as_str().unwrap());
    let response = put_claims(
        &app,
        &admin,
        "default",
        json!([
            {"name": "tier", "value": "gold"},
            {"name": "https://example.com/regions", "scopes": "orders:read orders:write", "value": ["eu", "us"]},
            {"name": "limit", "scopes": "products:read", "value": 100},
        ]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let stored: Value = response.json().await.unwrap();
    assert_eq!(stored["claims"][1]["value"], json!(["eu", "us"]));
    let logged = app.events("claims_updated", 1).await;
    assert_eq!(
        logged[0].detail,
        "authorization server default: 3 custom claims (tier, https://example.com/regions, limit) \
         (admin API)"
    );

    let (_, orders) = token_claims(&app, "default", batch, "orders:read").await;
    assert_eq!(orders["tier"], "gold");
    assert_eq!(orders["https://example.com/regions"], json!(["eu", "us"]));
    assert!(orders.get("limit").is_none());
    let (token, catalogue) = token_claims(&app, "default", batch, "products:read").await;
    assert_eq!(
        (&catalogue["tier"], &catalogue["limit"]),
        (&json!("gold"), &json!(100))
    );
    assert!(catalogue.get("https://example.com/regions").is_none());
    // The claims the server sets are its own.
    assert_eq!(catalogue["sub"], "batch");
    assert_eq!(catalogue["scope"], "products:read");
    // The API takes the token as any other of its audience.
    let whoami = app
        .http
        .get(app.url("/api/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
    // The root issuer has no custom claims.
    let root = app
        .client_credentials(None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        jwt_part(root["access_token"].as_str().unwrap(), 1)
            .get("tier")
            .is_none()
    );

    // The preview shows them as the token carries them.
    let shown: TokenPreview = app
        .admin(
            Method::POST,
            "/admin/preview",
            &admin,
            Some(json!({"server": "default", "client_id": "batch",
                        "grant_type": "client_credentials", "scope": "orders:read"})),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&shown.custom_claims).unwrap(),
        json!({"tier": "gold", "https://example.com/regions": ["eu", "us"]})
    );
}

#[tokio::test]
async fn bad_claims_are_refused_whole_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.user_token().await;
    let before = storage_fingerprint(&app).await;
    for (claims, says) in [
        (
            json!([{"name": "sub", "value": "x"}]),
            "\"sub\" is the claim \"sub\", which this server sets itself",
        ),
        (
            json!([{"name": "scope", "value": "admin"}]),
            "cannot be a custom claim",
        ),
        (
            json!([{"name": "client_id", "value": "other"}]),
            "cannot be a custom claim",
        ),
        // Some JSON readers match names in any letter case.
        (
            json!([{"name": "SUB", "value": "x"}]),
            "is the claim \"sub\"",
        ),
        (
            json!([{"name": "Email", "value": "a@b.c"}]),
            "is the claim \"email\"",
        ),
        (
            json!([{"name": "tier", "value": 1}, {"name": "TIER", "value": 2}]),
            "two claims are named \"TIER\" and \"tier\"",
        ),
        (json!([{"name": "a b", "value": 1}]), "letters, digits"),
        (json!([{"name": "", "value": 1}]), "1 to 100"),
        (json!([{"name": "x".repeat(101), "value": 1}]), "1 to 100"),
        (
            json!([{"name": "tier", "value": 1}, {"name": "tier", "value": 2}]),
            "two claims are named \"tier\"",
        ),
        (
            json!([{"name": "tier", "scopes": "nope:read", "value": 1}]),
            "claim \"tier\": authorization server default offers no scope \"nope:read\"",
        ),
        (
            json!([{"name": "tier", "scopes": "", "value": 1}]),
            "scopes lists no scope",
        ),
        (
            json!([{"name": "tier", "value": null}]),
            "needs a value (a constant), a user_attribute",
        ),
        (
            json!([{"name": "tier"}]),
            "needs a value (a constant), a user_attribute (one of username, name, email, role, \
             groups) or a custom_attribute",
        ),
        (
            json!([{"name": "tier", "value": 1, "user_attribute": "email"}]),
            "has more than one of value, user_attribute and custom_attribute",
        ),
        (
            json!([{"name": "tier", "user_attribute": "email", "custom_attribute": "tier"}]),
            "has more than one of value, user_attribute and custom_attribute",
        ),
        (
            json!([{"name": "tier", "custom_attribute": "Email"}]),
            "claim \"tier\": \"Email\" is the attribute email every user has",
        ),
        (
            json!([{"name": "tier", "custom_attribute": "a b"}]),
            "claim \"tier\": a custom attribute's name is a letter",
        ),
        (
            json!([{"name": "tier", "custom_attribute": ""}]),
            "a custom attribute's name is a letter",
        ),
        // A custom attribute's 100 characters may each take 4 bytes: two fit, three do not.
        (
            json!(
                (0..3)
                    .map(|i| json!({"name": format!("c{i}"), "custom_attribute": "department"}))
                    .collect::<Vec<_>>()
            ),
            "the limit is reached at claim \"c2\"",
        ),
        (
            json!(
                (0..3)
                    .map(|i| json!({"name": format!("n{i}"), "user_attribute": "name"}))
                    .collect::<Vec<_>>()
            ),
            "the limit is reached at claim \"n2\"",
        ),
        // An address JSON escapes at every character (`"` or `\`) takes 510 bytes: two of them
        // do not fit.
        (
            json!([
                {"name": "e0", "user_attribute": "email"},
                {"name": "e1", "user_attribute": "email"}
            ]),
            "the limit is reached at claim \"e1\"",
        ),
        (
            json!([{"name": "tier", "value": {"nested": true}}]),
            "must be a string",
        ),
        (
            json!([{"name": "tier", "value": [1, 2]}]),
            "list of strings",
        ),
        (
            json!([{"name": "tier", "value": "x".repeat(1020)}]),
            "more than 1024 bytes of JSON to every token (the limit is reached at claim \"tier\")",
        ),
        (
            json!(
                (0..3)
                    .map(|i| json!({"name": format!("c{i}"), "value": "x".repeat(400)}))
                    .collect::<Vec<_>>()
            ),
            "the limit is reached at claim \"c2\"",
        ),
        (
            json!(
                (0..21)
                    .map(|i| json!({"name": format!("c{i}"), "value": i}))
                    .collect::<Vec<_>>()
            ),
            "at most 20",
        ),
    ] {
        let response = put_claims(&app, &admin, "default", claims.clone()).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_claim"),
            "{claims}: {description}"
        );
        assert!(description.contains(says), "{claims}: {description}");
    }
    for body in [
        json!({"claims": [{"name": "tier", "value": 1, "token": "refresh"}]}),
        json!({"claims": [{"name": "tier", "user_attribute": "password_hash"}]}),
        json!({"claims": [{"name": "tier", "custom_attribute": 7}]}),
        json!({"claims": {"name": "tier"}}),
        json!([{"name": "tier", "value": 1}]),
        json!({"claims": [{"name": "tier", "value": 1, "scopes": "a\"b"}]}),
    ] {
        let response = app
            .admin(
                Method::PUT,
                "/admin/servers/default/claims",
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let missing = put_claims(&app, &admin, "nope", json!([])).await;
    let (status, _, description) = oauth_error(missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(description.contains("no authorization server"));
    let listed = app
        .admin(Method::GET, "/admin/servers/nope/claims", &admin, None)
        .await;
    assert_eq!(listed.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        put_claims(&app, &user, "default", json!([])).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    // Nothing was added to the default server's tokens.
    let (_, claims) =
        token_claims(&app, "default", (SERVICE, SERVICE_SECRET), "products:read").await;
    assert!(claims.get("tier").is_none());
}

#[tokio::test]
async fn the_command_line_manages_claims_and_a_deleted_server_takes_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("claims.json");
    std::fs::write(
        &file,
        r#"{"claims": [{"name": "tier", "value": "silver"}]}"#,
    )
    .unwrap();
    let out = app
        .cli(&[
            "servers",
            "set-claims",
            "default",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "authorization server default now has 1 custom claims\n"
    );
    let shown = app.cli(&["servers", "claims", "default"]).await;
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        shown,
        json!({"claims": [{"name": "tier", "value": "silver"}]})
    );
    // Carried at once by the running server: claims are read per token.
    let (_, claims) =
        token_claims(&app, "default", (SERVICE, SERVICE_SECRET), "products:read").await;
    assert_eq!(claims["tier"], "silver");
    std::fs::write(&file, r#"{"claims": [{"name": "iss", "value": "evil"}]}"#).unwrap();
    let bad = app
        .cli(&[
            "servers",
            "set-claims",
            "default",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot be a custom claim"));

    let deleted = app
        .admin(Method::DELETE, "/admin/servers/default", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(app.db.custom_claims("default").await.unwrap().is_empty());
}

/// Claims filling the whole budget still make tokens this server, and its API, accept.
#[tokio::test]
async fn a_full_budget_of_claims_still_makes_tokens_the_api_accepts() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // 20 claims of 51 bytes each as counted (`"c00":` and 42 x in quotes and a comma): 1020 of
    // the 1024 bytes.
    let claims: Vec<Value> = (0..20)
        .map(|i| json!({"name": format!("c{i:02}"), "value": "x".repeat(42)}))
        .collect();
    let response = put_claims(&app, &admin, "default", json!(claims)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (token, carried) =
        token_claims(&app, "default", (SERVICE, SERVICE_SECRET), "products:read").await;
    assert_eq!(carried["c19"], "x".repeat(42));
    let whoami = app
        .http
        .get(app.url("/api/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        whoami.status(),
        StatusCode::OK,
        "a {}-byte token",
        token.len()
    );
    let introspected: Value = app
        .http
        .post(app.url("/oauth2/default/v1/introspect"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true);
    // Five bytes more are refused.
    let mut over = claims;
    over[19]["value"] = json!("x".repeat(47));
    let (_, error, _) = oauth_error(put_claims(&app, &admin, "default", json!(over)).await).await;
    assert_eq!(error, "invalid_claim");
}
