//! Logins at the custom authorization servers: the authorization code flow with PKCE at
//! `/oauth2/{id}/v1/authorize`, its codes and refresh tokens redeemed, rotated, revoked and
//! described at that server only, ID tokens in RS256 whatever the server's access tokens are
//! signed with, `/v1/userinfo`, and the server's access policy deciding the login and every
//! refresh.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Authorization, SPA, TestApp, hidden_inputs, jwt_part, oauth_error, page_cookie, param,
    redirect_params, refusal_explanation, spawn_app,
};

/// The authorization endpoint of `server` (`None`: the root issuer).
fn authorize_path(server: Option<&str>) -> String {
    match server {
        None => "/authorize".into(),
        Some(id) => format!("/oauth2/{id}/v1/authorize"),
    }
}

fn token_path(server: Option<&str>) -> String {
    match server {
        None => "/token".into(),
        Some(id) => format!("/oauth2/{id}/v1/token"),
    }
}

/// Logs `username` in to `client_id` at `server`'s authorization endpoint through its real
/// login form; returns the form's answer (a redirect, or a page) and the anti-forgery cookie.
async fn log_in(
    app: &TestApp,
    server: Option<&str>,
    client_id: &str,
    auth: &Authorization,
    scope: &str,
    username: &str,
    password: &str,
) -> (Response, String) {
    let path = authorize_path(server);
    let mut query = app.authorize_query_for(client_id, auth, scope);
    query.push(("nonce".into(), "n-123".into()));
    let page = app
        .http
        .get(app.url(&path))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    // The anti-forgery cookie is for this server's authorization pages only.
    let set_cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains(&format!("Path={path};")),
        "{set_cookie}"
    );
    let cookie = page_cookie(&page);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("action=\"{path}/login\"")),
        "the form posts to this server's endpoint"
    );
    let mut form = hidden_inputs(&html);
    form.push(("username".into(), username.into()));
    form.push(("password".into(), password.into()));
    let answer = app
        .post_form(&format!("{path}/login"), &cookie, &form)
        .await;
    (answer, cookie)
}

/// A login at `server` that ends with a code; returns it, after checking `state` and `iss`.
async fn code_at(
    app: &TestApp,
    server: Option<&str>,
    auth: &Authorization,
    scope: &str,
    user: (&str, &str),
) -> String {
    let (answer, _) = log_in(app, server, SPA, auth, scope, user.0, user.1).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
    // RFC 9207: the issuer of the server whose endpoint answered.
    let issuer = match server {
        None => app.url(""),
        Some(id) => app.url(&format!("/oauth2/{id}")),
    };
    assert_eq!(param(&params, "iss"), Some(issuer.as_str()));
    param(&params, "code")
        .unwrap_or_else(|| panic!("no code: {params:?}"))
        .to_owned()
}

async fn post_token(app: &TestApp, server: Option<&str>, form: &[(&str, &str)]) -> Response {
    app.http
        .post(app.url(&token_path(server)))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn redeem_at(
    app: &TestApp,
    server: Option<&str>,
    code: &str,
    auth: &Authorization,
) -> Response {
    post_token(
        app,
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", SPA),
            ("redirect_uri", &auth.redirect_uri),
            ("code_verifier", auth.verifier.as_str()),
        ],
    )
    .await
}

/// The tokens of a login of `who` at `server` (the SPA, [`SCOPE`]), as redeemed.
async fn logged_in_at(app: &TestApp, server: Option<&str>, who: (&str, &str)) -> Value {
    logged_in_for(app, server, who, SCOPE).await
}

/// The tokens of a login of `who` at `server` (the SPA, asking for `scope`), as redeemed.
pub(crate) async fn logged_in_for(
    app: &TestApp,
    server: Option<&str>,
    who: (&str, &str),
    scope: &str,
) -> Value {
    let auth = app.new_authorization();
    let code = code_at(app, server, &auth, scope, who).await;
    let redeemed = redeem_at(app, server, &code, &auth).await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    redeemed.json().await.unwrap()
}

