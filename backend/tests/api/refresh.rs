//! Refresh tokens (RFC 6749 §6, RFC 9700 §4.14), revocation (RFC 7009) and introspection
//! (RFC 7662).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const OFFLINE: &str = "openid offline_access products:read orders:read";

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

async fn refresh_ok(app: &TestApp, refresh_token: &str, scope: Option<&str>) -> Value {
    let r = app.refresh(refresh_token, scope).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

#[tokio::test]
async fn refresh_tokens_only_with_offline_access() {
    let app = spawn_app().await;
    let with = app.user_tokens(OFFLINE).await;
    let token = s(&with, "refresh_token");
    assert!(token.len() >= 43, "at least 256 bits");
    assert!(!token.contains('.'), "opaque, not a JWT");
    assert!(
        app.user_tokens("products:read")
            .await
            .get("refresh_token")
            .is_none()
    );
    let stored = app.db.snapshot("refresh_tokens", &[]).await.unwrap();
    assert!(!stored.contains(&token), "stored hashed");
    assert!(stored.contains(&backend::crypto::sha256_hex(&token)));
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let first = app.user_tokens(OFFLINE).await;
    let second = refresh_ok(&app, &s(&first, "refresh_token"), None).await;
    assert_ne!(
        s(&second, "refresh_token"),
        s(&first, "refresh_token"),
        "rotated"
    );
    assert_eq!(
        second["scope"],
        "offline_access openid orders:read products:read"
    );
    assert_eq!(
        app.get_api("/api/products", Some(&s(&second, "access_token")))
            .await
            .status(),
        StatusCode::OK
    );
    let third = refresh_ok(&app, &s(&second, "refresh_token"), None).await;

    // The first token again: reuse. It fails, and so does everything of this login.
    let (status, error, description) =
        oauth_error(app.refresh(&s(&first, "refresh_token"), None).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(description.contains("already used"), "{description}");
    assert_eq!(
        oauth_error(app.refresh(&s(&third, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
    for tokens in [&first, &second, &third] {
        assert_eq!(
            app.introspect(&s(tokens, "access_token")).await,
            json!({"active": false})
        );
    }
    // Another login is not affected.
    let other = app.user_tokens(OFFLINE).await;
    refresh_ok(&app, &s(&other, "refresh_token"), None).await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_yield_one_success() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let refresh_token = s(&tokens, "refresh_token");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app.http.post(app.url("/token")).form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", SPA),
        ]);
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    let statuses = tasks.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.db.count("refresh_tokens").await.unwrap(),
        2,
        "the presented token and exactly one successor"
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let (_, error, description) = oauth_error(
        app.refresh(
            &s(&tokens, "refresh_token"),
            Some("products:read orders:write"),
        )
        .await,
    )
    .await;
    assert_eq!(error, "invalid_scope");
    assert!(description.contains("orders:write"), "{description}");
    // The refused request changed nothing: the token still works, narrowed this time.
    let narrow = refresh_ok(&app, &s(&tokens, "refresh_token"), Some("products:read")).await;
    assert_eq!(narrow["scope"], "products:read");
    assert_eq!(
        jwt_part(&s(&narrow, "access_token"), 1)["scope"],
        "products:read"
    );
    // The next refresh token still carries the whole grant.
    let again = refresh_ok(&app, &s(&narrow, "refresh_token"), None).await;
    assert_eq!(
        again["scope"],
        "offline_access openid orders:read products:read"
    );
}

#[tokio::test]
async fn refresh_tokens_are_bound_to_their_client() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let refresh_token = s(&tokens, "refresh_token");
    // demo-service may not use the grant at all.
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "unauthorized_client");
    // A client that may refresh, but did not get this token.
    app.add_other_spa(&["authorization_code", "refresh_token"], OFFLINE)
        .await;
    let r = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", "other-spa"),
        ])
        .send()
        .await
        .unwrap();
    let (_, error, description) = oauth_error(r).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another client"), "{description}");
    refresh_ok(&app, &refresh_token, None).await;
}

