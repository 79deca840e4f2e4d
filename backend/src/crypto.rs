//! The few cryptographic operations this server performs itself. Everything else (signatures,
//! password hashing) is delegated to well-kept crates.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` from the operating system's CSPRNG, base64url-encoded. Authorization codes and
/// token ids use 32 bytes (256 bits), twice the 128 bits RFC 9700 §4.5.3 asks for.
/// Makes aws-lc-rs (which signs and verifies the JWTs too) the process's TLS crypto provider,
/// which every `reqwest` client needs before it is built (the backend-for-frontend's, the one
/// that reads trusted issuers' keys). Idempotent.
pub fn install_tls_provider() {
    // Refused only when one is installed already (a second call, a test in the same process).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    OsRng.fill_bytes(&mut buf);
    buf
}

/// Lowercase hex SHA-256. Used for values that are already high-entropy secrets (authorization
/// codes, generated client secrets): for those a fast hash is as strong as a slow one, because
/// nobody can enumerate 2^256 candidates, and it keeps the token endpoint fast.
pub fn sha256_hex(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    out
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Checks a presented secret against a stored [`sha256_hex`] digest without leaking, through
/// timing, how much of it matched.
pub fn verify_secret(presented: &str, stored_hash: &str) -> bool {
    constant_time_eq(sha256_hex(presented).as_bytes(), stored_hash.as_bytes())
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's first recommended
/// setting). Passwords are low-entropy, so here a slow, memory-hard hash is what protects them.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Verifies `password` against a PHC string. With no stored hash (unknown user) it verifies
/// against a fixed dummy hash, so a login for an unknown user costs the same time as one for a
/// known user and does not reveal which usernames exist.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("dummy password").unwrap_or_default());
    let hash = stored.unwrap_or(dummy);
    let ok = PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token(32));
    }

    #[test]
    fn sha256_hex_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_verify_only_when_equal() {
        let stored = sha256_hex("s3cret");
        assert!(verify_secret("s3cret", &stored));
        assert!(!verify_secret("s3cres", &stored));
        assert!(!verify_secret("", &stored));
    }

    #[test]
    fn passwords_round_trip_and_unknown_users_fail() {
        let hash = hash_password("password0").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("password0", Some(&hash)));
        assert!(!verify_password("password1", Some(&hash)));
        assert!(!verify_password("dummy password", None));
        assert!(!verify_password("x", Some("not a phc string")));
    }
}
