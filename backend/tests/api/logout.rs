//! Logout: OpenID Connect RP-Initiated Logout 1.0 at `/logout` (the confirmation page, its
//! three answers, and every way a request can be wrong) and the `sid` that ties ID tokens to
//! their login. Back-channel logout to the backend-for-frontend is in `bff.rs`.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::helpers::*;

const SCOPE: &str = "openid offline_access profile";

/// A login's tokens: the ID token to log out with, and the refresh token that shows whether
/// the login still lives.
struct Login {
    id_token: String,
    access_token: String,
    refresh_token: String,
}

async fn login(app: &TestApp, username: &str, password: &str) -> Login {
    let tokens = app.login_tokens(username, password, SCOPE).await;
    let field = |name: &str| tokens[name].as_str().unwrap().to_owned();
    Login {
        id_token: field("id_token"),
        access_token: field("access_token"),
        refresh_token: field("refresh_token"),
    }
}

/// Whether the login's refresh token still works (it is rotated: the new one is kept).
async fn alive(app: &TestApp, login: &mut Login) -> bool {
    let response = app.refresh(&login.refresh_token, None).await;
    if response.status() != StatusCode::OK {
        return false;
    }
    let body: Value = response.json().await.unwrap();
    login.refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    true
}

fn home(app: &TestApp) -> String {
    format!("{}/", app.app)
}

async fn get_logout(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .get(app.url("/logout"))
        .query(query)
        .send()
        .await
        .unwrap()
}

async fn answer(
    app: &TestApp,
    fields: &[(String, String)],
    cookie: &str,
    decision: &str,
    password: Option<&str>,
) -> reqwest::Response {
    let mut form = fields.to_vec();
    form.push(("decision".into(), decision.into()));
    if let Some(password) = password {
        form.push(("password".into(), password.into()));
    }
    app.post_form("/logout", cookie, &form).await
}

async fn error_page(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    assert!(
        response.headers().get(LOCATION).is_none(),
        "never a redirect"
    );
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn metadata_names_the_end_session_endpoint_and_id_tokens_name_their_login() {
    let app = spawn_app().await;
    let metadata = app
        .get_json(&app.url("/.well-known/openid-configuration"))
        .await;
    assert_eq!(metadata["end_session_endpoint"], app.url("/logout"));
    assert_eq!(metadata["backchannel_logout_supported"], true);
    assert_eq!(metadata["backchannel_logout_session_supported"], true);
    assert!(
        metadata["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("sid"))
    );
    let first = login(&app, "user0", "password0").await;
    let second = login(&app, "user0", "password0").await;
    let sid = |login: &Login| jwt_part(&login.id_token, 1)["sid"].clone();
    // The login's id, which its access tokens carry as grant_id; each login its own.
    assert_eq!(sid(&first), jwt_part(&first.access_token, 1)["grant_id"]);
    assert!(sid(&first).is_string());
    assert_ne!(sid(&first), sid(&second));
}

#[tokio::test]
async fn logging_out_of_this_app_ends_that_login_only_and_returns_with_state() {
    let app = spawn_app().await;
    let mut other = login(&app, "user0", "password0").await;
    let mut this = login(&app, "user0", "password0").await;
    let home = home(&app);
    let page = get_logout(
        &app,
        &[
            ("id_token_hint", &this.id_token),
            ("post_logout_redirect_uri", &home),
            ("state", "s-1"),
        ],
    )
    .await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    // The form's answer redirects to the app: CSP's form-action must allow its origin.
    assert!(csp.contains(&app.app), "{csp}");
    let (fields, cookie) = logout_confirmation(page).await;
    assert_eq!(param(&fields, "client_id"), Some(SPA));
    assert_eq!(param(&fields, "state"), Some("s-1"));

    let done = answer(&app, &fields, &cookie, "this", None).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), format!("{home}?state=s-1"));
    assert!(!alive(&app, &mut this).await);
    let me = app.get_api("/api/me", Some(&this.access_token)).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert!(
        alive(&app, &mut other).await,
        "another login is not this app's"
    );
    let events = app.events("logged_out", 1).await;
    assert!(events[0].detail.contains("1 login ended"), "{events:?}");

    // The same answer again ends nothing more and still returns to the app.
    let again = answer(&app, &fields, &cookie, "this", None).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(alive(&app, &mut other).await);
}

