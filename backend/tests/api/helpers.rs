use backend::Application;
use backend::clock::Clock;
use backend::config::Config;
use backend::storage::{Db, Settings, inspect};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use shared::admin::KeyState;
use shared::pkce::CodeVerifier;
use tokio::net::TcpListener;

pub const SPA: &str = "demo-spa";
pub const SERVICE: &str = "demo-service";
pub const SERVICE_SECRET: &str = "demo-service-secret";
/// Every 401 of the API offers DPoP too (RFC 9449 §7.1), after Bearer and Token.
pub const DPOP_CHALLENGE: &str = r#"DPoP realm="api", algs="ES256 EdDSA Ed25519""#;
pub const ALL_USER_SCOPES: &str = "openid profile email products:read orders:read orders:write";

pub struct TestApp {
    /// `http://127.0.0.1:<port>`: the issuer and the API.
    pub api: String,
    /// `http://127.0.0.1:<port>`: the browser app's origin.
    pub app: String,
    /// `http://127.0.0.1:<port>/metrics`: the Prometheus scrape (its own listener).
    pub metrics: String,
    pub http: reqwest::Client,
    /// A second handle on the server's database, through the storage seam: to check what was
    /// (not) stored, and to put the database in a state no request can.
    pub db: Db,
    /// The server's clock: tests move it forward instead of sleeping or editing stored times.
    pub clock: Clock,
    pub database_url: String,
    /// The flags the server was started with, so that a command-line run shares its settings.
    pub extra_args: Vec<String>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The database a test server gets: a fresh SQLite file, or with `TEST_DATABASE=postgres` a
/// fresh database on the PostgreSQL server at `TEST_POSTGRES_URL` (scripts/test.sh runs the
/// whole suite both ways).
pub async fn test_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE").as_deref() {
        Ok("postgres") => {
            let admin = std::env::var("TEST_POSTGRES_URL").expect(
                "TEST_DATABASE=postgres needs TEST_POSTGRES_URL, a PostgreSQL server's URL \
                 (scripts/pg.sh start DIR prints one)",
            );
            inspect::create_postgres_database(&admin).await.unwrap()
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}", dir.join("test.db").display()),
        Ok(other) => panic!("TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// Whether this run's test servers use PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE").as_deref() == Ok("postgres")
}

/// A built browser app (an `index.html`) in a directory of its own, for `--app-dir`.
pub fn built_app() -> tempfile::TempDir {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!DOCTYPE html><title>app</title>",
    )
    .unwrap();
    dist
}

pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    spawn_app_checked_against(extra, |_| {}).await
}

/// [`spawn_app_with`], checking the answers against the server's OpenAPI document as `edit`
/// changes it (every other test server checks against the document unchanged).
pub async fn spawn_app_checked_against(extra: &[&str], edit: impl FnOnce(&mut Value)) -> TestApp {
    spawn_with_clock(extra, edit, Clock::system(), "").await
}

/// A test server whose clock stands still until the test moves it (`advance`): for what is
/// counted per second of the server's clock.
pub async fn spawn_app_with_frozen_clock() -> TestApp {
    let now = Clock::system().now();
    spawn_with_clock(&[], |_| {}, Clock::frozen(now), "").await
}

/// A test server whose issuer has a path (`{api}{issuer_path}`, e.g. `/auth`), as behind a proxy
/// that maps that path to the server's root: clients name the issuer's URLs (in proofs, in
/// `aud`) while the test's requests reach the server at its root.
pub async fn spawn_app_below(issuer_path: &str) -> TestApp {
    spawn_with_clock(&[], |_| {}, Clock::system(), issuer_path).await
}

