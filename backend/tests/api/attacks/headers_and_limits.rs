//! CORS, cookies, caching and security headers, and size limits: what README's "Security
//! properties" promises about the transport. `cors.rs` and `abuse.rs` hold the basic cases.

use reqwest::{Method, StatusCode};

use super::assert_oauth_refusal;
use crate::helpers::*;

fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// The Fetch standard compares origins as exact strings (scheme, host, port): every variation
/// of the app's origin is another origin, and gets no CORS headers at all (README: CORS only
/// for the app's origin, no wildcard, no credentials).
#[tokio::test]
async fn cors_for_the_app_origin_exactly() {
    let app = spawn_app().await;
    let origin = app.app.clone();
    let others = [
        origin.to_uppercase(),
        format!("{origin}/"),
        format!("{origin}/callback"),
        origin.replace("http://", "https://"),
        origin.replace("http://", "http://user@"),
        app.api.clone(),
        "*".into(),
        format!("{origin}, http://evil.example"),
    ];
    for other in &others {
        for path in ["/api/products", "/token", "/admin/users"] {
            let preflight = app
                .http
                .request(Method::OPTIONS, app.url(path))
                .header("origin", other)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization")
                .send()
                .await
                .unwrap();
            let actual = app
                .http
                .get(app.url(path))
                .header("origin", other)
                .send()
                .await
                .unwrap();
            for r in [preflight, actual] {
                assert_eq!(cors_headers(&r), Vec::<String>::new(), "{other} {path}");
            }
        }
    }
    // The authorization pages are navigated to, never fetched: no CORS even for the app.
    let auth = app.new_authorization();
    let r = app
        .http
        .get(app.url("/authorize"))
        .query(&app.authorize_query(&auth, "products:read"))
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(cors_headers(&r), Vec::<String>::new(), "/authorize");
    let r = app
        .http
        .post(app.url("/authorize/login"))
        .header("origin", &origin)
        .form(&[("username", "user0")])
        .send()
        .await
        .unwrap();
    assert_eq!(cors_headers(&r), Vec::<String>::new(), "/authorize/login");
    // The app's origin: never credentials, and only the methods and headers the API uses.
    let r = app
        .http
        .get(app.url("/api/hello"))
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], origin.as_str());
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let r = app
        .http
        .request(Method::OPTIONS, app.url("/api/orders"))
        .header("origin", &origin)
        .header("access-control-request-method", "PURGE")
        .header("access-control-request-headers", "x-evil")
        .send()
        .await
        .unwrap();
    let allowed = |name: &str| {
        r.headers()[name]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect::<Vec<_>>()
    };
    // The methods the API and the admin API use (PUT: an authorization server's policies),
    // and no other.
    assert_eq!(
        allowed("access-control-allow-methods"),
        ["get", "post", "put", "patch", "delete"]
    );
    assert!(!allowed("access-control-allow-headers").contains(&"x-evil".to_owned()));
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}

