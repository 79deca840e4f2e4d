//! The attack and bad-input bank, one file per surface. Every case names the rule it checks (an
//! RFC section or an OWASP cheat sheet), and asserts the exact status, error code and
//! `WWW-Authenticate` challenge, and that nothing stored changed.
//!
//! What other files already prove is not repeated here; SECURITY.md maps every rule to its test.

mod headers_and_limits;
mod jwt;
mod pkce;
mod redirect_uri;
mod sessions;
mod token_endpoint;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use reqwest::{Response, StatusCode};
use serde_json::Value;

use backend::storage::StoredKey;
use shared::admin::{KeyState, SigningAlg};

use crate::helpers::{DPOP_CHALLENGE, TestApp, oauth_error};

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A P-256 key that signs whatever bytes it is given: the server's own (so that only the
/// server's parsing and checking can refuse a token) or one an attacker made up.
pub struct EcKey {
    pub key: SigningKey,
    pub kid: String,
}

impl EcKey {
    /// The server's current ES256 signing key, read from its database.
    pub async fn current(app: &TestApp) -> Self {
        let current = stored_key(app, SigningAlg::Es256, KeyState::Current).await;
        Self {
            key: SigningKey::from_pkcs8_der(&current.private_der).unwrap(),
            kid: current.kid.clone(),
        }
    }

    pub fn attacker() -> Self {
        Self {
            key: SigningKey::from_slice(&backend::crypto::random_bytes::<32>()).unwrap(),
            kid: "attacker".into(),
        }
    }

    /// `base64url(header).base64url(payload).base64url(ES256 signature)`, for any bytes.
    pub fn sign_raw(&self, header: &[u8], payload: &[u8]) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", b64(&signature.to_bytes()))
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(header.to_string().as_bytes(), claims.to_string().as_bytes())
    }

    /// The public key as a JWK (RFC 7518 §6.2).
    pub fn jwk(&self) -> Value {
        let point = self.key.verifying_key().to_encoded_point(false);
        serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
        })
    }
}

/// The server's stored `alg` key in `state`.
pub async fn stored_key(app: &TestApp, alg: SigningAlg, state: KeyState) -> StoredKey {
    let keys = app.db.signing_keys("").await.unwrap();
    keys.into_iter()
        .find(|k| k.alg == alg && k.state == state)
        .unwrap_or_else(|| panic!("no {state} {alg} key"))
}

/// The server's current RS256 key (the one that signs ID tokens), which signs whatever bytes it
/// is given.
pub struct RsaKey {
    pub key: aws_lc_rs::rsa::KeyPair,
    pub kid: String,
}

impl RsaKey {
    pub async fn current(app: &TestApp) -> Self {
        let current = stored_key(app, SigningAlg::Rs256, KeyState::Current).await;
        Self {
            key: aws_lc_rs::rsa::KeyPair::from_pkcs8(&current.private_der).unwrap(),
            kid: current.kid,
        }
    }

    /// `base64url(header).base64url(payload).base64url(RS256 signature)`.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .unwrap();
        format!("{input}.{}", b64(&signature))
    }

    /// The public key as a SubjectPublicKeyInfo (DER): what the classic confusion attack uses
    /// as the HMAC secret.
    pub fn public_der(&self) -> Vec<u8> {
        use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
        use aws_lc_rs::signature::KeyPair;
        let der: PublicKeyX509Der<'_> = self.key.public_key().as_der().unwrap();
        der.as_ref().to_vec()
    }
}

/// `(status, the challenges, the body)` of a response, for the exact comparisons below.
/// The status, the `WWW-Authenticate` challenges and the body; the `resource_metadata`
/// parameter that ends a `Bearer` challenge is checked here (the resource's own metadata URL)
/// and taken off, so that the callers compare the RFC 6750 part.
async fn parts(response: Response) -> (StatusCode, Vec<String>, Value) {
    let status = response.status();
    let parameter = crate::helpers::resource_metadata(response.url());
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| {
            let challenge = v.to_str().unwrap();
            // RFC 9728 §5.1: the Bearer and DPoP challenges name the URL's metadata.
            match challenge
                .strip_prefix("Bearer ")
                .or_else(|| challenge.strip_prefix("DPoP "))
            {
                Some(_) => challenge
                    .strip_suffix(parameter.as_str())
                    .unwrap_or_else(|| panic!("{challenge:?} should end with {parameter:?}"))
                    .to_owned(),
                None => challenge.to_owned(),
            }
        })
        .collect();
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    (status, challenges, response.json().await.unwrap())
}

/// RFC 6750 §3: a refused credential at the API. The error is in the body and in the `Bearer`
/// challenge, with the same description (quoted as §3's grammar requires); a 401 also offers
/// the `Token` scheme, and nothing else.
pub async fn assert_api_refusal(
    case: &str,
    response: Response,
    status: StatusCode,
    error: &str,
    why: &str,
) {
    let (got, challenges, body) = parts(response).await;
    assert_eq!(got, status, "{case}: {body}");
    assert_eq!(body["error"], error, "{case}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(why),
        "{case}: {description:?} should say {why:?}"
    );
    let quoted: String = description
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if (' '..='~').contains(&c) => c,
            _ => '\'',
        })
        .collect();
    let mut expected = vec![format!(
        r#"Bearer realm="api", error="{error}", error_description="{quoted}""#
    )];
    if status == StatusCode::UNAUTHORIZED {
        expected.push(r#"Token realm="api""#.to_owned());
        expected.push(DPOP_CHALLENGE.to_owned());
    }
    assert_eq!(challenges, expected, "{case}");
}

/// RFC 6750 §3.1: a request without credentials gets the bare challenges and no error code.
pub async fn assert_no_credentials(case: &str, response: Response) {
    let (status, challenges, body) = parts(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(
        challenges,
        [
            r#"Bearer realm="api""#,
            r#"Token realm="api""#,
            DPOP_CHALLENGE
        ],
        "{case}"
    );
    assert_eq!(body["error"], "unauthorized", "{case}");
}

/// RFC 6749 §5.2: a refused request at the token, revocation or introspection endpoint. A 401
/// carries the `Basic` challenge (RFC 6749 §5.2 `invalid_client`), nothing else carries one,
/// and RFC 6749 §5.1's `Pragma: no-cache` goes with `no-store`.
pub async fn assert_oauth_refusal(
    case: &str,
    response: Response,
    status: StatusCode,
    error: &str,
    why: &str,
) {
    let challenge = crate::helpers::www_authenticate(&response);
    assert_eq!(
        response
            .headers()
            .get("pragma")
            .map(|v| v.to_str().unwrap()),
        Some("no-cache"),
        "{case}"
    );
    let (got, code, description) = oauth_error(response).await;
    assert_eq!(
        (got, code.as_str()),
        (status, error),
        "{case}: {description}"
    );
    assert!(
        description.contains(why),
        "{case}: {description:?} should say {why:?}"
    );
    let expected = if status == StatusCode::UNAUTHORIZED {
        r#"Basic realm="token", charset="UTF-8""#
    } else {
        ""
    };
    assert_eq!(challenge, expected, "{case}");
}
