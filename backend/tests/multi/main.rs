//! Several instances, one service: two processes of the real server on one PostgreSQL database
//! must keep every promise one process keeps. A code is spent once wherever it is presented; a
//! refresh token rotates once however its presentations are spread; a revocation, a disabled
//! user or a rotated signing key at one instance holds at the other; rate limits count the
//! service's attempts, not one process's; a login or a backend-for-frontend session goes on
//! whichever instance answers; and when one instance dies, the other goes on serving with
//! every acknowledged write in place.
//!
//! # How
//!
//! Each test creates a database of its own on the PostgreSQL server `TEST_POSTGRES_URL` names
//! and starts two instances, A and B, on it at the same moment. They are configured as one
//! service, as behind a load balancer: A's API address is the issuer of both and A's app
//! address the app URL of both (the demo client's redirect URI and every token's `iss` come
//! from them); in MVC mode each instance's backend-for-frontend calls its own API. The test is
//! the load balancer: it sends every request to A or to B by name, so that what one instance
//! issued is presented to the other, and concurrent requests land on both. Stored state is read
//! through the storage seam. Where real time must pass (an access token becoming due for
//! renewal, an instance applying a key change another announced) the tests poll with a
//! deadline, and print what they measured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../process/mod.rs"]
mod process;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backend::clock::Clock;
use backend::crypto::sha256_hex;
use backend::storage::{Db, EventQuery, EventRow, Settings, inspect};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use process::{Server, Site, cookies, expect_invalid_grant, hidden_inputs, join};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shared::admin::KeyState;
use shared::pkce::CodeVerifier;

const SPA: &str = "demo-spa";
const PARTNER: &str = "demo-partner";
const SERVICE: &str = "demo-service";
const SERVICE_SECRET: &str = "demo-service-secret";
const BFF: &str = "demo-bff";
const CSRF: &str = "x-csrf-token";
const OFFLINE: &str = "openid offline_access orders:read";
/// `GET /api/orders` lists at most this many, newest first.
const ORDER_LIST_LIMIT: usize = 500;

/// Which instance a request goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    A,
    B,
}

use At::{A, B};

impl At {
    /// A, B, A, B, … for 0, 1, 2, 3, …: what a round-robin balancer does.
    fn alternating(i: usize) -> Self {
        if i.is_multiple_of(2) { A } else { B }
    }

    fn index(self) -> usize {
        match self {
            A => 0,
            B => 1,
        }
    }
}

/// The PostgreSQL server the tests create their databases on. Without one the suite cannot
/// prove anything, so it fails rather than passes empty.
fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "the multi-instance tests need TEST_POSTGRES_URL, the URL of a PostgreSQL server \
             whose role may create databases: `scripts/pg.sh start DIR` starts one and prints \
             its URL (scripts/test.sh sets the variable itself)"
        )
    })
}

/// The service as its clients see it: the two instances' addresses, the service-wide issuer
/// and app URL, and the database behind both. Cheap to clone into concurrent tasks.
#[derive(Clone)]
struct Service {
    http: reqwest::Client,
    api: [String; 2],
    app: [String; 2],
    /// A's API address: the issuer of both instances.
    issuer: String,
    /// A's app address: the app URL of both instances.
    app_url: String,
    db: Db,
}

/// The running processes; dropping this kills them (before their directories go).
struct Instances {
    servers: [Server; 2],
    sites: [Site; 2],
}

