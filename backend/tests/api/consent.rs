//! Access policies: the consent screen for third-party clients, scopes as data, and per-client
//! token lifetimes.

use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::helpers::{
    Authorization, TestApp, hidden_inputs, jwt_part, page_cookie, param, redirect_params,
    spawn_app, spawn_app_with,
};

const PARTNER: &str = "demo-partner";

/// Logs user0 in to the partner app; returns the answer (a consent page or a redirect) and the
/// cookie a browser would still hold.
async fn partner_login(app: &TestApp, auth: &Authorization, scope: &str) -> (Response, String) {
    let page = app
        .get_authorize(&app.authorize_query_for(PARTNER, auth, scope))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    app.submit_login_keeping_cookie(page, "user0", "password0")
        .await
}

/// Answers the consent page `page` with `decision`.
async fn answer(app: &TestApp, page: Response, cookie: &str, decision: &str) -> Response {
    let html = page.text().await.unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("decision".into(), decision.into()));
    app.post_form("/authorize/consent", cookie, &form).await
}

async fn redeem_partner(app: &TestApp, code: &str, auth: &Authorization) -> Value {
    let response = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", PARTNER),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn third_party_clients_ask_for_consent_in_plain_words() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let (page, cookie) = partner_login(&app, &auth, "openid profile orders:read").await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "a consent page, not a redirect yet"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    // An administrator registered it: no warning that its name is its own claim.
    assert!(!html.contains("unverified-client"));
    for words in [
        "Partner shop (third-party app)",
        "Know who you are on this site",
        "See your name and username",
        "See the orders you have placed",
    ] {
        assert!(html.contains(words), "missing {words:?}");
    }
    assert_eq!(app.code_count().await, 0, "no code before the answer");

    let form = hidden_inputs(&html);
    let mut allow = form.clone();
    allow.push(("decision".into(), "allow".into()));
    let answer = app.post_form("/authorize/consent", &cookie, &allow).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert_eq!(param(&params, "iss"), Some(app.api.as_str()));
    let code = param(&params, "code").unwrap();
    let tokens = redeem_partner(&app, code, &auth).await;
    assert_eq!(tokens["scope"], "openid orders:read profile");
    // The partner's own access-token lifetime (a per-client policy), not the server's 900 s.
    assert_eq!(tokens["expires_in"], 300);
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    let id = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        300
    );

    // The ticket answers once.
    let again = app.post_form("/authorize/consent", &cookie, &allow).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("expired or was already answered")
    );
    assert_eq!(app.code_count().await, 1);
    let granted = app.events("consent_granted", 1).await;
    assert_eq!(granted[0].client_id.as_deref(), Some(PARTNER));
}

#[tokio::test]
async fn consent_is_remembered_and_asked_again_for_more() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let (page, cookie) = partner_login(&app, &auth, "openid profile").await;
    assert_eq!(
        answer(&app, page, &cookie, "allow").await.status(),
        StatusCode::SEE_OTHER
    );

    let auth = app.new_authorization();
    let (same, _) = partner_login(&app, &auth, "profile").await;
    assert_eq!(
        same.status(),
        StatusCode::SEE_OTHER,
        "already allowed: no question"
    );
    assert!(param(&redirect_params(&same), "code").is_some());

    let auth = app.new_authorization();
    let (more, _) = partner_login(&app, &auth, "openid profile orders:write").await;
    assert_eq!(more.status(), StatusCode::OK, "a new scope is asked about");
    assert!(
        more.text()
            .await
            .unwrap()
            .contains("Place orders in your name")
    );
}

#[tokio::test]
async fn scopes_that_need_no_consent_skip_the_screen() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    // Both are flagged consent_required = 0 in the scope table.
    let (answer, _) = partner_login(&app, &auth, "openid products:read").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    // Scopes are data: flag one, and the same request now asks.
    app.db
        .update_scope("products:read", None, Some(true))
        .await
        .unwrap();
    let auth = app.new_authorization();
    let (answer, _) = partner_login(&app, &auth, "openid products:read").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("Browse the product catalogue")
    );
}

#[tokio::test]
async fn denying_consent_redirects_with_access_denied() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let (page, cookie) = partner_login(&app, &auth, "openid email").await;
    let html = page.text().await.unwrap();
    let mut deny = hidden_inputs(&html);
    deny.push(("decision".into(), "deny".into()));
    let answer = app.post_form("/authorize/consent", &cookie, &deny).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert!(param(&params, "code").is_none());
    assert_eq!(app.code_count().await, 0);
    // The refusal is final: the same ticket cannot be turned into an allow.
    let mut allow = hidden_inputs(&html);
    allow.push(("decision".into(), "allow".into()));
    let late = app.post_form("/authorize/consent", &cookie, &allow).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.code_count().await, 0);
    let consents = app.db.count("consents").await.unwrap();
    assert_eq!(consents, 0, "a denial is not remembered as consent");
    assert_eq!(app.events("consent_denied", 1).await.len(), 1);
}

