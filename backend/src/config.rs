//! Configuration, parsed once at start-up from flags, the environment and `.env`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

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

    /// SQLite database (created if missing), e.g. `sqlite://data/app.db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://data/app.db")]
    pub database_url: DatabaseUrl,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value_t = 900, value_parser = clap::value_parser!(u64).range(30..=86_400))]
    pub access_token_ttl: u64,

    /// Authorization-code lifetime in seconds; RFC 6749 §4.1.2 recommends at most ten minutes,
    /// this server allows at most one.
    #[arg(long, env = "AUTHORIZATION_CODE_TTL", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=60))]
    pub authorization_code_ttl: u64,

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

    /// Seed the demo users, clients, scopes and products (never on by default).
    #[arg(long, env = "DEMO", default_value_t = false)]
    pub demo: bool,
}

impl Config {
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl)
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

    /// An endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer_str())
    }
}

/// A database URL; wrapped so that a password in a future PostgreSQL URL never reaches a log.
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
        if s.starts_with("sqlite:") {
            Ok(Self(s.to_owned()))
        } else {
            Err("only sqlite: URLs are supported (e.g. sqlite://data/app.db)".into())
        }
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
    fn refuses_issuer_with_query() {
        assert!(Config::try_parse_from(["backend", "--issuer", "http://a.test/?x=1"]).is_err());
    }

    #[test]
    fn database_url_hides_password() {
        let url = DatabaseUrl("postgres://u:secret@h/db".into());
        assert!(!format!("{url:?}").contains("secret"));
    }
}
