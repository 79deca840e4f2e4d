//! Token exchange (RFC 8693): a confidential client exchanges a user's access token for one of
//! its own, for another audience, that names it as the actor (`act`); never wider than the
//! subject token, never longer-lived, ended with its login; a custom server's policy decides;
//! a trusted issuer's token is exchanged for its subject qualified with that issuer; every bad
//! request refused with the RFC's error, what to fix, and nothing stored.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::server_logins::logged_in_for;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A token exchange at `path` by the demo service (HTTP Basic), with `form` after `grant_type`.
async fn exchange_at(app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    let mut all = vec![("grant_type", GRANT)];
    all.extend_from_slice(form);
    app.http
        .post(app.url(path))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&all)
        .send()
        .await
        .unwrap()
}

/// The demo service exchanging `subject` at the root issuer, with `more` parameters.
async fn exchange(app: &TestApp, subject: &str, more: &[(&str, &str)]) -> Response {
    let mut form = subject_form(subject).to_vec();
    form.extend_from_slice(more);
    exchange_at(app, "/token", &form).await
}

/// Checks that `response` is RFC 8693 §2.2.2's `invalid_request` (400), saying `words`.
async fn invalid_request(response: Response, words: &str) {
    let (status, error, description) = oauth_error(response).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{description}"
    );
    assert!(
        description.contains(words),
        "{words:?} not in {description:?}"
    );
}

/// The form of an exchange of `subject` (an access token).
fn subject_form(subject: &str) -> [(&str, &str); 2] {
    [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
    ]
}

/// The body of a successful exchange, after checking what RFC 8693 §2.2.1 requires of it.
async fn issued(response: Response) -> Value {
    issued_as(response, ACCESS_TOKEN).await
}

/// The same, for an exchange that asked for `requested_token_type`.
async fn issued_as(response: Response, requested: &str) -> Value {
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], requested);
    assert_eq!(body["token_type"], "Bearer");
    // An access token only: no refresh token, no ID token.
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("id_token").is_none(), "{body}");
    body
}