impl Instances {
    fn site(&self, at: At) -> &Site {
        &self.sites[at.index()]
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(&mut self, at: At) {
        self.servers[at.index()].kill();
    }
}

fn http_client(local_address: Option<IpAddr>) -> reqwest::Client {
    backend::crypto::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .local_address(local_address)
        .build()
        .unwrap()
}

/// A fresh database and two instances started on it together, with `settings` (environment
/// variables) on both.
///
/// `process::free_port` finds a port free and the server binds it a moment later; in between,
/// another process (a connection or a server of another test, when many run at once) may take
/// it. Such a start is tried again, on a fresh database and fresh ports; any other failure is
/// the test's.
async fn two_instances(settings: &[(&str, &str)]) -> (Service, Instances) {
    let mut tries = 0;
    loop {
        tries += 1;
        match try_two_instances(settings).await {
            Ok(started) => return started,
            Err(taken) if tries < 3 => println!("multi: {taken}; starting again"),
            Err(taken) => panic!("{taken}, {tries} times"),
        }
    }
}

async fn try_two_instances(settings: &[(&str, &str)]) -> Result<(Service, Instances), String> {
    let url = inspect::create_postgres_database(&postgres_admin_url())
        .await
        .unwrap();
    let mut sites = [Site::on_database(&url), Site::on_database(&url)];
    let (issuer, app_url) = (sites[0].api(), sites[0].app());
    for site in &mut sites {
        site.set("ISSUER", &issuer);
        site.set("APP_URL", &app_url);
        let own_api = site.api();
        site.set("BFF_UPSTREAM", &own_api);
        site.set("REVOCATION_SYNC_MS", &REVOCATION_SYNC_MS.to_string());
        for (name, value) in settings {
            site.set(name, value);
        }
    }
    // Each start spawns its process before it first waits: both start at the same moment.
    let sites = sites.map(Arc::new);
    let starts = sites
        .clone()
        .map(|site| tokio::spawn(async move { Server::start(&site).await }));
    let mut servers = Vec::new();
    let mut taken = None;
    for (start, site) in starts.into_iter().zip(&sites) {
        match start.await {
            Ok(server) => servers.push(server),
            Err(e) => {
                let log = std::fs::read_to_string(site.log_path()).unwrap_or_default();
                if !log.contains("Address already in use") {
                    std::panic::resume_unwind(e.into_panic());
                }
                let binding = log.lines().find(|l| l.contains("binding"));
                taken = Some(binding.unwrap_or("a port").trim().to_owned());
            }
        }
    }
    if let Some(taken) = taken {
        return Err(format!(
            "a port was taken before its server bound it: {taken}"
        ));
    }
    let [a, b]: [Server; 2] = servers.try_into().ok().unwrap();
    let [site_a, site_b] = sites.map(|site| Arc::into_inner(site).unwrap());
    let http = http_client(None);
    for site in [&site_a, &site_b] {
        // The same race the other way round: the server that answered `Server::start` on this
        // port may be another test's, and this one failed to bind it.
        let metadata = format!("{}/.well-known/oauth-authorization-server", site.api());
        let answer: Value = http
            .get(&metadata)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["issuer"] != issuer.as_str() {
            return Err(format!(
                "{metadata} is another server's: {}",
                answer["issuer"]
            ));
        }
    }
    // Connected only now: the test's own connection must not migrate the empty database
    // before the instances race to.
    let settings = Settings {
        max_connections: 3,
        ..Settings::new(&url)
    };
    let db = Db::connect(&settings).await.unwrap();
    let service = Service {
        http,
        api: [site_a.api(), site_b.api()],
        app: [site_a.app(), site_b.app()],
        issuer,
        app_url,
        db,
    };
    let instances = Instances {
        servers: [a, b],
        sites: [site_a, site_b],
    };
    Ok((service, instances))
}

/// What a client keeps between its authorization request and its token request.
struct Login {
    client_id: &'static str,
    scope: &'static str,
    verifier: CodeVerifier,
    state: String,
}

impl Login {
    fn new(client_id: &'static str, scope: &'static str) -> Self {
        Self {
            client_id,
            scope,
            verifier: CodeVerifier::from_random_bytes(&backend::crypto::random_bytes()),
            state: backend::crypto::random_token(16),
        }
    }
}

/// A form page as a browser holds it: its hidden fields and the cookies it was sent with.
struct Page {
    cookie: String,
    fields: Vec<(String, String)>,
}

impl Page {
    async fn read(response: Response) -> Self {
        let cookie = cookies(&response);
        let fields = hidden_inputs(&response.text().await.unwrap());
        Self { cookie, fields }
    }
}

/// The value `response` sets for the cookie `name`, if it sets it.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

fn location(response: &Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// `url` (under `from`) sent to `to` instead: what the balancer does with a browser's request
/// for the service's public address.
fn routed(url: &str, from: &str, to: &str) -> String {
    let rest = url
        .strip_prefix(from)
        .unwrap_or_else(|| panic!("{url} is not under {from}"));
    format!("{to}{rest}")
}

/// Part `index` of a JWT (0: header, 1: claims), unverified.
fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn kid_of(token: &str) -> String {
    jwt_part(token, 0)["kid"].as_str().unwrap().to_owned()
}

fn text(value: &Value, field: &str) -> String {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {value}"))
        .to_owned()
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.text().await.unwrap();
    let value =
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{status}: not JSON: {body}"));
    (status, value)
}

/// RFC 6750 §3.1 `invalid_token`; returns the description.
async fn expect_invalid_token(response: Response) -> String {
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_token", "{body}");
    text(&body, "error_description")
}

fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

impl Service {
    fn api(&self, at: At, path: &str) -> String {
        format!("{}{path}", self.api[at.index()])
    }

    fn app(&self, at: At, path: &str) -> String {
        format!("{}{path}", self.app[at.index()])
    }

    fn redirect_uri(&self) -> String {
        format!("{}/callback", self.app_url)
    }

    /// The same service seen from another address of this machine (127.0.0.0/8 is all
    /// loopback): the per-address rate limits count each address apart.
    fn seen_from(&self, address: [u8; 4]) -> Self {
        Self {
            http: http_client(Some(IpAddr::from(address))),
            ..self.clone()
        }
    }

    /// `GET /authorize` at `at`: the login page, as the browser then holds it.
    async fn authorize(&self, at: At, login: &Login) -> Page {
        let page = self
            .http
            .get(self.api(at, "/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", login.client_id),
                ("redirect_uri", &self.redirect_uri()),
                ("scope", login.scope),
                ("state", &login.state),
                ("code_challenge", login.verifier.challenge().as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        if page.status() != StatusCode::OK {
            let status = page.status();
            panic!(
                "the login page at {at:?}: {status}: {}",
                page.text().await.unwrap()
            );
        }
        Page::read(page).await
    }

    /// Posts `page`'s form to `path` at `at`, with `more` fields and the page's cookies.
    async fn post_form(&self, at: At, path: &str, page: &Page, more: &[(&str, &str)]) -> Response {
        let mut form = page.fields.clone();
        form.extend(more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.http
            .post(self.api(at, path))
            .header(COOKIE, &page.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn submit_login(&self, at: At, page: &Page, username: &str, password: &str) -> Response {
        self.post_form(
            at,
            "/authorize/login",
            page,
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// The code from an authorization response, checked against the request and the issuer.
    fn code_from(&self, answer: &Response, login: &Login) -> String {
        assert_eq!(
            answer.status(),
            StatusCode::SEE_OTHER,
            "a redirect with a code"
        );
        let to = location(answer);
        assert!(to.starts_with(&self.redirect_uri()), "{to}");
        let query = query_of(&to);
        assert_eq!(query.get("state"), Some(&login.state));
        assert_eq!(
            query.get("iss"),
            Some(&self.issuer),
            "whichever instance answers, it speaks as the one issuer"
        );
        query["code"].clone()
    }

    /// The login page from `page_at`, the password posted to `login_at`: the code.
    async fn code(
        &self,
        [page_at, login_at]: [At; 2],
        login: &Login,
        username: &str,
        password: &str,
    ) -> String {
        let page = self.authorize(page_at, login).await;
        let answer = self.submit_login(login_at, &page, username, password).await;
        self.code_from(&answer, login)
    }

    async fn redeem(&self, at: At, login: &Login, code: &str) -> Response {
        self.http
            .post(self.api(at, "/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", login.client_id),
                ("redirect_uri", &self.redirect_uri()),
                ("code_verifier", login.verifier.as_str()),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The whole browser flow of `demo-spa` for `username`, each step at the instance named:
    /// the login page, the password, the token request. Returns the token response.
    async fn log_in(
        &self,
        steps: [At; 3],
        scope: &'static str,
        username: &str,
        password: &str,
    ) -> Value {
        let login = Login::new(SPA, scope);
        let code = self
            .code([steps[0], steps[1]], &login, username, password)
            .await;
        let (status, body) = json_of(self.redeem(steps[2], &login, &code).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn refresh(&self, at: At, token: &str) -> reqwest::Result<Response> {
        self.http
            .post(self.api(at, "/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", SPA),
            ])
            .send()
            .await
    }

    async fn revoke(&self, at: At, token: &str, hint: &str) -> Response {
        self.http
            .post(self.api(at, "/revoke"))
            .form(&[
                ("token", token),
                ("token_type_hint", hint),
                ("client_id", SPA),
            ])
            .send()
            .await
            .unwrap()
    }

    async fn whoami(&self, at: At, token: &str) -> Response {
        self.http
            .get(self.api(at, "/api/whoami"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn client_credentials(&self, at: At, secret: &str) -> Response {
        self.http
            .post(self.api(at, "/token"))
            .basic_auth(SERVICE, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    /// An access token of `demo-service`, signed by the instance `at`.
    async fn service_token(&self, at: At) -> String {
        let (status, body) = json_of(self.client_credentials(at, SERVICE_SECRET).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        text(&body, "access_token")
    }

    async fn jwks(&self, at: At) -> Value {
        let r = self
            .http
            .get(self.api(at, "/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// The security events `query` selects, once at least `at_least` are stored (the log is
    /// written in batches; this waits up to five seconds).
    async fn events(&self, query: EventQuery, at_least: usize) -> Vec<EventRow> {
        let query = EventQuery {
            limit: 1000,
            ..query
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let events = self.db.events(&query).await.unwrap();
            if events.len() >= at_least || Instant::now() >= deadline {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn events_of(&self, kind: &str, at_least: usize) -> Vec<EventRow> {
        let query = EventQuery {
            kind: Some(kind.into()),
            ..Default::default()
        };
        self.events(query, at_least).await
    }
}

fn kids(jwks: &Value) -> BTreeSet<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| text(k, "kid"))
        .collect()
}

/// A blocking command (the server's command line) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// An API token of the demo administrator with the `admin` scope, from the command line on
/// the shared database.
async fn admin_api_token(site: &Site) -> String {
    let command = site.command();
    blocking(move || process::create_api_token(command, "admin", "multi-admin", "admin")).await
}

/// Polls `done` every 10 ms until it holds, at most until `within` after `since`; how long
/// after `since` it held.
async fn wait_for<F, Fut>(since: Instant, within: Duration, what: &str, mut done: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if done().await {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < within,
            "{what}: not within {} ms",
            within.as_millis()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// 1. Start-up -----------------------------------------------------------------------------

/// On an empty database, one instance migrates (under PostgreSQL's advisory lock) while the
/// other waits, and both seed the demo data and the first keys; every write of those yields to
/// an existing row, so the race leaves one of everything and two instances that agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_started_together_on_an_empty_database_agree() {
    // The race is short; three fresh databases give it three chances to go wrong.
    for round in 0..3 {
        let started = Instant::now();
        let (svc, _instances) = two_instances(&[]).await;
        println!(
            "multi: round {round}: two instances on an empty database answered {} ms after \
             both were started",
            started.elapsed().as_millis()
        );
        agree(&svc).await;
    }
}

async fn agree(svc: &Service) {
    let jwks = svc.jwks(A).await;
    assert_eq!(svc.jwks(B).await, jwks, "one key set, published by both");
    let db = &svc.db;
    assert_eq!(db.count("users").await.unwrap(), 3);
    assert_eq!(db.count("products").await.unwrap(), 14);
    let keys = db.signing_keys("").await.unwrap();
    let mut states: Vec<(&str, KeyState)> =
        keys.iter().map(|k| (k.alg.as_str(), k.state)).collect();
    states.sort_by_key(|(alg, s)| (*alg, s.as_str()));
    assert_eq!(
        states,
        [
            ("ES256", KeyState::Current),
            ("ES256", KeyState::Next),
            ("RS256", KeyState::Current),
            ("RS256", KeyState::Next)
        ],
        "exactly one current and one next key per algorithm"
    );
    assert_eq!(
        kids(&jwks),
        keys.iter().map(|k| k.kid.clone()).collect::<BTreeSet<_>>()
    );
    // The demo's authorization server `default` (RS256 only): one current and one next key.
    let mut default: Vec<(&str, KeyState)> = Vec::new();
    let default_keys = db.signing_keys("default").await.unwrap();
    default.extend(default_keys.iter().map(|k| (k.alg.as_str(), k.state)));
    default.sort_by_key(|(alg, s)| (*alg, s.as_str()));
    assert_eq!(
        default,
        [("RS256", KeyState::Current), ("RS256", KeyState::Next)]
    );
    assert_eq!(svc.events_of("key_created", 6).await.len(), 6);
    assert_eq!(svc.events_of("key_activated", 3).await.len(), 3);

    // One service: what one signs the other accepts, under the one issuer.
    for (signer, reader) in [(A, B), (B, A)] {
        let token = svc.service_token(signer).await;
        assert_eq!(jwt_part(&token, 1)["iss"], svc.issuer.as_str());
        assert_eq!(svc.whoami(reader, &token).await.status(), StatusCode::OK);
    }
    // ... and the demo client's redirect URI is the service's app URL, whichever seeded it.
    let tokens = svc.log_in([B, B, A], "openid", "user1", "password1").await;
    assert_eq!(
        jwt_part(&text(&tokens, "access_token"), 1)["iss"],
        svc.issuer.as_str()
    );
}

// 2. Authorization codes ----------------------------------------------------------------

/// A code is spent by its first presentation at any instance; a replay at the other is
/// `invalid_grant` and revokes what the first produced, everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_by_one_instance_is_redeemed_once_at_either() {
    let (svc, _instances) = two_instances(&[]).await;
    let login = Login::new(SPA, OFFLINE);
    let code = svc.code([A, A], &login, "user0", "password0").await;
    let (status, tokens) = json_of(svc.redeem(B, &login, &code).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = text(&tokens, "access_token");
    let refresh = text(&tokens, "refresh_token");
    for at in [A, B] {
        assert_eq!(svc.whoami(at, &access).await.status(), StatusCode::OK);
    }

    expect_invalid_grant(
        json_of(svc.redeem(A, &login, &code).await).await,
        Some("already used"),
    );
    for at in [A, B] {
        let since = Instant::now();
        refused_within_delay(&svc, at, &access, since, "a replayed code's token is live").await;
    }
    expect_invalid_grant(json_of(svc.refresh(B, &refresh).await.unwrap()).await, None);
    let stored = svc
        .db
        .refresh_token(&sha256_hex(&refresh))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.revoked_at.is_some(), "the replay revoked the grant");
}

/// RFC 9126 across instances: a request pushed at one instance opens at the other, once,
/// however the two browsers that bring its `request_uri` at the same moment are spread; its
/// login form posts to either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_pushed_at_one_instance_is_opened_once_at_either() {
    let (svc, _instances) = two_instances(&[]).await;
    for round in 0..4 {
        let login = Login::new(SPA, OFFLINE);
        let pushed = svc
            .http
            .post(svc.api(A, "/par"))
            .form(&[
                ("response_type", "code"),
                ("client_id", SPA),
                ("redirect_uri", &svc.redirect_uri()),
                ("scope", login.scope),
                ("state", &login.state),
                ("code_challenge", login.verifier.challenge().as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let (status, body) = json_of(pushed).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let request_uri = text(&body, "request_uri");
        let open = |at: At| {
            let http = svc.http.clone();
            let url = svc.api(at, "/authorize");
            let request_uri = request_uri.clone();
            tokio::spawn(async move {
                let page = http
                    .get(url)
                    .query(&[("client_id", SPA), ("request_uri", &request_uri)])
                    .send()
                    .await
                    .unwrap();
                (at, page.status(), Page::read(page).await)
            })
        };
        let mut opened = Vec::new();
        for task in [open(A), open(B), open(B), open(A)] {
            opened.push(join(task).await);
        }
        let statuses: Vec<(At, StatusCode)> = opened.iter().map(|(at, s, _)| (*at, *s)).collect();
        let winners: Vec<&(At, StatusCode, Page)> = opened
            .iter()
            .filter(|(_, status, _)| *status == StatusCode::OK)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {statuses:?}");
        assert!(
            opened
                .iter()
                .all(|(_, s, _)| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST),
            "{statuses:?}"
        );
        // Its form posts to the other instance.
        let (opened_at, _, page) = winners[0];
        let other = if *opened_at == A { B } else { A };
        let answer = svc.submit_login(other, page, "user0", "password0").await;
        let code = svc.code_from(&answer, &login);
        let (status, tokens) = json_of(svc.redeem(other, &login, &code).await).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        println!("multi: a pushed request opened by concurrent browsers: {statuses:?}");
    }
}

/// RFC 9449 §8, §11.1: a nonce either instance gives out is taken by the other, and a proof is
/// used once whichever instance it reaches. The proofs name the service's URL (the issuer), as
/// a client behind a load balancer would.
#[tokio::test]
async fn a_dpop_nonce_and_a_proof_hold_across_instances() {
    let (svc, _instances) = two_instances(&[("DPOP_NONCE_REQUIRED", "true")]).await;
    let key = backend::dpop::client::ClientKey::generate().unwrap();
    let token_url = format!("{}/token", svc.issuer);
    let now = || backend::clock::Clock::system().now().unix();
    let ask = |at: At, proof: String| {
        let svc = &svc;
        async move {
            svc.http
                .post(svc.api(at, "/token"))
                .basic_auth(SERVICE, Some(SERVICE_SECRET))
                .header("DPoP", proof)
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
        }
    };
    let first = ask(A, key.proof("POST", &token_url, now(), None).unwrap()).await;
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let (status, body) = json_of(first).await;
    assert_eq!(
        (status, text(&body, "error").as_str()),
        (StatusCode::BAD_REQUEST, "use_dpop_nonce")
    );
    let proof = key
        .proof_with_nonce("POST", &token_url, now(), None, Some(&nonce))
        .unwrap();
    let (status, body) = json_of(ask(B, proof.clone()).await).await;
    assert_eq!(status, StatusCode::OK, "A's nonce at B: {body}");
    assert_eq!(text(&body, "token_type"), "DPoP");
    let (status, body) = json_of(ask(A, proof).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text(&body, "error"), "invalid_dpop_proof");
    assert!(
        text(&body, "error_description").contains("used before"),
        "{body}"
    );
}

/// RFC 8628 across instances: a device asks at A, its user opens the verification page at B
/// and allows it with a post to A; then the device's polls land on both at once. Exactly one
/// gets the tokens; every other is `invalid_grant` (the code was spent), whichever wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_device_code_gives_tokens_once_across_instances() {
    let (svc, _instances) = two_instances(&[("DEVICE_POLL_INTERVAL", "1")]).await;
    const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
    for round in 0..3 {
        let started = svc
            .http
            .post(svc.api(A, "/device/authorize"))
            .form(&[("client_id", "demo-cli"), ("scope", "openid products:read")])
            .send()
            .await
            .unwrap();
        let (status, started) = json_of(started).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let device_code = text(&started, "device_code");
        let page = svc
            .http
            .get(svc.api(B, "/device"))
            .query(&[("user_code", text(&started, "user_code"))])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = Page::read(page).await;
        let answer = svc
            .post_form(
                A,
                "/device",
                &page,
                &[
                    ("username", "user0"),
                    ("password", "password0"),
                    ("decision", "allow"),
                ],
            )
            .await;
        assert_eq!(answer.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let poll = |at: At| {
            let http = svc.http.clone();
            let url = svc.api(at, "/token");
            let device_code = device_code.clone();
            tokio::spawn(async move {
                let answer = http
                    .post(url)
                    .form(&[
                        ("grant_type", GRANT),
                        ("client_id", "demo-cli"),
                        ("device_code", &device_code),
                    ])
                    .send()
                    .await
                    .unwrap();
                let (status, body) = json_of(answer).await;
                (at, status, body)
            })
        };
        let mut polled = Vec::new();
        for task in [poll(A), poll(B), poll(B), poll(A)] {
            polled.push(join(task).await);
        }
        let outcomes: Vec<(At, StatusCode, String)> = polled
            .iter()
            .map(|(at, status, body)| {
                (
                    *at,
                    *status,
                    body["error"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let issued = polled
            .iter()
            .filter(|(_, status, _)| *status == StatusCode::OK)
            .count();
        assert_eq!(issued, 1, "round {round}: {outcomes:?}");
        for (_, status, body) in polled.iter().filter(|(_, s, _)| *s != StatusCode::OK) {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
        println!("multi: an allowed device code polled at both instances: {outcomes:?}");
    }
}

/// The codes of several logins, each presented twice at A and twice at B at the same
/// moment: at most one presentation per code gets tokens, wherever it lands, and every other
/// is `invalid_grant`. (A presentation that arrives while the first is still being answered
/// makes that one refused too, so a code may yield nothing at all: the replay case below.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemptions_at_both_instances_yield_one_token_at_most() {
    let (svc, _instances) = two_instances(&[]).await;
    let statuses = redeem_concurrently(&svc, 4).await;
    for (code, statuses) in statuses.iter().enumerate() {
        let ok = statuses
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::OK)
            .count();
        assert!(ok <= 1, "code {code}: {statuses:?}");
        for (_, status, body) in statuses.iter().filter(|(_, s, _)| *s != StatusCode::OK) {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
        // The other three presentations were replays: what the one success got is revoked.
        if let Some((_, _, tokens)) = statuses.iter().find(|(_, s, _)| *s == StatusCode::OK) {
            let access = text(tokens, "access_token");
            for at in [A, B] {
                let accepted = format!("code {code} at {at:?}: a replayed code's token is live");
                refused_within_delay(&svc, at, &access, Instant::now(), &accepted).await;
            }
        }
    }
    let winners: Vec<Option<At>> = statuses
        .iter()
        .map(|s| {
            s.iter()
                .find(|(_, s, _)| *s == StatusCode::OK)
                .map(|(at, _, _)| *at)
        })
        .collect();
    println!(
        "multi: concurrent redemptions, instance of each code's success (if any): {winners:?}"
    );
}

/// README: "a replay, even a concurrent one, gets `invalid_grant` and revokes what the code
/// produced". Each code is presented four times at once across both instances: whatever one
/// presentation was given, the replays make it worthless at both instances, whether they
/// arrived after its grant was stored (and revoked it) or while it was being written (and it
/// issued nothing: `Db::create_grant` and the replay take turns on the code's row).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_replay_at_the_other_instance_revokes_what_the_code_produced() {
    let (svc, _instances) = two_instances(&[]).await;
    let rounds = redeem_concurrently(&svc, 6).await;
    let mut still_valid = Vec::new();
    let mut issued = 0;
    for (code, statuses) in rounds.iter().enumerate() {
        let Some((winner, _, tokens)) = statuses.iter().find(|(_, s, _)| *s == StatusCode::OK)
        else {
            let refused_during = statuses.iter().any(|(_, _, body)| {
                body["error_description"]
                    .as_str()
                    .is_some_and(|d| d.contains("nothing was issued"))
            });
            assert!(
                refused_during,
                "code {code}: no success, so a replay must have overlapped the first \
                 presentation: {statuses:?}"
            );
            continue;
        };
        issued += 1;
        let access = text(tokens, "access_token");
        // Each instance learns of the other's revocations within REVOCATION_DELAY.
        tokio::time::sleep(REVOCATION_DELAY).await;
        for at in [A, B] {
            if svc.whoami(at, &access).await.status() == StatusCode::OK {
                still_valid.push((code, *winner, at));
            }
        }
    }
    println!(
        "multi: concurrent replays: {issued} of {} codes issued tokens before their replay, the \
         others nothing",
        rounds.len()
    );
    assert!(
        still_valid.is_empty(),
        "every code was replayed concurrently, yet the token its first redemption produced \
         was still accepted (code, instance that redeemed it, instance that accepted it): \
         {still_valid:?}"
    );
}

/// `codes` logins (pages and passwords alternating between A and B); then, one code at a
/// time, the code sent to A and to B at the same moment, twice each. Per code: (instance,
/// status, body) of each answer.
async fn redeem_concurrently(svc: &Service, codes: usize) -> Vec<Vec<(At, StatusCode, Value)>> {
    let mut per_code = Vec::new();
    for i in 0..codes {
        let login = Login::new(SPA, OFFLINE);
        let steps = [At::alternating(i), At::alternating(i + 1)];
        let code = svc.code(steps, &login, "user0", "password0").await;
        let (login, code) = (&login, &code);
        let redeem = |at| async move {
            let (status, body) = json_of(svc.redeem(at, login, code).await).await;
            (at, status, body)
        };
        let (a1, b1, a2, b2) = tokio::join!(redeem(A), redeem(B), redeem(A), redeem(B));
        per_code.push(vec![a1, b1, a2, b2]);
    }
    per_code
}

// 3. Refresh tokens -----------------------------------------------------------------------

/// One refresh token presented eight times at once, alternating between the instances:
/// exactly one rotation, and the other presentations are reuse, which ends the login
/// everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_across_instances_rotate_once_and_end_the_login() {
    let (svc, _instances) = two_instances(&[]).await;
    for round in 0..3 {
        let tokens = svc.log_in([A, B, A], OFFLINE, "user0", "password0").await;
        let presented = text(&tokens, "refresh_token");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (svc, token) = (svc.clone(), presented.clone());
            tasks.spawn(async move {
                let at = At::alternating(i);
                let (status, body) = json_of(svc.refresh(at, &token).await.unwrap()).await;
                (at, status, body)
            });
        }
        let answers = tasks.join_all().await;
        let successes: Vec<_> = answers
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::OK)
            .collect();
        assert_eq!(successes.len(), 1, "round {round}: {answers:?}");
        for (_, status, body) in answers.iter().filter(|(_, s, _)| *s != StatusCode::OK) {
            assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(body["error"], "invalid_grant", "{body}");
        }
        let (winner, _, rotated) = successes[0];
        let next = text(rotated, "refresh_token");
        let access = text(rotated, "access_token");
        for at in [A, B] {
            expect_invalid_grant(json_of(svc.refresh(at, &next).await.unwrap()).await, None);
            let accepted = "the token of a reused refresh token's family is live";
            refused_within_delay(&svc, at, &access, Instant::now(), accepted).await;
        }

        let stored = svc
            .db
            .refresh_token(&sha256_hex(&presented))
            .await
            .unwrap()
            .unwrap();
        assert!(stored.used_at.is_some());
        let grant = svc.db.grant(&stored.grant_id).await.unwrap().unwrap();
        assert!(grant.revoked_at.is_some(), "reuse revoked the login");
        let family = svc
            .db
            .grant_families()
            .await
            .unwrap()
            .into_iter()
            .find(|f| f.grant_id == stored.grant_id)
            .unwrap();
        assert_eq!(
            family.refresh_tokens, 2,
            "the presented token and exactly one successor"
        );
        println!(
            "multi: round {round}: of 8 concurrent refreshes, the one success was at {winner:?}"
        );
    }
}

// 4. Revocation ---------------------------------------------------------------------------

/// How often the instances of these tests read the revocation list.
const REVOCATION_SYNC_MS: u64 = 250;

/// The longest an instance may go on accepting a token another instance revoked: each
/// instance holds the revocation list in memory and reads what was added every
/// `REVOCATION_SYNC_MS`; one that could not read it for twice that, plus half a second, asks the
/// database per token instead (`storage::Db::token_status`).
const REVOCATION_DELAY: Duration = Duration::from_millis(2 * REVOCATION_SYNC_MS + 500);

/// Sends `token` to `at`'s `/api/whoami` until it is refused as revoked, which must happen
/// within [`REVOCATION_DELAY`] of `since` (plus a second for requests slowed down by a busy
/// machine; `accepted` says what an acceptance past that would mean); how long it took.
async fn refused_within_delay(
    svc: &Service,
    at: At,
    token: &str,
    since: Instant,
    accepted: &str,
) -> Duration {
    loop {
        let r = svc.whoami(at, token).await;
        let took = since.elapsed();
        if r.status() != StatusCode::OK {
            let why = expect_invalid_token(r).await;
            assert!(why.contains("revoked"), "{why}");
            return took;
        }
        assert!(
            took < REVOCATION_DELAY + Duration::from_secs(1),
            "{accepted}, {} ms after the revocation was sent",
            took.as_millis()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The instance that revoked a token refuses it with the very next request.
async fn refused_at_once(svc: &Service, at: At, token: &str, accepted: &str) {
    let r = svc.whoami(at, token).await;
    assert_ne!(r.status(), StatusCode::OK, "{accepted}");
    let why = expect_invalid_token(r).await;
    assert!(why.contains("revoked"), "{why}");
}

/// Instances keep clients in memory for one revocation read interval. A secret rotated at one
/// works at the other at once (a secret that does not match the copy there sends it to the
/// database), and the old one is refused there within the delay, as a revocation is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_rotated_at_one_instance_works_at_the_other_at_once() {
    let (svc, instances) = two_instances(&[]).await;
    let admin = admin_api_token(instances.site(B)).await;
    // Both instances hold demo-service in memory now.
    svc.service_token(A).await;
    svc.service_token(B).await;

    let rotated = svc
        .http
        .post(svc.api(A, "/admin/clients/demo-service/secret"))
        .header("authorization", format!("Token {admin}"))
        .send()
        .await
        .unwrap();
    let since = Instant::now();
    let (status, body) = json_of(rotated).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let secret = text(&body, "client_secret");

    let (status, body) = json_of(svc.client_credentials(B, &secret).await).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the new secret at the other instance: {body}"
    );
    let (status, body) = json_of(svc.client_credentials(A, SERVICE_SECRET).await).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old one where it was rotated: {body}"
    );
    let within = REVOCATION_DELAY + Duration::from_secs(1);
    wait_for(
        since,
        within,
        "the old secret refused at the other instance",
        || async {
            svc.client_credentials(B, SERVICE_SECRET).await.status() == StatusCode::UNAUTHORIZED
        },
    )
    .await;
    let (status, _) = json_of(svc.client_credentials(A, &secret).await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_at_one_instance_is_refused_at_the_other_within_the_delay() {
    let (svc, _instances) = two_instances(&[]).await;

    // An access token revoked at A's /revoke, presented to A and then to B.
    let tokens = svc.log_in([A, A, A], OFFLINE, "user0", "password0").await;
    let access = text(&tokens, "access_token");
    assert_eq!(svc.whoami(B, &access).await.status(), StatusCode::OK);
    let sent = Instant::now();
    assert_eq!(
        svc.revoke(A, &access, "access_token").await.status(),
        StatusCode::OK
    );
    refused_at_once(&svc, A, &access, "A accepted a token it had just revoked").await;
    let took = refused_within_delay(
        &svc,
        B,
        &access,
        sent,
        "B still accepted a token A had revoked",
    )
    .await;
    println!(
        "multi: access token revoked at A: refused by B {} ms after the revocation was sent \
         (promised: within {} ms)",
        took.as_millis(),
        REVOCATION_DELAY.as_millis()
    );

    // A logout at B (its refresh token revoked) ends the login's access token at A.
    let tokens = svc.log_in([B, B, B], OFFLINE, "user0", "password0").await;
    let access = text(&tokens, "access_token");
    assert_eq!(svc.whoami(A, &access).await.status(), StatusCode::OK);
    let sent = Instant::now();
    let logout = svc
        .revoke(B, &text(&tokens, "refresh_token"), "refresh_token")
        .await;
    assert_eq!(logout.status(), StatusCode::OK);
    refused_at_once(
        &svc,
        B,
        &access,
        "B accepted the access token of a login it ended",
    )
    .await;
    let took = refused_within_delay(
        &svc,
        A,
        &access,
        sent,
        "A still accepted the access token of a login ended at B",
    )
    .await;
    println!(
        "multi: logout at B: the login's access token refused by A {} ms after the logout was \
         sent",
        took.as_millis()
    );
    let refreshed = svc.refresh(A, &text(&tokens, "refresh_token")).await;
    expect_invalid_grant(json_of(refreshed.unwrap()).await, None);

    // A user disabled through A's admin API: their token refused at B.
    let admin = svc
        .log_in([B, B, B], "openid admin", "admin", "admin-password")
        .await;
    let admin = text(&admin, "access_token");
    let user1 = svc.log_in([A, B, A], OFFLINE, "user1", "password1").await;
    let access = text(&user1, "access_token");
    assert_eq!(svc.whoami(B, &access).await.status(), StatusCode::OK);
    let id = svc.db.user_by_username("user1").await.unwrap().unwrap().id;
    let sent = Instant::now();
    let disabled = svc
        .http
        .patch(svc.api(A, &format!("/admin/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(disabled).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["disabled"], true, "{body}");
    refused_at_once(
        &svc,
        A,
        &access,
        "A accepted the token of a user it disabled",
    )
    .await;
    let took = refused_within_delay(
        &svc,
        B,
        &access,
        sent,
        "B still accepted the token of a user disabled at A",
    )
    .await;
    println!(
        "multi: user disabled at A: their access token refused by B {} ms after the change was \
         sent",
        took.as_millis()
    );
    let refreshed = svc.refresh(B, &text(&user1, "refresh_token")).await;
    expect_invalid_grant(json_of(refreshed.unwrap()).await, None);
}

// 5. Rate limits --------------------------------------------------------------------------

/// The allowances are the service's: alternating between the instances gains nothing. Each
/// limit is exercised from addresses of its own (127.0.0.0/8), so that one limit's count is
/// not another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_counted_across_instances() {
    let (svc, _instances) = two_instances(&[
        ("LOGIN_FAILURES_PER_USER", "4/300"),
        ("LOGIN_ATTEMPTS_PER_ADDRESS", "5/300"),
        ("CLIENT_AUTH_FAILURES_PER_CLIENT", "3/60"),
    ])
    .await;
    let try_login = |svc: Service, at: At, username: &'static str, password: &'static str| async move {
        let login = Login::new(SPA, "openid");
        let page = svc.authorize(at, &login).await;
        svc.submit_login(at, &page, username, password).await
    };

    // Failed logins per user: four wrong passwords for user0, A, B, A, B, each from another
    // address; then the right one, at either instance, is throttled.
    for i in 0..4_u8 {
        let r = try_login(
            svc.seen_from([127, 0, 0, 10 + i]),
            At::alternating(i.into()),
            "user0",
            "wrong",
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK, "attempt {i}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Invalid username or password")
        );
    }
    for (at, address) in [(A, 20), (B, 21)] {
        let r = try_login(
            svc.seen_from([127, 0, 0, address]),
            at,
            "user0",
            "password0",
        )
        .await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "user0 at {at:?}");
        assert!(retry_after(&r) >= 1);
        assert!(r.text().await.unwrap().contains("Too many login attempts"));
    }
    let r = try_login(svc.seen_from([127, 0, 0, 22]), B, "user1", "password1").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "other users are not held up"
    );
    let failed = svc.events_of("login_failed", 4).await;
    assert_eq!(failed.len(), 4, "the two throttled attempts were not tried");

    // Login attempts per address: five from one address, A, B, A, B, A (each for another
    // username); the sixth, at either instance, is throttled.
    let crowded = svc.seen_from([127, 0, 0, 30]);
    for (i, username) in ["nobody0", "nobody1", "nobody2", "nobody3", "nobody4"]
        .into_iter()
        .enumerate()
    {
        let r = try_login(crowded.clone(), At::alternating(i), username, "guess").await;
        assert_eq!(r.status(), StatusCode::OK, "attempt {i}");
    }
    for at in [B, A] {
        let r = try_login(crowded.clone(), at, "user1", "password1").await;
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "address at {at:?}"
        );
        assert!(retry_after(&r) >= 1);
    }
    let r = try_login(svc.seen_from([127, 0, 0, 31]), A, "user1", "password1").await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "other addresses are not held up"
    );

    // Failed client authentications per client (from one address): three wrong secrets, A, B,
    // A; then the right secret, at either instance, is throttled.
    let guesser = svc.seen_from([127, 0, 0, 40]);
    for i in 0..3 {
        let (status, body) = json_of(
            guesser
                .client_credentials(At::alternating(i), "wrong")
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
    for at in [B, A] {
        let r = guesser.client_credentials(at, SERVICE_SECRET).await;
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "client at {at:?}"
        );
        assert!(retry_after(&r) >= 1);
        let (_, body) = json_of(r).await;
        assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    }
    let elsewhere = svc.seen_from([127, 0, 0, 41]);
    assert_eq!(
        elsewhere
            .client_credentials(A, SERVICE_SECRET)
            .await
            .status(),
        StatusCode::OK,
        "the client is not locked out from other addresses"
    );
    assert_eq!(svc.events_of("client_auth_failed", 3).await.len(), 3);
}

// 6. Backend-for-frontend sessions --------------------------------------------------------

impl Service {
    /// A request of the app's page to the backend-for-frontend at `at`, with the session.
    fn bff(&self, at: At, method: Method, path: &str, session: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.app(at, path))
            .header(COOKIE, format!("session={session}"))
    }

    async fn bff_session(&self, at: At, session: &str) -> Response {
        self.bff(at, Method::GET, "/bff/session", session)
            .send()
            .await
            .unwrap()
    }

    /// MVC login: `/bff/login` at `steps[0]`, the authorization server's login form (at the
    /// issuer's address, which the balancer routes) at `steps[1]`, the callback at `steps[2]`.
    /// Returns the session cookie's value.
    async fn bff_login(&self, steps: [At; 3]) -> String {
        let start = self
            .http
            .get(self.app(steps[0], "/bff/login?return_to=/orders"))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
        let login_cookie = set_cookie(&start, "bff_login").expect("the login cookie");
        let authorize = routed(&location(&start), &self.issuer, &self.api[steps[1].index()]);
        let page = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = Page::read(page).await;
        let answer = self
            .submit_login(steps[1], &page, "user0", "password0")
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let callback = routed(
            &location(&answer),
            &self.app_url,
            &self.app[steps[2].index()],
        );
        assert!(callback.contains("/bff/callback?"), "{callback}");
        let done = self
            .http
            .get(&callback)
            .header(COOKIE, format!("bff_login={login_cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "{:?}", done.headers());
        assert_eq!(location(&done), "/orders");
        set_cookie(&done, "session").expect("a session cookie")
    }
}

fn grant_types(info: &Value) -> Vec<String> {
    info["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["status"], 200, "{e}");
            text(e, "grant_type")
        })
        .collect()
}

/// How many renewals (refresh-token exchanges) a `/bff/session` answer lists.
fn refreshes_in(info: &Value) -> usize {
    grant_types(info)
        .iter()
        .filter(|g| *g == "refresh_token")
        .count()
}

/// A session started at one instance is the service's: it is used at both, its access token
/// is renewed once however its concurrent calls are spread (the renewal lease is a row in the
/// database, not a lock in one process), and a logout at one ends it at the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_for_frontend_session_works_through_both_instances() {
    let (svc, _instances) = two_instances(&[
        ("APP_MODE", "mvc"),
        // Renewed when 30 s or less are left: due 5 s after each login or refresh.
        ("ACCESS_TOKEN_TTL", "35"),
    ])
    .await;
    let session = svc.bff_login([A, A, B]).await;

    let mut csrf = BTreeSet::new();
    let mut subjects = BTreeSet::new();
    for i in 0..4 {
        let at = At::alternating(i);
        let (status, info) = json_of(svc.bff_session(at, &session).await).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        csrf.insert(text(&info, "csrf_token"));
        subjects.insert(text(&info["claims"], "sub"));
        assert_eq!(info["claims"]["client_id"], BFF);
        let products = svc
            .bff(at, Method::GET, "/bff/api/products", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(products.status(), StatusCode::OK);
        assert_eq!(products.json::<Vec<Value>>().await.unwrap().len(), 14);
    }
    assert_eq!(
        (csrf.len(), subjects.len()),
        (1, 1),
        "one session, seen the same by both"
    );
    let csrf = csrf.pop_first().unwrap();
    for (i, at) in [A, B].into_iter().enumerate() {
        let placed = svc
            .bff(at, Method::POST, "/bff/api/orders", &session)
            .header(CSRF, &csrf)
            .header("origin", &svc.app_url)
            .json(&json!({ "product_id": i + 1, "quantity": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(placed.status(), StatusCode::CREATED, "order at {at:?}");
    }

    // On a slow machine the steps above may outlast the 5 s, and a renewal may have happened
    // already: the burst below is judged by what it adds.
    let (_, info) = json_of(svc.bff_session(B, &session).await).await;
    let renewals_before = refreshes_in(&info);
    let row = svc
        .db
        .bff_session(&sha256_hex(&session))
        .await
        .unwrap()
        .expect("the session is stored");
    let due_at = row.access_expires_at.unix() - 30;
    let waited = Instant::now();
    while Clock::system().now().unix() < due_at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "multi: waited {} ms for the session's access token to be due for renewal",
        waited.elapsed().as_millis()
    );

    let mut calls = tokio::task::JoinSet::new();
    for i in 0..8 {
        let call = svc
            .bff(At::alternating(i), Method::GET, "/bff/api/orders", &session)
            .send();
        calls.spawn(async move {
            let r = call.await.unwrap();
            (r.status(), r.text().await.unwrap())
        });
    }
    for (status, body) in calls.join_all().await {
        assert_eq!(status, StatusCode::OK, "{body}");
        let orders: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert_eq!(orders.len(), 2);
    }
    let (_, info) = json_of(svc.bff_session(A, &session).await).await;
    assert_eq!(grant_types(&info)[0], "authorization_code");
    assert_eq!(
        refreshes_in(&info),
        renewals_before + 1,
        "exactly one renewal for eight concurrent calls on two instances: {:?}",
        grant_types(&info)
    );
    let query = EventQuery {
        kind: Some("token_issued".into()),
        client_id: Some(BFF.into()),
        ..Default::default()
    };
    let issued = svc.events(query, 2 + renewals_before).await;
    let refreshes = issued
        .iter()
        .filter(|e| e.detail.starts_with("refresh_token"))
        .count();
    assert_eq!(
        (issued.len(), refreshes),
        (2 + renewals_before, 1 + renewals_before),
        "{issued:?}"
    );

    let logout = svc
        .bff(B, Method::POST, "/bff/logout", &session)
        .header(CSRF, &csrf)
        .header("origin", &svc.app_url)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        svc.bff_session(A, &session).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let products = svc
        .bff(A, Method::GET, "/bff/api/products", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), StatusCode::UNAUTHORIZED);
    assert!(
        svc.db
            .bff_session(&sha256_hex(&session))
            .await
            .unwrap()
            .is_none()
    );
    let query = EventQuery {
        kind: Some("token_revoked".into()),
        client_id: Some(BFF.into()),
        ..Default::default()
    };
    assert_eq!(
        svc.events(query, 1).await.len(),
        1,
        "the logout revoked the login at the authorization server"
    );
}

// 7. Signing keys -------------------------------------------------------------------------

/// How often an instance reloads its keys on its own with the default `JWKS_MAX_AGE` (3600 s):
/// `min(JWKS_MAX_AGE, 60 s)`, the first reload one interval after its start.
const RELOAD: Duration = Duration::from_secs(60);
/// How soon an instance must apply a key change announced by PostgreSQL (`NOTIFY` on the
/// transaction's commit), a loaded two-core machine included. Far shorter than [`RELOAD`], so
/// a change seen in time was seen through the notification, not the periodic reload.
const NOTIFIED_WITHIN: Duration = Duration::from_secs(3);

/// The stored `(current, next)` kids of the access tokens' algorithm (ES256).
async fn current_and_next(svc: &Service) -> (String, String) {
    let keys = svc.db.signing_keys("").await.unwrap();
    let of = |state| {
        let mut it = keys
            .iter()
            .filter(|k| k.state == state && k.alg == shared::admin::SigningAlg::Es256);
        let kid = it.next().unwrap().kid.clone();
        assert!(it.next().is_none(), "one {state:?} key");
        kid
    };
    (of(KeyState::Current), of(KeyState::Next))
}

/// Waits until `at` publishes `next` and signs with `current`; how long after `since` each
/// held. The deadline is [`NOTIFIED_WITHIN`]: only the notification can be that quick.
async fn sees_rotation(
    svc: &Service,
    at: At,
    current: &str,
    next: &str,
    since: Instant,
) -> (Duration, Duration) {
    let within = NOTIFIED_WITHIN;
    let published = wait_for(since, within, "the new next key published", || async {
        kids(&svc.jwks(at).await).contains(next)
    })
    .await;
    let signing = wait_for(since, within, "signing with the promoted key", || async {
        kid_of(&svc.service_token(at).await) == current
    })
    .await;
    (published, signing)
}

/// A rotation by one instance (or the command line) reaches the other through PostgreSQL's
/// notification, within [`NOTIFIED_WITHIN`]: it publishes the new next key and signs with the
/// promoted one. The instances keep the default reload interval ([`RELOAD`], a minute), and the
/// test is over well before their first reload, so a broken listener fails it. Tokens the old
/// key signed stay valid everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_at_one_instance_is_picked_up_by_the_other() {
    let started = Instant::now();
    let (svc, instances) = two_instances(&[]).await;
    let admin = admin_api_token(instances.site(B)).await;
    let (first, second) = current_and_next(&svc).await;
    let old = svc.service_token(B).await;
    assert_eq!(kid_of(&old), first);

    let rotated = svc
        .http
        .post(svc.api(A, "/admin/keys/rotate"))
        .header("authorization", format!("Token {admin}"))
        .json(&json!({ "force": true }))
        .send()
        .await
        .unwrap();
    let rotated_at = Instant::now();
    let (status, body) = json_of(rotated).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (current, third) = current_and_next(&svc).await;
    assert_eq!(current, second, "the next key was promoted");
    assert_eq!(
        kid_of(&svc.service_token(A).await),
        second,
        "A signs with it at once"
    );
    assert!(kids(&svc.jwks(A).await).contains(&third));

    let (published, signing) = sees_rotation(&svc, B, &second, &third, rotated_at).await;
    println!(
        "multi: rotation through A's admin API: B published the new next key {} ms and signed \
         with the promoted key {} ms after A answered (notified; reload interval {} ms)",
        published.as_millis(),
        signing.as_millis(),
        RELOAD.as_millis()
    );
    assert_eq!(svc.jwks(A).await, svc.jwks(B).await);
    for at in [A, B] {
        assert_eq!(
            svc.whoami(at, &old).await.status(),
            StatusCode::OK,
            "a token of the retired key is still accepted at {at:?}"
        );
    }
    let from_b = svc.service_token(B).await;
    assert_eq!(svc.whoami(A, &from_b).await.status(), StatusCode::OK);

    // The command line (another process on the same database), run on B's settings.
    let mut command = instances.site(B).command();
    command.args(["keys", "rotate", "--force"]);
    let output = blocking(move || command.output().unwrap()).await;
    let ran_at = Instant::now();
    assert!(
        output.status.success(),
        "backend keys rotate: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (current, fourth) = current_and_next(&svc).await;
    assert_eq!(current, third);
    for at in [A, B] {
        let (published, signing) = sees_rotation(&svc, at, &third, &fourth, ran_at).await;
        println!(
            "multi: rotation on the command line: {at:?} published the new next key {} ms and \
             signed with the promoted key {} ms after the command ended",
            published.as_millis(),
            signing.as_millis()
        );
    }
    assert_eq!(svc.jwks(A).await, svc.jwks(B).await);
    for at in [A, B] {
        assert_eq!(svc.whoami(at, &old).await.status(), StatusCode::OK);
        assert_eq!(svc.whoami(at, &from_b).await.status(), StatusCode::OK);
    }
    // Had the instances reloaded on their own meanwhile, the deadlines above proved nothing.
    assert!(
        started.elapsed() < RELOAD,
        "the test took {} ms, past the instances' first periodic reload: it did not prove \
         the notifications",
        started.elapsed().as_millis()
    );
}

/// An authorization server created through one instance is served by the other within
/// [`NOTIFIED_WITHIN`] (creating it stores its keys, and PostgreSQL announces that): the other
/// issues its tokens, and each instance accepts the other's; its access policies changed
/// through one decide the other's next token request. Deleted through the other instance, its
/// tokens are refused by both as soon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_server_created_at_one_instance_is_served_by_the_other() {
    let started = Instant::now();
    let (svc, instances) = two_instances(&[]).await;
    let admin = admin_api_token(instances.site(B)).await;
    let created = svc
        .http
        .post(svc.api(A, "/admin/servers"))
        .header("authorization", format!("Token {admin}"))
        .json(&json!({"id": "shared", "name": "Shared", "audience": "api://default", "signing_alg": "EdDSA"}))
        .send()
        .await
        .unwrap();
    let created_at = Instant::now();
    let (status, body) = json_of(created).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Its scopes, set through B (read per request, from the database, at every instance).
    let scopes = svc
        .http
        .put(svc.api(B, "/admin/servers/shared/scopes"))
        .header("authorization", format!("Token {admin}"))
        .json(&json!({"scopes": [{"name": "products:read", "description": "The catalogue"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(scopes.status(), StatusCode::OK);
    let token_at = |at| {
        svc.http
            .post(svc.api(at, "/oauth2/shared/v1/token"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
    };
    let from_a = text(&json_of(token_at(A).await.unwrap()).await.1, "access_token");
    let served = wait_for(
        created_at,
        NOTIFIED_WITHIN,
        "B serving the new server",
        || async { token_at(B).await.unwrap().status() == StatusCode::OK },
    )
    .await;
    println!(
        "multi: an authorization server created at A was served by B {} ms after A answered",
        served.as_millis()
    );
    let from_b = text(&json_of(token_at(B).await.unwrap()).await.1, "access_token");
    for (token, at) in [(&from_a, B), (&from_b, A), (&from_a, A), (&from_b, B)] {
        assert_eq!(
            svc.whoami(at, token).await.status(),
            StatusCode::OK,
            "{at:?}"
        );
    }
    // Its access policies are read per token request: a change through A decides B's very
    // next answer.
    let closed = svc
        .http
        .put(svc.api(A, "/admin/servers/shared/policies"))
        .header("authorization", format!("Token {admin}"))
        .json(&json!({"policies": [{"name": "Closed", "rules": [{"name": "Nobody", "decision": "deny"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::OK);
    let (status, body) = json_of(token_at(B).await.unwrap()).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("unauthorized_client")),
        "{body}"
    );
    assert!(
        text(&body, "error_description").starts_with("policy \"Closed\", rule \"Nobody\""),
        "{body}"
    );

    let deleted = svc
        .http
        .delete(svc.api(B, "/admin/servers/shared"))
        .header("authorization", format!("Token {admin}"))
        .send()
        .await
        .unwrap();
    let deleted_at = Instant::now();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for at in [A, B] {
        wait_for(
            deleted_at,
            NOTIFIED_WITHIN,
            "the deleted server's tokens refused",
            || async {
                svc.whoami(at, &from_a).await.status() == StatusCode::UNAUTHORIZED
                    && svc.whoami(at, &from_b).await.status() == StatusCode::UNAUTHORIZED
            },
        )
        .await;
    }
    assert!(
        started.elapsed() < RELOAD,
        "the test took {} ms, past the instances' first periodic reload: it did not prove \
         the notifications",
        started.elapsed().as_millis()
    );
}

// 8. The login's state ----------------------------------------------------------------------

/// Nothing of a login lives in one process: the anti-forgery cookie travels with the browser
/// and the consent ticket is stored, so each step may land on either instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_with_consent_goes_on_whichever_instance_answers() {
    let (svc, _instances) = two_instances(&[]).await;
    let login = Login::new(PARTNER, "openid profile orders:read");
    let page = svc.authorize(A, &login).await;
    let consent = svc.submit_login(B, &page, "user0", "password0").await;
    assert_eq!(
        consent.status(),
        StatusCode::OK,
        "the consent screen, from B"
    );
    let mut consent_page = Page::read(consent).await;
    // The browser keeps the login page's cookie, and adds any the consent page set.
    consent_page.cookie = [page.cookie.as_str(), consent_page.cookie.as_str()]
        .into_iter()
        .filter(|c| !c.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    assert!(
        consent_page.fields.iter().any(|(name, _)| name == "ticket"),
        "the consent form carries its ticket: {:?}",
        consent_page.fields
    );
    let answer = svc
        .post_form(
            A,
            "/authorize/consent",
            &consent_page,
            &[("decision", "allow")],
        )
        .await;
    let code = svc.code_from(&answer, &login);
    let (status, tokens) = json_of(svc.redeem(B, &login, &code).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid orders:read profile");
    assert_eq!(tokens["expires_in"], 300, "the partner's own lifetime");
    let (status, me) = json_of(svc.whoami(A, &text(&tokens, "access_token")).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["client_id"], PARTNER);

    // The answer is remembered by the service: the next login, page at B and password at A,
    // skips the screen.
    let again = Login::new(PARTNER, "openid profile orders:read");
    let code = svc.code([B, A], &again, "user0", "password0").await;
    assert_eq!(svc.redeem(A, &again, &code).await.status(), StatusCode::OK);
    assert_eq!(svc.events_of("consent_granted", 1).await.len(), 1);
}

// 9. An instance dies ---------------------------------------------------------------------

/// Where the load is in the test, as every worker sees it.
#[derive(Default)]
struct Phase {
    /// Set just before A is killed: from then on a request to A may fail.
    dying: AtomicBool,
    /// Set once A is gone: a request sent to A from then on never reached a live process.
    dead: AtomicBool,
    stop: AtomicBool,
}

impl Phase {
    fn get(flag: &AtomicBool) -> bool {
        flag.load(Ordering::SeqCst)
    }
}

/// Places orders, alternating between the instances, until told to stop. Like a balancer, it
/// takes A out of rotation once a request to it has failed.
struct OrderLoad {
    svc: Service,
    token: String,
    phase: Arc<Phase>,
    seed: u64,
}

#[derive(Default)]
struct OrderRun {
    /// Product, quantity, and the order as the server acknowledged it.
    acked: Vec<(i64, i64, Value)>,
    /// Sent to A before it was gone, and never answered: may or may not have been stored.
    cut: u64,
    /// Sent to A after it was gone.
    refused: u64,
    /// Acknowledged by B after A was gone.
    after_kill: u64,
}

impl OrderLoad {
    async fn run(self) -> OrderRun {
        let mut run = OrderRun::default();
        let mut i = 0;
        let mut a_down = false;
        while !Phase::get(&self.phase.stop) {
            let at = if a_down { B } else { At::alternating(i) };
            i += 1;
            let dead = Phase::get(&self.phase.dead);
            let n = self.seed.wrapping_mul(31).wrapping_add(i as u64);
            let (product, quantity) = ((n % 14 + 1) as i64, (n % 97 + 1) as i64);
            let sent = self
                .svc
                .http
                .post(self.svc.api(at, "/api/orders"))
                .header("authorization", format!("Token {}", self.token))
                .json(&json!({ "product_id": product, "quantity": quantity }))
                .send()
                .await;
            let answer = match sent {
                Ok(r) => Ok((r.status(), r.json::<Value>().await)),
                Err(e) => Err(e),
            };
            match answer {
                Ok((StatusCode::CREATED, Ok(order))) => {
                    run.after_kill += u64::from(dead && at == B);
                    run.acked.push((product, quantity, order));
                }
                Ok((status, body)) => panic!("an order at {at:?} got {status}: {body:?}"),
                Err(e) => {
                    assert!(
                        at == A && Phase::get(&self.phase.dying),
                        "an order at {at:?} failed while that instance was alive: {e}"
                    );
                    if dead {
                        run.refused += 1;
                    } else {
                        run.cut += 1;
                    }
                    a_down = true;
                }
            }
        }
        run
    }
}

/// One login's refresh tokens, rotated alternately at A and B until told to stop (B only, once
/// a request to A has failed).
struct ChainLoad {
    svc: Service,
    token: String,
    phase: Arc<Phase>,
}

#[derive(Default)]
struct ChainRun {
    rotations: u64,
    /// Rotations at B after A was gone.
    after_kill: u64,
    /// Rotations sent to A before it was gone and never answered, that A had committed (the
    /// client's retry at B was reuse) and that it had not.
    cut_committed: u64,
    cut_uncommitted: u64,
    /// The newest refresh token, usable.
    last: String,
}

impl ChainLoad {
    async fn run(mut self) -> ChainRun {
        let mut run = ChainRun::default();
        let mut i = 0;
        let mut a_down = false;
        while !Phase::get(&self.phase.stop) {
            let at = if a_down { B } else { At::alternating(i) };
            i += 1;
            let dead = Phase::get(&self.phase.dead);
            let error = match self.svc.refresh(at, &self.token).await {
                Ok(r) => {
                    let (status, body) = json_of(r).await;
                    assert_eq!(status, StatusCode::OK, "a refresh at {at:?}: {body}");
                    self.token = text(&body, "refresh_token");
                    run.rotations += 1;
                    run.after_kill += u64::from(dead && at == B);
                    continue;
                }
                Err(e) => e,
            };
            assert!(
                at == A && Phase::get(&self.phase.dying),
                "a refresh at {at:?} failed while that instance was alive: {error}"
            );
            a_down = true;
            // No answer: the client retries at B. If A had committed the rotation, the retry
            // is a second use of the token, refused, and the login is over (the client logs in
            // again, at B); the database says which it was.
            let retry = self.svc.refresh(B, &self.token).await.unwrap();
            if retry.status() == StatusCode::OK {
                let (_, body) = json_of(retry).await;
                self.token = text(&body, "refresh_token");
                run.rotations += 1;
                run.after_kill += u64::from(Phase::get(&self.phase.dead));
                run.cut_uncommitted += u64::from(!dead);
                continue;
            }
            assert!(!dead, "a refresh sent to A after it was gone was committed");
            expect_invalid_grant(json_of(retry).await, Some("already used"));
            let stored = self
                .svc
                .db
                .refresh_token(&sha256_hex(&self.token))
                .await
                .unwrap()
                .unwrap();
            assert!(stored.used_at.is_some() && stored.revoked_at.is_some());
            run.cut_committed += 1;
            let tokens = self
                .svc
                .log_in([B, B, B], OFFLINE, "user0", "password0")
                .await;
            self.token = text(&tokens, "refresh_token");
        }
        run.last = self.token;
        run
    }
}

/// One instance is killed (SIGKILL) under write load spread over both; the other serves every
/// request throughout, and every acknowledged write is stored exactly as acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_one_instance_dies_the_other_serves_and_no_acknowledged_write_is_lost() {
    let (svc, mut instances) = two_instances(&[]).await;
    let command = instances.site(A).command();
    let token = blocking(move || {
        process::create_api_token(command, "user0", "multi-crash", "orders:read orders:write")
    })
    .await;
    let r = svc
        .http
        .get(svc.api(B, "/api/whoami"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    let (status, me) = json_of(r).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let owner = text(&me, "subject");

    let phase = Arc::new(Phase::default());
    let mut orders = Vec::new();
    for seed in 0..3 {
        let load = OrderLoad {
            svc: svc.clone(),
            token: token.clone(),
            phase: phase.clone(),
            seed,
        };
        orders.push(tokio::spawn(load.run()));
    }
    let mut chains = Vec::new();
    for steps in [[A, B, A], [B, A, B]] {
        let tokens = svc.log_in(steps, OFFLINE, "user0", "password0").await;
        let load = ChainLoad {
            svc: svc.clone(),
            token: text(&tokens, "refresh_token"),
            phase: phase.clone(),
        };
        chains.push(tokio::spawn(load.run()));
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    phase.dying.store(true, Ordering::SeqCst);
    instances.kill(A);
    phase.dead.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    phase.stop.store(true, Ordering::SeqCst);

    let mut acked: BTreeMap<i64, (i64, i64, Value)> = BTreeMap::new();
    let (mut cut, mut refused, mut after_kill) = (0, 0, 0);
    for task in orders {
        let run = join(task).await;
        cut += run.cut;
        refused += run.refused;
        after_kill += run.after_kill;
        for (product, quantity, order) in run.acked {
            let id = order["id"].as_i64().unwrap();
            assert!(
                acked.insert(id, (product, quantity, order)).is_none(),
                "order ids are unique"
            );
        }
    }
    let mut chain_runs = Vec::new();
    for task in chains {
        chain_runs.push(join(task).await);
    }
    assert!(after_kill > 0, "B took orders after A died");

    // Every acknowledged order is stored as acknowledged; the others are only the cut ones.
    let stored = svc.db.all_orders().await.unwrap();
    let mut unacked = 0;
    for row in &stored {
        let id = row.id;
        assert_eq!(row.owner, owner, "order {id}");
        assert_eq!(
            Some(row.unit_price_cents),
            row.product_price_cents,
            "order {id}"
        );
        let Some((product, quantity, order)) = acked.get(&id) else {
            unacked += 1;
            continue;
        };
        assert_eq!(
            (row.product_id, row.quantity),
            (*product, *quantity),
            "order {id}"
        );
        assert_eq!(order["product_id"], row.product_id, "order {id}");
        assert_eq!(order["quantity"], row.quantity, "order {id}");
        assert_eq!(
            order["unit_price_cents"], row.unit_price_cents,
            "order {id}"
        );
        assert_eq!(
            order["total_cents"],
            row.unit_price_cents * row.quantity,
            "order {id}"
        );
        assert_eq!(
            order["created_at"],
            row.created_at.rfc3339().as_str(),
            "order {id}"
        );
    }
    let ids: BTreeSet<i64> = stored.iter().map(|r| r.id).collect();
    let lost: Vec<&i64> = acked.keys().filter(|id| !ids.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged orders lost: {lost:?}");
    assert!(
        unacked <= cut,
        "{unacked} orders nobody acknowledged, but only {cut} requests were cut"
    );

    // ... and B lists them as acknowledged (its newest page).
    let r = svc
        .http
        .get(svc.api(B, "/api/orders"))
        .header("authorization", format!("Token {token}"))
        .send()
        .await
        .unwrap();
    let (status, listed) = json_of(r).await;
    assert_eq!(status, StatusCode::OK);
    let listed: BTreeMap<i64, Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_i64().unwrap(), o.clone()))
        .collect();
    let oldest = if listed.len() < ORDER_LIST_LIMIT {
        i64::MIN
    } else {
        *listed.keys().next().unwrap()
    };
    for (id, (_, _, order)) in acked.range(oldest..) {
        assert_eq!(
            listed.get(id),
            Some(order),
            "acknowledged order {id} as B lists it"
        );
    }

    // The refresh chains went on at B, and their newest tokens still work there.
    for (n, run) in chain_runs.iter().enumerate() {
        assert!(run.after_kill > 0, "chain {n} rotated at B after A died");
        let r = svc.refresh(B, &run.last).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "chain {n}'s newest token");
    }
    let sum = |f: fn(&ChainRun) -> u64| chain_runs.iter().map(f).sum::<u64>();
    println!(
        "multi: A killed under load: {} orders acknowledged ({after_kill} by B after the kill); \
         {cut} in flight at A when it died ({unacked} of them stored), {refused} sent to A \
         after; {} refresh-token rotations ({} at B after the kill); rotations in flight at A \
         when it died: {} committed (the retry at B was reuse), {} not",
        acked.len(),
        sum(|r| r.rotations),
        sum(|r| r.after_kill),
        sum(|r| r.cut_committed),
        sum(|r| r.cut_uncommitted),
    );
}

/// The clock lab (demo mode) moved at one instance moves the other's clock too, within the
/// revocation list's delay: a 15-minute access token is refused by both once the clock is 16
/// minutes ahead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_lab_moves_every_instance() {
    let (svc, _instances) = two_instances(&[]).await;
    let tokens = svc.log_in([A, A, A], OFFLINE, "user0", "password0").await;
    let access = text(&tokens, "access_token");
    assert_eq!(svc.whoami(B, &access).await.status(), StatusCode::OK);
    let moved = svc
        .http
        .post(svc.api(A, "/api/lab/clock"))
        .bearer_auth(&access)
        .json(&json!({"offset_secs": 960}))
        .send()
        .await
        .unwrap();
    let sent = Instant::now();
    let (status, body) = json_of(moved).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        svc.whoami(A, &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let took = wait_for(sent, REVOCATION_DELAY, "B's clock moved", || async {
        svc.whoami(B, &access).await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    println!(
        "multi: clock lab moved at A: B's clock followed {} ms later (promised: within {} ms)",
        took.as_millis(),
        REVOCATION_DELAY.as_millis()
    );
    let renewed = svc
        .refresh(B, &text(&tokens, "refresh_token"))
        .await
        .unwrap();
    let (status, renewed) = json_of(renewed).await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
    let shown = svc
        .http
        .get(svc.api(B, "/api/lab/clock"))
        .bearer_auth(text(&renewed, "access_token"))
        .send()
        .await
        .unwrap();
    let (status, shown) = json_of(shown).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["offset_secs"], 960);
}
