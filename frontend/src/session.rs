//! Who is logged in.
//!
//! The access token lives in a cookie named `access_token` (the "REST mode" of this demo): it
//! survives reloads, `SameSite=Strict` keeps other sites from riding on it, and `Max-Age` makes the
//! browser drop it when the token expires. The app reads it back and sends it itself in
//! `Authorization: Bearer`; the API never looks at cookies.
//!
//! The refresh token is kept apart, in `sessionStorage` ([`RefreshGrant`]), never in a cookie:
//! cookies travel to the app's own server with every request, and a refresh token lives far longer
//! than an access token. `sessionStorage` belongs to this tab, survives a reload and is gone when
//! the tab closes. It is still readable by scripts in the page, which the IETF browser-based apps
//! BCP and RFC 9700 §4.14.2 accept for public clients only because the server rotates refresh
//! tokens: each is single-use, and presenting a spent one revokes the whole login.
//!
//! [`Session`] mirrors the cookie in a signal so the nav bar and pages react to logging in and
//! out, and carries the flash message the home page shows after the session ends.
//!
//! In MVC mode ([`AppMode::Mvc`]) none of the above is used: the browser never holds a token.
//! The backend-for-frontend keeps the tokens in a server-side session, identified by an
//! `HttpOnly` cookie this app cannot read, and [`Session`] holds what `GET /bff/session` says
//! about it ([`SessionInfo`]: the claims, the CSRF token, the server's exchanges).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::bff::SessionInfo;
use shared::config::AppMode;
use shared::oauth::{AccessTokenClaims, TokenResponse};
use shared::scope::ScopeSet;
use wasm_bindgen::JsCast;
use web_sys::{HtmlDocument, Storage};

use crate::{jwt, oauth};

const COOKIE_NAME: &str = "access_token";
const REFRESH_KEY: &str = "oauth.refresh";
/// The flash message and its request id, kept in `sessionStorage` while the tab loads another
/// bundle of the app (see [`Session::carry_flash`]).
const FLASH_KEY: &str = "app.flash";
/// How much of the refresh token the token page may show: enough to see it change on rotation,
/// far too little to use.
const REFRESH_HINT_CHARS: usize = 6;

#[derive(Clone, Copy)]
pub struct Session {
    mode: AppMode,
    /// REST mode: the access token, as the cookie holds it.
    token: RwSignal<Option<String>>,
    /// MVC mode: the server-side session, as `GET /bff/session` last described it.
    server: RwSignal<Option<SessionInfo>>,
    /// The first characters of the refresh token this tab holds, for display only.
    refresh_hint: RwSignal<Option<String>>,
    /// A one-off message for the home page ("Your session has expired …").
    flash: RwSignal<Option<String>>,
    /// The `X-Request-Id` of the refused call the flash is about, if it is about one.
    flash_request: RwSignal<Option<String>>,
}

/// What this tab keeps about its refresh token, as JSON in `sessionStorage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub refresh_token: String,
    /// The access token issued together with it. The refresh token is only presented while the
    /// cookie still holds this token: when it holds another one, another tab (a duplicate of this
    /// one shares a copy of `sessionStorage`) has refreshed or logged in, and presenting this
    /// refresh token could replay a spent one.
    pub access_token: String,
    /// When this tab received the tokens (ms since the epoch, this browser's clock) and the access
    /// token's lifetime (`expires_in`). The refresh is timed from these rather than from the
    /// token's `exp`, so a browser clock that disagrees with the server's can neither make the
    /// app refresh too late nor over and over.
    pub received_at_ms: f64,
    pub expires_in: u64,
}

/// The session provided by [`crate::app::App`].
pub fn use_session() -> Session {
    expect_context::<Session>()
}

