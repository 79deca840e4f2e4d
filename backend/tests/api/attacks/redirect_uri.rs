//! Redirect URIs: exact matching at the authorization endpoint (RFC 6749 §3.1.2, §4.1.2.1,
//! RFC 9700 §2.1/§4.1.3) and again at the token endpoint (RFC 6749 §4.1.3). The near misses of
//! `authorize.rs` (trailing slash, case, port, scheme, userinfo, `/./`, `%63`, query, fragment,
//! host) are not repeated; these are the parser-confusion ones.

use reqwest::StatusCode;

use super::assert_oauth_refusal;
use crate::helpers::*;

fn set(query: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut q: Vec<_> = query.iter().filter(|(k, _)| k != name).cloned().collect();
    q.push((name.to_owned(), value.to_owned()));
    q
}

/// RFC 6749 §4.1.2.1: an unregistered redirect URI gets an error page, never a redirect, and
/// nothing is stored.
async fn assert_never_redirected(app: &TestApp, query: &[(String, String)], case: &str) {
    let r = app.get_authorize(query).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{case}");
    assert!(r.headers().get("location").is_none(), "{case}");
    assert_eq!(r.headers()["x-frame-options"], "DENY", "{case}");
    let html = r.text().await.unwrap();
    assert!(html.contains("not registered"), "{case}");
}

#[tokio::test]
async fn parser_confusions_at_the_authorization_endpoint() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "products:read");
    let registered = app.redirect_uri();
    let port = app.app.rsplit(':').next().unwrap().to_owned();
    let host = format!("127.0.0.1:{port}");
    let near_misses = [
        (
            "an encoded dot segment",
            registered.replace("/callback", "/%2e/callback"),
        ),
        (
            "an encoded dot-dot segment",
            registered.replace("/callback", "/x/%2e%2e/callback"),
        ),
        (
            "a dot-dot segment",
            registered.replace("/callback", "/x/../callback"),
        ),
        ("a trailing dot segment", format!("{registered}/.")),
        (
            "a double slash",
            registered.replace("/callback", "//callback"),
        ),
        ("an encoded slash", format!("{registered}%2F")),
        ("a path parameter", format!("{registered};x=1")),
        ("an empty query", format!("{registered}?")),
        ("an empty fragment", format!("{registered}#")),
        ("an encoded space", format!("{registered}%20")),
        ("an encoded NUL", format!("{registered}%00")),
        (
            "an encoded newline",
            format!("{registered}%0d%0aSet-Cookie:x=1"),
        ),
        ("a leading space", format!(" {registered}")),
        (
            "the scheme upper-cased",
            registered.replace("http://", "HTTP://"),
        ),
        ("127.1", registered.replace("127.0.0.1", "127.1")),
        (
            "the address as one number",
            registered.replace("127.0.0.1", "2130706433"),
        ),
        (
            "the address in octal",
            registered.replace("127.0.0.1", "0177.0.0.1"),
        ),
        (
            "IPv4-mapped IPv6",
            registered.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
        ),
        (
            "the port with a leading zero",
            registered.replace(&format!(":{port}"), &format!(":0{port}")),
        ),
        (
            "a backslash for the slashes",
            registered.replace("http://", "http:\\\\"),
        ),
        ("one slash", registered.replace("http://", "http:/")),
        (
            "the host as userinfo",
            format!("http://{host}@evil.example/callback"),
        ),
        (
            "a fragment hiding the host",
            format!("http://evil.example#@{host}/callback"),
        ),
        (
            "the host as a subdomain",
            format!("http://{host}.evil.example/callback"),
        ),
        (
            "the URI in another's query",
            format!("https://evil.example/?next={registered}"),
        ),
        ("a relative reference", "/callback".into()),
        ("a scheme-relative reference", format!("//{host}/callback")),
        ("data:", "data:text/html,<script>alert(1)</script>".into()),
    ];
    let before = storage_fingerprint(&app).await;
    for (name, uri) in &near_misses {
        let case = format!("{name}: {uri} [RFC 9700 §4.1.3, RFC 6749 §4.1.2.1]");
        assert_never_redirected(&app, &set(&query, "redirect_uri", uri), &case).await;
    }
    // Two redirect URIs, the registered one among them: neither may be picked.
    let mut twice = query.clone();
    twice.push(("redirect_uri".into(), "https://evil.example/cb".into()));
    let r = app.get_authorize(&twice).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "redirect_uri twice [RFC 6749 §3.1]"
    );
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("more than once"));
    assert_eq!(storage_fingerprint(&app).await, before);
}

