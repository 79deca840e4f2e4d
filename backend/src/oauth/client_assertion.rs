//! `private_key_jwt` client authentication: a JWT the client signs with its own key (RFC 7523
//! §2.2 and §3, OpenID Connect Core §9), sent as `client_assertion` with
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` (RFC 7521
//! §4.2) instead of a secret. Nothing secret is stored for such a client: only its public keys.
//!
//! The audience follows draft-ietf-oauth-rfc7523bis (which updates RFC 7523 and RFC 9126): the
//! issuer identifier of the authorization server whose endpoint is called, as a single string,
//! and nothing else. A token endpoint URL is refused, which closes the audience-injection attack
//! the draft describes (an assertion made for one server replayed at another).

use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value};

use super::error::OAuthError;
use crate::access_token::LEEWAY_SECS;
use crate::clock::Timestamp;
use crate::crypto;
use crate::issuers::verify::{clip, key_for};
use crate::refusals::Why;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::Client;

/// RFC 7523 §2.2: the one `client_assertion_type` this server takes.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The algorithms an assertion may be signed with: asymmetric ones only (RFC 8725 §3.1; a
/// `client_secret_jwt` HMAC would need the secret, which this server keeps only as a hash).
pub const SIGNING_ALGS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// An assertion longer than this is no client assertion (a few hundred bytes is usual).
pub const MAX_ASSERTION_LEN: usize = 4096;
/// An assertion valid for longer than this is refused: it would have to be remembered as long
/// (RFC 7523 §3 item 4 lets the server bound `exp`).
pub const MAX_LIFETIME_SECS: i64 = 600;
const MAX_JTI_LEN: usize = 256;

/// The names of [`SIGNING_ALGS`], for the metadata.
pub fn signing_alg_names() -> Vec<String> {
    SIGNING_ALGS.iter().map(|a| format!("{a:?}")).collect()
}

fn refused(description: impl Into<String>) -> OAuthError {
    OAuthError::invalid_client(description)
}

/// The client an assertion says it is from (`iss`, which must equal `sub`: RFC 7523 §3 items 1
/// and 2), read before anything is verified, to find its keys. Nothing read here is trusted
/// until [`verify`] has checked the signature.
pub fn claimed_client(assertion: &str) -> Result<String, OAuthError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(refused(format!(
            "client_assertion is longer than {MAX_ASSERTION_LEN} bytes"
        )));
    }
    let claims = unverified_claims(assertion)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    match (text("iss"), text("sub")) {
        (Some(iss), Some(sub)) if iss == sub && !iss.is_empty() => Ok(iss.to_owned()),
        (Some(_), Some(_)) => Err(refused(
            "the client assertion's iss and sub differ: both must be the client_id (RFC 7523 §3)",
        )),
        _ => Err(refused(
            "the client assertion has no iss or no sub: both must be the client_id (RFC 7523 §3)",
        )),
    }
}

fn unverified_claims(assertion: &str) -> Result<Map<String, Value>, OAuthError> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let malformed = || {
        refused("client_assertion is not a signed JWT (three base64url parts separated by dots)")
    };
    let mut parts = assertion.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

/// Verifies `assertion` as `client`'s authentication at `server`'s endpoints at `now`: its
/// header, its signature with one of the client's keys, its claims, and that its `jti` was never
/// accepted before (at any instance). The `jti` is recorded only once everything else holds,
/// so a forged assertion cannot use up a client's `jti`.
pub async fn verify(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    assertion: &str,
    now: Timestamp,
) -> Result<(), OAuthError> {
    let Some(registered) = &client.keys else {
        return Err(refused(format!(
            "client {:?} is not registered for private_key_jwt (it has no public keys); \
             authenticate as it was registered",
            client.id
        )));
    };
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| refused("the client assertion's header is malformed"))?;
    check_header(&header)?;
    let keys = state
        .client_keys
        .keys(registered, header.kid.as_deref(), now)
        .await
        .map_err(|e| {
            // The client's key server failing is not the client failing to authenticate: not
            // counted against it, and its URL and the network's answer stay in the log.
            tracing::warn!(client = %client.id, error = %e, "reading a client's keys failed");
            OAuthError::new(
                shared::oauth::ErrorCode::TemporarilyUnavailable,
                format!(
                    "the keys of client {:?} could not be read from its jwks_uri; try again \
                     later (the server's log says why)",
                    client.id
                ),
            )
        })?;
    let key = key_for(&keys, &header).ok_or_else(|| {
        let named = match &header.kid {
            Some(kid) => format!("kid {:?}", clip(kid)),
            None => "no kid (and not exactly one key fits)".to_owned(),
        };
        refused(format!(
            "no registered key of client {:?} verifies a {:?} assertion with {named}",
            client.id, header.alg
        ))
        .because(
            Why::check("client_assertion")
                .expected(format!("a JWT signed with a key of client {}'s JWK Set", client.id))
                .got(format!("{:?}, {named}", header.alg))
                .remedy("sign with a key the client registered (its jwks or jwks_uri), naming it in kid")
                .client(&client.id),
        )
    })?;
    let mut validation = Validation::new(header.alg);
    // Times, audience and subject are checked below, against this server's clock and issuer.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(assertion, &key.key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                refused("the client assertion's signature is invalid")
            }
            _ => refused("the client assertion is malformed"),
        })?
        .claims;
    let (jti, expires) = check_claims(&claims, &client.id, &server.issuer, now)?;
    let first = state
        .db
        .first_use_of_assertion(
            &client.id,
            &crypto::sha256_hex(jti),
            expires.plus_secs(LEEWAY_SECS),
        )
        .await?;
    if !first {
        return Err(refused(format!(
            "this client assertion (jti {:?}) was used before: make a new one, with a new jti, \
             for every request (RFC 7523 §3)",
            clip(jti)
        )));
    }
    Ok(())
}

/// RFC 8725 §3.1 and §3.11: one of [`SIGNING_ALGS`], no key of its own, nothing critical, and
/// a `typ` (if any) of a plain JWT or of a client assertion, not of another kind of token.
fn check_header(header: &Header) -> Result<(), OAuthError> {
    if !SIGNING_ALGS.contains(&header.alg) {
        return Err(refused(format!(
            "the client assertion is signed with {:?}; this server takes {}",
            header.alg,
            signing_alg_names().join(", ")
        )));
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(refused(
            "the client assertion names its own key (jwk/jku/x5u/x5c); only the client's \
             registered keys are trusted",
        ));
    }
    if header.crit.is_some() {
        return Err(refused(
            "the client assertion has critical header parameters this server does not understand",
        ));
    }
    if let Some(typ) = header.typ.as_deref() {
        let fits = ["JWT", "client-authentication+jwt"]
            .iter()
            .any(|t| typ.eq_ignore_ascii_case(t));
        if !fits {
            return Err(refused(format!(
                "the client assertion's typ is {:?}: it is another kind of token (use JWT or \
                 client-authentication+jwt)",
                clip(typ)
            )));
        }
    }
    Ok(())
}

/// RFC 7523 §3 with draft-ietf-oauth-rfc7523bis: `iss` and `sub` the client, `aud` exactly
/// `issuer` (a single string), `exp` in the future but not too far, `nbf` and `iat` not in
/// the future, a `jti`. Returns the `jti` and the expiry.
fn check_claims<'a>(
    claims: &'a Map<String, Value>,
    client_id: &str,
    issuer: &str,
    now: Timestamp,
) -> Result<(&'a str, Timestamp), OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| -> Result<Option<i64>, OAuthError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .or_else(|| value.as_f64().map(|n| n as i64))
                .map(Some)
                .ok_or_else(|| refused(format!("the client assertion's {name} is not a number"))),
        }
    };
    if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
        return Err(refused(format!(
            "the client assertion's iss and sub must both be the client_id {client_id:?}"
        )));
    }
    match claims.get("aud") {
        Some(Value::String(aud)) if aud == issuer => {}
        Some(Value::String(aud)) => {
            return Err(refused(format!(
                "the client assertion's aud is {:?}; it must be this authorization server's \
                 issuer identifier {issuer:?}, exactly (draft-ietf-oauth-rfc7523bis: not the \
                 token endpoint's URL)",
                clip(aud)
            )));
        }
        Some(Value::Array(_)) => {
            return Err(refused(format!(
                "the client assertion's aud is an array; it must be the single string {issuer:?} \
                 (draft-ietf-oauth-rfc7523bis)"
            )));
        }
        _ => {
            return Err(refused(format!(
                "the client assertion has no aud; it must be {issuer:?}"
            )));
        }
    }
    let Some(exp) = number("exp")? else {
        return Err(refused(
            "the client assertion has no exp (RFC 7523 §3 item 4)",
        ));
    };
    let now_secs = now.unix();
    if exp.saturating_add(LEEWAY_SECS) <= now_secs {
        return Err(refused(format!(
            "the client assertion expired {} seconds ago: make a new one for every request",
            now_secs.saturating_sub(exp)
        )));
    }
    if exp.saturating_sub(now_secs) > MAX_LIFETIME_SECS + LEEWAY_SECS {
        return Err(refused(format!(
            "the client assertion's exp is {} seconds away; this server takes assertions valid \
             for at most {MAX_LIFETIME_SECS} seconds",
            exp.saturating_sub(now_secs)
        )));
    }
    if let Some(nbf) = number("nbf")?
        && nbf > now_secs.saturating_add(LEEWAY_SECS)
    {
        return Err(refused("the client assertion is not valid yet (nbf)"));
    }
    if let Some(iat) = number("iat")?
        && iat > now_secs.saturating_add(LEEWAY_SECS)
    {
        return Err(refused(
            "the client assertion was issued in the future (iat): check the client's clock",
        ));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| refused("the client assertion has no jti (OpenID Connect Core §9)"))?;
    if jti.len() > MAX_JTI_LEN {
        return Err(refused(format!(
            "the client assertion's jti is longer than {MAX_JTI_LEN} characters"
        )));
    }
    Ok((jti, Timestamp::from_unix(exp)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "http://127.0.0.1:5000";

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn every_claim_is_checked_and_each_refusal_says_which() {
        let now = Timestamp::from_unix(1_700_000_000);
        let good = json!({"iss": "svc", "sub": "svc", "aud": ISSUER, "exp": 1_700_000_060,
                          "iat": 1_700_000_000, "jti": "j1"});
        let accepted = claims(good.clone());
        let (jti, exp) = check_claims(&accepted, "svc", ISSUER, now).unwrap();
        assert_eq!((jti, exp.unix()), ("j1", 1_700_000_060));
        let with = |name: &str, value: Value| {
            let mut c = claims(good.clone());
            c.insert(name.into(), value);
            c
        };
        let without = |name: &str| {
            let mut c = claims(good.clone());
            c.remove(name);
            c
        };
        for (bad, expected) in [
            (
                with("aud", json!(format!("{ISSUER}/token"))),
                "not the token endpoint",
            ),
            (with("aud", json!([ISSUER])), "array"),
            (without("aud"), "no aud"),
            (with("sub", json!("other")), "iss and sub"),
            (with("iss", json!("other")), "iss and sub"),
            (without("exp"), "no exp"),
            (with("exp", json!(1_699_999_900)), "expired"),
            (with("exp", json!(1_700_003_600)), "at most 600"),
            (with("exp", json!("soon")), "not a number"),
            (with("exp", json!(i64::MAX)), "at most 600"),
            (with("exp", json!(i64::MIN)), "expired"),
            (with("exp", json!(1e300)), "at most 600"),
            (with("nbf", json!(i64::MAX)), "nbf"),
            (with("nbf", json!(1_700_000_600)), "nbf"),
            (with("iat", json!(1_700_000_600)), "iat"),
            (without("jti"), "no jti"),
            (with("jti", json!("")), "no jti"),
            (with("jti", json!("j".repeat(300))), "longer"),
        ] {
            let error = check_claims(&bad, "svc", ISSUER, now).unwrap_err();
            assert_eq!(error.code, shared::oauth::ErrorCode::InvalidClient);
            assert!(
                error.description.contains(expected),
                "{expected}: {}",
                error.description
            );
        }
    }

    #[test]
    fn the_claimed_client_is_read_from_iss_and_sub() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let jwt = |claims: Value| {
            format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256"}"#),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            )
        };
        assert_eq!(
            claimed_client(&jwt(json!({"iss": "svc", "sub": "svc"}))).unwrap(),
            "svc"
        );
        for bad in [
            jwt(json!({"iss": "svc", "sub": "other"})),
            jwt(json!({"sub": "svc"})),
            jwt(json!({"iss": "", "sub": ""})),
            "not.a.jwt.at.all".to_owned(),
            "x".repeat(MAX_ASSERTION_LEN + 1),
        ] {
            assert!(claimed_client(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_asymmetric_algorithms_and_registered_keys_are_taken() {
        for alg in [Algorithm::HS256, Algorithm::HS512] {
            assert!(check_header(&Header::new(alg)).is_err());
        }
        let mut embedded = Header::new(Algorithm::ES256);
        embedded.jku = Some("https://attacker.example/jwks".into());
        assert!(check_header(&embedded).is_err());
        let mut access = Header::new(Algorithm::ES256);
        access.typ = Some("at+jwt".into());
        assert!(check_header(&access).is_err());
        let mut typed = Header::new(Algorithm::EdDSA);
        typed.typ = Some("client-authentication+jwt".into());
        assert!(check_header(&typed).is_ok());
    }
}
