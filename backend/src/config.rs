//! Configuration, parsed once at start-up from flags, the environment and `.env`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ipnet::IpNet;
use url::Url;

use crate::storage;

pub use shared::config::AppMode;

/// The demo backend-for-frontend client's secret (`--demo` seeds the client with it, and MVC
/// mode uses it when no `BFF_CLIENT_SECRET` is set).
pub const DEMO_BFF_CLIENT_SECRET: &str = "demo-bff-secret";

/// Flags win over environment variables, which win over `.env` (loaded by `main` before
/// parsing), which win over the defaults: the defaults run the local demo.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "backend",
    version,
    about = "OAuth 2.0 authorization server, protected API and the browser app's server"
)]
pub struct Config {
    /// Where the authorization server and the API listen. A host name binds every address it
    /// resolves to, so `localhost` answers on both 127.0.0.1 and ::1.
    #[arg(long, env = "API_ADDR", default_value = "localhost:5000")]
    pub api_addr: String,

    /// Where the browser app is served (a different origin from the API, so CORS is real).
    #[arg(long, env = "APP_ADDR", default_value = "localhost:8080")]
    pub app_addr: String,

    /// How the process log is written: `text` for a terminal, or `json` (one object per line,
    /// for a log collector). `RUST_LOG` chooses what is written.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = crate::logs::Format::Text)]
    pub log_format: crate::logs::Format,

    /// Where Prometheus scrapes `GET /metrics` (e.g. `127.0.0.1:9100`). Off unless set: the
    /// metrics describe the server's traffic and clients, and get a listener of their own so
    /// they are never on the public port by accident.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// The built browser app (`trunk build` writes it to `dist/`). Without it only the API runs.
    #[arg(long, env = "APP_DIR", default_value = "dist")]
    pub app_dir: PathBuf,

    /// The issuer identifier (RFC 8414 §2): an https URL in production, with no query or
    /// fragment. Endpoints are published under it.
    #[arg(long, env = "ISSUER", default_value = "http://localhost:5000", value_parser = parse_base_url)]
    pub issuer: Url,

    /// Public URL of the browser app: the demo client's redirect URI is `{APP_URL}/callback`.
    #[arg(long, env = "APP_URL", default_value = "http://localhost:8080", value_parser = parse_base_url)]
    pub app_url: Url,

    /// Origins allowed to call the API from a browser, comma-separated. Defaults to the app's
    /// origin. `*` is refused: a token-protected API has no use for it.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origins: Vec<String>,

    /// The `aud` of access tokens, and what the API requires (RFC 9068 §3).
    #[arg(long, env = "AUDIENCE", default_value = "api://default")]
    pub audience: String,

    /// Other APIs the root issuer issues access tokens for, comma-separated: the `aud` each
    /// requires (absolute URIs, e.g. api://reports). A client asks for one with `resource`
    /// (RFC 8707); this server's own API never accepts a token that is only for them.
    #[arg(long = "extra-audiences", env = "EXTRA_AUDIENCES", value_delimiter = ',', value_parser = parse_audience)]
    pub extra_audiences: Vec<String>,

    /// The database: `sqlite://data/app.db` (a file, created if missing: one instance) or
    /// `postgres://user:password@host/database` (several instances may share it).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/app.db")]
    pub database_url: DatabaseUrl,

    /// Database connections per instance.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// Seconds a request waits for a database connection before it is answered 503 (and, on
    /// SQLite, for the write lock).
    #[arg(long, env = "DB_ACQUIRE_TIMEOUT", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub db_acquire_timeout: u64,

    /// PostgreSQL: seconds a statement may run before the database cancels it (and the request
    /// is answered 503).
    #[arg(long, env = "DB_STATEMENT_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub db_statement_timeout: u64,

    /// Milliseconds between two reads of the revocation list, which each instance holds in
    /// memory so that checking an access token reads no database. A token revoked at one
    /// instance is refused by the others after about this (one read later), and never later
    /// than twice this plus 0.5 s: an instance whose copy is older than that asks the database
    /// per token instead.
    #[arg(long, env = "REVOCATION_SYNC_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub revocation_sync_ms: u64,

    /// Addresses of reverse proxies or load balancers in front of this server (IPs or CIDR
    /// networks, comma-separated). A request from one of them is attributed to the address it
    /// names in `X-Forwarded-For` (the nearest one that is not itself a trusted proxy), for the
    /// per-address rate limits and the event log. Empty: the peer address is the client's.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 900, value_parser = clap::value_parser!(u64).range(30..=86_400))]
    pub access_token_ttl: u64,

    /// Authorization-code lifetime in seconds; RFC 6749 §4.1.2 recommends at most ten minutes,
    /// this server allows at most one.
    #[arg(long, env = "AUTHORIZATION_CODE_TTL", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=60))]
    pub authorization_code_ttl: u64,