/// RFC 6749 §3.1.2: a registered URI's query is kept, and the comparison is still exact.
#[tokio::test]
async fn a_registered_uri_with_a_query() {
    let app = spawn_app().await;
    let registered = format!("{}/cb?tenant=1", app.app);
    app.db
        .upsert_client(
            &backend::storage::NewClient {
                id: "tenant-spa",
                name: "Tenant app",
                secret_hash: None,
                keys: None,
                first_party: true,
                grant_types: &[shared::oauth::GrantType::AuthorizationCode],
                scopes: &shared::scope::ScopeSet::parse("products:read").unwrap(),
                redirect_uris: std::slice::from_ref(&registered),
                lifetimes: backend::storage::Lifetimes::default(),
                require_pushed_requests: false,
                dpop_bound_access_tokens: false,
                post_logout_redirect_uris: &[],
                backchannel_logout_uri: None,
            },
            app.clock.now(),
        )
        .await
        .unwrap();
    let mut auth = app.new_authorization();
    auth.redirect_uri = registered.clone();
    let query = app.authorize_query_for("tenant-spa", &auth, "products:read");
    let before = storage_fingerprint(&app).await;
    for uri in [
        format!("{}/cb", app.app),
        format!("{}/cb?tenant=2", app.app),
        format!("{}/cb?tenant=1&tenant=2", app.app),
        format!("{}/cb?tenant=1&x=2", app.app),
        format!("{}/cb?x=2&tenant=1", app.app),
        format!("{}/cb?tenant=%31", app.app),
    ] {
        let case = format!("{uri} [RFC 6749 §3.1.2, RFC 9700 §4.1.3]");
        assert_never_redirected(&app, &set(&query, "redirect_uri", &uri), &case).await;
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    let params = redirect_params(&answer);
    assert!(location(&answer).starts_with(&format!("{registered}&")));
    assert_eq!(param(&params, "tenant"), Some("1"));
    assert!(param(&params, "code").is_some());
}

/// RFC 6749 §4.1.3: the token request must repeat the authorization request's redirect URI
/// exactly. Each near miss is a code's one presentation, so each gets its own code.
#[tokio::test]
async fn near_misses_at_the_token_endpoint() {
    let app = spawn_app_with(&["--login-attempts-per-address", "1000/60"]).await;
    let registered = app.redirect_uri();
    let port = app.app.rsplit(':').next().unwrap().to_owned();
    let near_misses = [
        ("case", registered.replace("/callback", "/Callback")),
        ("port", registered.replace(&port, "1")),
        ("scheme", registered.replace("http://", "https://")),
        ("userinfo", registered.replace("http://", "http://user@")),
        (
            "encoded dots",
            registered.replace("/callback", "/%2e/callback"),
        ),
        ("an added query", format!("{registered}?x=1")),
        ("a fragment", format!("{registered}#x")),
        (
            "localhost for 127.0.0.1",
            registered.replace("127.0.0.1", "localhost"),
        ),
    ];
    for (name, uri) in near_misses {
        let auth = app.new_authorization();
        let code = app
            .authorization_code(&auth, "products:read", "user0", "password0")
            .await;
        let moved = Authorization {
            verifier: auth.verifier.clone(),
            redirect_uri: uri.clone(),
            state: auth.state.clone(),
        };
        assert_oauth_refusal(
            &format!("{name}: {uri} [RFC 6749 §4.1.3]"),
            app.redeem(&code, &moved).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri does not match",
        )
        .await;
    }
    for table in ["grants", "access_tokens", "refresh_tokens"] {
        let n = app.db.count(table).await.unwrap();
        assert_eq!(n, 0, "nothing was issued: {table}");
    }
}
