//! DPoP (RFC 9449): access tokens bound to a key the client holds. With every token request
//! and every API call the client sends a *proof*, a short JWT signed with its private key that
//! names its public key (`jwk`), the method (`htm`) and URL (`htu`) of this request, when it was
//! made (`iat`), a unique id (`jti`), and at the API the hash of the access token (`ath`). The
//! token endpoint puts the key's thumbprint in the access token (`cnf.jkt`, §6.1); the API
//! accepts the token only with a proof by the same key (§7). A stolen token is useless without
//! the key, which a browser can keep non-extractable.
//!
//! Both sides check proofs here ([`check`], then [`Proofs::first_use`] for the replay cache,
//! which lives in the database so that a proof is used once across instances, §11.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::crypto;
use crate::storage::{self, Db};

/// The header a proof travels in (§4.1).
pub const HEADER: &str = "dpop";
/// The header a server nonce travels in (§8.1).
pub const NONCE_HEADER: &str = "dpop-nonce";

/// The algorithms a proof may be signed with (RFC 8725 §3.1: an explicit allow-list;
/// asymmetric only, §4.3 item 5), as the metadata names them (§5.1
/// `dpop_signing_alg_values_supported`). `Ed25519` is RFC 9864's fully-specified name for
/// EdDSA with an Ed25519 key, which current client libraries (oauth4webapi) send.
pub const ALGS: [(&str, Algorithm); 3] = [
    ("ES256", Algorithm::ES256),
    ("EdDSA", Algorithm::EdDSA),
    ("Ed25519", Algorithm::EdDSA),
];

/// The names of [`ALGS`], for the metadata and the `WWW-Authenticate` challenge.
pub fn alg_names() -> Vec<&'static str> {
    ALGS.iter().map(|(name, _)| *name).collect()
}

/// A proof is a few hundred bytes; anything longer than this is not one.
const MAX_PROOF_LEN: usize = 4096;
const MAX_JTI_LEN: usize = 256;
/// §11.1: a proof is made for one request and sent at once: its `iat` may be at most this old…
pub const MAX_AGE_SECS: i64 = 60;
/// …and at most this far in the future (the client's clock may run ahead a little).
pub const MAX_AHEAD_SECS: i64 = 5;

/// What a proof is checked against: the request it came with.
pub struct Expected<'a> {
    /// The request's method (`htm`, §4.3 item 8).
    pub method: &'a str,
    /// The request's URL as the client addressed it, without query or fragment (`htu`, §4.3
    /// item 9).
    pub url: &'a str,
    /// At the API, the access token presented with it (`ath`, §4.3 item 12; §7.1).
    pub access_token: Option<&'a str>,
}

/// A proof that passed [`check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The JWK SHA-256 thumbprint of its key (RFC 7638), base64url: `cnf.jkt` (§6.1).
    pub jkt: String,
    /// The hash of its key and `jti`, for the replay cache.
    replay_key: String,
    /// Until when its `jti` must be remembered: past it, the `iat` check refuses the proof.
    remember_until: Timestamp,
    /// The server nonce it carries (§4.2 `nonce`), checked by [`Nonces::demand`].
    pub nonce: Option<String>,
}

/// Why a proof was refused, in words for the developer who made it (§4.3: the answer is
/// `invalid_dpop_proof`).
pub type Refused = String;

/// The one `DPoP` header of a request (§4.3 item 1: "There is not more than one DPoP HTTP
/// request header field"), `None` without one.
pub fn header(headers: &axum::http::HeaderMap) -> Result<Option<&str>, Refused> {
    let mut values = headers.get_all(HEADER).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err("more than one DPoP header: send exactly one proof".into()),
        (Some(value), None) => value
            .to_str()
            .map(Some)
            .map_err(|_| "the DPoP header is not valid text".into()),
    }
}