    /// How long a `request_uri` from the PAR endpoint may wait to be opened at `/authorize`, in
    /// seconds (RFC 9126 §2.2: short-lived; once a browser opens it, it lasts as long as that
    /// browser's login form).
    #[arg(long, env = "PUSHED_REQUEST_TTL", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=600))]
    pub pushed_request_ttl: u64,

    /// How long a device code and its user code live (RFC 8628 §3.2 `expires_in`), in seconds:
    /// the time the user has to open the verification page and log in.
    #[arg(long, env = "DEVICE_CODE_TTL", default_value_t = 600, value_parser = clap::value_parser!(u64).range(60..=1800))]
    pub device_code_ttl: u64,

    /// The seconds a device waits between polls of the token endpoint (RFC 8628 §3.2
    /// `interval`); a device that polls sooner is told `slow_down`, and waits 5 seconds more.
    #[arg(long, env = "DEVICE_POLL_INTERVAL", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub device_poll_interval: u64,

    /// Every DPoP proof (at every token endpoint and at the API) must carry a nonce the server
    /// gave out in its `DPoP-Nonce` header in the last minute or two (RFC 9449 §8, §9); a proof
    /// without one is answered `use_dpop_nonce` with a fresh nonce.
    #[arg(long, env = "DPOP_NONCE_REQUIRED")]
    pub dpop_nonce_required: bool,

    /// Dynamic client registration at `/register` (RFC 7591, with RFC 7592 management):
    /// `disabled` (clients are made by an administrator), `token` (a developer registers with
    /// an initial access token an administrator made) or `open` (anyone may register a client,
    /// which is third-party: its users see a consent screen).
    #[arg(long, env = "REGISTRATION", default_value = "disabled", value_parser = parse_registration)]
    pub registration: Registration,

    /// The root issuer's authorization endpoint takes only requests pushed to `/par` (RFC 9126
    /// §5); the custom authorization servers each have their own setting. The bundled browser
    /// app, backend-for-frontend and documentation page send plain requests: with this on, they
    /// cannot log in.
    #[arg(long, env = "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS")]
    pub require_pushed_authorization_requests: bool,

    /// Refresh tokens expire after this many seconds without use (each rotation restarts it).
    #[arg(long, env = "REFRESH_TOKEN_IDLE_TTL", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub refresh_token_idle_ttl: u64,

    /// No refresh token of a grant outlives this many seconds after the login (RFC 9700
    /// §4.14.2): then the user logs in again.
    #[arg(long, env = "REFRESH_TOKEN_ABSOLUTE_TTL", default_value_t = 604_800, value_parser = clap::value_parser!(u64).range(60..=31_536_000))]
    pub refresh_token_absolute_ttl: u64,

    /// The client id the browser app uses (it is told through `/config.json`).
    #[arg(long, env = "APP_CLIENT_ID", default_value = "demo-spa")]
    pub app_client_id: String,

    /// Where the browser app keeps its tokens: `rest` (in the browser, sent by the app as
    /// `Authorization: Bearer`) or `mvc` (in a server-side session; the backend-for-frontend on
    /// the app's origin calls the API for the browser, which only holds an `HttpOnly` cookie).
    #[arg(long, env = "APP_MODE", default_value = "rest", value_parser = parse_app_mode)]
    pub app_mode: AppMode,

    /// MVC mode: the client id of the backend-for-frontend, a confidential client of this
    /// authorization server with the redirect URI `{APP_URL}/bff/callback`.
    #[arg(long, env = "BFF_CLIENT_ID", default_value = "demo-bff")]
    pub bff_client_id: String,

    /// MVC mode: that client's secret. With `--demo` the demo client's secret is the default.
    #[arg(long, env = "BFF_CLIENT_SECRET", hide_env_values = true)]
    pub bff_client_secret: Option<Secret>,

    /// MVC mode: where the backend-for-frontend reaches the authorization server and API
    /// (defaults to the issuer). Plain http is for loopback or a private network only, e.g.
    /// `http://127.0.0.1:5000` behind a TLS-terminating proxy.
    #[arg(long, env = "BFF_UPSTREAM", value_parser = parse_base_url)]
    pub bff_upstream: Option<Url>,

    /// MVC mode: a session ends this many seconds after the login, however active.
    #[arg(long, env = "SESSION_LIFETIME", default_value_t = 28_800, value_parser = clap::value_parser!(u64).range(60..=2_592_000))]
    pub session_lifetime: u64,

    /// MVC mode: a session ends after this many seconds without a request.
    #[arg(long, env = "SESSION_IDLE_TIMEOUT", default_value_t = 1_800, value_parser = clap::value_parser!(u64).range(60..=2_592_000))]
    pub session_idle_timeout: u64,

    /// Seconds a signing key signs before the next one takes over; 0 rotates only when
    /// `backend keys rotate` is run.
    #[arg(long, env = "KEY_ROTATION_INTERVAL", default_value_t = 2_592_000)]
    pub key_rotation_interval: u64,

