//! Cross-origin access to the API origin (the Fetch standard's CORS protocol), and, in demo
//! mode, a short record of the preflights it answered.
//!
//! The browser app runs on another origin than the API, so every call that carries
//! `Authorization` or a JSON body is preceded by an `OPTIONS` preflight. The page cannot see
//! those: the browser sends them on its behalf and hides them from scripts (and from
//! `PerformanceResourceTiming` entries' headers). With `--demo` the server keeps the last
//! [`MAX_PREFLIGHTS`] it answered per origin, for [`MAX_PREFLIGHTS`] origins at most, and
//! `GET /api/cors/preflights?origin=…` shows them, so the app's timeline can show what the
//! browser asked and which `Access-Control-*` headers answered. The record is per instance and
//! in memory: behind a load balancer, each instance shows the preflights it answered itself.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use shared::api::{MAX_PREFLIGHTS, Preflight, Preflights};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::api::error::ApiError;
use crate::clock::Clock;
use crate::config::Config;
use crate::state::AppState;
use crate::{logs, refusals};

/// What the browser sent or was answered is kept only this long (characters).
const MAX_TEXT: usize = 200;

/// Allowed origins only, never `*`; no cookies (the API reads `Authorization`, not cookies), so
/// no `Allow-Credentials`. tower-http adds `Vary: Origin` (and the preflight headers) itself.
pub fn layer(config: &Config) -> CorsLayer {
    let origins: Vec<_> = config
        .cors_origins()
        .iter()
        .filter_map(|o| o.parse().ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        // `DPoP`: a browser client's proofs (RFC 9449 §4.1); `DPoP-Nonce`: the server's nonces
        // (§8), which a browser client must be able to read.
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(crate::dpop::HEADER),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static(crate::dpop::NONCE_HEADER),
            HeaderName::from_static("retry-after"),
            logs::X_REQUEST_ID,
            refusals::RECORDED,
        ])
        .max_age(Duration::from_secs(600))
}

/// tower-http adds `Access-Control-*` headers to every response and leaves out only
/// `Allow-Origin` for origins not on the list. A response the browser will not share with the
/// caller should not advertise the policy either, so the rest is removed too.
pub async fn only_full_cors(mut response: Response) -> Response {
    if !response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        for name in [
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::ACCESS_CONTROL_MAX_AGE,
        ] {
            response.headers_mut().remove(name);
        }
    }
    response
}

/// The preflights this instance answered, per origin (demo mode only; see the module).
#[derive(Default)]
pub struct PreflightLog {
    /// Most recently used origin first.
    origins: Mutex<VecDeque<(String, VecDeque<Preflight>)>>,
}

impl PreflightLog {
    /// Records `preflight` for `origin`, forgetting the oldest preflight of a full origin and the
    /// least recently seen origin when there are too many.
    pub fn note(&self, origin: &str, preflight: Preflight) {
        let origin = clip(origin);
        let mut origins = self.lock();
        let mut entry = match origins.iter().position(|(o, _)| *o == origin) {
            Some(i) => origins.remove(i).unwrap_or_default(),
            None => (origin, VecDeque::new()),
        };
        entry.1.push_front(preflight);
        entry.1.truncate(MAX_PREFLIGHTS);
        origins.push_front(entry);
        origins.truncate(MAX_PREFLIGHTS);
    }