impl Session {
    /// The session when the app starts. REST: as the cookie jar and this tab's `sessionStorage`
    /// have it. MVC: `server`, what `GET /bff/session` answered (`None`: not logged in).
    pub fn restore(mode: AppMode, server: Option<SessionInfo>) -> Self {
        // MVC mode never reads the token cookie or the refresh grant: no token of this app is
        // there (sessionStorage holds only the exchange timeline).
        let (token, refresh_hint, server) = match mode {
            AppMode::Rest => (
                read_cookie(),
                read_refresh_grant().map(|grant| hint(&grant)),
                None,
            ),
            AppMode::Mvc => (None, None, server),
        };
        let (flash, flash_request) = take_carried_flash().unzip();
        Self {
            mode,
            token: RwSignal::new(token),
            server: RwSignal::new(server),
            refresh_hint: RwSignal::new(refresh_hint),
            flash: RwSignal::new(flash),
            flash_request: RwSignal::new(flash_request.flatten()),
        }
    }

    /// Keeps the flash message for the page this tab loads next: another bundle of the app
    /// (`crate::app::use_go`) starts with it, as the same bundle would have kept it.
    pub fn carry_flash(&self) {
        let Some(text) = self.flash.get_untracked() else {
            return;
        };
        let carried = (text, self.flash_request.get_untracked());
        if let (Some(storage), Ok(json)) = (session_storage(), serde_json::to_string(&carried)) {
            // Without sessionStorage the message is lost with the page, as before bundles.
            let _ = storage.set_item(FLASH_KEY, &json);
        }
    }

    pub fn mode(&self) -> AppMode {
        self.mode
    }

    /// Whether there is an access token, here or on the server (reactive).
    pub fn is_logged_in(&self) -> bool {
        match self.mode {
            AppMode::Rest => self.token.with(Option::is_some),
            AppMode::Mvc => self.server.with(Option::is_some),
        }
    }

    /// The raw access token (reactive); never one in MVC mode.
    pub fn token(&self) -> Option<String> {
        self.token.get()
    }

    /// The access token's claims (reactive). REST: read from the token without checking the
    /// signature, `None` when it is not a JWT this app understands. MVC: as the server decoded
    /// them. `None` when logged out.
    pub fn claims(&self) -> Option<AccessTokenClaims> {
        match self.mode {
            AppMode::Rest => self
                .token
                .with(|token| token.as_deref().and_then(|t| jwt::decode(t).ok()))
                .and_then(|decoded| decoded.claims),
            AppMode::Mvc => self
                .server
                .with(|info| info.as_ref().map(|i| i.claims.clone())),
        }
    }

    /// [`Self::claims`], without subscribing to changes.
    pub fn claims_untracked(&self) -> Option<AccessTokenClaims> {
        untrack(|| self.claims())
    }