    /// Seconds resource servers may cache the JWKS (its `Cache-Control: max-age`). A new key is
    /// published at least this long before it signs, and instances reload keys at least this
    /// often (and at least every minute).
    #[arg(long, env = "JWKS_MAX_AGE", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub jwks_max_age: u64,

    /// Failed logins allowed per username, as N/S (N per S seconds; then 429).
    #[arg(long, env = "LOGIN_FAILURES_PER_USER", default_value = "5/300")]
    pub login_failures_per_user: Rate,

    /// Login attempts allowed per client address, as N/S.
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_ADDRESS", default_value = "30/60")]
    pub login_attempts_per_address: Rate,

    /// Failed client authentications (at /token, /revoke, /introspect) allowed per client id
    /// from one address, as N/S. (Per client id alone, anyone could lock a client out.)
    #[arg(long, env = "CLIENT_AUTH_FAILURES_PER_CLIENT", default_value = "20/60")]
    pub client_auth_failures_per_client: Rate,

    /// Failed client authentications allowed per client address, as N/S.
    #[arg(
        long,
        env = "CLIENT_AUTH_FAILURES_PER_ADDRESS",
        default_value = "30/60"
    )]
    pub client_auth_failures_per_address: Rate,

    /// Days the security event log keeps an event.
    #[arg(long, env = "EVENT_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub event_retention_days: u64,

    /// A JSON file of trusted external issuers, `{"issuers": [...]}` in the admin API's shape
    /// (`POST /admin/issuers`): each is stored at start (added, or changed to match) without
    /// waiting for the provider to answer; issuers added otherwise are left as they are.
    #[arg(long, env = "TRUSTED_ISSUERS_FILE")]
    pub trusted_issuers_file: Option<PathBuf>,

    /// Seed the demo users, clients, scopes and products (never on by default).
    #[arg(long, env = "DEMO", default_value_t = false)]
    pub demo: bool,

    /// What to do; without a command, serve.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Administration from the command line, on the same database as the server.
