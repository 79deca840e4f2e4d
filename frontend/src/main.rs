//! The browser app: a Leptos single-page app that logs in with the authorization code grant and
//! PKCE, keeps the access token in a cookie and calls the API with `Authorization: Bearer`, and
//! refreshes it before it expires.
//!
//! # Layout
//! - [`app`]: start-up (runtime config and server metadata), the shell, the nav bar and routes.
//! - [`api`]: every HTTP request the app makes, and what an API error means for the user.
//! - [`admin_api`]: the admin API's calls, which the console under `/admin` makes through
//!   [`api`].
//! - [`session`]: the access-token cookie, the refresh token in `sessionStorage`, the flash
//!   message.
//! - [`refresh`]: refreshing before the access token expires, and logging out (revocation).
//! - [`oauth`]: starting a login (state, PKCE, redirect) and the one-shot values it leaves in
//!   `sessionStorage` for the callback.
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

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
