//! `X-Request-Id` on every answer of both origins, whatever the status and whoever wrote it
//! (a handler, an extractor, a limit, the router); a caller's well-formed id is kept, anything
//! else replaced.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn every_answer_carries_one_and_a_callers_well_formed_id_is_kept() {
    let app = spawn_app().await;
    let huge = "x".repeat(20_000);
    let big_body = "a".repeat(100_000);
    let calls = [
        (Method::GET, app.url("/api/hello"), StatusCode::OK),
        (
            Method::GET,
            app.url("/api/whoami"),
            StatusCode::UNAUTHORIZED,
        ),
        (Method::GET, app.url("/nowhere"), StatusCode::NOT_FOUND),
        (
            Method::DELETE,
            app.url("/token"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::POST,
            app.url("/token"),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (Method::GET, app.url("/healthz"), StatusCode::OK),
        (
            Method::GET,
            format!("{}/config.json", app.app),
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("{}/products", app.app),
            StatusCode::NOT_FOUND,
        ),
    ];
    let mut seen = HashSet::new();
    for (method, url, status) in calls {
        let mut request = app.http.request(method.clone(), &url);
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(big_body.clone());
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status, "{method} {url}");
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert!(
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)),
            "{id}"
        );
        assert!(seen.insert(id), "ids repeat");
    }
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("x-padding", &huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert!(r.headers().contains_key("x-request-id"));

    for kept in [
        "lb-7f3a",
        "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
        "edge:12.3_x",
    ] {
        let r = app
            .http
            .get(app.url("/api/hello"))
            .header("x-request-id", kept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-request-id"], kept);
    }
    let long = "a".repeat(65);
    for replaced in ["has space", "<script>", "quote\"d", long.as_str(), "ünï"] {
        let r = app
            .http
            .get(app.url("/api/hello"))
            .header("x-request-id", replaced)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, replaced);
    }
    // Two ids at once: neither is trusted.
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("x-request-id", "one")
        .header("x-request-id", "two")
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert!(id != "one" && id != "two", "{id}");
}
