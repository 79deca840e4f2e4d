//! Resource indicators (RFC 8707): `resource` at the authorization and token endpoints chooses
//! the audience of the access token among those its authorization server issues for; an
//! unknown, malformed or disallowed one is `invalid_target` with nothing spent or stored; a
//! custom server's policy rules decide which audiences a client gets and whether one token may
//! be for several; the API accepts a token only when it is for the API's audience.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// A client-credentials request of the demo service at `path` (`/token` or a custom server's).
async fn client_credentials(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let mut all = vec![("grant_type", "client_credentials")];
    all.extend_from_slice(form);
    app.http
        .post(app.url(path))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// The `aud` of the access token a successful `response` carries.
async fn audience_of(response: reqwest::Response) -> (String, Value) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let aud = jwt_part(&token, 1)["aud"].clone();
    (token, aud)
}

#[tokio::test]
async fn the_root_issuer_takes_its_audience_or_the_apis_identifier_and_nothing_else() {
    let app = spawn_app().await;
    let metadata: Value = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(metadata["resource_indicators_supported"], true);

    // The audience itself, or the identifier the API's RFC 9728 metadata gives (whole, or
    // one of its URLs): the token is for the API's audience.
    let orders = app.url("/api/orders");
    for resource in ["api://default", &app.url("/api"), &orders] {
        let (token, aud) =
            audience_of(client_credentials(&app, "/token", &[("resource", resource)]).await).await;
        assert_eq!(aud, "api://default", "{resource}");
        assert_eq!(
            app.get_api("/api/products", Some(&token)).await.status(),
            StatusCode::OK
        );
    }

    // Anything else is invalid_target, saying what this issuer issues for, and nothing is
    // stored.
    let before = storage_fingerprint(&app).await;
    let api = app.url("/api");
    let mut ids = Vec::new();
    for (form, says) in [
        (
            vec![("resource", "https://other.example/api")],
            format!(
                "this issuer does not issue access tokens for resource \
                 \"https://other.example/api\"; it issues them for api://default (the API at \
                 {api} is api://default)"
            ),
        ),
        (
            vec![("resource", "api://default"), ("resource", "api://billing")],
            "resource \"api://billing\"".into(),
        ),
        (
            vec![("resource", "/api/orders")],
            "is not an absolute URI".into(),
        ),
        (
            vec![("resource", "https://api.example/#top")],
            "without a fragment".into(),
        ),
        (
            vec![("resource", "https://a b")],
            "is not an absolute URI".into(),
        ),
    ] {
        let response = client_credentials(&app, "/token", &form).await;
        ids.push(
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_target"),
            "{form:?}"
        );
        assert!(description.contains(&says), "{form:?}: {description}");
    }
    let long = format!("https://api.example/{}", "a".repeat(600));
    let six: Vec<(&str, &str)> = (0..6).map(|_| ("resource", "api://default")).collect();
    for form in [vec![("resource", long.as_str())], six] {
        let (_, error, description) =
            oauth_error(client_credentials(&app, "/token", &form).await).await;
        assert_eq!(error, "invalid_target", "{description}");
    }
    // In the query string it would be ignored: refused with the fix.
    let in_query = app
        .http
        .post(app.url("/token?resource=api%3A%2F%2Fdefault"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let (_, error, description) = oauth_error(in_query).await;
    assert_eq!(error, "invalid_request");
    assert!(
        description.starts_with("resource was sent in the URL's query string"),
        "{description}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    // The event log explains them: the audiences this issuer serves against the resource named,
    // the form a resource must have against what was sent.
    let admin = app.admin_token().await;
    let unknown = refusal_explanation(&app, &admin, &ids[0]).await;
    assert_eq!(unknown.check.as_deref(), Some("audience"));
    assert_eq!(
        unknown.got.as_deref(),
        Some("\"https://other.example/api\"")
    );
    assert!(unknown.expected.unwrap().ends_with(": api://default"));
    let malformed = refusal_explanation(&app, &admin, &ids[2]).await;
    assert_eq!(malformed.check.as_deref(), Some("resource"));
    assert_eq!(malformed.got.as_deref(), Some("\"/api/orders\""));
}

#[tokio::test]
async fn the_code_flow_checks_resource_at_each_step_and_a_refused_refresh_spends_nothing() {
    let app = spawn_app().await;
    let api = app.url("/api");

    // At /authorize, an unknown resource goes back to the client as invalid_target.
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid offline_access orders:read");
    query.push(("resource".into(), "https://elsewhere.example/api".into()));
    let refused = app.get_authorize(&query).await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&refused);
    assert_eq!(param(&params, "error"), Some("invalid_target"));
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("\"https://elsewhere.example/api\""),
        "{params:?}"
    );

    // A known one (twice: the audience and the API's identifier) survives the login form.
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid offline_access orders:read");
    query.push(("resource".into(), api.clone()));
    query.push(("resource".into(), "api://default".into()));
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let code = param(&redirect_params(&answer), "code").unwrap().to_owned();
    let redeemed = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", SPA),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
            ("resource", &api),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
    let tokens: Value = redeemed.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["aud"], "api://default");
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // A refresh naming an unknown resource is refused before the token is spent: the same
    // refresh token still works, once, for the named resource.
    let refresh_for = |resource: String| {
        let form = [
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh.to_owned()),
            ("client_id", SPA.to_owned()),
            ("resource", resource),
        ];
        app.http.post(app.url("/token")).form(&form).send()
    };
    let refused = refresh_for("api://billing".into()).await.unwrap();
    assert_eq!(oauth_error(refused).await.1, "invalid_target");
    let refreshed = refresh_for(format!("{api}/orders")).await.unwrap();
    let (token, aud) = audience_of(refreshed).await;
    assert_eq!(aud, "api://default");
    assert_eq!(
        app.get_api("/api/orders", Some(&token)).await.status(),
        StatusCode::OK
    );
    // Once: presented again, it is a reuse, which ends the login.
    let reused = refresh_for("api://default".into()).await.unwrap();
    assert_eq!(oauth_error(reused).await.1, "invalid_grant");
}

