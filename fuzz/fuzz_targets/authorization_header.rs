//! The `Authorization` header parsers: the API's `Bearer`/`Token` split (api/auth.rs
//! `credentials`), HTTP Basic client credentials at the token endpoint (oauth/client_auth.rs
//! `parse_basic`), and the API token shape (api/api_token.rs `parse`). Each acceptance is
//! checked against the rule it claims to implement, and Basic against its own inverse.

#![no_main]

use backend::access_token::MAX_TOKEN_LEN;
use backend::api::api_token;
use backend::api::auth::{Scheme, credentials};
use backend::oauth::client_auth::parse_basic;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    api_header(data);
    basic(data);
    if let Ok(text) = std::str::from_utf8(data) {
        api_token_shape(text);
    }
});

/// Accepted ⇒ `<scheme> <token>`, the scheme `Bearer`, `DPoP` or `Token` in any case, the token
/// non-empty, at most `MAX_TOKEN_LEN` bytes, in RFC 6750 §2.1's token68 syntax.
fn api_header(data: &[u8]) {
    let Ok((scheme, token)) = credentials(data) else {
        return;
    };
    let text = std::str::from_utf8(data).unwrap_or_else(|_| panic!("accepted non-UTF-8"));
    let (word, rest) = text.split_once(' ').unwrap_or_else(|| panic!("{text:?}"));
    let expected = match scheme {
        Scheme::Bearer => "bearer",
        Scheme::Dpop => "dpop",
        Scheme::Token => "token",
    };
    assert!(word.eq_ignore_ascii_case(expected), "{text:?}");
    assert_eq!(rest.trim_matches(' '), token, "{text:?}");
    assert!(
        !token.is_empty() && token.len() <= MAX_TOKEN_LEN,
        "{text:?}"
    );
    let body = token.trim_end_matches('=');
    assert!(
        !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)),
        "{text:?} is not token68"
    );
}

/// Accepted ⇒ a non-empty client id, and encoding the pair again the way RFC 6749 §2.3.1 says
/// gives a header that parses to the same pair.
fn basic(data: &[u8]) {
    let Ok((id, secret)) = parse_basic(data) else {
        return;
    };
    assert!(!id.is_empty(), "{:?}", String::from_utf8_lossy(data));
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let again = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
    );
    let reparsed = parse_basic(again.as_bytes()).map_err(|e| e.description);
    assert_eq!(reparsed, Ok((id, secret)), "{again}");
}

/// Accepted ⇒ exactly `amt_` + 16 lowercase hex digits + `_` + 43 base64url characters, and the
/// parts are the input's own.
fn api_token_shape(text: &str) {
    let Some((id, secret)) = api_token::parse(text) else {
        return;
    };
    assert_eq!(format!("amt_{id}_{secret}"), text);
    assert_eq!(id.len(), 16, "{text:?}");
    assert!(
        id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{text:?}"
    );
    assert_eq!(secret.len(), 43, "{text:?}");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{text:?}"
    );
}
