//! What the fuzz targets share: a real server state (demo data, signing keys, the API router) on
//! a fresh SQLite file, built once per fuzzing process, and a tokio runtime to drive it.
//!
//! The database lives in `$FUZZ_DB_DIR` (scripts/fuzz.sh makes a temporary one and removes it),
//! else in the system's temporary directory.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use backend::access_token::Subject;
use backend::api::api_token::{self, TokenRequest};
use backend::clock::Clock;
use backend::config::Config;
use backend::state::AppState;
use backend::storage::Client;
use clap::Parser;
use shared::scope::ScopeSet;
use tokio::runtime::Runtime;

pub const ISSUER: &str = "http://127.0.0.1:5000";
pub const APP_URL: &str = "http://127.0.0.1:8080";

/// One server, for the life of the fuzzing process.
pub struct World {
    pub rt: Runtime,
    pub state: AppState,
    pub router: Router,
    /// Every registered client, as the database has it.
    pub clients: Vec<Client>,
    /// An access token of user0 (from `demo-spa`) and an API token of user0, both with
    /// `products:read orders:read orders:write`.
    pub bearer: String,
    pub api_token: String,
}

pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build)
}

fn build() -> World {
    let dir = std::env::var_os("FUZZ_DB_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let path = dir.join(format!("backend-fuzz-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    // Rate limits as high as they go: a fuzzer sends a million failed client authentications
    // from one address, and a 429 for all of them would hide every other branch.
    let unlimited = "4000000000/1";
    let config = Config::try_parse_from([
        "backend",
        "--demo",
        "--database-url",
        &format!("sqlite://{}", path.display()),
        "--issuer",
        ISSUER,
        "--app-url",
        APP_URL,
        "--access-token-ttl",
        "86400",
        "--login-failures-per-user",
        unlimited,
        "--login-attempts-per-address",
        unlimited,
        "--client-auth-failures-per-client",
        unlimited,
        "--client-auth-failures-per-address",
        unlimited,
    ])
    .unwrap_or_else(|e| panic!("fuzz config: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
    // A server's state without its listeners (the event writer's task runs on in the runtime).
    let (state, clients, bearer, api_token) = rt.block_on(async {
        let (state, _writer) = AppState::start(config, Clock::system())
            .await
            .unwrap_or_else(|e| panic!("server state: {e}"));
        let clients = state
            .db
            .clients()
            .await
            .unwrap_or_else(|e| panic!("clients: {e}"));
        let scope = "products:read orders:read orders:write";
        let user = state
            .db
            .user_by_username("user0")
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("user0 is seeded"));
        let spa = clients
            .iter()
            .find(|c| c.id == "demo-spa")
            .unwrap_or_else(|| panic!("demo-spa is seeded"));
        let subject = Subject {
            sub: &user.id,
            client_id: &spa.id,
            grant_id: Some("fuzz-grant"),
            scope: ScopeSet::parse(scope).unwrap_or_default(),
            lifetime: 86_400,
            audience: None,
            jkt: None,
            act: None,
        };
        let bearer = state
            .tokens
            .issue(subject, state.clock.now())
            .unwrap_or_else(|e| panic!("issuing a token: {e}"))
            .response
            .access_token;
        let request = TokenRequest {
            name: "fuzz",
            scope,
            expires_at: None,
        };
        let (_, api_token) = api_token::create(&state.db, &user, &request, state.clock.now())
            .await
            .unwrap_or_else(|e| panic!("creating an API token: {e:?}"));
        (state, clients, bearer, api_token)
    });
    let router = backend::api_router(state.clone());
    World {
        rt,
        state,
        router,
        clients,
        bearer,
        api_token,
    }
}
