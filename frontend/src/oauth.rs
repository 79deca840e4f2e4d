//! Starting a login: the authorization request of RFC 6749 §4.1.1 with PKCE (RFC 7636) and
//! `state`, and the one-shot values it leaves for the callback.
//!
//! `state` and the code verifier live in `sessionStorage`: they belong to this tab, survive the
//! round trip through the authorization server, and are deleted as soon as the callback reads
//! them so that a code can never be redeemed twice from here.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leptos::prelude::window;
use shared::pkce::{CodeVerifier, METHOD_S256};
use web_sys::Storage;

use crate::api::Deployment;

const STATE_KEY: &str = "oauth.state";
const VERIFIER_KEY: &str = "oauth.code_verifier";

/// Why a login could not start or finish in this browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoginError {
    /// The authorization server's metadata could not be loaded at start-up.
    NoServer(String),
    NoRandomness,
    NoSessionStorage,
    BadEndpoint(String),
    Redirect,
}

impl fmt::Display for LoginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoServer(why) => write!(f, "Logging in is not possible right now: {why}"),
            Self::NoRandomness => {
                f.write_str("This browser has no cryptographic random source (window.crypto).")
            }
            Self::NoSessionStorage => f.write_str(
                "This browser does not allow sessionStorage, which the login needs to remember \
                 its state across the redirect.",
            ),
            Self::BadEndpoint(url) => write!(f, "The authorization endpoint {url} is not a URL."),
            Self::Redirect => f.write_str("The browser refused to go to the login page."),
        }
    }
}

impl std::error::Error for LoginError {}

/// What the callback needs from the login that sent the user away.
pub struct PendingLogin {
    pub state: String,
    pub verifier: CodeVerifier,
}

/// `{origin}/callback`, exactly as registered for the client.
pub fn redirect_uri() -> String {
    let origin = window().location().origin().unwrap_or_default();
    format!("{origin}/callback")
}

/// Generates `state` and a PKCE verifier, remembers them, and sends the browser to the
/// authorization endpoint. Only returns on failure.
pub fn start_login(deployment: &Deployment) -> Result<(), LoginError> {
    let server = deployment
        .server
        .as_ref()
        .map_err(|e| LoginError::NoServer(e.to_string()))?;
    let config = &deployment.config;

    // RFC 6749 §10.12: an unguessable `state` ties the callback to this browser (CSRF).
    let state = URL_SAFE_NO_PAD.encode(random_bytes()?);
    let verifier = CodeVerifier::from_random_bytes(&random_bytes()?);

    let url = web_sys::Url::new(&server.authorization_endpoint)
        .map_err(|_| LoginError::BadEndpoint(server.authorization_endpoint.clone()))?;
    // The URL's live query: appending here rewrites the URL.
    let query = url.search_params();
    query.append("response_type", "code");
    query.append("client_id", &config.client_id);
    query.append("redirect_uri", &redirect_uri());
    query.append("scope", &config.scope);
    query.append("state", &state);
    query.append("code_challenge", verifier.challenge().as_str());
    query.append("code_challenge_method", METHOD_S256);

    let storage = session_storage()?;
    storage
        .set_item(STATE_KEY, &state)
        .and_then(|()| storage.set_item(VERIFIER_KEY, verifier.as_str()))
        .map_err(|_| LoginError::NoSessionStorage)?;

    window()
        .location()
        .set_href(&url.href())
        .map_err(|_| LoginError::Redirect)
}

/// Reads and deletes what [`start_login`] stored; `None` when this tab started no login (or the
/// callback already consumed it).
pub fn take_pending_login() -> Option<PendingLogin> {
    let storage = session_storage().ok()?;
    let state = storage.get_item(STATE_KEY).ok().flatten();
    let verifier = storage.get_item(VERIFIER_KEY).ok().flatten();
    // Deleting cannot meaningfully fail once reading worked; the values are single-use either way.
    let _ = storage.remove_item(STATE_KEY);
    let _ = storage.remove_item(VERIFIER_KEY);
    Some(PendingLogin {
        state: state?,
        verifier: CodeVerifier::parse(&verifier?).ok()?,
    })
}

fn random_bytes() -> Result<[u8; 32], LoginError> {
    let mut bytes = [0u8; 32];
    window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes))
        .map_err(|_| LoginError::NoRandomness)?;
    Ok(bytes)
}

fn session_storage() -> Result<Storage, LoginError> {
    window()
        .session_storage()
        .ok()
        .flatten()
        .ok_or(LoginError::NoSessionStorage)
}
