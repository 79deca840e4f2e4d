//! The backend: an OAuth 2.0 authorization server, the REST API it protects, and the server of
//! the browser app, in one process with two origins.
//!
//! # Layout
//! - [`oauth`]: the authorization server. Discovery (RFC 8414), the JWK Set, `/authorize` with
//!   its login form and consent screen, `/token` (a file per grant), revocation, introspection.
//! - [`api`]: the resource server. Bearer authentication as an extractor, one file per resource;
//!   [`protected_resource`]: how the API and the admin API describe themselves to a client that
//!   meets a 401 (RFC 9728 metadata, named in every Bearer challenge).
//! - [`access_token`]: the RFC 9068 tokens the first signs and the second verifies, and
//!   [`keys`]: the signing keys they use, with their rotation.
//! - [`admin`]: the admin API (users, clients, scopes, API tokens, keys, events), for
//!   administrators; the command line runs the same operations.
//! - [`web`]: the browser app's origin (the `trunk build` output and `/config.json`).
//! - [`bff`]: in MVC mode, the backend-for-frontend on the app's origin: it logs the browser in
//!   as a confidential client, keeps the tokens in a server-side session and calls the API.
//! - [`storage`]: every SQL statement, for SQLite and PostgreSQL, behind one [`storage::Db`].
//! - [`throttle`]: the rate limits, counted in the database so instances share them.
//! - [`events`]: the security event log, and [`refusals`]: every error answer recorded there
//!   with its request id and why (the check, expected against got, the remedy).
//! - [`health`]: `/healthz` and `/readyz`, for load balancers and orchestrators, and
//!   [`metrics`]: the Prometheus series, on a listener of their own.
//! - [`body`]: request bodies read under a size limit, refused in each boundary's error type.
//! - [`cli`]: the administration commands (`backend users …`, `backend keys …`, …).
//! - [`config`], [`clock`], [`client_addr`], [`demo`], [`crypto`], [`state`]: configuration,
//!   the time every decision is made at, who a request comes from, demo data, the few
//!   primitives we call directly, and the state handlers share.
//!
//! Several instances may run on one PostgreSQL database behind a load balancer: everything
//! that must hold for the whole service (single-use codes, refresh rotation, revocation, rate
//! limits, sessions, key rotation) is decided by the database, not by one process's memory.
//!
//! The API and the app are served on different origins (`:5000` and `:8080` by default), so the
//! browser really makes cross-origin calls and CORS is exercised as in production.

pub mod access_token;
pub mod admin;
pub mod api;
pub mod bff;
pub mod body;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod demo;
pub mod dpop;
pub mod events;
pub mod health;
pub mod issuers;
pub mod keys;
pub mod labs;
pub mod logs;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod protected_resource;
pub mod refusals;
pub mod servers;
pub mod state;
pub mod storage;
pub mod throttle;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderValue, header};
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::clock::Clock;
use crate::config::Config;
use crate::keys::rotation;
use crate::protected_resource::MetadataLocation;
use crate::state::AppState;

/// A started server: its listeners are bound, its database is migrated and seeded.
pub struct Application {
    state: AppState,
    event_writer: tokio::task::JoinHandle<()>,
    api_listeners: Vec<TcpListener>,
    app_listeners: Vec<TcpListener>,
    /// `--metrics-addr`: none unless set.
    metrics_listeners: Vec<TcpListener>,
    /// What the API origin's router is wrapped in before it serves (tests check every answer
    /// against the OpenAPI document with it).
    api_wrapper: Option<Box<dyn FnOnce(Router) -> Router + Send>>,
}

