//! DPoP proofs (RFC 9449) sent to this server's own endpoints: the token endpoint (§5) and the
//! pushed authorization request endpoint (§10.1), each of every authorization server.

use axum::http::HeaderMap;
use shared::oauth::ErrorCode;

use super::error::OAuthError;
use crate::clock::Timestamp;
use crate::dpop::{self, Proof};
use crate::state::AppState;

/// The request's DPoP proof, checked for a `POST` to `url` at `now`, with a server nonce where
/// nonces are required (§8; without one: `use_dpop_nonce` and a fresh nonce, nothing
/// recorded), and recorded as used at every instance (§11.1). `None` without a `DPoP` header.
pub async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    url: &str,
    now: Timestamp,
) -> Result<Option<Proof>, OAuthError> {
    let Some(proof) = dpop::header(headers).map_err(invalid)? else {
        return Ok(None);
    };
    let expected = dpop::Expected {
        method: "POST",
        url,
        access_token: None,
    };
    let proof = dpop::check(proof, &expected, now).map_err(invalid)?;
    if let Some(nonces) = &state.dpop_nonces
        && !nonces.accepts(proof.nonce.as_deref(), now)
    {
        let mut refused = OAuthError::new(
            ErrorCode::UseDpopNonce,
            dpop::Nonces::refusal(proof.nonce.as_deref()),
        );
        refused.dpop_nonce = Some(nonces.fresh(now));
        return Err(refused);
    }
    if !dpop::first_use(&state.db, &proof).await? {
        return Err(invalid(
            "this DPoP proof was used before: make a new one, with a new jti, for every request \
             (RFC 9449 §11.1)"
                .to_owned(),
        ));
    }
    Ok(Some(proof))
}

/// §5: `invalid_dpop_proof`, saying what to fix.
pub fn invalid(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}
