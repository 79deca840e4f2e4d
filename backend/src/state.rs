use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;

use crate::access_token::AccessTokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::demo;
use crate::events::EventLog;
use crate::issuers::TrustedIssuers;
use crate::keys::{KeyRing, Owner, rotation};
use crate::metrics::Metrics;
use crate::servers::{AuthServer, Servers};
use crate::storage::Db;
use crate::throttle::Throttles;

/// Everything a handler needs, shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    /// Where every "now" comes from: read once per request and passed to the logic.
    pub clock: Clock,
    pub keys: Arc<KeyRing>,
    /// Signs and verifies this server's tokens with `keys`.
    pub tokens: Arc<AccessTokens>,
    /// The root issuer (`keys` and `tokens`, with its identity).
    pub root: Arc<AuthServer>,
    /// The custom authorization servers.
    pub servers: Arc<Servers>,
    /// The external OpenID providers whose tokens the API accepts, with their keys.
    pub issuers: Arc<TrustedIssuers>,
    /// The public keys of `private_key_jwt` clients, those read from a `jwks_uri` kept a while.
    pub client_keys: Arc<crate::oauth::client_keys::ClientKeyCache>,
    pub events: EventLog,
    /// Records refusals in `events`, within one budget for the instance (both origins).
    pub refusals: crate::refusals::Recorder,
    pub throttles: Arc<Throttles>,
    /// Whether the browser app was built (its `index.html` there) when the server started.
    pub app_built: bool,
    /// What the last readiness probe found (see [`crate::health`]).
    pub readiness: Arc<crate::health::Seen>,
    /// The Prometheus series (see [`crate::metrics`]).
    pub metrics: Arc<Metrics>,
    /// Demo mode: the CORS preflights this instance answered (see [`crate::cors`]).
    pub preflights: Option<Arc<crate::cors::PreflightLog>>,
    /// The DPoP nonces every proof must carry, when the configuration requires them.
    pub dpop_nonces: Option<Arc<crate::dpop::Nonces>>,
}

impl AppState {
    /// Checks the configuration, opens (and migrates) the database, seeds the demo data when
    /// asked, starts the event log's writer (its task is returned) and prepares the signing
    /// keys: everything a server needs but its listeners.
    pub async fn start(config: Config, clock: Clock) -> anyhow::Result<(Self, JoinHandle<()>)> {
        config.check()?;
        let settings = config.storage_settings();
        let db = Db::connect(&settings)
            .await
            .with_context(|| format!("opening the database {:?}", config.database_url))?;
        if config.demo {
            let offset = db
                .lab_clock_offset()
                .await
                .context("reading the clock lab's offset")?;
            clock.set_lab_offset_secs(offset);
        }
        db.sync_revocations(clock.unmoved_now())
            .await
            .context("reading the revocation list")?;
        if config.demo {
            demo::seed(&db, &config, clock.now())
                .await
                .context("seeding the demo data")?;
        }
        let metrics = Arc::new(Metrics::new(
            db.engine(),
            db.operations(),
            rotation::Policy::new(&config).rotation_interval.is_some(),
        ));
        let (events, event_writer) = EventLog::start(db.clone(), clock.clone(), metrics.events());
        let (keys, key_events) = rotation::prepare(&db, &config, &Owner::root(), clock.now())
            .await
            .context("preparing the signing keys")?;
        for event in key_events {
            events.record(event).await;
        }
        let servers = Servers::default();
        for event in servers
            .sync(&db, &config, clock.now())
            .await
            .context("reading the authorization servers")?
        {
            events.record(event).await;
        }
        let mut state = Self::assemble(config, db, clock, keys, servers, events, metrics)?;
        if state.config.dpop_nonce_required {
            let secret = state
                .db
                .shared_secret("dpop_nonces", &crate::crypto::random_token(32))
                .await
                .context("reading the DPoP nonce key")?;
            state.dpop_nonces = Some(Arc::new(crate::dpop::Nonces::new(secret.as_bytes())));
        }
        state
            .throttles
            .load(&state.db, state.clock.now_us())
            .await
            .context("reading the rate limits")?;
        if let Some(file) = &state.config.trusted_issuers_file {
            let now = state.clock.now();
            crate::admin::issuers::declare_from_file(
                &state.db,
                &state.config,
                &state.issuers,
                file,
                now,
            )
            .await
            .with_context(|| format!("trusting the issuers of {}", file.display()))?;
        }
        Ok((state, event_writer))
    }

