//! Load and soak: the real `backend` binary (release build, `--demo`, a fresh SQLite file, free
//! loopback ports) under steady mixed load for several minutes, watched from outside.
//!
//! Run it with `scripts/soak.sh [--minutes N]`, which builds in release mode and runs this
//! ignored test (`SOAK_MINUTES`, default 5; `SOAK_WARMUP_SECS`, default a fifth of the run, at
//! most 60; `SOAK_SAMPLE_SECS`, default 10).
//!
//! # The load
//!
//! Closed loops (each worker sends its next request when the last is answered), all at once:
//! - `token`: client-credentials grants for `demo-service` (HTTP Basic);
//! - `products`: `GET /api/products` with the newest of those access tokens;
//! - `orders-read`, `orders-write`: `GET` and `POST /api/orders` with an API token of user0
//!   (`orders:write`) made with `backend tokens create`;
//! - `login`: the browser flow of `demo-spa` (authorization code + PKCE, user0's password), then
//!   `refresh` four times (each rotation must succeed and return a new refresh token) with a
//!   `GET /api/orders` (`orders-bearer`) on each new access token, then `revoke` the last
//!   refresh token.
//!
//! Login attempts per address are limited to 30 a minute by default; this test's logins come
//! from one address, so it sets `LOGIN_ATTEMPTS_PER_ADDRESS` (the env form of
//! `--login-attempts-per-address`) to 100000/60 (see `process::Site::command`). No other limit
//! is touched: client-authentication limits count failures only, and there are none.
//!
//! # What must hold
//!
//! - every answer is the expected success: no transport error, no 4xx, no 5xx;
//! - after the warm-up (caches, the connection pool and the allocator reach their working size),
//!   resident memory, open file descriptors and the database's file descriptors stay flat
//!   (thresholds and reasons at [`RSS_GROWTH_MAX_MIB`], [`FD_GROWTH_MAX`] and
//!   [`DB_FDS_MAX`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../process/mod.rs"]
mod process;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use process::{Server, Site};
use reqwest::StatusCode;
use serde_json::Value;

/// Resident memory may grow this much from the first sample after the warm-up to the last.
/// SQLite's page cache is up to 2 MiB per connection (its default `cache_size`) and the pool
/// holds up to 8, so up to 16 MiB of honest growth while the database (events, orders, tokens)
/// grows through the run; the rest is slack for the allocator. A leak of one small allocation
/// per request (100 bytes) at the few hundred requests a second of this run passes it within
/// minutes, and the figures print the growth per request after warm-up for a closer look.
const RSS_GROWTH_MAX_MIB: f64 = 24.0;
/// Open descriptors may grow this much from the first sample after the warm-up to the last:
/// the load has at most 6 requests in flight, so the client holds at most that many keep-alive
/// connections; the slack covers a connection being replaced at the moment of a sample. A
/// descriptor leaked per request (or per login) exceeds it at once.
const FD_GROWTH_MAX: i64 = 8;
/// Descriptors on the database's files (`.db`, `-wal`, `-shm`): at most 3 per connection and
/// at most 8 connections (`storage::Db::connect`'s pool), at any sample.
const DB_FDS_MAX: usize = 24;
/// Growth of those after the warm-up: one connection's worth.
const DB_FD_GROWTH_MAX: i64 = 3;