#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Serve the authorization server, the API and the browser app (the default).
    Serve,
    /// Signing keys: list them, or rotate now.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Users: list, create, update (role, disabled), reset a password.
    #[command(subcommand)]
    Users(UsersCommand),
    /// OAuth clients: list, create (browser app or API service), update, rotate a secret,
    /// delete.
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// Scopes: list, create a custom one, update its description, delete.
    #[command(subcommand)]
    Scopes(ScopesCommand),
    /// Custom authorization servers (issuer {ISSUER}/oauth2/{id}): list, create, delete.
    #[command(subcommand)]
    Servers(ServersCommand),
    /// Trusted external issuers (OpenID providers whose access tokens the API accepts): list,
    /// add, remove.
    #[command(subcommand)]
    Issuers(IssuersCommand),
    /// Per-user API tokens: create, list, revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Initial access tokens for dynamic client registration (RFC 7591 §3, with
    /// REGISTRATION=token): create, list, delete.
    #[command(subcommand)]
    RegistrationTokens(RegistrationTokensCommand),
    /// DPoP (RFC 9449) from the client's side, to try it with curl: make a key, sign a proof
    /// for a request (needs no database).
    #[command(subcommand)]
    Dpop(DpopCommand),
    /// Preview a token request: what a server's token endpoint would answer (the error, or
    /// the access token's claims, the ID token's and the lifetimes, with the access policy and
    /// rule that decided), with nothing issued, stored or logged, as `POST /admin/preview`.
    Preview {
        /// The custom authorization server; the root issuer without it.
        #[arg(long)]
        server: Option<String>,
        /// The client that would ask.
        #[arg(long)]
        client: String,
        /// `client_credentials`, or `authorization_code` or the device grant
        /// (`urn:ietf:params:oauth:grant-type:device_code`) with --user (the login taken as done).
        #[arg(long, value_parser = [
            "client_credentials",
            "authorization_code",
            "urn:ietf:params:oauth:grant-type:device_code",
        ])]
        grant: String,
        /// The request's `scope` (space-separated); left out as if the request left it out.
        #[arg(long)]
        scope: Option<String>,
        /// A `resource` parameter (RFC 8707; repeat for several).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// For authorization_code: the username of who would log in.
        #[arg(long)]
        user: Option<String>,
        /// The answer as the admin API's JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the security event log, newest first.
    Events {
        /// At most this many events.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        limit: i64,
        /// Only events of this kind (e.g. login_failed, refresh_token_reused, key_activated).
        #[arg(long)]
        kind: Option<String>,
        /// Only events at or after this Unix time.
        #[arg(long)]
        since: Option<i64>,
        /// Only events of this user id (the acting administrator, for admin changes).
        #[arg(long)]
        user: Option<String>,
        /// Only events of this client id.
        #[arg(long)]
        client: Option<String>,
        /// Only events of the request with this id (an answer's X-Request-Id).
        #[arg(long)]
        request_id: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// A password is read from standard input (one line) with `--password-stdin`, never from the
/// command line, where other users and the shell history would see it; without it a strong one
/// is generated and printed once.
#[derive(Clone, Debug, Subcommand)]
pub enum UsersCommand {
    /// List every user.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a user.
    Create {
        #[arg(long)]
        username: String,
        /// Full name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// `user` or `admin` (administrators use the admin API and console).
        #[arg(long, default_value = "user", value_parser = ["user", "admin"])]
        role: String,
        /// A group the user is in (repeat for several): rules of access policies match groups,
        /// and a custom claim can carry them.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// A custom attribute, NAME=VALUE (repeat for several): a custom claim can carry it.
        #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = attribute)]
        attributes: Vec<(String, String)>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's name, email, role, groups or custom attributes, or disable/enable them
    /// (disabling revokes their grants).
    Update {
        username: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, value_parser = ["user", "admin"])]
        role: Option<String>,
        /// The user's groups from now on (repeat for several), replacing the ones they had.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Takes the user out of every group.
        #[arg(long, conflicts_with = "groups")]
        no_groups: bool,
        /// The user's custom attributes from now on, NAME=VALUE (repeat for several),
        /// replacing the ones they had.
        #[arg(long = "attr", value_name = "NAME=VALUE", value_parser = attribute)]
        attributes: Vec<(String, String)>,
        /// Removes every custom attribute of the user.
        #[arg(long, conflicts_with = "attributes")]
        no_attrs: bool,
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password (generated unless --password-stdin); revokes the user's grants.
    ResetPassword {
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `NAME=VALUE`, split at the first `=` (the admin API checks both halves).
fn attribute(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{raw:?} is not NAME=VALUE"))
}

#[derive(Clone, Debug, Subcommand)]
pub enum ClientsCommand {
    /// List every client (never a secret).
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a browser app (public, authorization code + PKCE), an API service
    /// (confidential, client credentials; its secret is printed once) or a device app (public,
    /// the device authorization grant of RFC 8628).
    Create {
        #[arg(long, value_parser = ["browser", "service", "device"])]
        kind: String,
        #[arg(long)]
        name: String,
        /// Chosen by the server when absent.
        #[arg(long)]
        id: Option<String>,
        /// Space-separated scopes it may ask for.
        #[arg(long)]
        scope: String,
        /// A redirect URI (browser apps; repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Browser and device apps: also issue refresh tokens.
        #[arg(long)]
        refresh_tokens: bool,
        /// Skip the consent screen for it.
        #[arg(long)]
        first_party: bool,
        /// Browser apps: logins start only with a request pushed to `/par` (RFC 9126).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
        /// Token requests without a DPoP proof are refused: its tokens are always bound to
        /// its key (RFC 9449 §5.2).
        #[arg(long)]
        dpop_bound_access_tokens: bool,
        /// Services: authenticate with private_key_jwt (RFC 7523), the public keys at this URL
        /// (no secret is made).
        #[arg(long, conflicts_with = "jwks_file")]
        jwks_uri: Option<String>,
        /// Services: authenticate with private_key_jwt, the public keys in this JWK Set file.
        #[arg(long)]
        jwks_file: Option<std::path::PathBuf>,
        /// Browser apps: where the end-session endpoint may send the browser after a logout
        /// (OpenID Connect RP-Initiated Logout; repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Where to post logout tokens when one of its logins ends (OpenID Connect
        /// Back-Channel Logout).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
    },
    /// Change a client; what is not given stays.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// Space-separated scopes (replaces the list).
        #[arg(long)]
        scope: Option<String>,
        /// Space-separated grant types (replaces the list).
        #[arg(long)]
        grant_types: Option<String>,
        /// Replaces the redirect URIs (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Option<Vec<String>>,
        #[arg(long)]
        first_party: Option<bool>,
        /// `true`: logins start only with a request pushed to `/par` (RFC 9126).
        #[arg(long)]
        require_pushed_authorization_requests: Option<bool>,
        /// `true`: token requests without a DPoP proof are refused (RFC 9449 §5.2).
        #[arg(long)]
        dpop_bound_access_tokens: Option<bool>,
        /// A private_key_jwt client's new key set URL.
        #[arg(long, conflicts_with = "jwks_file")]
        jwks_uri: Option<String>,
        /// A private_key_jwt client's new JWK Set, from a file.
        #[arg(long)]
        jwks_file: Option<std::path::PathBuf>,
        /// Replaces the post-logout redirect URIs (repeat for several).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Option<Vec<String>>,
        /// The back-channel logout URI; "" removes it.
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
    },
    /// Replace a confidential client's secret; the new one is printed once.
    RotateSecret { id: String },
    /// Delete a client with its grants and consents.
    Delete { id: String },
}

#[derive(Clone, Debug, Subcommand)]
pub enum ScopesCommand {
    /// List every scope and the clients allowed it.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a custom scope (e.g. AccessAll).
    Create {
        name: String,
        /// What it allows, as the consent screen shows it.
        #[arg(long)]
        description: String,
        /// Third-party clients get it without asking the user.
        #[arg(long)]
        no_consent: bool,
    },
    /// Change a scope's description or consent rule.
    Update {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        consent_required: Option<bool>,
    },
    /// Delete a custom scope no client or live API token uses.
    Delete { name: String },
}

#[derive(Clone, Debug, Subcommand)]
pub enum ServersCommand {
    /// List every custom authorization server with its issuer and audience.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a server with its first signing keys; running instances serve it within their
    /// key reload interval (at once on PostgreSQL).
    Create {
        /// 1 to 64 letters, digits, `.`, `_`, `-`: its issuer is {ISSUER}/oauth2/{id}.
        id: String,
        #[arg(long)]
        name: String,
        /// Its access tokens' `aud` when a request names no resource, an absolute URI (e.g.
        /// api://orders).
        #[arg(long)]
        audience: String,
        /// Another audience a client may ask for with `resource` (RFC 8707); repeat for each.
        #[arg(long = "extra-audience")]
        extra_audiences: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// ES256, RS256 or EdDSA.
        #[arg(long, default_value = "RS256", value_parser = parse_signing_alg)]
        signing_alg: shared::admin::SigningAlg,
        /// Logins start only with a request pushed to its PAR endpoint (RFC 9126).
        #[arg(long)]
        require_pushed_authorization_requests: bool,
    },
    /// Change a server's name, description or audiences (what is not given stays); running
    /// instances take the change within their reload interval (at once on PostgreSQL). Its id
    /// and signing algorithm never change.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// Its default audience.
        #[arg(long)]
        audience: Option<String>,
        /// Replaces its other audiences; repeat for each.
        #[arg(long = "extra-audience")]
        extra_audiences: Vec<String>,
        /// Removes its other audiences.
        #[arg(long, conflicts_with = "extra_audiences")]
        no_extra_audiences: bool,
        /// `true`: logins start only with a request pushed to its PAR endpoint (RFC 9126);
        /// `false`: also with a plain authorization request.
        #[arg(long)]
        require_pushed_authorization_requests: Option<bool>,
    },
    /// Delete a server and its keys: its tokens are refused from then on.
    Delete { id: String },
    /// Print a server's access policies, in evaluation order, as the JSON that `set-policies`
    /// (and `PUT /admin/servers/{id}/policies`) takes: `{"policies": [...]}`.
    Policies { id: String },
    /// Replace a server's access policies with the JSON list in a file; every instance decides
    /// the next token request with them.
    SetPolicies {
        id: String,
        /// `{"policies": [...]}` (`-` for standard input).
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Print a server's custom claims as the JSON that `set-claims` (and
    /// `PUT /admin/servers/{id}/claims`) takes: `{"claims": [...]}`.
    Claims { id: String },
    /// Replace a server's custom claims with the JSON in a file; the next token it issues at
    /// every instance carries them.
    SetClaims {
        id: String,
        /// `{"claims": [...]}` (`-` for standard input).
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Print the scopes a server offers beside OpenID Connect's, as the JSON that `set-scopes`
    /// (and `PUT /admin/servers/{id}/scopes`) takes: `{"scopes": [...]}`.
    Scopes { id: String },
    /// Replace the scopes a server offers with the JSON in a file; clients may ask for them
    /// there at every instance from the next request.
    SetScopes {
        id: String,
        /// `{"scopes": [{"name": ..., "description": ..., "consent_required": ...}]}` (`-` for
        /// standard input).
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

#[derive(Clone, Debug, Subcommand)]
pub enum IssuersCommand {
    /// List the trusted issuers (the keys a running instance holds of each are in the admin
    /// API's list and the console).
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Trust an OpenID provider: its metadata and keys are read first (it must be reachable
    /// from here), and every instance accepts its tokens from the next request.
    Add {
        /// 1 to 64 letters, digits, `.`, `_`, `-`.
        id: String,
        /// Exactly as its tokens state it in `iss` (e.g. https://example.okta.com/oauth2/default).
        #[arg(long)]
        issuer: String,
        /// What its tokens' `aud` must hold for this API.
        #[arg(long)]
        audience: String,
        #[arg(long)]
        name: String,
        /// The algorithms its tokens may be signed with, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "RS256")]
        algorithms: Vec<String>,
        /// Where its tokens carry scopes: `scope` (a string) or `scp` (Okta, Entra ID).
        #[arg(long, default_value = "scope", value_parser = parse_scope_claim)]
        scope_claim: shared::admin::ScopeClaim,
        /// A claim its tokens must carry with a value, as NAME=VALUE (repeatable).
        #[arg(long = "require", value_parser = parse_required_claim)]
        required_claims: Vec<(String, String)>,
    },
    /// Stop trusting an issuer: its tokens are refused from the next request.
    Remove { id: String },
}

fn parse_scope_claim(raw: &str) -> Result<shared::admin::ScopeClaim, String> {
    raw.parse().map_err(|e: shared::UnknownName| e.to_string())
}

fn parse_required_claim(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("{raw:?} is not NAME=VALUE"))
}

fn parse_signing_alg(raw: &str) -> Result<shared::admin::SigningAlg, String> {
    raw.parse().map_err(|e: shared::UnknownName| e.to_string())
}

#[derive(Clone, Debug, Subcommand)]
pub enum DpopCommand {
    /// Make a P-256 key pair and write its private key to FILE (PKCS#8 PEM, readable by you
    /// only); prints the key's thumbprint, which tokens bound to it carry as `cnf.jkt`.
    Key { file: std::path::PathBuf },
    /// Print a DPoP proof for one request, signed with the key in --key: put it in a `DPoP`
    /// header of that request.
    Proof {
        /// The key file `backend dpop key` wrote.
        #[arg(long)]
        key: std::path::PathBuf,
        /// The request's method (`htm`).
        #[arg(long, default_value = "POST")]
        method: String,
        /// The request's URL, without query (`htu`).
        #[arg(long)]
        url: String,
        /// With an access token (at the API): the proof carries its hash (`ath`).
        #[arg(long)]
        access_token: Option<String>,
        /// The server's last `DPoP-Nonce`, where it requires nonces.
        #[arg(long)]
        nonce: Option<String>,
    },
}

#[derive(Clone, Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token for a user and print it (the only time it is shown).
    Create {
        /// The owner's username.
        #[arg(long)]
        user: String,
        /// A name to recognise it by, unique per user (e.g. "ci" or "laptop").
        #[arg(long)]
        name: String,
        /// Space-separated scopes, within what the owner may have.
        #[arg(long)]
        scope: String,
        /// Days until it expires; without it, it lasts until revoked.
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=3650))]
        expires_in_days: Option<i64>,
    },
    /// List tokens (never their secrets), newest first.
    List {
        /// Only this user's.
        #[arg(long)]
        user: Option<String>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (the 16 hex digits after `amt_`).
    Revoke { id: String },
}

#[derive(Clone, Debug, Subcommand)]
pub enum RegistrationTokensCommand {
    /// Make a token and print it (the only time it is shown).
    Create {
        /// Who it is for, or what (shown in the list).
        #[arg(long)]
        name: String,
        /// Seconds it may be used for (one day without it, at most thirty days).
        #[arg(long)]
        expires_in: Option<u64>,
    },
    /// List them (never the tokens themselves), newest first.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete one by its id: it registers nothing more.
    Delete { id: String },
}

#[derive(Clone, Debug, Subcommand)]
pub enum KeysCommand {
    /// Show every key with its algorithm, state and dates.
    List {
        /// An authorization server's keys; the root issuer's without it.
        #[arg(long)]
        server: Option<String>,
    },
    /// Retire each algorithm's current key and let its next one sign; a running server picks
    /// the change up within its reload interval.
    Rotate {
        /// Rotate even if a next key is younger than the JWKS cache lifetime.
        #[arg(long)]
        force: bool,
        /// An authorization server's keys; the root issuer's without it.
        #[arg(long)]
        server: Option<String>,
    },
}

/// The rate limits, as the configuration sets them.
#[derive(Clone, Copy, Debug)]
pub struct Rates {
    pub login_failures_per_user: Rate,
    pub login_attempts_per_address: Rate,
    pub client_auth_failures_per_client: Rate,
    pub client_auth_failures_per_address: Rate,
}

impl Config {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl)
    }

    pub fn rates(&self) -> Rates {
        Rates {
            login_failures_per_user: self.login_failures_per_user,
            login_attempts_per_address: self.login_attempts_per_address,
            client_auth_failures_per_client: self.client_auth_failures_per_client,
            client_auth_failures_per_address: self.client_auth_failures_per_address,
        }
    }

    /// How the storage layer reaches the database.
    pub fn storage_settings(&self) -> storage::Settings {
        storage::Settings {
            url: self.database_url.0.clone(),
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout),
            statement_timeout: Duration::from_secs(self.db_statement_timeout),
            revocation_sync: Duration::from_millis(self.revocation_sync_ms),
        }
    }

    /// The issuer without a trailing slash, as it appears in tokens and metadata.
    pub fn issuer_str(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    /// The origin of the browser app, e.g. `http://localhost:8080`.
    pub fn app_origin(&self) -> String {
        self.app_url.origin().ascii_serialization()
    }

    pub fn cors_origins(&self) -> Vec<String> {
        if self.allowed_origins.is_empty() {
            vec![self.app_origin()]
        } else {
            self.allowed_origins.clone()
        }
    }

    /// The backend-for-frontend's client secret: the configured one, or the demo client's.
    pub fn bff_secret(&self) -> Option<&str> {
        match &self.bff_client_secret {
            Some(secret) => Some(secret.expose()),
            None if self.demo => Some(DEMO_BFF_CLIENT_SECRET),
            None => None,
        }
    }

    /// Where the backend-for-frontend sends its token and API requests, without a trailing
    /// slash.
    pub fn bff_upstream(&self) -> &str {
        self.bff_upstream
            .as_ref()
            .unwrap_or(&self.issuer)
            .as_str()
            .trim_end_matches('/')
    }

    /// Whether the app is served over https: then its cookies are `Secure` and `__Host-`.
    pub fn app_is_https(&self) -> bool {
        self.app_url.scheme() == "https"
    }

    /// Settings that contradict each other, which flags alone cannot express.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.app_mode == AppMode::Mvc && self.bff_secret().is_none() {
            anyhow::bail!(
                "--app-mode mvc needs --bff-client-secret (BFF_CLIENT_SECRET): the \
                 backend-for-frontend is a confidential client"
            );
        }
        if self.app_mode == AppMode::Mvc && !self.bff_upstream().starts_with("http://") {
            anyhow::bail!(
                "--app-mode mvc reaches the authorization server over plain HTTP only; with an \
                 https issuer, set --bff-upstream (BFF_UPSTREAM) to its loopback or private \
                 address, e.g. http://127.0.0.1:5000"
            );
        }
        if let Some(twice) = self
            .extra_audiences
            .iter()
            .enumerate()
            .find(|(i, a)| **a == self.audience || self.extra_audiences[..*i].contains(a))
            .map(|(_, a)| a)
        {
            anyhow::bail!(
                "--extra-audiences (EXTRA_AUDIENCES) names {twice} twice, or with --audience"
            );
        }
        // This origin's APIs' resource identifiers stand for AUDIENCE (RFC 8707 `resource`):
        // another API cannot have one as its audience.
        if let Some(ours) = self.extra_audiences.iter().find(|a| {
            ["/api", "/admin"].iter().any(|p| {
                a.strip_prefix(&self.endpoint(p))
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
            })
        }) {
            anyhow::bail!(
                "--extra-audiences (EXTRA_AUDIENCES) names {ours}, a URL of this server's own \
                 APIs, which stands for --audience; give the other API an identifier of its own"
            );
        }
        if self.extra_audiences.len() > shared::admin::MAX_EXTRA_AUDIENCES {
            anyhow::bail!(
                "--extra-audiences (EXTRA_AUDIENCES) names at most {} audiences",
                shared::admin::MAX_EXTRA_AUDIENCES
            );
        }
        if self.session_idle_timeout > self.session_lifetime {
            anyhow::bail!(
                "--session-idle-timeout ({} s) must not exceed --session-lifetime ({} s)",
                self.session_idle_timeout,
                self.session_lifetime
            );
        }
        if self.key_rotation_interval > 0 && self.key_rotation_interval < self.jwks_max_age {
            anyhow::bail!(
                "--key-rotation-interval ({} s) must be 0 or at least --jwks-max-age ({} s): a new \
                 key must be published for a whole JWKS cache lifetime before it signs",
                self.key_rotation_interval,
                self.jwks_max_age
            );
        }
        Ok(())
    }

    /// An endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer_str())
    }
}