#[tokio::test]
async fn every_app_needs_the_password_and_ends_every_login_of_the_user() {
    let app = spawn_app().await;
    app.add_other_spa(&["authorization_code", "refresh_token"], SCOPE)
        .await;
    let mut this = login(&app, "user0", "password0").await;
    // A login of the same user at another client.
    let tokens = app
        .login_tokens_at("other-spa", "user0", "password0", SCOPE)
        .await;
    let other_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut bystander = login(&app, "user1", "password1").await;

    let (fields, cookie) =
        logout_confirmation(get_logout(&app, &[("id_token_hint", &this.id_token)]).await).await;
    // A wrong password: the page again, saying so, and nothing ends.
    let wrong = answer(&app, &fields, &cookie, "everywhere", Some("nope")).await;
    assert_eq!(wrong.status(), StatusCode::OK);
    let html = wrong.text().await.unwrap();
    assert!(html.contains("not your password"), "{html}");
    assert!(alive(&app, &mut this).await);
    // Another user's password is not this user's.
    let theirs = answer(&app, &fields, &cookie, "everywhere", Some("password1")).await;
    assert!(theirs.text().await.unwrap().contains("not your password"));
    assert!(alive(&app, &mut this).await);

    let done = answer(&app, &fields, &cookie, "everywhere", Some("password0")).await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    assert!(html.contains("You are logged out"), "{html}");
    assert!(html.contains("2 logins ended"), "{html}");
    assert!(!alive(&app, &mut this).await);
    let other = app.refresh_at("other-spa", &other_refresh, None).await;
    assert_eq!(other.status(), StatusCode::BAD_REQUEST);
    assert!(alive(&app, &mut bystander).await, "another user's login");
    let events = app.events("logged_out", 1).await;
    assert!(events[0].detail.contains("every app"), "{events:?}");
}