/// Checks `proof` for the request `expected` at `now` (§4.3 items 2 to 9, 11 and 12): a JWT of
/// `typ` `dpop+jwt`, signed with one of [`ALGS`] by the public key in its `jwk` header, with
/// `jti`, `htm`, `htu` and `iat` (and `ath` where a token is presented) that fit. The replay
/// check (item 10's `jti`, §11.1) is [`Proofs::first_use`], once everything here holds.
pub fn check(proof: &str, expected: &Expected<'_>, now: Timestamp) -> Result<Proof, Refused> {
    if proof.len() > MAX_PROOF_LEN {
        return Err(format!(
            "the DPoP proof is longer than {MAX_PROOF_LEN} bytes"
        ));
    }
    let mut parts = proof.split('.');
    let (Some(header_part), Some(claims_part), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(
            "the DPoP proof is not a signed JWT (three base64url parts separated by dots)".into(),
        );
    };
    // The header as sent, to see what the typed parse would drop (a private key's `d`).
    let raw: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(header_part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the DPoP proof's header is not base64url-encoded JSON")?;
    match raw.get("typ").and_then(Value::as_str) {
        Some(typ) if typ.eq_ignore_ascii_case("dpop+jwt") => {}
        Some(typ) => {
            return Err(format!(
                "the DPoP proof's typ is {:?}; it must be dpop+jwt (RFC 9449 §4.2)",
                clip(typ)
            ));
        }
        None => {
            return Err("the DPoP proof has no typ; it must be dpop+jwt (RFC 9449 §4.2)".into());
        }
    }
    let alg = match raw.get("alg").and_then(Value::as_str) {
        Some(name) => ALGS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, alg)| *alg)
            .ok_or_else(|| {
                format!(
                    "the DPoP proof is signed with {:?}; this server takes {} (RFC 9449 §4.3)",
                    clip(name),
                    alg_names().join(", ")
                )
            })?,
        None => return Err("the DPoP proof has no alg".into()),
    };
    let Some(Value::Object(raw_jwk)) = raw.get("jwk") else {
        return Err(
            "the DPoP proof has no jwk header: it must carry its public key (RFC 9449 §4.2)".into(),
        );
    };
    // §4.3 item 7: "the jwk JOSE Header Parameter does not contain a private key".
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|member| raw_jwk.contains_key(*member))
    {
        return Err("the DPoP proof's jwk contains a private key: send the public key only (and make a new key pair, this one is exposed)".into());
    }
    if raw.contains_key("crit") {
        return Err(
            "the DPoP proof has critical header parameters this server does not understand".into(),
        );
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(raw_jwk.clone()))
        .map_err(|_| "the DPoP proof's jwk is not a public key this server reads (an EC P-256 or an Ed25519 key)")?;
    let fits = match (&jwk.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
        }
        _ => false,
    };
    if !fits {
        return Err(format!(
            "the DPoP proof's jwk is not a key for {alg:?}: ES256 takes an EC P-256 key, EdDSA an \
             Ed25519 (OKP) key"
        ));
    }
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|_| "the DPoP proof's jwk is not a valid public key")?;
    // The signature over the two first parts as sent (RFC 7515 §5.2), with the algorithm the
    // allow-list maps the header's name to.
    let signed = &proof[..header_part.len() + 1 + claims_part.len()];
    let verified = jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &key, alg)
        .map_err(|_| "the DPoP proof's signature could not be checked: it is not base64url, or its jwk is not a valid public key")?;
    if !verified {
        return Err("the DPoP proof's signature does not verify with its jwk".into());
    }
    let claims: Map<String, Value> = URL_SAFE_NO_PAD
        .decode(claims_part)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or("the DPoP proof's claims are not base64url-encoded JSON")?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let jti = match text("jti") {
        Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_LEN => jti,
        Some(_) => {
            return Err(format!(
                "the DPoP proof's jti must be 1 to {MAX_JTI_LEN} characters"
            ));
        }
        None => return Err("the DPoP proof has no jti (a unique id for each proof)".into()),
    };
    match text("htm") {
        Some(htm) if htm == expected.method => {}
        Some(htm) => {
            return Err(format!(
                "the DPoP proof's htm is {:?}, but this request is a {}: make a proof for each \
                 request",
                clip(htm),
                expected.method
            ));
        }
        None => return Err("the DPoP proof has no htm (the request's method)".into()),
    }
    match text("htu") {
        Some(htu) if same_url(htu, expected.url) => {}
        Some(htu) => {
            return Err(format!(
                "the DPoP proof's htu is {:?}, but this request is to {}: name the URL the \
                 request goes to, without query or fragment",
                clip(htu),
                expected.url
            ));
        }
        None => return Err("the DPoP proof has no htu (the request's URL)".into()),
    }
    let iat = match claims.get("iat") {
        Some(value) => value
            .as_i64()
            .or_else(|| value.as_f64().map(|n| n as i64))
            .ok_or("the DPoP proof's iat is not a number")?,
        None => return Err("the DPoP proof has no iat (when it was made)".into()),
    };
    let age = now.unix().saturating_sub(iat);
    if age > MAX_AGE_SECS {
        return Err(format!(
            "the DPoP proof was made {age} s ago; this server takes proofs at most \
             {MAX_AGE_SECS} s old: make a new one for each request (or check the client's clock)"
        ));
    }
    if age < -MAX_AHEAD_SECS {
        return Err(format!(
            "the DPoP proof's iat is {} s in the future: check the client's clock",
            -age
        ));
    }
    if let Some(token) = expected.access_token {
        match text("ath") {
            Some(ath) if crypto::constant_time_eq(ath.as_bytes(), token_hash(token).as_bytes()) => {
            }
            Some(_) => {
                return Err(
                    "the DPoP proof's ath is not the hash of this access token: \
                            base64url(SHA-256(access token)), made for the token sent with it"
                        .into(),
                );
            }
            None => {
                return Err(
                    "the DPoP proof has no ath: with an access token, the proof must \
                            carry base64url(SHA-256(access token)) (RFC 9449 §4.2)"
                        .into(),
                );
            }
        }
    }
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(nonce)) if !nonce.is_empty() && nonce.len() <= MAX_JTI_LEN => {
            Some(nonce.clone())
        }
        Some(_) => {
            return Err(format!(
                "the DPoP proof's nonce must be a string of 1 to {MAX_JTI_LEN} characters: the \
                 server's last DPoP-Nonce, as sent"
            ));
        }
    };
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| "the DPoP proof's jwk has no thumbprint")?;
    Ok(Proof {
        nonce,
        replay_key: crypto::sha256_hex(&format!("{jkt} {jti}")),
        jkt,
        // Twice the age a proof may have, so that an instance whose clock runs behind the one
        // that first saw the proof still finds it remembered.
        remember_until: Timestamp::from_unix(iat).plus_secs(2 * MAX_AGE_SECS),
    })
}