/// A database URL; wrapped so that a password in a PostgreSQL URL never reaches a log.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                write!(f, "{url}")
            }
            _ => write!(f, "{}", self.0),
        }
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match storage::Engine::of_url(s) {
            Some(_) => Ok(Self(s.to_owned())),
            None => Err(
                "use sqlite://path/to/file.db or postgres://user:password@host:port/database"
                    .into(),
            ),
        }
    }
}

/// A secret from the command line or environment; never printed.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() < 16 {
            return Err("a client secret needs at least 16 characters".into());
        }
        Ok(Self(s.to_owned()))
    }
}

/// `N/S`: `N` events per `S` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    /// The time one event takes to be forgotten: a burst of `N`, then one every `S/N`.
    pub fn interval(self) -> Duration {
        self.period / self.burst
    }
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not a rate; write N/S for N events per S seconds, e.g. 5/300");
        let (n, secs) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
        if burst == 0 || secs == 0 || secs > 86_400 {
            return Err(format!(
                "{s:?}: both numbers must be positive, and the period at most a day"
            ));
        }
        Ok(Self {
            burst,
            period: Duration::from_secs(secs),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.burst, self.period.as_secs())
    }
}

/// An IP network (`10.0.0.0/8`) or a single address (`127.0.0.1`, `::1`).
fn parse_network(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is not an IP address or CIDR network (e.g. 10.0.0.0/8)"))
}

