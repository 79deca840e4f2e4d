//! Access tokens in the JWT profile of RFC 9068, and OpenID Connect ID tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Header, Validation, decode, decode_header};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims, TokenResponse};
use shared::scope::ScopeSet;

use super::error::OAuthError;
use super::keys::ALGORITHM;
use crate::config::Config;
use crate::crypto;
use crate::state::AppState;
use crate::storage::{Client, User, now};

/// A freshly signed access token: the response to send, and the id and expiry to record.
pub struct Issued {
    pub response: TokenResponse,
    pub jti: String,
    pub expires_at: i64,
}

/// Signs an access token for `sub` (a user id, or the client id for client credentials), with
/// the client's own lifetime if it has one.
pub fn issue(
    state: &AppState,
    sub: &str,
    client: &Client,
    scope: ScopeSet,
) -> Result<Issued, OAuthError> {
    let ttl = client.access_token_ttl(state.config.access_token_ttl);
    let iat = now();
    let claims = AccessTokenClaims {
        iss: state.config.issuer_str().to_owned(),
        sub: sub.to_owned(),
        aud: state.config.audience.clone(),
        exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX),
        iat,
        // 128 bits: unique without coordination between instances.
        jti: crypto::random_token(16),
        client_id: client.id.clone(),
        scope,
    };
    let keys = state.keys.get();
    let (kid, key) = keys.signing();
    let mut header = Header::new(ALGORITHM);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(kid.to_owned());
    let access_token =
        jsonwebtoken::encode(&header, &claims, key).map_err(OAuthError::server_error)?;
    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ttl,
            scope: claims.scope,
            refresh_token: None,
            id_token: None,
        },
        jti: claims.jti,
        expires_at: claims.exp,
    })
}

/// Tokens this server issues are under 1 KiB; anything far larger is refused before parsing.
pub const MAX_TOKEN_LEN: usize = 4096;
/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC 8725 §3.10 asks for a small one).
const LEEWAY_SECS: u64 = 30;

/// The claim checks every access token gets, built once at start-up: this runs on every API
/// request.
pub fn validation(config: &Config) -> Validation {
    let mut validation = Validation::new(ALGORITHM);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[config.issuer_str()]);
    validation.set_audience(&[&config.audience]);
    // `iat`, `jti`, `client_id` and `scope` are required by the claims type itself.
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// [`verify`], and not revoked: what every reader of access tokens (the API, introspection, the
/// backend-for-frontend) must check. RFC 7009 §2.1: revocation invalidates the token. The
/// readers share the authorization server's database, so a token revoked at `/revoke` or with
/// its grant (logout, a reused refresh token, a replayed code, a disabled user) stops working at
/// once, not at its `exp`. The outer error is the database's; the inner one says why the token
/// is refused.
pub async fn verify_live(
    state: &AppState,
    token: &str,
) -> Result<Result<AccessTokenClaims, &'static str>, sqlx::Error> {
    let claims = match verify(state, token) {
        Ok(claims) => claims,
        Err(why) => return Ok(Err(why)),
    };
    if state.db.access_token_revoked(&claims.jti).await? {
        return Ok(Err("the access token was revoked"));
    }
    Ok(Ok(claims))
}

/// Verifies an access token as RFC 9068 §4 and RFC 8725 ask: the algorithm is fixed by the
/// server (never read from the token), the key comes from our own key set by `kid` (never from
/// `jwk`/`jku`/`x5u`/`x5c` headers), and `typ`, `iss`, `aud`, `exp` and `nbf` are all checked. The
/// error says why, in words for a developer.
pub fn verify(state: &AppState, token: &str) -> Result<AccessTokenClaims, &'static str> {
    if token.len() > MAX_TOKEN_LEN {
        return Err("the access token is too long");
    }
    if token.split('.').count() != 3 {
        return Err("the access token is not a JWT (expected three dot-separated parts)");
    }
    let header = decode_header(token).map_err(|_| "the access token's header is malformed")?;
    if header.alg != ALGORITHM {
        return Err(
            "the access token is not signed with ES256, the only algorithm this API accepts",
        );
    }
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    });
    if !typ_ok {
        return Err("the token is not an access token (its typ header is not at+jwt)");
    }
    if header.crit.is_some() {
        return Err("the access token has critical header parameters this API does not understand");
    }
    if header.jwk.is_some() || header.jku.is_some() || header.x5u.is_some() || header.x5c.is_some()
    {
        return Err(
            "the access token names its own key (jwk/jku/x5u/x5c); only the issuer's keys are trusted",
        );
    }
    let kid = header.kid.ok_or("the access token has no kid header")?;
    let keys = state.keys.get();
    let key = keys
        .verifying_key(&kid)
        .ok_or("the access token was signed by an unknown key")?;

    let data =
        decode::<AccessTokenClaims>(token, key, &state.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => "the access token expired",
            ErrorKind::ImmatureSignature => "the access token is not valid yet (nbf)",
            ErrorKind::InvalidIssuer => "the access token was issued by another issuer",
            ErrorKind::InvalidAudience => "the access token is meant for another audience",
            ErrorKind::InvalidSignature => "the access token's signature is invalid",
            ErrorKind::MissingRequiredClaim(_) => "the access token lacks a required claim",
            _ => "the access token is malformed",
        })?;
    Ok(data.claims)
}

/// OpenID Connect Core §2 ID token claims.
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// The client, never the API: this is what keeps an ID token from passing as an access token.
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    /// §3.1.3.6: binds the ID token to the access token issued with it.
    at_hash: String,
    /// §5.4: with `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// §5.4: with `email`.
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

/// The login an ID token speaks about.
pub struct Authentication<'a> {
    pub user: &'a User,
    pub client_id: &'a str,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
}

/// Adds an ID token to `response`, with the user's claims that the granted scope allows.
pub fn add_id_token(
    state: &AppState,
    response: &mut TokenResponse,
    login: &Authentication<'_>,
) -> Result<(), OAuthError> {
    let iat = now();
    let digest = Sha256::digest(response.access_token.as_bytes());
    let (profile, email) = (
        response.scope.contains("profile"),
        response.scope.contains("email"),
    );
    let user = login.user;
    let claims = IdTokenClaims {
        iss: state.config.issuer_str(),
        sub: &user.id,
        aud: login.client_id,
        // As long as the access token issued with it.
        exp: iat + i64::try_from(response.expires_in).unwrap_or(i64::MAX),
        iat,
        auth_time: login.auth_time,
        nonce: login.nonce,
        at_hash: URL_SAFE_NO_PAD.encode(&digest[..16]),
        preferred_username: profile.then_some(user.username.as_str()),
        name: profile.then_some(user.name.as_str()),
        email: email.then_some(user.email.as_str()),
    };
    let keys = state.keys.get();
    let (kid, key) = keys.signing();
    let mut header = Header::new(ALGORITHM);
    header.kid = Some(kid.to_owned());
    response.id_token =
        Some(jsonwebtoken::encode(&header, &claims, key).map_err(OAuthError::server_error)?);
    Ok(())
}
