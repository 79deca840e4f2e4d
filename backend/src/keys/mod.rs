//! Signing keys: generated on first start, persisted, published as a JWK Set. Their life cycle
//! (next, current, retired, removed) is in [`rotation`].
//!
//! ES256 (ECDSA on P-256 with SHA-256) rather than EdDSA: both are asymmetric and compact, but
//! ES256 is the one every JOSE library, every certified OpenID client and the browsers' WebCrypto
//! verify, while EdDSA support is still missing in several of them (RFC 7518 §3.1 lists ES256 as
//! "Recommended+"). Signing is aws-lc-rs's: AWS-LC hedges each signature's nonce with the key
//! and the message digest, so a weak random generator alone cannot leak the key. Verification
//! is jsonwebtoken's (on the same aws-lc-rs), with its algorithm allow-list.

pub mod rotation;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::admin::KeyState;

use crate::clock::Timestamp;
use crate::storage::StoredKey;

pub const ALGORITHM: Algorithm = Algorithm::ES256;
const ALG_NAME: &str = "ES256";

/// The key that signs, and every published key by `kid` for verification.
pub struct KeySet {
    signer: Signer,
    verifying: HashMap<String, DecodingKey>,
    jwks: Jwks,
    /// `(kid, state)` of every key, to tell whether the stored keys changed.
    states: Vec<(String, KeyState)>,
}

/// The key set in use, replaced as a whole when the stored keys change (a rotation here or in
/// another instance); a request holds the set it started with.
pub struct KeyRing {
    keys: RwLock<Arc<KeySet>>,
    /// When the set in use was last found to match the stored keys (or replaced by them).
    checked: RwLock<Instant>,
}

impl KeyRing {
    pub fn new(keys: KeySet) -> Self {
        Self {
            keys: RwLock::new(Arc::new(keys)),
            checked: RwLock::new(Instant::now()),
        }
    }

    pub fn get(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Swaps in the stored keys if they differ from the ones in use; `true` if they did.
    pub fn refresh(&self, stored: &[StoredKey]) -> anyhow::Result<bool> {
        let changed = self.get().states != states(stored);
        if changed {
            let keys = Arc::new(KeySet::from_stored(stored)?);
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
        }
        *self.checked.write().unwrap_or_else(PoisonError::into_inner) = Instant::now();
        Ok(changed)
    }

    /// How long ago the keys in use were last compared with the stored ones.
    pub fn checked_ago(&self) -> Duration {
        self.checked
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }
}

fn states(stored: &[StoredKey]) -> Vec<(String, KeyState)> {
    stored.iter().map(|k| (k.kid.clone(), k.state)).collect()
}

/// Signing failed: the key in use could not sign, or the claims could not be encoded (logged by
/// the caller, answered 500).
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("encoding the token's header or claims failed: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("the signing key could not sign")]
    Signature,
}

/// The current key, ready to sign: its PKCS#8 parsed once. (aws-lc-rs checks a key pair it
/// parses by computing the public key, about as costly as the signature itself, and
/// jsonwebtoken's `encode` parses the key for every token it signs.)
struct Signer {
    kid: String,
    key_pair: EcdsaKeyPair,
}

impl Signer {
    fn new(key: &StoredKey) -> anyhow::Result<Self> {
        let key_pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.private_der)
            .map_err(|e| {
                anyhow::anyhow!("signing key {} is not a P-256 PKCS#8 key: {e}", key.kid)
            })?;
        Ok(Self {
            kid: key.kid.clone(),
            key_pair,
        })
    }

    /// `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`, the signature being
    /// ES256's fixed-length `R || S` (RFC 7518 §3.4).
    fn sign(&self, claims: &impl Serialize, typ: Option<&str>) -> Result<String, SigningError> {
        let mut header = Header::new(ALGORITHM);
        header.typ = typ.map(str::to_owned);
        header.kid = Some(self.kid.clone());
        let mut jws = String::with_capacity(640);
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(&header)?, &mut jws);
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(serde_json::to_vec(claims)?, &mut jws);
        let signature = self.signature(jws.as_bytes())?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
        Ok(jws)
    }

    /// The signature of `input` (64 bytes).
    fn signature(&self, input: &[u8]) -> Result<aws_lc_rs::signature::Signature, SigningError> {
        self.key_pair
            .sign(&SystemRandom::new(), input)
            .map_err(|_| SigningError::Signature)
    }
}

/// RFC 7517 §5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The public half of an EC key (RFC 7518 §6.2.1), with the parameters RFC 7517 §4 recommends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub y: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

