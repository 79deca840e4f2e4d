//! Dynamic client registration (RFC 7591) and management (RFC 7592): disabled by default, open
//! or by initial access token as the server is started; a registered client works at once, is
//! read, changed and deleted with its registration access token and nothing else; every bad
//! registration refused with RFC 7591's error and what to fix, and nothing stored.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn register(app: &TestApp, token: Option<&str>, body: &Value) -> Response {
    let mut request = app.http.post(app.url("/register")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// `method` at a registration's `registration_client_uri` with `token`.
async fn manage(
    app: &TestApp,
    method: Method,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut request = app.http.request(method, uri).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The JSON of a refusal with `status`: its `error`, its description.
async fn refused(response: Response, status: StatusCode) -> (String, String) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    (
        body["error"].as_str().unwrap().to_owned(),
        body["error_description"].as_str().unwrap().to_owned(),
    )
}

/// An initial access token, made by the demo administrator through the admin API.
async fn initial_token(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let made = app
        .admin(
            Method::POST,
            "/admin/registration-tokens",
            &admin,
            Some(json!({"name": "tests"})),
        )
        .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    made["token"].as_str().unwrap().to_owned()
}

/// A browser app's registration, which open registration takes.
fn browser_app(app: &TestApp) -> Value {
    json!({"client_name": "Someone's app", "token_endpoint_auth_method": "none",
           "redirect_uris": [app.redirect_uri()], "scope": "openid products:read"})
}

fn service() -> Value {
    json!({"client_name": "Nightly report", "grant_types": ["client_credentials"],
           "scope": "products:read"})
}

#[tokio::test]
async fn registration_is_disabled_unless_the_server_is_started_with_it() {
    let app = spawn_app().await;
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert!(
        metadata.get("registration_endpoint").is_none(),
        "{metadata}"
    );
    let server = app
        .get_json(&app.url("/oauth2/default/.well-known/oauth-authorization-server"))
        .await;
    assert!(server.get("registration_endpoint").is_none(), "{server}");
    let (error, description) = refused(
        register(&app, None, &service()).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(error, "access_denied");
    assert!(description.contains("REGISTRATION=open"), "{description}");
}

#[tokio::test]
async fn a_registration_works_at_once_and_only_its_token_manages_it() {
    let app = spawn_app_with(&["--registration", "token"]).await;
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(metadata["registration_endpoint"], app.url("/register"));
    // Clients are every server's: an authorization server's metadata names the same endpoint.
    let server = app
        .get_json(&app.url("/oauth2/default/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(server["registration_endpoint"], app.url("/register"));
    let initial = initial_token(&app).await;

    let response = register(&app, Some(&initial), &service()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let registered: Value = response.json().await.unwrap();
    let id = registered["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dyn-"), "{id}");
    let secret = registered["client_secret"].as_str().unwrap().to_owned();
    let mut access = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let uri = registered["registration_client_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(uri, app.url(&format!("/register/{id}")));
    assert_eq!(registered["client_secret_expires_at"], 0);
    assert_eq!(
        registered["token_endpoint_auth_method"],
        "client_secret_basic"
    );
    assert_eq!(registered["grant_types"], json!(["client_credentials"]));
    assert!(registered.get("response_types").is_none(), "{registered}");
    assert_eq!(registered["client_name"], "Nightly report");
    let created = app.events("client_created", 1).await;
    assert!(
        created
            .iter()
            .any(|e| e.detail.contains("(dynamic registration)")),
        "{created:?}"
    );

    // It works at once.
    let token = |secret: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.http
                .post(app.url("/token"))
                .basic_auth(&id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
        }
    };
    let issued = token(secret.clone()).await;
    assert_eq!(issued.status(), StatusCode::OK);
    let issued: Value = issued.json().await.unwrap();
    let access_token = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(issued["scope"], "products:read");

    // RFC 7592 §2.1: read with its registration access token; the secret is not shown again,
    // and the answer brings the next token (§3): the one used stops working.
    let read = manage(&app, Method::GET, &uri, &access, None).await;
    assert_eq!(read.status(), StatusCode::OK);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read["client_id"], id.as_str());
    assert!(read.get("client_secret").is_none(), "{read}");
    let used = std::mem::replace(
        &mut access,
        read["registration_access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    assert_ne!(used, access);
    let stale = manage(&app, Method::GET, &uri, &used, None).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    // What a read shows, sent back, is a valid update (RFC 7592 §2.2).
    let mut echoed = read.clone();
    for generated in [
        "registration_access_token",
        "registration_client_uri",
        "client_id_issued_at",
        "client_secret_expires_at",
    ] {
        echoed.as_object_mut().unwrap().remove(generated);
    }
    let echoed = manage(&app, Method::PUT, &uri, &access, Some(echoed)).await;
    assert_eq!(echoed.status(), StatusCode::OK);
    let echoed: Value = echoed.json().await.unwrap();
    access = echoed["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Nothing else opens it: no token, another's, for another client, for a client an
    // administrator made.
    let other: Value = register(&app, Some(&initial), &service())
        .await
        .json()
        .await
        .unwrap();
    let other_token = other["registration_access_token"].as_str().unwrap();
    for (uri, token) in [
        (uri.clone(), "nope"),
        (uri.clone(), other_token),
        (app.url("/register/demo-service"), access.as_str()),
        (app.url("/register/nobody"), access.as_str()),
    ] {
        let response = manage(&app, Method::GET, &uri, token, None).await;
        let challenge = www_authenticate(&response);
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("invalid_token"),
            "{challenge}"
        );
        let (error, _) = refused(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error, "invalid_token");
    }
    let bare = app.http.get(&uri).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);

    // RFC 7592 §2.2: an update replaces the metadata; the secret and the method stay.
    let mut changed = service();
    changed["client_id"] = json!(id);
    changed["scope"] = json!("products:read orders:read");
    changed["client_name"] = json!("Nightly report v2");
    let updated = manage(&app, Method::PUT, &uri, &access, Some(changed.clone())).await;
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();
    access = updated["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(updated["scope"], "orders:read products:read");
    assert_eq!(updated["client_name"], "Nightly report v2");
    let wider = app
        .http
        .post(app.url("/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "orders:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wider.status(), StatusCode::OK);
    let before = storage_fingerprint(&app).await;
    for (edit, words) in [
        (json!({"client_id": null}), "client_id must be"),
        (
            json!({"client_secret": "not-it"}),
            "client_secret is not this client's",
        ),
        (
            json!({"token_endpoint_auth_method": "none"}),
            "token_endpoint_auth_method is client_secret_basic: it cannot change",
        ),
        (json!({"scope": "admin"}), "admin"),
    ] {
        let mut body = changed.clone();
        for (key, value) in edit.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (error, description) = refused(
            manage(&app, Method::PUT, &uri, &access, Some(body)).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error, "invalid_client_metadata");
        assert!(description.contains(words), "{description}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    // Its own secret may be sent with an update, and client_secret_post asked for.
    let mut with_secret = changed.clone();
    with_secret["client_secret"] = json!(secret);
    with_secret["token_endpoint_auth_method"] = json!("client_secret_post");
    let response = manage(&app, Method::PUT, &uri, &access, Some(with_secret)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response: Value = response.json().await.unwrap();
    access = response["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // RFC 7592 §2.3: deleted, it is gone, and so are its tokens.
    let deleted = manage(&app, Method::DELETE, &uri, &access, None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (_, error, _) = oauth_error(token(secret).await).await;
    assert_eq!(error, "invalid_client");
    let api = app.get_api("/api/products", Some(&access_token)).await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let again = manage(&app, Method::GET, &uri, &access, None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_registered_browser_app_logs_users_in_with_consent() {
    let app = spawn_app_with(&["--registration", "open"]).await;
    let body = json!({
        "client_name": "Someone's app", "token_endpoint_auth_method": "none",
        "redirect_uris": [app.redirect_uri()], "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile offline_access products:read",
        "logo_uri": "https://app.example/logo.png", "contacts": ["dev@app.example"],
    });
    let response = register(&app, None, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.json().await.unwrap();
    let id = registered["client_id"].as_str().unwrap();
    assert!(registered.get("client_secret").is_none(), "{registered}");
    assert!(registered.get("client_secret_expires_at").is_none());
    assert_eq!(registered["token_endpoint_auth_method"], "none");
    assert_eq!(registered["response_types"], json!(["code"]));
    // Metadata this server does not use is not echoed as registered (RFC 7591 §3.2.1).
    assert!(registered.get("logo_uri").is_none());

    // It is third-party: the login ends at the consent screen, not with a code.
    let auth = app.new_authorization();
    // (`profile` needs consent; `openid` and `products:read` do not.)
    let query = app.authorize_query_for(id, &auth, "openid profile products:read");
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Someone&#x27;s app") || html.contains("Someone's app"));
    assert!(html.contains("consent"), "the consent screen");
    // Said plainly: its name is its own claim (RFC 7591 §5).
    assert!(html.contains("unverified-client"), "the warning");
    // Every scope is asked about, those a known client gets without asking included.
    assert!(
        html.contains("Browse the product catalogue"),
        "products:read is shown"
    );
}

#[tokio::test]
async fn open_registration_takes_clients_that_log_users_in_and_keys_by_value_only() {
    let app = spawn_app_with(&["--registration", "open"]).await;
    let before = storage_fingerprint(&app).await;
    let exchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    for (body, words) in [
        (
            service(),
            "client_credentials needs an initial access token",
        ),
        (
            json!({"grant_types": [exchange], "scope": "products:read"}),
            "token-exchange needs an initial access token",
        ),
        (
            json!({"redirect_uris": [app.redirect_uri()], "scope": "openid",
                   "token_endpoint_auth_method": "private_key_jwt",
                   "jwks_uri": "http://127.0.0.1:9/keys"}),
            "jwks_uri is not taken at /register",
        ),
        (
            // The server would post logout tokens to an address the registrant chose.
            json!({"redirect_uris": [app.redirect_uri()], "scope": "openid",
                   "token_endpoint_auth_method": "none",
                   "backchannel_logout_uri": "http://127.0.0.1:9/logout"}),
            "backchannel_logout_uri is not taken at /register",
        ),
        (
            json!({"redirect_uris": [app.redirect_uri()], "scope": "openid",
                   "token_endpoint_auth_method": "none",
                   "post_logout_redirect_uris": ["https://app.example/#done"]}),
            "fragment",
        ),
    ] {
        let (error, description) =
            refused(register(&app, None, &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(error, "invalid_client_metadata");
        assert!(description.contains(words), "{description}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    // A browser app is taken, its scope `openid` when it names none.
    let mut no_scope = browser_app(&app);
    no_scope.as_object_mut().unwrap().remove("scope");
    let made = register(&app, None, &no_scope).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: Value = made.json().await.unwrap();
    assert_eq!(made["scope"], "openid");
    // Where the browser may come back after a logout (RP-Initiated Logout 1.0 §3.1).
    let mut logs_out = browser_app(&app);
    logs_out["post_logout_redirect_uris"] = json!([format!("{}/", app.app)]);
    let with_logout = register(&app, None, &logs_out).await;
    assert_eq!(with_logout.status(), StatusCode::CREATED);
    let with_logout: Value = with_logout.json().await.unwrap();
    assert_eq!(
        with_logout["post_logout_redirect_uris"],
        json!([format!("{}/", app.app)])
    );
    // An administrator's change is the last word: the registration token opens it no more.
    let admin = app.admin_token().await;
    let id = made["client_id"].as_str().unwrap();
    let patched = app
        .admin(
            Method::PATCH,
            &format!("/admin/clients/{id}"),
            &admin,
            Some(json!({"scope": "openid profile"})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let token = made["registration_access_token"].as_str().unwrap();
    let uri = made["registration_client_uri"].as_str().unwrap();
    let closed = manage(&app, Method::GET, uri, token, None).await;
    assert_eq!(closed.status(), StatusCode::UNAUTHORIZED);
    // And the admin API does not give out the registered clients' ids.
    let taken = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(
                json!({"kind": "service", "name": "Mine", "client_id": "dyn-mine",
                        "scope": "products:read"}),
            ),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bad_registrations_are_refused_with_what_to_fix_and_store_nothing() {
    let app = spawn_app_with(&["--registration", "token"]).await;
    let initial = initial_token(&app).await;
    let before = storage_fingerprint(&app).await;
    let private = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"}]});
    let redirect = app.redirect_uri();
    let cases = [
        (
            json!({"redirect_uris": [redirect], "token_endpoint_auth_method": "none",
                   "scope": "openid admin"}),
            "invalid_client_metadata",
            "admin is the administrators' own scope",
        ),
        (
            json!([1]),
            "invalid_client_metadata",
            "must be a JSON object",
        ),
        (
            json!({"software_statement": "a.b.c", "scope": "openid"}),
            "unapproved_software_statement",
            "approves no software statements",
        ),
        (
            json!({"token_endpoint_auth_method": "tls_client_auth", "scope": "openid"}),
            "invalid_client_metadata",
            "is not supported",
        ),
        (
            json!({"response_types": ["token"], "scope": "openid"}),
            "invalid_client_metadata",
            "the code flow only",
        ),
        (
            json!({"grant_types": ["password"], "scope": "products:read"}),
            "invalid_client_metadata",
            "unknown grant type \"password\"",
        ),
        (
            json!({"redirect_uris": ["https://app.example/cb#x"], "scope": "openid"}),
            "invalid_redirect_uri",
            "",
        ),
        (
            json!({"grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
            "scope is required for a client without logins",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "admin"}),
            "invalid_client_metadata",
            "",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "products:read",
                   "client_id": "mine"}),
            "invalid_client_metadata",
            "the server's to choose",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "products:read",
                   "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
            "private_key_jwt needs the client's public keys",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "products:read",
                   "token_endpoint_auth_method": "private_key_jwt", "jwks": private}),
            "invalid_client_metadata",
            "private or symmetric key material",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "products:read",
                   "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
            "cannot use client_credentials",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "unknown:scope"}),
            "invalid_client_metadata",
            "unknown:scope",
        ),
        (
            json!({"scope": 7}),
            "invalid_client_metadata",
            "must be a JSON object of client metadata",
        ),
    ];
    for (body, expected, words) in cases {
        let (error, description) = refused(
            register(&app, Some(&initial), &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error, expected, "{body}: {description}");
        assert!(description.contains(words), "{body}: {description}");
    }
    let huge = json!({"scope": "openid", "client_name": "x".repeat(200_000)});
    let response = register(&app, Some(&initial), &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let not_json = app
        .http
        .post(app.url("/register"))
        .bearer_auth(&initial)
        .header("content-type", "application/json")
        .body("{\"scope\": ")
        .send()
        .await
        .unwrap();
    let (error, _) = refused(not_json, StatusCode::BAD_REQUEST).await;
    assert_eq!(error, "invalid_client_metadata");
    assert_eq!(storage_fingerprint(&app).await, before);
}

#[tokio::test]
async fn by_token_registration_needs_an_initial_access_token_an_administrator_made() {
    let app = spawn_app_with(&["--registration", "token"]).await;
    let admin = app.admin_token().await;
    let before = storage_fingerprint(&app).await;
    // Without one, or with one this server never made: 401 with a Bearer challenge.
    for token in [None, Some("iat_made-up")] {
        let response = register(&app, token, &service()).await;
        let challenge = www_authenticate(&response);
        assert!(
            challenge.contains("Bearer realm=\"register\""),
            "{challenge}"
        );
        let (error, description) = refused(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(error, "invalid_token");
        assert!(
            description.contains("initial access token"),
            "{description}"
        );
    }
    assert_eq!(storage_fingerprint(&app).await, before);

    for (body, words) in [
        (json!({"name": "Partner", "expires_in": 10}), "from 60 s"),
        (json!({"name": ""}), "name"),
    ] {
        let response = app
            .admin(
                Method::POST,
                "/admin/registration-tokens",
                &admin,
                Some(body),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    let made = app
        .admin(
            Method::POST,
            "/admin/registration-tokens",
            &admin,
            Some(json!({"name": "Partner", "expires_in": 3600})),
        )
        .await;
    let status = made.status();
    let text = made.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let made: Value = serde_json::from_str(&text).unwrap();
    let initial = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    let listed: Value = app
        .admin(Method::GET, "/admin/registration-tokens", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "Partner");
    assert!(listed[0].get("token").is_none(), "{listed}");
    assert!(!listed.to_string().contains(&initial));

    // It registers, more than once, until it expires or is deleted.
    for _ in 0..2 {
        let response = register(&app, Some(&initial), &service()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    app.advance(3601);
    let (_, description) = refused(
        register(&app, Some(&initial), &service()).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(description.contains("has expired"), "{description}");
    let admin = app.admin_token().await;
    let deleted = app
        .admin(
            Method::DELETE,
            &format!("/admin/registration-tokens/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let (_, description) = refused(
        register(&app, Some(&initial), &service()).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(
        description.contains("not one this server issued"),
        "{description}"
    );

    // The command line makes them too.
    let output = app
        .cli(&["registration-tokens", "create", "--name", "From the shell"])
        .await;
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let token = printed.lines().next().unwrap();
    assert!(token.starts_with("iat_"), "{printed}");
    let response = register(&app, Some(token), &service()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let events = app.events("registration_token_created", 2).await;
    assert_eq!(events.len(), 2);
    // Each registration names the initial access token it was made with.
    let created = app.events("client_created", 3).await;
    assert!(
        created.iter().any(|e| e
            .detail
            .contains(&format!("with initial access token {id}"))),
        "{created:?}"
    );
}

#[tokio::test]
async fn registrations_from_one_address_are_limited() {
    let app = spawn_app_with(&[
        "--registration",
        "open",
        "--login-attempts-per-address",
        "3/60",
    ])
    .await;
    // Whatever their answer, every request counts.
    let bad = register(&app, None, &json!({"scope": "unknown:scope"})).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    for _ in 0..2 {
        let made = register(&app, None, &browser_app(&app)).await;
        assert_eq!(made.status(), StatusCode::CREATED);
    }
    let before = storage_fingerprint(&app).await;
    let throttled = register(&app, None, &browser_app(&app)).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    let (error, description) = refused(throttled, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(error, "temporarily_unavailable");
    assert!(
        description.contains("too many client registrations"),
        "{description}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);
}

#[tokio::test]
async fn an_administrators_new_secret_ends_self_management() {
    let app = spawn_app_with(&["--registration", "token"]).await;
    let initial = initial_token(&app).await;
    let made: Value = register(&app, Some(&initial), &service())
        .await
        .json()
        .await
        .unwrap();
    let id = made["client_id"].as_str().unwrap();
    let token = made["registration_access_token"].as_str().unwrap();
    let uri = made["registration_client_uri"].as_str().unwrap();
    let admin = app.admin_token().await;
    let rotated = app
        .admin(
            Method::POST,
            &format!("/admin/clients/{id}/secret"),
            &admin,
            None,
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    // Whoever held the registration access token (and perhaps the old secret) can change and
    // delete the client no more.
    for method in [Method::GET, Method::DELETE] {
        let closed = manage(&app, method, uri, token, None).await;
        assert_eq!(closed.status(), StatusCode::UNAUTHORIZED);
    }
}