/// Who may register clients at `/register` (see [`Config::registration`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    Disabled,
    /// With an initial access token (RFC 7591 §3).
    Token,
    Open,
}

fn parse_registration(raw: &str) -> Result<Registration, String> {
    match raw {
        "disabled" => Ok(Registration::Disabled),
        "token" => Ok(Registration::Token),
        "open" => Ok(Registration::Open),
        _ => Err("must be disabled, token or open".into()),
    }
}

fn parse_app_mode(raw: &str) -> Result<AppMode, String> {
    match raw {
        "rest" => Ok(AppMode::Rest),
        "mvc" => Ok(AppMode::Mvc),
        _ => Err("must be rest or mvc".into()),
    }
}

/// An http(s) URL with no query, fragment or credentials, as RFC 8414 §2 asks of an issuer.
fn parse_base_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(url)
}

/// An audience: an absolute URI without spaces or a fragment, as `aud` values are compared
/// exactly.
fn parse_audience(raw: &str) -> Result<String, String> {
    let ok = !raw.is_empty()
        && raw.len() <= 200
        && raw.bytes().all(|b| b.is_ascii_graphic())
        && Url::parse(raw).is_ok_and(|u| u.fragment().is_none());
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("must be an absolute URI of at most 200 characters without spaces or a fragment, e.g. api://reports".into())
    }
}