const SPA: &str = "demo-spa";
const REFRESHES_PER_LOGIN: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long; run it with scripts/soak.sh"]
async fn steady_load_keeps_memory_and_descriptors_flat() {
    let minutes: f64 = env_number("SOAK_MINUTES", 5.0);
    let run = Duration::from_secs_f64(minutes * 60.0);
    let warmup = Duration::from_secs_f64(env_number(
        "SOAK_WARMUP_SECS",
        (run.as_secs_f64() / 5.0).min(60.0),
    ));
    let sample_every = Duration::from_secs_f64(env_number("SOAK_SAMPLE_SECS", 10.0));
    let binary = env!("CARGO_BIN_EXE_backend");
    println!(
        "soak: {binary}, {minutes} min, warm-up {} s, a sample every {} s",
        warmup.as_secs(),
        sample_every.as_secs()
    );

    let site = Site::new();
    let mut server = Server::start(&site).await;
    let pid = server.pid();
    let command = site.command();
    let api_token = tokio::task::spawn_blocking(move || {
        process::create_api_token(
            command,
            "user0",
            "soak",
            "products:read orders:read orders:write",
        )
    })
    .await
    .unwrap();
    backend::crypto::install_tls_provider();
    let load = Load {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        api: site.api(),
        redirect_uri: format!("{}/callback", site.app()),
        api_token,
        service_token: Arc::new(RwLock::new(String::new())),
        stats: Arc::new(Stats::default()),
        deadline: Instant::now() + run,
    };
    // The first service token, before the readers need it.
    load.issue_service_token().await;

    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    workers.spawn(load.clone().tokens());
    workers.spawn(load.clone().reads());
    workers.spawn(load.clone().reads());
    workers.spawn(load.clone().writes());
    workers.spawn(load.clone().logins());

    let db_name = site
        .db_path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut samples = Vec::new();
    let mut next = started;
    while Instant::now() < load.deadline {
        next += sample_every;
        tokio::time::sleep_until(next.min(load.deadline).into()).await;
        let sample = Sample::take(pid, &db_name, started.elapsed(), load.stats.total());
        sample.print(samples.last());
        samples.push(sample);
    }
    while let Some(result) = workers.join_next().await {
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    let elapsed = started.elapsed();
    server.kill();

    let failures = report(&load.stats, &samples, warmup, elapsed);
    assert!(
        failures.is_empty(),
        "the soak failed:\n  {}\n(server log: {})",
        failures.join("\n  "),
        process::log_tail(&site.log_path())
    );
    println!("soak: every requirement holds");
}

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
        .unwrap_or(default)
}

/// What every worker shares.
#[derive(Clone)]
struct Load {
    http: reqwest::Client,
    api: String,
    redirect_uri: String,
    api_token: String,
    /// The newest client-credentials access token, for the product readers.
    service_token: Arc<RwLock<String>>,
    stats: Arc<Stats>,
    deadline: Instant,
}

impl Load {
    fn running(&self) -> bool {
        Instant::now() < self.deadline
    }

    /// Times one request, checks its status and returns its JSON body (`Null` if it has none or
    /// failed).
    async fn call(
        &self,
        kind: &'static str,
        request: reqwest::RequestBuilder,
        expect: StatusCode,
    ) -> Value {
        let start = Instant::now();
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        let latency = start.elapsed();
        match result {
            Ok((status, body)) if status == expect => {
                self.stats.record(kind, latency);
                serde_json::from_slice(&body).unwrap_or(Value::Null)
            }
            Ok((status, body)) => {
                self.stats.fail(
                    kind,
                    status.is_server_error(),
                    format!("{kind}: {status} {}", String::from_utf8_lossy(&body)),
                );
                Value::Null
            }
            Err(e) => {
                self.stats.fail(kind, false, format!("{kind}: {e}"));
                Value::Null
            }
        }
    }