    /// Whether the access token carries `scope` (reactive).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims()
            .is_some_and(|claims| claims.scope.contains(scope))
    }

    /// Whether the last login asked for `scope` on top of the usual ones (a step-up) and the
    /// server left it out (reactive): RFC 6749 §3.3 lets it grant less than asked, silently.
    pub fn step_up_refused(&self, scope: &str) -> bool {
        match self.mode {
            AppMode::Rest => self
                .claims()
                .is_some_and(|claims| oauth::step_up_refused(scope, &claims.sub)),
            AppMode::Mvc => self.server.with(|info| {
                info.as_ref().is_some_and(|info| {
                    asked_and_refused(&info.requested_scope, &info.claims.scope, scope)
                })
            }),
        }
    }

    /// MVC mode: the server-side session (reactive), for the token page.
    pub fn server_session(&self) -> Option<SessionInfo> {
        self.server.get()
    }

    /// MVC mode: what `GET /bff/session` says now.
    pub fn set_server_session(&self, info: SessionInfo) {
        self.server.set(Some(info));
    }

    /// MVC mode: the session's CSRF token, for the `x-csrf-token` header (not reactive).
    pub fn csrf_token(&self) -> Option<String> {
        self.server
            .with_untracked(|info| info.as_ref().map(|info| info.csrf_token.clone()))
    }

    /// REST mode: the token to send now. The cookie is the source of truth: when the browser has
    /// dropped it because `Max-Age` ran out, the session ends here rather than with a round trip
    /// to the API.
    pub fn bearer(&self) -> Option<String> {
        let token = read_cookie();
        if token.is_none() && self.token.get_untracked().is_some() {
            self.expire("Your session has expired — please log in again.");
        }
        token
    }

    /// The access token the cookie holds right now (not reactive), whoever put it there.
    pub fn cookie_token(&self) -> Option<String> {
        read_cookie()
    }

    /// The refresh token this tab holds (not reactive: `sessionStorage` is the source of truth).
    pub fn refresh_grant(&self) -> Option<RefreshGrant> {
        read_refresh_grant()
    }

    /// The first characters of the refresh token this tab holds (reactive), for display.
    pub fn refresh_hint(&self) -> Option<String> {
        self.refresh_hint.get()
    }

    /// Stores the tokens of a new login.
    pub fn log_in(&self, response: &TokenResponse) -> Result<(), String> {
        self.store(response, response.refresh_token.clone())
    }

    /// Stores the tokens of a refresh. A server that does not rotate refresh tokens answers
    /// without one, and the one just used stays valid.
    pub fn renew(&self, response: &TokenResponse, used: String) -> Result<(), String> {
        self.store(response, response.refresh_token.clone().or(Some(used)))
    }

    fn store(&self, response: &TokenResponse, refresh_token: Option<String>) -> Result<(), String> {
        // The refresh token first: after a rotation the old one is spent, and the new one must not
        // be lost to a failure further down.
        match refresh_token {
            Some(refresh_token) => {
                let grant = RefreshGrant {
                    refresh_token,
                    access_token: response.access_token.clone(),
                    received_at_ms: js_sys::Date::now(),
                    expires_in: response.expires_in,
                };
                if write_refresh_grant(&grant) {
                    self.refresh_hint.set(Some(hint(&grant)));
                } else {
                    // Never leave a spent refresh token behind. Without sessionStorage the login
                    // still works; it just ends with the access token instead of being refreshed.
                    self.forget_refresh_token();
                }
            }
            None => self.forget_refresh_token(),
        }
        write_cookie(&response.access_token, response.expires_in)?;
        self.token.set(Some(response.access_token.clone()));
        self.flash.set(None);
        Ok(())
    }

    /// Another tab has put its own access token in the cookie: use it, and drop this tab's refresh
    /// token, which may already be spent (see [`RefreshGrant::access_token`]).
    pub fn follow_other_tab(&self, token: String) {
        self.forget_refresh_token();
        self.token.set(Some(token));
    }

    /// Forgets every token and returns the refresh token, for the caller to revoke; the shell
    /// then returns to the home page. In MVC mode the caller has ended the session on the server
    /// already, and there is no token here to forget.
    pub fn log_out(&self) -> Option<String> {
        let refresh_token = self.forget_tokens();
        self.flash.set(None);
        refresh_token
    }

    /// Ends the session because the API or the authorization server refused a token (or, in MVC
    /// mode, the server's session is gone), and says why on the home page.
    pub fn expire(&self, why: impl Into<String>) {
        self.expire_refused(why, None);
    }

    /// [`Session::expire`], because the call answered with `X-Request-Id: request_id` was
    /// refused: the home page links to the server's explanation of it.
    pub fn expire_refused(&self, why: impl Into<String>, request_id: Option<String>) {
        self.forget_tokens();
        self.flash.set(Some(why.into()));
        self.flash_request.set(request_id);
    }

    /// A message for the home page (a login the server could not complete).
    pub fn set_flash(&self, text: impl Into<String>) {
        self.flash.set(Some(text.into()));
        self.flash_request.set(None);
    }

    /// Forgets the login on this side, and returns the refresh token this tab held (REST).
    fn forget_tokens(&self) -> Option<String> {
        match self.mode {
            AppMode::Rest => {
                let refresh_token = read_refresh_grant().map(|grant| grant.refresh_token);
                self.forget_refresh_token();
                remove_cookie();
                self.token.set(None);
                refresh_token
            }
            AppMode::Mvc => {
                self.server.set(None);
                None
            }
        }
    }

    pub fn flash(&self) -> Option<String> {
        self.flash.get()
    }

    pub fn clear_flash(&self) {
        self.flash.set(None);
        self.flash_request.set(None);
    }

    /// The request id of the refused call the flash is about.
    pub fn flash_request(&self) -> Option<String> {
        self.flash_request.get()
    }

    fn forget_refresh_token(&self) {
        if let Some(storage) = session_storage() {
            // If the browser cannot delete it, there is nothing better to do; it dies with the tab.
            let _ = storage.remove_item(REFRESH_KEY);
        }
        self.refresh_hint.set(None);
    }
}

