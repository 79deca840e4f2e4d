//! Who is logged in.
//!
//! The access token lives in a cookie named `access_token` (the "REST mode" of this demo): it
//! survives reloads, `SameSite=Strict` keeps other sites from riding on it, and `Max-Age` makes the
//! browser drop it when the token expires. The app reads it back and sends it itself in
//! `Authorization: Bearer`; the API never looks at cookies.
//!
//! [`Session`] mirrors the cookie in a signal so the nav bar and pages react to logging in and
//! out, and carries the flash message the home page shows after the session ends.

use leptos::prelude::*;
use shared::oauth::{AccessTokenClaims, TokenResponse};
use wasm_bindgen::JsCast;
use web_sys::HtmlDocument;

use crate::jwt;

const COOKIE_NAME: &str = "access_token";

#[derive(Clone, Copy)]
pub struct Session {
    token: RwSignal<Option<String>>,
    /// A one-off message for the home page ("Your session has expired …").
    flash: RwSignal<Option<String>>,
}

/// The session provided by [`crate::app::App`].
pub fn use_session() -> Session {
    expect_context::<Session>()
}

impl Session {
    /// The session as the cookie jar has it when the app starts.
    pub fn from_cookie() -> Self {
        Self {
            token: RwSignal::new(read_cookie()),
            flash: RwSignal::new(None),
        }
    }

    /// Whether there is an access token (reactive).
    pub fn is_logged_in(&self) -> bool {
        self.token.with(Option::is_some)
    }

    /// The raw access token (reactive).
    pub fn token(&self) -> Option<String> {
        self.token.get()
    }

    /// The token's claims, read without checking the signature (reactive). `None` when logged out
    /// or when the token is not a JWT this app understands.
    pub fn claims(&self) -> Option<AccessTokenClaims> {
        self.token
            .with(|token| token.as_deref().and_then(|t| jwt::decode(t).ok()))
            .and_then(|decoded| decoded.claims)
    }

    /// The token to send now. The cookie is the source of truth: when the browser has dropped it
    /// because `Max-Age` ran out, the session ends here rather than with a round trip to the API.
    pub fn bearer(&self) -> Option<String> {
        let token = read_cookie();
        if token.is_none() && self.token.get_untracked().is_some() {
            self.expire("Your session has expired — please log in again.");
        }
        token
    }

    /// Stores a fresh token from the token endpoint.
    pub fn log_in(&self, response: &TokenResponse) -> Result<(), String> {
        write_cookie(&response.access_token, response.expires_in)?;
        self.token.set(Some(response.access_token.clone()));
        self.flash.set(None);
        Ok(())
    }

    /// Forgets the token; the shell then returns to the home page.
    pub fn log_out(&self) {
        remove_cookie();
        self.token.set(None);
        self.flash.set(None);
    }

    /// Ends the session because the API refused the token, and says why on the home page.
    pub fn expire(&self, why: impl Into<String>) {
        remove_cookie();
        self.token.set(None);
        self.flash.set(Some(why.into()));
    }

    pub fn flash(&self) -> Option<String> {
        self.flash.get()
    }

    pub fn clear_flash(&self) {
        self.flash.set(None);
    }
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
