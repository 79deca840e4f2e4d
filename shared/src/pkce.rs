//! Proof Key for Code Exchange (RFC 7636), S256 only.
//!
//! `plain` is not supported anywhere: RFC 9700 §2.1.1 recommends S256, and a `plain` challenge
//! is the verifier itself, so anyone who sees the authorization request can redeem the code.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The only `code_challenge_method` this system accepts.
pub const METHOD_S256: &str = "S256";

/// A `code_verifier`: 43 to 128 characters from the unreserved set (RFC 7636 §4.1).
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

/// An S256 `code_challenge`: the unpadded base64url encoding of a SHA-256 digest, so always
/// exactly 43 characters of the base64url alphabet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeChallenge(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceError {
    VerifierLength,
    VerifierCharacter,
    ChallengeFormat,
}

impl fmt::Display for PkceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::VerifierLength => "code_verifier must be 43 to 128 characters long (RFC 7636 §4.1)",
            Self::VerifierCharacter => {
                "code_verifier may only contain A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636 §4.1)"
            }
            Self::ChallengeFormat => {
                "code_challenge must be the 43-character base64url encoding of a SHA-256 digest \
                 (RFC 7636 §4.2, method S256)"
            }
        })
    }
}

impl std::error::Error for PkceError {}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

impl CodeVerifier {
    pub fn parse(raw: &str) -> Result<Self, PkceError> {
        if !(43..=128).contains(&raw.len()) {
            return Err(PkceError::VerifierLength);
        }
        if !raw.bytes().all(is_unreserved) {
            return Err(PkceError::VerifierCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    /// A verifier from 32 bytes of the caller's cryptographic random source: 256 bits, encoded
    /// as 43 base64url characters (RFC 7636 §4.1 recommends exactly this).
    pub fn from_random_bytes(bytes: &[u8; 32]) -> Self {
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 7636 §4.2: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge(URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl TryFrom<String> for CodeChallenge {
    type Error = PkceError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl TryFrom<String> for CodeVerifier {
    type Error = PkceError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

/// The verifier is a secret: keep it out of logs.
impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(..)")
    }
}

impl CodeChallenge {
    pub fn parse(raw: &str) -> Result<Self, PkceError> {
        let well_formed = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && URL_SAFE_NO_PAD
                .decode(raw)
                .is_ok_and(|digest| digest.len() == 32);
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(PkceError::ChallengeFormat)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` hashes to this challenge. Both sides are public once the code is
    /// redeemed, but the comparison is constant-time anyway so nothing about a stored challenge
    /// leaks through timing before then.
    pub fn is_satisfied_by(&self, verifier: &CodeVerifier) -> bool {
        let expected = verifier.challenge();
        let (a, b) = (expected.0.as_bytes(), self.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn rfc_7636_appendix_b_vector() {
        let verifier = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(
            verifier.challenge().as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let challenge =
            CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(challenge.is_satisfied_by(&verifier));
    }

    #[test]
    fn random_verifier_is_valid() {
        let v = CodeVerifier::from_random_bytes(&[7; 32]);
        assert_eq!(v.as_str().len(), 43);
        assert!(CodeVerifier::parse(v.as_str()).is_ok());
    }

    #[test]
    fn verifier_bounds() {
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(42)),
            Err(PkceError::VerifierLength)
        );
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        assert_eq!(
            CodeVerifier::parse(&"a".repeat(129)),
            Err(PkceError::VerifierLength)
        );
        let bad = format!("{}+", "a".repeat(42));
        assert_eq!(CodeVerifier::parse(&bad), Err(PkceError::VerifierCharacter));
    }

    #[test]
    fn challenge_format() {
        assert!(CodeChallenge::parse("short").is_err());
        // Right length, but `+` and `/` belong to standard base64, not base64url.
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM").is_err());
        // A plain verifier of 43 characters is not a digest encoding unless its last
        // character fits; `plain` downgrades are caught by the method check as well.
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN").is_err());
    }

    #[test]
    fn wrong_verifier_fails() {
        let challenge = CodeVerifier::from_random_bytes(&[1; 32]).challenge();
        assert!(!challenge.is_satisfied_by(&CodeVerifier::from_random_bytes(&[2; 32])));
    }
}