    async fn issue_service_token(&self) {
        let request = self
            .http
            .post(format!("{}/token", self.api))
            .basic_auth("demo-service", Some("demo-service-secret"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "products:read"),
            ]);
        let body = self.call("token", request, StatusCode::OK).await;
        if let Some(token) = body["access_token"].as_str() {
            *self.service_token.write().unwrap() = token.to_owned();
        }
    }

    async fn tokens(self) {
        while self.running() {
            self.issue_service_token().await;
        }
    }

    async fn reads(self) {
        while self.running() {
            let token = self.service_token.read().unwrap().clone();
            let request = self
                .http
                .get(format!("{}/api/products", self.api))
                .bearer_auth(token);
            let products = self.call("products", request, StatusCode::OK).await;
            if !products.is_array() {
                self.stats
                    .fail("products", false, "products: not a list".into());
            }
            let request = self
                .http
                .get(format!("{}/api/orders", self.api))
                .header("authorization", format!("Token {}", self.api_token));
            self.call("orders-read", request, StatusCode::OK).await;
        }
    }

    async fn writes(self) {
        let mut product = 0;
        while self.running() {
            product = product % 14 + 1;
            let request = self
                .http
                .post(format!("{}/api/orders", self.api))
                .header("authorization", format!("Token {}", self.api_token))
                .json(&serde_json::json!({"product_id": product, "quantity": 1}));
            let order = self
                .call("orders-write", request, StatusCode::CREATED)
                .await;
            if !order.is_null() && order["product_id"] != product {
                self.stats
                    .fail("orders-write", false, format!("orders-write: {order}"));
            }
        }
    }

    async fn logins(self) {
        while self.running() {
            let start = Instant::now();
            let scope = "openid offline_access orders:read";
            let body =
                match process::login(&self.http, &self.api, SPA, &self.redirect_uri, scope).await {
                    Ok(body) => body,
                    Err(e) => {
                        self.stats.fail("login", false, format!("login: {e}"));
                        continue;
                    }
                };
            self.stats.record("login", start.elapsed());
            let mut refresh = body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            for _ in 0..REFRESHES_PER_LOGIN {
                let request = self.http.post(format!("{}/token", self.api)).form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh),
                    ("client_id", SPA),
                ]);
                let body = self.call("refresh", request, StatusCode::OK).await;
                match (
                    body["refresh_token"].as_str(),
                    body["access_token"].as_str(),
                ) {
                    (Some(next), Some(access)) if next != refresh => {
                        refresh = next.to_owned();
                        let request = self
                            .http
                            .get(format!("{}/api/orders", self.api))
                            .bearer_auth(access);
                        self.call("orders-bearer", request, StatusCode::OK).await;
                    }
                    _ => {
                        self.stats.fail(
                            "refresh",
                            false,
                            format!("refresh: no rotation in {body}"),
                        );
                        break;
                    }
                }
            }
            let request = self.http.post(format!("{}/revoke", self.api)).form(&[
                ("token", refresh.as_str()),
                ("token_type_hint", "refresh_token"),
                ("client_id", SPA),
            ]);
            self.call("revoke", request, StatusCode::OK).await;
        }
    }
}

/// Latencies by kind of request, and what went wrong.
#[derive(Default)]
struct Stats {
    latencies: Mutex<BTreeMap<&'static str, Vec<Duration>>>,
    total: AtomicU64,
    errors: AtomicU64,
    server_errors: AtomicU64,
    /// The first few failures, to print.
    first_failures: Mutex<Vec<String>>,
}

impl Stats {
    fn record(&self, kind: &'static str, latency: Duration) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.latencies
            .lock()
            .unwrap()
            .entry(kind)
            .or_default()
            .push(latency);
    }

    fn fail(&self, kind: &'static str, server_error: bool, what: String) {
        self.total.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
        if server_error {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut first = self.first_failures.lock().unwrap();
        if first.len() < 10 {
            first.push(format!(
                "[{kind}] {}",
                what.chars().take(300).collect::<String>()
            ));
        }
    }

    fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// The server process seen from outside at one moment.
struct Sample {
    at: Duration,
    requests: u64,
    rss_kib: u64,
    fds: usize,
    db_fds: usize,
}

impl Sample {
    fn take(pid: u32, db_name: &str, at: Duration, requests: u64) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc/PID/status");
        let (mut fds, mut db_fds) = (0, 0);
        for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .flatten()
        {
            fds += 1;
            // `app.db`, `app.db-wal`, `app.db-shm`.
            let on_db = std::fs::read_link(entry.path()).is_ok_and(|target| {
                target
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(db_name))
            });
            db_fds += usize::from(on_db);
        }
        Self {
            at,
            requests,
            rss_kib,
            fds,
            db_fds,
        }
    }

