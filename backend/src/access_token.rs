//! Access tokens in the JWT profile of RFC 9068, and OpenID Connect ID tokens: what the
//! authorization server ([`crate::oauth`]) signs and the API ([`crate::api`]) verifies, with
//! the keys of [`crate::keys`]. Both sides use this one module, so they cannot disagree about
//! what a valid token is.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::admin::SigningAlg;
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims, Audience, Confirmation, TokenResponse};
use shared::scope::ScopeSet;

use crate::clock::Timestamp;
use crate::config::Config;
use crate::crypto;
use crate::keys::{KeyRing, KeySet, jwt_alg};
use crate::storage::{self, Db, TokenRef, TokenStatus, User};

/// Tokens this server issues are under 3 KiB (custom claims add at most
/// [`shared::admin::MAX_CLAIMS_LEN`] bytes); anything larger than this is refused before parsing.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp` and `nbf` (RFC 8725 §3.10 asks for a small one).
pub const LEEWAY_SECS: i64 = 30;

/// A freshly signed access token: the response to send, and the id and expiry to record.
pub struct Issued {
    pub response: TokenResponse,
    pub jti: String,
    pub expires_at: Timestamp,
}

pub use crate::keys::SigningError;

/// Issues and verifies this server's tokens: its issuer, the audience the API requires, the
/// signing keys, and the claim checks built once at start-up (verification runs on every API
/// request).
pub struct AccessTokens {
    issuer: String,
    /// The audiences it issues for, the default one first (the one the root's API requires).
    audiences: Vec<String>,
    keys: Arc<KeyRing>,
    /// The claim checks, one per algorithm: a token is checked with the one of the key it
    /// names, so its header's `alg` must be that key's (RFC 8725 §3.1).
    validations: Vec<(SigningAlg, Validation)>,
    verified: RwLock<Verified>,
}

/// Access tokens that passed every check, by their exact text, so that a token presented again
/// (a client calls the API many times with one token) costs a hash lookup instead of an ECDSA
/// verification. Everything [`AccessTokens::verify`] checks but `exp` and `nbf` gives the same
/// answer for the same text and keys; the times are checked again at each use, and a change of
/// the key set (rotation, a key withdrawn) empties the cache. Revocation is not cached here:
/// it is checked at each use ([`AccessTokens::verify_live`]).
struct Verified {
    keys: Arc<KeySet>,
    tokens: HashMap<Box<str>, AccessTokenClaims>,
}

/// At most this many tokens are remembered (a few MiB); when full, expired ones are dropped,
/// or all of them if none has expired.
const VERIFIED_CAPACITY: usize = 4096;

/// See [`AccessTokens::signature`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    /// No key of this issuer has the `kid`: the key ids it has.
    UnknownKid(Vec<String>),
    /// The key is for this other algorithm.
    OtherAlg(SigningAlg),
    Invalid(SigningAlg),
    Valid(SigningAlg),
}

/// What a subject's token is issued with.
pub struct Subject<'a> {
    /// A user id, or the client id for client credentials.
    pub sub: &'a str,
    pub client_id: &'a str,
    /// The grant it is issued under; `None` for client credentials.
    pub grant_id: Option<&'a str>,
    pub scope: ScopeSet,
    /// The access token's lifetime in seconds.
    pub lifetime: u64,
    /// The audiences a request named (RFC 8707), among the issuer's; `None` for its default.
    pub audience: Option<Audience>,
    /// The thumbprint of the key of the request's DPoP proof (RFC 9449): the token is bound to
    /// it (`cnf.jkt`) and is a `DPoP` token; `None` for a bearer token.
    pub jkt: Option<&'a str>,
    /// RFC 8693 §4.1: who acts for `sub`, on a token a token exchange issues; else `None`.
    pub act: Option<shared::oauth::Actor>,
}

