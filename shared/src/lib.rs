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
//! - [`bundle`]: which of the browser app's wasm bundles has which page.
//!
//! Names with a fixed set of values (roles, grant types, key states, event kinds) are enums
//! with one spelling, parsed with `FromStr` and written with `Display`, so the server stores,
//! sends and checks exactly the strings the RFCs and the admin API name.

pub mod admin;
pub mod api;
pub mod bff;
pub mod bundle;
pub mod config;
pub mod oauth;
pub mod pkce;
pub mod scope;

use std::fmt;

/// A stored or sent name that is not one of an enum's values (a role, a grant type, a key
/// state, an event kind), with what it should have been.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.value.chars().take(40).collect();
        write!(f, "{shown:?} is not a {}", self.what)
    }
}

impl std::error::Error for UnknownName {}

/// `FromStr` and `TryFrom<String>` for an enum with `ALL` and `as_str`, so that the same
/// spelling is used wherever the name is written, sent or stored.
macro_rules! named {
    ($type:ty, $what:literal) => {
        impl std::str::FromStr for $type {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::UnknownName {
                        what: $what,
                        value: s.to_owned(),
                    })
            }
        }

        impl TryFrom<String> for $type {
            type Error = $crate::UnknownName;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so that widths and alignment in format strings apply.
                f.pad(self.as_str())
            }
        }
    };
}
pub(crate) use named;
