//! The MVC mode's backend-for-frontend, as the browser app sees it on its own origin.
//!
//! In MVC mode the browser never holds a token. The backend is a confidential client of the
//! authorization server; it keeps the tokens in a server-side session and calls the API for the
//! app. The app reaches it at these paths, always with the session cookie (which scripts cannot
//! read) and, for anything that changes state, the session's CSRF token in [`CSRF_HEADER`]:
//!
//! | path | what |
//! | --- | --- |
//! | `GET /bff/login?return_to=/orders[&admin=true]` | a navigation: starts the login (303 to `/authorize`) |
//! | `GET /bff/callback?code=…&state=…&iss=…` | where the authorization server returns; 303 to `return_to`, or to `/?error=…&error_description=…` |
//! | `GET /bff/session` | [`SessionInfo`] |
//! | `GET`, `POST`, `PATCH`, `DELETE /bff/api/…`, `/bff/admin/…` | the API and the admin API, called by the server with the session's access token |
//! | `POST /bff/logout` | ends the session and revokes its tokens; 204 |
//! | `POST /bff/backchannel-logout` | not the app's: the authorization server posts a logout token here (OpenID Connect Back-Channel Logout 1.0) when a login ends elsewhere; the sessions of that login end |

use serde::{Deserialize, Serialize};

use crate::oauth::AccessTokenClaims;
use crate::scope::ScopeSet;

/// Where the backend-for-frontend lives on the app's origin.
pub const PREFIX: &str = "/bff";

/// Where the authorization server posts logout tokens (OpenID Connect Back-Channel Logout 1.0
/// §2.5): registered as the backend-for-frontend client's `backchannel_logout_uri`.
pub const BACKCHANNEL_LOGOUT_PATH: &str = "/bff/backchannel-logout";

/// The request header that carries [`SessionInfo::csrf_token`] on state-changing calls. A custom
/// header also means a cross-origin page cannot send it without a CORS preflight, which this
/// origin never grants.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// `GET /bff/session`: who is logged in, never a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session's CSRF token, to echo in [`CSRF_HEADER`]. Readable only by the app's own
    /// origin (the answer has no CORS headers).
    pub csrf_token: String,
    /// The current access token's claims (its payload, which the server decoded; the token
    /// itself never leaves the server).
    pub claims: AccessTokenClaims,
    /// The scope the login asked for: with [`SessionInfo::claims`] it tells a refused step-up
    /// (asked for `admin`, was not granted it) from a login that never asked.
    pub requested_scope: ScopeSet,
    /// When the session ends however active it is (Unix seconds).
    pub expires_at: i64,
    /// When the session ends if no request uses it before then (Unix seconds).
    pub idle_expires_at: i64,
    /// Whether a refresh token is held, so the server renews the access token by itself.
    pub refreshable: bool,
    /// The session's exchanges with the token endpoint, oldest first (at most
    /// [`MAX_EXCHANGES`]): what the browser app shows in place of a token.
    pub exchanges: Vec<Exchange>,
}

/// At most this many [`Exchange`]s are kept per session.
pub const MAX_EXCHANGES: usize = 10;

/// One server-side call to the authorization server, for display. Tokens appear only as their
/// last few characters: enough to see them change, far too little to use. (Not the first: every
/// access token starts with the same JWT header.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Unix seconds.
    pub at: i64,
    /// `authorization_code`, `refresh_token` (both at the token endpoint) or `revocation`.
    pub grant_type: String,
    pub endpoint: String,
    /// How the backend authenticated as a confidential client (`client_secret_basic`).
    pub client_auth: String,
    /// The HTTP status the authorization server answered.
    pub status: u16,
    /// The granted scope, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_hint: Option<String>,
    /// The `error` of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How many characters of a token an [`Exchange`] shows.
pub const TOKEN_HINT_CHARS: usize = 8;

/// The last [`TOKEN_HINT_CHARS`] characters of a token, for display.
pub fn token_hint(token: &str) -> String {
    let skip = token.chars().count().saturating_sub(TOKEN_HINT_CHARS);
    token.chars().skip(skip).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_the_last_characters() {
        assert_eq!(token_hint("eyJ0eXAi.payload.signature123"), "ature123");
        assert_eq!(token_hint("short"), "short");
    }
}