impl AccessTokens {
    /// The root issuer's tokens, as configured: for the API's audience, and the other APIs'
    /// (which verify here, for introspection and revocation; the API checks its own is among a
    /// token's, see `servers::verify_for_api`).
    pub fn new(config: &Config, keys: Arc<KeyRing>) -> Self {
        let audiences: Vec<&str> = std::iter::once(config.audience.as_str())
            .chain(config.extra_audiences.iter().map(String::as_str))
            .collect();
        Self::of_issuer(config.issuer_str(), &audiences, keys)
    }

    /// The tokens of the issuer `issuer` (the root's or an authorization server's), for
    /// `audiences` (its default one first; a token for any of them verifies), signed with
    /// `keys`.
    pub fn of_issuer(issuer: &str, audiences: &[&str], keys: Arc<KeyRing>) -> Self {
        assert!(!audiences.is_empty(), "an issuer issues for some audience");
        let validation = |alg| {
            let mut validation = Validation::new(jwt_alg(alg));
            // `exp` and `nbf` are checked against the server's clock below, not the system's.
            validation.validate_exp = false;
            validation.validate_nbf = false;
            validation.set_issuer(&[issuer]);
            validation.set_audience(audiences);
            // `iat`, `jti`, `client_id` and `scope` are required by the claims type itself.
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            (alg, validation)
        };
        Self {
            issuer: issuer.to_owned(),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            verified: RwLock::new(Verified {
                keys: keys.get(),
                tokens: HashMap::new(),
            }),
            keys,
            validations: SigningAlg::ALL.into_iter().map(validation).collect(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its default audience.
    pub fn audience(&self) -> &str {
        &self.audiences[0]
    }

    /// Every audience it issues for, its default one first.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    pub fn issues_for(&self, audience: &str) -> bool {
        self.audiences.iter().any(|a| a == audience)
    }

    /// Signs an access token for `subject` at `now`.
    pub fn issue(&self, subject: Subject<'_>, now: Timestamp) -> Result<Issued, SigningError> {
        self.issue_with(subject, &BTreeMap::new(), now)
    }

    /// Signs an access token for `subject` at `now` carrying `custom` claims too (an
    /// authorization server's; the names it sets itself are never among them).
    pub fn issue_with(
        &self,
        subject: Subject<'_>,
        custom: &BTreeMap<String, serde_json::Value>,
        now: Timestamp,
    ) -> Result<Issued, SigningError> {
        /// The claims as signed: the standard ones first, then the custom ones.
        #[derive(Serialize)]
        struct Signed<'a> {
            #[serde(flatten)]
            standard: &'a AccessTokenClaims,
            #[serde(flatten)]
            custom: &'a BTreeMap<String, serde_json::Value>,
        }
        let lifetime = subject.lifetime;
        let claims = self.claims(subject, now);
        // Without custom claims (every root token), the struct alone: `flatten` serializes
        // through a map, which costs on the issuance path for nothing.
        let access_token = if custom.is_empty() {
            self.sign(&claims, Some(ACCESS_TOKEN_TYP))?
        } else {
            let signed = Signed {
                standard: &claims,
                custom,
            };
            self.sign(&signed, Some(ACCESS_TOKEN_TYP))?
        };
        Ok(Issued {
            response: TokenResponse {
                access_token,
                token_type: if claims.cnf.is_some() {
                    "DPoP"
                } else {
                    "Bearer"
                }
                .into(),
                expires_in: lifetime,
                scope: claims.scope,
                refresh_token: None,
                id_token: None,
                issued_token_type: None,
            },
            jti: claims.jti,
            expires_at: Timestamp::from_unix(claims.exp),
        })
    }

    /// The claims of an access token for `subject` issued at `now` (with a new `jti`).
    pub fn claims(&self, subject: Subject<'_>, now: Timestamp) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: self.issuer.clone(),
            sub: subject.sub.to_owned(),
            aud: subject
                .audience
                .unwrap_or_else(|| Audience::one(self.audience())),
            exp: now.after(subject.lifetime).unix(),
            iat: now.unix(),
            // 128 bits: unique without coordination between instances.
            jti: crypto::random_token(16),
            client_id: subject.client_id.to_owned(),
            scope: subject.scope,
            nbf: None,
            grant_id: subject.grant_id.map(str::to_owned),
            cnf: subject.jkt.map(|jkt| Confirmation {
                jkt: jkt.to_owned(),
            }),
            act: subject.act,
            may_act: None,
        }
    }