impl KeySet {
    /// Builds the set from the stored keys: the `current` one signs, all of them verify and
    /// are published.
    pub fn from_stored(stored: &[StoredKey]) -> anyhow::Result<Self> {
        let current = stored
            .iter()
            .find(|k| k.state == KeyState::Current)
            .ok_or_else(|| anyhow::anyhow!("no current signing key"))?;
        let mut verifying = HashMap::new();
        let mut keys = Vec::new();
        for key in stored.iter().filter(|k| k.alg == ALG_NAME) {
            verifying.insert(
                key.kid.clone(),
                DecodingKey::from_ec_components(&key.public_x, &key.public_y)?,
            );
            keys.push(Jwk {
                kty: "EC",
                crv: "P-256",
                x: key.public_x.clone(),
                y: key.public_y.clone(),
                kid: key.kid.clone(),
                alg: ALG_NAME,
                use_: "sig",
            });
        }
        Ok(Self {
            signer: Signer::new(current)?,
            verifying,
            jwks: Jwks { keys },
            states: states(stored),
        })
    }

    /// The `kid` of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.signer.kid
    }

    /// The ES256 signature of a JWS signing input (`BASE64URL(header) . BASE64URL(claims)`) by
    /// the current key, base64url-encoded: for tokens whose header and claims are written by
    /// hand (the fuzz targets).
    pub fn sign_input(&self, input: &[u8]) -> Result<String, SigningError> {
        Ok(URL_SAFE_NO_PAD.encode(self.signer.signature(input)?.as_ref()))
    }

    /// A compact JWS of `claims` (RFC 7515 §7.1) signed ES256 by the current key, which the
    /// header names in `kid`, with the header `typ`.
    pub fn sign(&self, claims: &impl Serialize, typ: Option<&str>) -> Result<String, SigningError> {
        self.signer.sign(claims, typ)
    }

    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }
}

/// A fresh P-256 key from the OS CSPRNG, in `state`; its `kid` is its RFC 7638 JWK
/// thumbprint, so the id is derived from the key and can be recomputed by anyone holding the
/// JWKS.
pub fn generate(state: KeyState, now: Timestamp) -> anyhow::Result<StoredKey> {
    let secret = p256::SecretKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let point = secret.public_key().to_encoded_point(false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        anyhow::bail!("generated key has no affine coordinates");
    };
    let (x, y) = (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y));
    let private_der = secret
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding the signing key: {e}"))?
        .as_bytes()
        .to_vec();
    Ok(StoredKey {
        kid: thumbprint(&x, &y),
        alg: ALG_NAME.into(),
        private_der,
        public_x: x,
        public_y: y,
        state,
        created_at: now,
        activated_at: (state == KeyState::Current).then_some(now),
        retired_at: None,
    })
}

/// RFC 7638 §3.2: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(x: &str, y: &str) -> String {
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_verify() {
        let key = generate(KeyState::Current, Timestamp::from_unix(0)).unwrap();
        let set = KeySet::from_stored(std::slice::from_ref(&key)).unwrap();
        assert_eq!(set.jwks().keys.len(), 1);
        assert_eq!(set.jwks().keys[0].kid, key.kid);
        let claims = serde_json::json!({"sub": "x", "exp": 4_000_000_000u64});
        let token = set.sign(&claims, Some("at+jwt")).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, ALGORITHM);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let mut validation = jsonwebtoken::Validation::new(ALGORITHM);
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            set.verifying_key(&key.kid).unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(data.claims["sub"], "x");
        // Signed again, the same claims give another signature (ECDSA's nonce) that verifies.
        let again = set.sign(&claims, Some("at+jwt")).unwrap();
        assert_ne!(again, token);
        let verified = jsonwebtoken::decode::<serde_json::Value>(
            &again,
            set.verifying_key(&key.kid).unwrap(),
            &validation,
        );
        assert!(verified.is_ok());
        // Any change to a signed token breaks its signature.
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let flipped = format!("{signed}x.{signature}");
        let refused = jsonwebtoken::decode::<serde_json::Value>(
            &flipped,
            set.verifying_key(&key.kid).unwrap(),
            &validation,
        );
        assert!(refused.is_err());
    }

    #[test]
    fn jwks_has_no_private_parts() {
        let key = generate(KeyState::Current, Timestamp::from_unix(0)).unwrap();
        let set = KeySet::from_stored(&[key]).unwrap();
        let json = serde_json::to_value(set.jwks()).unwrap();
        let jwk = &json["keys"][0];
        assert!(jwk.get("d").is_none());
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kty"], "EC");
    }
}