/// Server nonces (§8, §9): with them required, every proof must carry a nonce this server
/// gave out recently, so that a proof cannot be made in advance for later use (an attacker
/// who briefly ran code in the client cannot stock up on proofs). A nonce is the minute it was
/// made and an HMAC of that minute with a secret every instance shares (kept in the database):
/// any instance checks any instance's nonce with no state per nonce. One is accepted in its
/// minute and the next (and in the minute before its own, for an instance whose clock runs
/// behind the one that made it).
pub struct Nonces {
    key: aws_lc_rs::hmac::Key,
}

/// The span one nonce covers: a nonce lives one to two of them.
const NONCE_WINDOW_SECS: i64 = 60;

impl Nonces {
    /// Nonces under `secret`, the instances' shared one.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret),
        }
    }

    /// The nonce to hand out at `now`.
    pub fn fresh(&self, now: Timestamp) -> String {
        self.of_window(now.unix().div_euclid(NONCE_WINDOW_SECS))
    }

    fn of_window(&self, window: i64) -> String {
        let tag = aws_lc_rs::hmac::sign(&self.key, &window.to_be_bytes());
        format!("{window}.{}", URL_SAFE_NO_PAD.encode(&tag.as_ref()[..16]))
    }

    /// Nothing when `nonce` (a proof's) is one this server gave out lately; else what
    /// `use_dpop_nonce` answers (§8): why, and a fresh nonce to use. Each endpoint wraps it in
    /// its own error (400 at the token endpoint, a 401 challenge at the API, §9).
    pub fn demand(&self, nonce: Option<&str>, now: Timestamp) -> Result<(), NonceNeeded> {
        if self.accepts(nonce, now) {
            return Ok(());
        }
        Err(NonceNeeded {
            description: Self::refusal(nonce),
            nonce: self.fresh(now),
        })
    }

    /// Whether `nonce` is one of the last minute's, this one's or the next's.
    fn accepts(&self, nonce: Option<&str>, now: Timestamp) -> bool {
        let Some(nonce) = nonce else {
            return false;
        };
        let Some(window) = nonce
            .split_once('.')
            .and_then(|(window, _)| window.parse::<i64>().ok())
        else {
            return false;
        };
        let current = now.unix().div_euclid(NONCE_WINDOW_SECS);
        (current - 1..=current + 1).contains(&window)
            && crypto::constant_time_eq(nonce.as_bytes(), self.of_window(window).as_bytes())
    }

    /// What to tell a client whose proof lacks an accepted nonce (§8: `use_dpop_nonce`).
    fn refusal(nonce: Option<&str>) -> &'static str {
        match nonce {
            None => {
                "this server requires a nonce in DPoP proofs: make a new proof with the nonce of \
                 the DPoP-Nonce header of this answer (RFC 9449 §8)"
            }
            Some(_) => {
                "the DPoP proof's nonce is not one this server gave out in the last minute or two: \
                 make a new proof with the nonce of the DPoP-Nonce header of this answer"
            }
        }
    }
}

