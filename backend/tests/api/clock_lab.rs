//! The clock lab (demo mode): moving the server's clock expires tokens as the passing of time
//! would, a refresh token carries on, and bad input changes nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn moving_the_clock_expires_access_tokens_and_refresh_carries_on() {
    let app = spawn_app().await;
    let tokens = app.user_tokens("openid offline_access products:read").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let clock = |method: reqwest::Method, body: Option<Value>| {
        let mut request = app
            .http
            .request(method, app.url("/api/lab/clock"))
            .bearer_auth(&access);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let read = || async {
        let shown = clock(reqwest::Method::GET, None).await.unwrap();
        assert_eq!(shown.status(), StatusCode::OK);
        shown.json::<Value>().await.unwrap()
    };
    let shown = read().await;
    assert_eq!(shown["offset_secs"], 0);
    assert_eq!(shown["max_offset_secs"], 30 * 86_400);
    let system = shown["server_time"].as_i64().unwrap();

    // Out of range, of the wrong type, with other members, not JSON: 400, nothing moved.
    for body in [
        json!({"offset_secs": -1}),
        json!({"offset_secs": 30 * 86_400 + 1}),
        json!({"offset_secs": "960"}),
        json!({}),
        json!({"offset_secs": 60, "back": true}),
    ] {
        let r = clock(reqwest::Method::POST, Some(body.clone()))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = r.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{body}");
        assert!(
            error["error_description"]
                .as_str()
                .unwrap()
                .contains("offset_secs"),
            "{error}"
        );
    }
    let r = app
        .http
        .post(app.url("/api/lab/clock"))
        .bearer_auth(&access)
        .body("offset_secs=960")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .post(app.url("/api/lab/clock"))
        .json(&json!({"offset_secs": 960}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a token is needed");
    assert_eq!(read().await["offset_secs"], 0, "nothing moved");

    // 16 minutes ahead: the 15-minute access token has expired, by the API's own clock.
    let moved = clock(reqwest::Method::POST, Some(json!({"offset_secs": 960})))
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["offset_secs"], 960);
    assert!(moved["server_time"].as_i64().unwrap() >= system + 960);
    let r = app.get_api("/api/products", Some(&access)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www_authenticate(&r).contains("expired"),
        "{}",
        www_authenticate(&r)
    );

    // The refresh token lives longer: a new access token works.
    let renewed = app
        .refresh(tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    let renewed: Value = renewed.json().await.unwrap();
    let fresh = renewed["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_api("/api/products", Some(fresh)).await.status(),
        StatusCode::OK
    );

    // Recorded for the administrators, then reset.
    let admin = app.admin_token().await;
    let events = app
        .http
        .get(app.url("/admin/events?kind=clock_moved"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let events: Value = events.json().await.unwrap();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events}");
    assert!(
        events[0]["detail"]
            .as_str()
            .unwrap()
            .contains("960 s ahead")
    );
    let reset = app
        .http
        .post(app.url("/api/lab/clock"))
        .bearer_auth(fresh)
        .json(&json!({"offset_secs": 0}))
        .send()
        .await
        .unwrap();
    let reset: Value = reset.json().await.unwrap();
    assert_eq!(reset["offset_secs"], 0);
    assert!(reset["server_time"].as_i64().unwrap() < system + 960);
}

/// Moving the clock back makes nothing wrong: a token revoked before stays refused (the
/// revocation list is not purged by the moved clock), and rate-limit counts made while it was
/// ahead do not lock anyone out for as long as it had been moved.
#[tokio::test]
async fn moving_the_clock_back_keeps_revocations_and_forgets_rate_limits() {
    let app = spawn_app_with(&["--revocation-sync-ms", "100"]).await;
    let revoked = app.user_tokens("openid products:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let caller = app.user_tokens("openid products:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.revoke_as_spa(&revoked).await.status(), StatusCode::OK);
    let set = |offset: i64| {
        app.http
            .post(app.url("/api/lab/clock"))
            .bearer_auth(&caller)
            .json(&json!({"offset_secs": offset}))
            .send()
    };
    assert_eq!(set(90_000).await.unwrap().status(), StatusCode::OK);
    // A few reads of the revocation list with the clock 25 hours ahead, where the revoked token
    // has long expired.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Five wrong passwords for user1 "tomorrow": its login would be refused for a while.
    let mut refused = false;
    for _ in 0..8 {
        let auth = app.new_authorization();
        let page = app
            .get_authorize(&app.authorize_query(&auth, "openid"))
            .await;
        let answer = app.submit_login(page, "user1", "wrong").await;
        refused |= answer.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(
        refused,
        "user1's logins are refused for a while, by the moved clock"
    );
    // The caller's own token has expired by now: set the clock back with a fresh one.
    let fresh = app.user_tokens("openid").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = app
        .http
        .post(app.url("/api/lab/clock"))
        .bearer_auth(&fresh)
        .json(&json!({"offset_secs": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let r = app.get_api("/api/products", Some(&revoked)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "still revoked");
    assert!(
        www_authenticate(&r).contains("revoked"),
        "{}",
        www_authenticate(&r)
    );
    assert_eq!(
        app.get_api("/api/products", Some(&caller)).await.status(),
        StatusCode::OK,
        "the token issued before the clock moved is valid again"
    );
    let tokens = app.login_tokens("user1", "password1", "openid").await;
    assert!(tokens["access_token"].is_string(), "user1 may log in again");
    // The token issued while the clock was ahead would outlive the revocation list: refused.
    let r = app.get_api("/api/whoami", Some(&fresh)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www_authenticate(&r).contains("future"),
        "{}",
        www_authenticate(&r)
    );
}
