//! Starting a login: the authorization request of RFC 6749 §4.1.1 with PKCE (RFC 7636) and
//! `state`, and the one-shot values it leaves for the callback.
//!
//! `state` and the code verifier live in `sessionStorage`: they belong to this tab, survive the
//! round trip through the authorization server, and are deleted as soon as the callback reads
//! them so that a code can never be redeemed twice from here.
//!
//! A "step-up" login ([`start_step_up`]) asks for one more scope than usual (the console's
//! `admin`) and says where the callback should return. The server silently leaves out a scope
//! the user may not have (RFC 6749 §3.3), so the callback records a refusal
//! ([`record_step_up`]) and the page can say so instead of offering the same login again.
//!
//! In MVC mode the server does all of this: the app only navigates to `/bff/login` (with
//! `admin=true` for the step-up), the backend-for-frontend keeps `state` and the verifier, and
//! the authorization server returns to `/bff/callback` on the server. A login it could not
//! complete comes back to `/?error=…` ([`take_server_login_error`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use leptos::prelude::window;
use shared::bff;
use shared::config::AppMode;
use shared::pkce::{CodeVerifier, METHOD_S256};
use shared::scope::ADMIN;
use web_sys::{Storage, UrlSearchParams};

use crate::api::Deployment;
use crate::refresh::{Departure, Refresher};
use crate::timeline::{self, Entry, Note, Step};

const STATE_KEY: &str = "oauth.state";
const VERIFIER_KEY: &str = "oauth.code_verifier";
/// The app path the callback returns to, when not the default.
const RETURN_TO_KEY: &str = "oauth.return_to";
/// The extra scope a step-up login asked for.
const STEP_UP_KEY: &str = "oauth.step_up";
/// `{scope}` → the `sub` of the last login that asked for `scope` and did not get it.
const REFUSED_KEY_PREFIX: &str = "oauth.refused.";
/// Where a login from the home page lands (the REST callback's default, too).
const AFTER_LOGIN: &str = "/products";

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
    /// Where to go once logged in (an app path), when not the default page.
    pub return_to: Option<String>,
    /// The scope a step-up login asked for on top of the usual ones.
    pub step_up: Option<String>,
}

/// `{origin}/callback`, exactly as registered for the client.
pub fn redirect_uri() -> String {
    let origin = window().location().origin().unwrap_or_default();
    format!("{origin}/callback")
}

/// Generates `state` and a PKCE verifier, remembers them, and sends the browser to the
/// authorization endpoint; the callback comes back to `here` (the app path the user is on).
/// MVC mode: sends the browser to the server's `/bff/login`, which does the same. Only returns
/// on failure.
pub fn start_login(deployment: &Deployment, here: &str) -> Result<(), LoginError> {
    match deployment.config.mode {
        AppMode::Rest => redirect_to_login(deployment, None, Some(after_login(here)), None),
        AppMode::Mvc => redirect_to_server_login(after_login(here), false, None),
    }
}

/// A login that also asks for the `admin` scope and comes back to `return_to` (an app path).
/// Made while logged in: the page load goes through `refresher` (see [`Refresher::leave_for`]).
pub fn start_admin_step_up(
    deployment: &Deployment,
    return_to: &str,
    refresher: Option<Refresher>,
) -> Result<(), LoginError> {
    match deployment.config.mode {
        AppMode::Rest => redirect_to_login(deployment, Some(ADMIN), Some(return_to), refresher),
        AppMode::Mvc => redirect_to_server_login(after_login(return_to), true, refresher),
    }
}

/// MVC mode: `GET /bff/login?return_to=…[&admin=true]`, a navigation, not a fetch: the server
/// answers with a redirect to the authorization server.
fn redirect_to_server_login(
    return_to: &str,
    admin: bool,
    refresher: Option<Refresher>,
) -> Result<(), LoginError> {
    let query = UrlSearchParams::new().map_err(|_| LoginError::Redirect)?;
    query.append("return_to", return_to);
    if admin {
        query.append("admin", "true");
    }
    let url = format!("{}/login?{}", bff::PREFIX, String::from(query.to_string()));
    timeline::begin(
        Entry::new(Step::ServerLogin, "GET", absolute(&url)).note(Note::new(
            "what the server does",
            "generates state and the PKCE verifier, keeps them in its login record, and \
             answers 303 to the authorization endpoint as a confidential client; the \
             authorization server returns to /bff/callback, on the server",
        )),
    );
    Departure::To {
        path: url,
        replace: false,
    }
    .go_through(refresher)
    .map_err(|_| LoginError::Redirect)
}

/// Where a login started on the app path `here` should come back to: the same page, except from
/// the home page (and anything that is not a path of this app), the products.
fn after_login(here: &str) -> &str {
    match safe_return_path(here) {
        Some("/") | None => AFTER_LOGIN,
        Some(path) => path,
    }
}

/// MVC mode: when the server could not complete a login it sends the browser to
/// `/?error=…&error_description=…`. Returns the message for the home page, and takes the
/// parameters out of the address bar (without a navigation) so a reload does not repeat it.
pub fn take_server_login_error() -> Option<String> {
    let location = window().location();
    let query = UrlSearchParams::new_with_str(&location.search().ok()?).ok()?;
    let error = query.get("error")?;
    let message = login_failure(&error, query.get("error_description").as_deref());
    if let Ok(history) = window().history() {
        let path = location.pathname().unwrap_or_else(|_| "/".into());
        // Only the address bar depends on it: nothing to do if the browser refuses.
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(message)
}

/// RFC 6749 §4.1.2.1: `error` is a code for programs, `error_description` for people.
fn login_failure(error: &str, description: Option<&str>) -> String {
    match description.map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => format!("The login failed: {}.", text.trim_end_matches('.')),
        None => format!("The login failed ({error})."),
    }
}

