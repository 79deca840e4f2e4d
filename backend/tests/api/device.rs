//! The device authorization grant (RFC 8628): the device authorization endpoint, the
//! verification page, and the token endpoint's polling answers, at the root issuer and at an
//! authorization server.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::oauth::DeviceAuthorizationResponse;

use crate::helpers::*;

const CLI: &str = "demo-cli";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl TestApp {
    async fn ask_device(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// A device request of the demo command line at `path`, checking the answer's shape.
    async fn device_started(&self, path: &str, scope: &str) -> DeviceAuthorizationResponse {
        let response = self
            .ask_device(path, &[("client_id", CLI), ("scope", scope)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "RFC 8628 §3.2");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: DeviceAuthorizationResponse = response.json().await.unwrap();
        assert!(body.device_code.len() >= 43, "256 random bits");
        assert_eq!(body.user_code.len(), 9, "XXXX-XXXX: {}", body.user_code);
        assert_eq!(body.interval, 5);
        assert_eq!(body.expires_in, 600);
        body
    }

    async fn poll(&self, path: &str, client_id: &str, device_code: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("client_id", client_id),
                ("device_code", device_code),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The verification page at `path` for `user_code` (or the bare page with `None`).
    async fn verification(&self, path: &str, user_code: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(code) = user_code {
            request = request.query(&[("user_code", code)]);
        }
        request.send().await.unwrap()
    }

    /// Answers the approval page `page` with `decision`, logging in as `username`.
    async fn answer_device(
        &self,
        path: &str,
        page: reqwest::Response,
        decision: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        assert_eq!(page.status(), StatusCode::OK);
        let cookie = page_cookie(&page);
        let mut form = hidden_inputs(&page.text().await.unwrap());
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        form.push(("decision".into(), decision.into()));
        self.post_form(path, &cookie, &form).await
    }

    async fn device_rows(&self) -> i64 {
        self.db.count("device_authorizations").await.unwrap()
    }
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn a_device_is_connected_by_its_user_on_another_device() {
    let app = spawn_app_with_frozen_clock().await;
    let metadata: Value = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["device_authorization_endpoint"],
        app.url("/device/authorize")
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_GRANT))
    );

    let started = app
        .device_started("/device/authorize", "openid offline_access products:read")
        .await;
    assert_eq!(started.verification_uri, app.url("/device"));
    assert_eq!(
        started.verification_uri_complete,
        format!("{}?user_code={}", app.url("/device"), started.user_code)
    );

    // §3.5: nobody has answered yet; a poll sooner than the interval is slowed down, and the
    // interval grows by 5 seconds for good.
    let (status, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "authorization_pending")
    );
    let (_, error, description) =
        error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "slow_down");
    assert!(description.contains("10 seconds"), "{description}");
    app.advance(6);
    let (_, error, description) =
        error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "slow_down", "6 s is less than the new 10 s interval");
    assert!(description.contains("15 seconds"), "{description}");

    // The user opens the page, types the code in lower case without the dash.
    let bare = app.verification("/device", None).await;
    assert_eq!(bare.status(), StatusCode::OK);
    let html = bare.text().await.unwrap();
    assert!(html.contains("name=\"user_code\""), "{html}");
    let typed = started.user_code.replace('-', "").to_lowercase();
    let page = app.verification("/device", Some(&typed)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = page_cookie(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Demo command line"), "the client is named");
    assert!(
        html.contains(&started.user_code),
        "the code is shown as the device shows it"
    );
    assert!(html.contains("products:read") && html.contains("offline_access"));

    // A wrong password: the form again, nothing answered.
    let mut form = hidden_inputs(&html);
    form.extend([
        ("username".to_owned(), "user0".to_owned()),
        ("password".to_owned(), "wrong".to_owned()),
        ("decision".to_owned(), "allow".to_owned()),
    ]);
    let wrong = app.post_form("/device", &cookie, &form).await;
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
    app.advance(15);
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "authorization_pending");

    // The right one allows it.
    let form: Vec<(String, String)> = form
        .into_iter()
        .map(|(name, value)| {
            let value = if name == "password" {
                "password0".to_owned()
            } else {
                value
            };
            (name, value)
        })
        .collect();
    let done = app.post_form("/device", &cookie, &form).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("Device connected"));
    // The same form again (another tab): already answered.
    let again = app.post_form("/device", &cookie, &form).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().await.unwrap().contains("already answered"));

    // The device's next poll gets the tokens, once.
    app.advance(15);
    let response = app.poll("/token", CLI, &started.device_code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "offline_access openid products:read");
    assert!(tokens["id_token"].is_string() && tokens["refresh_token"].is_string());
    let access = tokens["access_token"].as_str().unwrap();
    let claims = jwt_part(access, 1);
    assert_eq!(claims["client_id"], CLI);
    let products = app
        .http
        .get(app.url("/api/products"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), StatusCode::OK);
    app.advance(15);
    let (_, error, description) =
        error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("already redeemed"), "{description}");

    // Its refresh token rotates as any other.
    let refreshed = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLI),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_denied_or_expired_device_request_is_told_so_and_nothing_is_issued() {
    let app = spawn_app_with_frozen_clock().await;
    let denied = app.device_started("/device/authorize", "openid").await;
    let page = app.verification("/device", Some(&denied.user_code)).await;
    // Denying needs no login: the code is the device's, and saying no gives nothing away.
    let answer = app.answer_device("/device", page, "deny", "", "").await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("was denied"));
    let (_, error, _) = error_of(app.poll("/token", CLI, &denied.device_code).await).await;
    assert_eq!(error, "access_denied");
    // The code cannot be answered again.
    let later = app.verification("/device", Some(&denied.user_code)).await;
    assert_eq!(later.status(), StatusCode::BAD_REQUEST);
    assert!(later.text().await.unwrap().contains("already answered"));

    let expiring = app.device_started("/device/authorize", "openid").await;
    app.advance(601);
    let (_, error, description) =
        error_of(app.poll("/token", CLI, &expiring.device_code).await).await;
    assert_eq!(error, "expired_token");
    assert!(description.contains("start again"), "{description}");
    let page = app.verification("/device", Some(&expiring.user_code)).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("expired"));
    assert_eq!(app.db.count("grants").await.unwrap(), 0, "nothing issued");
}