#[tokio::test]
async fn a_service_exchanges_a_users_token_and_acts_for_them() {
    let app = spawn_app().await;
    let metadata = app
        .get_json(&app.url("/.well-known/oauth-authorization-server"))
        .await;
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(GRANT)),
        "{metadata}"
    );
    let user0 = app.user("user0").await;
    let login = app.user_tokens(ALL_USER_SCOPES).await;
    let subject = login["access_token"].as_str().unwrap();
    let subject_claims = jwt_part(subject, 1);

    // Without scope: what the user's token holds that the service is registered for.
    let body = issued(exchange(&app, subject, &[]).await).await;
    assert_eq!(body["scope"], "products:read");
    let token = body["access_token"].as_str().unwrap();
    let claims = jwt_part(token, 1);
    assert_eq!(claims["sub"], user0.id);
    assert_eq!(claims["client_id"], SERVICE);
    assert_eq!(claims["aud"], "api://default");
    assert_eq!(claims["act"], json!({"sub": SERVICE}));
    // Under the user's login, and never past the subject token's expiry.
    assert_eq!(claims["grant_id"], subject_claims["grant_id"]);
    assert!(claims["exp"].as_i64() <= subject_claims["exp"].as_i64());
    assert_eq!(jwt_part(token, 0)["typ"], "at+jwt");

    // The API takes it, for the user, and says who acts.
    let whoami: Value = app
        .get_api("/api/whoami", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["subject"], user0.id);
    assert_eq!(whoami["client_id"], SERVICE);
    assert_eq!(whoami["act"], json!({"sub": SERVICE}));
    let products = app.get_api("/api/products", Some(token)).await;
    assert_eq!(products.status(), StatusCode::OK);
    // Introspection names the actor too (RFC 8693 §4.1).
    let introspected = app.introspect(token).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["act"], json!({"sub": SERVICE}));

    // Named by audience or resource; asked as a JWT.
    let body = issued_as(
        exchange(
            &app,
            subject,
            &[
                ("audience", "api://default"),
                ("scope", "products:read"),
                ("requested_token_type", JWT),
            ],
        )
        .await,
        JWT,
    )
    .await;
    assert_eq!(body["scope"], "products:read");
    let resource = app.url("/api/products");
    let body = issued(exchange(&app, subject, &[("resource", &resource)]).await).await;
    assert_eq!(
        jwt_part(body["access_token"].as_str().unwrap(), 1)["aud"],
        "api://default"
    );

    // Exchanged again: the actors nest, the current one outermost (§4.1).
    let again = issued(exchange(&app, token, &[]).await).await;
    let again = again["access_token"].as_str().unwrap();
    assert_eq!(
        jwt_part(again, 1)["act"],
        json!({"sub": SERVICE, "act": {"sub": SERVICE}})
    );
    // At most four actors deep: a token passed on that often is not passed on again.
    let mut chained = again.to_owned();
    for depth in 3..=4 {
        let body = issued(exchange(&app, &chained, &[]).await).await;
        chained = body["access_token"].as_str().unwrap().to_owned();
        let mut act = &jwt_part(&chained, 1)["act"];
        for _ in 1..depth {
            act = &act["act"];
        }
        assert_eq!(act, &json!({"sub": SERVICE}), "depth {depth}");
    }
    invalid_request(
        exchange(&app, &chained, &[]).await,
        "already been exchanged 4 times",
    )
    .await;
    // A DPoP proof with the exchange binds the new token to the service's key.
    let key = backend::dpop::client::ClientKey::generate().unwrap();
    let proof = key
        .proof(
            "POST",
            &app.url("/token"),
            app.clock.unmoved_now().unix(),
            None,
        )
        .unwrap();
    let bound = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .header("DPoP", proof)
        .form(&[
            ("grant_type", GRANT),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = bound.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let bound = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(bound["cnf"], json!({"jkt": key.jkt()}));
    assert_eq!(bound["act"], json!({"sub": SERVICE}));
    // A bound token is passed on only with a proof of its key (RFC 9449): never as bearer.
    let bound_token = body["access_token"].as_str().unwrap();
    invalid_request(
        exchange(&app, bound_token, &[]).await,
        &format!("bound to a DPoP key (cnf.jkt {})", key.jkt()),
    )
    .await;

    // With an actor token: its subject acts, the client that exchanged it does not.
    let service = app.service_token().await;
    let acted = issued(
        exchange(
            &app,
            subject,
            &[
                ("actor_token", &service),
                ("actor_token_type", ACCESS_TOKEN),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        jwt_part(acted["access_token"].as_str().unwrap(), 1)["act"],
        json!({"sub": SERVICE})
    );

    // The login, eight exchanges and the service's own token.
    let issued_events = app.events("token_issued", 10).await;
    assert!(
        issued_events
            .iter()
            .any(|e| e.detail.starts_with(GRANT) && e.client_id.as_deref() == Some(SERVICE)),
        "{issued_events:?}"
    );

    // The user's end ends what they delegated: disabled, their exchanged tokens stop working
    // and their tokens can no longer be exchanged.
    let admin = app.admin_token().await;
    let disabled = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{}", user0.id),
            &admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    let refused = app.get_api("/api/products", Some(token)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    invalid_request(
        exchange(&app, subject, &[]).await,
        "the subject_token is refused",
    )
    .await;
}

#[tokio::test]
async fn bad_exchanges_are_refused_with_what_to_fix_and_nothing_is_stored() {
    let app = spawn_app().await;
    let subject = app.user_token().await;
    let service = app.service_token().await;
    let forged = app
        .forge(at_jwt_header(), &{
            let mut claims = app.claims("products:read");
            claims["exp"] = json!(app.clock.now().unix() - 3600);
            claims
        })
        .await;
    let other = spawn_app().await;
    let foreign = other.user_token().await;
    let admin = app.admin_token().await;
    let before = storage_fingerprint(&app).await;
    let long = "a".repeat(5000);
    let at = ACCESS_TOKEN;
    // A request's form, the error it gets, and words its description holds.
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("subject_token_type", at)],
            "invalid_request",
            "missing subject_token",
        ),
        (
            vec![("subject_token", &subject)],
            "invalid_request",
            "missing subject_token_type",
        ),
        (
            vec![
                ("subject_token", &subject),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:saml2",
                ),
            ],
            "invalid_request",
            "is not a type this server exchanges",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("actor_token", &service),
            ],
            "invalid_request",
            "actor_token is sent without actor_token_type",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("actor_token_type", at),
            ],
            "invalid_request",
            "actor_token_type is sent without actor_token",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            "invalid_request",
            "is not one this server issues",
        ),
        (
            vec![("subject_token", &long), ("subject_token_type", at)],
            "invalid_request",
            "subject_token is 5000 bytes long",
        ),
        (
            vec![("subject_token", "not-a-token"), ("subject_token_type", at)],
            "invalid_request",
            "the subject_token is refused: it is not a JWT",
        ),
        (
            vec![("subject_token", &forged), ("subject_token_type", at)],
            "invalid_request",
            "the subject_token is refused: the access token expired",
        ),
        (
            vec![("subject_token", &foreign), ("subject_token_type", at)],
            "invalid_request",
            "an issuer this API does not trust",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("actor_token", "x.y.z"),
                ("actor_token_type", at),
            ],
            "invalid_request",
            "the actor_token is refused",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("scope", "orders:read"),
            ],
            "invalid_scope",
            "client \"demo-service\" may not be granted: orders:read",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("actor_token", &subject),
                ("actor_token_type", at),
            ],
            "invalid_request",
            "the actor_token was issued to client \"demo-spa\", not to \"demo-service\"",
        ),
        (
            vec![("subject_token", &service), ("subject_token_type", at)],
            "invalid_request",
            "acting for itself (client credentials): there is no user to act for",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("scope", "admin"),
            ],
            "invalid_scope",
            "admin is never passed on by a token exchange",
        ),
        (
            vec![
                ("subject_token", &subject),
                ("subject_token_type", at),
                ("audience", "api://nowhere"),
            ],
            "invalid_target",
            "does not issue access tokens for resource \"api://nowhere\"",
        ),
    ];
    for (form, expected, words) in cases {
        let (status, error, description) =
            oauth_error(exchange_at(&app, "/token", &form).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {description}");
        assert_eq!(error, expected, "{form:?}: {description}");
        assert!(description.contains(words), "{form:?}: {description}");
    }

    // Clients that may not exchange: a public one, one without the grant, a wrong secret.
    let public = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", GRANT),
            ("client_id", SPA),
            ("subject_token", &subject),
            ("subject_token_type", at),
        ])
        .send()
        .await
        .unwrap();
    let (_, error, description) = oauth_error(public).await;
    assert_eq!(error, "unauthorized_client");
    assert!(description.contains("not allowed to use"), "{description}");
    let wrong = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some("wrong"))
        .form(&[
            ("grant_type", GRANT),
            ("subject_token", &subject),
            ("subject_token_type", at),
        ])
        .send()
        .await
        .unwrap();
    let (status, error, _) = oauth_error(wrong).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // The subject token in the URL: refused, and said to be exposed.
    let in_query = app
        .http
        .post(format!("{}?subject_token={subject}", app.url("/token")))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("grant_type", GRANT), ("subject_token_type", at)])
        .send()
        .await
        .unwrap();
    invalid_request(in_query, "treat subject_token as exposed").await;

    // A public client may never hold the grant.
    let refused = app
        .admin(
            Method::PATCH,
            "/admin/clients/demo-spa",
            &admin,
            Some(json!({"grant_types": ["authorization_code", GRANT]})),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("a public client cannot use"),
        "{body}"
    );
    assert_eq!(storage_fingerprint(&app).await, before);
}

