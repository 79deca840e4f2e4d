//! What the browser app learns about its deployment when it starts.

use serde::{Deserialize, Serialize};

/// Served by the backend as `/config.json` on the app's origin, so one build of the app works
/// behind any issuer and API address. When it is missing (for example under `trunk serve`)
/// the app falls back to [`AppConfig::default`], the local demo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppConfig {
    /// The authorization server's issuer identifier; endpoints are found by discovery.
    pub issuer: String,
    /// Where the protected API lives (`{api_base}/api/products`, …).
    pub api_base: String,
    pub client_id: String,
    /// The scopes the app asks for at login.
    pub scope: String,
    /// Where the tokens live; absent (an older backend, `trunk serve`) means REST.
    #[serde(default)]
    pub mode: AppMode,
}

/// The two ways this app can run (source document 000's REST and MVC versions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppMode {
    /// The browser holds the access token (in a cookie its scripts read) and sends it itself as
    /// `Authorization: Bearer`: the flow is there to watch in the Network tab.
    #[default]
    Rest,
    /// The backend-for-frontend holds the tokens in a server-side session and calls the API for
    /// the browser ([`crate::bff`]); the browser has only an `HttpOnly` session cookie.
    Mvc,
}

impl AppMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Mvc => "mvc",
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:5000".into(),
            api_base: "http://localhost:5000".into(),
            client_id: "demo-spa".into(),
            scope: "openid offline_access profile email products:read orders:read orders:write"
                .into(),
            mode: AppMode::Rest,
        }
    }
}
