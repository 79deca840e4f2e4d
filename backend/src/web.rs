//! The browser app's origin: the files `trunk build` wrote, and `/config.json`.

use std::path::Path;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use shared::config::AppConfig;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::{AppMode, Config};

pub fn router(config: &Config) -> Router {
    let app_config = AppConfig {
        issuer: config.issuer_str().to_owned(),
        api_base: config.issuer_str().to_owned(),
        // In MVC mode the browser is no OAuth client; the client is the backend-for-frontend.
        client_id: match config.app_mode {
            AppMode::Rest => config.app_client_id.clone(),
            AppMode::Mvc => config.bff_client_id.clone(),
        },
        mode: config.app_mode,
        ..AppConfig::default()
    };
    let dir = &config.app_dir;
    // Every unknown path is a route of the single-page app (`/callback`, `/products`, …).
    let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    let index = std::fs::read_to_string(Path::new(dir).join("index.html")).unwrap_or_else(|_| {
        tracing::warn!(dir = %dir.display(), "the browser app is not built (run trunk build); the app origin will answer 404");
        String::new()
    });
    let csp = content_security_policy(config, &index);
    Router::new()
        .route(
            "/config.json",
            get(move || {
                let body = app_config.clone();
                async move {
                    (
                        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
                        Json(body),
                    )
                }
            }),
        )
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
}

/// The token lives in a cookie that the page's scripts can read (that is the REST mode's
/// trade-off), so the policy limits which scripts run and where the page may send data: only
/// this origin's files, trunk's inline loader by hash, and fetches to the authorization server
/// and API. `'wasm-unsafe-eval'` is what compiling the app's WebAssembly needs, nothing more.
fn content_security_policy(config: &Config, index_html: &str) -> HeaderValue {
    let hashes: String = inline_scripts(index_html)
        .map(|script| {
            format!(
                " 'sha256-{}'",
                STANDARD.encode(Sha256::digest(script.as_bytes()))
            )
        })
        .collect();
    let issuer = config.issuer.origin().ascii_serialization();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; connect-src 'self' {issuer}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"))
}

/// The value of the cookie `name` in the request's `Cookie` headers (the first, if the browser
/// sent several).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers, name).next()
}

/// Every value of the cookie `name` the request carries, in the browser's order.
pub fn cookies<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The contents of the `<script>` elements without a `src`, exactly as the browser hashes them.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        let (content, _) = body.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(content)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inline_scripts_only() {
        let html = r#"<head><script src="/a.js"></script><script type="module">
import init from '/x.js';
</script></head>"#;
        let found: Vec<&str> = inline_scripts(html).collect();
        assert_eq!(found, ["\nimport init from '/x.js';\n"]);
    }
}