impl Application {
    /// Binds the configured addresses and prepares everything.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let api = bind(&config.api_addr).await?;
        let app = bind(&config.app_addr).await?;
        let metrics = match &config.metrics_addr {
            Some(addr) => bind(addr).await?,
            None => Vec::new(),
        };
        Ok(Self::with_listeners(config, Clock::system(), api, app)
            .await?
            .with_metrics_listeners(metrics))
    }

    /// Like [`Application::build`], on listeners the caller bound (tests bind port 0) and with
    /// the caller's clock (tests move it).
    pub async fn with_listeners(
        config: Config,
        clock: Clock,
        api_listeners: Vec<TcpListener>,
        app_listeners: Vec<TcpListener>,
    ) -> anyhow::Result<Self> {
        let (state, event_writer) = AppState::start(config, clock).await?;
        Ok(Self {
            state,
            event_writer,
            api_listeners,
            app_listeners,
            metrics_listeners: Vec::new(),
            api_wrapper: None,
        })
    }

    /// Wraps the API origin's router in `wrap` (a layer of the caller's) before serving.
    pub fn wrap_api(mut self, wrap: impl FnOnce(Router) -> Router + Send + 'static) -> Self {
        self.api_wrapper = Some(Box::new(wrap));
        self
    }

    /// The state the server runs with.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves `GET /metrics` on `listeners` too (tests bind port 0).
    pub fn with_metrics_listeners(mut self, listeners: Vec<TcpListener>) -> Self {
        self.metrics_listeners = listeners;
        self
    }

    pub fn api_ports(&self) -> Vec<u16> {
        ports(&self.api_listeners)
    }

    pub fn app_ports(&self) -> Vec<u16> {
        ports(&self.app_listeners)
    }

    pub fn metrics_ports(&self) -> Vec<u16> {
        ports(&self.metrics_listeners)
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub async fn run(self) -> anyhow::Result<()> {
        let trusted = Arc::new(self.state.config.trusted_proxies.clone());
        let client_addr = axum::middleware::from_fn_with_state(trusted, client_addr::resolve);
        let mut api = api_router(self.state.clone());
        if let Some(wrap) = self.api_wrapper {
            api = wrap(api);
        }
        let api = api.layer(client_addr.clone());
        let mut app = web::router(&self.state.config);
        if self.state.config.app_mode == config::AppMode::Mvc {
            app = app.merge(bff::router(self.state.clone())?);
        }
        let app = app
            .layer(axum::middleware::from_fn_with_state(
                tracer(&self.state, metrics::Origin::App),
                logs::trace,
            ))
            .layer(client_addr);
        tracing::info!(database = self.state.db.engine().as_str(), "storage ready");
        for listener in &self.api_listeners {
            tracing::info!(
                "authorization server and API on http://{}",
                listener.local_addr()?
            );
        }
        for listener in &self.app_listeners {
            tracing::info!("browser app on http://{}", listener.local_addr()?);
        }
        for listener in &self.metrics_listeners {
            tracing::info!("metrics on http://{}/metrics", listener.local_addr()?);
        }
        let maintenance = tokio::spawn(maintain(self.state.clone()));
        let revocations = tokio::spawn(follow_revocations(self.state.clone()));
        let mut servers = tokio::task::JoinSet::new();
        let scrape = metrics::router(self.state.clone());
        let listeners = (self.api_listeners.into_iter().map(|l| (l, api.clone())))
            .chain(self.app_listeners.into_iter().map(|l| (l, app.clone())))
            .chain(
                self.metrics_listeners
                    .into_iter()
                    .map(|l| (l, scrape.clone())),
            );
        let shutdown = shutdown_watch()?;
        for (listener, router) in listeners {
            // The peer address feeds the per-address rate limits and the event log.
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let mut stop = shutdown.clone();
            servers.spawn(async move {
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopping| *stopping).await;
                    })
                    .await
            });
        }
        drop((api, app, scrape));
        while let Some(result) = servers.join_next().await {
            result??;
        }
        // Every handle on the event log is gone once the maintenance task is: the writer then
        // stores what is queued and ends.
        revocations.abort();
        maintenance.abort();
        let _ = maintenance.await;
        drop(self.state);
        let _ = self.event_writer.await;
        Ok(())
    }
}

/// The API origin: authorization server and resource server.
pub fn api_router(state: AppState) -> Router {
    let cors = cors::layer(&state.config);
    let preflights = cors::Recorder {
        log: state.preflights.clone(),
        clock: state.clock.clone(),
    };
    Router::new()
        .merge(oauth::api_router())
        .merge(oauth::registration_router())
        .merge(oauth::servers_router())
        .merge(
            Router::new()
                .merge(api::router())
                .merge(admin::router())
                .layer(axum::middleware::from_fn_with_state(
                    MetadataLocation::new(&state.config),
                    protected_resource::point_to_metadata,
                )),
        )
        .merge(protected_resource::router())
        // CORS only on what browsers fetch; the authorization pages are navigated to.
        .layer(cors)
        .layer(axum::middleware::map_response(cors::only_full_cors))
        .layer(axum::middleware::from_fn_with_state(
            preflights,
            cors::record_preflights,
        ))
        .merge(oauth::page_router())
        .merge(health::router())
        .merge(openapi::router(
            &state.config,
            state.config.demo.then_some(demo::DOCS_CLIENT_ID),
        ))
        .layer(axum::middleware::map_request(limit_headers))
        // Everything on this origin is about tokens or private data; only what says otherwise
        // (discovery and the JWKS) may be cached. This covers the answers no handler writes
        // too: 413, 431, 404, 405.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(axum::middleware::from_fn_with_state(
            tracer(&state, metrics::Origin::Api),
            logs::trace,
        ))
        .with_state(state)
}

