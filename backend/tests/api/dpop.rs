//! DPoP (RFC 9449): tokens bound to the client's key at the token endpoint, and taken by the
//! API only with a proof by that key; every refusal names what to fix.

use backend::dpop::client::ClientKey;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::private_key_jwt;

const CLI: &str = "demo-cli";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl TestApp {
    /// The server's clock, as a proof's `iat`.
    fn now(&self) -> i64 {
        self.clock.now().unix()
    }

    /// A client-credentials request of the demo service with `proofs` as DPoP headers.
    async fn service_with(&self, path: &str, proofs: &[&str]) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(path))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("grant_type", "client_credentials")]);
        for proof in proofs {
            request = request.header("DPoP", *proof);
        }
        request.send().await.unwrap()
    }

    /// `GET path` at the API with `Authorization: {scheme} {token}` and `proof`, if any.
    async fn api_with(
        &self,
        path: &str,
        scheme: &str,
        token: &str,
        proof: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .get(self.url(path))
            .header("Authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn a_service_token_is_bound_to_its_key_and_taken_only_with_its_proofs() {
    let app = spawn_app().await;
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "Ed25519"])
    );
    let resource = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/api"))
        .await;
    assert_eq!(
        resource["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "Ed25519"])
    );

    let key = ClientKey::generate().unwrap();
    let token_url = app.url("/token");
    let response = app
        .service_with(
            "/token",
            &[&key.proof("POST", &token_url, app.now(), None).unwrap()],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP", "RFC 9449 §5");
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 1)["cnf"], json!({"jkt": key.jkt()}));
    let introspected = app.introspect(token).await;
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"]["jkt"], key.jkt());

    // §7.1: as DPoP with a fresh proof for this request, it works; each proof once.
    let products = app.url("/api/products");
    let proof = key.proof("GET", &products, app.now(), Some(token)).unwrap();
    let ok = app
        .api_with("/api/products", "DPoP", token, Some(&proof))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let replayed = app
        .api_with("/api/products", "DPoP", token, Some(&proof))
        .await;
    let (status, error, description) = oauth_error(replayed).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_dpop_proof")
    );
    assert!(description.contains("used before"), "{description}");

    // Every way to get it wrong: the answer names the fix, in a DPoP challenge.
    let other = ClientKey::generate().unwrap();
    let now = app.now();
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("Bearer", None, "bound to a DPoP key"),
        ("DPoP", None, "needs a DPoP proof"),
        (
            "DPoP",
            Some(other.proof("GET", &products, now, Some(token)).unwrap()),
            "but the token is bound to",
        ),
        (
            "DPoP",
            Some(key.proof("GET", &products, now, None).unwrap()),
            "no ath",
        ),
        (
            "DPoP",
            Some(
                key.proof("GET", &products, now, Some("another.token.value"))
                    .unwrap(),
            ),
            "not the hash",
        ),
        (
            "DPoP",
            Some(key.proof("POST", &products, now, Some(token)).unwrap()),
            "htm is \"POST\"",
        ),
        (
            "DPoP",
            Some(
                key.proof("GET", &app.url("/api/orders"), now, Some(token))
                    .unwrap(),
            ),
            "htu is",
        ),
        (
            "DPoP",
            Some(key.proof("GET", &products, now - 120, Some(token)).unwrap()),
            // 120 s, or 121 once a second has passed since `now` (a slow run).
            "s ago; this server takes proofs at most 60 s old",
        ),
        ("DPoP", Some("not-a-proof".into()), "not a signed JWT"),
    ];
    for (scheme, proof, says) in cases {
        let response = app
            .api_with("/api/products", scheme, token, proof.as_deref())
            .await;
        let challenge = www_authenticate(&response);
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_dpop_proof"),
            "{scheme} {says}: {description}"
        );
        assert!(
            description.contains(says),
            "{says:?} not in {description:?}"
        );
        assert!(
            challenge.starts_with(
                r#"DPoP realm="api", algs="ES256 EdDSA Ed25519", error="invalid_dpop_proof""#
            ),
            "{challenge}"
        );
    }
    // A bearer token is not taken as DPoP; every 401 offers the DPoP scheme too.
    let bearer = app.service_token().await;
    // The token debugger says the bound token holds only with its key's proofs.
    let debugged: Value = app
        .http
        .post(app.url("/api/debug/token"))
        .bearer_auth(&bearer)
        .json(&json!({"token": token, "endpoint": "GET /api/products"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(debugged["accepted"], true, "{debugged}");
    let verdict = debugged["verdict"].as_str().unwrap();
    assert!(
        verdict.contains("bound to a DPoP key") && verdict.contains("never as Bearer"),
        "{verdict}"
    );
    assert!(
        debugged["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|check| check["name"] == "cnf.jkt"
                && check["got"].as_str().unwrap().contains(key.jkt())),
        "{debugged}"
    );
    let response = app
        .api_with(
            "/api/products",
            "DPoP",
            &bearer,
            Some(&key.proof("GET", &products, now, Some(&bearer)).unwrap()),
        )
        .await;
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with(DPOP_CHALLENGE)
                && c.ends_with(&resource_metadata(response.url()))),
        "{challenges:?}"
    );
    let (status, error, description) = oauth_error(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert!(
        description.contains("not bound to a DPoP key"),
        "{description}"
    );
}

#[tokio::test]
async fn bad_proofs_at_the_token_endpoint_are_refused_and_issue_nothing() {
    let app = spawn_app().await;
    let key = ClientKey::generate().unwrap();
    let token_url = app.url("/token");
    let now = app.now();
    let used = key.proof("POST", &token_url, now, None).unwrap();
    assert_eq!(
        app.service_with("/token", &[&used]).await.status(),
        StatusCode::OK
    );
    let before = storage_fingerprint(&app).await;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![used.clone()], "used before"),
        (
            vec![
                key.proof("POST", &token_url, now, None).unwrap(),
                key.proof("POST", &token_url, now, None).unwrap(),
            ],
            "more than one DPoP header",
        ),
        (
            vec![
                key.proof("POST", &app.url("/oauth2/default/v1/token"), now, None)
                    .unwrap(),
            ],
            "htu is",
        ),
        (
            vec![key.proof("GET", &token_url, now, None).unwrap()],
            "htm is \"GET\"",
        ),
        (
            vec![key.proof("POST", &token_url, now + 60, None).unwrap()],
            "in the future",
        ),
        (
            vec![
                key.sign(
                    json!({"typ": "JWT"}),
                    json!({"jti": "x", "htm": "POST", "htu": token_url, "iat": now}),
                )
                .unwrap(),
            ],
            "must be dpop+jwt",
        ),
        (
            vec![
                key.sign(
                    json!({"alg": "HS256"}),
                    json!({"jti": "x", "htm": "POST", "htu": token_url, "iat": now}),
                )
                .unwrap(),
            ],
            "this server takes ES256, EdDSA, Ed25519",
        ),
        (vec!["x".repeat(5000)], "longer than"),
    ];
    for (proofs, says) in cases {
        let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let (status, error, description) =
            oauth_error(app.service_with("/token", &proofs).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_dpop_proof"),
            "{says}: {description}"
        );
        assert!(
            description.contains(says),
            "{says:?} not in {description:?}"
        );
    }
    assert_eq!(storage_fingerprint(&app).await, before, "nothing issued");
}

