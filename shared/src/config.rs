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
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:5000".into(),
            api_base: "http://localhost:5000".into(),
            client_id: "demo-spa".into(),
            scope: "openid offline_access profile email products:read orders:read orders:write"
                .into(),
        }
    }
}