/// The request tracing of `origin`: its metrics, and its refusals recorded in the event log
/// (one budget for both origins).
fn tracer(state: &AppState, origin: metrics::Origin) -> logs::Tracer {
    logs::Tracer {
        metrics: state.metrics.clone(),
        origin,
        refusals: state.refusals.clone(),
    }
}

/// Requests here carry a few hundred bytes of headers; a bearer token is under 1 KiB. Beyond
/// this, RFC 6585 §5's 431 answers before any handler runs.
const MAX_HEADER_BYTES: usize = 16 * 1024;

async fn limit_headers(
    request: axum::extract::Request,
) -> Result<axum::extract::Request, (axum::http::StatusCode, &'static str)> {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        return Err((
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request headers larger than 16 KiB\n",
        ));
    }
    Ok(request)
}

/// Binds every address `addr` resolves to (`localhost` is both 127.0.0.1 and ::1), skipping
/// the ones this machine lacks (no IPv6, say) as long as one works.
async fn bind(addr: &str) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let mut last_error = None;
    let mut resolved: Vec<_> = tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("resolving {addr}"))?
        .collect();
    resolved.dedup();
    for socket in resolved {
        match TcpListener::bind(socket).await {
            Ok(listener) => listeners.push(listener),
            Err(e) => last_error = Some(anyhow::Error::new(e).context(format!("binding {socket}"))),
        }
    }
    match (listeners.is_empty(), last_error) {
        (true, Some(e)) => Err(e),
        (true, None) => anyhow::bail!("{addr} resolves to no address"),
        _ => Ok(listeners),
    }
}

fn ports(listeners: &[TcpListener]) -> Vec<u16> {
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.port())
        .collect()
}

/// Background upkeep: the signing-key schedule and reload (every reload interval, and at once
/// when PostgreSQL announces that another instance or the command line changed the keys), and
/// every ten minutes the deletion of expired codes and consent tickets (spent codes are kept an
/// hour, to recognise late replays), of ended backend-for-frontend sessions, of security events
/// past their retention, and of rate-limit state that no longer limits anything.
async fn maintain(state: AppState) {
    let every = rotation::reload_interval(&state.config);
    // The keys were just read and scheduled by `AppState::start`: the first periodic round
    // (and purge) is one interval away.
    let started = tokio::time::Instant::now();
    let mut interval = tokio::time::interval_at(started + every, every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changes = match state.db.key_changes().await {
        Ok(changes) => changes,
        Err(e) => {
            tracing::warn!(error = %e, "key change notifications unavailable; polling only");
            None
        }
    };
    if changes.is_some() {
        // A change committed between the start-up read and the subscription was announced to
        // no one here: read once more, now that later ones will be.
        maintain_keys(&state).await;
    }
    let mut last_purge = started;
    loop {
        let notified = match changes.as_mut() {
            Some(listener) => tokio::select! {
                _ = interval.tick() => false,
                result = listener.next() => match result {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the key change notifications; they reconnect");
                        tokio::time::sleep(every).await;
                        false
                    }
                },
            },
            None => {
                interval.tick().await;
                false
            }
        };
        maintain_keys(&state).await;
        if notified || last_purge.elapsed() < PURGE_EVERY {
            continue;
        }
        last_purge = tokio::time::Instant::now();
        purge(&state).await;
    }
}

