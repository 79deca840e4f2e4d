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
//! - [`app`]: start-up (runtime config and server metadata), the shell, the nav bar and routes,
//!   and which bundle serves which page ([`app::serves`]).
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
//!
//! # Three bundles
//! A release build makes three wasm files from this library (issue 13: the first page does not
//! carry what it does not show), and `shared::bundle` says which has which page:
//! - `src/main.rs`, the app (into `dist/`): the home page, the callback and the shop;
//! - `src/bin/inspector.rs`, the inspector (into `dist/inspect/`): the token, the timeline, the
//!   debugger, the refusals and the labs;
//! - `src/bin/console.rs`, the admin console under `/admin` (into `dist/admin/`).
//!
//! trunk builds the app from `index.html`, and each other bundle from a copy of it that names
//! its binary (`scripts/setup.sh`, `build_frontend`).
//!
//! Each links only the pages its routes name ([`app::routes`]); a link or a navigation to a
//! page of another bundle loads it ([`app::serves`]). A debug build (`trunk serve`) puts every
//! page in the app, so one development server shows them all.

pub mod admin_api;
pub mod api;
pub mod app;
pub mod components;
pub mod dpop;
pub mod format;
pub mod jwt;
pub mod oauth;
pub mod pages;
pub mod refresh;
pub mod session;
pub mod timeline;
