//! What the console's forms check before sending. The server checks everything again and is the
//! authority (its `error_description` is shown when it refuses); these checks only save a round
//! trip and say exactly which field is wrong. Each returns the value to send, or a sentence.

use std::collections::{BTreeMap, BTreeSet};

use shared::admin::{
    ACCESS_TOKEN_TTL_RANGE, EXTERNAL_ALGS, MAX_DESCRIPTION_LEN, MAX_EVENTS, MAX_JWKS_BYTES,
    MAX_NAME_LEN, MAX_PASSWORD_LEN, MAX_POLICY_CLIENTS, MAX_REDIRECT_URIS, MAX_USERNAME_LEN,
    MIN_PASSWORD_LEN,
};
use shared::scope::ScopeSet;

/// Longest client id the console offers to send (the server may accept other shapes).
pub const MAX_CLIENT_ID_LEN: usize = 64;
/// The server's bounds on an authorization server's id and audience.
pub const MAX_SERVER_ID_LEN: usize = 64;
pub const MAX_AUDIENCE_LEN: usize = 200;
/// The CLI's range for `--expires-in-days`.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

pub type Checked<T> = Result<T, String>;

fn required<'a>(raw: &'a str, field: &str) -> Checked<&'a str> {
    let value = raw.trim();
    if value.is_empty() {
        Err(format!("{field} is required."))
    } else {
        Ok(value)
    }
}

fn at_most(value: &str, max: usize, field: &str) -> Checked<()> {
    if value.chars().count() > max {
        Err(format!("{field} is too long (at most {max} characters)."))
    } else {
        Ok(())
    }
}

/// Letters, digits and `.`, `_`, `-` (and `@` for usernames): safe in URLs, Basic
/// authentication and command lines.
fn plain_identifier(value: &str, extra: &[char]) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') || extra.contains(&c))
}

pub fn username(raw: &str) -> Checked<String> {
    let value = required(raw, "A username")?;
    at_most(value, MAX_USERNAME_LEN, "The username")?;
    if !plain_identifier(value, &['@']) {
        return Err(
            "A username may only contain letters, digits and the characters . _ - @.".into(),
        );
    }
    Ok(value.to_owned())
}

/// A person's or a client's display name.
pub fn name(raw: &str, field: &str) -> Checked<String> {
    let value = required(raw, field)?;
    at_most(value, MAX_NAME_LEN, field)?;
    Ok(value.to_owned())
}

/// A JWK Set typed or pasted: JSON, an object with a `keys` array, within the server's bound,
/// no private parts (the server checks every key again).
pub fn jwks(raw: &str) -> Checked<serde_json::Value> {
    let raw = raw.trim();
    if raw.len() > MAX_JWKS_BYTES {
        return Err(format!(
            "The JWK Set is longer than {MAX_JWKS_BYTES} bytes."
        ));
    }
    let set: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("The JWK Set is not JSON: {e}."))?;
    let keys = set
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("A JWK Set is an object with a \"keys\" array.")?;
    if keys.is_empty() {
        return Err("The JWK Set has no key.".into());
    }
    if keys
        .iter()
        .any(|k| k.get("d").is_some() || k.get("k").is_some())
    {
        return Err(
            "The JWK Set holds a private or secret key: paste the public keys only.".into(),
        );
    }
    Ok(set)
}

pub fn email(raw: &str) -> Checked<String> {
    let value = required(raw, "An email address")?;
    at_most(value, MAX_NAME_LEN, "The email address")?;
    let valid = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !value.chars().any(char::is_whitespace);
    if valid {
        Ok(value.to_owned())
    } else {
        Err(format!("{value:?} is not an email address."))
    }
}

/// Passwords are sent exactly as typed: spaces count.
pub fn password(raw: &str) -> Checked<String> {
    let length = raw.chars().count();
    if length < MIN_PASSWORD_LEN {
        Err(format!(
            "The password is too short: at least {MIN_PASSWORD_LEN} characters."
        ))
    } else if length > MAX_PASSWORD_LEN {
        Err(format!(
            "The password is too long: at most {MAX_PASSWORD_LEN} characters."
        ))
    } else {
        Ok(raw.to_owned())
    }
}

/// Optional: the server picks one when it is left empty.
pub fn client_id(raw: &str) -> Checked<Option<String>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    at_most(value, MAX_CLIENT_ID_LEN, "The client id")?;
    if !plain_identifier(value, &[]) {
        return Err("A client id may only contain letters, digits and the characters . _ -".into());
    }
    Ok(Some(value.to_owned()))
}