    /// A state for the commands that show what the server would do, such as the token
    /// preview, on `db` as every command opens it (migrated, but no demo data seeded): every
    /// server with its keys as stored (none created or rotated; a server whose keys cannot be
    /// read is left out), an event log that stores nothing, and no rate limits read. An error
    /// if the root issuer has no keys yet.
    pub async fn as_stored(config: Config, db: Db, clock: Clock) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new(db.engine(), db.operations(), false));
        let events = EventLog::refusing(clock.clone(), metrics.events());
        let keys = KeyRing::as_stored(&db, &Owner::root())
            .await?
            .map_err(anyhow::Error::msg)?;
        let servers = Servers::stored_as_is(&db, &config).await?;
        Self::assemble(config, db, clock, keys, servers, events, metrics)
    }

    fn assemble(
        config: Config,
        db: Db,
        clock: Clock,
        keys: KeyRing,
        servers: Servers,
        events: EventLog,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let keys = Arc::new(keys);
        let tokens = Arc::new(AccessTokens::new(&config, keys.clone()));
        let root = Arc::new(AuthServer::root(&config, keys.clone(), tokens.clone()));
        let throttles = Throttles::new(&config.rates(), &metrics);
        let issuers =
            Arc::new(TrustedIssuers::new().context("building the client for trusted issuers")?);
        let client_keys = Arc::new(
            crate::oauth::client_keys::ClientKeyCache::new()
                .context("building the client for clients' key sets")?,
        );
        let refusals =
            crate::refusals::Recorder::new(events.clone(), clock.clone(), metrics.unrecorded());
        Ok(Self {
            client_keys,
            refusals,
            tokens,
            root,
            servers: Arc::new(servers),
            issuers,
            throttles: Arc::new(throttles),
            app_built: config.app_dir.join("index.html").is_file(),
            readiness: Arc::default(),
            metrics,
            preflights: config.demo.then(Arc::default),
            dpop_nonces: None,
            config: Arc::new(config),
            db,
            clock,
            keys,
            events,
        })
    }
}

/// A server state on a fresh SQLite file with the demo data, for the flow logic's unit tests.
#[cfg(test)]
pub mod testing {
    use super::*;
    use crate::clock::Timestamp;

    /// Where the unit tests' requests come from.
    pub const HERE: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    /// The stored client `id` of the demo data.
    pub async fn client(state: &AppState, id: &str) -> crate::storage::Client {
        state.db.client(id).await.unwrap().unwrap()
    }

    /// An access token of the demo service (client credentials) with `products:read`, issued
    /// now by the state's clock for `lifetime` seconds.
    pub fn service_token(state: &AppState, lifetime: u64) -> crate::access_token::Issued {
        let subject = crate::access_token::Subject {
            sub: "demo-service",
            client_id: "demo-service",
            grant_id: None,
            scope: shared::scope::ScopeSet::parse("products:read").unwrap(),
            lifetime,
            audience: None,
            jkt: None,
            act: None,
        };
        state.tokens.issue(subject, state.clock.now()).unwrap()
    }

    /// The state and the directory its database lives in (deleted when dropped). The clock
    /// stands still at a fixed time until a test moves it.
    pub async fn demo_state(extra: &[&str]) -> (AppState, tempfile::TempDir) {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let mut args = vec![
            "backend",
            "--demo",
            "--issuer",
            "http://127.0.0.1:5000",
            "--app-url",
            "http://127.0.0.1:8080",
            "--database-url",
            &url,
        ];
        args.extend_from_slice(extra);
        let config = Config::try_parse_from(args).unwrap();
        let clock = Clock::frozen(Timestamp::from_unix(1_800_000_000));
        let (state, _writer) = AppState::start(config, clock).await.unwrap();
        (state, dir)
    }
}
