//! The labs (demo mode): what the app's Labs page uses to break things on purpose and watch the
//! server and the app recover. The refresh family needs nothing of its own here (it reads the
//! user's grants, `GET /api/me/grants`); the clock lab moves the server's clock, the key lab
//! rotates the root issuer's signing keys, the API-token lab takes a user's own API tokens
//! through their life cycle.

pub mod api_tokens;
pub mod clock;
pub mod keys;

use crate::api::error::ApiError;
use crate::state::AppState;

/// 404 outside demo mode: the labs change what every user of the server sees.
fn demo_only(state: &AppState, what: &str) -> Result<(), ApiError> {
    if state.config.demo {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "{what} exists only in demo mode (start the server with --demo)"
        )))
    }
}
