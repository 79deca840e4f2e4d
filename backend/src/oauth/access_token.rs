//! Access tokens in the JWT profile of RFC 9068.

use jsonwebtoken::Header;
use shared::oauth::{ACCESS_TOKEN_TYP, AccessTokenClaims, TokenResponse};
use shared::scope::ScopeSet;

use super::error::OAuthError;
use super::keys::ALGORITHM;
use crate::crypto;
use crate::state::AppState;
use crate::storage::now;

/// Signs an access token for `sub` (a user id, or the client id for client credentials).
pub fn issue(state: &AppState, sub: &str, client_id: &str, scope: ScopeSet) -> Result<TokenResponse, OAuthError> {
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
    let access_token = jsonwebtoken::encode(&header, &claims, key).map_err(OAuthError::server_error)?;
    Ok(TokenResponse { access_token, token_type: "Bearer".into(), expires_in: ttl, scope: claims.scope })
}