#[tokio::test]
async fn the_consent_form_is_checked() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let (page, cookie) = partner_login(&app, &auth, "openid email").await;
    let form = hidden_inputs(&page.text().await.unwrap());
    let with = |changes: &[(&str, &str)]| {
        let mut f: Vec<(String, String)> = form
            .iter()
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .cloned()
            .collect();
        for (k, v) in changes {
            if !v.is_empty() {
                f.push(((*k).into(), (*v).into()));
            }
        }
        f
    };
    let long = "x".repeat(10_000);
    for (changes, cookie, status) in [
        (
            vec![("decision", "allow"), ("csrf_token", "forged")],
            cookie.as_str(),
            StatusCode::FORBIDDEN,
        ),
        (vec![("decision", "allow")], "", StatusCode::FORBIDDEN),
        (
            vec![("decision", "maybe")],
            cookie.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("decision", "")],
            cookie.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("decision", "allow"), ("ticket", "")],
            cookie.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("decision", "allow"), ("ticket", "made-up")],
            cookie.as_str(),
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("decision", "allow"), ("ticket", long.as_str())],
            cookie.as_str(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let r = app
            .post_form("/authorize/consent", cookie, &with(&changes))
            .await;
        assert_eq!(r.status(), status, "{changes:?}");
        assert!(r.headers().get("location").is_none());
    }
    let r = app
        .http
        .post(app.url("/authorize/consent"))
        .body(vec![b'%'; 100])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no anti-forgery cookie");
    // The ticket with another browser's anti-forgery pair (from its own login page): a stolen
    // ticket answers nothing, and does not spend the real one either.
    let other = app
        .get_authorize(&app.authorize_query_for(PARTNER, &auth, "openid email"))
        .await;
    let other_cookie = page_cookie(&other);
    let other_csrf = hidden_inputs(&other.text().await.unwrap())
        .into_iter()
        .find(|(k, _)| k == "csrf_token")
        .unwrap()
        .1;
    let r = app
        .post_form(
            "/authorize/consent",
            &other_cookie,
            &with(&[("decision", "allow"), ("csrf_token", &other_csrf)]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.code_count().await, 0, "nothing was issued");
    // The real ticket is still good after all that.
    let r = app
        .post_form(
            "/authorize/consent",
            &cookie,
            &with(&[("decision", "allow")]),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cancel_at_the_login_form_redirects_with_access_denied() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "openid"))
        .await;
    let cookie = page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("action".into(), "cancel".into()));
    let r = app.post_form("/authorize/login", &cookie, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&r);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn refresh_tokens_follow_the_clients_own_lifetimes() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let (page, cookie) = partner_login(&app, &auth, "openid offline_access").await;
    let answer = answer(&app, page, &cookie, "allow").await;
    let code = param(&redirect_params(&answer), "code").unwrap().to_owned();
    let tokens = redeem_partner(&app, &code, &auth).await;
    assert!(tokens["refresh_token"].is_string());
    let refresh_hash = backend::crypto::sha256_hex(tokens["refresh_token"].as_str().unwrap());
    let stored = app.db.refresh_token(&refresh_hash).await.unwrap().unwrap();
    assert_eq!(stored.client_id, PARTNER);
    assert_eq!(
        stored.expires_at.secs_since(stored.created_at),
        3600,
        "the partner's idle lifetime"
    );
    assert!(
        (stored.grant_expires_at.secs_since(stored.created_at) - 86_400).abs() <= 1,
        "the partner's absolute lifetime"
    );
}

/// RFC 8707: the resources a login names wait with its consent ticket while the user decides,
/// and the code, then the token, are for them.
#[tokio::test]
async fn the_resources_a_login_names_survive_the_consent_screen() {
    let app = spawn_app_with(&["--extra-audiences", "api://reports"]).await;
    let auth = app.new_authorization();
    let mut query = app.authorize_query_for(PARTNER, &auth, "openid orders:read");
    query.push(("resource".into(), "api://reports".into()));
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let (consent, cookie) = app
        .submit_login_keeping_cookie(page, "user0", "password0")
        .await;
    assert_eq!(consent.status(), StatusCode::OK, "a consent page");
    let allowed = answer(&app, consent, &cookie, "allow").await;
    let code = param(&redirect_params(&allowed), "code")
        .unwrap()
        .to_owned();
    let tokens = redeem_partner(&app, &code, &auth).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["aud"], "api://reports");
}
