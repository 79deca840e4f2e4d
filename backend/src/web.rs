//! The browser app's origin: the files `trunk build` wrote, and `/config.json`.

use std::path::Path;

use axum::Json;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use shared::bundle::Bundle;
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
    // Every unknown path is a route of the single-page app (`/callback`, `/products`, …). The
    // build writes each file compressed beside it (`.br`, `.gz`: scripts/setup.sh): a browser
    // that accepts either gets it, with `Content-Encoding` (and `Vary`, from `cache_policy`).
    let files = bundle_files(dir);
    let index = std::fs::read_to_string(Path::new(dir).join("index.html")).unwrap_or_else(|_| {
        tracing::warn!(dir = %dir.display(), "the browser app is not built (run trunk build); the app origin will answer 404");
        String::new()
    });
    // The bundles built apart from the app (`shared::bundle`), each in its folder with its own
    // index.html: the console answers every path under `/admin`, the inspector its pages. A
    // bundle not built (a debug build, whose app bundle holds every page) leaves its pages to
    // the app's index.html.
    let mut router = Router::new();
    let mut indexes = vec![index];
    for bundle in Bundle::SPLIT {
        let Some(folder) = bundle.dir() else { continue };
        let bundle_dir = dir.join(folder);
        let Ok(html) = std::fs::read_to_string(bundle_dir.join("index.html")) else {
            continue;
        };
        indexes.push(html);
        router = router.nest_service(&format!("/{folder}"), bundle_files(&bundle_dir));
        for page in bundle.pages_elsewhere() {
            router = router.route_service(page, bundle_index(&bundle_dir));
        }
    }
    let csp = content_security_policy(config, &indexes);
    router
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
        .layer(axum::middleware::from_fn(cache_policy))
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

/// A bundle's `index.html` in `dir`, compressed as the browser accepts.
fn bundle_index(dir: &Path) -> ServeFile {
    ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip()
}

/// A bundle's files in `dir`, compressed as the browser accepts; any other path is a page of
/// the bundle and gets its `index.html`.
fn bundle_files(dir: &Path) -> ServeDir<ServeFile> {
    ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(bundle_index(dir))
}

