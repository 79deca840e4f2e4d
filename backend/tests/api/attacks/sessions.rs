//! What happens to tokens after they are issued: revocation (RFC 7009), refresh-token rotation
//! and reuse detection (RFC 6749 §6, RFC 9700 §4.14), code replay (RFC 6749 §4.1.2) and
//! introspection (RFC 7662), each checked where it matters: at the API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_api_refusal, assert_oauth_refusal};
use crate::helpers::*;

const OFFLINE: &str = "openid offline_access products:read";
const REVOKED: &str = "the access token was revoked";

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_owned()
}

async fn works(app: &TestApp, token: &str, case: &str) {
    let r = app.get_api("/api/products", Some(token)).await;
    assert_eq!(r.status(), StatusCode::OK, "{case}: before");
}

async fn refused_as_revoked(app: &TestApp, token: &str, case: &str) {
    for path in ["/api/products", "/api/whoami", "/userinfo"] {
        let r = app.get_api(path, Some(token)).await;
        assert_api_refusal(
            &format!("{case}: {path}"),
            r,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            REVOKED,
        )
        .await;
    }
    assert_eq!(
        app.introspect(token).await,
        json!({"active": false}),
        "{case}"
    );
}

async fn revoke(app: &TestApp, form: &[(&str, &str)], basic: bool) -> reqwest::Response {
    let mut request = app.http.post(app.url("/revoke")).form(form);
    if basic {
        request = request.basic_auth(SERVICE, Some(SERVICE_SECRET));
    }
    request.send().await.unwrap()
}

/// Every way an access token is revoked must reach the API that the same server runs, not only
/// introspection: a revoked token that still opens the API is not revoked.
#[tokio::test]
async fn revoked_access_tokens_are_refused_by_the_api() {
    let app = spawn_app().await;

    // RFC 7009 §2.1: the client revokes its access token.
    let case = "access token revoked [RFC 7009 §2.1]";
    let service = app.service_token().await;
    works(&app, &service, case).await;
    let r = revoke(&app, &[("token", &service)], true).await;
    assert_eq!(r.status(), StatusCode::OK, "{case}");
    let r = app.get_api("/api/products", Some(&service)).await;
    assert_api_refusal(case, r, StatusCode::UNAUTHORIZED, "invalid_token", REVOKED).await;

    // RFC 7009 §2.1: revoking a refresh token revokes the access tokens of its grant.
    let case = "refresh token revoked (logout) [RFC 7009 §2.1]";
    let tokens = app.user_tokens(OFFLINE).await;
    works(&app, &s(&tokens, "access_token"), case).await;
    let r = app.revoke_as_spa(&s(&tokens, "refresh_token")).await;
    assert_eq!(r.status(), StatusCode::OK, "{case}");
    refused_as_revoked(&app, &s(&tokens, "access_token"), case).await;

    // RFC 9700 §4.14.2: a spent refresh token presented again ends the whole login.
    let case = "refresh token reused [RFC 9700 §4.14.2]";
    let first = app.user_tokens(OFFLINE).await;
    let second: Value = app
        .refresh(&s(&first, "refresh_token"), None)
        .await
        .json()
        .await
        .unwrap();
    works(&app, &s(&second, "access_token"), case).await;
    let (_, error, _) = oauth_error(app.refresh(&s(&first, "refresh_token"), None).await).await;
    assert_eq!(error, "invalid_grant", "{case}");
    for tokens in [&first, &second] {
        refused_as_revoked(&app, &s(tokens, "access_token"), case).await;
    }

    // RFC 6749 §4.1.2: a code used twice revokes what it produced.
    let case = "authorization code replayed [RFC 6749 §4.1.2]";
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, OFFLINE, "user0", "password0")
        .await;
    let tokens: Value = app.redeem(&code, &auth).await.json().await.unwrap();
    works(&app, &s(&tokens, "access_token"), case).await;
    let (_, error, _) = oauth_error(app.redeem(&code, &auth).await).await;
    assert_eq!(error, "invalid_grant", "{case}");
    refused_as_revoked(&app, &s(&tokens, "access_token"), case).await;

    // The control: a login nobody touched still works.
    let untouched = app.user_tokens(OFFLINE).await;
    works(&app, &s(&untouched, "access_token"), "an untouched login").await;
}

