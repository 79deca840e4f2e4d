use std::sync::Arc;

use anyhow::Context;
use jsonwebtoken::Validation;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::demo;
use crate::events::EventLog;
use crate::oauth::keys::KeyRing;
use crate::oauth::throttle::Throttles;
use crate::oauth::{access_token, rotation};
use crate::storage::{self, Db};

/// Everything a handler needs, shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<KeyRing>,
    /// Access-token claim checks, derived from `config` once (see `access_token::validation`).
    pub validation: Arc<Validation>,
    pub events: EventLog,
    pub throttles: Arc<Throttles>,
}

impl AppState {
    /// Checks the configuration, opens (and migrates) the database, seeds the demo data when
    /// asked, starts the event log's writer (its task is returned) and prepares the signing
    /// keys: everything a server needs but its listeners.
    pub async fn start(config: Config) -> anyhow::Result<(Self, JoinHandle<()>)> {
        config.check()?;
        let db = Db::connect(&config.database_url.0)
            .await
            .context("opening the database")?;
        if config.demo {
            demo::seed(&db, &config)
                .await
                .context("seeding the demo data")?;
        }
        let (events, event_writer) = EventLog::start(db.clone());
        let (keys, key_events) = rotation::prepare(&db, &config, storage::now())
            .await
            .context("preparing the signing keys")?;
        for event in key_events {
            events.record(event).await;
        }
        let state = Self {
            validation: Arc::new(access_token::validation(&config)),
            throttles: Arc::new(Throttles::new(&config)),
            config: Arc::new(config),
            db,
            keys: Arc::new(keys),
            events,
        };
        Ok((state, event_writer))
    }
}