/// The token lives in a cookie that the page's scripts can read (that is the REST mode's
/// trade-off), so the policy limits which scripts run and where the page may send data: only
/// this origin's files, trunk's inline loader by hash, and fetches to the authorization server
/// and API. `'wasm-unsafe-eval'` is what compiling the app's WebAssembly needs, nothing more.
fn content_security_policy(config: &Config, index_html: &[String]) -> HeaderValue {
    let hashes: String = index_html
        .iter()
        .flat_map(|html| inline_scripts(html))
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

/// Whether the request's body is declared a form (`application/x-www-form-urlencoded`, with any
/// parameters): what OAuth endpoints (RFC 6749 §3.2) and back channels take.
pub fn is_form_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
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

/// trunk names what it builds after its content (`frontend-<16 hex digits>_bg.wasm`): such a
/// file never changes, and a browser may keep it a year without asking again. Everything else
/// (`index.html`, which names the current ones, and every route of the app, which answers with
/// it) is revalidated at each load, so a new build is seen at once.
async fn cache_policy(request: Request, next: Next) -> Response {
    let content_named = content_named(request.uri().path());
    let mut response = next.run(request).await;
    // A hashed name that is not there (an old build's, asked for during a deploy) is answered
    // with index.html, which must not be kept a year under that name.
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let immutable = content_named && !html;
    // The same URL answers brotli, gzip or plain bytes: a shared cache must keep them apart.
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if response.status().is_success() && !response.headers().contains_key(header::CACHE_CONTROL) {
        let policy = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Whether the last segment of `path` carries a content hash as trunk writes it: `-`, 16
/// hexadecimal digits, then `.` or `_`.
fn content_named(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default().as_bytes();
    name.windows(18).any(|w| {
        w[0] == b'-' && w[1..17].iter().all(u8::is_ascii_hexdigit) && matches!(w[17], b'.' | b'_')
    })
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

    #[test]
    fn content_hashed_names_are_recognised() {
        for hashed in [
            "/frontend-b3731c9619097219.js",
            "/frontend-b3731c9619097219_bg.wasm",
            "/main-a22b1d70478610cd.css",
        ] {
            assert!(content_named(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/products",
            "/callback",
            "/frontend-b3731c961909721.js",
            "/b3731c9619097219-x/index.html",
        ] {
            assert!(!content_named(plain), "{plain}");
        }
    }

    /// What a browser gets: the compressed file it accepts, with the caching its name allows.
    #[tokio::test]
    async fn serves_precompressed_files_with_their_cache_policy() {
        use clap::Parser;
        use tower::ServiceExt;
        let dir = tempfile::tempdir().unwrap();
        let wasm = "frontend-b3731c9619097219_bg.wasm";
        for (name, body) in [
            ("index.html", "<html>index</html>"),
            (wasm, "plain"),
            (&format!("{wasm}.br"), "brotli"),
            (&format!("{wasm}.gz"), "gzip"),
            ("index.html.gz", "gzip index"),
        ] {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let config =
            Config::try_parse_from(["backend", "--app-dir", &dir.path().display().to_string()])
                .unwrap();
        let get = |path: String, accept: &'static str| {
            let app = router(&config);
            async move {
                let request = Request::get(path)
                    .header(header::ACCEPT_ENCODING, accept)
                    .body(axum::body::Body::empty())
                    .unwrap();
                let response = app.oneshot(request).await.unwrap();
                let header = |name| {
                    response
                        .headers()
                        .get(name)
                        .map(|v: &HeaderValue| v.to_str().unwrap().to_owned())
                };
                let (encoding, cache) = (
                    header(header::CONTENT_ENCODING),
                    header(header::CACHE_CONTROL),
                );
                assert_eq!(header(header::VARY).as_deref(), Some("accept-encoding"));
                let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                    .await
                    .unwrap();
                (encoding, cache, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let immutable = Some("public, max-age=31536000, immutable".to_owned());
        let (encoding, cache, body) = get(format!("/{wasm}"), "gzip, deflate, br").await;
        assert_eq!((encoding.as_deref(), body.as_str()), (Some("br"), "brotli"));
        assert_eq!(cache, immutable);
        let (encoding, _, body) = get(format!("/{wasm}"), "gzip").await;
        assert_eq!((encoding.as_deref(), body.as_str()), (Some("gzip"), "gzip"));
        let (encoding, _, body) = get(format!("/{wasm}"), "identity").await;
        assert_eq!((encoding, body.as_str()), (None, "plain"));
        // A route of the app answers with index.html, revalidated at each load.
        let (encoding, cache, body) = get("/products".into(), "gzip, br").await;
        assert_eq!(
            (encoding.as_deref(), body.as_str()),
            (Some("gzip"), "gzip index")
        );
        assert_eq!(cache.as_deref(), Some("no-cache"));
        // So does a hashed name that is not there, and it is not kept for a year.
        let (_, cache, body) = get("/frontend-0123456789abcdef.js".into(), "identity").await;
        assert_eq!(body, "<html>index</html>");
        assert_eq!(cache.as_deref(), Some("no-cache"));
        // Without a console bundle, its paths are the app's (a debug build holds the console).
        let (_, _, body) = get("/admin/users".into(), "identity").await;
        assert_eq!(body, "<html>index</html>");

        // The console's bundle answers every path under /admin, its files with theirs.
        let console = dir.path().join("admin");
        std::fs::create_dir(&console).unwrap();
        let console_wasm = "console-0123456789abcdef_bg.wasm";
        for (name, body) in [
            ("index.html", "<html>console</html>"),
            (console_wasm, "console plain"),
            (&format!("{console_wasm}.br"), "console brotli"),
        ] {
            std::fs::write(console.join(name), body).unwrap();
        }
        for path in ["/admin", "/admin/", "/admin/users", "/admin/clients?x=1"] {
            let (_, cache, body) = get(path.into(), "identity").await;
            assert_eq!(body, "<html>console</html>", "{path}");
            assert_eq!(cache.as_deref(), Some("no-cache"), "{path}");
        }
        let (encoding, cache, body) = get(format!("/admin/{console_wasm}"), "br").await;
        assert_eq!(
            (encoding.as_deref(), body.as_str()),
            (Some("br"), "console brotli")
        );
        assert_eq!(cache, immutable);
        // Without the inspector's bundle, its pages are the app's.
        let (_, _, body) = get("/timeline".into(), "identity").await;
        assert_eq!(body, "<html>index</html>");

        // The inspector's bundle answers its pages, its files under /inspect/.
        let inspector = dir.path().join("inspect");
        std::fs::create_dir(&inspector).unwrap();
        std::fs::write(inspector.join("index.html"), "<html>inspector</html>").unwrap();
        std::fs::write(inspector.join("inspector-0123456789abcdef.js"), "js").unwrap();
        for page in shared::bundle::INSPECTOR_PAGES {
            let (_, cache, body) = get(format!("{page}?id=x"), "identity").await;
            assert_eq!(body, "<html>inspector</html>", "{page}");
            assert_eq!(cache.as_deref(), Some("no-cache"), "{page}");
        }
        let (_, cache, body) = get("/inspect/inspector-0123456789abcdef.js".into(), "br").await;
        assert_eq!(body, "js");
        assert_eq!(cache, immutable);
        // The app's pages are still the app's, the console's the console's.
        for page in ["/", "/products", "/administrators", "/token/", "/tokens"] {
            let (_, _, body) = get(page.into(), "identity").await;
            assert_eq!(body, "<html>index</html>", "{page}");
        }
        let (_, _, body) = get("/admin/keys".into(), "identity").await;
        assert_eq!(body, "<html>console</html>");
    }

    #[test]
    fn the_policy_allows_the_inline_loaders_of_both_bundles() {
        use clap::Parser;
        let config = Config::try_parse_from(["backend"]).unwrap();
        let app = "<script type=\"module\">import '/frontend.js';</script>";
        let console = "<script type=\"module\">import '/admin/console.js';</script>";
        let policy = content_security_policy(&config, &[app.to_owned(), console.to_owned()]);
        let policy = policy.to_str().unwrap();
        for html in [app, console] {
            let script = inline_scripts(html).next().unwrap();
            let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
            assert!(policy.contains(&format!("'sha256-{hash}'")), "{policy}");
        }
    }
}