#[tokio::test]
async fn revocation_requests() {
    let app = spawn_app().await;

    // RFC 7009 §2.1: the hint only says where to look first; a wrong or unknown hint must not
    // save the token.
    for hint in ["refresh_token", "id_token", "made_up"] {
        let case = format!("token_type_hint={hint} on an access token [RFC 7009 §2.1]");
        let token = app.service_token().await;
        let r = revoke(&app, &[("token", &token), ("token_type_hint", hint)], true).await;
        assert_eq!(r.status(), StatusCode::OK, "{case}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{case}");
        assert_eq!(
            app.introspect(&token).await,
            json!({"active": false}),
            "{case}"
        );
    }
    let tokens = app.user_tokens(OFFLINE).await;
    let r = app
        .http
        .post(app.url("/revoke"))
        .form(&[
            ("token", s(&tokens, "refresh_token").as_str()),
            ("token_type_hint", "access_token"),
            ("client_id", SPA),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (_, error, _) = oauth_error(app.refresh(&s(&tokens, "refresh_token"), None).await).await;
    assert_eq!(
        error, "invalid_grant",
        "hint access_token on a refresh token"
    );

    // Refusals that must change nothing.
    let tokens = app.user_tokens(OFFLINE).await;
    let refresh = s(&tokens, "refresh_token");
    let access = s(&tokens, "access_token");
    let before = storage_fingerprint(&app).await;
    let r = app
        .http
        .post(app.url("/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={refresh}&token={access}&client_id={SPA}"))
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "token twice [RFC 6749 §3.2, RFC 7009 §2.1]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "more than once",
    )
    .await;
    let r = app
        .http
        .post(format!(
            "{}?token={refresh}&client_id={SPA}",
            app.url("/revoke")
        ))
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "parameters in the query string [RFC 7009 §2.1: a POST body]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "application/x-www-form-urlencoded",
    )
    .await;
    // The ID token is not something /revoke knows: a quiet 200 that changes nothing.
    let r = app.revoke_as_spa(&s(&tokens, "id_token")).await;
    assert_eq!(r.status(), StatusCode::OK, "the ID token [RFC 7009 §2.2]");
    let r = app.http.get(app.url("/revoke")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "GET [RFC 7009 §2.1]"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(storage_fingerprint(&app).await, before);
    works(&app, &access, "the login survived the refusals").await;

    // Revoking only the access token leaves the login (RFC 7009 §2.1 leaves it to the server;
    // this one says so in README).
    let r = app.revoke_as_spa(&access).await;
    assert_eq!(r.status(), StatusCode::OK);
    refused_as_revoked(&app, &access, "the revoked access token").await;
    let next = app.refresh(&refresh, None).await;
    assert_eq!(
        next.status(),
        StatusCode::OK,
        "the refresh token still works"
    );
    let next: Value = next.json().await.unwrap();
    works(&app, &s(&next, "access_token"), "the next access token").await;
}

#[tokio::test]
async fn refresh_requests_that_must_change_nothing() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let refresh = s(&tokens, "refresh_token");
    let before = storage_fingerprint(&app).await;
    let send = |body: String| {
        app.http
            .post(app.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let repeated = format!(
        "grant_type=refresh_token&client_id={SPA}&refresh_token={refresh}&refresh_token={refresh}"
    );
    assert_oauth_refusal(
        "refresh_token twice [RFC 6749 §3.2]",
        send(repeated).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "more than once",
    )
    .await;
    for (case, token) in [
        (
            "the access token as a refresh token [RFC 6749 §6]",
            s(&tokens, "access_token"),
        ),
        (
            "the ID token as a refresh token [RFC 6749 §6]",
            s(&tokens, "id_token"),
        ),
        (
            "the refresh token upper-cased [RFC 6749 §6]",
            refresh.to_uppercase(),
        ),
        (
            "the refresh token with a byte more [RFC 6749 §6]",
            format!("{refresh}A"),
        ),
    ] {
        assert_oauth_refusal(
            case,
            app.refresh(&token, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown refresh token",
        )
        .await;
    }
    assert_oauth_refusal(
        "a scope that is not a scope [RFC 6749 §3.3]",
        app.refresh(&refresh, Some("products:read \"x")).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
        "scope",
    )
    .await;
    assert_eq!(storage_fingerprint(&app).await, before);
    // Not one of them spent the token.
    assert_eq!(app.refresh(&refresh, None).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn introspection_requests() {
    let app = spawn_app().await;
    let token = app.service_token().await;
    let before = storage_fingerprint(&app).await;
    // RFC 7662 §2.1 lets a server accept a bearer token as the caller's authentication; this
    // one takes client credentials only, so a bearer token is an unknown scheme.
    let r = app
        .http
        .post(app.url("/introspect"))
        .bearer_auth(&token)
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "a bearer token as the caller's credentials [RFC 7662 §2.1]",
        r,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "use Basic",
    )
    .await;
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[
            ("token", token.as_str()),
            ("client_id", SPA),
            ("client_secret", "made-up"),
        ])
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "a public client with a made-up secret [RFC 7662 §2.1, RFC 6749 §2.3]",
        r,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "public",
    )
    .await;
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&token=x"))
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "token twice [RFC 6749 §3.2, RFC 7662 §2.1]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "more than once",
    )
    .await;
    let r = app.http.get(app.url("/introspect")).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "GET [RFC 7662 §2.1]"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    // RFC 7662 §2.1: a hint may be ignored; a wrong one must not hide an active token.
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["active"], true);
    assert_eq!(storage_fingerprint(&app).await, before);
}
