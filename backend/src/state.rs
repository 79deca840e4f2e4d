use std::sync::Arc;

use jsonwebtoken::Validation;

use crate::config::Config;
use crate::events::EventLog;
use crate::oauth::keys::KeyRing;
use crate::oauth::throttle::Throttles;
use crate::storage::Db;

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