#[tokio::test]
async fn malformed_missing_and_hostile_device_requests_are_refused_and_store_nothing() {
    let app = spawn_app().await;
    // The device authorization endpoint.
    type Case<'a> = (&'a [(&'a str, &'a str)], StatusCode, &'a str);
    let cases: [Case; 6] = [
        (
            &[("scope", "openid")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            &[("client_id", "nobody"), ("scope", "openid")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            &[("client_id", SPA), ("scope", "openid")],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            &[("client_id", CLI), ("scope", "openid admin")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            &[("client_id", CLI), ("scope", "openid\u{1}")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            &[
                ("client_id", CLI),
                ("scope", "openid"),
                ("resource", "https://elsewhere.example/api"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_target",
        ),
    ];
    for (form, status, code) in cases {
        let (got, error, description) =
            error_of(app.ask_device("/device/authorize", form).await).await;
        assert_eq!(
            (got, error.as_str()),
            (status, code),
            "{form:?}: {description}"
        );
        assert!(!description.is_empty());
    }
    let service = app
        .http
        .post(app.url("/device/authorize"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("scope", "products:read")])
        .send()
        .await
        .unwrap();
    let (_, error, description) = error_of(service).await;
    assert_eq!(error, "unauthorized_client");
    assert!(description.contains("device"), "{description}");
    let huge = "x".repeat(20_000);
    let oversized = app
        .ask_device("/device/authorize", &[("client_id", CLI), ("scope", &huge)])
        .await;
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let repeated = app
        .ask_device(
            "/device/authorize",
            &[("client_id", CLI), ("client_id", CLI)],
        )
        .await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.device_rows().await,
        0,
        "a refused request stores nothing"
    );

    // The token endpoint.
    let started = app.device_started("/device/authorize", "openid").await;
    let missing = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", DEVICE_GRANT), ("client_id", CLI)])
        .send()
        .await
        .unwrap();
    let (_, error, description) = error_of(missing).await;
    assert_eq!(error, "invalid_request");
    assert!(description.contains("device_code"), "{description}");
    for wrong in ["not-a-device-code", &"d".repeat(300), &started.user_code] {
        let (_, error, _) = error_of(app.poll("/token", CLI, wrong).await).await;
        assert_eq!(error, "invalid_grant", "{wrong}");
    }
    // Another client's device code; a client that may not use the grant.
    let admin = app.admin_token().await;
    let grants = app.db.count("grants").await.unwrap();
    let created = app
        .http
        .post(app.url("/admin/clients"))
        .bearer_auth(&admin)
        .json(&json!({"kind": "device", "name": "Another TV", "client_id": "other-tv", "scope": "openid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["client"]["grant_types"], json!([DEVICE_GRANT]));
    assert!(created.get("client_secret").is_none_or(Value::is_null));
    let (_, error, description) =
        error_of(app.poll("/token", "other-tv", &started.device_code).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("another client"), "{description}");
    let (_, error, _) = error_of(app.poll("/token", SPA, &started.device_code).await).await;
    assert_eq!(error, "unauthorized_client");
    // The device code was not used up by any of these.
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "authorization_pending");

    // The verification page: a post without its anti-forgery cookie, or without an answer.
    let page = app.verification("/device", Some(&started.user_code)).await;
    let cookie = page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    let forged = app.post_form("/device", "", &form).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let unanswered = app.post_form("/device", &cookie, &form).await;
    assert_eq!(unanswered.status(), StatusCode::BAD_REQUEST);
    form.push(("decision".into(), "maybe".into()));
    let odd = app.post_form("/device", &cookie, &form).await;
    assert_eq!(odd.status(), StatusCode::BAD_REQUEST);
    for typed in ["ABCD-EFGH", "BCDF-GHJ", "<script>", &"B".repeat(5000)] {
        let page = app.verification("/device", Some(typed)).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{typed:.20}");
        let html = page.text().await.unwrap();
        assert!(html.contains("not valid"), "{html}");
        assert!(!html.contains("<script>"), "escaped");
    }
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "slow_down", "polled again at once");
    assert_eq!(
        app.db.count("grants").await.unwrap(),
        grants,
        "nothing issued"
    );
}

#[tokio::test]
async fn user_codes_tried_from_one_address_are_limited() {
    let app = spawn_app_with(&["--login-attempts-per-address", "3/60"]).await;
    let started = app.device_started("/device/authorize", "openid").await;
    for guess in ["BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM"] {
        let page = app.verification("/device", Some(guess)).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    }
    // RFC 8628 §5.1: past the limit even the right code waits.
    let page = app.verification("/device", Some(&started.user_code)).await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.text().await.unwrap().contains("Too many codes"));
}

#[tokio::test]
async fn an_authorization_server_has_its_own_device_endpoints_and_policy() {
    let app = spawn_app_with_frozen_clock().await;
    let path = "/oauth2/default/v1/device/authorize";
    let metadata: Value = app
        .http
        .get(app.url("/oauth2/default/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["device_authorization_endpoint"], app.url(path));
    let started = app
        .device_started(path, "openid offline_access products:read")
        .await;
    assert_eq!(
        started.verification_uri,
        app.url("/oauth2/default/v1/device")
    );
    // Its codes are entered at its page, and redeemed at its token endpoint, only.
    let elsewhere = app.verification("/device", Some(&started.user_code)).await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    let page = app
        .verification("/oauth2/default/v1/device", Some(&started.user_code))
        .await;
    let done = app
        .answer_device(
            "/oauth2/default/v1/device",
            page,
            "allow",
            "user1",
            "password1",
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let (_, error, description) =
        error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "invalid_grant", "the root issuer does not redeem it");
    assert!(
        description.contains("authorization server default"),
        "{description}"
    );
    // That poll did not count against the interval: the next one, at once, is on time.
    let response = app
        .poll("/oauth2/default/v1/token", CLI, &started.device_code)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    let claims = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["iss"], app.url("/oauth2/default"));
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();

    // A policy that does not allow the device grant: the user reads why, the device hears
    // access_denied.
    let admin = app.admin_token().await;
    let policies = json!({"policies": [{
        "name": "Browser logins only",
        "description": "No devices",
        "clients": [],
        "rules": [{
            "name": "Code",
            "grant_types": ["authorization_code"],
            "roles": [],
            "groups": [],
            "several_audiences": false,
            "decision": "allow",
            "lifetimes": {
                "access_token_ttl": null,
                "refresh_token_idle_ttl": null,
                "refresh_token_absolute_ttl": null
            }
        }]
    }]});
    let put = app
        .http
        .put(app.url("/admin/servers/default/policies"))
        .bearer_auth(&admin)
        .json(&policies)
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "{}",
        put.text().await.unwrap()
    );
    let refused = app.device_started(path, "openid").await;
    let page = app
        .verification("/oauth2/default/v1/device", Some(&refused.user_code))
        .await;
    let answer = app
        .answer_device(
            "/oauth2/default/v1/device",
            page,
            "allow",
            "user0",
            "password0",
        )
        .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let text = answer.text().await.unwrap();
    assert!(text.contains("cannot connect"), "{text}");
    let (_, error, description) = error_of(
        app.poll("/oauth2/default/v1/token", CLI, &refused.device_code)
            .await,
    )
    .await;
    assert_eq!(error, "access_denied");
    assert!(
        description.contains("access policy refused")
            && description.contains("authorization server default"),
        "the device hears which policy, not that its user said no: {description}"
    );

    // The device login's refreshes are decided by the rules for the device grant: a rule for
    // the code grant alone does not cover them (nothing is spent)…
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.http
                .post(app.url("/oauth2/default/v1/token"))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", CLI),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let (status, error, description) = error_of(refresh(refresh_token.clone()).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant"),
        "{description}"
    );
    // …and a rule for the device grant does.
    let mut devices = policies.clone();
    devices["policies"][0]["rules"][0]["grant_types"] = json!([DEVICE_GRANT]);
    let put = app
        .http
        .put(app.url("/admin/servers/default/policies"))
        .bearer_auth(&admin)
        .json(&devices)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    assert_eq!(refresh(refresh_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_poll_a_second_early_is_on_time() {
    let app = spawn_app_with_frozen_clock().await;
    let started = app.device_started("/device/authorize", "openid").await;
    for _ in 0..3 {
        let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
        assert_eq!(error, "authorization_pending");
        // Stored to the whole second: a device keeping 5 s may land 4 s after its last poll.
        app.advance(4);
    }
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "authorization_pending");
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "slow_down", "at once is too soon");
}

#[tokio::test]
async fn the_client_as_it_is_when_the_user_answers_decides() {
    let app = spawn_app_with_frozen_clock().await;
    let admin = app.admin_token().await;
    let patch = |body: Value| {
        let (app, admin) = (&app, &admin);
        async move {
            let response = app
                .http
                .patch(app.url(&format!("/admin/clients/{CLI}")))
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{}",
                response.text().await.unwrap()
            );
        }
    };
    // A scope taken from the client after the device asked is not granted.
    let started = app
        .device_started("/device/authorize", "openid products:read")
        .await;
    patch(json!({"scope": "openid offline_access"})).await;
    let page = app.verification("/device", Some(&started.user_code)).await;
    let done = app
        .answer_device("/device", page, "allow", "user0", "password0")
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let response = app.poll("/token", CLI, &started.device_code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid");

    // A client that lost the device grant: the page says so before anyone logs in.
    let started = app.device_started("/device/authorize", "openid").await;
    patch(json!({
        "grant_types": ["authorization_code"],
        "redirect_uris": ["http://127.0.0.1:9/callback"]
    }))
    .await;
    let page = app.verification("/device", Some(&started.user_code)).await;
    let status = page.status();
    let text = page.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(
        text.contains("may no longer log in from a device"),
        "{text}"
    );
    let (_, error, _) = error_of(app.poll("/token", CLI, &started.device_code).await).await;
    assert_eq!(error, "unauthorized_client");
}
