//! Every refusal explains itself: the security event log keeps, under the answer's
//! `X-Request-Id`, the check that failed with expected against got and the remedy; a user reads
//! those of their own requests (and nobody else's), an administrator finds any by request id.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared::api::{Refusal, TokenAnswer};

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
    assert_eq!(r.headers()["x-refusal-recorded"], "1");

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
    let found = refusals(&app, &fresh, None, 2).await;
    // Nobody's: a forged token, and a code presented without the login's redirect URI (anyone
    // holding a leaked code could otherwise write on the user's page).
    assert!(
        found
            .iter()
            .all(|r| r.request_id != "forged-1" && r.request_id != "redirect-1"),
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

    // Those are the administrator's to find, by their ids.
    let admin = app.admin_token().await;
    let events = admin_events(&app, &admin, "redirect-1").await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].client_id.as_deref(), Some(SPA));
    assert_eq!(events[0].user_id, None);
    let redirect = events[0].explanation.as_ref().unwrap();
    assert_eq!(redirect.endpoint, "POST /token");
    assert_eq!(redirect.check.as_deref(), Some("redirect_uri"));
    assert_eq!(
        redirect.expected.as_deref(),
        Some(auth.redirect_uri.as_str())
    );
    assert_eq!(redirect.got.as_deref(), Some(wrong_uri.as_str()));
    let events = admin_events(&app, &admin, "forged-1").await;
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
    let cases: [(&str, String, &str, &str); 7] = [
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
            "names-its-key",
            {
                let mut header = at_jwt_header();
                header.jku = Some("https://evil.example/jwks".into());
                app.forge(header, &claims).await
            },
            "header",
            "jku",
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
            // 3600 s, or 3599 when a second turns between forging and checking.
            "Z (in 3",
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
        let events = admin_events(&app, &admin, id).await;
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
    assert_eq!(
        why.got.as_deref(),
        Some("the token itself was revoked at the revocation endpoint (RFC 7009)")
    );
    // A token whose login was revoked: when, and why (here a refresh token used twice).
    let login = app
        .user_tokens("openid offline_access profile products:read")
        .await;
    let spent = login["refresh_token"].as_str().unwrap();
    assert_eq!(app.refresh(spent, None).await.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(spent, None).await.status(),
        StatusCode::BAD_REQUEST
    );
    let r = with_id(app.http.get(app.url("/api/products")), "revoked-2")
        .bearer_auth(login["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let found = refusals(&app, &fresh, Some("revoked-2"), 1).await;
    let got = found[0].explanation.got.clone().unwrap();
    assert!(
        got.starts_with("revoked with its login, grant ")
            && got.ends_with(": refresh token reused"),
        "{got}"
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

async fn ask(app: &TestApp, caller: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/debug/token"))
        .bearer_auth(caller)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn answer(app: &TestApp, caller: &str, token: &str, endpoint: Option<&str>) -> TokenAnswer {
    let r = ask(
        app,
        caller,
        serde_json::json!({"token": token, "endpoint": endpoint}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn names(answer: &TokenAnswer) -> Vec<(&str, bool)> {
    answer
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.passed))
        .collect()
}

#[tokio::test]
async fn the_token_debugger_runs_the_apis_checks_in_order_and_keeps_nothing() {
    let app = spawn_app().await;
    let caller = app.user_token().await;
    let reader = app.user_tokens("openid orders:read").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut claims = app.claims("orders:read");
    claims["aud"] = "api://reports".into();
    claims["exp"] = (app.clock.now().unix() - 120).into();
    let stale_elsewhere = app.forge(at_jwt_header(), &claims).await;
    let before = storage_fingerprint(&app).await;
    let refused_before = app.events("request_refused", 0).await.len();

    let signed = [
        ("format", true),
        ("issuer", true),
        ("alg", true),
        ("typ", true),
        ("header", true),
        ("kid", true),
        ("signature", true),
        ("claims", true),
        ("exp", true),
        ("iat", true),
        ("revocation", true),
        ("audience", true),
    ];
    let ok = answer(&app, &caller, &caller, Some("POST /api/orders")).await;
    assert!(ok.accepted, "{ok:?}");
    assert!(ok.verdict.starts_with("accepted"), "{ok:?}");
    let mut expected = signed.to_vec();
    expected.push(("scope", true));
    assert_eq!(names(&ok), expected);
    assert!((ok.server_time - app.clock.now().unix()).abs() <= 1);

    // Valid, but not for this endpoint.
    let narrow = answer(&app, &caller, &reader, Some("POST /api/orders")).await;
    assert!(!narrow.accepted);
    assert!(narrow.verdict.contains("orders:write"), "{narrow:?}");
    let scope = narrow.checks.last().unwrap();
    assert_eq!((scope.name.as_str(), scope.passed), ("scope", false));
    assert_eq!(scope.got, "openid orders:read");
    assert!(
        answer(&app, &caller, &reader, Some("GET /api/orders"))
            .await
            .accepted
    );

    // Signed by the server's key, but for another API and expired: both are said, in the
    // verifier's order, and its verdict is the first. Revocation is not read for a token
    // refused anyway.
    let both = answer(&app, &caller, &stale_elsewhere, None).await;
    assert!(!both.accepted);
    assert_eq!(
        names(&both)[7..],
        [
            ("claims", true),
            ("audience", false),
            ("exp", false),
            ("iat", true)
        ]
    );
    assert!(both.verdict.contains("audience"), "{both:?}");
    let exp = both.checks.iter().find(|c| c.name == "exp").unwrap();
    // 120 s before the test began (a loaded machine may take a second or two to get here).
    let ago: i64 = exp
        .got
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(" s ago)")
        .parse()
        .unwrap();
    assert!((120..=130).contains(&ago), "{exp:?}");

    // Not a JWT at all: one check.
    let garbage = answer(&app, &caller, "abc", None).await;
    assert_eq!(names(&garbage), [("format", false)]);

    // The verdicts are the API's own.
    for (token, accepted) in [(&caller, true), (&reader, true), (&stale_elsewhere, false)] {
        let status = app.get_api("/api/whoami", Some(token)).await.status();
        assert_eq!(status == StatusCode::OK, accepted, "{token}");
    }

    // Bad questions.
    let r = ask(
        &app,
        &caller,
        serde_json::json!({"token": caller, "endpoint": "GET /nowhere"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = ask(&app, &caller, serde_json::json!({"jwt": caller})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = ask(&app, &caller, serde_json::json!({"token": 42})).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = app
        .http
        .post(app.url("/api/debug/token"))
        .json(&serde_json::json!({"token": caller}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Nothing stored; the debugger's own answers are not refusals. The bad questions and the
    // whoami call above are (four of them; a request without credentials is not recorded).
    assert_eq!(storage_fingerprint(&app).await, before);
    let refused = app.events("request_refused", refused_before + 4).await;
    assert_eq!(refused.len(), refused_before + 4);
    assert!(
        refused
            .iter()
            .all(|e| !e.detail.contains(&caller) && !e.detail.contains(&stale_elsewhere))
    );
}

/// A flood of bad requests is not a flood of writes: ten refusals a second of callers the
/// server does not know are recorded (this test server's clock stands still), the rest counted.
#[tokio::test]
async fn refusals_of_unknown_callers_are_recorded_ten_a_second() {
    let app = spawn_app_with_frozen_clock().await;
    for n in 0..15 {
        let r = with_id(app.http.get(app.url("/api/whoami")), &format!("flood-{n}"))
            .bearer_auth("not.a.jwt")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        // The answer says whether its refusal was recorded (the app links to it only then).
        let recorded = r.headers().get("x-refusal-recorded").is_some();
        assert_eq!(recorded, n < 10, "flood-{n}");
    }
    let recorded = app.events("request_refused", 10).await;
    assert_eq!(recorded.len(), 10);
    // Given time to show up, the other five still are not there.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.events("request_refused", 10).await.len(), 10);
    app.advance(1);
    let r = with_id(app.http.get(app.url("/api/whoami")), "flood-next")
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let recorded = app.events("request_refused", 11).await;
    assert_eq!(recorded.len(), 11);
    assert_eq!(recorded[0].request_id.as_deref(), Some("flood-next"));
    // A known caller's refusal has a budget of its own.
    let token = app.user_token().await;
    let r = with_id(app.http.post(app.url("/api/orders")), "known-1")
        .bearer_auth(&token)
        .json(&serde_json::json!({"product_id": 1, "quantity": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusals(&app, &token, Some("known-1"), 1).await.len(), 1);
}