/// Whether a login that asked for `requested` and was granted `granted` was refused `scope`.
fn asked_and_refused(requested: &ScopeSet, granted: &ScopeSet, scope: &str) -> bool {
    requested.contains(scope) && !granted.contains(scope)
}

fn hint(grant: &RefreshGrant) -> String {
    grant
        .refresh_token
        .chars()
        .take(REFRESH_HINT_CHARS)
        .collect()
}

/// The flash a page of this tab carried here ([`Session::carry_flash`]), once.
fn take_carried_flash() -> Option<(String, Option<String>)> {
    let storage = session_storage()?;
    let json = storage.get_item(FLASH_KEY).ok().flatten()?;
    let _ = storage.remove_item(FLASH_KEY);
    serde_json::from_str(&json).ok()
}

fn session_storage() -> Option<Storage> {
    window().session_storage().ok().flatten()
}

fn read_refresh_grant() -> Option<RefreshGrant> {
    let json = session_storage()?.get_item(REFRESH_KEY).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

/// Whether the grant was stored.
fn write_refresh_grant(grant: &RefreshGrant) -> bool {
    let (Some(storage), Ok(json)) = (session_storage(), serde_json::to_string(grant)) else {
        return false;
    };
    storage.set_item(REFRESH_KEY, &json).is_ok()
}

fn html_document() -> Option<HtmlDocument> {
    document().dyn_into::<HtmlDocument>().ok()
}

fn read_cookie() -> Option<String> {
    let jar = html_document()?.cookie().ok()?;
    jar.split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

fn write_cookie(token: &str, max_age: u64) -> Result<(), String> {
    // A JWT is base64url segments joined by dots: nothing in it needs escaping in a cookie.
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("The token endpoint returned an access token that is not a JWT.".into());
    }
    set_cookie(&format!("{COOKIE_NAME}={token}; Max-Age={max_age}"))
}

fn remove_cookie() {
    // Nothing useful can be done if the browser refuses to delete a cookie; the signal still
    // forgets the token.
    let _ = set_cookie(&format!("{COOKIE_NAME}=; Max-Age=0"));
}

fn set_cookie(cookie: &str) -> Result<(), String> {
    let secure = window()
        .location()
        .protocol()
        .is_ok_and(|protocol| protocol == "https:");
    let attributes = if secure {
        "; SameSite=Strict; Path=/; Secure"
    } else {
        "; SameSite=Strict; Path=/"
    };
    html_document()
        .ok_or("This page has no HTML document to keep cookies in.")?
        .set_cookie(&format!("{cookie}{attributes}"))
        .map_err(|_| "The browser refused to store the access-token cookie.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_up_is_refused_only_when_asked_for_and_left_out() {
        let scopes = |raw: &str| ScopeSet::parse(raw).unwrap();
        let usual = scopes("openid products:read");
        let with_admin = scopes("openid products:read admin");
        assert!(asked_and_refused(&with_admin, &usual, "admin"));
        assert!(!asked_and_refused(&with_admin, &with_admin, "admin"));
        // A login that never asked is not a refusal: the console offers the step-up.
        assert!(!asked_and_refused(&usual, &usual, "admin"));
    }
}
