//! Custom authorization servers: source document 003's walk-through against
//! `/oauth2/default/v1/token`, each signing algorithm end to end, isolation between servers,
//! their administration, and bad input at every endpoint.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, jwt_part, oauth_error, spawn_app, storage_fingerprint, www_authenticate,
};

const SERVICE: &str = "demo-service";
const SERVICE_SECRET: &str = "demo-service-secret";

/// A client-credentials request to the server `id`, as document 003 sends it (HTTP Basic).
async fn token_at(app: &TestApp, id: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/oauth2/{id}/v1/token")))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn access_token_of(app: &TestApp, id: &str) -> String {
    let response = token_at(app, id, &[("grant_type", "client_credentials")]).await;
    assert_eq!(response.status(), StatusCode::OK, "server {id}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Verifies `token` as a resource-server library does that accepts only `alg` and knows only
/// the server's JWKS URL: the key by `kid`, then signature, issuer and audience.
async fn verify_independently(
    app: &TestApp,
    id: &str,
    token: &str,
    alg: jsonwebtoken::Algorithm,
    audience: &str,
) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url(&format!("/oauth2/{id}/v1/keys")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks.find(&kid).expect("the token's key is published");
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[app.url(&format!("/oauth2/{id}"))]);
    validation.set_audience(&[audience]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
        .claims
}

async fn introspect_at(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app
        .http
        .post(app.url(path))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// Creates a server offering the shop's scopes (when `body` is a good one).
async fn create(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    let response = app
        .admin(Method::POST, "/admin/servers", admin, Some(body.clone()))
        .await;
    if response.status() == StatusCode::CREATED {
        let id = body["id"].as_str().unwrap();
        crate::helpers::offer_shop_scopes(app, admin, id).await;
    }
    response
}

/// Document 003, literally: the `default` server's metadata, a token from
/// `/oauth2/default/v1/token` with HTTP Basic, RS256 as Okta signs, verified by an RS256-only
/// verifier from `/v1/keys`, accepted by `/api/whoami`; introspection and revocation at the
/// server.
#[tokio::test]
async fn document_003_walk_through_against_the_default_server() {
    let app = spawn_app().await;
    let issuer = app.url("/oauth2/default");
    let meta = app
        .get_json(&app.url("/oauth2/default/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(meta["issuer"], issuer);
    assert_eq!(meta["token_endpoint"], format!("{issuer}/v1/token"));
    assert_eq!(meta["jwks_uri"], format!("{issuer}/v1/keys"));
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{issuer}/v1/introspect")
    );
    assert_eq!(meta["revocation_endpoint"], format!("{issuer}/v1/revoke"));
    assert_eq!(
        meta["grant_types_supported"],
        json!([
            "authorization_code",
            "client_credentials",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:ietf:params:oauth:grant-type:token-exchange"
        ])
    );
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{issuer}/v1/authorize")
    );
    assert_eq!(meta["userinfo_endpoint"], format!("{issuer}/v1/userinfo"));
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let scopes = meta["scopes_supported"].as_array().unwrap();
    assert!(scopes.contains(&json!("products:read")));
    assert!(scopes.contains(&json!("openid")));
    // RFC 8414 §3.1's place for the same document, and OpenID Connect Discovery's.
    for place in [
        "/.well-known/oauth-authorization-server/oauth2/default",
        "/oauth2/default/.well-known/openid-configuration",
    ] {
        assert_eq!(app.get_json(&app.url(place)).await, meta, "{place}");
    }

    // The literal `scope=openid` of document 001 gets a token too (openid left out).
    let response = token_at(
        &app,
        "default",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "openid products:read"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["scope"], "products:read");
    let token = body["access_token"].as_str().unwrap();
    let header = jwt_part(token, 0);
    assert_eq!(
        (&header["alg"], &header["typ"]),
        (&json!("RS256"), &json!("at+jwt"))
    );
    let claims = verify_independently(
        &app,
        "default",
        token,
        jsonwebtoken::Algorithm::RS256,
        "api://default",
    )
    .await;
    assert_eq!(claims["iss"], issuer);
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["client_id"], SERVICE);

    let whoami = app.get_api("/api/whoami", Some(token)).await;
    assert_eq!(whoami.status(), StatusCode::OK);
    let whoami: Value = whoami.json().await.unwrap();
    assert_eq!(whoami["issuer"], issuer);
    assert_eq!(whoami["subject_type"], "client");
    assert_eq!(
        app.get_api("/api/products", Some(token)).await.status(),
        StatusCode::OK
    );
    // The API's protected resource metadata names both issuers it trusts (RFC 9728 §2).
    let prm = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/api"))
        .await;
    assert_eq!(
        prm["authorization_servers"],
        json!([app.api.as_str(), issuer])
    );
    // What only the root issuer's tokens reach: userinfo and the admin API.
    for path in ["/userinfo", "/admin/users"] {
        let r = app.get_api(path, Some(token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(www_authenticate(&r).contains("root issuer only"), "{path}");
    }
    // A root token says so too.
    let root: Value = app
        .get_api("/api/whoami", Some(&app.service_token().await))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(root["issuer"], app.api.as_str());

    // Introspection: active at its own server, inactive at the root issuer's.
    let own = introspect_at(&app, "/oauth2/default/v1/introspect", token).await;
    assert_eq!(
        (&own["active"], &own["iss"]),
        (&json!(true), &json!(issuer))
    );
    assert_eq!(app.introspect(token).await, json!({"active": false}));
    // Revocation at its server: the API refuses it from then on.
    let revoked = app
        .http
        .post(app.url("/oauth2/default/v1/revoke"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let refused = app.get_api("/api/whoami", Some(token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&refused).contains("revoked"));
    let after = introspect_at(&app, "/oauth2/default/v1/introspect", token).await;
    assert_eq!(after, json!({"active": false}));
}

/// Each algorithm, chosen per server: the token's `alg` and key type, accepted by the API (the
/// servers are for its audience) and by an independent verifier allowing that algorithm only.
#[tokio::test]
async fn each_signing_algorithm_end_to_end() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (id, alg, kty, jwt_alg) in [
        ("es", "ES256", "EC", jsonwebtoken::Algorithm::ES256),
        ("rs", "RS256", "RSA", jsonwebtoken::Algorithm::RS256),
        ("ed", "EdDSA", "OKP", jsonwebtoken::Algorithm::EdDSA),
    ] {
        let created = create(
            &app,
            &admin,
            json!({"id": id, "name": format!("{alg} server"), "audience": "api://default", "signing_alg": alg}),
        )
        .await;
        assert_eq!(created.status(), StatusCode::CREATED, "{alg}");
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["issuer"], app.url(&format!("/oauth2/{id}")));
        assert_eq!(created["signing_alg"], alg);
        // Served at once by this instance.
        let token = access_token_of(&app, id).await;
        let header = jwt_part(&token, 0);
        assert_eq!(header["alg"], alg);
        let jwks = app
            .get_json(&app.url(&format!("/oauth2/{id}/v1/keys")))
            .await;
        let published = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap()
            .clone();
        assert_eq!(
            (&published["alg"], &published["kty"]),
            (&json!(alg), &json!(kty))
        );
        verify_independently(&app, id, &token, jwt_alg, "api://default").await;
        let r = app.get_api("/api/whoami", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::OK, "{alg}");
    }
}

/// A token of one server is refused by every other: another server's introspection, the root
/// issuer's, and the API when the server is for another audience; and a token that claims
/// another server's issuer is checked with that server's keys, which did not sign it.
#[tokio::test]
async fn servers_are_isolated_from_each_other() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        json!({"id": "orders", "name": "Orders API", "description": "For the orders service", "audience": "api://orders", "signing_alg": "EdDSA"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let orders = access_token_of(&app, "orders").await;
    let default = access_token_of(&app, "default").await;
    let root = app.service_token().await;

    // Each server's introspection knows its own tokens only.
    for (path, own, others) in [
        ("/oauth2/orders/v1/introspect", &orders, [&default, &root]),
        ("/oauth2/default/v1/introspect", &default, [&orders, &root]),
    ] {
        assert_eq!(
            introspect_at(&app, path, own).await["active"],
            true,
            "{path}"
        );
        for other in others {
            assert_eq!(
                introspect_at(&app, path, other).await,
                json!({"active": false}),
                "{path}"
            );
        }
    }
    assert_eq!(app.introspect(&orders).await, json!({"active": false}));

    // The API's audience is api://default: the orders server's tokens are not for it.
    let refused = app.get_api("/api/whoami", Some(&orders)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www_authenticate(&refused).contains("issued by authorization server orders, whose tokens are for api://orders; this API requires api://default"),
        "{}",
        www_authenticate(&refused)
    );

    // Tokens correctly signed by the root issuer's key that claim a server's issuer: each is
    // verified with the keys of the issuer it names (which never signed it), or refused for
    // naming no trusted issuer, whatever the spelling of the path.
    let mut forged = Vec::new();
    for iss in [
        app.url("/oauth2/default"),
        app.url("/oauth2/orders"),
        app.url("/oauth2/default/"),
        app.url("/oauth2/default/../orders"),
        app.url("/oauth2/%64efault"),
        app.url("/oauth2/DEFAULT"),
        app.url("/oauth2/"),
        app.url("/oauth2"),
    ] {
        let claims = json!({
            "iss": iss, "sub": SERVICE, "aud": "api://default", "iat": 0,
            "exp": app.clock.now().unix() + 600, "jti": format!("forged-{}", forged.len()),
            "client_id": SERVICE, "scope": "products:read",
        });
        forged.push((
            iss,
            app.forge(crate::helpers::at_jwt_header(), &claims).await,
        ));
    }
    for (iss, token) in &forged {
        let r = app.get_api("/api/whoami", Some(token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{iss}");
        for path in [
            "/introspect",
            "/oauth2/default/v1/introspect",
            "/oauth2/orders/v1/introspect",
        ] {
            assert_eq!(
                introspect_at(&app, path, token).await,
                json!({"active": false}),
                "{iss} at {path}"
            );
        }
    }
    let (_, exact) = &forged[0];
    let r = app.get_api("/api/whoami", Some(exact)).await;
    assert!(
        www_authenticate(&r).contains("unknown key"),
        "{}",
        www_authenticate(&r)
    );
    // A root token at a server's revocation endpoint changes nothing.
    let revoke = app
        .http
        .post(app.url("/oauth2/orders/v1/revoke"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", root.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(
        app.get_api("/api/whoami", Some(&root)).await.status(),
        StatusCode::OK
    );

    // Each server's keys are listed and rotated on their own (the root's are untouched).
    let keys = app
        .admin(Method::GET, "/admin/keys?server=orders", &admin, None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let mut algs: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    algs.sort_unstable();
    assert_eq!(
        algs,
        ["EdDSA", "EdDSA", "RS256", "RS256"],
        "a current and a next key of its own algorithm, and of RS256 for ID tokens: {keys}"
    );
    let root_before = app.db.signing_keys("").await.unwrap();
    let rotated = app
        .admin(
            Method::POST,
            "/admin/keys/rotate",
            &admin,
            Some(json!({"force": true, "server": "orders"})),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let fresh = access_token_of(&app, "orders").await;
    assert_ne!(
        jwt_part(&fresh, 0)["kid"],
        jwt_part(&orders, 0)["kid"],
        "signs with the promoted key at once"
    );
    assert_eq!(
        introspect_at(&app, "/oauth2/orders/v1/introspect", &orders).await["active"],
        true
    );
    let root_after = app.db.signing_keys("").await.unwrap();
    let states = |keys: &[backend::storage::StoredKey]| {
        keys.iter()
            .map(|k| (k.kid.clone(), k.state))
            .collect::<Vec<_>>()
    };
    assert_eq!(states(&root_after), states(&root_before));
    for (method, path, body) in [
        (Method::GET, "/admin/keys?server=nope", None),
        (Method::GET, "/admin/keys?server=", None),
        (
            Method::POST,
            "/admin/keys/rotate",
            Some(json!({"server": "nope"})),
        ),
    ] {
        let r = app.admin(method, path, &admin, body).await;
        assert_eq!(oauth_error(r).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let odd = app
        .admin(Method::GET, "/admin/keys?other=1", &admin, None)
        .await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);

    // Deleted: its tokens are refused from then on, and its endpoints are gone.
    let deleted = app
        .admin(Method::DELETE, "/admin/servers/default", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_api("/api/whoami", Some(&default)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let gone = app
        .http
        .get(app.url("/oauth2/default/v1/keys"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(app.db.signing_keys("default").await.unwrap().is_empty());
    let listed = app
        .admin(Method::GET, "/admin/servers", &admin, None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["orders"]);
    for kind in ["server_created", "server_deleted"] {
        assert_eq!(app.events(kind, 1).await.len(), 1, "{kind}");
    }
}

/// Bad input: every endpoint of an unknown server is 404 without echoing the id; a client's
/// registration decides its grants as at the root issuer, unknown grants are
/// `unsupported_grant_type`; malformed
/// administration is refused with what to fix, and nothing is stored.
#[tokio::test]
async fn bad_input_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for hostile in ["nope%3Cscript%3E", "%FFnope", "%64efault"] {
        for (method, path) in [
            (
                Method::GET,
                format!("/oauth2/{hostile}/.well-known/oauth-authorization-server"),
            ),
            (
                Method::GET,
                format!("/.well-known/oauth-authorization-server/oauth2/{hostile}"),
            ),
            (Method::GET, format!("/oauth2/{hostile}/v1/keys")),
            (Method::POST, format!("/oauth2/{hostile}/v1/token")),
            (Method::POST, format!("/oauth2/{hostile}/v1/introspect")),
            (Method::POST, format!("/oauth2/{hostile}/v1/revoke")),
        ] {
            let response = app
                .http
                .request(method, app.url(&path))
                .basic_auth(SERVICE, Some(SERVICE_SECRET))
                .form(&[("grant_type", "client_credentials"), ("token", "x")])
                .send()
                .await
                .unwrap();
            let (status, error, description) = oauth_error(response).await;
            assert_eq!(
                (status, error.as_str()),
                (StatusCode::NOT_FOUND, "invalid_request"),
                "{path}"
            );
            assert!(
                description.contains("no authorization server"),
                "{description}"
            );
            assert!(
                !description.contains("script") && !description.contains("nope"),
                "{description}"
            );
        }
    }

    let user = app.user_token().await;
    let before = storage_fingerprint(&app).await;
    let servers_before = app.db.authorization_servers().await.unwrap();
    // The demo service may not use the grants with a user (its registration says so), here as
    // at the root issuer; an unknown grant is named.
    for (grant, extra, expected, said) in [
        (
            "authorization_code",
            ("code", "x"),
            "unauthorized_client",
            "not allowed to use the authorization_code grant",
        ),
        (
            "refresh_token",
            ("refresh_token", "x"),
            "unauthorized_client",
            "not allowed to use the refresh_token grant",
        ),
        (
            "password",
            ("username", "x"),
            "unsupported_grant_type",
            "is not supported",
        ),
    ] {
        let response = token_at(&app, "default", &[("grant_type", grant), extra]).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, expected)
        );
        assert!(description.contains(said), "{description}");
    }
    // The query-string refusal and the scope rules hold here as at the root issuer.
    let in_query = app
        .http
        .post(app.url("/oauth2/default/v1/token?grant_type=client_credentials"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .send()
        .await
        .unwrap();
    let (status, error, description) = oauth_error(in_query).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(description.contains("query string"), "{description}");
    let wider = token_at(
        &app,
        "default",
        &[
            ("grant_type", "client_credentials"),
            ("scope", "orders:write"),
        ],
    )
    .await;
    assert_eq!(oauth_error(wider).await.1, "invalid_scope");
    let wrong_secret = app
        .http
        .post(app.url("/oauth2/default/v1/token"))
        .basic_auth(SERVICE, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(oauth_error(wrong_secret).await.1, "invalid_client");

    for (body, says) in [
        (
            json!({"id": "..", "name": "x", "audience": "api://x"}),
            "only dots",
        ),
        (
            json!({"id": "a/b", "name": "x", "audience": "api://x"}),
            "letters, digits",
        ),
        (
            json!({"id": "x".repeat(65), "name": "x", "audience": "api://x"}),
            "1 to 64",
        ),
        (
            json!({"id": "", "name": "x", "audience": "api://x"}),
            "1 to 64",
        ),
        (
            json!({"id": "ok", "name": "", "audience": "api://x"}),
            "name",
        ),
        (
            json!({"id": "ok", "name": "x", "audience": "not a uri"}),
            "absolute URI",
        ),
        (
            json!({"id": "ok", "name": "x", "audience": "api://x#frag"}),
            "absolute URI",
        ),
        (
            json!({"id": "ok", "name": "x", "audience": format!("api://{}", "x".repeat(200))}),
            "absolute URI",
        ),
        (
            json!({"id": "ok", "name": "x\u{7}", "audience": "api://x"}),
            "control characters",
        ),
    ] {
        let response = create(&app, &admin, body.clone()).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_server"),
            "{body}"
        );
        assert!(description.contains(says), "{body}: {description}");
    }
    for body in [
        json!({"id": "ok", "name": "x", "audience": "api://x", "signing_alg": "HS256"}),
        json!({"id": "ok", "name": "x", "audience": "api://x", "signing_alg": "none"}),
        json!({"id": "ok", "name": "x", "audience": "api://x", "extra": 1}),
        json!({"id": "ok", "name": "x"}),
        json!(["not", "an", "object"]),
    ] {
        let response = create(&app, &admin, body.clone()).await;
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
    }
    let taken = create(
        &app,
        &admin,
        json!({"id": "default", "name": "again", "audience": "api://x"}),
    )
    .await;
    assert_eq!(oauth_error(taken).await.0, StatusCode::CONFLICT);
    // Only administrators.
    let forbidden = create(
        &app,
        &user,
        json!({"id": "mine", "name": "x", "audience": "api://x"}),
    )
    .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let missing = app
        .admin(Method::DELETE, "/admin/servers/nope", &admin, None)
        .await;
    assert_eq!(oauth_error(missing).await.0, StatusCode::NOT_FOUND);

    assert_eq!(storage_fingerprint(&app).await, before);
    assert_eq!(
        app.db.authorization_servers().await.unwrap(),
        servers_before
    );
}

/// Keys left under an id by a maintenance round that raced a deletion are purged, and never
/// reused by a new server of that id; a server deleted while its keys were being prepared is
/// not taken back in.
#[tokio::test]
async fn a_deleted_servers_keys_never_come_back() {
    use backend::keys::generate;
    use shared::admin::{KeyState, SigningAlg};
    let app = spawn_app().await;
    let now = app.clock.now();
    for id in ["gone", "again"] {
        let stray = generate(id, SigningAlg::Es256, KeyState::Current, now).unwrap();
        assert!(app.db.insert_signing_key(&stray).await.unwrap());
    }
    assert_eq!(app.db.purge_orphan_keys().await.unwrap(), 2);
    assert!(app.db.signing_keys("gone").await.unwrap().is_empty());
    let stray = generate("again", SigningAlg::Es256, KeyState::Current, now).unwrap();
    assert!(app.db.insert_signing_key(&stray).await.unwrap());
    let admin = app.admin_token().await;
    let created = create(
        &app,
        &admin,
        json!({"id": "again", "name": "Again", "audience": "api://default", "signing_alg": "ES256"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let keys = app.db.signing_keys("again").await.unwrap();
    assert!(
        keys.iter().all(|k| k.kid != stray.kid),
        "the leftover key is not reused"
    );
    let token = access_token_of(&app, "again").await;
    assert_ne!(jwt_part(&token, 0)["kid"], json!(stray.kid));
}

/// The command line runs the same operations on the same database; a running server takes a
/// server created there in at its next key reload.
#[tokio::test]
async fn the_command_line_manages_servers() {
    let app = crate::helpers::spawn_app_with(&["--jwks-max-age", "1"]).await;
    let out = app
        .cli(&[
            "servers",
            "create",
            "cli",
            "--name",
            "From the CLI",
            "--audience",
            "api://default",
            "--signing-alg",
            "ES256",
            "--extra-audience",
            "api://cli-reports",
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("/oauth2/cli"));
    let list = app.cli(&["servers", "list"]).await;
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines().any(|l| l.starts_with("cli ")
            && l.contains("ES256")
            && l.ends_with(" api://default api://cli-reports")),
        "{list}"
    );
    // Changed: what is given changes, the rest stays; a broken rule says which.
    let out = app
        .cli(&[
            "servers",
            "update",
            "cli",
            "--name",
            "CLI reports",
            "--no-extra-audiences",
        ])
        .await;
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("\"CLI reports\", audiences api://default\n"),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = app.db.authorization_server("cli").await.unwrap().unwrap();
    assert_eq!(
        (
            stored.name.as_str(),
            stored.audience.as_str(),
            stored.extra_audiences.0.len()
        ),
        ("CLI reports", "api://default", 0)
    );
    let out = app
        .cli(&["servers", "update", "cli", "--audience", "not a uri"])
        .await;
    assert!(!out.status.success());
    let out = app.cli(&["servers", "update", "nope", "--name", "x"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("no authorization server"));
    // The scopes it offers, from a file; read back as the JSON the command takes.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scopes.json");
    let scopes = json!({"scopes": [
        {"name": "products:read", "description": "Read the catalogue", "consent_required": false}
    ]});
    std::fs::write(&file, scopes.to_string()).unwrap();
    let out = app
        .cli(&[
            "servers",
            "set-scopes",
            "cli",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "authorization server cli now offers 1 scopes of its own: products:read\n"
    );
    let out = app.cli(&["servers", "scopes", "cli"]).await;
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, scopes);
    std::fs::write(
        &file,
        r#"{"scopes": [{"name": "openid", "description": "x"}]}"#,
    )
    .unwrap();
    let out = app
        .cli(&[
            "servers",
            "set-scopes",
            "cli",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("openid is OpenID Connect's"));
    // Served once this instance has read it (its keys exist already).
    let mut served = false;
    for _ in 0..50 {
        let response = token_at(&app, "cli", &[("grant_type", "client_credentials")]).await;
        if response.status() == StatusCode::OK {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the running server never served the new authorization server"
    );
    // Its keys, listed and rotated by hand; the hint to force names the server.
    let keys = app.cli(&["keys", "list", "--server", "cli"]).await;
    let keys = String::from_utf8_lossy(&keys.stdout);
    assert_eq!(
        keys.lines().filter(|l| l.contains("ES256")).count(),
        2,
        "{keys}"
    );
    // Too early for resource servers that cache the JWKS an hour (the default): this server
    // runs with a 1 s cache so that it reloads fast, and with it the next key would be old
    // enough after 2 s, which a loaded machine can take to get here.
    let early = app
        .cli_with_defaults(&["keys", "rotate", "--server", "cli"])
        .await;
    assert!(
        !early.status.success(),
        "rotated without --force: {}\nkeys before: {keys}",
        String::from_utf8_lossy(&early.stdout)
    );
    let early = String::from_utf8_lossy(&early.stderr);
    assert!(early.contains("--force --server cli"), "{early}");
    let root_before = app.db.signing_keys("").await.unwrap();
    let rotated = app
        .cli(&["keys", "rotate", "--server", "cli", "--force"])
        .await;
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("key_activated"));
    let root_after = app.db.signing_keys("").await.unwrap();
    assert_eq!(
        root_after
            .iter()
            .map(|k| (&k.kid, k.state))
            .collect::<Vec<_>>(),
        root_before
            .iter()
            .map(|k| (&k.kid, k.state))
            .collect::<Vec<_>>(),
        "the root's keys are untouched"
    );
    let unknown = app.cli(&["keys", "list", "--server", "nope"]).await;
    assert!(!unknown.status.success());
    let unknown = String::from_utf8_lossy(&unknown.stderr);
    assert!(!unknown.contains("--force"), "{unknown}");
    let bad = app
        .cli(&[
            "servers",
            "create",
            "bad id",
            "--name",
            "x",
            "--audience",
            "api://x",
        ])
        .await;
    assert!(!bad.status.success());
    let out = app.cli(&["servers", "delete", "cli"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