fn redirect_to_login(
    deployment: &Deployment,
    extra_scope: Option<&str>,
    return_to: Option<&str>,
    refresher: Option<Refresher>,
) -> Result<(), LoginError> {
    let server = deployment
        .server
        .as_ref()
        .map_err(|e| LoginError::NoServer(e.to_string()))?;
    let config = &deployment.config;

    // RFC 6749 §10.12: an unguessable `state` ties the callback to this browser (CSRF).
    let state = URL_SAFE_NO_PAD.encode(random_bytes()?);
    let verifier = CodeVerifier::from_random_bytes(&random_bytes()?);

    let endpoint = server.authorization_endpoint.clone().unwrap_or_default();
    let url = web_sys::Url::new(&endpoint).map_err(|_| LoginError::BadEndpoint(endpoint))?;
    // The URL's live query: appending here rewrites the URL.
    let query = url.search_params();
    query.append("response_type", "code");
    query.append("client_id", &config.client_id);
    query.append("redirect_uri", &redirect_uri());
    let scope = match extra_scope {
        Some(extra) => format!("{} {extra}", config.scope),
        None => config.scope.clone(),
    };
    query.append("scope", &scope);
    query.append("state", &state);
    query.append("code_challenge", verifier.challenge().as_str());
    query.append("code_challenge_method", METHOD_S256);

    // A new timeline first: it frees the storage the login's own values need.
    let challenge = verifier.challenge();
    timeline::begin(
        Entry::new(Step::Authorize, "GET", url.href())
            .note(Note::secret(
                "code_verifier (kept in this tab)",
                verifier.as_str(),
            ))
            .note(Note::new("S256(code_verifier)", challenge.as_str()))
            .note(Note::new(
                "code_challenge sent",
                format!(
                    "{} — the same: the server stores it with the code and checks the \
                     verifier against it at the token endpoint",
                    challenge.as_str()
                ),
            )),
    );
    let storage = session_storage()?;
    let optional = |key: &str, value: Option<&str>| match value {
        Some(value) => storage.set_item(key, value),
        None => storage.remove_item(key),
    };
    storage
        .set_item(STATE_KEY, &state)
        .and_then(|()| storage.set_item(VERIFIER_KEY, verifier.as_str()))
        .and_then(|()| optional(RETURN_TO_KEY, return_to.and_then(safe_return_path)))
        .and_then(|()| optional(STEP_UP_KEY, extra_scope))
        .map_err(|_| LoginError::NoSessionStorage)?;

    Departure::To {
        path: url.href(),
        replace: false,
    }
    .go_through(refresher)
    .map_err(|_| LoginError::Redirect)
}

/// An app path as a URL of this origin.
fn absolute(path: &str) -> String {
    format!("{}{path}", window().location().origin().unwrap_or_default())
}

/// Reads and deletes what [`start_login`] stored; `None` when this tab started no login (or the
/// callback already consumed it).
pub fn take_pending_login() -> Option<PendingLogin> {
    let storage = session_storage().ok()?;
    let [state, verifier, return_to, step_up] =
        [STATE_KEY, VERIFIER_KEY, RETURN_TO_KEY, STEP_UP_KEY].map(|key| {
            let value = storage.get_item(key).ok().flatten();
            // Deleting cannot meaningfully fail once reading worked; the values are single-use
            // either way.
            let _ = storage.remove_item(key);
            value
        });
    Some(PendingLogin {
        state: state?,
        verifier: CodeVerifier::parse(&verifier?).ok()?,
        return_to: return_to.filter(|path| safe_return_path(path).is_some()),
        step_up,
    })
}

/// Remembers whether the login of `sub` that asked for `scope` got it.
pub fn record_step_up(scope: &str, sub: &str, granted: bool) {
    let Ok(storage) = session_storage() else {
        return;
    };
    let key = format!("{REFUSED_KEY_PREFIX}{scope}");
    // Only a message depends on it: nothing to do if the browser refuses.
    let _ = if granted {
        storage.remove_item(&key)
    } else {
        storage.set_item(&key, sub)
    };
}

/// Whether `sub` already logged in asking for `scope` in this tab and was not given it.
pub fn step_up_refused(scope: &str, sub: &str) -> bool {
    session_storage()
        .ok()
        .and_then(|storage| {
            storage
                .get_item(&format!("{REFUSED_KEY_PREFIX}{scope}"))
                .ok()
        })
        .flatten()
        .is_some_and(|refused| refused == sub)
}

/// Only a path of this app: never another origin (`//evil.example`, `/\evil.example`), so
/// the callback cannot be turned into an open redirect.
fn safe_return_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    (!rest.starts_with('/') && !path.contains(['\\', '\r', '\n'])).then_some(path)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_come_back_where_they_started() {
        assert_eq!(after_login("/orders"), "/orders");
        assert_eq!(after_login("/admin/users"), "/admin/users");
        assert_eq!(after_login("/"), "/products");
        assert_eq!(after_login("//evil.example"), "/products");
    }

    #[test]
    fn failed_logins_say_why() {
        assert_eq!(
            login_failure("access_denied", Some("the user denied access.")),
            "The login failed: the user denied access."
        );
        assert_eq!(
            login_failure("server_error", Some(" ")),
            "The login failed (server_error)."
        );
        assert_eq!(
            login_failure("server_error", None),
            "The login failed (server_error)."
        );
    }

    #[test]
    fn return_paths_stay_in_the_app() {
        assert_eq!(safe_return_path("/admin"), Some("/admin"));
        assert_eq!(
            safe_return_path("/admin/users?x=1"),
            Some("/admin/users?x=1")
        );
        for bad in [
            "admin",
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a\nb",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad:?}");
        }
    }
}
