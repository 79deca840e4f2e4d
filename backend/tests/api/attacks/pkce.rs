//! PKCE (RFC 7636) and its downgrades (RFC 9700 §2.1.1, §4.8): S256 only, on both ends.

use reqwest::StatusCode;
use shared::pkce::CodeVerifier;

use super::assert_oauth_refusal;
use crate::helpers::*;

/// `query` with `name` set to `value`.
fn set(query: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut q: Vec<_> = query.iter().filter(|(k, _)| k != name).cloned().collect();
    q.push((name.to_owned(), value.to_owned()));
    q
}

#[tokio::test]
async fn authorization_requests_must_carry_an_s256_challenge() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let query = app.authorize_query(&auth, "products:read");
    let challenge = auth.verifier.challenge().as_str().to_owned();
    // The last character of a 43-character base64url SHA-256 holds 2 spare bits (RFC 4648
    // §3.5): a challenge with them set decodes to nothing canonical.
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = alphabet.find(challenge.chars().last().unwrap()).unwrap();
    let loose = format!("{}{}", &challenge[..42], &alphabet[(last | 1)..=(last | 1)]);
    assert_ne!(loose, challenge);
    let method = "code_challenge_method";
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "method s256 (case) [RFC 7636 §4.3]",
            method,
            "s256".into(),
            "not supported; use S256",
        ),
        (
            "method with a space [RFC 7636 §4.3]",
            method,
            "S256 ".into(),
            "not supported; use S256",
        ),
        (
            "method SHA256 [RFC 7636 §4.3]",
            method,
            "SHA256".into(),
            "not supported; use S256",
        ),
        (
            "method S512 [RFC 7636 §4.3]",
            method,
            "S512".into(),
            "not supported; use S256",
        ),
        (
            "method empty, i.e. plain [RFC 7636 §4.3, RFC 9700 §2.1.1]",
            method,
            String::new(),
            "required and must be S256",
        ),
        (
            "challenge empty [RFC 9700 §2.1.1]",
            "code_challenge",
            String::new(),
            "code_challenge is required",
        ),
        (
            "challenge 42 characters [RFC 7636 §4.2]",
            "code_challenge",
            challenge[..42].to_owned(),
            "43-character",
        ),
        (
            "challenge 44 characters [RFC 7636 §4.2]",
            "code_challenge",
            format!("{challenge}A"),
            "43-character",
        ),
        (
            "challenge with base64 padding [RFC 7636 §4.2]",
            "code_challenge",
            format!("{challenge}="),
            "43-character",
        ),
        (
            "challenge in the standard base64 alphabet [RFC 7636 §4.2]",
            "code_challenge",
            format!("+/{}", &challenge[2..]),
            "43-character",
        ),
        (
            "challenge with non-zero spare bits [RFC 4648 §3.5]",
            "code_challenge",
            loose,
            "43-character",
        ),
        (
            "the verifier itself as the challenge, 64 characters (plain) [RFC 9700 §4.8]",
            "code_challenge",
            "v".repeat(64),
            "43-character",
        ),
    ];
    let before = storage_fingerprint(&app).await;
    for (case, name, value, why) in cases {
        let r = app.get_authorize(&set(&query, name, &value)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{case}");
        assert!(
            location(&r).starts_with(&format!("{}?", app.redirect_uri())),
            "{case}"
        );
        let params = redirect_params(&r);
        assert_eq!(param(&params, "error"), Some("invalid_request"), "{case}");
        let description = param(&params, "error_description").unwrap();
        assert!(description.contains(why), "{case}: {description}");
        assert_eq!(param(&params, "state"), Some(auth.state.as_str()), "{case}");
        assert_eq!(
            param(&params, "iss"),
            Some(app.api.as_str()),
            "{case} [RFC 9207]"
        );
        assert!(param(&params, "code").is_none(), "{case}");
    }
    // Sent twice, the challenge cannot be trusted to go anywhere: an error page, no redirect.
    let mut twice = query.clone();
    twice.push(("code_challenge".into(), challenge.clone()));
    let r = app.get_authorize(&twice).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "challenge twice [RFC 6749 §3.1]"
    );
    assert!(r.headers().get("location").is_none());
    assert!(r.text().await.unwrap().contains("more than once"));
    assert_eq!(storage_fingerprint(&app).await, before);
}

#[tokio::test]
async fn token_requests_with_bad_verifiers() {
    let app = spawn_app().await;
    let auth = app.new_authorization();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    let good = auth.verifier.as_str().to_owned();
    let cases: Vec<(&str, String, &str)> = vec![
        ("42 characters [RFC 7636 §4.1]", "v".repeat(42), "43 to 128"),
        (
            "129 characters [RFC 7636 §4.1]",
            "v".repeat(129),
            "43 to 128",
        ),
        (
            "a space [RFC 7636 §4.1]",
            format!("{} ", &good[..42]),
            "may only contain",
        ),
        (
            "a '+' [RFC 7636 §4.1]",
            format!("{}+", &good[..42]),
            "may only contain",
        ),
        (
            "a '/' [RFC 7636 §4.1]",
            format!("{}/", &good[..42]),
            "may only contain",
        ),
        (
            "a '=' [RFC 7636 §4.1]",
            format!("{}=", &good[..42]),
            "may only contain",
        ),
        (
            "a '%' [RFC 7636 §4.1]",
            format!("{}%", &good[..42]),
            "may only contain",
        ),
        (
            "a NUL [RFC 7636 §4.1; RFC 6749 Appendix A]",
            format!("{}\0", &good[..42]),
            "NUL character",
        ),
        (
            "a non-ASCII letter [RFC 7636 §4.1]",
            format!("{}é", &good[..41]),
            "may only contain",
        ),
    ];
    let before = storage_fingerprint(&app).await;
    for (case, verifier, why) in cases {
        let r = app
            .http
            .post(app.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", SPA),
                ("redirect_uri", &auth.redirect_uri),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        assert_oauth_refusal(case, r, StatusCode::BAD_REQUEST, "invalid_request", why).await;
    }
    // None of those spent the code.
    assert_eq!(storage_fingerprint(&app).await, before);

    // The challenge sent back as the verifier: what a `plain` downgrade would accept. It is
    // well-formed, so it is the one try the code gets (RFC 6749 §4.1.2).
    let downgrade = Authorization {
        verifier: CodeVerifier::parse(auth.verifier.challenge().as_str()).unwrap(),
        redirect_uri: auth.redirect_uri.clone(),
        state: auth.state.clone(),
    };
    assert_oauth_refusal(
        "the challenge as the verifier (plain) [RFC 9700 §4.8, RFC 7636 §4.6]",
        app.redeem(&code, &downgrade).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "does not match the code_challenge",
    )
    .await;
    assert_oauth_refusal(
        "the right verifier after a wrong one [RFC 6749 §4.1.2]",
        app.redeem(&code, &auth).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "already used",
    )
    .await;
}

/// The control for the length limits: the longest verifier RFC 7636 §4.1 allows works.
#[tokio::test]
async fn a_128_character_verifier_works() {
    let app = spawn_app().await;
    let mut auth = app.new_authorization();
    auth.verifier = CodeVerifier::parse(&"A-._~z9".repeat(19)[..128]).unwrap();
    let code = app
        .authorization_code(&auth, "products:read", "user0", "password0")
        .await;
    assert_eq!(app.redeem(&code, &auth).await.status(), StatusCode::OK);
}