#[tokio::test]
async fn idle_and_absolute_lifetimes() {
    let app = spawn_app_with(&[
        "--refresh-token-idle-ttl",
        "3600",
        "--refresh-token-absolute-ttl",
        "120",
    ])
    .await;
    let tokens = app.user_tokens(OFFLINE).await;
    let rotated = refresh_ok(&app, &s(&tokens, "refresh_token"), None).await;
    let stored = app
        .db
        .refresh_token(&backend::crypto::sha256_hex(&s(&rotated, "refresh_token")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.expires_at, stored.grant_expires_at,
        "a rotated token never outlives the grant"
    );

    app.advance(121);
    let (_, error, description) =
        oauth_error(app.refresh(&s(&rotated, "refresh_token"), None).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
}

#[tokio::test]
async fn bad_refresh_requests() {
    let app = spawn_app().await;
    let send =
        |form: Vec<(&'static str, String)>| app.http.post(app.url("/token")).form(&form).send();
    let (_, error, _) = oauth_error(
        send(vec![
            ("grant_type", "refresh_token".into()),
            ("client_id", SPA.into()),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(error, "invalid_request");
    for garbage in [
        "x".to_owned(),
        "x".repeat(10_000),
        "'; DELETE FROM grants; --".into(),
    ] {
        let (_, error, _) = oauth_error(app.refresh(&garbage, None).await).await;
        assert_eq!(error, "invalid_grant");
    }
}

#[tokio::test]
async fn replaying_a_code_revokes_what_it_produced() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, OFFLINE, "user0", "password0")
        .await;
    let tokens: Value = app.redeem(&code, &auth).await.json().await.unwrap();
    assert_eq!(
        app.introspect(&s(&tokens, "access_token")).await["active"],
        true
    );
    assert_eq!(
        oauth_error(app.redeem(&code, &auth).await).await.1,
        "invalid_grant"
    );
    assert_eq!(
        app.introspect(&s(&tokens, "access_token")).await,
        json!({"active": false})
    );
    assert_eq!(
        oauth_error(app.refresh(&s(&tokens, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let rotated = refresh_ok(&app, &s(&tokens, "refresh_token"), None).await;
    let r = app.revoke_as_spa(&s(&rotated, "refresh_token")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(
        oauth_error(app.refresh(&s(&rotated, "refresh_token"), None).await)
            .await
            .1,
        "invalid_grant"
    );
    for t in [&tokens, &rotated] {
        assert_eq!(
            app.introspect(&s(t, "access_token")).await,
            json!({"active": false})
        );
    }
    // Revoking again, or revoking junk, is a quiet 200.
    for token in [
        s(&rotated, "refresh_token"),
        "junk".into(),
        "a.b.c".into(),
        "x".repeat(5000),
    ] {
        assert_eq!(app.revoke_as_spa(&token).await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn revoking_an_access_token() {
    let app = spawn_app().await;
    let token = app.service_token().await;
    assert_eq!(app.introspect(&token).await["active"], true);
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("token", token.as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    for token in [s(&tokens, "refresh_token"), s(&tokens, "access_token")] {
        let r = app
            .http
            .post(app.url("/revoke"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        app.introspect(&s(&tokens, "access_token")).await["active"],
        true
    );
    refresh_ok(&app, &s(&tokens, "refresh_token"), None).await;
}

#[tokio::test]
async fn bad_revocation_requests() {
    let app = spawn_app().await;
    let r = app
        .http
        .post(app.url("/revoke"))
        .form(&[("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
    let r = app
        .http
        .post(app.url("/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_client");
    let r = app
        .http
        .post(app.url("/revoke"))
        .basic_auth(SERVICE, Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.0, StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .post(app.url("/revoke"))
        .json(&json!({"token": "x", "client_id": SPA}))
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
}

#[tokio::test]
async fn introspection_reports_active_access_tokens() {
    let app = spawn_app().await;
    let tokens = app.user_tokens(OFFLINE).await;
    let access = s(&tokens, "access_token");
    let claims = jwt_part(&access, 1);
    let answer = app.introspect(&access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["scope"], claims["scope"]);
    assert_eq!(answer["client_id"], SPA);
    assert_eq!(answer["sub"], claims["sub"]);
    assert_eq!(answer["aud"], "api://default");
    assert_eq!(answer["iss"], app.api.as_str());
    assert_eq!(answer["exp"], claims["exp"]);
    assert_eq!(answer["iat"], claims["iat"]);
    assert_eq!(answer["token_type"], "Bearer");
}

#[tokio::test]
async fn introspection_says_only_inactive_for_everything_else() {
    let app = spawn_app().await;
    let now = app.clock.now().unix();
    let mut expired = app.claims("products:read");
    expired["exp"] = json!(now - 300);
    let mut other_aud = app.claims("products:read");
    other_aud["aud"] = json!("api://other");
    let tokens = app.user_tokens(OFFLINE).await;
    let id_token = s(&tokens, "id_token");
    let cases = [
        app.forge(at_jwt_header(), &expired).await,
        app.forge(at_jwt_header(), &other_aud).await,
        id_token,
        "garbage".into(),
        "a.b.c".into(),
        "x".repeat(10_000),
        // demo-service did not get this refresh token: for it, it is not active.
        s(&tokens, "refresh_token"),
    ];
    for token in cases {
        assert_eq!(
            app.introspect(&token).await,
            json!({"active": false}),
            "{}",
            &token[..token.len().min(40)]
        );
    }
}

#[tokio::test]
async fn introspection_needs_a_confidential_client() {
    let app = spawn_app().await;
    let token = app.service_token().await;
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.0, StatusCode::UNAUTHORIZED);
    let r = app
        .http
        .post(app.url("/introspect"))
        .form(&[("token", token.as_str()), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(r).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let r = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(r).await.1, "invalid_request");
}

#[tokio::test]
async fn userinfo_returns_the_claims_the_scope_allows() {
    let app = spawn_app().await;
    let full = app.user_token().await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let r = app
            .http
            .request(method.clone(), app.url("/userinfo"))
            .bearer_auth(&full)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{method}");
        let claims: Value = r.json().await.unwrap();
        assert_eq!(claims["sub"], jwt_part(&full, 1)["sub"]);
        assert_eq!(claims["preferred_username"], "user0");
        assert_eq!(claims["name"], "User Number 0");
        assert_eq!(claims["email"], "user0@example.com");
        assert_eq!(claims["email_verified"], false);
    }
    let openid_only = s(&app.user_tokens("openid").await, "access_token");
    let claims: Value = app
        .get_api("/userinfo", Some(&openid_only))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["sub"]
    );

    let no_openid = s(&app.user_tokens("products:read").await, "access_token");
    let r = app.get_api("/userinfo", Some(&no_openid)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&r).contains("scope=\"openid\""));
    assert_eq!(
        app.get_api("/userinfo", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_api("/userinfo", Some("garbage")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let id_token = s(&app.user_tokens("openid").await, "id_token");
    assert_eq!(
        app.get_api("/userinfo", Some(&id_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// `GET /api/me/grants`: each login with its refresh-token family, as the server stores it
/// (hash prefixes, never a token), the states changing as tokens rotate, are reused and the
/// family is revoked; only the caller's own.
#[tokio::test]
async fn a_user_sees_the_families_of_their_own_logins() {
    let app = spawn_app().await;
    const WITH_PROFILE: &str = "openid profile offline_access products:read";
    let first = app.user_tokens(WITH_PROFILE).await;
    let second = refresh_ok(&app, &s(&first, "refresh_token"), None).await;
    let access = s(&second, "access_token");
    let families = |token: String| {
        let app = &app;
        async move {
            let r = app.get_api("/api/me/grants", Some(&token)).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };
    let id = |token: &str| backend::crypto::sha256_hex(token)[..12].to_owned();

    let listed = families(access.clone()).await;
    let family = &listed[0];
    assert_eq!(family["client_id"], "demo-spa");
    assert!(family.get("revoked_at").is_none(), "{family}");
    let tokens = family["refresh_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{family}");
    assert_eq!(tokens[0]["id"], id(&s(&first, "refresh_token")).as_str());
    assert_eq!(tokens[0]["state"], "spent");
    assert!(tokens[0]["used_at"].as_i64().is_some());
    assert_eq!(tokens[1]["id"], id(&s(&second, "refresh_token")).as_str());
    assert_eq!(tokens[1]["state"], "live");
    let text = listed.to_string();
    for secret in [s(&first, "refresh_token"), s(&second, "refresh_token")] {
        assert!(!text.contains(&secret), "no refresh token in the answer");
    }

    // Another user sees only their own logins.
    let other = app.login_tokens("user1", "password1", WITH_PROFILE).await;
    let theirs = families(s(&other, "access_token")).await;
    assert_eq!(theirs.as_array().unwrap().len(), 1);
    assert_ne!(theirs[0]["grant_id"], family["grant_id"]);

    // Replaying the spent token revokes the family: every token is now spent or revoked, and
    // the reason says why. The family's access tokens are refused, so read it with another login.
    let replay = app.refresh(&s(&first, "refresh_token"), None).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    let fresh = app.user_tokens(WITH_PROFILE).await;
    let listed = families(s(&fresh, "access_token")).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let ended = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["grant_id"] == family["grant_id"])
        .unwrap();
    assert!(ended["revoked_at"].as_i64().is_some(), "{ended}");
    assert!(
        ended["revoked_reason"].as_str().unwrap().contains("reuse"),
        "{ended}"
    );
    let states: Vec<&str> = ended["refresh_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["spent", "revoked"]);

    // Without profile, with a client's own token, without a token or with a parameter: refused.
    let narrow = app.user_tokens("products:read").await;
    let r = app
        .get_api("/api/me/grants", Some(&s(&narrow, "access_token")))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A client acting for itself (its sub is its client id), signed by the server's own key:
    // no client is given profile with client credentials in the demo, so the test makes one.
    let mut claims = app.claims("profile");
    claims["sub"] = claims["client_id"].clone();
    let client = app.forge(at_jwt_header(), &claims).await;
    let r = app.get_api("/api/me/grants", Some(&client)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        www_authenticate(&r).contains("client"),
        "{}",
        www_authenticate(&r)
    );
    assert_eq!(
        app.get_api("/api/me/grants", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .get_api("/api/me/grants?all=1", Some(&s(&fresh, "access_token")))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
