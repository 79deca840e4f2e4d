//! The checks the API makes of a Bearer token, in the order it makes them (the order of
//! `servers::verify_for_api` over `AccessTokens::verify`), each with what it expected and what
//! the token brought: the first that fails explains a refused token (see
//! [`explain`]). The verdict is always the real verifier's (`servers::verify_for_api`); this
//! only says why, on the refusal's path, so it costs nothing on an accepted token's.
//!
//! Nothing here trusts the token: its header and payload are read only to be described, and
//! its subject is named as the refused request's user only once its signature has verified
//! with a key of this server (a forged `sub` names nobody).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::admin::SigningAlg;
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims};

use super::Why;
use crate::access_token::{AccessTokens, LEEWAY_SECS, MAX_TOKEN_LEN, Signature};
use crate::clock::Timestamp;
use crate::state::AppState;
use crate::storage::{self, TokenRef, TokenStatus};

/// One check: its name, whether the token passed it, what it wanted and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub expected: String,
    pub got: String,
}

/// The checks made of a token, in order: up to the first that failed until the signature has
/// verified (nothing after it means anything before), every one after.
#[derive(Clone, Debug, Default)]
pub struct Diagnosis {
    pub checks: Vec<Check>,
    pub issuer: Option<String>,
    pub kid: Option<String>,
    pub jti: Option<String>,
    /// The user the token speaks for, once its signature verified with this server's key.
    pub user: Option<String>,
    /// The token's scope, once its signature verified with this server's key.
    pub scope: Option<shared::scope::ScopeSet>,
}

impl Diagnosis {
    fn pass(&mut self, name: &'static str, expected: impl Into<String>, got: impl Into<String>) {
        self.push(name, true, expected, got);
    }

    fn fail(
        mut self,
        name: &'static str,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) -> Self {
        self.push(name, false, expected, got);
        self
    }

    fn push(
        &mut self,
        name: &'static str,
        passed: bool,
        expected: impl Into<String>,
        got: impl Into<String>,
    ) {
        self.checks.push(Check {
            name,
            passed,
            expected: expected.into(),
            got: got.into(),
        });
    }

    /// The first check that failed.
    pub fn failed(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }
}

/// Why the API refused `token`, which its verifier refused with `verdict`: the first check
/// that failed, with the remedy.
pub async fn explain(state: &AppState, token: &str, now: Timestamp, verdict: &str) -> Why {
    // The database away: the refusal is still recorded, with the verifier's words.
    let diagnosis = diagnose(state, token, now).await.unwrap_or_default();
    let mut why = match diagnosis.failed() {
        Some(check) => Why::check(check.name)
            .expected(check.expected.clone())
            .got(check.got.clone())
            .remedy(remedy(check.name, state)),
        None => Why::check("verification").got(verdict.to_owned()),
    };
    why.issuer = diagnosis.issuer;
    why.kid = diagnosis.kid;
    why.jti = diagnosis.jti;
    why.user = diagnosis.user;
    why
}

/// What to do when the check `name` fails, in one sentence.
fn remedy(name: &str, state: &AppState) -> String {
    let audience = state.root.tokens.audience();
    match name {
        "format" => "send the access_token of the token response exactly as it was issued, after \"Bearer \"".into(),
        "typ" => "send an access token (typ at+jwt), not an ID token or another kind of JWT".into(),
        "alg" => "send a token signed by this server or an issuer this API trusts; the key decides the algorithm, never the header".into(),
        "header" => "send a token as its issuer signed it: this API trusts only the issuer's published keys, never one the token names".into(),
        "issuer" => format!("get a token from {} or from an issuer this API trusts (GET /admin/issuers lists them)", state.root.issuer),
        "kid" => "get a new token: the key that signed this one is not (or no longer) in its issuer's JWKS".into(),
        "signature" => "get a new token from its issuer: this one was changed after it was signed, or signed by someone else".into(),
        "audience" => format!("ask for a token for this API: resource={audience} (RFC 8707), or a server whose audience it is"),
        "exp" => "refresh the token (grant_type=refresh_token) or log in again".into(),
        "nbf" => "wait until the token's nbf, or fix the clock of the server that issued it".into(),
        "iat" => "log in again: the token was issued while the server's clock was ahead (the \
                  clock lab, reset since)"
            .into(),
        "claims" => "send a token issued by this server's token endpoint: it has every claim RFC 9068 §2.2 requires".into(),
        "revocation" => "log in again: this token, or the login it belongs to, was revoked".into(),
        _ => "get a new token".into(),
    }
}

