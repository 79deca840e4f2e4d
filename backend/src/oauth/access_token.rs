//! Access tokens in the JWT profile of RFC 9068, and OpenID Connect ID tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Header;
use serde::Serialize;
use sha2::{Digest, Sha256};
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims, TokenResponse};
use shared::scope::ScopeSet;

use super::error::OAuthError;
use super::keys::ALGORITHM;
use crate::crypto;
use crate::state::AppState;
use crate::storage::{User, now};

/// Signs an access token for `sub` (a user id, or the client id for client credentials).
pub fn issue(
    state: &AppState,
    sub: &str,
    client_id: &str,
    scope: ScopeSet,
) -> Result<TokenResponse, OAuthError> {
    let ttl = state.config.access_token_ttl;
    let iat = now();
    let claims = AccessTokenClaims {
        iss: state.config.issuer_str().to_owned(),
        sub: sub.to_owned(),
        aud: state.config.audience.clone(),
        exp: iat + i64::try_from(ttl).unwrap_or(i64::MAX),
        iat,
        // 128 bits: unique without coordination between instances.
        jti: crypto::random_token(16),
        client_id: client_id.to_owned(),
        scope,
    };
    let (kid, key) = state.keys.signing();
    let mut header = Header::new(ALGORITHM);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(kid.to_owned());
    let access_token =
        jsonwebtoken::encode(&header, &claims, key).map_err(OAuthError::server_error)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        scope: claims.scope,
        id_token: None,
    })
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
        exp: iat + i64::try_from(state.config.access_token_ttl).unwrap_or(i64::MAX),
        iat,
        auth_time: login.auth_time,
        nonce: login.nonce,
        at_hash: URL_SAFE_NO_PAD.encode(&digest[..16]),
        preferred_username: profile.then_some(user.username.as_str()),
        name: profile.then_some(user.name.as_str()),
        email: email.then_some(user.email.as_str()),
    };
    let (kid, key) = state.keys.signing();
    let mut header = Header::new(ALGORITHM);
    header.kid = Some(kid.to_owned());
    response.id_token =
        Some(jsonwebtoken::encode(&header, &claims, key).map_err(OAuthError::server_error)?);
    Ok(())
}