    /// The preflights recorded for `origin`, newest first.
    pub fn of(&self, origin: &str) -> Vec<Preflight> {
        self.lock()
            .iter()
            .find(|(o, _)| o == origin)
            .map(|(_, preflights)| preflights.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(String, VecDeque<Preflight>)>> {
        // A panic while holding the lock leaves a list that is still well formed.
        self.origins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What [`record_preflights`] needs: the log (present only in demo mode) and the clock.
#[derive(Clone)]
pub struct Recorder {
    pub log: Option<Arc<PreflightLog>>,
    pub clock: Clock,
}

/// Middleware outside the CORS layer: notes each preflight (an `OPTIONS` request with `Origin`
/// and `Access-Control-Request-Method`) with the headers that answered it.
pub async fn record_preflights(
    State(recorder): State<Recorder>,
    request: Request,
    next: Next,
) -> Response {
    let Some(log) = recorder.log else {
        return next.run(request).await;
    };
    let asked = (request.method() == Method::OPTIONS)
        .then(|| {
            let headers = request.headers();
            let origin = text(headers, &header::ORIGIN)?;
            let method = text(headers, &header::ACCESS_CONTROL_REQUEST_METHOD)?;
            let asked_headers = text(headers, &header::ACCESS_CONTROL_REQUEST_HEADERS);
            Some((
                origin,
                method,
                asked_headers,
                request.uri().path().to_owned(),
            ))
        })
        .flatten();
    let response = next.run(request).await;
    if let Some((origin, request_method, request_headers, path)) = asked {
        let response_headers = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                name.as_str().starts_with("access-control-") || *name == header::VARY
            })
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    clip(&String::from_utf8_lossy(value.as_bytes())),
                )
            })
            .collect();
        log.note(
            &origin,
            Preflight {
                at_ms: recorder.clock.now_us().div_euclid(1000),
                path: clip(&path),
                request_method,
                request_headers,
                status: response.status().as_u16(),
                response_headers,
                request_id: logs::current_request_id(),
            },
        );
    }
    response
}

/// `GET /api/cors/preflights?origin=https://app.example`: the preflights this instance answered
/// for that origin (the request's own `Origin` when the parameter is left out), newest first.
/// Demo mode only: elsewhere 404.
#[utoipa::path(get, path = "/api/cors/preflights", tag = "API",
    params(("origin" = Option<String>, Query, description = "The origin, e.g. http://localhost:8080 (default: the request's Origin header)")),
    responses((status = 200, description = "The preflights, newest first", body = shared::api::Preflights),
        (status = 400, description = "No origin given", body = shared::oauth::ErrorResponse),
        (status = 404, description = "Not in demo mode", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<Preflights>, ApiError> {
    let Some(log) = &state.preflights else {
        return Err(ApiError::NotFound(
            "preflights are recorded only in demo mode (start the server with --demo)".into(),
        ));
    };
    let params = crate::api::query_params(uri.query(), &["origin"])?;
    let origin = params
        .into_iter()
        .map(|(_, value)| value)
        .next()
        .or_else(|| text(&headers, &header::ORIGIN))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "name the origin whose preflights to show: ?origin=http://localhost:8080 (or \
                 call from that origin, whose browser sends Origin)"
                    .into(),
            )
        })?;
    let preflights = log.of(&origin);
    Ok(Json(Preflights { origin, preflights }))
}

/// A header's value as text, clipped (`None` when absent or not visible ASCII).
fn text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(clip(value))
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preflight(path: &str) -> Preflight {
        Preflight {
            at_ms: 0,
            path: path.into(),
            request_method: "GET".into(),
            request_headers: None,
            status: 200,
            response_headers: Vec::new(),
            request_id: None,
        }
    }

    #[test]
    fn keeps_the_newest_per_origin_and_the_most_recent_origins() {
        let log = PreflightLog::default();
        for i in 0..MAX_PREFLIGHTS + 3 {
            log.note("http://a.test", preflight(&format!("/{i}")));
        }
        let kept = log.of("http://a.test");
        assert_eq!(kept.len(), MAX_PREFLIGHTS);
        assert_eq!(kept[0].path, format!("/{}", MAX_PREFLIGHTS + 2));
        for i in 0..MAX_PREFLIGHTS {
            log.note(&format!("http://o{i}.test"), preflight("/"));
        }
        assert!(log.of("http://a.test").is_empty(), "the oldest origin goes");
        log.note(&"x".repeat(1000), preflight("/"));
        assert_eq!(
            log.of(&"x".repeat(MAX_TEXT)).len(),
            1,
            "origins are clipped"
        );
        assert!(log.of("http://nobody.test").is_empty());
    }
}
