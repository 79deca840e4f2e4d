//! Prometheus metrics, served on their own listen address (`--metrics-addr`, off by default) so
//! that they are never on the public port by accident.
//!
//! Every series has bounded labels: routes by their template (`/api/orders/{id}`, never the
//! path asked for), methods outside the standard ones as `other`, refusals by their RFC error
//! code, clients by id (only clients that authenticated get a token counted), never a user, a
//! token or an address. Counters count what this instance did; a scrape of every instance
//! (Prometheus sums them) gives the service's. The gauges read from the database (keys, sessions)
//! are the same on every instance sharing it.
//!
//! The README ("Metrics") lists every series with its meaning and example alerts.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::keys::rotation;
use crate::refusals::Refused;
use crate::state::AppState;
use crate::storage::Engine;

/// Which of the two origins answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The authorization server, the API and the admin API.
    Api,
    /// The browser app and, in MVC mode, the backend-for-frontend.
    App,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::App => "app",
        }
    }

    /// The route label of an answer no route matched: on the app's origin, the app's files
    /// (every path of the single-page app answers with them).
    pub fn unmatched(self) -> &'static str {
        match self {
            Self::Api => "unmatched",
            Self::App => "app files",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    origin: &'static str,
    method: &'static str,
    route: Route,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    origin: &'static str,
    method: &'static str,
    route: Route,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuedLabels {
    grant_type: &'static str,
    client_id: String,
    /// `org` for the root issuer (Okta's name for it), else the authorization server's id.
    server: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    route: Route,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, from a quarter of a millisecond to ten seconds: the span of a token request on an
/// idle machine to one waiting for a database that is away.
pub fn latency_histogram() -> Histogram {
    Histogram::new([
        0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
}

/// The series, shared by every handler (the families are handles on shared cells).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    issued: Family<IssuedLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    rate_limited: Family<LimitLabels, Counter>,
    events: Family<KindLabels, Counter>,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
    key_age: Gauge<f64, AtomicU64>,
    rotation_due: Gauge<f64, AtomicU64>,
    bff_sessions: Gauge,
    unrecorded: Counter,
    /// When the current signing key started signing, in Unix seconds, as last read
    /// ([`UNKNOWN`] before the first read).
    key_since: AtomicI64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The series of one server; `database` (the engine) and the version are published as
    /// `backend_info`, and `db_operations` is the storage's own histogram (see
    /// [`crate::storage::Db::operations`]).
    pub fn new(engine: Engine, db_operations: Histogram, rotates: bool) -> Self {
        let database = match engine {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        };
        let mut metrics = Self {
            requests: Family::default(),
            latency: Histograms::new_with_constructor(latency_histogram),
            issued: Family::default(),
            refusals: Family::default(),
            rate_limited: Family::default(),
            events: Family::default(),
            pool: Family::default(),
            pool_max: Gauge::default(),
            key_age: Gauge::default(),
            rotation_due: Gauge::default(),
            bff_sessions: Gauge::default(),
            unrecorded: Counter::default(),
            key_since: AtomicI64::new(UNKNOWN),
            registry: Registry::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "backend",
            "This server: its version and database engine",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("database", database),
            ]),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by origin, route template, method and status",
            metrics.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (to its headers), by origin, route template and method",
            Unit::Seconds,
            metrics.latency.clone(),
        );
        registry.register(
            "oauth_tokens_issued",
            "Access tokens issued, by grant type, client and authorization server",
            metrics.issued.clone(),
        );
        registry.register(
            "oauth_refusals",
            "Error answers, by route template and the error code they carry (RFC 6749 §5.2, RFC 6750 §3.1, and this API's)",
            metrics.refusals.clone(),
        );
        registry.register(
            "refusals_unrecorded",
            "Error answers left out of the security event log: over the instance's budget per second (refusals::PER_SECOND for known callers, ANONYMOUS_PER_SECOND for others), or with its queue full",
            metrics.unrecorded.clone(),
        );
        registry.register(
            "rate_limit_rejections",
            "Requests refused by a rate limit, by limit",
            metrics.rate_limited.clone(),
        );
        registry.register(
            "security_events",
            "Security events recorded (logins, refresh-token reuse, revocations, key rotations, administration), by kind",
            metrics.events.clone(),
        );
        registry.register_with_unit(
            "db_operation_duration",
            "Time a storage operation took, waiting for a connection included",
            Unit::Seconds,
            db_operations,
        );
        registry.register(
            "db_pool_connections",
            "Database connections of this instance's pool, by state (in_use, idle)",
            metrics.pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "The most connections this instance's pool opens",
            metrics.pool_max.clone(),
        );
        registry.register_with_unit(
            "signing_key_age",
            "How long the current signing key has been signing",
            Unit::Seconds,
            metrics.key_age.clone(),
        );
        if rotates {
            registry.register_with_unit(
                "signing_key_rotation_due",
                "Time until the current signing key is due to be replaced (negative: overdue)",
                Unit::Seconds,
                metrics.rotation_due.clone(),
            );
        }
        registry.register(
            "bff_sessions",
            "Live backend-for-frontend sessions (MVC mode), in the database every instance shares",
            metrics.bff_sessions.clone(),
        );
        metrics
    }

    /// One HTTP answer (counted by [`crate::logs::trace`]).
    pub fn answered(
        &self,
        origin: Origin,
        method: &Method,
        route: Route,
        response: &Response,
        took: Duration,
    ) {
        let method = method_label(method);
        if let Some(refused) = response.extensions().get::<Refused>() {
            self.refusals
                .get_or_create(&RefusalLabels {
                    route: route.clone(),
                    reason: refused.code,
                })
                .inc();
        }
        self.latency
            .get_or_create(&RouteLabels {
                origin: origin.as_str(),
                method,
                route: route.clone(),
            })
            .observe(took.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                origin: origin.as_str(),
                method,
                route,
                status: response.status().as_u16(),
            })
            .inc();
    }

    /// One access token issued.
    /// An access token issued by the authorization server `server` (`None`: the root issuer).
    pub fn issued(&self, grant_type: &'static str, client_id: &str, server: Option<&str>) {
        self.issued
            .get_or_create(&IssuedLabels {
                grant_type,
                client_id: client_id.to_owned(),
                server: server.unwrap_or("org").to_owned(),
            })
            .inc();
    }

    /// The counter of the rejections of the rate limit `limit`.
    pub fn rate_limit(&self, limit: &'static str) -> Counter {
        self.rate_limited
            .get_or_create_owned(&LimitLabels { limit })
    }

    /// The counter of the refusals not recorded (see [`crate::refusals::Recorder`]).
    pub fn unrecorded(&self) -> Counter {
        self.unrecorded.clone()
    }

    /// The counter of the security events of `kind`.
    pub fn events(&self) -> EventCounters {
        EventCounters(self.events.clone())
    }
}