/// One URI a line; blank lines are ignored. `required`: the code flow needs at least one.
pub fn redirect_uris(raw: &str, required: bool) -> Checked<Vec<String>> {
    let uris = uri_list(raw, "redirect URI")?;
    if required && uris.is_empty() {
        return Err("A browser app needs at least one redirect URI.".into());
    }
    Ok(uris)
}

/// OpenID Connect RP-Initiated Logout 1.0 §3.1: [`redirect_uris`]' rules, none required.
pub fn post_logout_redirect_uris(raw: &str) -> Checked<Vec<String>> {
    uri_list(raw, "post-logout redirect URI")
}

/// OpenID Connect Back-Channel Logout 1.0 §2.2: optional; empty means none.
pub fn backchannel_logout_uri(raw: &str) -> Checked<Option<String>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    absolute_uri(value, "back-channel logout URI")?;
    Ok(Some(value.to_owned()))
}

/// One `what` a line, each [`absolute_uri`], at most the server's bound, none twice.
fn uri_list(raw: &str, what: &str) -> Checked<Vec<String>> {
    let uris: Vec<String> = raw
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(format!("At most {MAX_REDIRECT_URIS} {what}s."));
    }
    for uri in &uris {
        absolute_uri(uri, what)?;
    }
    let distinct: BTreeSet<&String> = uris.iter().collect();
    if distinct.len() != uris.len() {
        return Err(format!("A {what} is listed twice."));
    }
    Ok(uris)
}

/// RFC 6749 §3.1.2: an absolute URI without a fragment. The server decides the rest (for
/// example whether plain `http` is allowed beyond loopback).
fn absolute_uri(uri: &str, what: &str) -> Checked<()> {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(format!("{uri:?} is not an absolute URI (https://…)."));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !matches!(scheme, "http" | "https") || host.is_empty() {
        return Err(format!("{uri:?} is not an http(s) URI with a host."));
    }
    if uri.contains('#') {
        return Err(format!(
            "{uri:?} has a fragment (#…), which a {what} may not have."
        ));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{uri:?} contains spaces."));
    }
    Ok(())
}

/// RFC 6749 §3.3: one scope token.
pub fn scope_name(raw: &str) -> Checked<String> {
    let value = required(raw, "A scope name")?;
    match ScopeSet::parse(value) {
        Ok(set) if set.iter().count() == 1 => Ok(value.to_owned()),
        Ok(_) => Err("A scope name is one word: no spaces.".into()),
        Err(e) => Err(format!("Not a scope name: {e}.")),
    }
}

pub fn description(raw: &str) -> Checked<String> {
    let value = required(raw, "A description")?;
    at_most(value, MAX_DESCRIPTION_LEN, "The description")?;
    Ok(value.to_owned())
}

/// Optional: empty means the token lasts until revoked.
pub fn expiry_days(raw: &str) -> Checked<Option<i64>> {
    optional_number(raw, 1, MAX_EXPIRY_DAYS, "The expiry")
}

/// Optional: empty means the server's default.
pub fn event_limit(raw: &str) -> Checked<Option<i64>> {
    optional_number(raw, 1, MAX_EVENTS, "The limit")
}

fn optional_number(raw: &str, min: i64, max: i64, field: &str) -> Checked<Option<i64>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "{field} must be a whole number from {min} to {max}."
        )),
    }
}

/// An authorization server's id: the last segment of its issuer's path.
pub fn server_id(raw: &str) -> Checked<String> {
    let value = required(raw, "An id")?;
    at_most(value, MAX_SERVER_ID_LEN, "The id")?;
    if !plain_identifier(value, &[]) {
        return Err("An id may only contain letters, digits and the characters . _ -.".into());
    }
    if value.chars().all(|c| c == '.') {
        return Err("An id cannot be only dots: it is a segment of the issuer's path.".into());
    }
    Ok(value.to_owned())
}

/// An absolute URI (`api://orders`, `https://api.example.com`) without spaces or a fragment:
/// `aud` values are compared exactly.
pub fn audience(raw: &str) -> Checked<String> {
    let value = required(raw, "An audience")?;
    at_most(value, MAX_AUDIENCE_LEN, "The audience")?;
    let scheme = value.split_once(':').map(|(scheme, _)| scheme);
    let absolute = scheme.is_some_and(|s| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !absolute {
        return Err("The audience must be an absolute URI, such as api://orders.".into());
    }
    if value.contains('#') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The audience may not contain spaces or a fragment (#…).".into());
    }
    Ok(value.to_owned())
}

/// Audiences separated by spaces or commas (none is fine), each one [`audience`], none twice.
pub fn audience_list(raw: &str) -> Checked<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    for value in raw.split([' ', ',']).filter(|a| !a.is_empty()) {
        let checked = audience(value)?;
        if all.contains(&checked) {
            return Err(format!("The audience {checked} is listed twice."));
        }
        all.push(checked);
    }
    Ok(all)
}