/// A proof without an accepted nonce (see [`Nonces::demand`]).
#[derive(Debug)]
pub struct NonceNeeded {
    pub description: &'static str,
    /// The nonce the next proof should carry, for the `DPoP-Nonce` header.
    pub nonce: String,
}

/// `ath` (§4.2): the base64url SHA-256 of the access token's ASCII.
pub fn token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// §4.3 item 9: the same URL, "ignoring any query and fragment parts", after RFC 3986 §6.2.2
/// normalization (scheme and host case, the default port).
fn same_url(htu: &str, expected: &str) -> bool {
    let parse = |raw: &str| {
        url::Url::parse(raw).ok().map(|url| {
            (
                url.scheme().to_owned(),
                url.host_str().map(str::to_ascii_lowercase),
                url.port_or_known_default(),
                url.path().to_owned(),
            )
        })
    };
    match (parse(htu), parse(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn clip(text: &str) -> String {
    text.chars().take(100).collect()
}

/// What a replayed proof hears (§11.1).
pub const REPLAYED: &str = "this DPoP proof was used before: make a new one, with a new jti, for \
                            every request (RFC 9449 §11.1)";

/// Records `proof`'s `jti` in the replay cache: `false` if a proof with the same key and `jti`
/// was accepted before, at any instance (§11.1). Kept until the proof would be refused as too
/// old anyway.
pub async fn first_use(db: &Db, proof: &Proof) -> storage::Result<bool> {
    db.first_use_of_dpop_proof(&proof.replay_key, proof.remember_until)
        .await
}

/// The client's side: a DPoP key and the proofs it signs, as a client library makes them. The
/// command line's `backend dpop` uses it (to try DPoP with curl), and so do the tests.
pub mod client {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    use super::*;

    /// An ES256 key pair (P-256).
    pub struct ClientKey {
        pair: EcdsaKeyPair,
        /// Its public half as a JWK (RFC 7518 §6.2.1).
        pub jwk: Value,
        jkt: String,
    }

    impl ClientKey {
        /// A new key from the OS's random source.
        pub fn generate() -> anyhow::Result<Self> {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| anyhow::anyhow!("generating a P-256 key failed"))?;
            Self::of(pair)
        }

        /// The key a PKCS#8 document (DER) holds.
        pub fn from_pkcs8(der: &[u8]) -> anyhow::Result<Self> {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(|_| anyhow::anyhow!("not a PKCS#8 P-256 private key"))?;
            Self::of(pair)
        }

        /// Its PKCS#8 document (DER), to keep it.
        pub fn to_pkcs8(&self) -> anyhow::Result<Vec<u8>> {
            Ok(self
                .pair
                .to_pkcs8v1()
                .map_err(|_| anyhow::anyhow!("encoding the key failed"))?
                .as_ref()
                .to_vec())
        }

        fn of(pair: EcdsaKeyPair) -> anyhow::Result<Self> {
            // The uncompressed point: 0x04, then x and y, 32 bytes each.
            let point = pair.public_key().as_ref();
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            });
            let jkt =
                serde_json::from_value::<Jwk>(jwk.clone())?.thumbprint(ThumbprintHash::SHA256)?;
            Ok(Self { pair, jwk, jkt })
        }

        /// Its thumbprint (RFC 7638): what tokens bound to it carry as `cnf.jkt`.
        pub fn jkt(&self) -> &str {
            &self.jkt
        }

        /// A JWS of `claims` with the header `{"typ": "dpop+jwt", "alg": "ES256", "jwk": …}`,
        /// `header`'s members set over it.
        pub fn sign(&self, header: Value, claims: Value) -> anyhow::Result<String> {
            let mut full = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
            if let (Some(full), Value::Object(extra)) = (full.as_object_mut(), header) {
                full.extend(extra);
            }
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(full.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature = self
                .pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(|_| anyhow::anyhow!("signing with the P-256 key failed"))?;
            Ok(format!(
                "{input}.{}",
                URL_SAFE_NO_PAD.encode(signature.as_ref())
            ))
        }

        /// A proof for `method` to `url` made at `iat`, for `token` when one goes with it.
        pub fn proof(
            &self,
            method: &str,
            url: &str,
            iat: i64,
            token: Option<&str>,
        ) -> anyhow::Result<String> {
            self.proof_with_nonce(method, url, iat, token, None)
        }

        /// [`ClientKey::proof`] carrying the server's `nonce` (§8).
        pub fn proof_with_nonce(
            &self,
            method: &str,
            url: &str,
            iat: i64,
            token: Option<&str>,
            nonce: Option<&str>,
        ) -> anyhow::Result<String> {
            let mut claims = json!({
                "jti": crypto::random_token(16),
                "htm": method,
                "htu": url,
                "iat": iat,
            });
            if let Some(token) = token {
                claims["ath"] = json!(token_hash(token));
            }
            if let Some(nonce) = nonce {
                claims["nonce"] = json!(nonce);
            }
            self.sign(json!({}), claims)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::client::ClientKey;
    use super::*;

    const URL: &str = "https://as.example.com/token";
    const NOW: i64 = 1_800_000_000;

    fn post() -> Expected<'static> {
        Expected {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_unix(NOW)
    }

    #[test]
    fn a_proof_made_for_the_request_passes_and_names_its_key() {
        let key = ClientKey::generate().unwrap();
        let proof = check(&key.proof("POST", URL, NOW, None).unwrap(), &post(), now()).unwrap();
        assert_eq!(proof.jkt, key.jkt());
        assert_eq!(proof.jkt.len(), 43, "base64url SHA-256");
        // Case and the default port do not matter; the query and fragment are ignored.
        for htu in [
            "HTTPS://AS.example.com:443/token",
            "https://as.example.com/token?x=1#f",
        ] {
            assert!(
                check(&key.proof("POST", htu, NOW, None).unwrap(), &post(), now()).is_ok(),
                "{htu}"
            );
        }
        // A second early or a minute late is still on time.
        assert!(
            check(
                &key.proof("POST", URL, NOW + 5, None).unwrap(),
                &post(),
                now()
            )
            .is_ok()
        );
        assert!(
            check(
                &key.proof("POST", URL, NOW - 60, None).unwrap(),
                &post(),
                now()
            )
            .is_ok()
        );
    }

    #[test]
    fn every_check_of_section_4_3_refuses_and_says_what_to_fix() {
        let key = ClientKey::generate().unwrap();
        let claims = |extra: Value| {
            let mut claims = json!({"jti": "j1", "htm": "POST", "htu": URL, "iat": NOW});
            for (name, value) in extra.as_object().unwrap() {
                if value.is_null() {
                    claims.as_object_mut().unwrap().remove(name);
                } else {
                    claims[name] = value.clone();
                }
            }
            claims
        };
        let cases: Vec<(String, &str)> = vec![
            ("not.a".into(), "three base64url parts"),
            ("a.b.c".into(), "not base64url-encoded JSON"),
            (key.sign(json!({"typ": "JWT"}), claims(json!({}))).unwrap(), "must be dpop+jwt"),
            (key.sign(json!({"jwk": {"kty": "EC", "crv": "P-256", "x": key.jwk["x"], "y": key.jwk["y"], "d": "AAAA"}}), claims(json!({}))).unwrap(), "contains a private key"),
            (key.sign(json!({"crit": ["exp"]}), claims(json!({}))).unwrap(), "critical header"),
            (key.sign(json!({}), claims(json!({"jti": null}))).unwrap(), "no jti"),
            (key.sign(json!({}), claims(json!({"htm": "GET"}))).unwrap(), "htm is \"GET\""),
            (key.sign(json!({}), claims(json!({"htm": null}))).unwrap(), "no htm"),
            (key.sign(json!({}), claims(json!({"htu": "https://other.example.com/token"}))).unwrap(), "htu is"),
            (key.sign(json!({}), claims(json!({"htu": "https://as.example.com/token2"}))).unwrap(), "htu is"),
            (key.sign(json!({}), claims(json!({"iat": NOW - 61}))).unwrap(), "61 s ago"),
            (key.sign(json!({}), claims(json!({"iat": NOW + 6}))).unwrap(), "in the future"),
            (key.sign(json!({}), claims(json!({"iat": "now"}))).unwrap(), "iat is not a number"),
            (key.sign(json!({}), claims(json!({"iat": null}))).unwrap(), "no iat"),
        ];
        for (proof, says) in cases {
            let refused = check(&proof, &post(), now()).unwrap_err();
            assert!(refused.contains(says), "{says:?} not in {refused:?}");
        }
        // Another key's signature.
        let other = ClientKey::generate().unwrap();
        let forged = key
            .sign(json!({"jwk": other.jwk}), claims(json!({})))
            .unwrap();
        assert!(
            check(&forged, &post(), now())
                .unwrap_err()
                .contains("signature")
        );
        // Symmetric and unknown algorithms, and `none`, are refused by name before any key is read.
        for alg in ["HS256", "none", "RS256"] {
            let header = URL_SAFE_NO_PAD
                .encode(json!({"typ": "dpop+jwt", "alg": alg, "jwk": key.jwk}).to_string());
            let refused = check(&format!("{header}.e30.c2ln"), &post(), now()).unwrap_err();
            assert!(
                refused.contains("this server takes ES256, EdDSA, Ed25519"),
                "{refused}"
            );
        }
        // A token presented with the proof must be the one it hashes.
        let api = Expected {
            method: "GET",
            url: "https://api.example.com/api/products",
            access_token: Some("the.access.token"),
        };
        let without = key.proof("GET", api.url, NOW, None).unwrap();
        assert!(check(&without, &api, now()).unwrap_err().contains("no ath"));
        let other_token = key
            .proof("GET", api.url, NOW, Some("another.access.token"))
            .unwrap();
        assert!(
            check(&other_token, &api, now())
                .unwrap_err()
                .contains("not the hash")
        );
        let right = key
            .proof("GET", api.url, NOW, Some("the.access.token"))
            .unwrap();
        assert!(check(&right, &api, now()).is_ok());
        // Oversized.
        let long = "a".repeat(MAX_PROOF_LEN + 1);
        assert!(
            check(&long, &post(), now())
                .unwrap_err()
                .contains("longer than")
        );
    }

    #[test]
    fn a_nonce_is_accepted_from_the_minute_before_its_own_to_the_next_and_only_with_its_secret() {
        let nonces = Nonces::new(b"the instances' shared secret");
        let made = Timestamp::from_unix(NOW - NOW % 60);
        let nonce = nonces.fresh(made);
        for later in [0, 59, 60, 119] {
            assert!(
                nonces.accepts(Some(&nonce), made.plus_secs(later)),
                "{later}"
            );
        }
        assert!(!nonces.accepts(Some(&nonce), made.plus_secs(120)));
        // An instance whose clock runs up to a minute behind the one that made it takes it.
        assert!(nonces.accepts(Some(&nonce), made.plus_secs(-1)));
        assert!(!nonces.accepts(Some(&nonce), made.plus_secs(-61)));
        // What the endpoints answer without one: why, and a nonce that is accepted.
        let needed = nonces.demand(None, made).unwrap_err();
        assert!(needed.description.contains("requires a nonce"));
        assert!(nonces.demand(Some(&needed.nonce), made).is_ok());
        let stale = nonces
            .demand(Some(&nonce), made.plus_secs(120))
            .unwrap_err();
        assert!(stale.description.contains("not one this server gave out"));
        assert!(!Nonces::new(b"another").accepts(Some(&nonce), made));
        for forged in [
            "",
            ".",
            "x.y",
            &nonce[..nonce.len() - 1],
            &format!("{nonce}A"),
        ] {
            assert!(!nonces.accepts(Some(forged), made), "{forged:?}");
        }
        assert!(!nonces.accepts(None, made));
        // A proof's nonce is read, and a malformed one refused.
        let key = ClientKey::generate().unwrap();
        let with = key
            .sign(
                json!({}),
                json!({"jti": "n", "htm": "POST", "htu": URL, "iat": NOW, "nonce": nonce}),
            )
            .unwrap();
        assert_eq!(check(&with, &post(), now()).unwrap().nonce, Some(nonce));
        let number = key
            .sign(
                json!({}),
                json!({"jti": "n", "htm": "POST", "htu": URL, "iat": NOW, "nonce": 7}),
            )
            .unwrap();
        assert!(
            check(&number, &post(), now())
                .unwrap_err()
                .contains("nonce must be a string")
        );
    }

    #[test]
    fn the_replay_key_is_per_key_and_jti() {
        let key = ClientKey::generate().unwrap();
        let same = |jti: &str| {
            let proof = key
                .sign(
                    json!({}),
                    json!({"jti": jti, "htm": "POST", "htu": URL, "iat": NOW}),
                )
                .unwrap();
            check(&proof, &post(), now()).unwrap()
        };
        assert_eq!(same("a").replay_key, same("a").replay_key);
        assert_ne!(same("a").replay_key, same("b").replay_key);
    }
}
