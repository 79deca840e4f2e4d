//! The checks of an access token from a trusted external issuer, given that issuer's keys:
//! RFC 9068 §4 and RFC 8725 as for this server's own tokens, except what an external issuer
//! decides for itself (its `typ`, where it puts scopes, whether it sets `jti` or `client_id`).
//! Every refusal says what was expected and what the token had, once its signature has shown
//! the token to be the issuer's.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation, decode};
use serde_json::{Map, Value};
use shared::admin::ScopeClaim;
use shared::oauth::AccessTokenClaims;
use shared::scope::ScopeSet;

use super::fetch::ExternalKey;
use crate::access_token::check_times;
use crate::clock::Timestamp;
use crate::storage::StoredIssuer;

/// The header of a token said to be `issuer`'s, checked: its `alg` one `issuer` is trusted
/// with, no key of its own, nothing critical, and a `typ` (if any) of an access token.
pub fn header(token: &str, issuer: &StoredIssuer) -> Result<Header, String> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| "the access token's header is malformed".to_owned())?;
    let alg = format!("{:?}", header.alg);
    if !issuer.algorithms.contains(&alg) {
        return Err(format!(
            "the access token is signed with {alg}, but this API accepts {} from issuer {} \
             ({}) only",
            issuer.algorithms.join(", "),
            issuer.name,
            issuer.issuer
        ));
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(
            "the access token names its own key (jwk/jku/x5u/x5c); only the issuer's published keys are trusted"
                .into(),
        );
    }
    if header.crit.is_some() {
        return Err(
            "the access token has critical header parameters this API does not understand".into(),
        );
    }
    if let Some(typ) = header.typ.as_deref() {
        let access = ["JWT", "at+jwt", "application/at+jwt"]
            .iter()
            .any(|t| typ.eq_ignore_ascii_case(t));
        if !access {
            return Err(format!(
                "the token's typ header is {:?}: it is not an access token",
                clip(typ)
            ));
        }
    }
    Ok(header)
}

