//! DPoP proofs (RFC 9449) sent to this server's own endpoints: the token endpoint (§5) and the
//! pushed authorization request endpoint (§10.1), each of every authorization server.
//!
//! Checked in two steps around client authentication: first what stores nothing (the proof's
//! own checks, §4.3, and the server nonce, §8), then, once the client is known, the replay
//! cache (§11.1). A client told `use_dpop_nonce` retries with the same client assertion
//! (RFC 7523), so nothing of the request may be spent before the nonce is checked.

use axum::http::HeaderMap;
use shared::oauth::ErrorCode;

use super::error::OAuthError;
use crate::dpop::{self, Proof};
use crate::state::AppState;

/// The request's DPoP proof, checked for a `POST` to `url`, with a server nonce where nonces
/// are required (without one: `use_dpop_nonce` and a fresh nonce); nothing recorded. `None`
/// without a `DPoP` header. Proofs are timed by the client's clock, which the clock lab does
/// not move.
pub fn checked(
    state: &AppState,
    headers: &HeaderMap,
    url: &str,
) -> Result<Option<Proof>, OAuthError> {
    let Some(proof) = dpop::header(headers).map_err(invalid)? else {
        return Ok(None);
    };
    let expected = dpop::Expected {
        method: "POST",
        url,
        access_token: None,
    };
    let now = state.clock.unmoved_now();
    let proof = dpop::check(proof, &expected, now).map_err(invalid)?;
    if let Some(nonces) = &state.dpop_nonces {
        nonces
            .demand(proof.nonce.as_deref(), now)
            .map_err(|needed| {
                let mut refused = OAuthError::new(ErrorCode::UseDpopNonce, needed.description);
                refused.dpop_nonce = Some(needed.nonce);
                refused
            })?;
    }
    Ok(Some(proof))
}

/// Records a [`checked`] proof as used, at every instance (§11.1): a second use is refused.
pub async fn recorded(state: &AppState, proof: Option<Proof>) -> Result<Option<Proof>, OAuthError> {
    if let Some(proof) = &proof
        && !dpop::first_use(&state.db, proof).await?
    {
        return Err(invalid(dpop::REPLAYED.to_owned()));
    }
    Ok(proof)
}

/// §5: `invalid_dpop_proof`, saying what to fix.
pub fn invalid(description: String) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidDpopProof, description)
}
