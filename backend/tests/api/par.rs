//! Pushed authorization requests (RFC 9126): `/par` at the root issuer and at an authorization
//! server, the `request_uri` at the authorization endpoint, and the per-client and per-server
//! requirement.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::oauth::PushedAuthorizationResponse;

use crate::helpers::*;

const URN: &str = "urn:ietf:params:oauth:request_uri:";

impl TestApp {
    async fn push(&self, path: &str, form: &[(String, String)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Pushes `form` to `path` and returns the `request_uri`, checking the answer's shape.
    async fn pushed(&self, path: &str, form: &[(String, String)]) -> String {
        let response = self.push(path, form).await;
        assert_eq!(response.status(), StatusCode::CREATED, "RFC 9126 §2.2");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: PushedAuthorizationResponse = response.json().await.unwrap();
        assert!(body.request_uri.starts_with(URN), "{}", body.request_uri);
        assert!(body.request_uri.len() > URN.len() + 40, "256 random bits");
        assert_eq!(body.expires_in, 60);
        body.request_uri
    }

    async fn get_authorize_at(&self, path: &str, query: &[(String, String)]) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    async fn pushed_count(&self) -> i64 {
        self.db.count("pushed_requests").await.unwrap()
    }

    async fn open_at(&self, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .query(query)
            .send()
            .await
            .unwrap()
    }
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

async fn page_text(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers().get("location").is_none(),
        "no redirect without a trustworthy request"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_pushed_request_starts_one_login_and_the_browser_carries_only_its_reference() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let request_uri = app
        .pushed("/par", &app.authorize_query(&auth, "openid products:read"))
        .await;
    assert_eq!(app.pushed_count().await, 1);

    // RFC 9126 §4: the pushed request is the whole request; what else the browser sends is
    // ignored, even a wider scope or another redirect URI.
    let page = app
        .open_at(
            "/authorize",
            &[
                ("client_id", SPA),
                ("request_uri", &request_uri),
                ("scope", "openid admin"),
                ("redirect_uri", "https://attacker.example/cb"),
            ],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page_cookie(&page);
    let html = page.text().await.unwrap();
    let hidden = hidden_inputs(&html);
    let names: Vec<&str> = hidden.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["client_id", "request_uri", "csrf_token"], "{html}");
    assert!(html.contains("products:read") && !html.contains("admin"));

    // §4: used once. Another browser gets an error page...
    let again = app
        .open_at(
            "/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert!(page_text(again).await.contains("already used"));
    // ...the one that opened it, reloading the page, the same form (§4 allows it).
    let reloaded = app
        .http
        .get(app.url("/authorize"))
        .header(reqwest::header::COOKIE, &cookie)
        .query(&[("client_id", SPA), ("request_uri", request_uri.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), StatusCode::OK);
    assert_eq!(hidden_inputs(&reloaded.text().await.unwrap()), hidden);

    let mut form = hidden.clone();
    form.push(pair("username", "user0"));
    form.push(pair("password", "password0"));
    // The login form is bound to the browser that opened the request: another browser, with an
    // anti-forgery pair of its own (its cookie and its form agree), cannot post it.
    let elsewhere = app
        .get_authorize(&app.authorize_query(&app.new_authorization(), "openid"))
        .await;
    let other_cookie = page_cookie(&elsewhere);
    let other_csrf = hidden_inputs(&elsewhere.text().await.unwrap())
        .into_iter()
        .find(|(name, _)| name == "csrf_token")
        .unwrap();
    let mut stolen_form: Vec<(String, String)> = form
        .iter()
        .filter(|(name, _)| name != "csrf_token")
        .cloned()
        .collect();
    stolen_form.push(other_csrf);
    let stolen = app
        .post_form("/authorize/login", &other_cookie, &stolen_form)
        .await;
    assert!(
        page_text(stolen)
            .await
            .contains("opened in another browser")
    );
    let answer = app.post_form("/authorize/login", &cookie, &form).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert!(location(&answer).starts_with(&app.redirect_uri()));
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert_eq!(param(&params, "iss"), Some(app.api.as_str()));
    let code = param(&params, "code").unwrap();
    let tokens = app.redeem(code, &auth).await;
    assert_eq!(tokens.status(), StatusCode::OK);
    let tokens: Value = tokens.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid products:read");
    assert_eq!(app.pushed_count().await, 0, "the login ended its request");

    // The same form posted again finds the login over.
    let replayed = app.post_form("/authorize/login", &cookie, &form).await;
    assert!(page_text(replayed).await.contains("log in again"));
    assert_eq!(app.code_count().await, 1);
}

#[tokio::test]
async fn a_form_posted_twice_at_once_gets_one_code() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    for _ in 0..3 {
        let request_uri = app
            .pushed("/par", &app.authorize_query(&auth, "openid"))
            .await;
        let page = app
            .open_at(
                "/authorize",
                &[("client_id", SPA), ("request_uri", &request_uri)],
            )
            .await;
        let cookie = page_cookie(&page);
        let mut form = hidden_inputs(&page.text().await.unwrap());
        form.push(pair("username", "user0"));
        form.push(pair("password", "password0"));
        let before = app.code_count().await;
        let (a, b) = tokio::join!(
            app.post_form("/authorize/login", &cookie, &form),
            app.post_form("/authorize/login", &cookie, &form)
        );
        let codes = [a.status(), b.status()]
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(codes, 1, "{:?} {:?}", a.status(), b.status());
        assert_eq!(app.code_count().await, before + 1);
    }
}

#[tokio::test]
async fn pushes_are_limited_per_address_and_own_clients_cannot_be_required_to_push() {
    let app = spawn_app_with(&["--login-attempts-per-address", "3/60"]).await;
    let auth = app.new_authorization();
    for _ in 0..3 {
        app.pushed("/par", &app.authorize_query(&auth, "openid"))
            .await;
    }
    let refused = app
        .push("/par", &app.authorize_query(&auth, "openid"))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let (_, error, _) = oauth_error(refused).await;
    assert_eq!(error, "temporarily_unavailable");
    assert_eq!(app.pushed_count().await, 3);

    let admin = {
        app.advance(61);
        app.admin_token().await
    };
    for own in [SPA, "demo-docs"] {
        let response = app
            .admin(
                Method::PATCH,
                &format!("/admin/clients/{own}"),
                &admin,
                Some(json!({"require_pushed_authorization_requests": true})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{own}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("lock them"),
            "{body}"
        );
    }
    assert!(
        !app.db
            .client(SPA)
            .await
            .unwrap()
            .unwrap()
            .require_pushed_requests
    );
}

#[tokio::test]
async fn a_confidential_client_pushes_with_its_secret_and_a_wrong_one_stores_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(json!({"kind": "service", "name": "Web server", "client_id": "web", "scope": "products:read"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let secret = created.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let changed = app
        .admin(
            Method::PATCH,
            "/admin/clients/web",
            &admin,
            Some(json!({"grant_types": ["authorization_code"], "redirect_uris": [app.redirect_uri()],
                        "scope": "openid products:read", "require_pushed_authorization_requests": true})),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        changed.json::<Value>().await.unwrap()["require_pushed_authorization_requests"],
        true
    );
    let auth = app.new_authorization();
    let mut form = app.authorize_query_for("web", &auth, "openid products:read");
    form.retain(|(name, _)| name != "client_id");

    let wrong = app
        .http
        .post(app.url("/par"))
        .basic_auth("web", Some("not-the-secret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(wrong).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let anonymous = app
        .push(
            "/par",
            &app.authorize_query_for("web", &auth, "openid products:read"),
        )
        .await;
    let (status, error, description) = oauth_error(anonymous).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    assert!(description.contains("confidential"), "{description}");
    assert_eq!(app.pushed_count().await, 0);

    // RFC 9126 §6: this client's requests through the browser are refused, back at its
    // redirect URI (which is registered, so it may be told).
    let plain = app
        .get_authorize(&app.authorize_query_for("web", &auth, "openid products:read"))
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&plain);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    let description = param(&params, "error_description").unwrap();
    assert!(description.contains(&app.url("/par")), "{description}");
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));

    let pushed = app
        .http
        .post(app.url("/par"))
        .basic_auth("web", Some(&secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let body: PushedAuthorizationResponse = pushed.json().await.unwrap();
    let page = app
        .open_at(
            "/authorize",
            &[("client_id", "web"), ("request_uri", &body.request_uri)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(param(&redirect_params(&answer), "code").is_some());
}

#[tokio::test]
async fn bad_pushes_are_refused_with_the_rfc_code_and_store_nothing() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let good = app.authorize_query(&auth, "openid products:read");
    let with = |name: &str, value: Option<&str>| {
        let mut form: Vec<(String, String)> =
            good.iter().filter(|(k, _)| k != name).cloned().collect();
        if let Some(v) = value {
            form.push(pair(name, v));
        }
        form
    };
    let long_state = "s".repeat(3000);
    type Form = Vec<(String, String)>;
    let cases: Vec<(Form, &str, &str)> = vec![
        (
            with("response_type", None),
            "invalid_request",
            "response_type",
        ),
        (
            with("response_type", Some("token")),
            "unsupported_response_type",
            "use code",
        ),
        (
            with("redirect_uri", None),
            "invalid_request",
            "no redirect_uri",
        ),
        (
            with("redirect_uri", Some("https://attacker.example/cb")),
            "invalid_request",
            "not registered",
        ),
        (
            with("scope", Some("openid billing")),
            "invalid_scope",
            "billing",
        ),
        (with("scope", None), "invalid_scope", "no scope"),
        (
            with("code_challenge", None),
            "invalid_request",
            "code_challenge is required",
        ),
        (
            with("code_challenge_method", Some("plain")),
            "invalid_request",
            "use S256",
        ),
        (
            with("code_challenge", Some("short")),
            "invalid_request",
            "challenge",
        ),
        (with("state", Some(&long_state)), "invalid_request", "state"),
        (
            with("request_uri", Some(&format!("{URN}abc"))),
            "invalid_request",
            "RFC 9126 §2.1",
        ),
        (
            with("request", Some("eyJhbGciOiJub25lIn0.e30.")),
            "request_not_supported",
            "request",
        ),
        (with("prompt", Some("none")), "login_required", "log in"),
        (
            with("resource", Some("https://other.example/api")),
            "invalid_target",
            "other.example",
        ),
        (
            with("response_mode", Some("fragment")),
            "invalid_request",
            "response_mode",
        ),
    ];
    let before = storage_fingerprint(&app).await;
    for (form, expected, hint) in cases {
        let response = app.push("/par", &form).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}: {description}");
        assert_eq!(error, expected, "{description}");
        assert!(description.contains(hint), "{expected}: {description}");
    }

    // Who pushes: nobody, a stranger, a client that may not log users in, another client's id
    // in the body.
    let mut as_nobody = good.clone();
    as_nobody.retain(|(k, _)| k != "client_id");
    let (status, error, _) = oauth_error(app.push("/par", &as_nobody).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let stranger = app.push("/par", &with("client_id", Some("nobody"))).await;
    let (status, error, _) = oauth_error(stranger).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let service = app
        .http
        .post(app.url("/par"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&with("client_id", Some(SPA)))
        .send()
        .await
        .unwrap();
    let (status, error, description) = oauth_error(service).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{description}"
    );

    // Malformed requests: in the query, repeated, oversized, not a form, not a POST.
    let in_query = app
        .http
        .post(format!("{}?scope=openid", app.url("/par")))
        .form(&good)
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(in_query).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let mut twice = good.clone();
    twice.push(pair("scope", "openid"));
    let (status, error, _) = oauth_error(app.push("/par", &twice).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let huge = with("state", Some(&"x".repeat(20_000)));
    let too_large = app.push("/par", &huge).await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json_body = app
        .http
        .post(app.url("/par"))
        .json(&json!({"client_id": SPA}))
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(json_body).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    let get = app.http.get(app.url("/par")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(app.pushed_count().await, 0, "a refused push stores nothing");
    assert_eq!(storage_fingerprint(&app).await, before);
}

#[tokio::test]
async fn a_request_uri_that_is_not_this_clients_or_has_expired_gets_an_error_page() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let request_uri = app
        .pushed("/par", &app.authorize_query(&auth, "openid"))
        .await;
    let unknown = format!("{URN}unknown");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("request_uri", &request_uri)], "no client_id"),
        (
            vec![("client_id", "demo-partner"), ("request_uri", &request_uri)],
            "not issued to client \"demo-partner\"",
        ),
        (
            vec![
                ("client_id", SPA),
                ("request_uri", "https://client.example/request.jwt"),
            ],
            "not one this server's PAR endpoint issued",
        ),
        (
            vec![("client_id", SPA), ("request_uri", &unknown)],
            "unknown",
        ),
        (
            vec![("client_id", SPA), ("request_uri", URN)],
            "not one this server",
        ),
    ];
    for (query, expected) in cases {
        let text = page_text(app.open_at("/authorize", &query).await).await;
        assert!(text.contains(expected), "{query:?}: {text}");
    }
    // Another server's authorization endpoint does not open it (nor use it up).
    let other = app
        .open_at(
            "/oauth2/default/v1/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert!(
        page_text(other)
            .await
            .contains("another authorization server")
    );
    // None of that used it up: its own client opens it.
    let page = app
        .open_at(
            "/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);

    // §2.2: short-lived. 61 seconds later it is refused, and says why.
    let late = app
        .pushed("/par", &app.authorize_query(&auth, "openid"))
        .await;
    app.advance(61);
    let text = page_text(
        app.open_at("/authorize", &[("client_id", SPA), ("request_uri", &late)])
            .await,
    )
    .await;
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn an_authorization_server_pushes_for_its_own_endpoint_and_may_require_it() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(
                json!({"id": "pushy", "name": "Pushy", "audience": "api://default",
                        "require_pushed_authorization_requests": true}),
            ),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        created.json::<Value>().await.unwrap()["require_pushed_authorization_requests"],
        true
    );
    offer_shop_scopes(&app, &admin, "pushy").await;
    let issuer = app.url("/oauth2/pushy");
    let metadata = app
        .get_json(&format!("{issuer}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        format!("{issuer}/v1/par")
    );
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    let root = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(
        root["pushed_authorization_request_endpoint"],
        app.url("/par")
    );
    assert_eq!(root["require_pushed_authorization_requests"], false);

    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "openid products:read");
    let plain = app
        .get_authorize_at("/oauth2/pushy/v1/authorize", &query)
        .await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&plain);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("/oauth2/pushy/v1/par"),
        "{params:?}"
    );
    assert_eq!(param(&params, "iss"), Some(issuer.as_str()));
    // The root issuer does not require it.
    assert_eq!(app.get_authorize(&query).await.status(), StatusCode::OK);

    let request_uri = app.pushed("/oauth2/pushy/v1/par", &query).await;
    // Pushed to pushy: the root issuer's endpoint does not open it.
    let elsewhere = app
        .open_at(
            "/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert!(
        page_text(elsewhere)
            .await
            .contains("another authorization server")
    );
    let page = app
        .open_at(
            "/oauth2/pushy/v1/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(pair("username", "user0"));
    form.push(pair("password", "password0"));
    let answer = app
        .post_form("/oauth2/pushy/v1/authorize/login", &cookie, &form)
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "iss"), Some(issuer.as_str()));
    let code = param(&params, "code").unwrap();
    let tokens = app
        .http
        .post(format!("{issuer}/v1/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", SPA),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    let access = tokens.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_part(&access, 1)["iss"], issuer);

    // A change that leaves the setting out keeps it (an older script renaming the server does
    // not turn it off); the CLI sets it.
    let renamed = app
        .admin(
            Method::PUT,
            "/admin/servers/pushy",
            &admin,
            Some(json!({"name": "Pushy API", "audience": "api://default"})),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(
        renamed.json::<Value>().await.unwrap()["require_pushed_authorization_requests"],
        true
    );
    let output = app
        .cli(&[
            "servers",
            "update",
            "pushy",
            "--require-pushed-authorization-requests",
            "false",
        ])
        .await;
    assert!(output.status.success(), "{output:?}");
    let stored = app.db.authorization_server("pushy").await.unwrap().unwrap();
    assert!(!stored.require_pushed_requests);
    assert_eq!(stored.name, "Pushy API");
    // Through the admin API, this instance serves the change at once.
    let off = app
        .admin(
            Method::PUT,
            "/admin/servers/pushy",
            &admin,
            Some(json!({"name": "Pushy API", "audience": "api://default",
                        "require_pushed_authorization_requests": false})),
        )
        .await;
    assert_eq!(off.status(), StatusCode::OK);
    let plain = app
        .get_authorize_at("/oauth2/pushy/v1/authorize", &query)
        .await;
    assert_eq!(plain.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_root_issuer_may_require_pushed_requests_of_every_client() {
    let app = spawn_app_with(&["--require-pushed-authorization-requests"]).await;
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "openid");
    let plain = app.get_authorize(&query).await;
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&plain);
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("this authorization server")
    );
    let request_uri = app.pushed("/par", &query).await;
    let page = app
        .open_at(
            "/authorize",
            &[("client_id", SPA), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_a_client_that_logs_users_in_may_be_required_to_push() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let response = app
        .admin(
            Method::PATCH,
            &format!("/admin/clients/{SERVICE}"),
            &admin,
            Some(json!({"require_pushed_authorization_requests": true})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    let response = app
        .admin(
            Method::PATCH,
            &format!("/admin/clients/{SERVICE}"),
            &admin,
            Some(json!({"require_pushed_authorization_requests": "yes"})),
        )
        .await;
    assert!(response.status().is_client_error());
    let client = app.db.client(SERVICE).await.unwrap().unwrap();
    assert!(!client.require_pushed_requests);
}
