//! `access_token::AccessTokens::verify`, the access-token parser and validator every API request runs
//! (and through it jsonwebtoken's header and claims parsing), in three modes chosen by the first
//! input byte:
//!
//! - raw: any text. Accepted only if it is, byte for byte, the one token this process issued:
//!   nobody without the key can make another.
//! - tampered: the issued token with the input's edits applied (replace, insert or delete a
//!   byte). Any change at all must be refused, in the signature or anywhere else.
//! - signed: a header and claims of the input's choosing (`header JSON \n claims JSON`), signed
//!   with the real key. Whatever is accepted must meet every rule `verify` promises: ES256,
//!   typ at+jwt, a known kid, no key-naming (jwk/jku/x5u/x5c) or critical headers, our issuer
//!   and audience, not expired, not before its nbf.

#![no_main]

use std::sync::OnceLock;

use backend::access_token::{LEEWAY_SECS as LEEWAY, MAX_TOKEN_LEN, Subject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::scope::ScopeSet;

fn issued() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let w = backend_fuzz::world();
        let client = w
            .clients
            .iter()
            .find(|c| c.id == "demo-service")
            .unwrap_or_else(|| panic!("demo-service is seeded"));
        let subject = Subject {
            sub: "demo-service",
            client_id: &client.id,
            grant_id: None,
            scope: ScopeSet::parse("products:read").unwrap_or_default(),
            lifetime: 86_400,
            audience: None,
            jkt: None,
            act: None,
        };
        match w.state.tokens.issue(subject, w.state.clock.now()) {
            Ok(issued) => issued.response.access_token,
            Err(e) => panic!("issuing a token: {e}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => raw(rest),
        1 => tampered(rest),
        _ => signed(rest),
    }
});

fn raw(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let state = &backend_fuzz::world().state;
    if state.tokens.verify(token, state.clock.now()).is_ok() {
        assert_eq!(token, issued(), "accepted a token this server never issued");
    }
}

fn tampered(edits: &[u8]) {
    let original = issued();
    let mut token = original.as_bytes().to_vec();
    for edit in edits.chunks_exact(3) {
        let at = usize::from(edit[1]) * 4 % (token.len() + 1);
        match edit[0] % 3 {
            0 if at < token.len() => token[at] = edit[2],
            1 => token.insert(at, edit[2]),
            2 if at < token.len() => {
                token.remove(at);
            }
            _ => {}
        }
    }
    let Ok(token) = std::str::from_utf8(&token) else {
        return;
    };
    let state = &backend_fuzz::world().state;
    let verdict = state.tokens.verify(token, state.clock.now());
    if token != original {
        assert!(verdict.is_err(), "accepted a changed token: {token}");
    } else {
        assert!(verdict.is_ok(), "refused the issued token: {verdict:?}");
    }
}

fn signed(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (header, claims) = text.split_once('\n').unwrap_or((text, ""));
    let w = backend_fuzz::world();
    let keys = w.state.keys.get();
    let kid = keys.signing_kid();
    // Placeholders for the fuzzer: `$KID` is the signing key's id, `$NOW` the current time.
    let now = w.state.clock.now().unix();
    let fill = |s: &str| s.replace("$KID", kid).replace("$NOW", &now.to_string());
    let (header, claims) = (fill(header), fill(claims));
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&header),
        URL_SAFE_NO_PAD.encode(&claims)
    );
    let Ok(signature) = keys.sign_input(message.as_bytes()) else {
        return;
    };
    let token = format!("{message}.{signature}");
    let Ok(verified) = w.state.tokens.verify(&token, w.state.clock.now()) else {
        return;
    };
    let context = || format!("accepted header {header} claims {claims}");
    assert!(token.len() <= MAX_TOKEN_LEN, "{}", context());

    let header: Value = serde_json::from_str(&header).unwrap_or_else(|_| panic!("{}", context()));
    assert_eq!(header["alg"], "ES256", "{}", context());
    let typ = header["typ"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        typ == "at+jwt" || typ == "application/at+jwt",
        "{}",
        context()
    );
    assert_eq!(header["kid"].as_str(), Some(kid), "{}", context());
    for name in ["crit", "jwk", "jku", "x5u", "x5c"] {
        assert!(header.get(name).is_none_or(Value::is_null), "{}", context());
    }

    let config = &w.state.config;
    assert_eq!(verified.iss, config.issuer_str(), "{}", context());
    assert!(verified.aud.contains(&config.audience), "{}", context());
    assert!(verified.exp > now - LEEWAY, "{}", context());
    let claims: Value = serde_json::from_str(&claims).unwrap_or_else(|_| panic!("{}", context()));
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_f64) {
        assert!(nbf <= (now + LEEWAY + 1) as f64, "{}", context());
    }
    // What the API acts on is what the token says, not something validation read differently.
    assert_eq!(
        claims["sub"].as_str(),
        Some(verified.sub.as_str()),
        "{}",
        context()
    );
    assert_eq!(
        claims["iss"].as_str(),
        Some(verified.iss.as_str()),
        "{}",
        context()
    );
    assert_eq!(claims["exp"].as_i64(), Some(verified.exp), "{}", context());
    assert_eq!(
        ScopeSet::parse(&verified.scope.to_string()).ok().as_ref(),
        Some(&verified.scope),
        "{}",
        context()
    );
}