#[tokio::test]
async fn a_custom_servers_audiences_are_chosen_with_resource_as_its_policies_allow() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(json!({
                "id": "shop", "name": "Shop APIs", "audience": "api://orders",
                "extra_audiences": ["api://billing", "api://default"], "signing_alg": "ES256"
            })),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(&app, &admin, "shop").await;
    let created: Value = created.json().await.unwrap();
    assert_eq!(
        created["extra_audiences"],
        json!(["api://billing", "api://default"])
    );
    let token_path = "/oauth2/shop/v1/token";

    // Without resource: the default audience, which this API does not accept.
    let (token, aud) = audience_of(client_credentials(&app, token_path, &[]).await).await;
    assert_eq!(aud, "api://orders");
    let refused = app.get_api("/api/products", Some(&token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // The server issues for the API's audience too: the refusal says how to ask for it.
    let (token, aud) =
        audience_of(client_credentials(&app, token_path, &[("resource", "api://billing")]).await)
            .await;
    assert_eq!(aud, "api://billing");
    let refused = app.get_api("/api/products", Some(&token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = www_authenticate(&refused);
    assert!(
        challenge.contains("issued by authorization server shop for api://billing; this API requires api://default (ask for it with resource=api://default, RFC 8707)"),
        "{challenge}"
    );
    // Named by its audience or by the API's resource identifier: accepted.
    for resource in ["api://default", &app.url("/api/products")] {
        let (token, aud) =
            audience_of(client_credentials(&app, token_path, &[("resource", resource)]).await)
                .await;
        assert_eq!(aud, "api://default");
        let whoami = app.get_api("/api/whoami", Some(&token)).await;
        assert_eq!(whoami.status(), StatusCode::OK, "{resource}");
    }

    // Several at once: refused by the default policy, which allows one per token.
    let both = [("resource", "api://billing"), ("resource", "api://default")];
    let (_, error, description) =
        oauth_error(client_credentials(&app, token_path, &both).await).await;
    assert_eq!(error, "invalid_target");
    assert!(
        description.ends_with("policy \"Default Policy\", rule \"Default Policy Rule\" allows a token for one audience only"),
        "{description}"
    );
    // A policy that allows it for two of the audiences, and one for the rest.
    let policies = json!({"policies": [{
        "name": "Services", "clients": [SERVICE],
        "rules": [
            {"name": "Billing and shop", "grant_types": ["client_credentials"],
             "audiences": ["api://billing", "api://default"], "several_audiences": true},
            {"name": "No orders", "audiences": ["api://orders"], "decision": "deny"}
        ]
    }]});
    let put = app
        .admin(
            Method::PUT,
            "/admin/servers/shop/policies",
            &admin,
            Some(policies),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let (token, aud) = audience_of(client_credentials(&app, token_path, &both).await).await;
    assert_eq!(aud, json!(["api://billing", "api://default"]));
    assert_eq!(
        app.get_api("/api/products", Some(&token)).await.status(),
        StatusCode::OK
    );
    let introspected = app
        .http
        .post(app.url("/oauth2/shop/v1/introspect"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    let status = introspected.status();
    let text = introspected.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    let introspected: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(introspected["active"], true);
    assert_eq!(
        introspected["aud"],
        json!(["api://billing", "api://default"])
    );
    // The default audience: the deny rule names it.
    let (_, error, description) =
        oauth_error(client_credentials(&app, token_path, &[]).await).await;
    assert_eq!(error, "unauthorized_client");
    assert!(description.contains("rule \"No orders\""), "{description}");
    let denied = app.events("policy_denied", 2).await;
    assert!(
        denied
            .iter()
            .any(|e| e.detail.contains("audience api://orders"))
    );

    // The token preview asks the same questions.
    let preview = app
        .admin(
            Method::POST,
            "/admin/preview",
            &admin,
            Some(
                json!({"server": "shop", "client_id": SERVICE, "grant_type": "client_credentials",
                        "resources": ["api://billing", "api://default"]}),
            ),
        )
        .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(
        preview["claims"]["aud"],
        json!(["api://billing", "api://default"])
    );
    assert_eq!(preview["rule"], "Billing and shop");
    let preview: Value = app
        .admin(
            Method::POST,
            "/admin/preview",
            &admin,
            Some(
                json!({"server": "shop", "client_id": SERVICE, "grant_type": "client_credentials",
                        "resources": ["api://nowhere"]}),
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["error"]["error"], "invalid_target");

    // A resource another server issues for is named in the refusal.
    let (_, _, description) = oauth_error(
        client_credentials(
            &app,
            "/oauth2/default/v1/token",
            &[("resource", "api://billing")],
        )
        .await,
    )
    .await;
    assert!(
        description.contains(&format!(
            "the authorization servers {} do",
            app.url("/oauth2/shop")
        )),
        "{description}"
    );
}

#[tokio::test]
async fn audiences_are_changed_checked_and_kept_consistent_with_the_rules() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let server = |extra: Value| json!({"id": "reports", "name": "Reports", "audience": "api://reports", "extra_audiences": extra});
    let before = app.db.authorization_servers().await.unwrap();
    for (extra, says) in [
        (json!(["api://reports"]), "listed twice"),
        (json!(["api://a", "api://a"]), "listed twice"),
        (json!(["reports"]), "absolute URI"),
        (json!(["api://x#y"]), "absolute URI"),
        (
            json!((0..11).map(|i| format!("api://a{i}")).collect::<Vec<_>>()),
            "at most 10",
        ),
        (json!("api://a"), "expected a sequence"),
    ] {
        let response = app
            .admin(
                Method::POST,
                "/admin/servers",
                &admin,
                Some(server(extra.clone())),
            )
            .await;
        // A body of the wrong shape is 400, a rule broken 422.
        let status = if extra.is_string() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        assert_eq!(response.status(), status, "{extra}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{extra}: {body}"
        );
    }
    assert_eq!(app.db.authorization_servers().await.unwrap(), before);
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(server(json!(["api://audit"]))),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(&app, &admin, "reports").await;

    // Rules name audiences of their server only; several_audiences is for allow rules.
    for (rule, says) in [
        (
            json!({"name": "r", "audiences": ["api://billing"]}),
            "does not issue tokens for audience \"api://billing\"",
        ),
        (json!({"name": "r", "audiences": []}), "lists no audience"),
        (
            json!({"name": "r", "audiences": ["api://audit", "api://audit"]}),
            "listed twice",
        ),
        (
            json!({"name": "r", "decision": "deny", "several_audiences": true}),
            "for allow rules",
        ),
    ] {
        let response = app
            .admin(
                Method::PUT,
                "/admin/servers/reports/policies",
                &admin,
                Some(json!({"policies": [{"name": "p", "rules": [rule.clone()]}]})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{rule}"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{rule}: {body}"
        );
    }
    let audit_only = json!({"policies": [{"name": "p", "rules": [
        {"name": "audit", "audiences": ["api://audit"]}
    ]}]});
    let put = app
        .admin(
            Method::PUT,
            "/admin/servers/reports/policies",
            &admin,
            Some(audit_only.clone()),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let read: Value = app
        .admin(Method::GET, "/admin/servers/reports/policies", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["policies"][0]["rules"][0]["audiences"],
        json!(["api://audit"])
    );
    assert_eq!(read["policies"][0]["rules"][0]["several_audiences"], false);

    // An audience a rule names cannot be taken away; others can, and a new one is issued for
    // at once.
    let change = |extra: Value| json!({"name": "Reports", "description": "Reporting", "audience": "api://reports", "extra_audiences": extra});
    let kept = app
        .admin(
            Method::PUT,
            "/admin/servers/reports",
            &admin,
            Some(change(json!([]))),
        )
        .await;
    assert_eq!(kept.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = kept.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("rule \"audit\" names audience \"api://audit\""),
        "{body}"
    );
    let token_path = "/oauth2/reports/v1/token";
    let (_, error, _) =
        oauth_error(client_credentials(&app, token_path, &[("resource", "api://exports")]).await)
            .await;
    assert_eq!(error, "invalid_target");
    let changed = app
        .admin(
            Method::PUT,
            "/admin/servers/reports",
            &admin,
            Some(change(json!(["api://audit", "api://exports"]))),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["description"], "Reporting");
    assert_eq!(changed["signing_alg"], "RS256");
    // The rule allows api://audit only: api://exports exists now, and the rule says no.
    let (_, error, description) =
        oauth_error(client_credentials(&app, token_path, &[("resource", "api://exports")]).await)
            .await;
    assert_eq!(error, "invalid_target");
    assert!(
        description.contains("rule \"audit\" allows only audiences api://audit"),
        "{description}"
    );
    let (_, aud) =
        audience_of(client_credentials(&app, token_path, &[("resource", "api://audit")]).await)
            .await;
    assert_eq!(aud, "api://audit");
    let events = app.events("server_updated", 1).await;
    assert!(events[0].detail.contains(
        "audiences api://reports, api://audit, api://exports; were api://reports, api://audit"
    ));

    // Unknown server, bad body, unknown field: nothing changes.
    for (path, body, status) in [
        (
            "/admin/servers/nobody",
            change(json!([])),
            StatusCode::NOT_FOUND,
        ),
        (
            "/admin/servers/reports",
            json!({"name": "x"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/servers/reports",
            json!({"name": "x", "audience": "api://reports", "signing_alg": "ES256"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/servers/reports",
            json!({"name": "x", "audience": "reports"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/admin/servers/reports",
            json!({"name": "", "audience": "api://reports"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let before = app.db.authorization_servers().await.unwrap();
        let response = app
            .admin(Method::PUT, path, &admin, Some(body.clone()))
            .await;
        assert_eq!(response.status(), status, "{path} {body}");
        assert_eq!(app.db.authorization_servers().await.unwrap(), before);
    }
}

/// A login authorized for both APIs of `app`'s root issuer (its own and `api://reports`):
/// the token response.
async fn login_for_both(app: &TestApp) -> Value {
    let auth = app.new_authorization();
    let mut query = app.authorize_query(&auth, "openid offline_access products:read");
    query.push(("resource".into(), "api://default".into()));
    query.push(("resource".into(), "api://reports".into()));
    let page = app.get_authorize(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    let answer = app.submit_login(page, "user0", "password0").await;
    let code = param(&redirect_params(&answer), "code").unwrap().to_owned();
    let redeemed = app.redeem(&code, &auth).await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    redeemed.json().await.unwrap()
}

/// A refresh of `refresh` as the demo SPA, naming `resources`.
async fn refresh_for(app: &TestApp, refresh: &str, resources: &[&str]) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", SPA),
    ];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    app.http
        .post(app.url("/token"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_root_issuer_issues_for_another_api_and_a_refresh_narrows_to_it() {
    let (app, reports) = tokio::join!(
        spawn_app_with(&["--extra-audiences", "api://reports"]),
        spawn_app()
    );
    // Another deployment is the reports API: it trusts this one's root issuer, for its own
    // audience.
    let reports_admin = reports.admin_token().await;
    let trusted = reports
        .admin(
            Method::POST,
            "/admin/issuers",
            &reports_admin,
            Some(json!({"id": "main", "name": "Main", "issuer": app.api,
                        "audience": "api://reports", "algorithms": ["ES256"]})),
        )
        .await;
    assert_eq!(trusted.status(), StatusCode::CREATED);

    // A login for both APIs: one token for both, until a refresh narrows it.
    let tokens = login_for_both(&app).await;
    let both = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        jwt_part(both, 1)["aud"],
        json!(["api://default", "api://reports"])
    );
    assert_eq!(
        app.get_api("/api/products", Some(both)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        reports.get_api("/api/products", Some(both)).await.status(),
        StatusCode::OK
    );
    let refresh = tokens["refresh_token"].as_str().unwrap();

    // A resource the issuer does not know is refused before the refresh token is spent.
    let before = storage_fingerprint(&app).await;
    let (_, error, description) =
        oauth_error(refresh_for(&app, refresh, &["api://billing"]).await).await;
    assert_eq!(error, "invalid_target");
    assert!(
        description.contains("does not issue access tokens for resource \"api://billing\""),
        "{description}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);

    // Narrowed to the reports API: its token is refused here, saying how to ask, and taken
    // there.
    let narrowed = refresh_for(&app, refresh, &["api://reports"]).await;
    assert_eq!(narrowed.status(), StatusCode::OK);
    let narrowed: Value = narrowed.json().await.unwrap();
    let reports_only = narrowed["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(reports_only, 1)["aud"], "api://reports");
    let refused = app.get_api("/api/products", Some(reports_only)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        www_authenticate(&refused).contains("the access token is for api://reports, another API this issuer issues tokens for; this API requires api://default (ask for it with resource=api://default, RFC 8707)"),
        "{}",
        www_authenticate(&refused)
    );
    for path in ["/userinfo", "/admin/users"] {
        let response = app
            .http
            .get(app.url(path))
            .bearer_auth(reports_only)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(
        reports
            .get_api("/api/products", Some(reports_only))
            .await
            .status(),
        StatusCode::OK
    );
    // Introspection at the issuer knows it for what it is.
    let introspected = app.introspect(reports_only).await;
    assert_eq!(
        (introspected["active"].clone(), introspected["aud"].clone()),
        (json!(true), json!("api://reports"))
    );

    // The grant keeps both: the next refresh, naming none, is for both again.
    let next = narrowed["refresh_token"].as_str().unwrap();
    let again = refresh_for(&app, next, &[]).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    let aud = jwt_part(again["access_token"].as_str().unwrap(), 1)["aud"].clone();
    assert_eq!(aud, json!(["api://default", "api://reports"]));
}

#[tokio::test]
async fn a_code_is_redeemed_for_what_its_request_named_or_less_and_a_refusal_spends_nothing() {
    let app = spawn_app_with(&["--extra-audiences", "api://reports"]).await;
    // Named nothing at /authorize: the issuer's own API only.
    let auth = app.new_authorization();
    let code = app
        .authorization_code(
            &auth,
            "openid offline_access products:read",
            "user0",
            "password0",
        )
        .await;
    let redeem = |resource: Option<&'static str>| {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("client_id", SPA.to_owned()),
            ("redirect_uri", auth.redirect_uri.clone()),
            ("code_verifier", auth.verifier.as_str().to_owned()),
        ];
        form.extend(resource.map(|r| ("resource", r.to_owned())));
        app.http.post(app.url("/token")).form(&form).send()
    };
    let (_, error, description) = oauth_error(redeem(Some("api://reports")).await.unwrap()).await;
    assert_eq!(error, "invalid_target");
    assert!(
        description
            .starts_with("this authorization code was issued for api://default, not api://reports"),
        "{description}"
    );
    // Not spent: redeemed once, for what it was issued for.
    let redeemed = redeem(None).await.unwrap();
    assert_eq!(redeemed.status(), StatusCode::OK);
    let tokens: Value = redeemed.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["aud"], "api://default");
    // Its refresh token cannot widen to the other API, which the login did not name; the
    // refusal spends nothing.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let before = storage_fingerprint(&app).await;
    let (_, error, description) =
        oauth_error(refresh_for(&app, refresh, &["api://reports"]).await).await;
    assert_eq!(error, "invalid_target");
    assert!(
        description.starts_with(
            "this refresh token's grant was issued for api://default, not api://reports"
        ),
        "{description}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    assert_eq!(
        refresh_for(&app, refresh, &["api://default"])
            .await
            .status(),
        StatusCode::OK
    );
    // The code, presented again: a replay.
    assert_eq!(
        oauth_error(redeem(None).await.unwrap()).await.1,
        "invalid_grant"
    );

    // A client-credentials token for the other API, on request.
    let (token, aud) =
        audience_of(client_credentials(&app, "/token", &[("resource", "api://reports")]).await)
            .await;
    assert_eq!(aud, "api://reports");
    assert_eq!(
        app.get_api("/api/products", Some(&token)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The configuration is checked at start.
    for args in [
        vec!["--extra-audiences", "api://default"],
        vec!["--extra-audiences", "api://a,api://a"],
        vec!["--extra-audiences", "reports"],
        vec!["--extra-audiences", "http://localhost:5000/api/reports"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
            .args(&args)
            .args(["--database-url", "sqlite::memory:", "issuers", "list"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("--extra-audiences"), "{args:?}: {said}");
    }
}