/// A server's extra audiences: at most the server's bound, and not its default one.
pub fn extra_audiences(raw: &str, default: &str) -> Checked<Vec<String>> {
    let extra = audience_list(raw)?;
    if extra.len() > shared::admin::MAX_EXTRA_AUDIENCES {
        return Err(format!(
            "At most {} extra audiences.",
            shared::admin::MAX_EXTRA_AUDIENCES
        ));
    }
    if extra.iter().any(|a| a == default) {
        return Err(format!("{default} is the default audience already."));
    }
    Ok(extra)
}

/// Optional: empty means the client's own lifetime, else the server's default.
pub fn access_token_ttl(raw: &str) -> Checked<Option<i64>> {
    let (min, max) = ACCESS_TOKEN_TTL_RANGE;
    optional_number(raw, min, max, "The access-token lifetime")
}

/// A scope list for a rule: empty means any scopes.
pub fn rule_scopes(raw: &str) -> Checked<Option<ScopeSet>> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    ScopeSet::parse(value)
        .map(Some)
        .map_err(|e| format!("Not a list of scopes: {e}."))
}

/// Group names separated by spaces or commas (each once; none for none), as the server checks
/// them.
pub fn group_list(raw: &str) -> Checked<Vec<String>> {
    let mut groups: Vec<String> = Vec::new();
    for group in raw.split([' ', ',']).filter(|g| !g.is_empty()) {
        shared::admin::check_group(group).map_err(|e| crate::api::capitalized(&e))?;
        if !groups.iter().any(|g| g == group) {
            groups.push(group.to_owned());
        }
    }
    if groups.len() > shared::admin::MAX_GROUPS {
        return Err(format!("At most {} groups.", shared::admin::MAX_GROUPS));
    }
    Ok(groups)
}

/// Custom attributes, one `name=value` per line (spaces around either are dropped; no line for
/// none), as the server checks them.
pub fn attribute_list(raw: &str) -> Checked<BTreeMap<String, String>> {
    let mut attributes = BTreeMap::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!("{line:?} is not name=value."));
        };
        let (name, value) = (name.trim(), value.trim());
        if attributes
            .insert(name.to_owned(), value.to_owned())
            .is_some()
        {
            return Err(format!("Attribute {name:?} is given twice."));
        }
    }
    shared::admin::check_attributes(&attributes).map_err(|e| crate::api::capitalized(&e))?;
    Ok(attributes)
}

/// Client ids separated by spaces or commas; none means every client.
pub fn client_list(raw: &str) -> Checked<Vec<String>> {
    let mut clients: Vec<String> = Vec::new();
    for id in raw.split([' ', ',']).filter(|id| !id.is_empty()) {
        if !plain_identifier(id, &['@']) {
            return Err(format!("{id:?} is not a client id."));
        }
        if !clients.iter().any(|c| c == id) {
            clients.push(id.to_owned());
        }
    }
    if clients.len() > MAX_POLICY_CLIENTS {
        return Err(format!(
            "A policy names at most {MAX_POLICY_CLIENTS} clients."
        ));
    }
    Ok(clients)
}

/// The checked boxes as a `scope` string (space-separated, sorted).
pub fn scope_list(selected: &BTreeSet<String>) -> String {
    selected
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A trusted issuer's identifier, exactly as its tokens state it: https (plain http on a
/// loopback address only), no query or fragment.
pub fn issuer_url(raw: &str) -> Checked<String> {
    let value = required(raw, "An issuer")?;
    at_most(value, MAX_AUDIENCE_LEN, "The issuer")?;
    let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|origin| {
            value
                .strip_prefix(origin)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        });
    if !(value.starts_with("https://") || loopback) {
        return Err(
            "The issuer must be an https URL (plain http only on localhost), as its tokens state it in iss."
                .into(),
        );
    }
    if value.contains(['?', '#']) || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The issuer may not contain spaces, a query (?…) or a fragment (#…).".into());
    }
    Ok(value.to_owned())
}