/// The key of `keys` that verifies a token with this header, if there is one: the one its
/// `kid` names (or the only key, for a token without `kid`), of the algorithm's family and, if
/// the key states an `alg`, of exactly that one.
pub fn key_for<'a>(keys: &'a [ExternalKey], header: &Header) -> Option<&'a ExternalKey> {
    let fits = |k: &&ExternalKey| {
        k.alg.is_none_or(|alg| alg == header.alg) && k.key.family() == header.alg.family()
    };
    match header.kid.as_deref() {
        Some(kid) => keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .find(fits),
        None => {
            let mut fitting = keys.iter().filter(fits);
            match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

/// Verifies `token`'s signature with `key`, then its claims for `issuer` at `now`, and reads
/// them as this API's claims.
pub fn claims(
    token: &str,
    alg: Algorithm,
    key: &ExternalKey,
    issuer: &StoredIssuer,
    now: Timestamp,
) -> Result<AccessTokenClaims, String> {
    let mut validation = Validation::new(alg);
    // Times against the server's clock, and the audience here, with what the token had.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_issuer(&[&issuer.issuer]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    let data =
        decode::<Map<String, Value>>(token, &key.key, &validation).map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => "the access token's signature is invalid".to_owned(),
            ErrorKind::InvalidIssuer => "the access token's iss is not its issuer's".to_owned(),
            ErrorKind::MissingRequiredClaim(claim) => {
                format!("the access token has no {claim} claim")
            }
            _ => "the access token is malformed (its claims are not what RFC 9068 defines)"
                .to_owned(),
        })?;
    let claims = data.claims;
    check_audience(&claims, issuer)?;
    let number = |name: &str| claims.get(name).and_then(Value::as_f64).map(|n| n as i64);
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| claims.get(*n).and_then(Value::as_str))
            .unwrap_or_default()
            .to_owned()
    };
    let exp = number("exp").ok_or("the access token's exp is not a number")?;
    // RFC 8693 §4.1 `act` and §4.4 `may_act`. An `act` that is not an object names no actor;
    // a `may_act` that is not one names nobody who may act (never anybody).
    let actor = |name: &str| {
        claims.get(name).map(|value| {
            serde_json::from_value::<shared::oauth::Actor>(value.clone()).unwrap_or_default()
        })
    };
    // A DPoP-bound token of that issuer (RFC 9449 §6.1) is taken only with its key's proof. A
    // token confirmed some other way (RFC 7800 §3.1: e.g. `x5t#S256`, RFC 8705 mTLS) is bound
    // to something this API cannot check: taken as a bearer token, the binding would be lost.
    let cnf = match claims.get("cnf") {
        None => None,
        Some(cnf) => match cnf.get("jkt").and_then(Value::as_str) {
            Some(jkt) if !jkt.is_empty() => Some(shared::oauth::Confirmation {
                jkt: jkt.to_owned(),
            }),
            _ => {
                return Err(format!(
                    "the access token is bound to its holder by a confirmation this API cannot \
                     check (cnf {}): it takes tokens bound by DPoP (cnf.jkt) or unbound ones",
                    clip(&cnf.to_string())
                ));
            }
        },
    };
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("the access token's sub is not a string")?
        .to_owned();
    let read = AccessTokenClaims {
        iss: issuer.issuer.clone(),
        sub,
        aud: shared::oauth::Audience::one(issuer.audience.clone()),
        exp,
        iat: number("iat").unwrap_or_default(),
        // Entra calls it `uti`; Okta calls the client `cid`, OpenID Connect `azp`.
        jti: text(&["jti", "uti"]),
        client_id: text(&["client_id", "cid", "azp", "appid"]),
        scope: scopes(&claims, issuer.scope_claim)?,
        nbf: number("nbf"),
        grant_id: None,
        cnf,
        act: actor("act").filter(|act| act.sub.is_some()),
        may_act: actor("may_act"),
    };
    check_times(&read, now).map_err(str::to_owned)?;
    for (name, wanted) in &issuer.required_claims {
        let holds = match claims.get(name) {
            Some(Value::String(s)) => s == wanted,
            Some(Value::Array(values)) => values.iter().any(|v| v.as_str() == Some(wanted)),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                serde_json::from_str::<Value>(wanted).is_ok_and(|w| w == *v)
            }
            _ => false,
        };
        if !holds {
            let got = match claims.get(name) {
                None => "none".to_owned(),
                Some(v) => clip(&v.to_string()),
            };
            return Err(format!(
                "the access token's {name} claim must be {wanted:?} for this API (issuer {}); \
                 the token has {got}",
                issuer.name
            ));
        }
    }
    Ok(read)
}

/// `aud` (a string or an array, RFC 7519 §4.1.3) must hold the audience this API requires.
fn check_audience(claims: &Map<String, Value>, issuer: &StoredIssuer) -> Result<(), String> {
    let holds = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == issuer.audience,
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str() == Some(issuer.audience.as_str())),
        _ => false,
    };
    if holds {
        return Ok(());
    }
    let got = match claims.get("aud") {
        None => "no aud".to_owned(),
        Some(aud) => format!("aud {}", clip(&aud.to_string())),
    };
    Err(format!(
        "the access token is meant for another audience: this API requires {:?} in tokens of \
         issuer {}, and the token has {got}",
        issuer.audience, issuer.name
    ))
}

/// The granted scopes, from `scope` (a space-separated string) or `scp` (an array of strings,
/// or a space-separated string as Entra ID sends it).
fn scopes(claims: &Map<String, Value>, from: ScopeClaim) -> Result<ScopeSet, String> {
    let name = from.as_str();
    let joined = match (claims.get(name), from) {
        (None, _) => return Ok(ScopeSet::default()),
        (Some(Value::String(s)), _) => s.clone(),
        (Some(Value::Array(values)), ScopeClaim::Scp) => {
            let mut words = Vec::with_capacity(values.len());
            for v in values {
                let word = v
                    .as_str()
                    .ok_or_else(|| format!("the access token's {name} holds a non-string"))?;
                words.push(word);
            }
            words.join(" ")
        }
        (Some(_), _) => {
            return Err(format!(
                "the access token's {name} claim is not {}",
                match from {
                    ScopeClaim::Scope => "a space-separated string",
                    ScopeClaim::Scp => "an array of strings",
                }
            ));
        }
    };
    ScopeSet::parse(&joined)
        .map_err(|e| format!("the access token's {name} claim is not a list of scopes: {e}"))
}