    /// [`AccessTokens::verify`], and not revoked, and its client not deleted: what every reader
    /// of access tokens (the API, introspection, the backend-for-frontend) must check. RFC 7009
    /// §2.1: revocation invalidates the token. A token revoked at `/revoke` or with its grant
    /// (logout, a reused refresh token, a replayed code, a disabled user) or its client is
    /// refused by the instance that revoked it at once, and by every other instance once it
    /// has read the revocation list again (see [`Db::token_status`]): no database read per
    /// request. The outer error is the database's; the inner one says why the token is refused.
    pub async fn verify_live(
        &self,
        db: &Db,
        token: &str,
        now: Timestamp,
    ) -> storage::Result<Result<AccessTokenClaims, &'static str>> {
        let claims = match self.verify(token, now) {
            Ok(claims) => claims,
            Err(why) => return Ok(Err(why)),
        };
        let status = db.token_status(TokenRef::of(&claims), LEEWAY_SECS).await?;
        Ok(match status {
            TokenStatus::Live => Ok(claims),
            TokenStatus::Revoked => Err("the access token was revoked"),
            TokenStatus::ClientDeleted => {
                Err("the client this access token was issued to has been deleted")
            }
        })
    }

    /// Verifies an access token as RFC 9068 §4 and RFC 8725 ask: the key comes from this
    /// issuer's own key set by `kid` (never from `jwk`/`jku`/`x5u`/`x5c` headers) and fixes the
    /// algorithm (the header's must be the key's, one of an allow-list), and `typ`, `iss`, `aud`, `exp` and `nbf`
    /// are all checked, times against `now`. The error says why, in words for a developer.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<AccessTokenClaims, &'static str> {
        let keys = self.keys.get();
        {
            let verified = self.verified.read().unwrap_or_else(PoisonError::into_inner);
            if Arc::ptr_eq(&verified.keys, &keys)
                && let Some(claims) = verified.tokens.get(token)
            {
                check_times(claims, now)?;
                check_issued(claims, now)?;
                return Ok(claims.clone());
            }
        }
        let claims = self.verify_signed(token, &keys)?;
        check_times(&claims, now)?;
        check_issued(&claims, now)?;
        let mut verified = self
            .verified
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !Arc::ptr_eq(&verified.keys, &keys) {
            verified.keys = keys;
            verified.tokens.clear();
        }
        if verified.tokens.len() >= VERIFIED_CAPACITY {
            verified
                .tokens
                .retain(|_, claims| check_times(claims, now).is_ok());
            if verified.tokens.len() >= VERIFIED_CAPACITY {
                verified.tokens.clear();
            }
        }
        verified.tokens.insert(token.into(), claims.clone());
        Ok(claims)
    }

    /// Everything [`AccessTokens::verify`] checks but the times, with the key set `keys`.
    fn verify_signed(&self, token: &str, keys: &KeySet) -> Result<AccessTokenClaims, &'static str> {
        if token.len() > MAX_TOKEN_LEN {
            return Err("the access token is too long");
        }
        if token.split('.').count() != 3 {
            return Err("the access token is not a JWT (expected three dot-separated parts)");
        }
        let header = decode_header(token).map_err(|_| "the access token's header is malformed")?;
        let Some(&(alg, ref validation)) = self
            .validations
            .iter()
            .find(|(alg, _)| jwt_alg(*alg) == header.alg)
        else {
            return Err(
                "the access token is not signed with ES256, RS256 or EdDSA, the algorithms this API accepts",
            );
        };
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err("the token is not an access token (its typ header is not at+jwt)");
        }
        if header.crit.is_some() {
            return Err(
                "the access token has critical header parameters this API does not understand",
            );
        }
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(
                "the access token names its own key (jwk/jku/x5u/x5c); only the issuer's keys are trusted",
            );
        }
        let kid = header.kid.ok_or("the access token has no kid header")?;
        let (key_alg, key) = keys
            .verifying_key(&kid)
            .ok_or("the access token was signed by an unknown key")?;
        if key_alg != alg {
            return Err(
                "the access token's alg is not the algorithm of the key its kid names (the key decides, never the header)",
            );
        }

        let data =
            decode::<AccessTokenClaims>(token, key, validation).map_err(|e| match e.kind() {
                ErrorKind::InvalidIssuer => "the access token was issued by another issuer",
                ErrorKind::InvalidAudience => "the access token is meant for another audience",
                ErrorKind::InvalidSignature => "the access token's signature is invalid",
                ErrorKind::MissingRequiredClaim(_) => "the access token lacks a required claim",
                _ => "the access token is malformed",
            })?;
        Ok(data.claims)
    }

    /// What this issuer's key set says about `token`'s signature by the key `kid`, with the
    /// header's `alg`: for explaining a refusal (see [`crate::refusals::bearer`]), never for
    /// accepting a token, since no claim is checked.
    pub fn signature(&self, token: &str, kid: &str, alg: jsonwebtoken::Algorithm) -> Signature {
        let keys = self.keys.get();
        let Some((key_alg, key)) = keys.verifying_key(kid) else {
            return Signature::UnknownKid(keys.jwks().keys.iter().map(|k| k.kid.clone()).collect());
        };
        if jwt_alg(key_alg) != alg {
            return Signature::OtherAlg(key_alg);
        }
        let mut validation = Validation::new(alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        match decode::<serde_json::Value>(token, key, &validation) {
            Ok(_) => Signature::Valid(key_alg),
            Err(_) => Signature::Invalid(key_alg),
        }
    }

    /// An OpenID Connect ID token for `login`, to go with `response`'s access token, with the
    /// user's claims that the granted scope allows and the server's `custom` claims.
    pub fn id_token(
        &self,
        response: &TokenResponse,
        login: &Authentication<'_>,
        custom: &BTreeMap<String, serde_json::Value>,
        now: Timestamp,
    ) -> Result<String, SigningError> {
        let digest = Sha256::digest(response.access_token.as_bytes());
        let mut claims = self.id_claims(login, &response.scope, response.expires_in, custom, now);
        claims.at_hash = Some(URL_SAFE_NO_PAD.encode(&digest[..16]));
        self.keys.get().sign_id_token(&claims)
    }

    /// The claims of the ID token of `login`, granted `scope`, to go with an access token that
    /// lives `expires_in` seconds (without `at_hash`, which needs that token).
    pub fn id_claims<'a>(
        &'a self,
        login: &Authentication<'a>,
        scope: &ScopeSet,
        expires_in: u64,
        custom: &'a BTreeMap<String, serde_json::Value>,
        now: Timestamp,
    ) -> IdTokenClaims<'a> {
        let (profile, email) = (scope.contains("profile"), scope.contains("email"));
        let user = login.user;
        IdTokenClaims {
            iss: &self.issuer,
            sub: &user.id,
            aud: login.client_id,
            // As long as the access token issued with it.
            exp: now.after(expires_in).unix(),
            iat: now.unix(),
            auth_time: login.auth_time.unix(),
            nonce: login.nonce,
            sid: login.sid,
            at_hash: None,
            preferred_username: profile.then_some(user.username.as_str()),
            name: profile.then_some(user.name.as_str()),
            email: email.then_some(user.email.as_str()),
            custom,
        }
    }

    /// Signs `claims` with the current access-token key, naming it in `kid`, with the header
    /// `typ`.
    fn sign(&self, claims: &impl Serialize, typ: Option<&str>) -> Result<String, SigningError> {
        self.keys.get().sign(claims, typ)
    }
}

