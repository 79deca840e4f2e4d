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
        assert!(
            headers.contains("authorization")
                && headers.contains("content-type")
                && headers.contains("dpop"),
            "{headers}"
        );
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
    for header in [
        "www-authenticate",
        "retry-after",
        "x-request-id",
        "dpop-nonce",
    ] {
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

/// Demo mode keeps the preflights each origin caused, with the headers that answered them,
/// because the page that caused them cannot see them.
#[tokio::test]
async fn preflights_are_shown_to_their_origin() {
    let app = spawn_app().await;
    let preflight = |origin: String, method: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/orders?x=1"))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let answered = preflight(app.app.clone(), "POST").await.unwrap();
    let request_id = answered.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    preflight("http://evil.example".into(), "DELETE")
        .await
        .unwrap();
    // An OPTIONS request without Access-Control-Request-Method is no preflight.
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/api/orders"))
        .header("origin", &app.app)
        .send()
        .await
        .unwrap();

    let read = |query: &'static str, origin: Option<String>| {
        let mut request = app
            .http
            .get(app.url(&format!("/api/cors/preflights{query}")));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    // From the app's origin, as the app reads it (a simple GET: no preflight of its own).
    let r = read("", Some(app.app.clone())).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["origin"], app.app.as_str());
    let seen = body["preflights"].as_array().unwrap();
    assert_eq!(seen.len(), 1, "{body}");
    assert_eq!(seen[0]["path"], "/api/orders");
    assert_eq!(seen[0]["request_method"], "POST");
    assert_eq!(seen[0]["request_headers"], "authorization");
    assert_eq!(seen[0]["status"], 200);
    assert_eq!(seen[0]["request_id"], request_id.as_str());
    let headers: Vec<(String, String)> =
        serde_json::from_value(seen[0]["response_headers"].clone()).unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        header("access-control-allow-origin"),
        Some(app.app.as_str())
    );
    assert!(
        header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert_eq!(header("access-control-max-age"), Some("600"));

    // Another origin's refused preflight: no Access-Control-* header answered it.
    let r = read("?origin=http://evil.example", None).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    let seen = body["preflights"].as_array().unwrap();
    assert_eq!(seen.len(), 1, "{body}");
    assert_eq!(seen[0]["request_method"], "DELETE");
    let headers = seen[0]["response_headers"].as_array().unwrap();
    assert!(
        headers
            .iter()
            .all(|h| !h[0].as_str().unwrap().starts_with("access-control-")),
        "{body}"
    );
    let r = read("?origin=http://nobody.example", None).await.unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["preflights"], serde_json::json!([]));

    // Without an origin, or with a parameter it does not know: 400 saying what to send.
    for query in ["", "?origin=a&origin=b", "?who=me"] {
        let r = read(query, None).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{query}");
        assert!(body["error_description"].as_str().unwrap().len() > 20);
    }
}