/// At most 100 characters of text a token chose, for a description.
pub fn clip(text: &str) -> String {
    text.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use shared::admin::{KeyState, SigningAlg};

    use super::*;
    use crate::issuers::fetch::parse_jwks;
    use crate::keys::{self, KeySet, Owner};
    use crate::storage::StoredServer;

    const ISSUER: &str = "https://idp.example.com/oauth2/default";
    const AUD: &str = "api://shop";

    /// A provider's key set (an RS256 or EdDSA one, made as this server makes its own), and its
    /// keys as the API reads them from its JWKS.
    fn provider(alg: SigningAlg) -> (KeySet, Vec<ExternalKey>) {
        let now = Timestamp::from_unix(1_700_000_000);
        let stored = keys::generate("idp", alg, KeyState::Current, now).unwrap();
        let owner = Owner::of(&StoredServer {
            id: "idp".into(),
            name: "idp".into(),
            description: String::new(),
            audience: AUD.into(),
            extra_audiences: Default::default(),
            signing_alg: alg,
            created_at: now,
            generation: String::new(),
            require_pushed_requests: false,
        });
        let set = KeySet::access_only(&[stored], &owner).unwrap();
        let jwks = serde_json::to_vec(set.jwks()).unwrap();
        let (external, skipped) = parse_jwks(&jwks).unwrap();
        assert!(skipped.is_empty());
        (set, external)
    }

    fn trusted(changes: impl FnOnce(&mut StoredIssuer)) -> StoredIssuer {
        let mut issuer = StoredIssuer {
            id: "okta".into(),
            name: "Okta".into(),
            issuer: ISSUER.into(),
            audience: AUD.into(),
            algorithms: vec!["RS256".into()],
            scope_claim: ScopeClaim::Scope,
            required_claims: BTreeMap::new(),
            created_at: Timestamp::from_unix(0),
        };
        changes(&mut issuer);
        issuer
    }

    fn now() -> Timestamp {
        Timestamp::from_unix(1_700_000_100)
    }

    fn claims_of(extra: Value) -> Value {
        let mut claims = json!({"iss": ISSUER, "sub": "svc", "aud": AUD, "iat": 1_700_000_000,
            "exp": 1_700_000_900, "cid": "svc", "jti": "j1", "scope": "products:read"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    }

    fn check(
        set: &KeySet,
        keys: &[ExternalKey],
        issuer: &StoredIssuer,
        claims: Value,
        typ: Option<&str>,
    ) -> Result<AccessTokenClaims, String> {
        let token = set.sign(&claims, typ).unwrap();
        let header = header(&token, issuer)?;
        let key = key_for(keys, &header).ok_or("no key")?;
        super::claims(&token, header.alg, key, issuer, now())
    }

    #[test]
    fn a_good_token_is_read_as_this_apis_claims() {
        let (set, keys) = provider(SigningAlg::Rs256);
        let read = check(
            &set,
            &keys,
            &trusted(|_| {}),
            claims_of(json!({})),
            Some("JWT"),
        )
        .unwrap();
        assert_eq!(read.iss, ISSUER);
        assert_eq!(read.sub, "svc");
        assert_eq!(read.client_id, "svc", "Okta's cid");
        assert_eq!(read.scope.to_string(), "products:read");
        // `aud` as an array holding the audience; Okta's `scp` array; no typ at all.
        let scp = trusted(|i| i.scope_claim = ScopeClaim::Scp);
        let read = check(
            &set,
            &keys,
            &scp,
            claims_of(
                json!({"aud": ["other", AUD], "scp": ["orders:read", "profile"], "scope": null}),
            ),
            None,
        )
        .unwrap();
        assert_eq!(read.scope.to_string(), "orders:read profile");
        // Entra ID's space-separated `scp`.
        let read = check(&set, &keys, &scp, claims_of(json!({"scp": "a b"})), None).unwrap();
        assert_eq!(read.scope.to_string(), "a b");
    }

    #[test]
    fn each_flaw_is_refused_with_what_was_expected() {
        let (set, keys) = provider(SigningAlg::Rs256);
        let okta = trusted(|_| {});
        let refused = |claims: Value, typ: Option<&str>, issuer: &StoredIssuer| {
            check(&set, &keys, issuer, claims, typ).unwrap_err()
        };
        let e = refused(claims_of(json!({"aud": "api://other"})), None, &okta);
        assert!(
            e.contains(r#"requires "api://shop""#) && e.contains(r#"aud "api://other""#),
            "{e}"
        );
        let e = refused(claims_of(json!({"aud": null})), None, &okta);
        assert!(e.contains("no aud"), "{e}");
        let e = refused(claims_of(json!({"exp": 1_700_000_000 - 60})), None, &okta);
        assert!(e.contains("expired"), "{e}");
        let e = refused(claims_of(json!({"nbf": 1_700_000_200})), None, &okta);
        assert!(e.contains("not valid yet"), "{e}");
        let e = refused(
            claims_of(json!({"iss": "https://evil.example.com"})),
            None,
            &okta,
        );
        assert!(e.contains("iss"), "{e}");
        let e = refused(claims_of(json!({"sub": null})), None, &okta);
        assert!(e.contains("sub"), "{e}");
        let e = refused(claims_of(json!({"sub": 7})), None, &okta);
        assert!(e.contains("malformed") || e.contains("sub"), "{e}");
        let e = refused(claims_of(json!({"scope": ["a"]})), None, &okta);
        assert!(e.contains("space-separated string"), "{e}");
        let e = refused(claims_of(json!({"scope": "a\"b"})), None, &okta);
        assert!(e.contains("not a list of scopes"), "{e}");
        // RFC 9449 §6.1: a DPoP binding is kept; one this API cannot check is refused.
        let bound = check(
            &set,
            &keys,
            &okta,
            claims_of(json!({"cnf": {"jkt": "abc"}})),
            None,
        )
        .unwrap();
        assert_eq!(bound.cnf.unwrap().jkt, "abc");
        for cnf in [json!({"x5t#S256": "abc"}), json!({"jkt": ""}), json!("abc")] {
            let e = refused(claims_of(json!({ "cnf": cnf })), None, &okta);
            assert!(e.contains("cannot check"), "{e}");
        }
        let e = refused(claims_of(json!({})), Some("id_token+jwt"), &okta);
        assert!(e.contains("not an access token"), "{e}");
        let es256_only = trusted(|i| i.algorithms = vec!["ES256".into()]);
        let e = refused(claims_of(json!({})), None, &es256_only);
        assert!(
            e.contains("signed with RS256, but this API accepts ES256"),
            "{e}"
        );

        let tenant = trusted(|i| {
            i.required_claims = BTreeMap::from([
                ("tid".to_owned(), "t1".to_owned()),
                ("groups".to_owned(), "shop".to_owned()),
            ]);
        });
        let read = check(
            &set,
            &keys,
            &tenant,
            claims_of(json!({"tid": "t1", "groups": ["x", "shop"]})),
            None,
        );
        assert!(read.is_ok(), "{read:?}");
        let e = refused(
            claims_of(json!({"tid": "t2", "groups": ["shop"]})),
            None,
            &tenant,
        );
        assert!(
            e.contains(r#"tid claim must be "t1""#) && e.contains(r#""t2""#),
            "{e}"
        );
        let e = refused(claims_of(json!({"tid": "t1"})), None, &tenant);
        assert!(e.contains("groups") && e.contains("none"), "{e}");
    }

    #[test]
    fn the_key_is_the_one_its_kid_names_of_the_tokens_algorithm() {
        let (rsa, rsa_keys) = provider(SigningAlg::Rs256);
        let (ed, ed_keys) = provider(SigningAlg::EdDsa);
        let both = trusted(|i| i.algorithms = vec!["RS256".into(), "EdDSA".into()]);
        let mut keys = rsa_keys;
        keys.extend(ed_keys);
        assert!(check(&rsa, &keys, &both, claims_of(json!({})), None).is_ok());
        assert!(check(&ed, &keys, &both, claims_of(json!({})), None).is_ok());
        // A token whose kid names the RSA key but is EdDSA-signed finds no key.
        let token = ed.sign(&claims_of(json!({})), None).unwrap();
        let mut header = header(&token, &both).unwrap();
        header.kid = Some(rsa.signing_kid().to_owned());
        assert!(key_for(&keys, &header).is_none());
        // Without a kid: the only key of its family, and none when there are two of them.
        header.kid = None;
        assert!(key_for(&keys, &header).is_some());
        let (_, more) = provider(SigningAlg::EdDsa);
        keys.extend(more);
        assert!(key_for(&keys, &header).is_none());
    }
}
