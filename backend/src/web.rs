//! The browser app's origin: the files `trunk build` wrote, and `/config.json`.

use std::path::Path;

use axum::Json;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use shared::config::AppConfig;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

pub fn router(config: &Config) -> Router {
    let app_config = AppConfig {
        issuer: config.issuer_str().to_owned(),
        api_base: config.issuer_str().to_owned(),
        client_id: config.app_client_id.clone(),
        ..AppConfig::default()
    };
    let dir = &config.app_dir;
    // Every unknown path is a route of the single-page app (`/callback`, `/products`, …).
    let files = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    if !Path::new(dir).join("index.html").is_file() {
        tracing::warn!(dir = %dir.display(), "the browser app is not built (run trunk build); the app origin will answer 404");
    }
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
}
