use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

// ---- client credentials (RFC 6749 §4.4) ----

#[tokio::test]
async fn client_credentials_with_basic_auth_issues_an_rfc9068_token() {
    let app = spawn_app().await;
    let response = app.client_credentials(Some("products:read")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], "products:read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();
    let header = jwt_part(token, 0);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert!(header["kid"].is_string());
    let claims = jwt_part(token, 1);
    assert_eq!(claims["iss"], app.api.as_str());
    assert_eq!(claims["sub"], SERVICE);
    assert_eq!(claims["client_id"], SERVICE);
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["scope"], "products:read");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert!(claims["jti"].as_str().unwrap().len() >= 22);
}

#[tokio::test]
async fn client_credentials_with_client_secret_post() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", SERVICE),
            ("client_secret", SERVICE_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["scope"], "products:read",
        "without a scope parameter the registered scopes apply"
    );
}

#[tokio::test]
async fn lifetime_is_configurable() {
    let app = spawn_app_with(&["--access-token-ttl", "120"]).await;
    let body: Value = app.client_credentials(None).await.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
}

#[tokio::test]
async fn wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some("not-the-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert!(www_authenticate(&response).starts_with("Basic"));
    let (status, error, description) = oauth_error(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains("wrong client secret"), "{description}");
}