const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Keeps this instance's copy of the revocation list current: every `--revocation-sync-ms` it
/// reads what any instance (or the command line) revoked since the last read. While reads fail,
/// tokens are checked against the database instead (see `storage::Db::token_status`).
async fn follow_revocations(state: AppState) {
    let every = Duration::from_millis(state.config.revocation_sync_ms);
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        interval.tick().await;
        // The clock lab's offset travels with the list (demo mode); a failed read keeps the
        // last one, and the list's own read reports the database.
        let _ = labs::clock::follow(&state).await;
        match state.db.sync_revocations(state.clock.unmoved_now()).await {
            Ok(()) if failing => {
                tracing::info!("reading the revocation list again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "reading the revocation list failed; checking tokens against the database until it works");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// One round of the signing-key schedule, for the root issuer and every authorization server
/// (whose list is read again): reload, rotate if due, record what happened.
async fn maintain_keys(state: &AppState) {
    // The schedule is about real cache lifetimes: the clock lab's moves do not count.
    let now = state.clock.unmoved_now();
    let root = &state.root;
    match rotation::maintain(&state.db, &state.config, &root.owner, &state.keys, now).await {
        Ok(events) => {
            for event in events {
                state.events.record(event).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "signing-key maintenance failed"),
    }
    match state.servers.sync(&state.db, &state.config, now).await {
        Ok(events) => {
            for event in events {
                state.events.record(event).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "reading the authorization servers failed"),
    }
}

/// Deletes what can no longer be used. Several instances may purge at once: deletes of the
/// same expired rows are harmless.
async fn purge(state: &AppState) {
    // What the clock lab's moved clock finds expired is usable again once it is reset.
    let now = state.clock.unmoved_now();
    match state.db.purge_codes(now.plus_secs(-3600)).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(purged = n, "deleted expired authorization codes"),
        Err(e) => tracing::warn!(error = %e, "purging expired authorization codes failed"),
    }
    if let Err(e) = state.db.purge_client_assertions(now).await {
        tracing::warn!(error = %e, "purging expired client assertions failed");
    }
    if let Err(e) = state.db.purge_dpop_proofs(now).await {
        tracing::warn!(error = %e, "purging expired DPoP proofs failed");
    }
    if let Err(e) = state.db.purge_pushed_requests(now).await {
        tracing::warn!(error = %e, "purging expired pushed authorization requests failed");
    }
    // Kept ten minutes past their expiry, so that a device still polling hears expired_token
    // (RFC 8628 §3.5) rather than of an unknown code.
    if let Err(e) = state.db.purge_device_requests(now.plus_secs(-600)).await {
        tracing::warn!(error = %e, "purging expired device authorization requests failed");
    }
    let idle = i64::try_from(state.config.session_idle_timeout).unwrap_or(i64::MAX);
    if let Err(e) = state.db.purge_bff(now, now.plus_secs(-idle)).await {
        tracing::warn!(error = %e, "purging ended backend-for-frontend sessions failed");
    }
    if let Err(e) = state.db.purge_revocations(now).await {
        tracing::warn!(error = %e, "purging expired revocations failed");
    }
    if let Err(e) = state.db.purge_consent_tickets(now).await {
        tracing::warn!(error = %e, "purging expired consent tickets failed");
    }
    // Kept a week past their expiry, so the list says why a late one is refused.
    if let Err(e) = state
        .db
        .purge_initial_access_tokens(now.plus_secs(-7 * 86_400))
        .await
    {
        tracing::warn!(error = %e, "purging expired initial access tokens failed");
    }
    match state.db.purge_orphan_keys().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            purged = n,
            "deleted the keys of deleted authorization servers"
        ),
        Err(e) => tracing::warn!(error = %e, "purging the keys of deleted servers failed"),
    }
    let retention = i64::try_from(state.config.event_retention_days * 86_400).unwrap_or(0);
    if let Err(e) = state.db.purge_events(now.plus_secs(-retention)).await {
        tracing::warn!(error = %e, "purging old security events failed");
    }
    let now_us = now.unix().saturating_mul(1_000_000);
    if let Err(e) = state.db.purge_rate_limits(now_us).await {
        tracing::warn!(error = %e, "purging rate-limit state failed");
    }
    state.throttles.forget_expired(now_us);
}

/// Ctrl-C or SIGTERM, as a state every listener's server waits on. The handlers are installed
/// here, before any server runs: a signal that arrives while the servers are still starting (a
/// supervisor that stops the process right after it answered) is seen by all of them, not only
/// by those that had started waiting, and the state stays set for any that waits later.
fn shutdown_watch() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            let _ = tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}