/// The checks the API makes of `token`, in order (see [`Diagnosis`]); `Err` only when the
/// database did not answer (the issuer list, the revocation list).
pub async fn diagnose(state: &AppState, token: &str, now: Timestamp) -> storage::Result<Diagnosis> {
    let mut d = Diagnosis::default();
    let Some((header, payload)) = parts(token) else {
        let got = if token.len() > MAX_TOKEN_LEN {
            format!("{} bytes", token.len())
        } else {
            format!(
                "{} dot-separated part(s), not all base64url JSON objects",
                token.split('.').count()
            )
        };
        return Ok(d.fail(
            "format",
            format!("a JWT (RFC 7519): three base64url parts, header and payload JSON objects, at most {MAX_TOKEN_LEN} bytes"),
            got,
        ));
    };
    d.pass("format", "a JWT (RFC 7519)", "a JWT");
    d.kid = text(&header, "kid");
    d.issuer = text(&payload, "iss");
    d.jti = text(&payload, "jti");

    let Some(iss) = d.issuer.clone() else {
        return Ok(d.fail("issuer", "an iss claim", "no iss"));
    };
    let root = &state.root;
    let audience = root.tokens.audience();
    let tokens: &AccessTokens = if iss == root.issuer {
        &root.tokens
    } else if let Some(server) = state.servers.by_issuer(&iss, &root.issuer) {
        d.pass("issuer", "an issuer this API trusts", iss);
        if !server.tokens.issues_for(audience) {
            // The server is known, but issues for other APIs.
            let got = format!(
                "a server issuing for {}",
                server.tokens.audiences().join(", ")
            );
            return Ok(d.fail("audience", audience.to_owned(), got));
        }
        return signed(d, &server.tokens, token, (&header, &payload), state, now).await;
    } else {
        let trusted = state.db.trusted_issuers().await?;
        if trusted.iter().any(|t| t.issuer == iss) {
            // Its own verifier (keys fetched from the provider, its rules) said why.
            d.pass("issuer", "an issuer this API trusts", iss);
            return Ok(d);
        }
        let mut known = vec![root.issuer.clone()];
        known.extend(state.servers.issuers_for(audience));
        known.extend(trusted.into_iter().map(|t| t.issuer));
        known.truncate(8);
        return Ok(d.fail("issuer", format!("one of {}", known.join(", ")), iss));
    };
    d.pass("issuer", "an issuer this API trusts", iss);
    signed(d, tokens, token, (&header, &payload), state, now).await
}

