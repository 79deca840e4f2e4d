use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn preflight_from_the_app_origin_is_allowed() {
    let app = spawn_app().await;
    for path in ["/api/products", "/api/orders", "/token"] {
        let r = app
            .http
            .request(reqwest::Method::OPTIONS, app.url(path))
            .header("origin", &app.app)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], app.app.as_str());
        let methods = h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_ascii_uppercase();
        assert!(methods.contains("GET") && methods.contains("POST"));
        let headers = h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(headers.contains("authorization") && headers.contains("content-type"));
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(
            h["vary"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("origin")
        );
    }
}

#[tokio::test]
async fn actual_requests_from_the_app_origin_get_cors_headers() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("origin", &app.app)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], app.app.as_str());
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    // The app may read the challenge and the request id of an answer.
    for header in ["www-authenticate", "retry-after", "x-request-id"] {
        assert!(exposed.contains(header), "{exposed}");
    }
}

#[tokio::test]
async fn other_origins_get_no_cors_headers() {
    let app = spawn_app().await;
    for origin in [
        "http://evil.example",
        "null",
        &app.app.replace("127.0.0.1", "localhost"),
        &format!("{}.evil.example", app.app),
    ] {
        let preflight = app
            .http
            .request(reqwest::Method::OPTIONS, app.url("/api/products"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
            .await
            .unwrap();
        let simple = app
            .http
            .get(app.url("/api/hello"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        for r in [preflight, simple] {
            let cors: Vec<_> = r
                .headers()
                .keys()
                .filter(|k| k.as_str().starts_with("access-control-"))
                .collect();
            assert!(cors.is_empty(), "{origin}: {cors:?}");
        }
    }
}

#[tokio::test]
async fn configured_origins_replace_the_default() {
    let app = spawn_app_with(&["--allowed-origins", "https://shop.example"]).await;
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("origin", &app.app)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
