use std::sync::Arc;

use jsonwebtoken::Validation;

use crate::config::Config;
use crate::oauth::keys::KeySet;
use crate::storage::Db;

/// Everything a handler needs, shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub keys: Arc<KeySet>,
    /// Access-token claim checks, derived from `config` once (see `access_token::validation`).
    pub validation: Arc<Validation>,
}