/// This server's own tokens: not issued later than `now` (beyond [`LEEWAY_SECS`]). A token
/// "from the future" comes from a clock that was ahead (the clock lab, set back since): it
/// would outlive the revocation list, which keeps an entry only as long as a token can live.
pub(crate) fn check_issued(claims: &AccessTokenClaims, now: Timestamp) -> Result<(), &'static str> {
    if claims.iat.saturating_sub(LEEWAY_SECS) > now.unix() {
        return Err(
            "the access token was issued in the future (iat): the server's clock was ahead",
        );
    }
    Ok(())
}

/// `exp` and `nbf` against `now`, with [`LEEWAY_SECS`] of tolerance.
pub(crate) fn check_times(claims: &AccessTokenClaims, now: Timestamp) -> Result<(), &'static str> {
    if claims.exp.saturating_add(LEEWAY_SECS) < now.unix() {
        return Err("the access token expired");
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf.saturating_sub(LEEWAY_SECS) > now.unix())
    {
        return Err("the access token is not valid yet (nbf)");
    }
    Ok(())
}

/// OpenID Connect Core §2 ID token claims.
#[derive(Serialize)]
pub struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// The client, never the API: this is what keeps an ID token from passing as an access token.
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    /// Back-Channel Logout 1.0 §2.1 (and Front-Channel Logout §3): the login's id, which a
    /// logout token names too. Here a login is a grant: its refresh-token family.
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    /// §3.1.3.6: binds the ID token to the access token issued with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    at_hash: Option<String>,
    /// §5.4: with `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// §5.4: with `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    /// The authorization server's custom claims for ID tokens (never a name above: those are
    /// reserved).
    #[serde(flatten)]
    custom: &'a BTreeMap<String, serde_json::Value>,
}

