use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn hello_answers_everyone() {
    let app = spawn_app().await;
    let r = app.get_api("/api/hello", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["authenticated"], false);
    let token = app.service_token().await;
    let r = app.get_api("/api/hello", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["authenticated"], true);
    let r = app.get_api("/api/hello", Some("fake")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["authenticated"], false);
    assert!(body["message"].as_str().unwrap().contains("not accepted"));
}

#[tokio::test]
async fn whoami_needs_a_token() {
    let app = spawn_app().await;
    let r = app.get_api("/api/whoami", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // RFC 6750 §3.1: no error code when no credentials were sent.
    assert_eq!(
        www_authenticate(&r),
        format!(
            r#"Bearer realm="api", resource_metadata="{}/.well-known/oauth-protected-resource/api/whoami""#,
            app.api
        )
    );

    let service = app.service_token().await;
    let body: Value = app
        .get_api("/api/whoami", Some(&service))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["subject"], SERVICE);
    assert_eq!(body["subject_type"], "client");
    assert_eq!(body["scope"], "products:read");
    assert_eq!(body["auth_scheme"], "Bearer");

    let user = app.user_token().await;
    let body: Value = app
        .get_api("/api/whoami", Some(&user))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["subject_type"], "user");
    assert_eq!(body["client_id"], SPA);
}

#[tokio::test]
async fn me_returns_the_logged_in_user() {
    let app = spawn_app().await;
    let user = app.user_token().await;
    let r = app.get_api("/api/me", Some(&user)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["username"], "user0");
    assert_eq!(me["name"], "User Number 0");
    assert_eq!(me["email"], "user0@example.com");
    assert_eq!(me["user_id"], jwt_part(&user, 1)["sub"]);

    // A client acting for itself has no user.
    let service = app.service_token().await;
    let r = app.get_api("/api/me", Some(&service)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&r).contains("insufficient_scope"));
}

#[tokio::test]
async fn products_need_products_read() {
    let app = spawn_app().await;
    let service = app.service_token().await;
    let r = app.get_api("/api/products", Some(&service)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let products: Vec<Value> = r.json().await.unwrap();
    assert!(products.len() >= 12);
    assert!(
        products
            .iter()
            .all(|p| p["name"].is_string() && p["price_cents"].is_i64())
    );

    let orders_only = app.user_tokens("orders:read").await;
    let r = app
        .get_api("/api/products", orders_only["access_token"].as_str())
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let challenge = www_authenticate(&r);
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"products:read\""),
        "{challenge}"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "insufficient_scope"
    );

    assert_eq!(
        app.get_api("/api/products", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn post_order(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/orders"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn orders_are_stored_and_private() {
    let app = spawn_app().await;
    let user0 = app.user_token().await;
    let r = post_order(&app, &user0, json!({"product_id": 2, "quantity": 3})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let order: Value = r.json().await.unwrap();
    assert_eq!(order["product_id"], 2);
    assert_eq!(order["quantity"], 3);
    assert_eq!(
        order["total_cents"],
        order["unit_price_cents"].as_i64().unwrap() * 3
    );
    assert_eq!(order["product_name"], "Merino Beanie");

    let mine: Vec<Value> = app
        .get_api("/api/orders", Some(&user0))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], order["id"]);

    // user1 sees only their own (none).
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, ALL_USER_SCOPES, "user1", "password1")
        .await;
    let user1: Value = app.redeem(&code, &auth).await.json().await.unwrap();
    let theirs: Vec<Value> = app
        .get_api("/api/orders", user1["access_token"].as_str())
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs.is_empty());
}

#[tokio::test]
async fn bad_orders_store_nothing() {
    let app = spawn_app().await;
    let user = app.user_token().await;
    let cases = [
        (
            json!({"product_id": 9999, "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_product",
        ),
        (
            json!({"product_id": 1, "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"product_id": 1, "quantity": -5}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"product_id": 1, "quantity": 101}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_quantity",
        ),
        (
            json!({"product_id": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"product_id": "1", "quantity": 1}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"product_id": 1, "quantity": 1.5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"product_id": 1, "quantity": 1e30}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (json!([1, 2]), StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (body, status, error) in cases {
        let r = post_order(&app, &user, body.clone()).await;
        assert_eq!(r.status(), status, "{body}");
        let json: Value = r.json().await.unwrap();
        assert_eq!(json["error"], error, "{body}");
        assert!(
            json["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    let raw = |body: &'static str, content_type: &'static str| {
        app.http
            .post(app.url("/api/orders"))
            .bearer_auth(&user)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(
        raw("{not json", "application/json").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        raw(
            "product_id=1&quantity=1",
            "application/x-www-form-urlencoded"
        )
        .await
        .unwrap()
        .status(),
        StatusCode::BAD_REQUEST
    );
    let huge = format!(
        "{{\"product_id\": 1, \"quantity\": 1, \"pad\": \"{}\"}}",
        "x".repeat(100_000)
    );
    let r = app
        .http
        .post(app.url("/api/orders"))
        .bearer_auth(&user)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Without orders:write: 403 before the body is even looked at.
    let service = app.service_token().await;
    let r = post_order(&app, &service, json!({"product_id": 1, "quantity": 1})).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&r).contains("scope=\"orders:write\""));

    assert_eq!(app.db.count("orders").await.unwrap(), 0);
}

#[tokio::test]
async fn malformed_authorization_headers() {
    let app = spawn_app().await;
    let token = app.service_token().await;
    let send = |value: String| {
        app.http
            .get(app.url("/api/whoami"))
            .header("authorization", value)
            .send()
    };
    assert_eq!(
        send(format!("bearer {token}")).await.unwrap().status(),
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    for bad in [
        "Bearer".to_owned(),
        "Bearer ".into(),
        format!("Basic {token}"),
        format!("Bearer {token} extra"),
        "Bearer a\u{7f}b".into(),
    ] {
        let r = send(bad.clone()).await;
        let Ok(r) = r else { continue }; // some values cannot even be sent
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(www_authenticate(&r).contains("invalid_request"), "{bad}");
    }
    let r = app
        .http
        .get(app.url("/api/whoami"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn no_token_ever_causes_a_server_error() {
    let app = spawn_app().await;
    let hostile = [
        "..",
        "...",
        "....",
        "e30.e30.e30",
        "eyJhbGciOiJFUzI1NiJ9..",
        "=",
        "====",
        "a.b.c=",
        "%00",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJleHAiOiJub3QgYSBudW1iZXIifQ.AAAA",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6W119.e30.AAAA",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ilx1MDAwMCJ9.e30.AAAA",
    ];
    for token in hostile {
        for path in [
            "/api/whoami",
            "/api/products",
            "/api/orders",
            "/api/me",
            "/api/hello",
        ] {
            let r = app.get_api(path, Some(token)).await;
            assert!(
                !r.status().is_server_error(),
                "{path} {token}: {}",
                r.status()
            );
        }
    }
}
