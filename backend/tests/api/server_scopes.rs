//! The scopes of each custom authorization server: its own (with its descriptions and consent
//! flags) beside OpenID Connect's, asked for at that server only, managed as a whole, with bad
//! definitions refused and nothing stored.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, hidden_inputs, oauth_error, param, redirect_params, spawn_app, storage_fingerprint,
};

async fn put_scopes(app: &TestApp, admin: &str, id: &str, scopes: Value) -> reqwest::Response {
    app.admin(
        Method::PUT,
        &format!("/admin/servers/{id}/scopes"),
        admin,
        Some(json!({ "scopes": scopes })),
    )
    .await
}

async fn client_credentials(
    app: &TestApp,
    server: &str,
    client: (&str, &str),
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    app.http
        .post(app.url(&format!("/oauth2/{server}/v1/token")))
        .basic_auth(client.0, Some(client.1))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn granted(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["scope"].as_str().unwrap().to_owned()
}

/// A second API's server offers its own scope: a client allowed it gets it there, with the
/// server's consent wording, and nowhere else; `default` offers the shop's scopes, as its
/// metadata says.
#[tokio::test]
async fn each_server_offers_its_own_scopes() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    // `default` (the demo's): the shop's scopes and OpenID Connect's.
    let listed: Value = app
        .admin(Method::GET, "/admin/servers/default/scopes", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["orders:read", "orders:write", "products:read"]);
    let metadata: Value = app
        .http
        .get(app.url("/oauth2/default/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["scopes_supported"],
        json!([
            "email",
            "offline_access",
            "openid",
            "orders:read",
            "orders:write",
            "products:read",
            "profile"
        ])
    );

    // A server for the reports API, with a scope of its own.
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(json!({"id": "reports", "name": "Reports", "audience": "api://reports"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let offered = json!([{"name": "reports:read", "description": "Read your reports",
                          "consent_required": true}]);
    let stored = put_scopes(&app, &admin, "reports", offered.clone()).await;
    assert_eq!(stored.status(), StatusCode::OK);
    assert_eq!(stored.json::<Value>().await.unwrap()["scopes"], offered);
    let event = app.events("server_scopes_updated", 1).await;
    assert!(event[0].detail.contains("reports:read"), "{event:?}");
    // A client may be allowed it (it is a scope somewhere), beside the shop's.
    let client = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(
                json!({"kind": "service", "name": "Reporter", "client_id": "reporter",
                        "scope": "reports:read products:read"}),
            ),
        )
        .await;
    assert_eq!(client.status(), StatusCode::CREATED);
    let secret = client.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let reporter = ("reporter", secret.as_str());
    // At `reports`: its scope; without a scope, the client's scopes it offers.
    let scope =
        granted(client_credentials(&app, "reports", reporter, Some("reports:read")).await).await;
    assert_eq!(scope, "reports:read");
    let scope = granted(client_credentials(&app, "reports", reporter, None).await).await;
    assert_eq!(scope, "reports:read");
    // Asked for elsewhere, refused naming the server and what it offers.
    for (server, asked, missing) in [
        ("reports", "products:read", "products:read"),
        ("default", "reports:read", "reports:read"),
    ] {
        let refused = client_credentials(&app, server, reporter, Some(asked)).await;
        let (status, error, description) = oauth_error(refused).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_scope")
        );
        assert!(
            description.starts_with(&format!(
                "authorization server \"{server}\" does not offer {missing}; it offers: "
            )),
            "{description}"
        );
    }
    // A server that offers none of the client's scopes says so when none is asked.
    put_scopes(&app, &admin, "reports", json!([])).await;
    let refused = client_credentials(
        &app,
        "reports",
        ("demo-service", "demo-service-secret"),
        None,
    )
    .await;
    let (_, error, description) = oauth_error(refused).await;
    assert_eq!(error, "invalid_scope");
    assert!(
        description.contains("offers none of client \"demo-service\"'s scopes"),
        "{description}"
    );
    put_scopes(&app, &admin, "reports", offered).await;

    // A user's login at `reports`: the consent screen speaks with its words; a scope it does
    // not offer goes back to the client as invalid_scope.
    let partner_scopes = app
        .admin(
            Method::PATCH,
            "/admin/clients/demo-partner",
            &admin,
            Some(json!({"scope": "openid orders:read reports:read"})),
        )
        .await;
    assert_eq!(partner_scopes.status(), StatusCode::OK);
    let auth = app.new_authorization();
    let query = app.authorize_query_for("demo-partner", &auth, "openid reports:read");
    let page = app
        .http
        .get(app.url("/oauth2/reports/v1/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = crate::helpers::page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.push(("username".into(), "user1".into()));
    form.push(("password".into(), "password1".into()));
    let consent = app
        .post_form("/oauth2/reports/v1/authorize/login", &cookie, &form)
        .await;
    assert_eq!(consent.status(), StatusCode::OK);
    let html = consent.text().await.unwrap();
    assert!(html.contains("Read your reports"), "the server's own words");
    let auth = app.new_authorization();
    let query = app.authorize_query_for("demo-partner", &auth, "openid orders:read");
    let refused = app
        .http
        .get(app.url("/oauth2/reports/v1/authorize"))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&refused);
    assert_eq!(param(&params, "error"), Some("invalid_scope"));
    assert!(
        param(&params, "error_description")
            .unwrap()
            .contains("authorization server \"reports\" does not offer orders:read"),
        "{params:?}"
    );
    // The preview refuses it with the same words.
    let preview = app
        .admin(
            Method::POST,
            "/admin/preview",
            &admin,
            Some(json!({"server": "reports", "client_id": "demo-partner",
                        "grant_type": "authorization_code", "username": "user1",
                        "scope": "openid orders:read"})),
        )
        .await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    assert_eq!(preview["error"]["error"], "invalid_scope", "{preview}");
}

/// Bad definitions are refused whole with a description that says what to fix, and nothing
/// is stored; scopes a rule or a claim of the server names cannot be taken away.
#[tokio::test]
async fn bad_scope_lists_are_refused_whole_and_store_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.user_token().await;
    let rule = app
        .admin(
            Method::PUT,
            "/admin/servers/default/policies",
            &admin,
            Some(json!({"policies": [{"name": "P", "rules": [
                {"name": "Readers", "scopes": "orders:read openid"}]}]})),
        )
        .await;
    assert_eq!(rule.status(), StatusCode::OK);
    let claim = app
        .admin(
            Method::PUT,
            "/admin/servers/default/claims",
            &admin,
            Some(json!({"claims": [{"name": "desk", "scopes": "orders:write", "value": "x"}]})),
        )
        .await;
    assert_eq!(claim.status(), StatusCode::OK);
    let shop = |except: &str| {
        json!(
            ["products:read", "orders:read", "orders:write"]
                .iter()
                .filter(|n| **n != except)
                .map(|n| json!({"name": n, "description": n}))
                .collect::<Vec<_>>()
        )
    };
    let before = storage_fingerprint(&app).await;
    for (scopes, says) in [
        (
            shop("orders:read"),
            "policy \"P\", rule \"Readers\" names scope \"orders:read\"",
        ),
        (
            shop("orders:write"),
            "claim \"desk\" is carried with scope \"orders:write\"",
        ),
        (
            json!([{"name": "openid", "description": "x"}]),
            "openid is OpenID Connect's",
        ),
        (
            json!([{"name": "offline_access", "description": "x"}]),
            "every authorization server offers it",
        ),
        (
            json!([{"name": "two words", "description": "x"}]),
            "RFC 6749 §3.3",
        ),
        (json!([{"name": "", "description": "x"}]), "RFC 6749 §3.3"),
        (
            json!([{"name": "a\"b", "description": "x"}]),
            "RFC 6749 §3.3",
        ),
        (
            json!([{"name": "x".repeat(200), "description": "x"}]),
            "RFC 6749 §3.3",
        ),
        (
            json!([{"name": "a", "description": "x"}, {"name": "a", "description": "y"}]),
            "two scopes are named \"a\"",
        ),
        (
            json!([{"name": "a", "description": ""}]),
            "description of a must be 1 to",
        ),
        (
            json!([{"name": "a", "description": "x".repeat(201)}]),
            "must be 1 to 200",
        ),
        (
            json!([{"name": "a", "description": "line\nbreak"}]),
            "without control characters",
        ),
        (
            json!(
                (0..51)
                    .map(|i| json!({"name": format!("s{i}"), "description": "x"}))
                    .collect::<Vec<_>>()
            ),
            "at most 50 scopes",
        ),
    ] {
        let response = put_scopes(&app, &admin, "default", scopes.clone()).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_scope"),
            "{scopes}: {description}"
        );
        assert!(description.contains(says), "{scopes}: {description}");
    }
    for body in [
        json!({"scopes": [{"name": "a"}]}),
        json!({"scopes": [{"name": "a", "description": "x", "extra": 1}]}),
        json!({"scopes": {"name": "a"}}),
        json!([{"name": "a", "description": "x"}]),
        json!({"scopes": [{"name": 1, "description": "x"}]}),
    ] {
        let response = app
            .admin(
                Method::PUT,
                "/admin/servers/default/scopes",
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let missing = put_scopes(&app, &admin, "nope", json!([])).await;
    let (status, _, description) = oauth_error(missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(description.contains("no authorization server"));
    let listed = app
        .admin(Method::GET, "/admin/servers/nope/scopes", &admin, None)
        .await;
    assert_eq!(listed.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        put_scopes(&app, &user, "default", json!([])).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(storage_fingerprint(&app).await, before);
    // A rule may name only the server's scopes.
    let refused = app
        .admin(
            Method::PUT,
            "/admin/servers/default/policies",
            &admin,
            Some(json!({"policies": [{"name": "P", "rules": [
                {"name": "Admins", "scopes": "admin"}]}]})),
        )
        .await;
    let (_, _, description) = oauth_error(refused).await;
    assert!(
        description.contains("authorization server default offers no scope \"admin\""),
        "{description}"
    );
}
