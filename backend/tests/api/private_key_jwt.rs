//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; draft-ietf-oauth-rfc7523bis for
//! the audience): a service registered with its public keys, by value or at a `jwks_uri`, signs
//! an assertion for every request; every flaw of an assertion is `invalid_client` with what to
//! fix, and a refused one is not remembered.

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::attacks::EcKey;
use crate::helpers::*;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) fn key(kid: &str) -> EcKey {
    EcKey {
        kid: kid.into(),
        ..EcKey::attacker()
    }
}

pub(crate) fn public_jwk(key: &EcKey) -> Value {
    let mut jwk = key.jwk();
    jwk["kid"] = json!(key.kid);
    jwk["alg"] = json!("ES256");
    jwk["use"] = json!("sig");
    jwk
}

/// An assertion of `client` for `audience`, valid for a minute from the app's clock.
pub(crate) fn assertion(app: &TestApp, key: &EcKey, client: &str, audience: &str) -> String {
    let now = app.clock.now().unix();
    key.sign(
        &json!({"alg": "ES256", "kid": key.kid, "typ": "JWT"}),
        &json!({"iss": client, "sub": client, "aud": audience, "exp": now + 60, "iat": now,
                "jti": backend::crypto::random_token(16)}),
    )
}

pub(crate) async fn create_service(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.admin(Method::POST, "/admin/clients", admin, Some(body))
        .await
}

async fn token_with(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let mut body = vec![("grant_type", "client_credentials")];
    body.extend_from_slice(form);
    app.http
        .post(app.url(path))
        .form(&body)
        .send()
        .await
        .unwrap()
}