#[tokio::test]
async fn a_custom_servers_policy_decides_and_its_refusal_names_the_rule() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let user0 = app.user("user0").await;
    let path = "/oauth2/default/v1/token";
    let login = logged_in_for(
        &app,
        Some("default"),
        ("user0", "password0"),
        "openid products:read orders:read",
    )
    .await;
    let subject = login["access_token"].as_str().unwrap();
    let form = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN),
    ];
    // The service's own token of this server, to act with later.
    let own = app
        .http
        .post(app.url(path))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let own: Value = own.json().await.unwrap();
    let actor = own["access_token"].as_str().unwrap().to_owned();

    // Its default policy allows it: the server's token, for the user, the service acting.
    let body = issued(exchange_at(&app, path, &form).await).await;
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["iss"], app.url("/oauth2/default"));
    assert_eq!(claims["sub"], user0.id);
    assert_eq!(claims["act"], json!({"sub": SERVICE}));

    // A token of another issuer of this deployment is exchanged there, not here.
    let root_token = app.user_token().await;
    invalid_request(
        exchange_at(&app, path, &subject_form(&root_token)).await,
        &format!("exchange it at its token endpoint, {}", app.url("/token")),
    )
    .await;

    // A policy without a rule for the grant: refused, naming the policy.
    let policies = json!({"policies": [{
        "name": "Services", "clients": [SERVICE],
        "rules": [
            {"name": "Own tokens only", "grant_types": ["client_credentials"]},
            {"name": "No exchange", "grant_types": [GRANT], "scopes": "orders:read",
             "decision": "deny"}
        ]
    }]});
    let put = app
        .admin(
            Method::PUT,
            "/admin/servers/default/policies",
            &admin,
            Some(policies),
        )
        .await;
    let status = put.status();
    assert_eq!(status, StatusCode::OK, "{}", put.text().await.unwrap());
    let before = storage_fingerprint(&app).await;
    let (_, error, description) = oauth_error(exchange_at(&app, path, &form).await).await;
    assert_eq!(error, "unauthorized_client");
    assert!(
        description.contains(&format!(
            "no rule matched the {GRANT} grant with scope products:read for client \"{SERVICE}\""
        )) && description.contains("(\"Services\")"),
        "{description}"
    );
    let denied = app.events("policy_denied", 1).await;
    assert!(
        denied
            .iter()
            .any(|e| e.client_id.as_deref() == Some(SERVICE))
    );
    assert_eq!(storage_fingerprint(&app).await, before);

    // Impersonation: only an allow rule for the grant may say so.
    let put_rules = |rules: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            let body =
                json!({"policies": [{"name": "Services", "clients": [SERVICE], "rules": rules}]});
            app.admin(
                Method::PUT,
                "/admin/servers/default/policies",
                admin,
                Some(body),
            )
            .await
        }
    };
    for (rule, words) in [
        (
            json!({"name": "R", "grant_types": [GRANT], "impersonation": true, "decision": "deny"}),
            "impersonation is for allow rules",
        ),
        (
            json!({"name": "R", "impersonation": true}),
            "impersonation is for token exchange",
        ),
    ] {
        let refused = put_rules(json!([rule])).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains(words),
            "{body}"
        );
    }
    let allowed = put_rules(json!([{"name": "Pass for the user", "grant_types": [GRANT],
                                     "impersonation": true}]))
    .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let policies: Value = app
        .admin(Method::GET, "/admin/servers/default/policies", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policies["policies"][0]["rules"][0]["impersonation"], true);
    // No actor in the new token: the service passes for the user...
    let logged_before = app.events("token_issued", 1).await.len();
    let body = issued(exchange_at(&app, path, &form).await).await;
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], user0.id);
    assert_eq!(claims["client_id"], SERVICE);
    assert!(claims.get("act").is_none(), "{claims}");
    let logged = app.events("token_issued", logged_before + 1).await;
    assert!(
        logged.iter().any(|e| e
            .detail
            .contains(&format!("{SERVICE} impersonates {}", user0.id))
            && e.detail.contains("rule \"Pass for the user\"")),
        "{logged:?}"
    );
    // ...unless it presents an actor token, which asks for delegation.
    let with_actor = [
        form[0],
        form[1],
        ("actor_token", &actor),
        ("actor_token_type", ACCESS_TOKEN),
    ];
    let body = issued(exchange_at(&app, path, &with_actor).await).await;
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["act"], json!({"sub": SERVICE}));
}