fn parse_origin(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw == "*" {
        return Err("a wildcard origin is not allowed; list the app origins".into());
    }
    let url = parse_base_url(raw)?;
    if url.path() != "/" {
        return Err(format!(
            "{raw:?} is not an origin (scheme://host[:port], no path)"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_the_local_demo_setup() {
        let config = Config::try_parse_from(["backend"]).unwrap();
        assert_eq!(config.issuer_str(), "http://localhost:5000");
        assert_eq!(config.cors_origins(), ["http://localhost:8080"]);
        assert_eq!(config.audience, "api://default");
        assert!(!config.demo);
    }

    #[test]
    fn refuses_wildcard_and_paths_in_origins() {
        assert!(Config::try_parse_from(["backend", "--allowed-origins", "*"]).is_err());
        assert!(
            Config::try_parse_from(["backend", "--allowed-origins", "http://a.test/x"]).is_err()
        );
        let c = Config::try_parse_from([
            "backend",
            "--allowed-origins",
            "http://a.test,https://b.test:8443",
        ])
        .unwrap();
        assert_eq!(c.cors_origins(), ["http://a.test", "https://b.test:8443"]);
    }

    #[test]
    fn mvc_mode_needs_a_client_secret_outside_the_demo() {
        let config = Config::try_parse_from(["backend", "--app-mode", "mvc"]).unwrap();
        assert!(config.check().is_err());
        let demo = Config::try_parse_from(["backend", "--app-mode", "mvc", "--demo"]).unwrap();
        assert!(demo.check().is_ok());
        assert_eq!(demo.bff_secret(), Some(DEMO_BFF_CLIENT_SECRET));
        assert!(Config::try_parse_from(["backend", "--app-mode", "spa"]).is_err());
        let https = [
            "backend",
            "--app-mode",
            "mvc",
            "--demo",
            "--issuer",
            "https://a.test",
        ];
        assert!(Config::try_parse_from(https).unwrap().check().is_err());
        let internal = [&https[..], &["--bff-upstream", "http://127.0.0.1:5000"]].concat();
        assert!(Config::try_parse_from(internal).unwrap().check().is_ok());
        assert!(Config::try_parse_from(["backend", "--bff-client-secret", "short"]).is_err());
        let idle_too_long = Config::try_parse_from([
            "backend",
            "--session-lifetime",
            "600",
            "--session-idle-timeout",
            "900",
        ])
        .unwrap();
        assert!(idle_too_long.check().is_err());
    }

    #[test]
    fn secrets_never_print() {
        let config =
            Config::try_parse_from(["backend", "--bff-client-secret", "a-long-enough-secret"])
                .unwrap();
        assert!(!format!("{config:?}").contains("a-long-enough-secret"));
    }

    #[test]
    fn refuses_issuer_with_query() {
        assert!(Config::try_parse_from(["backend", "--issuer", "http://a.test/?x=1"]).is_err());
    }

    #[test]
    fn parses_rates() {
        assert_eq!(
            "5/300".parse::<Rate>().unwrap(),
            Rate {
                burst: 5,
                period: Duration::from_secs(300)
            }
        );
        assert_eq!(
            "3/30".parse::<Rate>().unwrap().interval(),
            Duration::from_secs(10)
        );
        for bad in ["", "5", "0/10", "5/0", "a/b", "5/100000", "-1/5"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn accepts_both_databases_and_nothing_else() {
        for good in [
            "sqlite://data/app.db",
            "postgres://u:p@h:5432/db",
            "postgresql://h/db",
        ] {
            assert!(good.parse::<DatabaseUrl>().is_ok(), "{good}");
        }
        for bad in ["mysql://h/db", "data/app.db", ""] {
            assert!(bad.parse::<DatabaseUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let config =
            Config::try_parse_from(["backend", "--trusted-proxies", "127.0.0.1, 10.0.0.0/8,::1"])
                .unwrap();
        assert_eq!(config.trusted_proxies.len(), 3);
        assert!(Config::try_parse_from(["backend", "--trusted-proxies", "localhost"]).is_err());
    }

    #[test]
    fn database_url_hides_password() {
        let url = DatabaseUrl("postgres://u:secret@h/db".into());
        assert!(!format!("{url:?}").contains("secret"));
    }
}