/// The tokens of user0's login at the demo CLI by the device grant, whose redeeming poll
/// carries a proof by `key`, if any.
async fn device_login(app: &TestApp, key: Option<&ClientKey>) -> Value {
    let started: Value = app
        .http
        .post(app.url("/device/authorize"))
        .form(&[
            ("client_id", CLI),
            ("scope", "openid offline_access products:read"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_code = started["user_code"].as_str().unwrap();
    let page = app
        .http
        .get(app.url("/device"))
        .query(&[("user_code", user_code)])
        .send()
        .await
        .unwrap();
    let cookie = page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.extend([
        ("username".to_owned(), "user0".to_owned()),
        ("password".to_owned(), "password0".to_owned()),
        ("decision".to_owned(), "allow".to_owned()),
    ]);
    assert_eq!(
        app.post_form("/device", &cookie, &form).await.status(),
        StatusCode::OK
    );
    let token_url = app.url("/token");
    let mut poll = app.http.post(&token_url);
    if let Some(key) = key {
        poll = poll.header(
            "DPoP",
            key.proof("POST", &token_url, app.now(), None).unwrap(),
        );
    }
    let poll = poll
        .form(&[
            ("grant_type", DEVICE_GRANT),
            ("client_id", CLI),
            ("device_code", started["device_code"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(poll.status(), StatusCode::OK);
    poll.json().await.unwrap()
}

#[tokio::test]
async fn a_public_clients_login_is_bound_to_its_key_and_a_client_may_be_required_to_bind() {
    let app = spawn_app_with_frozen_clock().await;
    let key = ClientKey::generate().unwrap();
    // A device login whose redeeming poll carries a proof.
    let tokens = device_login(&app, Some(&key)).await;
    let token_url = app.url("/token");
    assert_eq!(tokens["token_type"], "DPoP");
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    // A refresh of the demo CLI's login, with a DPoP proof or none.
    let refresh_with = |refresh_token: String, proof: Option<String>| {
        let app = &app;
        let token_url = token_url.clone();
        async move {
            let mut request = app.http.post(&token_url).form(&[
                ("grant_type", "refresh_token"),
                ("client_id", CLI),
                ("refresh_token", refresh_token.as_str()),
            ]);
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request.send().await.unwrap()
        }
    };
    let refresh = |proof: Option<String>| refresh_with(refresh_token.to_owned(), proof);

    // §5: its refresh token needs a proof by the same key.
    let (_, error, description) = oauth_error(refresh(None).await).await;
    assert_eq!(error, "invalid_dpop_proof", "{description}");
    assert!(
        description.contains("bound to the DPoP key"),
        "{description}"
    );
    let other = ClientKey::generate().unwrap();
    let (_, error, _) = oauth_error(
        refresh(Some(
            other.proof("POST", &token_url, app.now(), None).unwrap(),
        ))
        .await,
    )
    .await;
    assert_eq!(error, "invalid_grant", "another key's proof");
    let refreshed = refresh(Some(
        key.proof("POST", &token_url, app.now(), None).unwrap(),
    ))
    .await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "nothing was spent before"
    );
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(
        jwt_part(refreshed["access_token"].as_str().unwrap(), 1)["cnf"]["jkt"],
        key.jkt()
    );

    // A login without DPoP whose refresh brings a proof: from then on its refresh token is
    // bound to that key too (§5), not only the access token.
    let unbound = device_login(&app, None).await;
    assert_eq!(unbound["token_type"], "Bearer");
    let bound = refresh_with(
        unbound["refresh_token"].as_str().unwrap().to_owned(),
        Some(key.proof("POST", &token_url, app.now(), None).unwrap()),
    )
    .await;
    assert_eq!(bound.status(), StatusCode::OK);
    let bound: Value = bound.json().await.unwrap();
    assert_eq!(bound["token_type"], "DPoP");
    let next = bound["refresh_token"].as_str().unwrap().to_owned();
    let (_, error, description) = oauth_error(refresh_with(next.clone(), None).await).await;
    assert_eq!(error, "invalid_dpop_proof", "{description}");
    let (_, error, _) = oauth_error(
        refresh_with(
            next.clone(),
            Some(other.proof("POST", &token_url, app.now(), None).unwrap()),
        )
        .await,
    )
    .await;
    assert_eq!(error, "invalid_grant", "another key, once bound");
    let again = refresh_with(
        next,
        Some(key.proof("POST", &token_url, app.now(), None).unwrap()),
    )
    .await;
    assert_eq!(again.status(), StatusCode::OK);

    // A client required to bind: a request without a proof is refused.
    let admin = app.admin_token().await;
    let set = |id: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            app.http
                .patch(app.url(&format!("/admin/clients/{id}")))
                .bearer_auth(admin)
                .json(&json!({"dpop_bound_access_tokens": true}))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(set(SERVICE).await.status(), StatusCode::OK);
    let (_, error, description) = oauth_error(app.client_credentials(None).await).await;
    assert_eq!(error, "invalid_dpop_proof");
    assert!(
        description.contains("dpop_bound_access_tokens"),
        "{description}"
    );
    // The deployment's own browser app sends no proofs: it cannot be required to.
    let own = set(SPA).await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_command_line_makes_a_key_and_proofs_that_curl_can_send() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dpop.pem");
    let file = file.to_str().unwrap();
    let text = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let jkt = text(app.cli(&["dpop", "key", file]).await);
    assert_eq!(jkt.len(), 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is its owner's only");
    }
    // An existing file is never overwritten.
    assert!(!app.cli(&["dpop", "key", file]).await.status.success());

    let token_url = app.url("/token");
    let proof = text(
        app.cli(&["dpop", "proof", "--key", file, "--url", &token_url])
            .await,
    );
    let response = app.service_with("/token", &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(token, 1)["cnf"]["jkt"], jkt);
    let products = app.url("/api/products");
    let proof = text(
        app.cli(&[
            "dpop",
            "proof",
            "--key",
            file,
            "--method",
            "GET",
            "--url",
            &products,
            "--access-token",
            token,
        ])
        .await,
    );
    let ok = app
        .api_with("/api/products", "DPoP", token, Some(&proof))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_nonces_required_a_proof_without_a_recent_one_is_sent_back_for_one() {
    let app = spawn_app_with(&["--dpop-nonce-required"]).await;
    let key = ClientKey::generate().unwrap();
    let token_url = app.url("/token");
    let nonce_of = |response: &reqwest::Response| {
        response.headers()["dpop-nonce"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    // §8: no nonce: 400 use_dpop_nonce, with one to use; nothing issued.
    let before = storage_fingerprint(&app).await;
    let first = app
        .service_with(
            "/token",
            &[&key.proof("POST", &token_url, app.now(), None).unwrap()],
        )
        .await;
    let nonce = nonce_of(&first);
    let (status, error, description) = oauth_error(first).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce")
    );
    assert!(description.contains("DPoP-Nonce"), "{description}");
    assert_eq!(storage_fingerprint(&app).await, before);
    // A nonce it never gave out is no better.
    let made_up = key
        .proof_with_nonce("POST", &token_url, app.now(), None, Some("123.abc"))
        .unwrap();
    let (_, error, _) = oauth_error(app.service_with("/token", &[&made_up]).await).await;
    assert_eq!(error, "use_dpop_nonce");
    // With it: tokens, and the next nonce.
    let proof = key
        .proof_with_nonce("POST", &token_url, app.now(), None, Some(&nonce))
        .unwrap();
    let response = app.service_with("/token", &[&proof]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let next = nonce_of(&response);
    let tokens: Value = response.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();

    // §9: the API asks for one the same way, in a DPoP challenge.
    let products = app.url("/api/products");
    let bare = key.proof("GET", &products, app.now(), Some(token)).unwrap();
    let refused = app
        .api_with("/api/products", "DPoP", token, Some(&bare))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(!nonce_of(&refused).is_empty());
    assert!(
        www_authenticate(&refused).contains(r#"error="use_dpop_nonce""#),
        "{}",
        www_authenticate(&refused)
    );
    let proof = key
        .proof_with_nonce("GET", &products, app.now(), Some(token), Some(&next))
        .unwrap();
    let ok = app
        .api_with("/api/products", "DPoP", token, Some(&proof))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    // Requests without DPoP are not concerned.
    assert_eq!(app.client_credentials(None).await.status(), StatusCode::OK);

    // A client assertion (RFC 7523) is used once: a use_dpop_nonce does not spend it, so the
    // client retries with the same assertion and a proof with the nonce.
    let admin = app.admin_token().await;
    let signer = private_key_jwt::key("k1");
    let created = private_key_jwt::create_service(
        &app,
        &admin,
        json!({"kind": "service", "name": "Signer", "client_id": "signer",
               "scope": "products:read", "token_endpoint_auth_method": "private_key_jwt",
               "jwks": {"keys": [private_key_jwt::public_jwk(&signer)]}}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let assertion = private_key_jwt::assertion(&app, &signer, "signer", &app.api);
    let signed = |proof: String| {
        let (app, assertion, token_url) = (&app, &assertion, &token_url);
        async move {
            app.http
                .post(token_url)
                .header("DPoP", proof)
                .form(&[
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let first = signed(key.proof("POST", &token_url, app.now(), None).unwrap()).await;
    let nonce = nonce_of(&first);
    let (_, error, _) = oauth_error(first).await;
    assert_eq!(error, "use_dpop_nonce");
    let retried = signed(
        key.proof_with_nonce("POST", &token_url, app.now(), None, Some(&nonce))
            .unwrap(),
    )
    .await;
    assert_eq!(retried.status(), StatusCode::OK, "the same assertion");
}

/// Behind a proxy that serves the issuer under a path, a proof names the URL the client
/// called: the issuer's, path and all (§4.3 item 9), at the token endpoint and the API alike.
#[tokio::test]
async fn under_an_issuer_with_a_path_proofs_name_the_urls_the_client_called() {
    let app = spawn_app_below("/auth").await;
    let key = ClientKey::generate().unwrap();
    let called = |path: &str| format!("{}/auth{path}", app.api);
    let (_, error, description) = oauth_error(
        app.service_with(
            "/token",
            &[&key
                .proof("POST", &app.url("/token"), app.now(), None)
                .unwrap()],
        )
        .await,
    )
    .await;
    assert_eq!(error, "invalid_dpop_proof");
    assert!(description.contains("/auth/token"), "{description}");
    let response = app
        .service_with(
            "/token",
            &[&key
                .proof("POST", &called("/token"), app.now(), None)
                .unwrap()],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    for (url, status) in [
        (called("/api/products"), StatusCode::OK),
        (app.url("/api/products"), StatusCode::UNAUTHORIZED),
    ] {
        let proof = key.proof("GET", &url, app.now(), Some(token)).unwrap();
        let response = app
            .api_with("/api/products", "DPoP", token, Some(&proof))
            .await;
        assert_eq!(response.status(), status, "{url}");
    }
}

#[tokio::test]
async fn a_code_is_bound_to_the_key_its_request_named_or_its_push_proved() {
    let app = spawn_app().await;
    let key = ClientKey::generate().unwrap();
    let other = ClientKey::generate().unwrap();
    let token_url = app.url("/token");
    let redeem = |code: String, auth: &Authorization, proof: Option<String>| {
        let app = &app;
        let (uri, verifier) = (auth.redirect_uri.clone(), auth.verifier.as_str().to_owned());
        async move {
            let mut request = app.http.post(app.url("/token")).form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", SPA),
                ("redirect_uri", &uri),
                ("code_verifier", &verifier),
            ]);
            if let Some(proof) = proof {
                request = request.header("DPoP", proof);
            }
            request.send().await.unwrap()
        }
    };
    let code_of = |answer: reqwest::Response| {
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        param(&redirect_params(&answer), "code").unwrap().to_owned()
    };

    // §10: the browser's request names the key; the code is redeemed only with its proofs, and
    // a refused redemption does not spend it.
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid products:read");
    query.push(("dpop_jkt".into(), key.jkt().to_owned()));
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let code = code_of(app.submit_login(page, "user0", "password0").await);
    let (_, error, description) = oauth_error(redeem(code.clone(), &auth, None).await).await;
    assert_eq!(error, "invalid_dpop_proof");
    assert!(description.contains("bound to a DPoP key"), "{description}");
    let stranger = other.proof("POST", &token_url, app.now(), None).unwrap();
    let (_, error, _) = oauth_error(redeem(code.clone(), &auth, Some(stranger)).await).await;
    assert_eq!(error, "invalid_grant", "another key's proof");
    let proof = key.proof("POST", &token_url, app.now(), None).unwrap();
    let response = redeem(code, &auth, Some(proof)).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "nothing was spent before"
    );
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "DPoP");

    // A malformed dpop_jkt goes back to the client.
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid");
    query.push(("dpop_jkt".into(), "not-a-thumbprint".into()));
    let refused = app.get_authorize(&query).await;
    let params = redirect_params(&refused);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("dpop_jkt")
    );

    // §10.1: a proof with the push binds the code to its key.
    let par_url = app.url("/par");
    let push = |form: Vec<(String, String)>, proof: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/par"))
                .header("DPoP", proof)
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let auth = app.new_authorization();
    let pushed = push(
        app.authorize_query(&auth, "openid"),
        key.proof("POST", &par_url, app.now(), None).unwrap(),
    )
    .await;
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let pushed: Value = pushed.json().await.unwrap();
    let page = app
        .get_authorize(&[
            ("client_id".into(), SPA.into()),
            (
                "request_uri".into(),
                pushed["request_uri"].as_str().unwrap().into(),
            ),
        ])
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let code = code_of(app.submit_login(page, "user0", "password0").await);
    let (_, error, _) = oauth_error(redeem(code.clone(), &auth, None).await).await;
    assert_eq!(error, "invalid_dpop_proof");
    let proof = key.proof("POST", &token_url, app.now(), None).unwrap();
    assert_eq!(
        redeem(code, &auth, Some(proof)).await.status(),
        StatusCode::OK
    );
    // A dpop_jkt naming another key than the push's proof.
    let mut form = app.authorize_query(&app.new_authorization(), "openid");
    form.push(("dpop_jkt".into(), other.jkt().to_owned()));
    let (status, error, description) =
        oauth_error(push(form, key.proof("POST", &par_url, app.now(), None).unwrap()).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_dpop_proof")
    );
    assert!(
        description.contains("dpop_jkt names another key"),
        "{description}"
    );
}