#[tokio::test]
async fn client_authentication_failures() {
    let app = spawn_app().await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.http.post(app.url("/token")).form(&form).send()
    };

    // Unknown client.
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth("nobody", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    // No authentication at all.
    let (status, error, _) = oauth_error(
        post(vec![("grant_type", "client_credentials")])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // A confidential client without its secret.
    let (_, error, d) = oauth_error(
        post(vec![
            ("grant_type", "client_credentials"),
            ("client_id", SERVICE),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(error, "invalid_client");
    assert!(d.contains("confidential"), "{d}");
    // A public client inventing a secret.
    let (_, error, _) = oauth_error(
        post(vec![
            ("grant_type", "client_credentials"),
            ("client_id", SPA),
            ("client_secret", "x"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(error, "invalid_client");
    // Malformed Basic credentials.
    let r = app
        .http
        .post(app.url("/token"))
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_client");
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_refused() {
    let app = spawn_app().await;
    let response = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_secret", SERVICE_SECRET),
        ])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}

#[tokio::test]
async fn scope_outside_the_clients_allowance_is_invalid_scope() {
    let app = spawn_app().await;
    let (status, error, description) = oauth_error(
        app.client_credentials(Some("products:read orders:write"))
            .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    assert!(description.contains("orders:write"), "{description}");
    let (_, error, _) = oauth_error(app.client_credentials(Some("bad\"scope")).await).await;
    assert_eq!(error, "invalid_scope");
}

#[tokio::test]
async fn grant_types_are_checked() {
    let app = spawn_app().await;
    let send = |form: Vec<(&'static str, &'static str)>| {
        app.http
            .post(app.url("/token"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&form)
            .send()
    };
    let (_, error, _) = oauth_error(
        send(vec![
            ("grant_type", "password"),
            ("username", "user0"),
            ("password", "password0"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(error, "unsupported_grant_type");
    let (_, error, _) = oauth_error(send(vec![("scope", "products:read")]).await.unwrap()).await;
    assert_eq!(error, "invalid_request", "grant_type is required");
    // demo-service may only use client credentials.
    let (_, error, _) = oauth_error(
        send(vec![
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", "http://x"),
            ("code_verifier", "x"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(error, "unauthorized_client");
    // demo-spa is public and may not use client credentials.
    let r = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "unauthorized_client");
}

#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let app = spawn_app().await;
    // JSON instead of a form.
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
    // A repeated parameter (RFC 6749 §3.2).
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (_, error, description) = oauth_error(r).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("grant_type"));
    // Not UTF-8, and binary junk.
    let r = app
        .http
        .post(app.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00, b'&', 0x80])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error());
    // GET is not a token request.
    let r = app.http.get(app.url("/token")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn oversized_bodies_are_refused_early() {
    let app = spawn_app().await;
    let body = format!(
        "grant_type=client_credentials&scope={}",
        "a".repeat(64 * 1024)
    );
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers()["cache-control"], "no-store");
}

// ---- authorization code with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.6) ----

#[tokio::test]
async fn code_exchange_issues_access_and_id_tokens() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, ALL_USER_SCOPES, "user0", "password0")
        .await;
    assert!(code.len() >= 43, "at least 256 bits of randomness");
    let response = app.redeem(&code, &auth).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["scope"],
        "email openid orders:read orders:write products:read profile"
    );
    let access = body["access_token"].as_str().unwrap();
    let claims = jwt_part(access, 1);
    assert!(claims["sub"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(claims["client_id"], SPA);
    assert_eq!(claims["aud"], "api://default");

    let id_token = body["id_token"].as_str().unwrap();
    let id_header = jwt_part(id_token, 0);
    assert_ne!(
        id_header["typ"], "at+jwt",
        "an ID token must not look like an access token"
    );
    let id = jwt_part(id_token, 1);
    assert_eq!(id["aud"], SPA);
    assert_eq!(id["sub"], claims["sub"]);
    assert!(id["auth_time"].is_i64());
    assert!(id["at_hash"].as_str().is_some_and(|h| h.len() == 22));
    assert_eq!(id["preferred_username"], "user0");
    assert_eq!(id["name"], "User Number 0");
    assert_eq!(id["email"], "user0@example.com");

    // The ID token is refused by the API.
    let r = app.get_api("/api/whoami", Some(id_token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_code_is_single_use() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    assert_eq!(app.redeem(&code, &auth).await.status(), StatusCode::OK);
    let (status, error, description) = oauth_error(app.redeem(&code, &auth).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(description.contains("already used"), "{description}");
}

/// Of concurrent presentations of one code, at most one gets tokens (none, if the others
/// arrive while it is still being answered), and the replays revoke whatever it got
/// (RFC 6749 §4.1.2).
#[tokio::test]
async fn concurrent_redemptions_yield_one_token_at_most() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app.http.post(app.url("/token")).form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", SPA),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
        ]);
        tasks.spawn(async move {
            let r = request.send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        });
    }
    let answers = tasks.join_all().await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count() <= 1,
        "{statuses:?}"
    );
    for (status, body) in &answers {
        if *status != StatusCode::OK {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
    }
    if let Some((_, tokens)) = answers.iter().find(|(s, _)| *s == StatusCode::OK) {
        let access = tokens["access_token"].as_str().unwrap();
        let r = app.get_api("/api/whoami", Some(access)).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "the replays revoked it"
        );
        assert!(www_authenticate(&r).contains("revoked"));
    }
}

#[tokio::test]
async fn wrong_verifier_fails_and_spends_the_code() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let other = app.new_authorization();
    let wrong = crate::helpers::Authorization {
        verifier: other.verifier,
        redirect_uri: auth.redirect_uri.clone(),
        state: auth.state.clone(),
    };
    let (_, error, description) = oauth_error(app.redeem(&code, &wrong).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("code_verifier"), "{description}");
    // A stolen code gets one try: afterwards not even the right verifier redeems it.
    assert_eq!(
        oauth_error(app.redeem(&code, &auth).await).await.1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn malformed_redemption_leaves_the_code_usable() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let send =
        |form: Vec<(&'static str, String)>| app.http.post(app.url("/token")).form(&form).send();
    let base = |skip: &str| {
        [
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("client_id", SPA.to_owned()),
            ("redirect_uri", auth.redirect_uri.clone()),
            ("code_verifier", auth.verifier.as_str().to_owned()),
        ]
        .into_iter()
        .filter(|(k, _)| *k != skip)
        .collect::<Vec<_>>()
    };
    for missing in ["code", "redirect_uri", "code_verifier"] {
        let (_, error, description) = oauth_error(send(base(missing)).await.unwrap()).await;
        assert_eq!(error, "invalid_request", "without {missing}");
        assert!(description.contains(missing), "{description}");
    }
    let mut short = base("code_verifier");
    short.push(("code_verifier", "too-short".into()));
    assert_eq!(
        oauth_error(send(short).await.unwrap()).await.1,
        "invalid_request"
    );
    // None of that spent the code.
    assert_eq!(app.redeem(&code, &auth).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn mismatched_redirect_uri_is_invalid_grant() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let moved = crate::helpers::Authorization {
        verifier: auth.verifier.clone(),
        redirect_uri: format!("{}/", auth.redirect_uri),
        state: auth.state.clone(),
    };
    let (_, error, description) = oauth_error(app.redeem(&code, &moved).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("redirect_uri"), "{description}");
}

#[tokio::test]
async fn a_code_cannot_be_redeemed_by_another_client() {
    let app = spawn_app().await;
    app.add_other_spa(&["authorization_code"], "products:read")
        .await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let r = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "other-spa"),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (_, error, description) = oauth_error(r).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another client"), "{description}");
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    // Codes live at most 60 s: a minute and a second later by the server's clock, it is gone.
    app.advance(61);
    let (_, error, description) = oauth_error(app.redeem(&code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn unknown_and_garbage_codes_are_invalid_grant() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    for code in [
        "nope",
        &"x".repeat(5000),
        "'; DROP TABLE authorization_codes; --",
    ] {
        let (status, error, _) = oauth_error(app.redeem(code, &auth).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_grant"),
            "{code}"
        );
    }
}

#[tokio::test]
async fn id_token_echoes_the_nonce_and_only_granted_claims() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid products:read");
    query.push(("nonce".into(), "n-0S6_WzA2Mj".into()));
    let page = app.get_authorize(&query).await;
    let answer = app.submit_login(page, "user0", "password0").await;
    let code = param(&redirect_params(&answer), "code").unwrap().to_owned();
    let body: Value = app.redeem(&code, &auth).await.json().await.unwrap();
    let id = jwt_part(body["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert!(
        id.get("email").is_none() && id.get("name").is_none(),
        "{id}"
    );
    // Without openid there is no ID token at all.
    assert!(
        app.user_tokens("products:read")
            .await
            .get("id_token")
            .is_none()
    );
}

/// Document 003's walk-through as Postman users first try it: `grant_type` and `scope` under the
/// Params tab, that is in the URL. The answer says where they go instead; a secret sent in a URL
/// is never accepted, even beside a correct body; and nothing is issued or stored.
#[tokio::test]
async fn parameters_in_the_query_string_are_refused_with_what_to_change() {
    let app = spawn_app().await;
    let before = storage_fingerprint(&app).await;

    // Postman's Params tab: everything in the URL, an empty body.
    let r = app
        .http
        .post(app.url("/token?grant_type=client_credentials&scope=openid"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (status, error, description) = oauth_error(r).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        description.starts_with("grant_type, scope were sent in the URL's query string")
            && description.contains("Body → x-www-form-urlencoded")
            && description.contains("RFC 6749 §3.2"),
        "{description}"
    );

    // The secret in the URL, the rest in a correct body: still refused, and named as exposed.
    let r = app
        .http
        .post(app.url(&format!(
            "/token?client_id={SERVICE}&client_secret={SERVICE_SECRET}"
        )))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (status, error, description) = oauth_error(r).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        description.contains("treat client_secret as exposed: rotate the client secret"),
        "{description}"
    );
    assert!(!description.contains(SERVICE_SECRET), "{description}");

    // Revocation and introspection read their bodies the same way.
    let token = app.service_token().await;
    for path in ["/revoke", "/introspect"] {
        let r = app
            .http
            .post(app.url(&format!("{path}?token={token}")))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("token_type_hint", "access_token")])
            .send()
            .await
            .unwrap();
        let (status, error, description) = oauth_error(r).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{path}"
        );
        assert!(
            description.starts_with("token was sent in the URL's query string"),
            "{path}: {description}"
        );
        assert!(!description.contains(&token));
    }
    assert!(
        app.get_api("/api/products", Some(&token))
            .await
            .status()
            .is_success(),
        "a revocation sent in the URL revoked nothing"
    );

    // The endpoint's own query (RFC 6749 §3.2 allows one) is not a parameter: a correct body
    // still gets its token.
    let r = app
        .http
        .post(app.url("/token?tenant=shop"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(storage_fingerprint(&app).await, before, "nothing stored");
}

/// Document 001's literal command: client credentials with `scope=openid` and nothing else. A
/// client acting for itself gets no ID token, so `openid` is left out and the client's default
/// scopes are granted, as if `scope` had been omitted; the response's `scope` says so. Scopes the
/// client may not have are still refused by name.
#[tokio::test]
async fn client_credentials_for_openid_get_the_clients_scopes_without_openid() {
    let app = spawn_app().await;
    for scope in ["openid", "openid products:read"] {
        let r = app.client_credentials(Some(scope)).await;
        assert_eq!(r.status(), StatusCode::OK, "{scope}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["scope"], "products:read", "{scope}");
        assert!(body.get("id_token").is_none(), "{scope}");
        let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
        assert_eq!(claims["scope"], "products:read");
        let api = app
            .get_api("/api/products", body["access_token"].as_str())
            .await;
        assert_eq!(api.status(), StatusCode::OK);
    }
    let (status, error, description) =
        oauth_error(app.client_credentials(Some("openid orders:read")).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    assert!(
        description.contains("may not be granted: orders:read") && !description.contains("openid"),
        "{description}"
    );
}
