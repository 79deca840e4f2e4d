//! The token endpoint's inputs (RFC 6749 §3.2, §4.1.3, §5.2), client authentication at every
//! endpoint that takes it (RFC 6749 §2.3: /token, /revoke, /introspect), and stolen codes
//! (RFC 6749 §4.1.2, RFC 9700 §4.5).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::Value;

use super::{assert_api_refusal, assert_oauth_refusal};
use crate::helpers::*;

const OFFLINE: &str = "openid offline_access products:read";

/// Generous rate limits: these tables fail client authentication on purpose, many times.
async fn unthrottled_app() -> TestApp {
    spawn_app_with(&[
        "--client-auth-failures-per-address",
        "1000/60",
        "--client-auth-failures-per-client",
        "1000/60",
        "--login-attempts-per-address",
        "1000/60",
    ])
    .await
}

/// (case, Authorization headers, what the body adds, status, error, description)
type AuthCase = (
    &'static str,
    Vec<String>,
    String,
    StatusCode,
    &'static str,
    &'static str,
);

fn basic(raw: &str) -> String {
    format!("Basic {}", STANDARD.encode(raw))
}

#[tokio::test]
async fn client_authentication_at_every_endpoint() {
    let app = unthrottled_app().await;
    let good = basic(&format!("{SERVICE}:{SERVICE_SECRET}"));
    let long_id = "c".repeat(300);
    let cases: Vec<AuthCase> = vec![
        (
            "Basic and client_secret in the body [RFC 6749 §2.3]",
            vec![good.clone()],
            format!("&client_secret={SERVICE_SECRET}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "authenticated twice",
        ),
        (
            "Basic and another client_id in the body [RFC 6749 §2.3]",
            vec![good.clone()],
            format!("&client_id={SPA}"),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "differs",
        ),
        (
            "two Authorization headers [RFC 6749 §2.3, RFC 9110 §5.3]",
            vec![good.clone(), good.clone()],
            String::new(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one Authorization header",
        ),
        (
            "a Bearer token instead of client credentials [RFC 6749 §2.3.1]",
            vec!["Bearer abc.def.ghi".into()],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "use Basic",
        ),
        (
            "Basic with an empty client id [RFC 6749 §2.3.1]",
            vec![basic(&format!(":{SERVICE_SECRET}"))],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed",
        ),
        (
            "Basic without a colon [RFC 7617 §2]",
            vec![basic(SERVICE)],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed",
        ),
        (
            "Basic not base64 [RFC 7617 §2]",
            vec!["Basic ***".into()],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "malformed",
        ),
        (
            "Basic with an empty secret [RFC 6749 §2.3.1]",
            vec![basic(&format!("{SERVICE}:"))],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "wrong client secret",
        ),
        (
            "a public client with Basic and an empty secret [RFC 6749 §2.1]",
            vec![basic(&format!("{SPA}:"))],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "public",
        ),
        (
            "the client id upper-cased [RFC 6749 §2.2]",
            vec![basic(&format!(
                "{}:{SERVICE_SECRET}",
                SERVICE.to_uppercase()
            ))],
            String::new(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        ),
        (
            "a 300-character client id [RFC 6749 §2.2]",
            vec![],
            format!("&client_id={long_id}&client_secret=x"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        ),
        (
            "client_secret without client_id [RFC 6749 §2.3.1]",
            vec![],
            format!("&client_secret={SERVICE_SECRET}"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "no client authentication",
        ),
    ];
    let service_token = app.service_token().await;
    let before = storage_fingerprint(&app).await;
    for endpoint in ["/token", "/revoke", "/introspect"] {
        let base = match endpoint {
            "/token" => "grant_type=client_credentials".to_owned(),
            _ => format!("token={service_token}"),
        };
        for (case, authorizations, extra, status, error, why) in &cases {
            let mut request = app
                .http
                .post(app.url(endpoint))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("{base}{extra}"));
            for value in authorizations {
                request = request.header("authorization", value);
            }
            let r = request.send().await.unwrap();
            assert_oauth_refusal(&format!("{endpoint}: {case}"), r, *status, error, why).await;
        }
    }
    assert_eq!(storage_fingerprint(&app).await, before);
    assert_eq!(app.introspect(&service_token).await["active"], true);
    // The control: Basic with the same client_id in the body is one method, not two.
    let r = app
        .http
        .post(app.url("/token"))
        .header("authorization", &good)
        .form(&[("grant_type", "client_credentials"), ("client_id", SERVICE)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_token_requests() {
    let app = unthrottled_app().await;
    let many: Vec<String> = (0..33).map(|i| format!("p{i}=1")).collect();
    let form = "application/x-www-form-urlencoded";
    // (case, content type, body, status, error, description)
    let cases: Vec<(&str, Option<&str>, String, &str, &str)> = vec![
        (
            "scope twice [RFC 6749 §3.2]",
            Some(form),
            "grant_type=client_credentials&scope=products:read&scope=products:read".into(),
            "invalid_request",
            "more than once",
        ),
        (
            "grant_type twice, the second empty [RFC 6749 §3.2]",
            Some(form),
            "grant_type=client_credentials&grant_type=".into(),
            "invalid_request",
            "more than once",
        ),
        (
            "33 parameters [RFC 6749 §3.2, a bound on work]",
            Some(form),
            format!("grant_type=client_credentials&{}", many.join("&")),
            "invalid_request",
            "too many parameters",
        ),
        (
            "text/plain [RFC 6749 §3.2]",
            Some("text/plain"),
            "grant_type=client_credentials".into(),
            "invalid_request",
            "x-www-form-urlencoded",
        ),
        (
            "multipart/form-data [RFC 6749 §3.2]",
            Some("multipart/form-data; boundary=x"),
            "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n".into(),
            "invalid_request",
            "x-www-form-urlencoded",
        ),
        (
            "no Content-Type [RFC 6749 §3.2]",
            None,
            "grant_type=client_credentials".into(),
            "invalid_request",
            "x-www-form-urlencoded",
        ),
        (
            "grant_type empty [RFC 6749 §3.1]",
            Some(form),
            "grant_type=".into(),
            "invalid_request",
            "missing grant_type",
        ),
        (
            "grant_type in another case [RFC 6749 §4.4.2]",
            Some(form),
            "grant_type=Client_Credentials".into(),
            "unsupported_grant_type",
            "not supported",
        ),
        (
            "grant_type with a trailing space [RFC 6749 §4.4.2]",
            Some(form),
            "grant_type=client_credentials+".into(),
            "unsupported_grant_type",
            "not supported",
        ),
        (
            "the implicit grant [RFC 9700 §2.1.2]",
            Some(form),
            "grant_type=implicit".into(),
            "unsupported_grant_type",
            "not supported",
        ),
        (
            "the password grant [RFC 9700 §2.4]",
            Some(form),
            "grant_type=password&username=user0&password=password0".into(),
            "unsupported_grant_type",
            "not supported",
        ),
        (
            "a JWT bearer assertion grant [RFC 7523 §2.1]",
            Some(form),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c"
                .into(),
            "unsupported_grant_type",
            "not supported",
        ),
        (
            "a scope that is not UTF-8 [RFC 6749 §3.3]",
            Some(form),
            "grant_type=client_credentials&scope=products%FFread".into(),
            "invalid_scope",
            "scope",
        ),
        (
            "a scope with a NUL [RFC 6749 Appendix A: no parameter holds one]",
            Some(form),
            "grant_type=client_credentials&scope=products:read%00".into(),
            "invalid_request",
            "NUL character",
        ),
        (
            "a scope with a backslash [RFC 6749 §3.3]",
            Some(form),
            "grant_type=client_credentials&scope=products%5Cread".into(),
            "invalid_scope",
            "scope",
        ),
    ];
    let before = storage_fingerprint(&app).await;
    for (case, content_type, body, error, why) in cases {
        let mut request = app
            .http
            .post(app.url("/token"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let r = request.send().await.unwrap();
        assert_oauth_refusal(case, r, StatusCode::BAD_REQUEST, error, why).await;
    }
    // RFC 6749 §3.2: parameters travel in the body; one sent in the query string is refused by
    // name, with what to change.
    let r = app
        .http
        .post(format!(
            "{}?grant_type=client_credentials",
            app.url("/token")
        ))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[("scope", "products:read")])
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "grant_type in the query string [RFC 6749 §3.2]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "grant_type was sent in the URL's query string",
    )
    .await;
    assert_eq!(storage_fingerprint(&app).await, before);
}

fn redemption(code: &str, auth: &Authorization) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("client_id", SPA.into()),
        ("redirect_uri", auth.redirect_uri.clone()),
        ("code_verifier", auth.verifier.as_str().into()),
    ]
}

fn encode(form: &[(&str, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

/// RFC 6749 §4.1.3: a malformed redemption is refused before the code is looked at, so it
/// neither spends the code nor tells anything about it.
#[tokio::test]
async fn malformed_redemptions_leave_the_code_alone() {
    let app = unthrottled_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let base = redemption(&code, &auth);
    let before = storage_fingerprint(&app).await;
    for name in ["code", "client_id", "redirect_uri", "code_verifier"] {
        let value = base.iter().find(|(k, _)| *k == name).unwrap().1.clone();
        for second in [value.clone(), String::new(), "other".into()] {
            let mut form = base.clone();
            form.push((name, second.clone()));
            let r = app
                .http
                .post(app.url("/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&form))
                .send()
                .await
                .unwrap();
            assert_oauth_refusal(
                &format!("{name} twice, then {second:?} [RFC 6749 §3.2]"),
                r,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "more than once",
            )
            .await;
        }
    }
    let mut empty_code = base.clone();
    empty_code[1].1 = String::new();
    let r = app
        .http
        .post(app.url("/token"))
        .form(&empty_code)
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "code empty [RFC 6749 §3.1: empty means omitted]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "missing code",
    )
    .await;
    // A client that may not use the grant at all is stopped before the code.
    let r = app
        .http
        .post(app.url("/token"))
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&base[..2])
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "a confidential client without the grant [RFC 6749 §5.2 unauthorized_client]",
        r,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        "not allowed",
    )
    .await;
    let mut unknown = base.clone();
    unknown[2].1 = "nobody".into();
    let r = app
        .http
        .post(app.url("/token"))
        .form(&unknown)
        .send()
        .await
        .unwrap();
    assert_oauth_refusal(
        "an unknown client [RFC 6749 §5.2 invalid_client]",
        r,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "unknown client_id",
    )
    .await;
    assert_eq!(storage_fingerprint(&app).await, before);
    assert_eq!(app.redeem(&code, &auth).await.status(), StatusCode::OK);
}

/// RFC 6749 §4.1.3 (a code is bound to its client), §4.1.2 (one use; a replay revokes what the
/// code produced), RFC 9700 §4.5 (code injection).
#[tokio::test]
async fn stolen_codes() {
    let app = unthrottled_app().await;
    app.add_other_spa(&["authorization_code", "refresh_token"], OFFLINE)
        .await;
    let thief = |code: &str, auth: &Authorization| {
        let mut form = redemption(code, auth);
        form[2].1 = "other-spa".into();
        app.http.post(app.url("/token")).form(&form).send()
    };

    // The thief comes first: refused, and the code is gone for the rightful client too (it was
    // presented once), so the thief cannot learn whether it was valid by waiting.
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, OFFLINE, "user0", "password0")
        .await;
    assert_oauth_refusal(
        "a code redeemed by another client [RFC 6749 §4.1.3]",
        thief(&code, &auth).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "another client",
    )
    .await;
    assert_oauth_refusal(
        "the rightful client after the theft attempt [RFC 6749 §4.1.2]",
        app.redeem(&code, &auth).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "already used",
    )
    .await;
    let grants = app.db.count("grants").await.unwrap();
    assert_eq!(grants, 0, "no tokens were issued from it");

    // The rightful client first, the thief second: the thief's replay revokes the login.
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, OFFLINE, "user0", "password0")
        .await;
    let tokens: Value = app.redeem(&code, &auth).await.json().await.unwrap();
    assert_oauth_refusal(
        "a redeemed code replayed by another client [RFC 6749 §4.1.2]",
        thief(&code, &auth).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "already used",
    )
    .await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_api_refusal(
        "the access token of the replayed code [RFC 6749 §4.1.2]",
        app.get_api("/api/products", Some(access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "revoked",
    )
    .await;
    assert_oauth_refusal(
        "the refresh token of the replayed code [RFC 6749 §4.1.2]",
        app.refresh(tokens["refresh_token"].as_str().unwrap(), None)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "revoked",
    )
    .await;
}
