//! The browser app: a Leptos single-page app that logs in with the authorization code grant and
//! PKCE, keeps the access token in a cookie and calls the API with `Authorization: Bearer`, and
//! refreshes it before it expires.
//!
//! That is the REST mode. In MVC mode (`/config.json`'s `mode`, source document 000) the same
//! pages run without a token: the app's server, a backend-for-frontend (`shared::bff`), logs in,
//! keeps the tokens and calls the API; the app calls it on its own origin with the session cookie
//! and a CSRF header. [`session::Session`] and [`api::Api`] hide the difference from the pages.
//!
//! # Layout
//! - [`app`]: start-up (runtime config and server metadata), the shell, the nav bar and routes.
//! - [`api`]: every HTTP request the app makes, and what an API error means for the user.
//! - [`admin_api`]: the admin API's calls, which the console under `/admin` makes through
//!   [`api`].
//! - [`session`]: the access-token cookie, the refresh token in `sessionStorage` (MVC: what the
//!   server says about its session), the flash message.
//! - [`refresh`]: refreshing before the access token expires, and logging out (revocation).
//! - [`oauth`]: starting a login (state, PKCE, redirect; MVC: the server's `/bff/login`) and the
//!   one-shot values it leaves in `sessionStorage` for the callback.
//! - [`jwt`]: reading (never verifying) the access token for display.
//! - [`format`]: prices and dates for people.
//! - [`components`]: small views that several pages share.
//! - [`pages`]: one file per route; `pages/admin/` is the admin console, one file per section.

mod admin_api;
mod api;
mod app;
mod components;
mod format;
mod jwt;
mod oauth;
mod pages;
mod refresh;
mod session;
mod timeline;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
