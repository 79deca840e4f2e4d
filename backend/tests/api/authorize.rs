use reqwest::StatusCode;

use crate::helpers::*;

fn with(query: &[(String, String)], name: &str, value: Option<&str>) -> Vec<(String, String)> {
    let mut q: Vec<_> = query.iter().filter(|(k, _)| k != name).cloned().collect();
    if let Some(v) = value {
        q.push((name.to_owned(), v.to_owned()));
    }
    q
}

#[tokio::test]
async fn login_page_is_a_protected_plain_form() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "openid products:read"))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let h = page.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"username\"") && html.contains("name=\"password\""));
    assert!(!html.contains("<script"), "the login page runs no script");
    assert_eq!(app.code_count().await, 0, "showing the form stores nothing");
}

#[tokio::test]
async fn successful_login_redirects_with_code_state_and_iss() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "products:read"))
        .await;
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(location(&answer).starts_with(&format!("{}?", app.redirect_uri())));
    let params = redirect_params(&answer);
    assert!(param(&params, "code").is_some());
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert_eq!(param(&params, "iss"), Some(app.api.as_str()), "RFC 9207");
    assert_eq!(app.code_count().await, 1);
}

#[tokio::test]
async fn wrong_password_or_unknown_user_shows_the_form_again() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    for (user, password) in [
        ("user0", "wrong"),
        ("nobody", "password0"),
        ("user0", ""),
        ("", ""),
    ] {
        let page = app
            .get_authorize(&app.authorize_query(&auth, "products:read"))
            .await;
        let answer = app.submit_login(page, user, password).await;
        assert_eq!(answer.status(), StatusCode::OK, "{user}/{password}");
        assert!(answer.headers().get("location").is_none());
        let html = answer.text().await.unwrap();
        assert!(html.contains("class=\"error\""), "{html}");
        assert!(html.contains("name=\"password\""));
    }
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let app = spawn_app().await;
    app.set_disabled("user1", true).await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "products:read"))
        .await;
    let answer = app.submit_login(page, "user1", "password1").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn unknown_client_or_unregistered_redirect_uri_never_redirects() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "products:read");
    let registered = app.redirect_uri();
    let port = app.app.rsplit(':').next().unwrap().to_owned();
    let near_misses = [
        format!("{registered}/"),
        registered.to_uppercase(),
        registered.replace("/callback", "/Callback"),
        registered.replace(&port, "1"),
        registered.replace("http://", "https://"),
        registered.replace("http://", "http://user@"),
        registered.replace("/callback", "/./callback"),
        registered.replace("/callback", "/%63allback"),
        format!("{registered}?x=1"),
        format!("{registered}#frag"),
        registered.replace("127.0.0.1", "localhost"),
        "https://evil.example/callback".into(),
        "javascript:alert(1)".into(),
    ];
    for uri in &near_misses {
        let r = app
            .get_authorize(&with(&query, "redirect_uri", Some(uri)))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            r.headers().get("location").is_none(),
            "never redirect to {uri}"
        );
        assert!(r.text().await.unwrap().contains("not registered"));
    }
    for (name, value) in [
        ("client_id", Some("nobody")),
        ("client_id", None),
        ("redirect_uri", None),
    ] {
        let r = app.get_authorize(&with(&query, name, value)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{name}={value:?}");
        assert!(r.headers().get("location").is_none());
    }
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn other_errors_redirect_with_error_and_unchanged_state() {
    let app = spawn_app().await;
    let mut auth = app.new_authorization();
    auth.state = "a b&c=d/é\"<>".into();
    let query = app.authorize_query(&auth, "products:read");
    let cases: Vec<(&str, Option<&str>, &str)> = vec![
        ("response_type", Some("token"), "unsupported_response_type"),
        ("response_type", None, "invalid_request"),
        ("code_challenge", None, "invalid_request"),
        ("code_challenge_method", Some("plain"), "invalid_request"),
        ("code_challenge_method", None, "invalid_request"),
        (
            "code_challenge",
            Some("not-a-valid-challenge"),
            "invalid_request",
        ),
        ("scope", Some("products:read superuser"), "invalid_scope"),
        ("scope", Some("bad\\scope"), "invalid_scope"),
        ("scope", None, "invalid_scope"),
        ("prompt", Some("none"), "login_required"),
        ("response_mode", Some("fragment"), "invalid_request"),
        (
            "request",
            Some("eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
    ];
    for (name, value, expected) in cases {
        let r = app.get_authorize(&with(&query, name, value)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name}={value:?}");
        assert!(location(&r).starts_with(&app.redirect_uri()));
        let params = redirect_params(&r);
        assert_eq!(param(&params, "error"), Some(expected), "{name}={value:?}");
        assert!(param(&params, "error_description").is_some_and(|d| !d.is_empty()));
        assert_eq!(
            param(&params, "state"),
            Some(auth.state.as_str()),
            "state comes back unchanged"
        );
        assert_eq!(param(&params, "iss"), Some(app.api.as_str()));
        assert!(param(&params, "code").is_none());
    }
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn repeated_or_oversized_parameters_are_refused() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "products:read");
    query.push(("scope".into(), "orders:write".into()));
    let r = app.get_authorize(&query).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("more than once"));

    let long_state = "s".repeat(3000);
    let r = app
        .get_authorize(&with(
            &app.authorize_query(&auth, "products:read"),
            "state",
            Some(&long_state),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn hostile_values_are_escaped_in_the_page() {
    let app = spawn_app().await;
    let mut auth = app.new_authorization();
    auth.state = "\"><script>alert(1)</script>".into();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "products:read"))
        .await;
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));
}

#[tokio::test]
async fn login_post_needs_the_forms_csrf_cookie() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "products:read"))
        .await;
    let html = page.text().await.unwrap();
    let mut form = hidden_inputs(&html);
    form.push(("username".into(), "user0".into()));
    form.push(("password".into(), "password0".into()));
    // No cookie: a cross-site form post.
    let r = app
        .http
        .post(app.url("/authorize/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A cookie that does not match the form.
    let r = app
        .http
        .post(app.url("/authorize/login"))
        .header("cookie", "login_csrf=forged")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.headers().get("location").is_none());
    assert_eq!(app.code_count().await, 0);
}

#[tokio::test]
async fn tampered_hidden_fields_are_validated_again() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let page = app
        .get_authorize(&app.authorize_query(&auth, "products:read"))
        .await;
    let cookie = page_cookie(&page);
    let html = page.text().await.unwrap();
    let mut form: Vec<(String, String)> = hidden_inputs(&html)
        .into_iter()
        .map(|(k, v)| {
            if k == "redirect_uri" {
                (k, "https://evil.example/cb".into())
            } else {
                (k, v)
            }
        })
        .collect();
    form.push(("username".into(), "user0".into()));
    form.push(("password".into(), "password0".into()));
    let r = app
        .http
        .post(app.url("/authorize/login"))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    assert_eq!(app.code_count().await, 0);
}