/// Algorithms separated by commas or spaces, each one an external issuer may sign with.
pub fn issuer_algorithms(raw: &str) -> Checked<Vec<String>> {
    let chosen: Vec<String> = raw
        .split([',', ' '])
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    if chosen.is_empty() {
        return Err(format!(
            "Name at least one algorithm: {}.",
            EXTERNAL_ALGS.join(", ")
        ));
    }
    if let Some(unknown) = chosen.iter().find(|a| !EXTERNAL_ALGS.contains(&a.as_str())) {
        return Err(format!(
            "{unknown} is not accepted from an external issuer; choose among {}.",
            EXTERNAL_ALGS.join(", ")
        ));
    }
    Ok(chosen)
}

/// `name=value` pairs separated by commas: claims the issuer's tokens must carry.
pub fn required_claims(raw: &str) -> Checked<BTreeMap<String, String>> {
    let mut claims = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("{pair:?} is not name=value."));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            return Err(format!("{pair:?} needs both a claim name and a value."));
        }
        claims.insert(name.to_owned(), value.to_owned());
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwk_set_is_json_with_public_keys() {
        assert!(jwks(r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]}"#).is_ok());
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty": "EC", "d": "secret"}]}"#,
            r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#,
        ] {
            assert!(jwks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes_are_name_value_lines() {
        assert_eq!(attribute_list(" \n"), Ok(BTreeMap::new()));
        assert_eq!(
            attribute_list("department = R&D\n\n cost_center=4=2 \n"),
            Ok(BTreeMap::from([
                ("cost_center".to_owned(), "4=2".to_owned()),
                ("department".to_owned(), "R&D".to_owned()),
            ]))
        );
        for bad in ["department", "a=1\na=2", "email=x", "a=", "=x", "1a=x"] {
            assert!(attribute_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn trusted_issuers() {
        assert!(issuer_url("https://example.okta.com/oauth2/default").is_ok());
        assert!(issuer_url("http://127.0.0.1:4000").is_ok());
        assert!(issuer_url("http://localhost").is_ok());
        for bad in [
            "",
            "http://idp.example.com",
            "http://localhost.evil.com",
            "https://a.example/?x=1",
            "https://a.example/#f",
            "ftp://a",
        ] {
            assert!(issuer_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            issuer_algorithms("RS256, ES256").unwrap(),
            ["RS256", "ES256"]
        );
        assert!(issuer_algorithms(" ").is_err());
        assert!(issuer_algorithms("HS256").is_err());
        let claims = required_claims(" tid = t1 , groups=shop").unwrap();
        assert_eq!(claims.get("tid").map(String::as_str), Some("t1"));
        assert_eq!(claims.len(), 2);
        assert!(required_claims("").unwrap().is_empty());
        assert!(required_claims("tid").is_err());
        assert!(required_claims("=x").is_err());
    }

    #[test]
    fn usernames() {
        assert_eq!(username(" alice.b-2 ").as_deref(), Ok("alice.b-2"));
        assert!(username("").is_err());
        assert!(username("has space").is_err());
        assert!(username("semi;colon").is_err());
        assert!(username(&"a".repeat(MAX_USERNAME_LEN)).is_ok());
        assert!(username(&"a".repeat(MAX_USERNAME_LEN + 1)).is_err());
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(name(" Ada ", "A name").as_deref(), Ok("Ada"));
        assert_eq!(name("  ", "A name"), Err("A name is required.".into()));
        assert!(name(&"x".repeat(MAX_NAME_LEN + 1), "The name").is_err());
        assert_eq!(email("a@example.com").as_deref(), Ok("a@example.com"));
        for bad in ["", "a", "@example.com", "a@", "a@b@c", "a b@example.com"] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_keep_their_spaces() {
        assert!(password(&"x".repeat(MIN_PASSWORD_LEN - 1)).is_err());
        assert_eq!(password(" 0123456789").as_deref(), Ok(" 0123456789"));
        assert!(password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }

    #[test]
    fn server_ids_and_audiences() {
        assert_eq!(server_id(" orders ").as_deref(), Ok("orders"));
        for bad in ["", "..", "a/b", "a b", "é"] {
            assert!(server_id(bad).is_err(), "{bad:?}");
        }
        assert!(server_id(&"s".repeat(MAX_SERVER_ID_LEN + 1)).is_err());
        for good in [
            "api://orders",
            "https://api.example.com/v1",
            "urn:example:api",
        ] {
            assert_eq!(audience(good).as_deref(), Ok(good));
        }
        for bad in ["", "orders", "://x", "1api://x", "api://x#y", "api://a b"] {
            assert!(audience(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            audience_list(" api://a, api://b ").unwrap(),
            ["api://a", "api://b"]
        );
        assert_eq!(audience_list("").unwrap(), Vec::<String>::new());
        assert!(audience_list("api://a api://a").is_err());
        assert!(audience_list("api://a orders").is_err());
        assert!(extra_audiences("api://a", "api://a").is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("api://a{i}")).collect();
        assert!(extra_audiences(&eleven.join(" "), "api://x").is_err());
    }

    #[test]
    fn rule_fields() {
        assert_eq!(access_token_ttl(""), Ok(None));
        assert_eq!(access_token_ttl("120"), Ok(Some(120)));
        for bad in ["29", "86401", "2m", "-5"] {
            assert!(access_token_ttl(bad).is_err(), "{bad:?}");
        }
        assert_eq!(rule_scopes("  "), Ok(None));
        assert_eq!(
            rule_scopes("orders:read  orders:write")
                .unwrap()
                .unwrap()
                .to_string(),
            "orders:read orders:write"
        );
        assert!(rule_scopes("a\"b").is_err());
        assert_eq!(client_list(""), Ok(vec![]));
        assert_eq!(
            client_list("batch, svc-1 batch"),
            Ok(vec!["batch".to_owned(), "svc-1".to_owned()])
        );
        assert!(client_list("bad/id").is_err());
    }

    #[test]
    fn client_ids_are_optional() {
        assert_eq!(client_id("  "), Ok(None));
        assert_eq!(client_id("my-app_1.0"), Ok(Some("my-app_1.0".into())));
        assert!(client_id("with:colon").is_err());
        assert!(client_id(&"c".repeat(MAX_CLIENT_ID_LEN + 1)).is_err());
    }

    #[test]
    fn redirect_uri_lists() {
        assert_eq!(
            redirect_uris(
                "https://app.example/cb\n\n  http://localhost:8080/callback  \n",
                true
            ),
            Ok(vec![
                "https://app.example/cb".to_owned(),
                "http://localhost:8080/callback".to_owned()
            ])
        );
        assert!(redirect_uris("", true).is_err());
        assert_eq!(redirect_uris("", false), Ok(vec![]));
        for bad in [
            "app.example/cb",
            "ftp://x/cb",
            "https:///cb",
            "https://a.example/cb#frag",
            "https://a.example/c b",
        ] {
            assert!(redirect_uris(bad, true).is_err(), "{bad:?}");
        }
        assert!(redirect_uris("https://a.example/\nhttps://a.example/", true).is_err());
        let many = (0..=MAX_REDIRECT_URIS)
            .map(|i| format!("https://a.example/{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(redirect_uris(&many, true).is_err());
    }

    #[test]
    fn logout_uris() {
        assert_eq!(post_logout_redirect_uris(" \n"), Ok(vec![]));
        assert_eq!(
            post_logout_redirect_uris("https://app.example/bye\n"),
            Ok(vec!["https://app.example/bye".to_owned()])
        );
        assert!(post_logout_redirect_uris("https://app.example/#bye").is_err());
        assert_eq!(backchannel_logout_uri("  "), Ok(None));
        assert_eq!(
            backchannel_logout_uri(" https://app.example/logout "),
            Ok(Some("https://app.example/logout".to_owned()))
        );
        assert!(backchannel_logout_uri("app.example/logout").is_err());
    }

    #[test]
    fn scope_names() {
        assert_eq!(scope_name(" AccessAll ").as_deref(), Ok("AccessAll"));
        assert_eq!(scope_name("reports:read").as_deref(), Ok("reports:read"));
        assert!(scope_name("two words").is_err());
        assert!(scope_name("quo\"te").is_err());
        assert!(scope_name("").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(expiry_days(""), Ok(None));
        assert_eq!(expiry_days("30"), Ok(Some(30)));
        for bad in ["0", "-1", "3651", "1.5", "soon"] {
            assert!(expiry_days(bad).is_err(), "{bad:?}");
        }
        assert_eq!(event_limit("1000"), Ok(Some(1000)));
        assert!(event_limit("1001").is_err());
    }

    #[test]
    fn scope_lists_are_sorted() {
        let selected: BTreeSet<String> = ["products:read", "AccessAll"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(scope_list(&selected), "AccessAll products:read");
    }
}