async fn with_assertion(app: &TestApp, path: &str, assertion: &str) -> reqwest::Response {
    token_with(
        app,
        path,
        &[
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn a_service_with_registered_keys_signs_an_assertion_per_request_and_has_no_secret() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let signer = key("k1");
    let created = create_service(
        &app,
        &admin,
        json!({"kind": "service", "name": "Signer", "client_id": "signer", "scope": "products:read",
               "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [public_jwk(&signer)]}}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert!(
        created.get("client_secret").is_none(),
        "no secret is made: {created}"
    );
    assert_eq!(
        created["client"]["token_endpoint_auth_method"],
        "private_key_jwt"
    );
    assert_eq!(created["client"]["jwks"]["keys"][0]["kid"], "k1");

    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    for field in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert!(
            metadata[field]
                .as_array()
                .unwrap()
                .contains(&json!("private_key_jwt")),
            "{field}"
        );
    }
    let algs = metadata["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&json!("ES256")) && !algs.contains(&json!("HS256")));

    let first = assertion(&app, &signer, "signer", &app.api);
    let response = with_assertion(&app, "/token", &first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let access = response.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_part(&access, 1)["client_id"], "signer");

    // RFC 7523 §3 item 7: once only, here or at any instance.
    let (status, error, description) =
        oauth_error(with_assertion(&app, "/token", &first).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains("used before"), "{description}");

    // Introspection and revocation take it as well (a confidential client's authentication).
    let introspected = app
        .http
        .post(app.url("/introspect"))
        .form(&[
            ("token", access.as_str()),
            ("client_assertion_type", JWT_BEARER),
            (
                "client_assertion",
                &assertion(&app, &signer, "signer", &app.api),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(introspected.status(), StatusCode::OK);
    assert_eq!(introspected.json::<Value>().await.unwrap()["active"], true);
    let revoked = app
        .http
        .post(app.url("/revoke"))
        .form(&[
            ("token", access.as_str()),
            ("client_assertion_type", JWT_BEARER),
            (
                "client_assertion",
                &assertion(&app, &signer, "signer", &app.api),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);

    // At an authorization server, the audience is its own issuer, not the root's.
    let default = app.url("/oauth2/default");
    let (status, error, description) = oauth_error(
        with_assertion(
            &app,
            "/oauth2/default/v1/token",
            &assertion(&app, &signer, "signer", &app.api),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains(&default), "{description}");
    let at_default = with_assertion(
        &app,
        "/oauth2/default/v1/token",
        &assertion(&app, &signer, "signer", &default),
    )
    .await;
    assert_eq!(at_default.status(), StatusCode::OK);

    // No secret to send, and none to rotate.
    let (status, error, description) = oauth_error(
        token_with(
            &app,
            "/token",
            &[("client_id", "signer"), ("client_secret", "x")],
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains("private_key_jwt"), "{description}");
    let rotate = app
        .admin(Method::POST, "/admin/clients/signer/secret", &admin, None)
        .await;
    assert_eq!(rotate.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // New keys replace the old ones at once.
    let next = key("k2");
    let replaced = app
        .admin(
            Method::PATCH,
            "/admin/clients/signer",
            &admin,
            Some(json!({"jwks": {"keys": [public_jwk(&next)]}})),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let old = with_assertion(
        &app,
        "/token",
        &assertion(&app, &signer, "signer", &app.api),
    )
    .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = with_assertion(&app, "/token", &assertion(&app, &next, "signer", &app.api)).await;
    assert_eq!(new.status(), StatusCode::OK);

    // The same assertions authenticate a push (RFC 9126 §2) and a device request (RFC 8628
    // §3.1) of a confidential client, whose polls authenticate too (§3.4).
    let widened = app
        .admin(
            Method::PATCH,
            "/admin/clients/signer",
            &admin,
            Some(json!({"grant_types": ["client_credentials",
                                        "urn:ietf:params:oauth:grant-type:device_code"],
                        "scope": "openid products:read"})),
        )
        .await;
    assert_eq!(
        widened.status(),
        StatusCode::OK,
        "{}",
        widened.text().await.unwrap()
    );
    let signed = |form: &[(&str, &str)]| {
        let mut body: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        body.push(("client_assertion_type".into(), JWT_BEARER.into()));
        body.push((
            "client_assertion".into(),
            assertion(&app, &next, "signer", &app.api),
        ));
        body
    };
    // At /par the assertion authenticates the service (a 400, not a 401), whose request then
    // lacks what a login needs.
    let pushed = app
        .http
        .post(app.url("/par"))
        .form(&signed(&[("response_type", "code"), ("scope", "openid")]))
        .send()
        .await
        .unwrap();
    let (status, error, description) = oauth_error(pushed).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{description}"
    );
    assert!(description.contains("redirect_uri"), "{description}");
    let started = app
        .http
        .post(app.url("/device/authorize"))
        .form(&signed(&[("scope", "openid")]))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::OK);
    let device_code = started.json::<Value>().await.unwrap()["device_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let grant = "urn:ietf:params:oauth:grant-type:device_code";
    let unauthenticated = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", grant),
            ("client_id", "signer"),
            ("device_code", &device_code),
        ])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(unauthenticated).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let polled = app
        .http
        .post(app.url("/token"))
        .form(&signed(&[
            ("grant_type", grant),
            ("device_code", &device_code),
        ]))
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(polled).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "authorization_pending")
    );
}

#[tokio::test]
async fn every_flaw_of_an_assertion_is_invalid_client_and_nothing_is_remembered() {
    // Every case below is a failed authentication; the limits are not what is tested here.
    let app = spawn_app_with(&[
        "--client-auth-failures-per-client",
        "100/60",
        "--client-auth-failures-per-address",
        "100/60",
    ])
    .await;
    let admin = app.admin_token().await;
    let signer = key("k1");
    let created = create_service(
        &app,
        &admin,
        json!({"kind": "service", "name": "Signer", "client_id": "signer", "scope": "products:read",
               "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [public_jwk(&signer)]}}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let now = app.clock.now().unix();
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": "signer", "sub": "signer", "aud": app.api, "exp": now + 60,
                           "iat": now, "jti": backend::crypto::random_token(16)});
        edit(&mut c);
        c
    };
    let header = json!({"alg": "ES256", "kid": "k1"});
    let signed = |edit: &dyn Fn(&mut Value)| signer.sign(&header, &claims(edit));
    let stranger = key("k1");
    let hmac = {
        use jsonwebtoken::{EncodingKey, Header, encode};
        let mut h = Header::new(jsonwebtoken::Algorithm::HS256);
        h.kid = Some("k1".into());
        encode(
            &h,
            &claims(&|_| {}),
            &EncodingKey::from_secret(public_jwk(&signer).to_string().as_bytes()),
        )
        .unwrap()
    };
    let unsigned = format!(
        "{}.{}.",
        crate::attacks::b64(br#"{"alg":"none"}"#),
        crate::attacks::b64(claims(&|_| {}).to_string().as_bytes())
    );
    let cases: Vec<(String, &str)> = vec![
        (
            signed(&|c| c["aud"] = json!(app.url("/token"))),
            "not the token endpoint",
        ),
        (signed(&|c| c["aud"] = json!([app.api])), "array"),
        (
            signed(&|c| c["aud"] = json!("https://elsewhere.example")),
            "issuer identifier",
        ),
        (
            signed(&|c| drop(c.as_object_mut().unwrap().remove("aud"))),
            "no aud",
        ),
        (signed(&|c| c["exp"] = json!(now - 3600)), "expired"),
        (signed(&|c| c["exp"] = json!(now + 86_400)), "at most 600"),
        (
            signed(&|c| drop(c.as_object_mut().unwrap().remove("exp"))),
            "no exp",
        ),
        (signed(&|c| c["nbf"] = json!(now + 3600)), "nbf"),
        (
            signed(&|c| drop(c.as_object_mut().unwrap().remove("jti"))),
            "no jti",
        ),
        (signed(&|c| c["sub"] = json!("demo-service")), "iss and sub"),
        (signed(&|c| c["iss"] = json!("nobody")), "iss and sub"),
        (
            signed(&|c| {
                c["iss"] = json!("nobody");
                c["sub"] = json!("nobody");
            }),
            "unknown client_id",
        ),
        (
            stranger.sign(&header, &claims(&|_| {})),
            "signature is invalid",
        ),
        (
            signer.sign(&json!({"alg": "ES256", "kid": "k9"}), &claims(&|_| {})),
            "no registered key",
        ),
        (
            signer.sign(
                &json!({"alg": "ES256", "kid": "k1", "typ": "at+jwt"}),
                &claims(&|_| {}),
            ),
            "another kind of token",
        ),
        (
            signer.sign(
                &json!({"alg": "ES256", "kid": "k1", "jwk": public_jwk(&stranger)}),
                &claims(&|_| {}),
            ),
            "names its own key",
        ),
        (hmac, "signed with HS256"),
        (unsigned, "malformed"),
        ("garbage".into(), "not a signed JWT"),
        ("a.b.c".into(), "not a signed JWT"),
        ("x".repeat(5000), "longer than"),
    ];
    let before = storage_fingerprint(&app).await;
    for (assertion, expected) in cases {
        let response = with_assertion(&app, "/token", &assertion).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client"),
            "{expected}: {description}"
        );
        assert!(description.contains(expected), "{expected}: {description}");
    }
    // Malformed requests: one method only, both parameters, the one assertion type.
    let good = signed(&|_| {});
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let malformed: Vec<(Form, StatusCode, &str)> = vec![
        (
            vec![("client_assertion", good.as_str())],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![("client_assertion_type", JWT_BEARER)],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", good.as_str()),
                ("client_secret", "x"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", good.as_str()),
                ("client_id", "demo-service"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
                ),
                ("client_assertion", good.as_str()),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
    ];
    for (form, status, error) in malformed {
        let (got, code, description) = oauth_error(token_with(&app, "/token", &form).await).await;
        assert_eq!(
            (got, code.as_str()),
            (status, error),
            "{form:?}: {description}"
        );
    }
    let with_basic = app
        .http
        .post(app.url("/token"))
        .basic_auth("signer", Some("x"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", &good),
        ])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(with_basic).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    // A client with a secret cannot switch to assertions.
    let of_service = signer.sign(
        &header,
        &claims(&|c| {
            c["iss"] = json!(SERVICE);
            c["sub"] = json!(SERVICE);
        }),
    );
    let (status, error, description) =
        oauth_error(with_assertion(&app, "/token", &of_service).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(
        description.contains("not registered for private_key_jwt"),
        "{description}"
    );

    assert_eq!(
        app.db.count("client_assertions").await.unwrap(),
        0,
        "a refused assertion is not remembered"
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    // The good one still works: none of the refusals used its jti.
    assert_eq!(
        with_assertion(&app, "/token", &good).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn registration_takes_public_signature_keys_only() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let signer = key("k1");
    let base = json!({"kind": "service", "name": "Signer", "scope": "products:read",
                      "token_endpoint_auth_method": "private_key_jwt"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let mut private = public_jwk(&signer);
    private["d"] = json!(crate::attacks::b64(&[7u8; 32]));
    let cases: Vec<(Value, &str)> = vec![
        (with(json!({})), "needs the client's public keys"),
        (
            with(json!({"jwks": {"keys": [private]}})),
            "private or symmetric",
        ),
        (
            with(json!({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}})),
            "private or symmetric",
        ),
        (with(json!({"jwks": {"keys": []}})), "no key"),
        (with(json!({"jwks": {"keys": "k1"}})), "not a JWK set"),
        (
            with(json!({"jwks": {"keys": [public_jwk(&signer), public_jwk(&signer)]}})),
            "distinct kid",
        ),
        (
            with(
                json!({"jwks": {"keys": [public_jwk(&signer)]}, "jwks_uri": "https://example.com/jwks"}),
            ),
            "not both",
        ),
        (
            with(json!({"jwks_uri": "http://keys.example.com/jwks"})),
            "not https",
        ),
        (
            with(json!({"jwks_uri": "https://keys.example.com/jwks#x"})),
            "without fragment",
        ),
        (
            with(json!({"jwks_uri": "https://user:pass@keys.example.com/jwks"})),
            "user information",
        ),
        (
            with(json!({"jwks_uri": "http://127.0.0.1:9/jwks"})),
            "could not be read",
        ),
        (
            with(
                json!({"kind": "browser", "redirect_uris": [app.redirect_uri()],
                        "jwks": {"keys": [public_jwk(&signer)]}}),
            ),
            "does not fit a browser app",
        ),
        (
            with(json!({"token_endpoint_auth_method": "client_secret_basic",
                        "jwks": {"keys": [public_jwk(&signer)]}})),
            "are for token_endpoint_auth_method private_key_jwt",
        ),
    ];
    let before = storage_fingerprint(&app).await;
    for (body, expected) in cases {
        let response = create_service(&app, &admin, body.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let refusal: Value = response.json().await.unwrap();
        assert_eq!(refusal["error"], "invalid_client_metadata", "{body}");
        let description = refusal["error_description"].as_str().unwrap();
        assert!(description.contains(expected), "{expected}: {description}");
    }
    // A client with a secret gets no keys to replace.
    let patch = app
        .admin(
            Method::PATCH,
            &format!("/admin/clients/{SERVICE}"),
            &admin,
            Some(json!({"jwks": {"keys": [public_jwk(&signer)]}})),
        )
        .await;
    assert_eq!(patch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(storage_fingerprint(&app).await, before);
}

/// A JWK Set served over real HTTP on loopback, as a service publishes its keys.
struct KeyServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    reads: Arc<Mutex<usize>>,
    /// Answer 503 instead of the set.
    down: Arc<Mutex<bool>>,
}

impl KeyServer {
    async fn start(keys: Value) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let reads = Arc::new(Mutex::new(0));
        let down = Arc::new(Mutex::new(false));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let (served, counted, failing) = (keys.clone(), reads.clone(), down.clone());
        let router = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let (served, counted, failing) = (served.clone(), counted.clone(), failing.clone());
                async move {
                    *counted.lock().unwrap() += 1;
                    let status = if *failing.lock().unwrap() {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    };
                    let body = served.lock().unwrap().clone();
                    (
                        status,
                        [("cache-control", "max-age=3600")],
                        axum::Json(body),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            url,
            keys,
            reads,
            down,
        }
    }

    fn reads(&self) -> usize {
        *self.reads.lock().unwrap()
    }
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_read_when_registered_kept_and_read_again_for_a_new_kid() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let first = key("k1");
    let server = KeyServer::start(json!({"keys": [public_jwk(&first)]})).await;
    let created = create_service(
        &app,
        &admin,
        json!({"kind": "service", "name": "Published", "client_id": "published",
               "scope": "products:read", "token_endpoint_auth_method": "private_key_jwt",
               "jwks_uri": server.url}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(server.reads(), 1, "read once when registered");
    for _ in 0..3 {
        let response = with_assertion(
            &app,
            "/token",
            &assertion(&app, &first, "published", &app.api),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(server.reads(), 2, "then kept (Cache-Control: max-age=3600)");

    // The service rotates: its new key is published, the old one withdrawn.
    let second = key("k2");
    *server.keys.lock().unwrap() = json!({"keys": [public_jwk(&second)]});
    // Within a minute of the last reading a kid the kept set lacks is the assertion's problem...
    let early = with_assertion(
        &app,
        "/token",
        &assertion(&app, &second, "published", &app.api),
    )
    .await;
    let (status, _, description) = oauth_error(early).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(description.contains("no registered key"), "{description}");
    assert_eq!(server.reads(), 2);
    // ...after it, the set is read again, and the new key verifies.
    app.advance(61);
    let later = with_assertion(
        &app,
        "/token",
        &assertion(&app, &second, "published", &app.api),
    )
    .await;
    assert_eq!(later.status(), StatusCode::OK);
    assert_eq!(server.reads(), 3);
    // The withdrawn key is no longer trusted.
    let withdrawn = with_assertion(
        &app,
        "/token",
        &assertion(&app, &first, "published", &app.api),
    )
    .await;
    assert_eq!(withdrawn.status(), StatusCode::UNAUTHORIZED);

    // Whatever Cache-Control says (an hour here), keys are kept 15 minutes at most, and not
    // served past that when the key server is down (a withdrawn key must stop verifying); the
    // failed reading is not repeated for every assertion.
    *server.down.lock().unwrap() = true;
    app.advance(901);
    for _ in 0..3 {
        let response = with_assertion(
            &app,
            "/token",
            &assertion(&app, &second, "published", &app.api),
        )
        .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        server.reads(),
        4,
        "one failed reading, remembered for a minute"
    );
    // A client whose key server fails from its first assertion on is told why, and the server is
    // asked once a minute at most.
    *server.keys.lock().unwrap() = json!({"keys": [public_jwk(&first)]});
    *server.down.lock().unwrap() = false;
    let admin = app.admin_token().await;
    let created = create_service(
        &app,
        &admin,
        json!({"kind": "service", "name": "Unlucky", "client_id": "unlucky",
               "scope": "products:read", "token_endpoint_auth_method": "private_key_jwt",
               "jwks_uri": format!("{}?unlucky", server.url)}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    *server.down.lock().unwrap() = true;
    let reads = server.reads();
    for _ in 0..3 {
        let (status, error, description) = oauth_error(
            with_assertion(
                &app,
                "/token",
                &assertion(&app, &first, "unlucky", &app.api),
            )
            .await,
        )
        .await;
        // The key server's failure is not the client's: not invalid_client (not counted), and
        // its URL stays in the log.
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        );
        assert!(!description.contains("127.0.0.1"), "{description}");
    }
    assert_eq!(server.reads(), reads + 1);
}