#[tokio::test]
async fn a_trusted_issuers_token_is_exchanged_for_its_subject_qualified_with_that_issuer() {
    let (app, provider) = tokio::join!(spawn_app(), spawn_app());
    let admin = app.admin_token().await;
    let trusted = app
        .admin(
            Method::POST,
            "/admin/issuers",
            &admin,
            Some(json!({
                "id": "partner", "name": "Partner shop", "issuer": provider.api,
                "audience": "api://default", "algorithms": ["ES256"],
            })),
        )
        .await;
    assert_eq!(trusted.status(), StatusCode::CREATED);
    let theirs = provider.user_token().await;
    let their_user = provider.user("user0").await;

    let body = issued(exchange(&app, &theirs, &[]).await).await;
    let token = body["access_token"].as_str().unwrap();
    let claims = jwt_part(token, 1);
    assert_eq!(claims["iss"], app.api);
    // Never one of this server's users, and no login of this server to end it.
    assert_eq!(claims["sub"], format!("{}#{}", provider.api, their_user.id));
    assert!(claims.get("grant_id").is_none(), "{claims}");
    assert_eq!(claims["act"], json!({"sub": SERVICE}));
    let me = app.get_api("/api/me", Some(token)).await;
    assert_eq!(me.status(), StatusCode::FORBIDDEN);

    // As an actor, a trusted issuer's subject is named with its issuer (the actor token is
    // the calling client's own there: issued to demo-service).
    let subject = app.user_token().await;
    let their_service = provider.service_token().await;
    let acted = issued(
        exchange(
            &app,
            &subject,
            &[
                ("actor_token", &their_service),
                ("actor_token_type", ACCESS_TOKEN),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        jwt_part(acted["access_token"].as_str().unwrap(), 1)["act"],
        json!({"sub": SERVICE, "iss": provider.api})
    );
    // The provider's user token as the actor: issued to its demo-spa, not to the caller.
    invalid_request(
        exchange(
            &app,
            &subject,
            &[("actor_token", &theirs), ("actor_token_type", ACCESS_TOKEN)],
        )
        .await,
        "issued to client",
    )
    .await;

    // The issuer is trusted for api://default: a server that issues for other APIs only does
    // not turn its tokens into its own.
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(
                json!({"id": "orders", "name": "Orders", "audience": "api://orders",
                        "signing_alg": "ES256"}),
            ),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    invalid_request(
        exchange_at(&app, "/oauth2/orders/v1/token", &subject_form(&theirs)).await,
        &format!(
            "which {} does not issue tokens for",
            app.url("/oauth2/orders")
        ),
    )
    .await;
}