/// The checks from the header on, for a token of this server's issuer `tokens`, whose header
/// and payload are `parts`. (A trusted external issuer has rules of its own: algorithms, `typ`,
/// keys from the provider; its verifier's answer is the one check after the issuer.)
async fn signed(
    mut d: Diagnosis,
    tokens: &AccessTokens,
    token: &str,
    (header, payload): (&serde_json::Value, &serde_json::Value),
    state: &AppState,
    now: Timestamp,
) -> storage::Result<Diagnosis> {
    let algs = SigningAlg::ALL.map(SigningAlg::as_str).join(", ");
    let alg_name = text(header, "alg").unwrap_or_else(|| "no alg".into());
    let alg = alg_name
        .parse::<jsonwebtoken::Algorithm>()
        .ok()
        .filter(|alg| {
            SigningAlg::ALL
                .iter()
                .any(|a| crate::keys::jwt_alg(*a) == *alg)
        });
    let Some(alg) = alg else {
        return Ok(d.fail("alg", format!("one of {algs}"), alg_name));
    };
    d.pass("alg", format!("one of {algs}"), alg_name.clone());

    let typ = text(header, "typ");
    let typ_ok = typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    });
    let expected_typ = "at+jwt (RFC 9068 §2.1)";
    let got_typ = typ.unwrap_or_else(|| "no typ".into());
    if !typ_ok {
        return Ok(d.fail("typ", expected_typ, got_typ));
    }
    d.pass("typ", expected_typ, got_typ);

    // RFC 8725 §3.1 and RFC 9068 §4: no critical extensions this API cannot honour, and no key
    // named by the token itself: only the issuer's published keys verify it.
    let named: Vec<&str> = ["crit", "jwk", "jku", "x5u", "x5c"]
        .into_iter()
        .filter(|name| header.get(*name).is_some_and(|v| !v.is_null()))
        .collect();
    let expected_header = "no crit, jwk, jku, x5u or x5c header parameter";
    if !named.is_empty() {
        return Ok(d.fail("header", expected_header, named.join(", ")));
    }
    d.pass("header", expected_header, "none of them");

    let Some(kid) = d.kid.clone() else {
        return Ok(d.fail("kid", "a kid header naming the issuer's key", "no kid"));
    };
    match tokens.signature(token, &kid, alg) {
        Signature::UnknownKid(known) => {
            let expected = format!("one of the issuer's keys: {}", known.join(", "));
            return Ok(d.fail("kid", expected, kid));
        }
        Signature::OtherAlg(key_alg) => {
            let expected = format!("{}, the algorithm of key {kid}", key_alg.as_str());
            return Ok(d.fail("alg", expected, alg_name.as_str()));
        }
        Signature::Invalid(key_alg) => {
            d.pass("kid", "one of the issuer's keys", kid.clone());
            let expected = format!("a valid {} signature by key {kid}", key_alg.as_str());
            return Ok(d.fail("signature", expected, "a signature that does not verify"));
        }
        Signature::Valid(key_alg) => {
            d.pass("kid", "one of the issuer's keys", kid.clone());
            let expected = format!("a valid {} signature by key {kid}", key_alg.as_str());
            d.pass("signature", expected, "valid");
        }
    }
    let claims: AccessTokenClaims = match serde_json::from_value(payload.clone()) {
        Ok(claims) => claims,
        Err(e) => {
            let expected = "iss, sub, aud, exp, iat, jti, client_id and scope (RFC 9068 §2.2)";
            return Ok(d.fail("claims", expected, e.to_string()));
        }
    };
    if claims.sub != claims.client_id {
        d.user = Some(claims.sub.clone());
    }
    d.scope = Some(claims.scope.clone());
    d.pass("claims", "the claims RFC 9068 §2.2 requires", "all of them");

    // Once the signature holds, every check is made and reported (the first that failed is
    // the refusal's), in the verifier's order: the issuer's own audiences (its signature
    // check), the times, revocation, then this API's audience.
    let audience = state.root.tokens.audience();
    let got_aud = claims.aud.to_string();
    let ours = claims.aud.iter().any(|aud| tokens.issues_for(aud));
    if !ours {
        d.push("audience", false, audience.to_owned(), got_aud.clone());
    }
    let clock = format!(
        "the server's clock says {} ({LEEWAY_SECS} s leeway)",
        now.rfc3339()
    );
    let exp = Timestamp::from_unix(claims.exp);
    let got_exp = format!("{} ({})", exp.rfc3339(), relative(now.secs_since(exp)));
    let live = claims.exp.saturating_add(LEEWAY_SECS) >= now.unix();
    d.push(
        "exp",
        live,
        format!("a time still to come: {clock}"),
        got_exp,
    );
    if let Some(nbf) = claims.nbf {
        let at = Timestamp::from_unix(nbf);
        let got_nbf = format!("{} ({})", at.rfc3339(), relative(now.secs_since(at)));
        let begun = nbf.saturating_sub(LEEWAY_SECS) <= now.unix();
        d.push(
            "nbf",
            begun,
            format!("a time already past: {clock}"),
            got_nbf,
        );
    }
    // This server's own tokens only (the external issuers' stop before these checks).
    let at = Timestamp::from_unix(claims.iat);
    d.push(
        "iat",
        claims.iat.saturating_sub(LEEWAY_SECS) <= now.unix(),
        format!("a time already past: {clock}"),
        format!("{} ({})", at.rfc3339(), relative(now.secs_since(at))),
    );

    // Revocation is read only for a token nothing else refuses: an expired one needs no read
    // (which could wait for a database that is away), and tells nobody whether it was revoked.
    if d.failed().is_none() {
        let status = state
            .db
            .token_status(TokenRef::of(&claims), LEEWAY_SECS)
            .await?;
        // Why, when its login was revoked: the grant says (a single token revoked at /revoke
        // leaves its grant alone).
        let grant = match (status, &claims.grant_id) {
            (TokenStatus::Revoked, Some(grant)) => state.db.grant_revocation(grant).await?,
            _ => None,
        };
        revocation(&mut d, &claims, status, grant);
    }
    if ours {
        let fits = claims.aud.contains(audience);
        d.push("audience", fits, audience.to_owned(), got_aud);
    }
    Ok(d)
}

/// The revocation check of `claims`, whose token the revocation list says is `status`;
/// `grant` is when and why its login was revoked, if it was.
fn revocation(
    d: &mut Diagnosis,
    claims: &AccessTokenClaims,
    status: TokenStatus,
    grant: Option<(Timestamp, Option<String>)>,
) {
    let expected = "not revoked, its client not deleted";
    let got = match status {
        TokenStatus::Live => "not revoked".to_owned(),
        TokenStatus::Revoked => match (&claims.grant_id, grant) {
            (Some(id), Some((at, reason))) => format!(
                "revoked with its login, grant {id}, at {}: {}",
                at.rfc3339(),
                reason.as_deref().unwrap_or("no reason recorded")
            ),
            _ => "the token itself was revoked at the revocation endpoint (RFC 7009)".to_owned(),
        },
        TokenStatus::ClientDeleted => {
            format!("client {} was deleted after issuing it", claims.client_id)
        }
    };
    d.push("revocation", status == TokenStatus::Live, expected, got);
}

/// The string `name` of the JSON object `value`.
fn text(value: &serde_json::Value, name: &str) -> Option<String> {
    value.get(name).and_then(|v| v.as_str()).map(str::to_owned)
}

/// The header and payload of a compact JWT, as JSON objects; `None` for anything else.
fn parts(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let object = |part: &str| {
        let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .filter(serde_json::Value::is_object)
    };
    Some((object(header)?, object(payload)?))
}

/// `secs` seconds ago (positive) or to come (negative), in words.
fn relative(secs: i64) -> String {
    match secs {
        0 => "now".into(),
        s if s > 0 => format!("{s} s ago"),
        s => format!("in {} s", -s),
    }
}
