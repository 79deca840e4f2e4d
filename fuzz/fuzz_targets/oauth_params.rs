//! The parameter parsing of `/authorize` and `/token` (oauth/params.rs) and the parsed types an
//! authorization or token request is made of (`ScopeSet`, `CodeVerifier`, `CodeChallenge` in
//! shared/). Each acceptance is checked against its rule:
//!
//! - `Params::parse`: accepted ⇒ at most `Params::MAX` pairs, no name twice (RFC 6749 §3.1),
//!   and `get` returns each decoded value, or nothing for an empty one; refused ⇒ for one of
//!   those two reasons, truly.
//! - `Params::form`: accepted ⇒ the content type is `application/x-www-form-urlencoded`.
//! - `ScopeSet::parse`: accepted ⇒ RFC 6749 §3.3 scope tokens, within the limits, and printing
//!   the set parses back to the same set.
//! - PKCE: a verifier is 43–128 unreserved characters (RFC 7636 §4.1); a challenge is 43
//!   base64url characters of a 32-byte digest; a verifier satisfies its own challenge and no
//!   other verifier's.

#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use backend::oauth::params::{Params, ParamsError};
use libfuzzer_sys::fuzz_target;
use shared::pkce::{CodeChallenge, CodeVerifier};
use shared::scope::ScopeSet;

fuzz_target!(|data: &[u8]| {
    params(data);
    form(data);
    if let Ok(text) = std::str::from_utf8(data) {
        scope(text);
        pkce(text);
    }
});

fn params(data: &[u8]) {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
    match Params::parse(data) {
        Ok(params) => {
            assert!(pairs.len() <= Params::MAX);
            assert!(
                pairs
                    .iter()
                    .all(|(n, v)| !n.contains('\0') && !v.contains('\0')),
                "accepted a NUL character"
            );
            for (i, (name, value)) in pairs.iter().enumerate() {
                assert!(
                    pairs[..i].iter().all(|(n, _)| n != name),
                    "accepted {name:?} twice"
                );
                let expected = (!value.is_empty()).then_some(value.as_str());
                assert_eq!(params.get(name), expected);
            }
        }
        Err(ParamsError::TooMany) => assert!(pairs.len() > Params::MAX),
        Err(ParamsError::Repeated(name)) => {
            let first = &pairs[..pairs.len().min(Params::MAX)];
            assert!(first.iter().filter(|(n, _)| *n == name).count() >= 2);
        }
        Err(ParamsError::Nul(_)) => {
            let first = &pairs[..pairs.len().min(Params::MAX + 1)];
            assert!(
                first
                    .iter()
                    .any(|(n, v)| n.contains('\0') || v.contains('\0'))
            );
        }
    }
}

fn form(data: &[u8]) {
    // The first line is the Content-Type, the rest the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (content_type, body) = (&data[..split], data.get(split + 1..).unwrap_or_default());
    let Ok(value) = HeaderValue::from_bytes(content_type) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, value);
    if Params::form(&headers, body).is_ok() {
        let essence = std::str::from_utf8(content_type)
            .unwrap_or_else(|_| panic!("accepted a non-text content type"))
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        assert_eq!(essence, "application/x-www-form-urlencoded");
    }
}

fn scope(text: &str) {
    let Ok(set) = ScopeSet::parse(text) else {
        return;
    };
    let tokens: Vec<&str> = set.iter().collect();
    assert!(tokens.len() <= ScopeSet::MAX_TOKENS);
    for token in &tokens {
        assert!(!token.is_empty() && token.len() <= ScopeSet::MAX_TOKEN_LEN);
        // scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
        assert!(
            token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)),
            "{token:?}"
        );
        assert!(text.split(' ').any(|t| t == *token));
    }
    let printed = set.to_string();
    assert_eq!(
        ScopeSet::parse(&printed).ok().as_ref(),
        Some(&set),
        "{printed:?}"
    );
}

fn pkce(text: &str) {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if let Ok(verifier) = CodeVerifier::parse(text) {
        assert!((43..=128).contains(&text.len()) && text.bytes().all(unreserved));
        let challenge = verifier.challenge();
        let parsed = CodeChallenge::parse(challenge.as_str())
            .unwrap_or_else(|_| panic!("own challenge refused"));
        assert!(parsed.is_satisfied_by(&verifier));
        // Another verifier (the same with one character changed) must not satisfy it.
        let mut other = text.as_bytes().to_vec();
        other[0] = if other[0] == b'a' { b'b' } else { b'a' };
        let other = CodeVerifier::parse(std::str::from_utf8(&other).unwrap_or_default())
            .unwrap_or_else(|_| panic!("a changed verifier is still well-formed"));
        assert!(!parsed.is_satisfied_by(&other));
    }
    if let Ok(challenge) = CodeChallenge::parse(text) {
        assert_eq!(challenge.as_str(), text);
        assert_eq!(text.len(), 43);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
}