async fn refresh_at(app: &TestApp, server: Option<&str>, refresh_token: &str) -> Response {
    post_token(
        app,
        server,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Verifies `token` with the key its `kid` names in `jwks_path`, as any JWT library would.
async fn verify_with(
    app: &TestApp,
    jwks_path: &str,
    token: &str,
    issuer: &str,
    audience: &str,
) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url(jwks_path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the token's key is published");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap_or_else(|e| panic!("{e}"))
        .claims
}

async fn userinfo(app: &TestApp, path: &str, token: &str) -> Response {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

const SCOPE: &str = "openid profile offline_access orders:read";

/// Document 003's `default` server (RS256) runs the whole flow for the demo app: login at its
/// `/v1/authorize`, tokens at its `/v1/token` that any RS256 library verifies with its
/// `/v1/keys`, the API and its userinfo accepting them, refresh rotation with reuse detection,
/// revocation; and neither its codes nor its refresh tokens are anything at the root issuer,
/// or the root's at it.
#[tokio::test]
async fn the_code_flow_at_the_default_server_end_to_end() {
    let app = spawn_app().await;
    let issuer = app.url("/oauth2/default");
    let user0 = app.user("user0").await;
    let default = Some("default");

    let auth = app.new_authorization();
    let code = code_at(&app, default, &auth, SCOPE, ("user0", "password0")).await;
    let response = redeem_at(&app, default, &code, &auth).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens: Value = response.json().await.unwrap();
    assert_eq!(tokens["scope"], "offline_access openid orders:read profile");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    // The access token: the server's, for its audience, RS256, the user as `sub`.
    assert_eq!(jwt_part(access, 0)["alg"], "RS256");
    assert_eq!(jwt_part(access, 0)["typ"], "at+jwt");
    let claims = verify_with(
        &app,
        "/oauth2/default/v1/keys",
        access,
        &issuer,
        "api://default",
    )
    .await;
    assert_eq!(claims["sub"], user0.id);
    assert_eq!(claims["client_id"], SPA);
    // The ID token: RS256, for the client, with the nonce and the profile.
    let id = verify_with(&app, "/oauth2/default/v1/keys", id_token, &issuer, SPA).await;
    assert_eq!(id["sub"], user0.id);
    assert_eq!(id["nonce"], "n-123");
    assert_eq!(id["preferred_username"], "user0");
    assert!(id["at_hash"].is_string());
    // Not verifiable with the root issuer's keys, whose issuer it is not.
    let root_keys: jsonwebtoken::jwk::JwkSet = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = jwt_part(id_token, 0)["kid"].as_str().unwrap().to_owned();
    assert!(root_keys.find(&kid).is_none());

    // The API takes it (its audience is the API's), for this very user.
    let me = app.get_api("/api/me", Some(access)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "user0");
    // Its userinfo answers for its tokens; the root's does not, nor it for the root's.
    let info = userinfo(&app, "/oauth2/default/v1/userinfo", access).await;
    assert_eq!(info.status(), StatusCode::OK);
    let info: Value = info.json().await.unwrap();
    assert_eq!(info["sub"], user0.id);
    assert_eq!(info["preferred_username"], "user0");
    assert!(info.get("email").is_none(), "no email scope");
    assert_eq!(
        userinfo(&app, "/userinfo", access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let root_token = app.user_token().await;
    let refused = userinfo(&app, "/oauth2/default/v1/userinfo", &root_token).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("authorization server default"),
        "{challenge}"
    );
    for bad in [None, Some("Token abc"), Some("Bearer a b")] {
        let mut request = app.http.get(app.url("/oauth2/default/v1/userinfo"));
        if let Some(bad) = bad {
            request = request.header("authorization", bad);
        }
        let status = request.send().await.unwrap().status();
        assert!(
            status.is_client_error() && status != StatusCode::NOT_FOUND,
            "{bad:?}"
        );
    }

    // Its refresh token is nothing at the root issuer (and stays usable)...
    let (status, error, description) = oauth_error(refresh_at(&app, None, refresh).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(
        description.contains("issued by authorization server default")
            && description.contains(&format!("{issuer}/v1/token")),
        "{description}"
    );
    // ...nor revoked or described by the root issuer.
    let revoked = app.revoke_as_spa(refresh).await;
    assert_eq!(revoked.status(), StatusCode::OK);
    // At its own server it rotates.
    let rotated = refresh_at(&app, default, refresh).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(next, refresh);
    let renewed = rotated["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(renewed, 1)["iss"], issuer);
    // Presenting the spent one again ends the family: the newest tokens stop working.
    let (_, error, description) = oauth_error(refresh_at(&app, default, refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("already used"), "{description}");
    assert_eq!(
        app.get_api("/api/me", Some(renewed)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, error, _) = oauth_error(refresh_at(&app, default, next).await).await;
    assert_eq!(error, "invalid_grant");

    // A code of the root issuer is not redeemed here, and one of this server not at the root:
    // each refusal names where the code belongs.
    let auth = app.new_authorization();
    let root_code = code_at(&app, None, &auth, SCOPE, ("user0", "password0")).await;
    let (_, error, description) =
        oauth_error(redeem_at(&app, default, &root_code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("the root issuer"), "{description}");
    let auth = app.new_authorization();
    let server_code = code_at(&app, default, &auth, SCOPE, ("user0", "password0")).await;
    let (_, error, description) =
        oauth_error(redeem_at(&app, None, &server_code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(
        description.contains("authorization server default"),
        "{description}"
    );

    // Revocation at the server of a refresh token of its own ends the login there.
    let tokens = logged_in_at(&app, default, ("user1", "password1")).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let revoked = app
        .http
        .post(app.url("/oauth2/default/v1/revoke"))
        .form(&[("token", refresh), ("client_id", SPA)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        app.get_api("/api/me", Some(access)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, error, description) = oauth_error(refresh_at(&app, default, refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("revoked"), "{description}");
    let issued = app.events("token_issued", 5).await;
    assert!(
        issued
            .iter()
            .any(|e| e.detail.contains("authorization_code")
                && e.detail.contains("by authorization server default")),
        "{issued:?}"
    );
}

async fn admin_put(app: &TestApp, admin: &str, path: &str, body: Value) {
    let response = app.admin(Method::PUT, path, admin, Some(body)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
}

/// A server for another API (EdDSA access tokens) whose policy admits administrators only:
/// a user is refused at the login with the rule's words, an administrator gets the rule's
/// lifetimes, the server's custom claims and an RS256 ID token; a policy changed afterwards
/// decides the next refresh without spending the token; deleting the server ends its logins,
/// even if a server is created again under its id.
#[tokio::test]
async fn a_servers_policy_decides_its_logins_and_every_refresh() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let orders = Some("orders");
    let created = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(
                json!({"id": "orders", "name": "Orders API", "audience": "api://orders",
                        "signing_alg": "EdDSA"}),
            ),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(&app, &admin, "orders").await;
    let admins_only = json!({"policies": [{"name": "Staff", "clients": [SPA], "rules": [
        {"name": "Administrators", "grant_types": ["authorization_code"], "roles": ["admin"],
         "lifetimes": {"access_token_ttl": 120, "refresh_token_idle_ttl": 600}}]}]});
    admin_put(
        &app,
        &admin,
        "/admin/servers/orders/policies",
        admins_only.clone(),
    )
    .await;
    admin_put(
        &app,
        &admin,
        "/admin/servers/orders/claims",
        json!({"claims": [{"name": "desk", "scopes": "orders:read", "value": "EU-1"}]}),
    )
    .await;

    // A user: the password is right, the policy says no, back to the client with why.
    let auth = app.new_authorization();
    let before = app.code_count().await;
    let (answer, _) = log_in(&app, orders, SPA, &auth, SCOPE, "user0", "password0").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "error"), Some("unauthorized_client"));
    let description = param(&params, "error_description").unwrap();
    assert!(
        description.contains("no rule matched the authorization_code grant")
            && description.contains("role user"),
        "{description}"
    );
    assert_eq!(
        param(&params, "iss"),
        Some(app.url("/oauth2/orders").as_str())
    );
    assert_eq!(
        app.code_count().await,
        before,
        "no code for a refused login"
    );
    let denied = app.events("policy_denied", 1).await;
    assert!(denied[0].user_id.is_some(), "{denied:?}");

    // An administrator: the rule's lifetimes, the claims, EdDSA access and RS256 ID tokens.
    let auth = app.new_authorization();
    let code = code_at(&app, orders, &auth, SCOPE, ("admin", "admin-password")).await;
    let tokens: Value = redeem_at(&app, orders, &code, &auth)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["expires_in"], 120, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let issuer = app.url("/oauth2/orders");
    let claims = verify_with(
        &app,
        "/oauth2/orders/v1/keys",
        access,
        &issuer,
        "api://orders",
    )
    .await;
    assert_eq!(jwt_part(access, 0)["alg"], "EdDSA");
    assert_eq!(claims["desk"], "EU-1");
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(jwt_part(id_token, 0)["alg"], "RS256");
    verify_with(&app, "/oauth2/orders/v1/keys", id_token, &issuer, SPA).await;
    // This server's tokens are for another API: refused by this one, saying which.
    let refused = app.get_api("/api/me", Some(access)).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // Its userinfo answers for them.
    let info = userinfo(&app, "/oauth2/orders/v1/userinfo", access).await;
    assert_eq!(info.status(), StatusCode::OK);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // The policy now denies refreshes: the next one is refused (the login no longer holds:
    // `invalid_grant`), naming the rule, and nothing is spent.
    let deny = json!({"policies": [{"name": "Staff", "clients": [SPA], "rules": [
        {"name": "Frozen", "grant_types": ["refresh_token"], "decision": "deny"},
        {"name": "Administrators", "grant_types": ["authorization_code"], "roles": ["admin"]}]}]});
    admin_put(&app, &admin, "/admin/servers/orders/policies", deny).await;
    let (status, error, description) = oauth_error(refresh_at(&app, orders, &refresh).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(
        description.contains("policy \"Staff\", rule \"Frozen\""),
        "{description}"
    );
    // A login is still allowed (the deny rule is for refreshes alone); but a policy that
    // refuses the code's redemption refuses it before the code is spent.
    let auth = app.new_authorization();
    let code = code_at(&app, orders, &auth, SCOPE, ("admin", "admin-password")).await;
    let stolen_auth = app.new_authorization();
    let stolen = code_at(
        &app,
        orders,
        &stolen_auth,
        SCOPE,
        ("admin", "admin-password"),
    )
    .await;
    let frozen = json!({"policies": [{"name": "Staff", "clients": [SPA], "rules": [
        {"name": "Frozen", "grant_types": ["authorization_code"], "decision": "deny"}]}]});
    admin_put(&app, &admin, "/admin/servers/orders/policies", frozen).await;
    let (_, error, description) = oauth_error(redeem_at(&app, orders, &code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("rule \"Frozen\""), "{description}");
    // Without the login's PKCE verifier nobody learns what the policy says, and the code is
    // spent (one presentation, RFC 6749 §4.1.2).
    let (_, error, description) = oauth_error(redeem_at(&app, orders, &stolen, &auth).await).await;
    assert_eq!(
        (error.as_str(), description.as_str()),
        (
            "invalid_grant",
            "code_verifier does not match the code_challenge (PKCE S256)"
        )
    );
    let (_, _, description) =
        oauth_error(redeem_at(&app, orders, &stolen, &stolen_auth).await).await;
    assert!(description.contains("already used"), "{description}");
    // A rule that no longer allows the login's scopes: the redemption names no scope, so the
    // login no longer holds (`invalid_grant`, not `invalid_scope`), and nothing is spent.
    let narrowed = json!({"policies": [{"name": "Staff", "clients": [SPA], "rules": [
        {"name": "Sign-in only", "grant_types": ["authorization_code"], "scopes": "openid"}]}]});
    admin_put(&app, &admin, "/admin/servers/orders/policies", narrowed).await;
    let (_, error, description) = oauth_error(redeem_at(&app, orders, &code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(
        description.contains("rule \"Sign-in only\" allows only openid"),
        "{description}"
    );
    admin_put(
        &app,
        &admin,
        "/admin/servers/orders/policies",
        admins_only.clone(),
    )
    .await;
    let redeemed = redeem_at(&app, orders, &code, &auth).await;
    assert_eq!(
        redeemed.status(),
        StatusCode::OK,
        "the refused redemption spent nothing"
    );
    let rotated = refresh_at(&app, orders, &refresh).await;
    assert_eq!(
        rotated.status(),
        StatusCode::OK,
        "the refused refresh spent nothing"
    );
    let rotated: Value = rotated.json().await.unwrap();
    assert_eq!(rotated["expires_in"], 120);
    let refresh = rotated["refresh_token"].as_str().unwrap().to_owned();

    // Deleted and created again under the same id: the old login is over, and so is a code
    // issued before (the new server's default policy would allow it).
    let auth = app.new_authorization();
    let code = code_at(&app, orders, &auth, SCOPE, ("admin", "admin-password")).await;
    let deleted = app
        .admin(Method::DELETE, "/admin/servers/orders", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(json!({"id": "orders", "name": "Orders API", "audience": "api://orders"})),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(&app, &admin, "orders").await;
    let (_, error, description) = oauth_error(refresh_at(&app, orders, &refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(
        description.contains("deleted since; log in again"),
        "{description}"
    );
    let (_, error, _) = oauth_error(refresh_at(&app, None, &refresh).await).await;
    assert_eq!(error, "invalid_grant");
    let (_, error, _) = oauth_error(redeem_at(&app, orders, &code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
}

/// The lifetimes of a login at a server are its rule's, as they are now: the access token's,
/// the refresh token's until it is used, and the login's absolute one, which a rule shortened
/// since the login shortens too.
#[tokio::test]
async fn a_rules_lifetimes_bound_the_login_even_when_changed_afterwards() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let default = Some("default");
    let rule = |absolute: u64| {
        json!({"policies": [{"name": "Users", "rules": [{"name": "Logins",
            "grant_types": ["authorization_code"],
            "lifetimes": {"access_token_ttl": 60, "refresh_token_idle_ttl": 600,
                          "refresh_token_absolute_ttl": absolute}}]}]})
    };
    admin_put(&app, &admin, "/admin/servers/default/policies", rule(7200)).await;
    let tokens = logged_in_at(&app, default, ("user0", "password0")).await;
    assert_eq!(tokens["expires_in"], 60);
    // Unused for longer than its idle lifetime: refused.
    app.advance(601);
    let stale = refresh_at(&app, default, tokens["refresh_token"].as_str().unwrap()).await;
    let (_, error, description) = oauth_error(stale).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("expired"), "{description}");
    // Another login; the rule's absolute lifetime is shortened to 10 minutes afterwards: 11
    // minutes on, refreshed every 5, the login is over.
    let tokens = logged_in_at(&app, default, ("user0", "password0")).await;
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        app.advance(290);
        let rotated = refresh_at(&app, default, &refresh).await;
        assert_eq!(rotated.status(), StatusCode::OK);
        refresh = rotated.json::<Value>().await.unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    // The last refresh token is 60 s old, well within its idle lifetime; but the login began
    // 640 s ago, and the rule now says 600.
    let admin = app.admin_token().await;
    admin_put(&app, &admin, "/admin/servers/default/policies", rule(600)).await;
    app.advance(60);
    let (_, error, description) = oauth_error(refresh_at(&app, default, &refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert_eq!(
        description,
        "this login's absolute lifetime (600 s) is over; log in again"
    );
    // The refusal spent nothing, and the login's lifetime is the rule's as it is now: an
    // administrator who lengthens the rule again gives it back its time.
    admin_put(&app, &admin, "/admin/servers/default/policies", rule(7200)).await;
    let revived = refresh_at(&app, default, &refresh).await;
    assert_eq!(
        revived.status(),
        StatusCode::OK,
        "the refusal spent nothing"
    );
}

/// A third-party client's login at a server shows the consent screen, whose answer is posted to
/// that server's consent endpoint; the same ticket posted to the root issuer's answers nothing.
#[tokio::test]
async fn consent_at_a_server_is_answered_at_that_server() {
    let app = spawn_app().await;
    let default = Some("default");
    let partner = "demo-partner";
    for (path, answered_at_root) in [
        ("/authorize/consent", true),
        ("/oauth2/default/v1/authorize/consent", false),
    ] {
        let auth = app.new_authorization();
        let (page, cookie) = log_in(
            &app,
            default,
            partner,
            &auth,
            "openid orders:read",
            "user1",
            "password1",
        )
        .await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("action=\"/oauth2/default/v1/authorize/consent\""),
            "the consent form posts to the server's endpoint"
        );
        let mut form = hidden_inputs(&html);
        form.push(("decision".into(), "allow".into()));
        let answer = app.post_form(path, &cookie, &form).await;
        if answered_at_root {
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
            continue;
        }
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let params = redirect_params(&answer);
        assert_eq!(
            param(&params, "iss"),
            Some(app.url("/oauth2/default").as_str())
        );
        let code = param(&params, "code").unwrap();
        let redeemed = post_token(
            &app,
            default,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", partner),
                ("redirect_uri", &auth.redirect_uri),
                ("code_verifier", auth.verifier.as_str()),
            ],
        )
        .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        let tokens: Value = redeemed.json().await.unwrap();
        assert_eq!(
            jwt_part(tokens["access_token"].as_str().unwrap(), 1)["iss"],
            app.url("/oauth2/default")
        );
    }
    // Remembered at that server: the next login there goes straight back with a code...
    let auth = app.new_authorization();
    let scope = "openid orders:read";
    let (again, _) = log_in(&app, default, partner, &auth, scope, "user1", "password1").await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    // ...but the root issuer (another audience, other claims) asks for itself.
    let auth = app.new_authorization();
    let (root, _) = log_in(&app, None, partner, &auth, scope, "user1", "password1").await;
    assert_eq!(root.status(), StatusCode::OK, "the consent screen");
    let html = root.text().await.unwrap();
    assert!(html.contains("action=\"/authorize/consent\""));
    // The server deleted and created again under its id is another server: it asks again.
    let admin = app.admin_token().await;
    let deleted = app
        .admin(Method::DELETE, "/admin/servers/default", &admin, None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = app
        .admin(
            Method::POST,
            "/admin/servers",
            &admin,
            Some(json!({"id": "default", "name": "default", "audience": "api://default"})),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    crate::helpers::offer_shop_scopes(&app, &admin, "default").await;
    let auth = app.new_authorization();
    let (asked, _) = log_in(&app, default, partner, &auth, scope, "user1", "password1").await;
    assert_eq!(asked.status(), StatusCode::OK, "the consent screen again");
}

/// Claims from the user: a server's custom claims carry the logged-in user's attributes into
/// the tokens they name (access, ID, both), are left out of a client's own tokens, and the
/// preview shows a login's access and ID tokens, the refresh token and the deciding rule, or
/// the refusal the login would meet.
#[tokio::test]
async fn claims_from_the_user_and_the_preview_of_a_login() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/claims",
        json!({"claims": [
            {"name": "login", "user_attribute": "username", "token": "both"},
            {"name": "https://example.com/mail", "user_attribute": "email", "token": "id"},
            {"name": "staff_role", "user_attribute": "role", "scopes": "orders:read"},
            {"name": "tier", "value": "gold"}
        ]}),
    )
    .await;
    let listed = app
        .admin(Method::GET, "/admin/servers/default/claims", &admin, None)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["claims"][0]["token"], "both");
    assert_eq!(listed["claims"][1]["user_attribute"], "email");
    assert!(
        listed["claims"][3].get("token").is_none(),
        "access is the default"
    );

    let auth = app.new_authorization();
    let default = Some("default");
    let code = code_at(&app, default, &auth, SCOPE, ("user1", "password1")).await;
    let tokens: Value = redeem_at(&app, default, &code, &auth)
        .await
        .json()
        .await
        .unwrap();
    let access = jwt_part(tokens["access_token"].as_str().unwrap(), 1);
    assert_eq!(access["login"], "user1");
    assert_eq!(access["staff_role"], "user");
    assert_eq!(access["tier"], "gold");
    assert!(access.get("https://example.com/mail").is_none());
    let id = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["login"], "user1");
    assert_eq!(id["https://example.com/mail"], "user1@example.com");
    assert!(id.get("tier").is_none() && id.get("staff_role").is_none());
    // A refresh carries the access token's claims again.
    let refreshed: Value = refresh_at(&app, default, tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwt_part(refreshed["access_token"].as_str().unwrap(), 1)["login"],
        "user1"
    );
    // A client acting for itself has no user: only the constant.
    let service = app
        .http
        .post(app.url("/oauth2/default/v1/token"))
        .basic_auth("demo-service", Some("demo-service-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let own = jwt_part(service["access_token"].as_str().unwrap(), 1);
    assert_eq!(own["tier"], "gold");
    assert!(own.get("login").is_none() && own.get("staff_role").is_none());

    // The preview of the same login: the same claims, nothing issued.
    let codes = app.code_count().await;
    let preview = |body: Value| app.admin(Method::POST, "/admin/preview", &admin, Some(body));
    let shown: Value = preview(json!({"server": "default", "client_id": SPA,
        "grant_type": "authorization_code", "username": "user1", "scope": SCOPE}))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shown["claims"]["sub"], app.user("user1").await.id);
    assert_eq!(shown["custom_claims"]["login"], "user1");
    assert_eq!(
        shown["id_token"]["https://example.com/mail"],
        "user1@example.com"
    );
    assert_eq!(shown["id_token"]["aud"], SPA);
    assert!(shown["refresh_token_expires_in"].as_u64().unwrap() > 0);
    assert_eq!(shown["rule"], "Default Policy Rule");
    assert_eq!(app.code_count().await, codes);
    // The root issuer's logins are previewed too (no policy, no custom claims).
    let root: Value = preview(json!({"client_id": SPA, "grant_type": "authorization_code",
        "username": "admin", "scope": "openid admin"}))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(root["claims"]["scope"], "admin openid");
    assert!(root.get("policy").is_none() && root.get("custom_claims").is_none());
    // A policy that admits administrators only: the login's refusal, with the rule.
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/policies",
        json!({"policies": [{"name": "Staff", "rules": [
            {"name": "Not users", "grant_types": ["authorization_code"], "roles": ["user"],
             "decision": "deny"},
            {"name": "Admins", "grant_types": ["authorization_code"], "roles": ["admin"]}]}]}),
    )
    .await;
    let denied: Value = preview(json!({"server": "default", "client_id": SPA,
        "grant_type": "authorization_code", "username": "user1", "scope": "openid"}))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(denied["error"]["error"], "access_denied");
    assert_eq!(
        (&denied["policy"], &denied["rule"]),
        (&json!("Staff"), &json!("Not users"))
    );
    // The same words as the login itself.
    let auth = app.new_authorization();
    let (answer, _) = log_in(&app, default, SPA, &auth, "openid", "user1", "password1").await;
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(
        param(&params, "error_description"),
        denied["error"]["error_description"].as_str()
    );
    // Explained in the event log as at the token endpoint: the rule, against what would allow.
    let id = answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let admin = app.admin_token().await;
    let why = refusal_explanation(&app, &admin, &id).await;
    assert_eq!(why.check.as_deref(), Some("policy"));
    assert_eq!(
        why.got.as_deref(),
        Some("policy \"Staff\", rule \"Not users\" denies it")
    );
    // What cannot be previewed.
    for (body, says) in [
        (
            json!({"client_id": SPA, "grant_type": "authorization_code", "scope": "openid"}),
            "give username",
        ),
        (
            json!({"client_id": SPA, "grant_type": "authorization_code", "username": "nobody"}),
            "there is no user \"nobody\"",
        ),
        (
            json!({"client_id": "demo-service", "grant_type": "client_credentials", "username": "user1"}),
            "username goes with a grant that logs a user in",
        ),
        (
            json!({"client_id": SPA, "grant_type": "refresh_token"}),
            "needs a refresh token",
        ),
    ] {
        let (status, error, description) = oauth_error(preview(body.clone()).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_preview"),
            "{body}"
        );
        assert!(description.contains(says), "{body}: {description}");
    }
}

/// `backend users create` for user ada, with `more` flags; it must succeed.
async fn create_ada(app: &TestApp, more: &[&str]) {
    let mut args = vec![
        "users",
        "create",
        "--username",
        "ada",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
    ];
    args.extend_from_slice(more);
    let out = app.cli(&args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Groups: a rule for a group admits its members only (the refusal says which groups the user
/// is in), a claim carries them, a change of groups decides the next refresh, and the admin API
/// and the command line keep them well formed.
#[tokio::test]
async fn groups_decide_logins_and_travel_in_claims() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let default = Some("default");
    let eu_only = json!({"policies": [{"name": "Offices", "clients": [SPA], "rules": [
        {"name": "EU office", "grant_types": ["authorization_code"], "groups": ["eu", "emea"]}]}]});
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/policies",
        eu_only.clone(),
    )
    .await;
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/claims",
        json!({"claims": [{"name": "teams", "user_attribute": "groups", "token": "both"}]}),
    )
    .await;

    // user0 is in no group: refused at the login, saying so.
    let auth = app.new_authorization();
    let (answer, _) = log_in(&app, default, SPA, &auth, SCOPE, "user0", "password0").await;
    let params = redirect_params(&answer);
    assert_eq!(param(&params, "error"), Some("unauthorized_client"));
    let description = param(&params, "error_description").unwrap();
    assert!(
        description.contains("a user with role user, in no group"),
        "{description}"
    );
    // user1 is in the demo's `eu` group: admitted, and the claim carries the groups.
    let tokens = logged_in_at(&app, default, ("user1", "password1")).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(jwt_part(access, 1)["teams"], json!(["eu"]));
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(jwt_part(id_token, 1)["teams"], json!(["eu"]));
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Taken out of the group: the next refresh is refused (and spends nothing).
    let user1 = app.user("user1").await;
    let path = format!("/admin/users/{}", user1.id);
    let changed = app
        .admin(Method::PATCH, &path, &admin, Some(json!({"groups": []})))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.json::<Value>().await.unwrap()["groups"], json!([]));
    let (_, error, description) = oauth_error(refresh_at(&app, default, &refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("in no group"), "{description}");
    // Back in (another of the rule's groups, and one more, stored sorted): it refreshes.
    let changed = app
        .admin(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({"groups": ["staff", "emea"]})),
        )
        .await;
    assert_eq!(
        changed.json::<Value>().await.unwrap()["groups"],
        json!(["emea", "staff"])
    );
    let rotated = refresh_at(&app, default, &refresh).await;
    assert_eq!(
        rotated.status(),
        StatusCode::OK,
        "the refusal spent nothing"
    );
    let rotated: Value = rotated.json().await.unwrap();
    assert_eq!(
        jwt_part(rotated["access_token"].as_str().unwrap(), 1)["teams"],
        json!(["emea", "staff"])
    );

    // Bad groups are refused with what to fix, and change nothing.
    let before = crate::helpers::storage_fingerprint(&app).await;
    for (groups, says) in [
        (json!(["two words"]), "a group's name is 1 to 32 letters"),
        (json!([""]), "a group's name is 1 to 32 letters"),
        (json!(["x".repeat(33)]), "a group's name is 1 to 32 letters"),
        (json!(["eu", "eu"]), "group \"eu\" is listed twice"),
        (
            json!((0..11).map(|i| format!("g{i}")).collect::<Vec<_>>()),
            "at most 10 groups",
        ),
    ] {
        let refused = app
            .admin(
                Method::PATCH,
                &path,
                &admin,
                Some(json!({ "groups": groups })),
            )
            .await;
        let (status, error, description) = oauth_error(refused).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_user"),
            "{groups}"
        );
        assert!(description.contains(says), "{groups}: {description}");
    }
    let refused = app
        .admin(Method::PATCH, &path, &admin, Some(json!({"groups": "eu"})))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    for (rule, says) in [
        (
            json!({"name": "R", "grant_types": ["client_credentials"], "groups": ["eu"]}),
            "requires a user's role or group but matches only client_credentials",
        ),
        (json!({"name": "R", "groups": ["e u"]}), "a group's name is"),
        (
            json!({"name": "R", "groups": ["eu", "eu"]}),
            "group \"eu\" is listed twice",
        ),
    ] {
        let refused = app
            .admin(
                Method::PUT,
                "/admin/servers/default/policies",
                &admin,
                Some(json!({"policies": [{"name": "P", "rules": [rule]}]})),
            )
            .await;
        let (status, _, description) = oauth_error(refused).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{description}");
        assert!(description.contains(says), "{description}");
    }
    assert_eq!(crate::helpers::storage_fingerprint(&app).await, before);

    // The command line: a user made in groups, moved, and taken out of all.
    create_ada(&app, &["--group", "finance", "--group", "eu"]).await;
    assert_eq!(
        app.user("ada").await.groups,
        backend::storage::Spaced(vec!["eu".into(), "finance".into()])
    );
    let out = app
        .cli(&["users", "update", "ada", "--group", "staff"])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ada: role user, groups [staff], attributes [], enabled\n"
    );
    let out = app.cli(&["users", "update", "ada", "--no-groups"]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ada: role user, groups [], attributes [], enabled\n"
    );
    let out = app.cli(&["users", "update", "ada", "--group", "a b"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("a group's name is"));
}

/// Custom attributes: a claim carries one to the users who have it (and is left out for the
/// others), a change shows in the next refresh, and the admin API and the command line keep
/// them well formed, changing nothing when they refuse.
#[tokio::test]
async fn custom_attributes_travel_in_claims() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let default = Some("default");
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/claims",
        json!({"claims": [{"name": "dept", "custom_attribute": "department", "token": "both"}]}),
    )
    .await;
    let listed = app
        .admin(Method::GET, "/admin/servers/default/claims", &admin, None)
        .await;
    assert_eq!(
        listed.json::<Value>().await.unwrap()["claims"][0],
        json!({"name": "dept", "custom_attribute": "department", "token": "both"})
    );

    // The demo's user1 works in sales; user0 has no custom attribute: no claim at all.
    let tokens = logged_in_at(&app, default, ("user1", "password1")).await;
    for token in ["access_token", "id_token"] {
        assert_eq!(
            jwt_part(tokens[token].as_str().unwrap(), 1)["dept"],
            json!("sales")
        );
    }
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let theirs = logged_in_at(&app, default, ("user0", "password0")).await;
    let claims = jwt_part(theirs["access_token"].as_str().unwrap(), 1);
    assert!(claims.get("dept").is_none(), "{claims}");

    // Changed (stored and answered as sent): the next refresh carries the new value.
    let user1 = app.user("user1").await;
    let path = format!("/admin/users/{}", user1.id);
    let attributes = json!({"department": "R&D \"Zürich\"", "cost_center": "4711"});
    let changed = app
        .admin(
            Method::PATCH,
            &path,
            &admin,
            Some(json!({ "attributes": attributes })),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(
        changed.json::<Value>().await.unwrap()["attributes"],
        attributes
    );
    let rotated: Value = refresh_at(&app, default, &refresh)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jwt_part(rotated["access_token"].as_str().unwrap(), 1)["dept"],
        json!("R&D \"Zürich\"")
    );
    let events = app.events("user_updated", 1).await;
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("attributes [cost_center department]")),
        "{events:?}"
    );
    assert!(
        events.iter().all(|e| !e.detail.contains("4711")),
        "names, never values, in the log: {events:?}"
    );

    // Bad attributes are refused with what to fix, and change nothing.
    let before = crate::helpers::storage_fingerprint(&app).await;
    let eleven: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("a{i}"), json!("x"))).collect();
    for (attributes, says) in [
        (
            json!({"two words": "x"}),
            "a custom attribute's name is a letter",
        ),
        (json!({"": "x"}), "a custom attribute's name is a letter"),
        (json!({"1st": "x"}), "a custom attribute's name is a letter"),
        (json!({ "x".repeat(33): "x" }), "32 characters at most"),
        (
            json!({"Email": "x"}),
            "is the attribute email every user has",
        ),
        (json!({"tier": ""}), "a value is 1 to 100 characters"),
        (
            json!({"tier": " gold"}),
            "without control characters or spaces",
        ),
        (json!({"tier": "a\u{7}b"}), "without control characters"),
        (
            json!({"tier": "é".repeat(101)}),
            "a value is 1 to 100 characters",
        ),
        (
            json!({"Tier": "1", "tier": "2"}),
            "differ only in letter case",
        ),
        (Value::Object(eleven), "at most 10 custom attributes"),
    ] {
        for (method, path, body) in [
            (
                Method::PATCH,
                path.as_str(),
                json!({ "attributes": attributes }),
            ),
            (
                Method::POST,
                "/admin/users",
                json!({"username": "eve", "name": "Eve", "email": "eve@example.com",
                    "password": "correct horse battery", "attributes": attributes}),
            ),
        ] {
            let refused = app.admin(method, path, &admin, Some(body)).await;
            let (status, error, description) = oauth_error(refused).await;
            assert_eq!(
                (status, error.as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_user"),
                "{attributes}: {description}"
            );
            assert!(description.contains(says), "{attributes}: {description}");
        }
    }
    // Not an object of strings, or a name given twice (which one JSON reader takes as the
    // first and another as the last: refused in every admin body).
    for raw in [
        r#"{"attributes": {"tier": 1}}"#,
        r#"{"attributes": ["tier"]}"#,
        r#"{"attributes": {"tier": "gold", "tier": "silver"}}"#,
        r#"{"name": "Eve", "name": "Mallory"}"#,
    ] {
        let refused = app
            .http
            .patch(app.url(&path))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let (status, _, description) = oauth_error(refused).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {description}");
        if raw.contains("silver") || raw.contains("Mallory") {
            assert!(
                description.contains("names \"tier\" twice")
                    || description.contains("names \"name\" twice"),
                "{description}"
            );
        }
    }
    assert_eq!(crate::helpers::storage_fingerprint(&app).await, before);

    // The command line: given, replaced, removed; a bad one refused.
    create_ada(&app, &["--attr", "department=engineering"]).await;
    assert_eq!(
        app.user("ada").await.attributes.0,
        [("department".to_owned(), "engineering".to_owned())].into()
    );
    let out = app
        .cli(&[
            "users", "update", "ada", "--attr", "tier=a=b", "--attr", "x=1",
        ])
        .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ada: role user, groups [], attributes [tier=a=b x=1], enabled\n"
    );
    let out = app.cli(&["users", "update", "ada", "--no-attrs"]).await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ada: role user, groups [], attributes [], enabled\n"
    );
    for (bad, says) in [
        (&["--attr", "tier"][..], "is not NAME=VALUE"),
        (&["--attr", "role=x"], "every user has"),
        (
            &["--attr", "tier=1", "--attr", "Tier=2"],
            "--attr Tier is given twice",
        ),
    ] {
        let out = app
            .cli(&[&["users", "update", "ada"][..], bad].concat())
            .await;
        assert!(!out.status.success(), "{bad:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// A scope the server stops offering after a login is not granted again at a refresh: refused
/// (and nothing spent) unless the refresh asks for a scope without it.
#[tokio::test]
async fn a_refresh_gets_only_what_the_server_still_offers() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let default = Some("default");
    let tokens = logged_in_at(&app, default, ("user0", "password0")).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // The demo's default offers the shop's scopes; orders:read goes.
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/scopes",
        json!({"scopes": [
            {"name": "products:read", "description": "Read the catalogue"},
            {"name": "orders:write", "description": "Place orders"}]}),
    )
    .await;
    let before = crate::helpers::storage_fingerprint(&app).await;
    let (status, error, description) = oauth_error(refresh_at(&app, default, &refresh).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(
        description.contains("\"default\" does not offer orders:read")
            && description.contains("ask for a scope without it"),
        "{description}"
    );
    // Named in the request: the request's error.
    let named = post_token(
        &app,
        default,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", &refresh),
            ("scope", "openid orders:read"),
        ],
    )
    .await;
    let (_, error, _) = oauth_error(named).await;
    assert_eq!(error, "invalid_scope");
    assert_eq!(
        crate::helpers::storage_fingerprint(&app).await,
        before,
        "nothing spent"
    );
    // A narrower scope without it is granted.
    let narrowed = post_token(
        &app,
        default,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", SPA),
            ("refresh_token", &refresh),
            ("scope", "openid offline_access"),
        ],
    )
    .await;
    assert_eq!(narrowed.status(), StatusCode::OK);
    let narrowed: Value = narrowed.json().await.unwrap();
    assert_eq!(narrowed["scope"], "offline_access openid");
    // The refresh token it replaced, presented again, still ends the whole login.
    let (_, error, description) = oauth_error(refresh_at(&app, default, &refresh).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(description.contains("already used"), "{description}");
    let next = narrowed["refresh_token"].as_str().unwrap();
    let (_, error, _) = oauth_error(refresh_at(&app, default, next).await).await;
    assert_eq!(error, "invalid_grant", "revoked with its family");

    // A code whose scope the server stopped offering between the login and the redemption.
    let auth = app.new_authorization();
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/scopes",
        json!({"scopes": [{"name": "orders:read", "description": "Read orders"}]}),
    )
    .await;
    let code = code_at(&app, default, &auth, SCOPE, ("user0", "password0")).await;
    admin_put(
        &app,
        &admin,
        "/admin/servers/default/scopes",
        json!({"scopes": []}),
    )
    .await;
    let (_, error, description) = oauth_error(redeem_at(&app, default, &code, &auth).await).await;
    assert_eq!(error, "invalid_grant");
    assert!(
        description.contains("does not offer orders:read"),
        "{description}"
    );
}
