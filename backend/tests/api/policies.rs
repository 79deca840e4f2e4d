//! Access policies of custom authorization servers: the default one a server starts with, rules
//! deciding in order with their lifetimes, refusals that name what decided (answered with the
//! RFC's error and logged), the admin API's checks, and the command line.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use shared::admin::TokenPreview;
use shared::oauth::AccessTokenClaims;

use crate::helpers::{
    TestApp, jwt_part, oauth_error, refusal_explanation, spawn_app, storage_fingerprint,
};

const SERVICE: &str = "demo-service";
const SERVICE_SECRET: &str = "demo-service-secret";

async fn token_at(
    app: &TestApp,
    server: &str,
    (client, secret): (&str, &str),
    scope: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(scope.map(|s| ("scope", s)));
    app.http
        .post(app.url(&format!("/oauth2/{server}/v1/token")))
        .basic_auth(client, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// `PUT`s `policies` (a list) as `{"policies": ...}`.
fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The explanation the event log recorded for the refused request `id`, as JSON.
async fn explanation(app: &TestApp, admin: &str, id: &str) -> Value {
    serde_json::to_value(refusal_explanation(app, admin, id).await).unwrap()
}

async fn put_policies(
    app: &TestApp,
    admin: &str,
    server: &str,
    policies: Value,
) -> reqwest::Response {
    app.admin(
        Method::PUT,
        &format!("/admin/servers/{server}/policies"),
        admin,
        Some(json!({ "policies": policies })),
    )
    .await
}

async fn new_server(app: &TestApp, admin: &str, id: &str) {
    let response = app
        .admin(
            Method::POST,
            "/admin/servers",
            admin,
            Some(json!({"id": id, "name": "Orders API", "audience": "api://orders"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(app, admin, id).await;
}

/// A service client with `scope`; its id and secret.
async fn new_service(app: &TestApp, admin: &str, id: &str, scope: &str) -> (String, String) {
    let response = app
        .admin(
            Method::POST,
            "/admin/clients",
            admin,
            Some(json!({"kind": "service", "name": id, "client_id": id, "scope": scope})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (
        id.to_owned(),
        body["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_new_server_starts_with_the_default_policy() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    new_server(&app, &admin, "orders").await;
    let default_policy = json!({"policies": [{
        "name": "Default Policy",
        "description": "Every client, every grant",
        "clients": [],
        "rules": [{
            "name": "Default Policy Rule",
            "grant_types": [],
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
    for server in ["orders", "default"] {
        let listed = app
            .admin(
                Method::GET,
                &format!("/admin/servers/{server}/policies"),
                &admin,
                None,
            )
            .await;
        assert_eq!(listed.status(), StatusCode::OK);
        assert_eq!(
            listed.json::<Value>().await.unwrap(),
            default_policy,
            "{server}"
        );
    }
    let response = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    // The server-wide lifetime.
    assert_eq!(body["expires_in"], 900);
    // The administrator's login issued one before these two.
    // A lifetime the rule leaves out is the client's own, as before policies.
    let response = app
        .admin(
            Method::POST,
            "/admin/clients",
            &admin,
            Some(
                json!({"kind": "service", "name": "quick", "client_id": "quick",
                        "scope": "products:read", "lifetimes": {"access_token_ttl": 45}}),
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let secret: Value = response.json().await.unwrap();
    let quick = token_at(
        &app,
        "orders",
        ("quick", secret["client_secret"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(quick.json::<Value>().await.unwrap()["expires_in"], 45);
    let issued = app.events("token_issued", 3).await;
    assert!(
        issued.iter().any(|e| e.detail.contains(
            "by authorization server orders (policy \"Default Policy\", rule \"Default Policy Rule\")"
        )),
        "{issued:?}"
    );
}

#[tokio::test]
async fn rules_decide_in_order_with_their_lifetimes_and_refusals_name_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    new_server(&app, &admin, "orders").await;
    let (batch, batch_secret) = new_service(
        &app,
        &admin,
        "batch",
        "products:read orders:read orders:write",
    )
    .await;
    let batch = (batch.as_str(), batch_secret.as_str());
    let response = put_policies(
        &app,
        &admin,
        "orders",
        json!([
            {
                "name": "Batch jobs",
                "description": "Nightly exports read orders",
                "clients": ["batch"],
                "rules": [{
                    "name": "Read orders",
                    "grant_types": ["client_credentials"],
                    "scopes": "orders:read",
                    "lifetimes": {"access_token_ttl": 120}
                }]
            },
            {
                "name": "Services",
                "rules": [
                    {"name": "No catalogue", "scopes": "products:read", "decision": "deny"},
                    {"name": "Users only", "grant_types": ["authorization_code"], "roles": ["admin"]}
                ]
            }
        ]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let stored: Value = response.json().await.unwrap();
    let stored = &stored["policies"];
    assert_eq!(stored[0]["rules"][0]["lifetimes"]["access_token_ttl"], 120);
    assert_eq!(stored[1]["rules"][0]["decision"], "deny");
    assert_eq!(stored[1]["clients"], json!([]));
    let updated = app.events("policies_updated", 1).await;
    assert!(
        updated[0].detail.starts_with(
            "authorization server orders: 2 policies, 3 rules (\"Batch jobs\", \"Services\")"
        ),
        "{}",
        updated[0].detail
    );

    // The first policy's rule allows, with its lifetime.
    let response = token_at(&app, "orders", batch, Some("orders:read")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );

    let before = storage_fingerprint(&app).await;
    // The first policy's rule does not match these scopes: the next policy's deny rule does.
    let denied = token_at(&app, "orders", batch, Some("products:read")).await;
    let denied_id = request_id(&denied);
    let (status, error, description) = oauth_error(denied).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    assert_eq!(
        description,
        "policy \"Services\", rule \"No catalogue\" of authorization server orders denies the \
         client_credentials grant to client \"batch\" (scope products:read, audience api://orders)"
    );
    // A deny rule matches a request for any scope it lists, beside others too.
    let beside = token_at(&app, "orders", batch, Some("orders:read products:read")).await;
    let (_, error, description) = oauth_error(beside).await;
    assert_eq!(error, "unauthorized_client");
    assert!(
        description.contains("rule \"No catalogue\"")
            && description.ends_with("(scope orders:read products:read, audience api://orders)"),
        "{description}"
    );
    // No rule matches both scopes: the allow rule that came closest is named.
    let wider = token_at(&app, "orders", batch, Some("orders:read orders:write")).await;
    let wider_id = request_id(&wider);
    let (status, error, description) = oauth_error(wider).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    assert!(
        description
            .ends_with("policy \"Batch jobs\", rule \"Read orders\" allows only orders:read"),
        "{description}"
    );
    // The event log explains each with expected against got, and the remedy.
    let why = explanation(&app, &admin, &denied_id).await;
    assert_eq!(why["check"], "policy", "{why}");
    assert_eq!(
        why["got"],
        "policy \"Services\", rule \"No catalogue\" denies it"
    );
    assert!(
        why["expected"].as_str().unwrap().starts_with(
            "an allow rule matching the client_credentials grant, scope products:read"
        ),
        "{why}"
    );
    assert!(
        why["remedy"].as_str().unwrap().contains("administrator"),
        "{why}"
    );
    let why = explanation(&app, &admin, &wider_id).await;
    assert_eq!(why["check"], "scope", "{why}");
    assert_eq!(why["got"], "scope orders:read orders:write");
    assert_eq!(
        why["expected"],
        "policy \"Batch jobs\", rule \"Read orders\" allows only orders:read"
    );
    // Another client: only "Services" applies to it, and its catalogue scope is denied there.
    let other = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    let (_, error, description) = oauth_error(other).await;
    assert_eq!(error, "unauthorized_client");
    assert!(
        description.contains("rule \"No catalogue\""),
        "{description}"
    );
    // The root issuer is not decided by a custom server's policies.
    assert_eq!(app.client_credentials(None).await.status(), StatusCode::OK);

    // Only the batch policy left: no policy applies to the other client.
    let response = put_policies(
        &app,
        &admin,
        "orders",
        json!([{"name": "Batch jobs", "clients": ["batch"], "rules": [{"name": "Any"}]}]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let before_refusal = storage_fingerprint(&app).await;
    let none = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    let none_id = request_id(&none);
    let (_, error, description) = oauth_error(none).await;
    assert_eq!(error, "unauthorized_client");
    assert_eq!(
        description,
        "no access policy of authorization server orders applies to client \"demo-service\": an \
         administrator must assign it to one"
    );
    assert_eq!(storage_fingerprint(&app).await, before_refusal);
    let why = explanation(&app, &admin, &none_id).await;
    assert_eq!(why["check"], "policy");
    assert_eq!(
        why["expected"],
        "an access policy of authorization server orders assigned to client \"demo-service\""
    );
    assert_eq!(why["got"], "no policy applies to the client");
    let logged = app.events("policy_denied", 5).await;
    assert_eq!(logged[0].client_id.as_deref(), Some(SERVICE));
    assert_eq!(logged[0].detail, description);
    assert!(
        logged
            .iter()
            .any(|e| e.client_id.as_deref() == Some("batch")
                && e.detail.contains("allows only orders:read"))
    );
    // The refusals before the change stored nothing either (the policies changed since).
    let mut changed = before;
    changed.retain(|(table, _)| !["access_policies", "policy_rules"].contains(table));
    let mut now = storage_fingerprint(&app).await;
    now.retain(|(table, _)| !["access_policies", "policy_rules"].contains(table));
    assert_eq!(now, changed);

    // A client deleted since it was assigned stays assigned, and the list read back can be
    // sent again unchanged; a new assignment must name a client that exists.
    let deleted = app
        .admin(Method::DELETE, "/admin/clients/batch", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let listed: Value = app
        .admin(Method::GET, "/admin/servers/orders/policies", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["policies"][0]["clients"], json!(["batch"]));
    let again = put_policies(&app, &admin, "orders", listed["policies"].clone()).await;
    assert_eq!(again.status(), StatusCode::OK);
    let mut added = listed["policies"].clone();
    added[0]["clients"] = json!(["batch", "gone"]);
    let (_, error, description) =
        oauth_error(put_policies(&app, &admin, "orders", added).await).await;
    assert_eq!(error, "invalid_policy");
    assert!(
        description.contains("there is no client \"gone\""),
        "{description}"
    );

    // No policies at all: every request is refused.
    assert_eq!(
        put_policies(&app, &admin, "orders", json!([]))
            .await
            .status(),
        StatusCode::OK
    );
    let refused = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    assert_eq!(oauth_error(refused).await.1, "unauthorized_client");
}

#[tokio::test]
async fn policies_are_checked_as_a_whole_and_bad_ones_store_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user = app.user_token().await;
    let rule = |extra: Value| {
        let mut rule = json!({"name": "R"});
        rule.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!([{"name": "P", "rules": [rule]}])
    };
    let before = storage_fingerprint(&app).await;
    for (body, says) in [
        (
            json!([{"name": "", "rules": [{"name": "R"}]}]),
            "policy name must be 1 to 100",
        ),
        (
            json!([{"name": "P", "rules": [{"name": "R"}]}, {"name": "P", "rules": [{"name": "R"}]}]),
            "two policies are named \"P\"",
        ),
        (
            json!([{"name": "P", "rules": []}]),
            "policy \"P\": a policy has 1 to 20 rules",
        ),
        (
            json!([{"name": "P", "rules": [{"name": "R"}, {"name": "R"}]}]),
            "policy \"P\": two rules are named \"R\"",
        ),
        (
            json!([{"name": "P", "clients": ["nobody"], "rules": [{"name": "R"}]}]),
            "policy \"P\": there is no client \"nobody\"",
        ),
        (
            json!([{"name": "P", "clients": [SERVICE, SERVICE], "rules": [{"name": "R"}]}]),
            "is listed twice",
        ),
        (
            json!([{"name": "P", "description": "x\u{1}", "rules": [{"name": "R"}]}]),
            "policy \"P\": the description must be",
        ),
        (
            json!([{"name": "P", "rules": [{"name": "\u{7}"}]}]),
            "policy \"P\": the rule name must be",
        ),
        (
            rule(json!({"scopes": "nope:read"})),
            "rule \"R\": authorization server default offers no scope \"nope:read\"",
        ),
        (rule(json!({"scopes": ""})), "scopes lists no scope"),
        (
            rule(json!({"grant_types": ["client_credentials", "client_credentials"]})),
            "grant type client_credentials is listed twice",
        ),
        (
            rule(json!({"roles": ["admin", "admin"]})),
            "role admin is listed twice",
        ),
        (
            rule(json!({"grant_types": ["client_credentials"], "roles": ["user"]})),
            "could never match",
        ),
        (
            rule(json!({"decision": "deny", "lifetimes": {"access_token_ttl": 60}})),
            "a deny rule issues nothing",
        ),
        (
            rule(json!({"lifetimes": {"access_token_ttl": 5}})),
            "policy \"P\", rule \"R\": access_token_ttl must be between 30 and 86400",
        ),
        (
            rule(
                json!({"lifetimes": {"refresh_token_idle_ttl": 600, "refresh_token_absolute_ttl": 300}}),
            ),
            "cannot be longer",
        ),
        (
            json!(
                (0..21)
                    .map(|i| json!({"name": format!("P{i}"), "rules": [{"name": "R"}]}))
                    .collect::<Vec<_>>()
            ),
            "at most 20 policies",
        ),
        (
            json!([{"name": "P", "rules": (0..21).map(|i| json!({"name": format!("R{i}")})).collect::<Vec<_>>()}]),
            "1 to 20 rules",
        ),
    ] {
        let response = put_policies(&app, &admin, "default", body.clone()).await;
        let (status, error, description) = oauth_error(response).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy"),
            "{body}: {description}"
        );
        assert!(description.contains(says), "{body}: {description}");
    }
    // Malformed: wrong types, unknown names and fields, not JSON, too large.
    for body in [
        rule(json!({"decision": "maybe"})),
        rule(json!({"grant_types": ["password"]})),
        rule(json!({"roles": ["root"]})),
        rule(json!({"scopes": "a\"b"})),
        rule(json!({"lifetime": {}})),
        json!([{"name": "P", "rules": [{"name": "R"}], "priority": 1}]),
        json!({"name": "P"}),
        json!([{"rules": []}]),
    ] {
        let response = put_policies(&app, &admin, "default", body.clone()).await;
        assert!(
            response.status().is_client_error() && response.status() != StatusCode::NOT_FOUND,
            "{body}: {}",
            response.status()
        );
    }
    for body in [
        json!([{"name": "P", "rules": [{"name": "R"}]}]),
        json!({"policies": [], "extra": 1}),
        json!({}),
    ] {
        let response = app
            .admin(
                Method::PUT,
                "/admin/servers/default/policies",
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let not_json = app
        .http
        .put(app.url("/admin/servers/default/policies"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("[{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let huge = json!([{"name": "P", "description": "x".repeat(20_000), "rules": [{"name": "R"}]}]);
    assert_eq!(
        put_policies(&app, &admin, "default", huge).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Unknown servers, hostile paths, and callers who are not administrators.
    let valid = json!([{"name": "P", "rules": [{"name": "R"}]}]);
    for server in ["nope", "%00", "a%2Fb"] {
        let put = put_policies(&app, &admin, server, valid.clone()).await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&put.status()),
            "{server}: {}",
            put.status()
        );
        let get = app
            .admin(
                Method::GET,
                &format!("/admin/servers/{server}/policies"),
                &admin,
                None,
            )
            .await;
        assert!(
            [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&get.status()),
            "{server}: {}",
            get.status()
        );
    }
    let missing = put_policies(&app, &admin, "nope", valid.clone()).await;
    let (status, _, description) = oauth_error(missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        description.contains("no authorization server"),
        "{description}"
    );
    assert_eq!(
        put_policies(&app, &user, "default", valid.clone())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let anonymous = app
        .http
        .put(app.url("/admin/servers/default/policies"))
        .json(&json!({ "policies": valid }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(storage_fingerprint(&app).await, before);
    assert!(
        app.db
            .events(&backend::storage::EventQuery {
                kind: Some("policies_updated".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_deleted_server_takes_its_policies_and_the_command_line_manages_them() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    new_server(&app, &admin, "orders").await;
    let deny_all = json!([{"name": "Closed", "rules": [{"name": "Nobody", "decision": "deny"}]}]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policies.json");
    std::fs::write(&file, json!({ "policies": deny_all }).to_string()).unwrap();
    let out = app
        .cli(&[
            "servers",
            "set-policies",
            "orders",
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
        "authorization server orders now has 1 policies and 1 rules\n"
    );
    // Decided at once by the running server: policies are read per request.
    let refused = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    let (_, error, description) = oauth_error(refused).await;
    assert_eq!(error, "unauthorized_client");
    assert!(
        description.starts_with("policy \"Closed\", rule \"Nobody\""),
        "{description}"
    );
    let shown = app.cli(&["servers", "policies", "orders"]).await;
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["policies"][0]["rules"][0]["decision"], "deny");
    // Bad input through the command line: the same checks, nothing stored.
    std::fs::write(&file, r#"{"policies": [{"name": "P", "rules": []}]}"#).unwrap();
    let bad = app
        .cli(&[
            "servers",
            "set-policies",
            "orders",
            "--file",
            file.to_str().unwrap(),
        ])
        .await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("1 to 20 rules"));
    let unknown = app.cli(&["servers", "policies", "nope"]).await;
    assert!(!unknown.status.success());

    let deleted = app
        .admin(Method::DELETE, "/admin/servers/orders", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(app.db.access_policies("orders").await.unwrap().is_empty());
    // Created again, it starts afresh with the default policy.
    new_server(&app, &admin, "orders").await;
    let policies = app.db.access_policies("orders").await.unwrap();
    assert_eq!(
        policies,
        vec![backend::storage::StoredPolicy::default_policy()]
    );
    let response = token_at(&app, "orders", (SERVICE, SERVICE_SECRET), None).await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn preview(app: &TestApp, admin: &str, body: Value) -> reqwest::Response {
    app.admin(Method::POST, "/admin/preview", admin, Some(body))
        .await
}

/// The events that are not refusals of requests (which every error answer records).
async fn event_count(app: &TestApp) -> usize {
    app.db
        .events(&backend::storage::EventQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind != backend::events::EventKind::RequestRefused)
        .count()
}

/// Server `orders` with a service `batch` (products:read orders:read) and two policies: batch
/// jobs may read orders (2-minute tokens), and no service gets the catalogue. Returns the
/// client's id and secret.
async fn batch_jobs(app: &TestApp, admin: &str) -> (String, String) {
    new_server(app, admin, "orders").await;
    let client = new_service(app, admin, "batch", "products:read orders:read").await;
    let policies = json!([
        {"name": "Batch jobs", "clients": ["batch"], "rules": [{
            "name": "Read orders", "scopes": "orders:read", "lifetimes": {"access_token_ttl": 120}
        }]},
        {"name": "Services", "rules": [{"name": "No catalogue", "scopes": "products:read", "decision": "deny"}]}
    ]);
    assert_eq!(
        put_policies(app, admin, "orders", policies).await.status(),
        StatusCode::OK
    );
    client
}

#[tokio::test]
async fn the_preview_answers_as_the_token_endpoint_and_issues_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (batch, batch_secret) = batch_jobs(&app, &admin).await;
    let user = app.user_token().await;
    // Let the log's writer settle (the two logins, the change), then count: a preview adds
    // nothing to it.
    app.events("token_issued", 2).await;
    app.events("policies_updated", 1).await;
    let before = storage_fingerprint(&app).await;
    let events_before = event_count(&app).await;

    let response = preview(
        &app,
        &admin,
        json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "orders:read"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let shown: TokenPreview = response.json().await.unwrap();
    let issuer = app.url("/oauth2/orders");
    assert_eq!(shown.issuer, issuer);
    assert_eq!(shown.token_endpoint, format!("{issuer}/v1/token"));
    assert_eq!(
        (shown.policy.as_deref(), shown.rule.as_deref()),
        (Some("Batch jobs"), Some("Read orders"))
    );
    assert_eq!(shown.expires_in, Some(120));
    assert!(shown.error.is_none());
    let claims = shown.claims.unwrap();
    assert_eq!(
        (
            claims.iss.as_str(),
            claims.aud.to_string().as_str(),
            claims.sub.as_str(),
            claims.client_id.as_str()
        ),
        (issuer.as_str(), "api://orders", "batch", "batch")
    );
    assert_eq!(claims.scope.to_string(), "orders:read");
    assert_eq!(claims.exp - claims.iat, 120);
    assert!(claims.grant_id.is_none());
    // The key that would sign it is the one a real token names.
    let real = token_at(
        &app,
        "orders",
        (batch.as_str(), batch_secret.as_str()),
        Some("orders:read"),
    )
    .await;
    let real: Value = real.json().await.unwrap();
    let header = jwt_part(real["access_token"].as_str().unwrap(), 0);
    let shown_header = shown.header.unwrap();
    assert_eq!(
        json!({"alg": shown_header.alg, "typ": shown_header.typ, "kid": shown_header.kid}),
        json!({"alg": header["alg"], "typ": "at+jwt", "kid": header["kid"]})
    );
    let real_claims: AccessTokenClaims =
        serde_json::from_value(jwt_part(real["access_token"].as_str().unwrap(), 1)).unwrap();
    assert_eq!(
        (
            real_claims.iss,
            real_claims.aud,
            real_claims.sub,
            real_claims.client_id,
            real_claims.scope
        ),
        (
            claims.iss,
            claims.aud,
            claims.sub,
            claims.client_id,
            claims.scope
        )
    );

    // Each refusal is the endpoint's own, word for word, with the rule that denied.
    for (body, form) in [
        (
            json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "products:read"}),
            Some("products:read"),
        ),
        (
            json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "orders:read products:read"}),
            Some("orders:read products:read"),
        ),
        (
            json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "orders:write"}),
            Some("orders:write"),
        ),
    ] {
        let shown: Value = preview(&app, &admin, body.clone())
            .await
            .json()
            .await
            .unwrap();
        let real = token_at(
            &app,
            "orders",
            (batch.as_str(), batch_secret.as_str()),
            form,
        )
        .await;
        let (_, error, description) = oauth_error(real).await;
        assert_eq!(
            shown["error"],
            json!({"error": error, "error_description": description}),
            "{body}"
        );
        assert!(
            shown.get("claims").is_none() && shown.get("header").is_none(),
            "{shown}"
        );
    }
    let denied: Value = preview(
        &app,
        &admin,
        json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "products:read"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (&denied["policy"], &denied["rule"]),
        (&json!("Services"), &json!("No catalogue"))
    );
    let code = preview(
        &app,
        &admin,
        json!({"server": "orders", "client_id": "demo-spa", "grant_type": "authorization_code"}),
    )
    .await;
    let (status, error, description) = oauth_error(code).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_preview")
    );
    assert!(description.contains("give username"), "{description}");
    // A public client may not use client credentials, here as at the endpoint.
    let public: Value = preview(
        &app,
        &admin,
        json!({"client_id": "demo-spa", "grant_type": "client_credentials"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(public["error"]["error"], "unauthorized_client");
    // The root issuer: the client's registration decides, no policy.
    let root: Value = preview(
        &app,
        &admin,
        json!({"client_id": SERVICE, "grant_type": "client_credentials", "scope": "openid"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(root["issuer"], app.url(""));
    assert_eq!(root["claims"]["aud"], "api://default");
    assert_eq!(root["claims"]["scope"], "products:read");
    assert!(root.get("policy").is_none());
    assert_eq!(root["header"]["alg"], "ES256");

    // What cannot be previewed, and bad input.
    for (body, status, says) in [
        (
            json!({"client_id": "demo-spa", "grant_type": "authorization_code"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "give username",
        ),
        (
            json!({"client_id": "nobody", "grant_type": "client_credentials"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "there is no client \"nobody\"",
        ),
        (
            json!({"server": "nope", "client_id": SERVICE, "grant_type": "client_credentials"}),
            StatusCode::NOT_FOUND,
            "no authorization server",
        ),
        (
            json!({"client_id": SERVICE, "grant_type": "password"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            json!({"client_id": SERVICE, "grant_type": "client_credentials", "scope": "a\"b"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            json!({"client_id": SERVICE, "grant_type": "client_credentials", "extra": 1}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            json!({"grant_type": "client_credentials"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            json!({"client_id": "x\u{0}", "grant_type": "client_credentials"}),
            StatusCode::BAD_REQUEST,
            "",
        ),
    ] {
        let response = preview(&app, &admin, body.clone()).await;
        let (got, _, description) = oauth_error(response).await;
        assert_eq!(got, status, "{body}: {description}");
        assert!(description.contains(says), "{body}: {description}");
    }
    let forbidden = preview(
        &app,
        &user,
        json!({"client_id": SERVICE, "grant_type": "client_credentials"}),
    )
    .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    assert_eq!(storage_fingerprint(&app).await, before);
    // The real token requests above were logged (one issued, two refused by a policy; the
    // third never reached the policies); the previews added nothing.
    app.events("policy_denied", 2).await;
    assert_eq!(event_count(&app).await, events_before + 3);
}

/// `backend preview` answers what `POST /admin/preview` answers (its `--json` is the same JSON
/// but for the example `jti` and the times), says it as text otherwise, and changes nothing: no
/// key made or rotated, no event logged.
#[tokio::test]
async fn the_command_line_previews_as_the_admin_api() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (batch, _) = batch_jobs(&app, &admin).await;
    app.events("policies_updated", 1).await;
    let before = storage_fingerprint(&app).await;
    let events_before = event_count(&app).await;
    let keys = || async {
        let mut all = Vec::new();
        for server in ["", "orders", "default"] {
            for key in app.db.signing_keys(server).await.unwrap() {
                all.push(format!("{server} {} {:?}", key.kid, key.state));
            }
        }
        all
    };
    let keys_before = keys().await;
    // Times and the example grant and jti differ from one preview to the next.
    let comparable = |mut shown: Value| {
        for token in ["claims", "id_token"] {
            if let Some(claims) = shown.get_mut(token).and_then(Value::as_object_mut) {
                for varies in ["jti", "iat", "exp", "auth_time", "grant_id"] {
                    claims.remove(varies);
                }
            }
        }
        shown
    };
    let cli = |args: Vec<&'static str>| {
        let app = &app;
        async move {
            // The issuer the server runs with (the command line takes the server's flags).
            let mut all = vec!["--issuer", app.api.as_str(), "preview"];
            all.extend(args);
            app.cli(&all).await
        }
    };

    for (args, body) in [
        (
            vec![
                "--server",
                "orders",
                "--client",
                "batch",
                "--grant",
                "client_credentials",
                "--scope",
                "orders:read",
            ],
            json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "orders:read"}),
        ),
        (
            vec![
                "--server",
                "orders",
                "--client",
                "batch",
                "--grant",
                "client_credentials",
                "--scope",
                "products:read",
            ],
            json!({"server": "orders", "client_id": batch, "grant_type": "client_credentials", "scope": "products:read"}),
        ),
        (
            vec![
                "--client",
                "demo-spa",
                "--grant",
                "authorization_code",
                "--user",
                "user1",
                "--scope",
                "openid profile offline_access orders:read",
            ],
            json!({"client_id": "demo-spa", "grant_type": "authorization_code", "username": "user1", "scope": "openid profile offline_access orders:read"}),
        ),
    ] {
        let mut json_args = args.clone();
        json_args.push("--json");
        let out = cli(json_args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            !stderr.contains("security event"),
            "a preview records nothing: {stderr}"
        );
        let from_cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let from_api: Value = preview(&app, &admin, body.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(comparable(from_cli), comparable(from_api), "{body}");
    }

    let text = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let allowed = text(
        cli(vec![
            "--server",
            "orders",
            "--client",
            "batch",
            "--grant",
            "client_credentials",
            "--scope",
            "orders:read",
        ])
        .await,
    );
    assert!(
        allowed.starts_with(&format!("POST {}\n", app.url("/oauth2/orders/v1/token")))
            && allowed.contains("decided by policy \"Batch jobs\", rule \"Read orders\"\n")
            && allowed.contains("expires in 120 s:\n")
            && allowed.contains("\"aud\": \"api://orders\"")
            && allowed.contains("no refresh token\n"),
        "{allowed}"
    );
    let denied = text(
        cli(vec![
            "--server",
            "orders",
            "--client",
            "batch",
            "--grant",
            "client_credentials",
            "--scope",
            "products:read",
        ])
        .await,
    );
    assert!(
        denied.contains("decided by policy \"Services\", rule \"No catalogue\"\n")
            && denied.contains("refused: ")
            && !denied.contains("access token"),
        "{denied}"
    );
    let login = text(
        cli(vec![
            "--client",
            "demo-spa",
            "--grant",
            "authorization_code",
            "--user",
            "user1",
            "--scope",
            "openid offline_access orders:read",
        ])
        .await,
    );
    assert!(
        login.contains("ID token:\n") && login.contains("refresh token: lives "),
        "{login}"
    );
    // A device's login, without a scope: what the client has and the server offers.
    let device = text(
        cli(vec![
            "--server",
            "default",
            "--client",
            "demo-cli",
            "--grant",
            "urn:ietf:params:oauth:grant-type:device_code",
            "--user",
            "user1",
        ])
        .await,
    );
    assert!(
        device.starts_with(&format!("POST {}\n", app.url("/oauth2/default/v1/token")))
            && device.contains("ID token:\n")
            && device
                .contains("\"scope\": \"offline_access openid orders:read products:read profile\""),
        "{device}"
    );

    // What cannot be previewed, and bad input: a failure that says why.
    for (args, says) in [
        (
            vec!["--client", "nobody", "--grant", "client_credentials"],
            "there is no client \"nobody\"",
        ),
        (
            vec!["--client", "demo-spa", "--grant", "authorization_code"],
            "give username",
        ),
        (
            vec![
                "--client",
                "batch",
                "--grant",
                "client_credentials",
                "--user",
                "user1",
            ],
            "username goes with a grant that logs a user in",
        ),
        (
            vec![
                "--server",
                "nope",
                "--client",
                "batch",
                "--grant",
                "client_credentials",
            ],
            "no authorization server",
        ),
        (
            vec!["--client", "batch", "--grant", "password"],
            "invalid value 'password'",
        ),
        (
            vec![
                "--client",
                "batch",
                "--grant",
                "client_credentials",
                "--scope",
                "a\"b",
            ],
            "--scope",
        ),
        (
            vec![
                "--client",
                "demo-spa",
                "--grant",
                "authorization_code",
                "--user",
                "nobody",
            ],
            "there is no user \"nobody\"",
        ),
    ] {
        let out = cli(args.clone()).await;
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    assert_eq!(event_count(&app).await, events_before);
    assert_eq!(keys().await, keys_before, "no key made or rotated");

    // A database no server has started on yet has no keys, and the preview makes none.
    let fresh = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/fresh.db", fresh.path().display());
    let out = app
        .cli_with_defaults(&[
            "--database-url",
            &url,
            "preview",
            "--client",
            "batch",
            "--grant",
            "client_credentials",
        ])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the root issuer has no usable signing keys")
            && stderr.contains("a server makes its first keys when it starts"),
        "{stderr}"
    );
}