/// RFC 6749 §5.1 and RFC 6750 §5.3/§4: token responses and everything about a token or a user
/// are `no-store`; only discovery and the JWKS may be cached. Pages keep referrers and frames
/// out (RFC 9700 §4.2.4, §4.16). The API sets no cookie.
#[tokio::test]
async fn caching_cookies_and_security_headers() {
    let app = spawn_app().await;
    let tokens = app.user_tokens("openid offline_access products:read").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let r = app.client_credentials(None).await;
    assert_eq!(r.headers()["cache-control"], "no-store", "/token");
    assert_eq!(r.headers()["pragma"], "no-cache", "/token [RFC 6749 §5.1]");
    assert!(r.headers().get("set-cookie").is_none(), "/token");
    let refreshed = app
        .refresh(tokens["refresh_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(refreshed.headers()["pragma"], "no-cache", "refresh");
    for (method, path) in [
        (Method::GET, "/api/whoami"),
        (Method::GET, "/api/orders"),
        (Method::GET, "/userinfo"),
        (Method::GET, "/api/nowhere"),
        (Method::DELETE, "/api/products"),
    ] {
        let r = app
            .http
            .request(method.clone(), app.url(path))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store", "{method} {path}");
        assert!(r.headers().get("set-cookie").is_none(), "{method} {path}");
    }
    for path in ["/jwks.json", "/.well-known/oauth-authorization-server"] {
        let r = app.get_api(path, None).await;
        let cache = r.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(cache.starts_with("public, max-age="), "{path}: {cache}");
    }
    // The error page and the error redirect of /authorize: no frames, no referrer, no sniffing.
    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "products:read");
    let unknown: Vec<_> = query
        .iter()
        .map(|(k, v)| match k.as_str() {
            "client_id" => (k.clone(), "nobody".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let bad_scope: Vec<_> = query
        .iter()
        .map(|(k, v)| match k.as_str() {
            "scope" => (k.clone(), "superuser".to_owned()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    for (case, q, status) in [
        ("error page", unknown, StatusCode::BAD_REQUEST),
        ("error redirect", bad_scope, StatusCode::SEE_OTHER),
    ] {
        let r = app.get_authorize(&q).await;
        assert_eq!(r.status(), status, "{case}");
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{case}");
        assert_eq!(h["x-frame-options"], "DENY", "{case}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{case}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{case}");
    }
    // The login form's anti-forgery cookie: host-only, scoped to /authorize, script-proof,
    // same-site, and cleared once the code is issued.
    let page = app.get_authorize(&query).await;
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["Path=/authorize", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cleared = answer.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("login_csrf=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert_eq!(answer.headers()["referrer-policy"], "no-referrer");
}

/// README: request bodies over 16 KiB get 413 at every endpoint that reads one, before any
/// parsing, and change nothing; a body just under the limit is read.
#[tokio::test]
async fn body_limits() {
    let app = spawn_app().await;
    let before = storage_fingerprint(&app).await;
    let big = format!("token={}", "t".repeat(17 * 1024));
    for path in [
        "/token",
        "/revoke",
        "/introspect",
        "/authorize/login",
        "/authorize/consent",
    ] {
        let r = app
            .http
            .post(app.url(path))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    let under = format!(
        "grant_type=client_credentials&pad={}",
        "p".repeat(16 * 1024 - 100)
    );
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(under)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "just under 16 KiB");
}

/// A NUL character anywhere a caller can put text: no OAuth parameter may hold one (RFC 6749
/// Appendix A), and PostgreSQL cannot store one in text. Every endpoint answers 400 with the
/// error its RFC names and a reason, never a 500, on either database, and stores nothing.
#[tokio::test]
async fn nul_characters_are_bad_requests_everywhere() {
    let app = spawn_app().await;
    let before = storage_fingerprint(&app).await;
    let auth = app.new_authorization();

    // The authorization endpoint: the request itself is not trustworthy, so an error page.
    for (name, value) in [
        ("client_id", "demo-spa\0"),
        ("state", "a\0b"),
        ("nonce", "n\0"),
        ("redirect_uri", "http://x\0"),
    ] {
        let mut query = app.authorize_query(&auth, "openid");
        query.retain(|(n, _)| n != name);
        query.push((name.into(), value.into()));
        let page = app.get_authorize(&query).await;
        assert_eq!(
            page.status(),
            StatusCode::BAD_REQUEST,
            "{name} [RFC 6749 Appendix A]"
        );
        assert!(page.headers().get("location").is_none(), "{name}");
        assert!(page.text().await.unwrap().contains("NUL"), "{name}");
    }

    // The token, revocation and introspection endpoints: RFC 6749 §5.2 invalid_request.
    for (path, form) in [
        (
            "/token",
            vec![("grant_type", "client_credentials"), ("client_id", "x\0")],
        ),
        ("/token", vec![("grant_type", "password\0")]),
        ("/revoke", vec![("token", "a\0"), ("client_id", SPA)]),
        (
            "/introspect",
            vec![("token", "a"), ("client_id", "demo-service\0")],
        ),
    ] {
        let r = app
            .http
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_oauth_refusal(
            &format!("{path} {form:?} [RFC 6749 Appendix A]"),
            r,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "NUL",
        )
        .await;
    }
    let basic = app
        .http
        .post(app.url("/token"))
        .basic_auth("demo-service\0", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "a NUL in HTTP Basic credentials [RFC 6749 §2.3.1]",
        basic,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "malformed",
    )
    .await;

    // The admin API: a query filter and JSON text.
    let admin = app.admin_token().await;
    let events = app
        .admin(
            reqwest::Method::GET,
            "/admin/events?kind=a%00",
            &admin,
            None,
        )
        .await;
    assert_eq!(events.status(), StatusCode::BAD_REQUEST);
    let user = app
        .admin(
            reqwest::Method::POST,
            "/admin/users",
            &admin,
            Some(serde_json::json!({
                "username": "dana", "name": "Dana\u{0}", "email": "dana@example.com",
                "password": "a long enough password"
            })),
        )
        .await;
    assert_eq!(user.status(), StatusCode::BAD_REQUEST);
    let token = app
        .admin(
            reqwest::Method::POST,
            "/admin/tokens",
            &admin,
            Some(serde_json::json!({
                "username": "user0", "name": "ci\u{0}", "scope": "products:read"
            })),
        )
        .await;
    assert_eq!(token.status(), StatusCode::BAD_REQUEST);
    let client = app
        .admin(
            reqwest::Method::POST,
            "/admin/clients",
            &admin,
            Some(serde_json::json!({
                "kind": "browser", "name": "N", "scope": "openid",
                "redirect_uris": ["https://a.test/cb\u{0}"]
            })),
        )
        .await;
    assert_eq!(
        client.status(),
        StatusCode::BAD_REQUEST,
        "a NUL in a JSON body"
    );
    for path in ["/admin/users/%00", "/admin/tokens/a%00"] {
        let method = if path.contains("tokens") {
            reqwest::Method::DELETE
        } else {
            reqwest::Method::PATCH
        };
        let r = app
            .admin(method, path, &admin, Some(serde_json::json!({})))
            .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
    }

    // The admin's own login above is the only change.
    let after = storage_fingerprint(&app).await;
    let changed: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.0)
        .collect();
    for table in changed {
        assert!(
            ["authorization_codes", "grants", "access_tokens"].contains(&table),
            "{table} changed"
        );
    }
}
