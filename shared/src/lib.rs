//! Types and rules that both sides of the system need, so that the browser and the server can
//! never disagree about them.
//!
//! # Layout
//! - [`scope`]: the RFC 6749 §3.3 scope grammar and the scopes this API defines.
//! - [`pkce`]: RFC 7636 code verifiers and S256 challenges (the browser makes them, the
//!   authorization server checks them, with the same code).
//! - [`oauth`]: token responses, error responses and access-token claims as they travel.
//! - [`api`]: the resource server's JSON bodies.
//! - [`admin`]: the admin API's JSON bodies.
//! - [`config`]: what the browser app learns about its deployment at start-up.
//! - [`bff`]: the MVC mode's backend-for-frontend, as the browser app calls it.

pub mod admin;
pub mod api;
pub mod bff;
pub mod config;
pub mod oauth;
pub mod pkce;
pub mod scope;