    fn print(&self, previous: Option<&Sample>) {
        let (prev_at, prev_requests) = previous.map_or((Duration::ZERO, 0), |p| (p.at, p.requests));
        let rate = (self.requests - prev_requests) as f64 / (self.at - prev_at).as_secs_f64();
        println!(
            "  t={:>4} s  requests {:>8} ({:>6.0}/s)  rss {:>6.1} MiB  fds {:>3}  db-fds {:>2}",
            self.at.as_secs(),
            self.requests,
            rate,
            mib(self.rss_kib),
            self.fds,
            self.db_fds
        );
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Prints the figures; returns the requirements that failed.
fn report(stats: &Stats, samples: &[Sample], warmup: Duration, elapsed: Duration) -> Vec<String> {
    let mut failures = Vec::new();
    let secs = elapsed.as_secs_f64();
    println!(
        "\nsoak figures ({:.0} s, {} requests, {:.0}/s):",
        secs,
        stats.total(),
        stats.total() as f64 / secs
    );
    println!(
        "  {:<14} {:>9} {:>8} {:>9} {:>9} {:>9}",
        "kind", "requests", "req/s", "p50 ms", "p99 ms", "max ms"
    );
    for (kind, latencies) in stats.latencies.lock().unwrap().iter_mut() {
        latencies.sort();
        let at =
            |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
        println!(
            "  {:<14} {:>9} {:>8.1} {:>9.2} {:>9.2} {:>9.2}",
            kind,
            latencies.len(),
            latencies.len() as f64 / secs,
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
    let errors = stats.errors.load(Ordering::Relaxed);
    let server_errors = stats.server_errors.load(Ordering::Relaxed);
    println!("  errors {errors} (of which 5xx {server_errors})");
    for failure in stats.first_failures.lock().unwrap().iter() {
        println!("    {failure}");
    }
    if errors > 0 {
        failures.push(format!(
            "{errors} requests failed ({server_errors} with a 5xx)"
        ));
    }

    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= warmup).collect();
    let (Some(first), Some(last)) = (after.first(), after.last()) else {
        failures.push("no sample after the warm-up: run longer".into());
        return failures;
    };
    if after.len() < 3 {
        failures.push(format!(
            "only {} samples after the warm-up: too few to call anything flat",
            after.len()
        ));
    }
    let rss_growth = mib(last.rss_kib) - mib(first.rss_kib);
    let requests = last.requests.saturating_sub(first.requests).max(1);
    let per_request = (last.rss_kib as f64 - first.rss_kib as f64) * 1024.0 / requests as f64;
    let fd_growth = last.fds as i64 - first.fds as i64;
    let db_fd_growth = last.db_fds as i64 - first.db_fds as i64;
    let db_fds_max = samples.iter().map(|s| s.db_fds).max().unwrap_or(0);
    let rss_max = after.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    println!(
        "  after the warm-up (t={} s to t={} s, {requests} requests):",
        first.at.as_secs(),
        last.at.as_secs()
    );
    println!(
        "    rss {:.1} -> {:.1} MiB (max {:.1}): {rss_growth:+.1} MiB, {per_request:+.1} bytes per request (limit {RSS_GROWTH_MAX_MIB} MiB)",
        mib(first.rss_kib),
        mib(last.rss_kib),
        mib(rss_max)
    );
    println!(
        "    fds {} -> {}: {fd_growth:+} (limit {FD_GROWTH_MAX})",
        first.fds, last.fds
    );
    println!(
        "    db-fds {} -> {}: {db_fd_growth:+} (limit {DB_FD_GROWTH_MAX}); at most {db_fds_max} in the run (limit {DB_FDS_MAX})",
        first.db_fds, last.db_fds
    );
    if rss_growth > RSS_GROWTH_MAX_MIB {
        failures.push(format!(
            "resident memory grew {rss_growth:.1} MiB after the warm-up"
        ));
    }
    if fd_growth > FD_GROWTH_MAX {
        failures.push(format!(
            "open descriptors grew by {fd_growth} after the warm-up"
        ));
    }
    if db_fd_growth > DB_FD_GROWTH_MAX || db_fds_max > DB_FDS_MAX {
        failures.push(format!(
            "database descriptors: {db_fd_growth:+} after the warm-up, {db_fds_max} at most"
        ));
    }
    failures
}