async fn spawn_with_clock(
    extra: &[&str],
    edit: impl FnOnce(&mut Value),
    clock: Clock,
    issuer_path: &str,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let api_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = format!(
        "http://127.0.0.1:{}/metrics",
        metrics_listener.local_addr().unwrap().port()
    );
    let api = format!(
        "http://127.0.0.1:{}",
        api_listener.local_addr().unwrap().port()
    );
    let app = format!(
        "http://127.0.0.1:{}",
        app_listener.local_addr().unwrap().port()
    );
    let database_url = test_database_url(dir.path()).await;
    let mut args = vec![
        "backend".to_owned(),
        "--demo".into(),
        "--issuer".into(),
        format!("{api}{issuer_path}"),
        "--app-url".into(),
        app.clone(),
        "--database-url".into(),
        database_url.clone(),
    ];
    // No browser app, unless the test brings one.
    if !extra.contains(&"--app-dir") {
        args.push("--app-dir".into());
        args.push(dir.path().join("no-app").display().to_string());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let config = Config::try_parse_from(args).unwrap();
    let server = Application::with_listeners(
        config,
        clock.clone(),
        vec![api_listener],
        vec![app_listener],
    )
    .await
    .unwrap()
    .with_metrics_listeners(vec![metrics_listener]);
    // Every answer of the API origin is checked against the OpenAPI document the server serves.
    let mut document =
        serde_json::to_value(backend::openapi::document(&server.state().config)).unwrap();
    edit(&mut document);
    let server = server.wrap_api(move |router| crate::openapi::checked(router, document));
    tokio::spawn(server.run());
    backend::crypto::install_tls_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let db = Db::connect(&Settings::new(&database_url)).await.unwrap();
    TestApp {
        api,
        app,
        metrics,
        http,
        db,
        clock,
        database_url,
        extra_args: extra.iter().map(|s| (*s).to_owned()).collect(),
        _dir: dir,
    }
}

/// What a client keeps between the authorization request and the token request.
pub struct Authorization {
    pub verifier: CodeVerifier,
    pub redirect_uri: String,
    pub state: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.app)
    }

    pub async fn client_credentials(&self, scope: Option<&str>) -> Response {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.http
            .post(self.url("/token"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn service_token(&self) -> String {
        let response = self.client_credentials(None).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn authorize_query(&self, auth: &Authorization, scope: &str) -> Vec<(String, String)> {
        self.authorize_query_for(SPA, auth, scope)
    }

    pub fn authorize_query_for(
        &self,
        client_id: &str,
        auth: &Authorization,
        scope: &str,
    ) -> Vec<(String, String)> {
        vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.into()),
            ("redirect_uri".into(), auth.redirect_uri.clone()),
            ("scope".into(), scope.into()),
            ("state".into(), auth.state.clone()),
            (
                "code_challenge".into(),
                auth.verifier.challenge().as_str().into(),
            ),
            ("code_challenge_method".into(), "S256".into()),
        ]
    }

    pub fn new_authorization(&self) -> Authorization {
        Authorization {
            verifier: CodeVerifier::from_random_bytes(&backend::crypto::random_bytes()),
            redirect_uri: self.redirect_uri(),
            state: backend::crypto::random_token(16),
        }
    }

    /// GET /authorize; returns the login page response.
    pub async fn get_authorize(&self, query: &[(String, String)]) -> Response {
        self.http
            .get(self.url("/authorize"))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Fills in and posts the login form of `page`; returns the server's answer.
    pub async fn submit_login(&self, page: Response, username: &str, password: &str) -> Response {
        self.submit_login_keeping_cookie(page, username, password)
            .await
            .0
    }

    /// Like `submit_login`, and also returns the anti-forgery cookie, which a browser would
    /// keep for the consent form that may follow.
    pub async fn submit_login_keeping_cookie(
        &self,
        page: Response,
        username: &str,
        password: &str,
    ) -> (Response, String) {
        let cookie = page_cookie(&page);
        let html = page.text().await.unwrap();
        let mut form = hidden_inputs(&html);
        form.push(("username".into(), username.into()));
        form.push(("password".into(), password.into()));
        let answer = self.post_form("/authorize/login", &cookie, &form).await;
        (answer, cookie)
    }

    pub async fn post_form(&self, path: &str, cookie: &str, form: &[(String, String)]) -> Response {
        self.http
            .post(self.url(path))
            .header(COOKIE, cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Logs `username` in through the real login form and returns the code from the redirect.
    pub async fn authorization_code(
        &self,
        auth: &Authorization,
        scope: &str,
        username: &str,
        password: &str,
    ) -> String {
        self.authorization_code_at(SPA, auth, scope, username, password)
            .await
    }

    /// [`TestApp::authorization_code`] for the first-party public client `client_id`.
    pub async fn authorization_code_at(
        &self,
        client_id: &str,
        auth: &Authorization,
        scope: &str,
        username: &str,
        password: &str,
    ) -> String {
        let page = self
            .get_authorize(&self.authorize_query_for(client_id, auth, scope))
            .await;
        assert_eq!(page.status(), StatusCode::OK);
        let answer = self.submit_login(page, username, password).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let params = redirect_params(&answer);
        assert_eq!(param(&params, "state"), Some(auth.state.as_str()));
        param(&params, "code").unwrap().to_owned()
    }

    pub async fn redeem(&self, code: &str, auth: &Authorization) -> Response {
        self.redeem_at(SPA, code, auth).await
    }

    /// [`TestApp::redeem`] for the public client `client_id`.
    pub async fn redeem_at(&self, client_id: &str, code: &str, auth: &Authorization) -> Response {
        self.http
            .post(self.url("/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client_id),
                ("redirect_uri", &auth.redirect_uri),
                ("code_verifier", auth.verifier.as_str()),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The whole browser flow for user0; returns the token response body.
    pub async fn user_tokens(&self, scope: &str) -> Value {
        self.login_tokens("user0", "password0", scope).await
    }

    /// The whole browser flow for any user; returns the token response body.
    pub async fn login_tokens(&self, username: &str, password: &str, scope: &str) -> Value {
        self.login_tokens_at(SPA, username, password, scope).await
    }

    /// [`TestApp::login_tokens`] at the first-party public client `client_id`.
    pub async fn login_tokens_at(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
        scope: &str,
    ) -> Value {
        let auth = self.new_authorization();
        let code = self
            .authorization_code_at(client_id, &auth, scope, username, password)
            .await;
        let response = self.redeem_at(client_id, &code, &auth).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// An access token of the demo administrator with the `admin` scope.
    pub async fn admin_token(&self) -> String {
        self.login_tokens("admin", "admin-password", "openid admin")
            .await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A request to the admin API with a Bearer token and, if given, a JSON body.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn user_token(&self) -> String {
        self.user_tokens(ALL_USER_SCOPES).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The JSON body of `GET url`, sent without credentials.
    pub async fn get_json(&self, url: &str) -> Value {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn get_api(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Signs `claims` with the server's own current ES256 key and `header`'s fields: lets tests
    /// make tokens that are correctly signed but wrong in one other way.
    pub async fn forge(&self, mut header: Header, claims: &Value) -> String {
        let keys = self.db.signing_keys("").await.unwrap();
        let key = keys
            .iter()
            .find(|k| k.state == KeyState::Current && k.alg == shared::admin::SigningAlg::Es256)
            .unwrap();
        if header.kid.is_none() {
            header.kid = Some(key.kid.clone());
        }
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&key.private_der)).unwrap()
    }

    /// Claims of a valid access token for user `sub`, to be altered by tests.
    pub fn claims(&self, scope: &str) -> Value {
        let now = self.clock.now().unix();
        serde_json::json!({
            "iss": self.api, "sub": "usr_test", "aud": "api://default", "exp": now + 600, "iat": now,
            "jti": "test", "client_id": SPA, "scope": scope,
        })
    }

    pub async fn refresh(&self, refresh_token: &str, scope: Option<&str>) -> Response {
        self.refresh_at(SPA, refresh_token, scope).await
    }

    /// [`TestApp::refresh`] for the public client `client_id`.
    pub async fn refresh_at(
        &self,
        client_id: &str,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Response {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.http
            .post(self.url("/token"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Introspects `token` as the demo service (a confidential client).
    pub async fn introspect(&self, token: &str) -> Value {
        let response = self
            .http
            .post(self.url("/introspect"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    pub async fn revoke_as_spa(&self, token: &str) -> Response {
        self.http
            .post(self.url("/revoke"))
            .form(&[("token", token), ("client_id", SPA)])
            .send()
            .await
            .unwrap()
    }

    /// Registers `other-spa`, a second public client with the demo app's redirect URI.
    pub async fn add_other_spa(&self, grant_types: &[&str], scopes: &str) {
        let redirect = vec![self.redirect_uri()];
        let grant_types: Vec<_> = grant_types.iter().map(|g| g.parse().unwrap()).collect();
        self.db
            .upsert_client(
                &backend::storage::NewClient {
                    id: "other-spa",
                    name: "Another app",
                    secret_hash: None,
                    keys: None,
                    first_party: true,
                    grant_types: &grant_types,
                    scopes: &shared::scope::ScopeSet::parse(scopes).unwrap(),
                    redirect_uris: &redirect,
                    lifetimes: backend::storage::Lifetimes::default(),
                    require_pushed_requests: false,
                    dpop_bound_access_tokens: false,
                    post_logout_redirect_uris: &[],
                    backchannel_logout_uri: None,
                },
                self.clock.now(),
            )
            .await
            .unwrap();
    }

    /// The stored user `username` (to read its id, or change it behind the API's back).
    pub async fn user(&self, username: &str) -> backend::storage::User {
        self.db.user_by_username(username).await.unwrap().unwrap()
    }

    /// Enables or disables `username` directly in the database.
    pub async fn set_disabled(&self, username: &str, disabled: bool) {
        let id = self.user(username).await.id;
        let changes = backend::storage::UserChanges {
            disabled: Some(disabled),
            ..Default::default()
        };
        self.db
            .update_user(&id, &changes, self.clock.now())
            .await
            .unwrap();
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, seconds: u64) {
        self.clock.advance(std::time::Duration::from_secs(seconds));
    }

    /// Runs the backend binary as a separate process on this server's database, with the
    /// server's own flags before `args` (a subcommand and its flags).
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        self.run_cli(&self.extra_args, args).await
    }

    /// The command line on this server's database, but with the default settings rather than
    /// the flags the server was started with.
    pub async fn cli_with_defaults(&self, args: &[&str]) -> std::process::Output {
        self.run_cli(&[], args).await
    }

    async fn run_cli(&self, flags: &[String], args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_backend"));
        command
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .args(flags)
            .args(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// The security events of `kind` so far, newest first. The log is written in batches, so
    /// this waits (up to five seconds) for at least `at_least` of them.
    pub async fn events(&self, kind: &str, at_least: usize) -> Vec<backend::storage::EventRow> {
        let query = backend::storage::EventQuery {
            kind: Some(kind.into()),
            limit: 1000,
            ..Default::default()
        };
        for _ in 0..100 {
            let events = self.db.events(&query).await.unwrap();
            if events.len() >= at_least {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.db.events(&query).await.unwrap()
    }

    pub async fn code_count(&self) -> i64 {
        self.db.count("authorization_codes").await.unwrap()
    }
}

pub fn at_jwt_header() -> Header {
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header
}

/// The `Cookie` header a browser would send back after `page` (the login form's anti-forgery
/// cookie).
pub fn page_cookie(page: &Response) -> String {
    page.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The end-session endpoint's confirmation page: its fields (each of its three forms carries
/// them, once here) and its anti-forgery cookie.
pub async fn logout_confirmation(page: Response) -> (Vec<(String, String)>, String) {
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page_cookie(&page);
    let html = page.text().await.unwrap();
    assert!(html.contains("Log out?"), "{html}");
    let mut fields: Vec<(String, String)> = Vec::new();
    for (name, value) in hidden_inputs(&html) {
        if !fields.iter().any(|(n, _)| *n == name) {
            fields.push((name, value));
        }
    }
    (fields, cookie)
}

pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split("<input type=\"hidden\" ").skip(1) {
        let name = between(chunk, "name=\"", "\"");
        let value = between(chunk, "value=\"", "\"");
        out.push((name, unescape(&value)));
    }
    out
}

fn between(s: &str, start: &str, end: &str) -> String {
    let from = s.find(start).unwrap() + start.len();
    let to = s[from..].find(end).unwrap() + from;
    s[from..to].to_owned()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The query parameters of a redirect's Location.
pub fn redirect_params(response: &Response) -> Vec<(String, String)> {
    let location = response
        .headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The JSON claims of a JWT, without checking anything.
pub fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

pub async fn oauth_error(response: Response) -> (StatusCode, String, String) {
    let status = response.status();
    assert_eq!(
        response.headers().get("cache-control").unwrap(),
        "no-store",
        "errors must not be cached"
    );
    let body: Value = response.json().await.unwrap();
    let description = body["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!description.is_empty(), "every error explains itself");
    (
        status,
        body["error"].as_str().unwrap().to_owned(),
        description,
    )
}

/// The `resource_metadata` parameter (RFC 9728 §5.1) that the `Bearer` challenges answered at
/// `url` end with: the metadata of that URL (its query included) on the API and the admin API,
/// when it is plain (unreserved characters, `/` in the path, `=` and `&` in the query, whose
/// names are the APIs' filters) and at most 256 bytes; none otherwise.
pub fn resource_metadata(url: &reqwest::Url) -> String {
    let origin = url.origin().ascii_serialization();
    let path = url.path();
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let plain = path.bytes().all(|b| unreserved(b) || b == b'/')
        && url.query().is_none_or(|q| {
            !q.is_empty()
                && q.bytes().all(|b| unreserved(b) || b == b'=' || b == b'&')
                && q.split('&').all(|pair| {
                    let name = pair.split('=').next().unwrap_or(pair);
                    [
                        "kind", "user", "client", "since", "limit", "username", "server",
                    ]
                    .contains(&name)
                })
        });
    let below = match url.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    match path.split('/').nth(1) {
        Some("api" | "admin") if plain && below.len() <= 256 => {
            format!(r#", resource_metadata="{origin}/.well-known/oauth-protected-resource{below}""#)
        }
        _ => String::new(),
    }
}

pub fn www_authenticate(response: &Response) -> String {
    response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Every stored record a refused request must leave as it was, table by table: authorization
/// servers, users, clients
/// and their redirect URIs, scopes, consents, codes, pushed authorization requests, grants, refresh and access tokens, the
/// revocation list, API tokens and orders, each row with every column. Left out: the security event log (refusals
/// are logged), an API token's `last_used_at` (use is recorded), the signing keys (they follow
/// their own schedule) and the rate limits (refusals count).
pub async fn storage_fingerprint(app: &TestApp) -> Vec<(&'static str, String)> {
    const TABLES: [&str; 21] = [
        "trusted_issuers",
        "authorization_servers",
        "server_scopes",
        "access_policies",
        "policy_rules",
        "server_claims",
        "users",
        "clients",
        "client_redirect_uris",
        "scopes",
        "consents",
        "consent_tickets",
        "authorization_codes",
        "pushed_requests",
        "grants",
        "refresh_tokens",
        "access_tokens",
        "revocations",
        "api_tokens",
        "initial_access_tokens",
        "orders",
    ];
    let mut fingerprint = Vec::new();
    for table in TABLES {
        let rows = app.db.snapshot(table, &["last_used_at"]).await.unwrap();
        fingerprint.push((table, rows));
    }
    fingerprint
}

/// The API's scopes, which a test's authorization server offers (a new server offers none of
/// its own, only OpenID Connect's).
pub const SHOP_SCOPES: [&str; 3] = ["products:read", "orders:read", "orders:write"];

/// Makes authorization server `id` offer [`SHOP_SCOPES`].
pub async fn offer_shop_scopes(app: &TestApp, admin: &str, id: &str) {
    let scopes: Vec<serde_json::Value> = SHOP_SCOPES
        .iter()
        .map(|name| serde_json::json!({"name": name, "description": format!("{name} at {id}")}))
        .collect();
    let response = app
        .admin(
            reqwest::Method::PUT,
            &format!("/admin/servers/{id}/scopes"),
            admin,
            Some(serde_json::json!({ "scopes": scopes })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "scopes of {id}");
}

/// `GET /admin/events?request_id=…`, waiting up to 5 s for one.
pub async fn admin_events(app: &TestApp, admin: &str, id: &str) -> Vec<shared::admin::Event> {
    for _ in 0..100 {
        let r = app
            .admin(
                reqwest::Method::GET,
                &format!("/admin/events?request_id={id}"),
                admin,
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let events: Vec<shared::admin::Event> = r.json().await.unwrap();
        if !events.is_empty() {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no event of request {id}");
}

/// The explanation of the refused request `id` (its `request_refused` event, which is recorded
/// after the answer, beside any other event of the request), waiting up to 5 s.
pub async fn refusal_explanation(app: &TestApp, admin: &str, id: &str) -> shared::api::Explanation {
    let path = format!("/admin/events?request_id={id}&kind=request_refused");
    for _ in 0..100 {
        let r = app.admin(reqwest::Method::GET, &path, admin, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let events: Vec<shared::admin::Event> = r.json().await.unwrap();
        if let Some(why) = events.into_iter().find_map(|e| e.explanation) {
            return why;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no request_refused event of request {id}");
}
