//! Every refusal explains itself: the security event log keeps, under the answer's
//! `X-Request-Id`, the check that failed with expected against got and the remedy; a user reads
//! those of their own requests (and nobody else's), an administrator finds any by request id.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::admin::Event;
use shared::api::Refusal;

use crate::helpers::*;

/// `GET /api/me/refusals[?request_id=]` with `token`, waiting up to 5 s for `at_least` of them
/// (the event log stores in batches, after the answer).
async fn refusals(
    app: &TestApp,
    token: &str,
    request_id: Option<&str>,
    at_least: usize,
) -> Vec<Refusal> {
    let path = match request_id {
        Some(id) => format!("/api/me/refusals?request_id={id}"),
        None => "/api/me/refusals".to_owned(),
    };
    for _ in 0..100 {
        let response = app.get_api(&path, Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let found: Vec<Refusal> = response.json().await.unwrap();
        if found.len() >= at_least {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {at_least} refusals at {path}");
}

/// A request with the caller's `X-Request-Id`.
fn with_id(request: reqwest::RequestBuilder, id: &str) -> reqwest::RequestBuilder {
    request.header("x-request-id", id)
}

fn find<'a>(found: &'a [Refusal], id: &str) -> &'a Refusal {
    found
        .iter()
        .find(|r| r.request_id == id)
        .unwrap_or_else(|| panic!("no refusal {id} in {found:#?}"))
}

#[tokio::test]
async fn a_user_reads_why_their_requests_were_refused_and_nobody_elses() {
    let app = spawn_app().await;
    let first = app.user_tokens(ALL_USER_SCOPES).await;
    let old = first["access_token"].as_str().unwrap().to_owned();
    let old_claims = jwt_part(&old, 1);

    // Too little scope: the token may read, not order.
    let narrow = app.user_tokens("openid profile orders:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = with_id(app.http.post(app.url("/api/orders")), "scope-1")
        .bearer_auth(&narrow)
        .json(&serde_json::json!({"product_id": 1, "quantity": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["x-request-id"], "scope-1");

    // A forged signature: nobody's (its sub is not to be believed).
    let mut forged = old.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = with_id(app.http.get(app.url("/api/orders")), "forged-1")
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A redirect URI that differs from the authorization request's.
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, ALL_USER_SCOPES, "user0", "password0")
        .await;
    let wrong_uri = format!("{}/elsewhere", app.app);
    let r = with_id(app.http.post(app.url("/token")), "redirect-1")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", SPA),
            ("redirect_uri", wrong_uri.as_str()),
            ("code_verifier", auth.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_grant");

    // The clock passes the old token's expiry (and the 30 s leeway).
    let exp = old_claims["exp"].as_i64().unwrap();
    let wait = exp + 31 - app.clock.now().unix();
    app.advance(u64::try_from(wait).unwrap());
    let r = with_id(app.http.get(app.url("/api/orders")), "expired-1")
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let fresh = app.user_token().await;
    let found = refusals(&app, &fresh, None, 3).await;
    assert!(
        found.iter().all(|r| r.request_id != "forged-1"),
        "{found:#?}"
    );

    let scope = &find(&found, "scope-1").explanation;
    assert_eq!(scope.endpoint, "POST /api/orders");
    assert_eq!(
        (scope.status, scope.error.as_str()),
        (403, "insufficient_scope")
    );
    assert_eq!(scope.check.as_deref(), Some("scope"));
    assert_eq!(scope.expected.as_deref(), Some("orders:write"));
    assert_eq!(scope.got.as_deref(), Some("openid orders:read profile"));
    assert!(scope.remedy.as_deref().unwrap().contains("orders:write"));

    let redirect = &find(&found, "redirect-1").explanation;
    assert_eq!(redirect.endpoint, "POST /token");
    assert_eq!(redirect.check.as_deref(), Some("redirect_uri"));
    assert_eq!(
        redirect.expected.as_deref(),
        Some(auth.redirect_uri.as_str())
    );
    assert_eq!(redirect.got.as_deref(), Some(wrong_uri.as_str()));
    assert_eq!(find(&found, "redirect-1").client_id.as_deref(), Some(SPA));

    let expired = find(&found, "expired-1");
    let why = &expired.explanation;
    assert_eq!((why.status, why.error.as_str()), (401, "invalid_token"));
    assert_eq!(why.check.as_deref(), Some("exp"));
    assert!(
        why.expected
            .as_deref()
            .unwrap()
            .contains("server's clock says"),
        "{why:?}"
    );
    assert!(why.got.as_deref().unwrap().ends_with(" s ago)"), "{why:?}");
    assert_eq!(why.jti.as_deref(), old_claims["jti"].as_str());
    assert_eq!(why.issuer.as_deref(), Some(app.api.as_str()));
    assert!(why.remedy.as_deref().unwrap().contains("refresh"));
    // Never the token itself.
    assert!(!serde_json::to_string(&found).unwrap().contains(&old));

    // One request, by its id.
    let one = refusals(&app, &fresh, Some("expired-1"), 1).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], *expired);

    // Another user sees none of them, even asking by id.
    let other = app
        .login_tokens("user1", "password1", ALL_USER_SCOPES)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app.get_api("/api/me/refusals", Some(&other)).await;
    let theirs: Vec<Refusal> = theirs.json().await.unwrap();
    assert!(theirs.is_empty(), "{theirs:#?}");
    let asked = app
        .get_api("/api/me/refusals?request_id=expired-1", Some(&other))
        .await;
    assert_eq!(asked.json::<Vec<Refusal>>().await.unwrap(), vec![]);

    // The forged one is the administrator's to find, by its id.
    let admin = app.admin_token().await;
    let r = app
        .admin(
            Method::GET,
            "/admin/events?request_id=forged-1",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let events: Vec<Event> = r.json().await.unwrap();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event.kind, "request_refused");
    assert_eq!(event.user_id, None);
    let why = event.explanation.as_ref().unwrap();
    assert_eq!(why.check.as_deref(), Some("signature"));
    assert_eq!(why.got.as_deref(), Some("a signature that does not verify"));
    assert!(
        why.expected.as_deref().unwrap().contains("ES256"),
        "{why:?}"
    );
}

#[tokio::test]
async fn tokens_are_explained_check_by_check() {
    let app = spawn_app().await;
    let token = app.user_token().await;
    let claims = app.claims("orders:read");
    let cases: [(&str, String, &str, &str); 6] = [
        (
            "not-a-jwt",
            "abc.def".to_owned(),
            "format",
            "2 dot-separated part(s), not all base64url JSON objects",
        ),
        (
            "no-typ",
            {
                let mut header = at_jwt_header();
                header.typ = Some("JWT".into());
                app.forge(header, &claims).await
            },
            "typ",
            "JWT",
        ),
        (
            "other-issuer",
            app.forge(at_jwt_header(), &{
                let mut c = claims.clone();
                c["iss"] = "https://evil.example".into();
                c
            })
            .await,
            "issuer",
            "https://evil.example",
        ),
        (
            "unknown-kid",
            {
                let mut header = at_jwt_header();
                header.kid = Some("no-such-key".into());
                app.forge(header, &claims).await
            },
            "kid",
            "no-such-key",
        ),
        (
            "other-audience",
            app.forge(at_jwt_header(), &{
                let mut c = claims.clone();
                c["aud"] = "api://reports".into();
                c
            })
            .await,
            "audience",
            "api://reports",
        ),
        (
            "not-yet",
            app.forge(at_jwt_header(), &{
                let mut c = claims.clone();
                c["nbf"] = (app.clock.now().unix() + 3600).into();
                c
            })
            .await,
            "nbf",
            "in 3600 s",
        ),
    ];
    for (id, bad, _, _) in &cases {
        let r = with_id(app.http.get(app.url("/api/whoami")), id)
            .bearer_auth(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{id}");
    }
    let admin = app.admin_token().await;
    for (id, _, check, got) in cases {
        let mut events = Vec::new();
        for _ in 0..100 {
            let r = app
                .admin(
                    Method::GET,
                    &format!("/admin/events?request_id={id}"),
                    &admin,
                    None,
                )
                .await;
            events = r.json::<Vec<Event>>().await.unwrap();
            if !events.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let why = events[0]
            .explanation
            .as_ref()
            .unwrap_or_else(|| panic!("{id}: {events:?}"));
        assert_eq!(why.endpoint, "GET /api/whoami");
        assert_eq!(why.check.as_deref(), Some(check), "{id}: {why:?}");
        assert!(
            why.got.as_deref().unwrap_or_default().contains(got),
            "{id}: {why:?}"
        );
        assert!(why.remedy.is_some(), "{id}");
        // A token's sub names its user only once its signature has verified (these were
        // signed with the server's own key by the test, so the last two have).
        let verified = matches!(check, "audience" | "nbf");
        let user = verified.then(|| "usr_test".to_owned());
        assert_eq!(events[0].user_id, user, "{id}");
    }
    // A revoked token: its user's to read, with why.
    let r = app.revoke_as_spa(&token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = with_id(app.http.get(app.url("/api/orders")), "revoked-1")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let fresh = app.user_token().await;
    let found = refusals(&app, &fresh, Some("revoked-1"), 1).await;
    let why = &found[0].explanation;
    assert_eq!(why.check.as_deref(), Some("revocation"));
    assert!(
        why.got.as_deref().unwrap().starts_with("revoked"),
        "{why:?}"
    );
}

#[tokio::test]
async fn the_refusals_endpoint_refuses_what_it_cannot_answer() {
    let app = spawn_app().await;
    let token = app.user_token().await;
    for (query, says) in [
        ("request_id=a%20b", "request_id"),
        (&format!("request_id={}", "a".repeat(65)), "request_id"),
        ("request_id=a&request_id=b", "repeated"),
        ("user=user1", "unknown query parameter"),
    ] {
        let r = app
            .get_api(&format!("/api/me/refusals?{query}"), Some(&token))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    // A client acting for itself has no user; a token without profile may not read them.
    let service = app.service_token().await;
    let r = app.get_api("/api/me/refusals", Some(&service)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let narrow = app.user_tokens("openid orders:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.get_api("/api/me/refusals", Some(&narrow)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get_api("/api/me/refusals", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = app.admin_token().await;
    let r = app
        .admin(
            Method::GET,
            "/admin/events?request_id=%3Cscript%3E",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
