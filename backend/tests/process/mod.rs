//! The real `backend` binary as a child process, for the tests that must kill it (crash) or
//! watch it from outside (soak): a temporary site with its database and free ports, the running
//! server, and the browser's login flow over HTTP.
//!
//! Included by `#[path]` from each such test (crash, multi, soak); each uses a part of it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use shared::pkce::CodeVerifier;

/// Where one run of the server lives: a temporary directory with the server's log, an empty
/// app directory and (by default) its SQLite database, the database's URL, and the ports the
/// server listens on (the same after every restart).
pub struct Site {
    pub dir: tempfile::TempDir,
    pub db_path: PathBuf,
    pub database_url: String,
    pub api_port: u16,
    pub app_port: u16,
    /// More environment for the server, over the defaults of [`Site::command`].
    pub env: Vec<(String, String)>,
}

impl Site {
    /// A site with a SQLite database of its own.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("server.db");
        let database_url = format!("sqlite://{}", db_path.display());
        Self::with_database(dir, db_path, database_url)
    }

    /// A site whose server uses the database at `database_url` (PostgreSQL, shared with other
    /// sites: several instances of one service).
    pub fn on_database(database_url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("unused.db");
        Self::with_database(dir, db_path, database_url.to_owned())
    }

    fn with_database(dir: tempfile::TempDir, db_path: PathBuf, database_url: String) -> Self {
        std::fs::create_dir(dir.path().join("app")).unwrap();
        Self {
            dir,
            db_path,
            database_url,
            api_port: free_port(),
            app_port: free_port(),
            env: Vec::new(),
        }
    }

    /// Sets an environment variable of the server (a setting, as `.env` would).
    pub fn set(&mut self, name: &str, value: &str) {
        self.env.push((name.to_owned(), value.to_owned()));
    }

    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn app(&self) -> String {
        format!("http://127.0.0.1:{}", self.app_port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The backend binary with a clean environment: nothing of the developer's shell or `.env`
    /// leaks in (it runs in the temporary directory, where there is no `.env`).
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_backend"));
        command
            .current_dir(self.dir.path())
            .env_clear()
            .env("DATABASE_URL", &self.database_url)
            .env("API_ADDR", format!("127.0.0.1:{}", self.api_port))
            .env("APP_ADDR", format!("127.0.0.1:{}", self.app_port))
            .env("ISSUER", self.api())
            .env("APP_URL", self.app())
            .env("APP_DIR", self.dir.path().join("app"))
            // Dozens of logins a minute from one address are these tests, not an attack. A
            // login cut off by a kill keeps the failure it reserved for its username (the
            // limits are stored), so the per-user limit is lifted as well.
            .env("LOGIN_ATTEMPTS_PER_ADDRESS", "100000/60")
            .env("LOGIN_FAILURES_PER_USER", "100000/60")
            .env("RUST_LOG", "warn")
            .env("RUST_BACKTRACE", "1");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }
}

/// A port that was free a moment ago. A child process cannot be handed a bound listener, so the
/// port is found here and bound again by the server.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running server. Dropping it (also when the test panics) kills the process, so no server
/// outlives the test.
pub struct Server {
    child: Option<Child>,
}

impl Server {
    pub async fn start(site: &Site) -> Self {
        let log = File::options()
            .create(true)
            .append(true)
            .open(site.log_path())
            .unwrap();
        let child = site
            .command()
            .arg("--demo")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the backend binary starts");
        let mut server = Self { child: Some(child) };
        backend::crypto::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let metadata = format!("{}/.well-known/oauth-authorization-server", site.api());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "the server exited with {status} while starting:\n{}",
                    log_tail(&site.log_path())
                );
            }
            if let Ok(r) = http.get(&metadata).send().await
                && r.status() == StatusCode::OK
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer within a minute:\n{}",
                log_tail(&site.log_path())
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The `Cookie` header a browser sends back after `response`: the name and value of each cookie
/// it sets.
pub fn cookies(response: &Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let attribute = |chunk: &str, name: &str| {
        let from = chunk.find(name).unwrap() + name.len();
        let to = chunk[from..].find('"').unwrap() + from;
        chunk[from..to]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|chunk| (attribute(chunk, "name=\""), attribute(chunk, "value=\"")))
        .collect()
}

impl Server {
    /// The process id, to read its `/proc` entries.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }
}

/// `backend tokens create` run by `command` (a [`Site::command`]; the server may be running):
/// the new API token of `user`. Blocking.
pub fn create_api_token(mut command: Command, user: &str, name: &str, scope: &str) -> String {
    let output = command
        .args([
            "tokens", "create", "--user", user, "--name", name, "--scope", scope,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "backend tokens create: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().next().unwrap_or_default().trim().to_owned();
    assert!(token.starts_with("amt_"), "{stdout}");
    token
}

/// The browser flow of `client_id` for user0: `/authorize`, the login form, the code at
/// `/token` with its PKCE verifier. Returns the token response.
pub async fn login(
    http: &reqwest::Client,
    api: &str,
    client_id: &str,
    redirect_uri: &str,
    scope: &str,
) -> reqwest::Result<Value> {
    let verifier = CodeVerifier::from_random_bytes(&backend::crypto::random_bytes());
    let state = backend::crypto::random_token(16);
    let page = http
        .get(format!("{api}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", scope),
            ("state", &state),
            ("code_challenge", verifier.challenge().as_str()),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await?;
    assert_eq!(page.status(), StatusCode::OK, "the login page");
    let cookie = cookies(&page);
    let mut form = hidden_inputs(&page.text().await?);
    form.push(("username".into(), "user0".into()));
    form.push(("password".into(), "password0".into()));
    let answer = http
        .post(format!("{api}/authorize/login"))
        .header(COOKIE, cookie)
        .form(&form)
        .send()
        .await?;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "login redirects");
    let location = url::Url::parse(answer.headers()[LOCATION].to_str().unwrap()).unwrap();
    let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(query.get("state"), Some(&state));
    let code = &query["code"];
    let r = http
        .post(format!("{api}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    assert_eq!(status, StatusCode::OK, "code redemption: {body}");
    Ok(body)
}

/// A spawned task's value; a panic in the task is resumed here, so the test fails with the
/// task's own message.
pub async fn join<T>(task: tokio::task::JoinHandle<T>) -> T {
    match task.await {
        Ok(value) => value,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// An RFC 6749 §5.2 `invalid_grant` answer (status and JSON body), whose description says
/// `saying` if given.
pub fn expect_invalid_grant((status, body): (StatusCode, Value), saying: Option<&str>) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    if let Some(saying) = saying {
        let description = body["error_description"]
            .as_str()
            .unwrap_or_else(|| panic!("no error_description in {body}"));
        assert!(description.contains(saying), "{description}");
    }
}