/// Counts security events by kind; held by the event log.
#[derive(Clone, Debug, Default)]
pub struct EventCounters(Family<KindLabels, Counter>);

impl EventCounters {
    pub fn count(&self, kind: &'static str) {
        self.0.get_or_create(&KindLabels { kind }).inc();
    }
}

/// Standard methods by name; anything else as `other`, so a client cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A request's route template (or what stands for "no route"), for the metrics and the access
/// line.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Route(Arc<str>);

impl Route {
    pub fn of(request: &Request, origin: Origin) -> Self {
        let path = request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| origin.unmatched(), MatchedPath::as_str);
        Self(Arc::from(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The metrics listener's routes: `GET /metrics` only.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

/// How long a scrape waits for the database before it answers with the gauges it last read.
const SCRAPE_DB_TIMEOUT: Duration = Duration::from_secs(2);

async fn scrape(State(state): State<AppState>) -> Response {
    let metrics = &state.metrics;
    let (in_use, idle, max) = state.db.pool_connections();
    metrics
        .pool
        .get_or_create(&StateLabels { state: "in_use" })
        .set(in_use);
    metrics
        .pool
        .get_or_create(&StateLabels { state: "idle" })
        .set(idle);
    metrics.pool_max.set(max);
    if tokio::time::timeout(SCRAPE_DB_TIMEOUT, read_database_gauges(&state))
        .await
        .is_err()
    {
        tracing::warn!(
            "metrics: the database did not answer in time; the key's start and the sessions are as last read"
        );
    }
    set_key_gauges(&state);
    let mut body = String::new();
    if let Err(e) =
        prometheus_client::encoding::prometheus_text::encode(&mut body, &metrics.registry)
    {
        tracing::error!(error = %e, "encoding the metrics failed");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// The gauges that describe the shared database: the current key's age and time to rotation,
/// and the live backend-for-frontend sessions. The key's start is read at each scrape and kept:
/// with the database away the age still grows with the clock (so an overdue rotation shows),
/// and before the first read the key gauges are NaN, not a misleading 0.
async fn read_database_gauges(state: &AppState) {
    let metrics = &state.metrics;
    let now = state.clock.now();
    match state.db.current_key_since().await {
        Ok(Some(since)) => metrics.key_since.store(since.unix(), Ordering::Relaxed),
        Ok(None) => metrics.key_since.store(UNKNOWN, Ordering::Relaxed),
        Err(e) => tracing::warn!(error = %e, "metrics: reading the signing key failed"),
    }
    match state.db.count_bff_sessions(now).await {
        Ok(live) => {
            metrics.bff_sessions.set(live);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: counting the sessions failed"),
    }
}

/// `key_since` before anything was read.
const UNKNOWN: i64 = i64::MIN;

/// Sets the key gauges from the last start read and the clock.
fn set_key_gauges(state: &AppState) {
    let metrics = &state.metrics;
    let since = metrics.key_since.load(Ordering::Relaxed);
    if since == UNKNOWN {
        metrics.key_age.set(f64::NAN);
        metrics.rotation_due.set(f64::NAN);
        return;
    }
    let age = state.clock.now().unix().saturating_sub(since);
    metrics.key_age.set(age as f64);
    if let Some(interval) = rotation::Policy::new(&state.config).rotation_interval {
        metrics.rotation_due.set((interval - age) as f64);
    }
}