/// The login an ID token speaks about.
pub struct Authentication<'a> {
    pub user: &'a User,
    pub client_id: &'a str,
    pub auth_time: Timestamp,
    pub nonce: Option<&'a str>,
    /// The login (grant) the ID token is issued under: its `sid`.
    pub sid: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeySet, generate};
    use clap::Parser;
    use shared::admin::KeyState;

    fn tokens() -> AccessTokens {
        let config = Config::try_parse_from(["backend"]).unwrap();
        let keys: Vec<_> = crate::keys::Owner::root()
            .algs()
            .into_iter()
            .map(|alg| generate("", alg, KeyState::Current, Timestamp::from_unix(0)).unwrap())
            .collect();
        let owner = crate::keys::Owner::root();
        let ring = KeyRing::new(owner.clone(), KeySet::from_stored(&keys, &owner).unwrap());
        AccessTokens::new(&config, Arc::new(ring))
    }

    fn subject(lifetime: u64) -> Subject<'static> {
        Subject {
            sub: "usr_1",
            client_id: "demo-spa",
            grant_id: Some("grant-1"),
            scope: ScopeSet::parse("orders:read").unwrap(),
            lifetime,
            audience: None,
            jkt: None,
            act: None,
        }
    }

    #[test]
    fn expiry_is_checked_against_the_given_time_with_leeway() {
        let tokens = tokens();
        let t0 = Timestamp::from_unix(1_000_000);
        let issued = tokens.issue(subject(900), t0).unwrap();
        let token = &issued.response.access_token;
        assert_eq!(issued.expires_at, t0.plus_secs(900));
        assert!(tokens.verify(token, t0).is_ok());
        assert!(
            tokens
                .verify(token, t0.plus_secs(900 + LEEWAY_SECS))
                .is_ok()
        );
        assert_eq!(
            tokens.verify(token, t0.plus_secs(900 + LEEWAY_SECS + 1)),
            Err("the access token expired")
        );
    }

    #[test]
    fn another_servers_key_is_unknown() {
        let issued = tokens()
            .issue(subject(60), Timestamp::from_unix(1_000_000))
            .unwrap();
        assert_eq!(
            tokens().verify(
                &issued.response.access_token,
                Timestamp::from_unix(1_000_000)
            ),
            Err("the access token was signed by an unknown key")
        );
    }
}