#[tokio::test]
async fn staying_changes_nothing() {
    let app = spawn_app().await;
    let mut this = login(&app, "user0", "password0").await;
    let (fields, cookie) =
        logout_confirmation(get_logout(&app, &[("id_token_hint", &this.id_token)]).await).await;
    let before = storage_fingerprint(&app).await;
    let stay = answer(&app, &fields, &cookie, "stay", None).await;
    assert_eq!(stay.status(), StatusCode::OK);
    assert!(
        stay.text()
            .await
            .unwrap()
            .contains("You are still logged in")
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    assert!(alive(&app, &mut this).await);
}

#[tokio::test]
async fn a_client_may_post_the_request_and_an_expired_id_token_still_logs_out() {
    let app = spawn_app().await;
    let mut this = login(&app, "user0", "password0").await;
    // Well past the ID token's expiry (and the access token's).
    app.advance(3 * 3600);
    let page = app
        .http
        .post(app.url("/logout"))
        .form(&[
            ("id_token_hint", this.id_token.as_str()),
            ("client_id", SPA),
        ])
        .send()
        .await
        .unwrap();
    let (fields, cookie) = logout_confirmation(page).await;
    let done = answer(&app, &fields, &cookie, "this", None).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(!alive(&app, &mut this).await);
}

#[tokio::test]
async fn bad_logout_requests_get_an_error_page_and_change_nothing() {
    let app = spawn_app().await;
    let this = login(&app, "user0", "password0").await;
    let home = home(&app);
    let other_issuer = app
        .forge(
            jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &json!({"iss": "https://elsewhere.example", "sub": "usr_x", "aud": SPA}),
        )
        .await;
    // An ID token of the root issuer at an authorization server's endpoint: its keys differ.
    let admin = app.admin_token().await;
    let created = app
        .admin(
            reqwest::Method::POST,
            "/admin/servers",
            &admin,
            Some(json!({"id": "shop", "name": "Shop", "audience": "api://shop"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let long = "a".repeat(17 * 1024);
    let longer_home = format!("{home}x");
    let before = storage_fingerprint(&app).await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "id_token_hint is required"),
        (
            vec![("post_logout_redirect_uri", &home)],
            "id_token_hint is required",
        ),
        (vec![("id_token_hint", "not-a-jwt")], "not a JWT"),
        (vec![("id_token_hint", &long)], "longer than"),
        (
            vec![("id_token_hint", &this.access_token)],
            "not an ID token",
        ),
        (vec![("id_token_hint", &other_issuer)], "not by this server"),
        (
            vec![("id_token_hint", &this.id_token), ("client_id", "other")],
            "another client",
        ),
        (
            vec![
                ("id_token_hint", &this.id_token),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "not one registered",
        ),
        (
            // A registered URI with more after it: compared exactly, never as a prefix.
            vec![
                ("id_token_hint", &this.id_token),
                ("post_logout_redirect_uri", &longer_home),
            ],
            "not one registered",
        ),
        (
            vec![("id_token_hint", &this.id_token), ("state", &long)],
            "longer than",
        ),
    ];
    for (query, expected) in cases {
        let (status, html) = error_page(get_logout(&app, &query).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}");
        assert!(html.contains(expected), "{query:?}: {html}");
    }
    // Repeated parameters.
    let repeated = app
        .http
        .get(format!(
            "{}?id_token_hint={}&id_token_hint={}",
            app.url("/logout"),
            this.id_token,
            this.id_token
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(error_page(repeated).await.0, StatusCode::BAD_REQUEST);
    let at_server = app
        .http
        .get(app.url("/oauth2/shop/v1/logout"))
        .query(&[("id_token_hint", &this.id_token)])
        .send()
        .await
        .unwrap();
    let (status, html) = error_page(at_server).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        html.contains("not signed by a key of this server"),
        "{html}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);

    // The page's answers: without the anti-forgery cookie, with another token, without a
    // decision word that exists.
    let (fields, cookie) =
        logout_confirmation(get_logout(&app, &[("id_token_hint", &this.id_token)]).await).await;
    let forged = answer(&app, &fields, "login_csrf=other", "this", None).await;
    assert_eq!(error_page(forged).await.0, StatusCode::FORBIDDEN);
    let no_cookie = answer(&app, &fields, "", "everywhere", Some("password0")).await;
    assert_eq!(error_page(no_cookie).await.0, StatusCode::FORBIDDEN);
    let unknown = answer(&app, &fields, &cookie, "all", None).await;
    let (status, html) = error_page(unknown).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("without an answer"), "{html}");
    // The hint swapped for another after the page was shown is checked again.
    let mut swapped = fields.clone();
    for field in &mut swapped {
        if field.0 == "id_token_hint" {
            field.1 = "x.y.z".into();
        }
    }
    let (status, _) = error_page(answer(&app, &swapped, &cookie, "this", None).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let oversized = app
        .post_form(
            "/logout",
            &cookie,
            &[("id_token_hint".into(), "a".repeat(40_000))],
        )
        .await;
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        storage_fingerprint(&app).await,
        before,
        "nothing stored, no login ended"
    );
}

#[tokio::test]
async fn clients_register_their_logout_uris_in_the_admin_api_as_strictly_as_redirect_uris() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let app_home = home(&app);
    let create = |body: Value| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.admin(reqwest::Method::POST, "/admin/clients", &admin, Some(body))
                .await
        }
    };
    let base = json!({
        "kind": "browser", "name": "Logs out", "scope": "openid profile",
        "redirect_uris": [format!("{}/callback", app.app)],
        "post_logout_redirect_uris": [app_home],
        "backchannel_logout_uri": "https://rp.example/backchannel",
    });
    let created = create(base.clone()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let client: shared::admin::ClientCreated = created.json().await.unwrap();
    assert_eq!(
        client.client.post_logout_redirect_uris,
        vec![app_home.clone()]
    );
    assert_eq!(
        client.client.backchannel_logout_uri.as_deref(),
        Some("https://rp.example/backchannel")
    );
    for (field, value, expected) in [
        (
            "post_logout_redirect_uris",
            json!(["http://rp.example/"]),
            "must use https",
        ),
        (
            "post_logout_redirect_uris",
            json!(["https://rp.example/#x"]),
            "fragment",
        ),
        (
            "post_logout_redirect_uris",
            json!(["/relative"]),
            "absolute",
        ),
        (
            "post_logout_redirect_uris",
            json!([&app_home, &app_home]),
            "twice",
        ),
        // Stored space-separated: this would come back as two URIs, the second unchecked.
        (
            "post_logout_redirect_uris",
            json!(["https://rp.example/a http://evil.example/"]),
            "contains a space",
        ),
        (
            "backchannel_logout_uri",
            json!("http://rp.example/bc"),
            "must use https",
        ),
        (
            "backchannel_logout_uri",
            json!("https://u:p@rp.example/bc"),
            "user information",
        ),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let (status, error, description) = oauth_error(create(body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error, "invalid_client_metadata");
        assert!(description.contains(expected), "{field}: {description}");
    }
    // A service logs nobody in: nothing to log out of.
    let service = json!({"kind": "service", "name": "S", "scope": "products:read",
        "backchannel_logout_uri": "https://rp.example/bc"});
    let (status, _, description) = oauth_error(create(service).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(description.contains("log users in"), "{description}");
    // "" removes the back-channel URI; the list is replaced.
    let id = client.client.client_id;
    let patched = app
        .admin(
            reqwest::Method::PATCH,
            &format!("/admin/clients/{id}"),
            &admin,
            Some(json!({"backchannel_logout_uri": "", "post_logout_redirect_uris": []})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: shared::admin::Client = patched.json().await.unwrap();
    assert!(patched.backchannel_logout_uri.is_none());
    assert!(patched.post_logout_redirect_uris.is_empty());
}

#[tokio::test]
async fn an_id_token_without_sid_ends_only_the_logins_made_before_it() {
    let app = spawn_app().await;
    let mut older = login(&app, "user0", "password0").await;
    app.advance(10);
    // An ID token as this server issued them before logins had ids: no sid.
    let now = app.clock.now().unix();
    let sub = app.user("user0").await.id;
    let hint = app
        .forge(
            jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &json!({"iss": app.api, "sub": sub, "aud": SPA, "iat": now, "exp": now + 300}),
        )
        .await;
    app.advance(10);
    let mut newer = login(&app, "user0", "password0").await;
    let (fields, cookie) =
        logout_confirmation(get_logout(&app, &[("id_token_hint", &hint)]).await).await;
    let done = answer(&app, &fields, &cookie, "this", None).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("1 login ended"));
    assert!(!alive(&app, &mut older).await);
    assert!(
        alive(&app, &mut newer).await,
        "a login made after the ID token was issued is not the one it names"
    );
}

/// A client's back channel: a real HTTP server that keeps the logout tokens posted to it.
async fn back_channel() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::extract::{Form, State};
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = |State(kept): State<std::sync::Arc<std::sync::Mutex<Vec<String>>>>,
                Form(form): Form<std::collections::HashMap<String, String>>| async move {
        kept.lock()
            .unwrap()
            .push(form.get("logout_token").cloned().unwrap_or_default());
        StatusCode::OK
    };
    let router = axum::Router::new()
        .route("/backchannel", axum::routing::post(keep))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/backchannel", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (uri, received)
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_login_and_tells_its_client_by_back_channel() {
    let app = spawn_app().await;
    let (uri, received) = back_channel().await;
    let admin = app.admin_token().await;
    let created = app
        .admin(
            reqwest::Method::POST,
            "/admin/clients",
            &admin,
            Some(json!({
                "kind": "browser", "name": "Told", "client_id": "told", "first_party": true,
                "refresh_tokens": true, "scope": "openid offline_access profile",
                "redirect_uris": [app.redirect_uri()], "backchannel_logout_uri": uri,
            })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let tokens = app
        .login_tokens_at("told", "user0", "password0", SCOPE)
        .await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let sid = jwt_part(tokens["id_token"].as_str().unwrap(), 1)["sid"].clone();
    let refreshed = app.refresh_at("told", &first, None).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    assert!(
        received.lock().unwrap().is_empty(),
        "a rotation tells nobody"
    );
    // The spent token again: RFC 9700 §4.14.2, the whole login ends, and the client hears it.
    let reused = app.refresh_at("told", &first, None).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let events = app.events("backchannel_logout", 1).await;
    assert!(events[0].detail.ends_with("answered 200"), "{events:?}");
    let tokens = received.lock().unwrap().clone();
    assert_eq!(tokens.len(), 1);
    let claims = jwt_part(&tokens[0], 1);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["aud"], "told");
    assert_eq!(jwt_part(&tokens[0], 0)["typ"], "logout+jwt");
}
