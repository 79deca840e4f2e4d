//! MVC mode: the backend-for-frontend logs the browser in as a confidential client, keeps the
//! tokens on the server and calls the API for it. The browser side is played by hand here
//! (cookies included); the tokens the server receives are seen by a recording proxy placed
//! between the backend-for-frontend and the authorization server, never through the browser.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::*;

const CSRF: &str = "x-csrf-token";

/// Sits between the backend-for-frontend and the authorization server, and keeps every token
/// response it passes on.
#[derive(Clone, Default)]
struct Recorder {
    target: Arc<OnceLock<String>>,
    tokens: Arc<Mutex<Vec<Value>>>,
    /// An answer for the next token request, instead of the authorization server's.
    next_token_answer: Arc<Mutex<Option<(StatusCode, Value)>>>,
}

async fn relay(
    State(recorder): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let target = recorder.target.get().unwrap();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    if uri.path() == "/token"
        && let Some((status, body)) = recorder.next_token_answer.lock().unwrap().take()
    {
        let mut out = HeaderMap::new();
        out.insert("content-type", "application/json".parse().unwrap());
        return (status, out, Bytes::from(body.to_string()));
    }
    backend::crypto::install_tls_provider();
    let mut request = reqwest::Client::new()
        .request(method, format!("{target}{path}"))
        .body(body);
    for (name, value) in &headers {
        if name == "authorization" || name == "content-type" || name == "accept" {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let mut out = HeaderMap::new();
    for name in ["content-type", "www-authenticate"] {
        if let Some(value) = answer.headers().get(name) {
            out.insert(name, value.clone());
        }
    }
    let body = answer.bytes().await.unwrap();
    if uri.path() == "/token" && status == StatusCode::OK {
        recorder
            .tokens
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap());
    }
    (status, out, body)
}

struct Mvc {
    app: TestApp,
    recorder: Recorder,
}

async fn spawn_mvc(extra: &[&str]) -> Mvc {
    let recorder = Recorder::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .fallback(relay)
        .with_state(recorder.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let mut args = vec!["--app-mode", "mvc", "--bff-upstream", &upstream];
    args.extend_from_slice(extra);
    let app = spawn_app_with(&args).await;
    recorder.target.set(app.api.clone()).unwrap();
    Mvc { app, recorder }
}

/// A `Set-Cookie` of `response` by name: (value, the whole header).
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|header| {
            let value = header[name.len() + 1..]
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            (value, header)
        })
}

impl Mvc {
    fn app_url(&self, path: &str) -> String {
        format!("{}{path}", self.app.app)
    }

    /// `/bff/login?{query}` through the login form to the callback; returns the callback's
    /// answer (not followed) and the login cookie the browser held.
    async fn login_callback(
        &self,
        query: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let (callback, login_cookie) = self.login_until_callback(query, username, password).await;
        self.visit(callback, &login_cookie).await
    }

    /// The browser's part up to the authorization server's redirect: the callback URL and the
    /// login cookie.
    async fn login_until_callback(
        &self,
        query: &str,
        username: &str,
        password: &str,
    ) -> (String, String) {
        self.login_from_session(query, None, username, password)
            .await
    }

    /// Like `login_until_callback`, started by a browser that has the session `session`.
    async fn login_from_session(
        &self,
        query: &str,
        session: Option<&str>,
        username: &str,
        password: &str,
    ) -> (String, String) {
        let mut start = self
            .app
            .http
            .get(self.app_url(&format!("/bff/login?{query}")));
        if let Some(session) = session {
            start = start.header(COOKIE, format!("session={session}"));
        }
        let start = start.send().await.unwrap();
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
        let (login, header) = set_cookie(&start, "bff_login").unwrap();
        assert!(
            header.contains("HttpOnly") && header.contains("SameSite=Lax"),
            "{header}"
        );
        let authorize = location(&start);
        assert!(authorize.starts_with(&format!("{}/authorize?", self.app.api)));
        let page = self.app.http.get(&authorize).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let answer = self.app.submit_login(page, username, password).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        (location(&answer), format!("bff_login={login}"))
    }

    /// Logs `username` in; returns the session cookie's value.
    async fn login(&self, username: &str, password: &str) -> String {
        let answer = self
            .login_callback("return_to=/orders", username, password)
            .await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&answer), "/orders");
        set_cookie(&answer, "session").unwrap().0
    }

    /// A navigation to `url` (the callback) with the browser's `Cookie` header.
    async fn visit(&self, url: impl reqwest::IntoUrl, cookie: &str) -> reqwest::Response {
        self.app
            .http
            .get(url)
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    async fn session(&self, cookie: &str) -> reqwest::Response {
        self.app
            .http
            .get(self.app_url("/bff/session"))
            .header(COOKIE, format!("session={cookie}"))
            .send()
            .await
            .unwrap()
    }

    async fn db_sessions(&self) -> i64 {
        self.app.db.count("bff_sessions").await.unwrap()
    }

    async fn csrf(&self, cookie: &str) -> String {
        let info: Value = self.session(cookie).await.json().await.unwrap();
        info["csrf_token"].as_str().unwrap().to_owned()
    }

    fn call(&self, method: Method, path: &str, cookie: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, self.app_url(path))
            .header(COOKIE, format!("session={cookie}"))
    }

    async fn order_count(&self) -> i64 {
        self.app.db.count("orders").await.unwrap()
    }

    /// RFC 7662 as the backend-for-frontend's client: refresh tokens are only ever shown to the
    /// client that holds them.
    async fn introspect(&self, token: &str) -> bool {
        let answer: Value = self
            .app
            .http
            .post(self.app.url("/introspect"))
            .basic_auth("demo-bff", Some("demo-bff-secret"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["active"].as_bool().unwrap()
    }

    fn recorded(&self) -> Vec<Value> {
        self.recorder.tokens.lock().unwrap().clone()
    }

    /// The stored session of the browser holding `cookie` (found, as the server finds it, by
    /// the cookie's SHA-256).
    async fn stored_session(&self, cookie: &str) -> backend::storage::BffSessionRow {
        let id_hash = backend::crypto::sha256_hex(cookie);
        self.app.db.bff_session(&id_hash).await.unwrap().unwrap()
    }

    /// Moves the server's clock to 5 seconds before the session's access token expires, so
    /// that the next call renews it.
    async fn make_stale(&self, cookie: &str) {
        let row = self.stored_session(cookie).await;
        let left = row.access_expires_at.secs_since(self.app.clock.now()) - 5;
        if left > 0 {
            self.app.advance(left.unsigned_abs());
        }
    }
}

#[tokio::test]
async fn the_browser_gets_a_session_cookie_and_never_a_token() {
    let mvc = spawn_mvc(&[]).await;
    let config: Value = mvc
        .app
        .http
        .get(mvc.app_url("/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["mode"], "mvc");
    assert_eq!(config["client_id"], "demo-bff");

    let answer = mvc
        .login_callback("return_to=/orders", "user0", "password0")
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/orders");
    let (cookie, header) = set_cookie(&answer, "session").unwrap();
    // Over http: no Secure, so no __Host- prefix; the rest of the attributes always.
    let attributes: Vec<&str> = header.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=28800"],
        "{header}"
    );
    assert!(!header.to_ascii_lowercase().contains("domain"));
    let (_, cleared) = set_cookie(&answer, "bff_login").unwrap();
    assert!(cleared.contains("Max-Age=0"));

    // The server did receive tokens, as a confidential client with PKCE...
    let recorded = mvc.recorded();
    assert_eq!(recorded.len(), 1);
    let access_token = recorded[0]["access_token"].as_str().unwrap().to_owned();
    let refresh_token = recorded[0]["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt_part(&access_token, 1)["client_id"], "demo-bff");
    assert!(
        recorded[0].get("id_token").is_none(),
        "no openid: no ID token"
    );

    // ... and the browser sees neither: not in a header, not in a body.
    let session = mvc.session(&cookie).await;
    assert_eq!(session.status(), StatusCode::OK);
    assert_eq!(session.headers()["cache-control"], "no-store");
    let text = session.text().await.unwrap();
    assert!(!text.contains(&access_token) && !text.contains(&refresh_token));
    let jwt_shaped = text
        .split('"')
        .any(|field| field.split('.').count() == 3 && field.split('.').all(|part| part.len() > 8));
    assert!(!jwt_shaped, "nothing JWT-shaped: {text}");
    let info: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(info["claims"]["client_id"], "demo-bff");
    assert_eq!(
        info["claims"]["scope"],
        "email offline_access orders:read orders:write products:read profile"
    );
    assert_eq!(info["refreshable"], true);
    assert_eq!(info["exchanges"][0]["grant_type"], "authorization_code");
    assert_eq!(info["exchanges"][0]["client_auth"], "client_secret_basic");
    assert_eq!(info["exchanges"][0]["status"], 200);
    assert_eq!(
        info["exchanges"][0]["access_token_hint"],
        access_token[access_token.len() - 8..]
    );

    // At rest the tokens are sealed under a key only the cookie gives.
    let row = mvc.stored_session(&cookie).await;
    let (sealed, subject) = (row.tokens, row.subject);
    assert!(
        !sealed
            .windows(8)
            .any(|w| w == &access_token.as_bytes()[..8])
    );
    assert!(
        !sealed
            .windows(8)
            .any(|w| w == &refresh_token.as_bytes()[..8])
    );
    assert_eq!(subject, jwt_part(&access_token, 1)["sub"]);
    let stored = mvc.app.db.snapshot("bff_sessions", &[]).await.unwrap();
    assert!(
        !stored.contains(&cookie),
        "the database never holds the cookie"
    );

    // The API through the backend-for-frontend: reads, and a write with the CSRF token.
    let products = mvc
        .call(Method::GET, "/bff/api/products", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(products.status(), StatusCode::OK);
    assert_eq!(products.json::<Vec<Value>>().await.unwrap().len(), 14);
    let me: Value = mvc
        .call(Method::GET, "/bff/api/me", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "user0");
    let csrf = info["csrf_token"].as_str().unwrap();
    let placed = mvc
        .call(Method::POST, "/bff/api/orders", &cookie)
        .header(CSRF, csrf)
        .header("origin", &mvc.app.app)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "product_id": 1, "quantity": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        placed.status(),
        StatusCode::CREATED,
        "{:?}",
        placed.text().await
    );
    let orders: Vec<Value> = mvc
        .call(Method::GET, "/bff/api/orders", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders.len(), 1);

    // The API's own refusals come through as they are.
    let admin = mvc
        .call(Method::GET, "/bff/admin/users", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), StatusCode::FORBIDDEN);
    assert!(www_authenticate(&admin).contains("insufficient_scope"));
}

#[tokio::test]
async fn forged_and_cross_site_requests_are_refused() {
    let mvc = spawn_mvc(&[]).await;
    let cookie = mvc.login("user0", "password0").await;
    let csrf = mvc.csrf(&cookie).await;
    let before = storage_fingerprint(&mvc.app).await;
    let order = json!({ "product_id": 1, "quantity": 1 });

    type Forge = fn(reqwest::RequestBuilder, &str) -> reqwest::RequestBuilder;
    // What each is, how it is forged, what the answer says, and the check the event log names.
    let cases: [(&str, Forge, &str, &str); 7] = [
        (
            "no CSRF header (an HTML form)",
            |r, _| r,
            "lacks the x-csrf-token",
            "csrf",
        ),
        (
            "a wrong CSRF token",
            |r, _| r.header(CSRF, "x".repeat(43)),
            "does not match",
            "csrf",
        ),
        (
            "another session's CSRF token shape, empty",
            |r, _| r.header(CSRF, ""),
            "does not match",
            "csrf",
        ),
        (
            "a cross-site page (Sec-Fetch-Site)",
            |r, csrf| r.header(CSRF, csrf).header("sec-fetch-site", "cross-site"),
            "Sec-Fetch-Site: cross-site",
            "sec-fetch-site",
        ),
        (
            "a same-site page on another origin (Sec-Fetch-Site)",
            |r, csrf| r.header(CSRF, csrf).header("sec-fetch-site", "same-site"),
            "Sec-Fetch-Site: same-site",
            "sec-fetch-site",
        ),
        (
            "another origin (Origin)",
            |r, csrf| r.header(CSRF, csrf).header("origin", "http://127.0.0.1:1"),
            "Origin http://127.0.0.1:1",
            "origin",
        ),
        (
            "an opaque origin (Origin: null)",
            |r, csrf| r.header(CSRF, csrf).header("origin", "null"),
            "Origin null",
            "origin",
        ),
    ];
    for (what, forge, says, _) in cases {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let path = if method == Method::POST {
                "/bff/api/orders"
            } else {
                "/bff/admin/users/usr_x"
            };
            let request = forge(mvc.call(method.clone(), path, &cookie), &csrf);
            let answer = request.json(&order).send().await.unwrap();
            let (status, error, description) = oauth_error(answer).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what} {method}");
            assert_eq!(error, "access_denied", "{what}");
            assert!(description.contains(says), "{what}: {description}");
        }
    }
    // Reads too come only from the app's own pages: another origin of the same site cannot
    // even keep the session alive.
    let read = mvc
        .call(Method::GET, "/bff/session", &cookie)
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::FORBIDDEN);
    // Two session cookies (another port of the host setting its own, with a longer Path, to
    // fix the session): refused, not one picked.
    let fixed = mvc
        .app
        .http
        .get(mvc.app_url("/bff/session"))
        .header(
            COOKIE,
            format!("session={}; session={cookie}", "A".repeat(43)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(fixed.status(), StatusCode::UNAUTHORIZED);
    // A form post from another site: not JSON, no header, no cookie (SameSite=Strict).
    let form = mvc
        .app
        .http
        .post(mvc.app_url("/bff/api/orders"))
        .header("origin", "http://evil.example")
        .form(&[("product_id", "1"), ("quantity", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::UNAUTHORIZED);
    // Without the cookie nothing is cleared: a cross-site page must not be able to log the user
    // out by getting the browser to apply a clearing Set-Cookie (found by the browser test).
    assert!(form.headers().get(SET_COOKIE).is_none());
    let cookieless_logout = mvc
        .app
        .http
        .post(mvc.app_url("/bff/logout"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(cookieless_logout.status(), StatusCode::NO_CONTENT);
    assert!(cookieless_logout.headers().get(SET_COOKIE).is_none());
    // Logging someone out is a change too.
    let logout = mvc
        .call(Method::POST, "/bff/logout", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::FORBIDDEN);
    assert_eq!(storage_fingerprint(&mvc.app).await, before);
    assert_eq!(mvc.order_count().await, 0);
    assert_eq!(mvc.session(&cookie).await.status(), StatusCode::OK);
    // The event log names the check with expected and got, never the CSRF token itself (one
    // of each, within a second's budget of refusals recorded for callers it does not know).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut explained = Vec::new();
    for (_, forge, _, check) in cases {
        let request = forge(mvc.call(Method::POST, "/bff/api/orders", &cookie), &csrf);
        let answer = request.json(&order).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        explained.push((request_id(&answer), check));
    }
    let admin = mvc.app.admin_token().await;
    for (id, check) in explained {
        let why = refusal_explanation(&mvc.app, &admin, &id).await;
        assert_eq!(why.check.as_deref(), Some(check), "{why:?}");
        assert!(
            why.expected.is_some() && why.got.is_some() && why.remedy.is_some(),
            "{why:?}"
        );
        assert!(
            !format!("{why:?}").contains(&csrf),
            "the session's CSRF token is never recorded"
        );
    }
}

#[tokio::test]
async fn logout_revokes_the_tokens_at_the_authorization_server() {
    let mvc = spawn_mvc(&[]).await;
    let cookie = mvc.login("user0", "password0").await;
    let csrf = mvc.csrf(&cookie).await;
    let recorded = mvc.recorded();
    let access_token = recorded[0]["access_token"].as_str().unwrap();
    let refresh_token = recorded[0]["refresh_token"].as_str().unwrap();
    assert!(mvc.introspect(access_token).await);
    assert!(mvc.introspect(refresh_token).await);

    let answer = mvc
        .call(Method::POST, "/bff/logout", &cookie)
        .header(CSRF, &csrf)
        .header("origin", &mvc.app.app)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NO_CONTENT);
    let (value, _) = set_cookie(&answer, "session").unwrap();
    assert_eq!(value, "");
    assert!(!mvc.introspect(access_token).await);
    assert!(!mvc.introspect(refresh_token).await);
    let (status, error, _) = oauth_error(mvc.session(&cookie).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert_eq!(mvc.app.db.count("bff_sessions").await.unwrap(), 0);
    // Again, and without any session: nothing to do, still 204.
    let again = mvc
        .call(Method::POST, "/bff/logout", &cookie)
        .header(CSRF, &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_server_renews_tokens_once_for_concurrent_calls() {
    let mvc = spawn_mvc(&[]).await;
    let cookie = mvc.login("user0", "password0").await;
    mvc.make_stale(&cookie).await;
    let calls = (0..6).map(|_| mvc.call(Method::GET, "/bff/api/orders", &cookie).send());
    for answer in futures_join_all(calls).await {
        assert_eq!(answer.unwrap().status(), StatusCode::OK);
    }
    let recorded = mvc.recorded();
    assert_eq!(recorded.len(), 2, "one login and exactly one refresh");
    let old_refresh = recorded[0]["refresh_token"].as_str().unwrap();
    let new_refresh = recorded[1]["refresh_token"].as_str().unwrap();
    assert_ne!(old_refresh, new_refresh, "rotated");
    assert!(mvc.introspect(new_refresh).await);
    assert!(!mvc.introspect(old_refresh).await, "spent");
    let info: Value = mvc.session(&cookie).await.json().await.unwrap();
    let exchanges = info["exchanges"].as_array().unwrap();
    assert_eq!(exchanges.len(), 2);
    assert_eq!(exchanges[1]["grant_type"], "refresh_token");
    assert_eq!(
        exchanges[1]["refresh_token_hint"],
        new_refresh[new_refresh.len() - 8..]
    );
    assert_eq!(
        info["claims"]["jti"],
        jwt_part(recorded[1]["access_token"].as_str().unwrap(), 1)["jti"]
    );

    // When the authorization server ends the login, the session ends with it: at the next
    // renewal of the access token...
    let revoke = |token: String| {
        mvc.app
            .http
            .post(mvc.app.url("/revoke"))
            .basic_auth("demo-bff", Some("demo-bff-secret"))
            .form(&[("token", token)])
            .send()
    };
    assert_eq!(
        revoke(new_refresh.to_owned()).await.unwrap().status(),
        StatusCode::OK
    );
    mvc.make_stale(&cookie).await;
    let answer = mvc
        .call(Method::GET, "/bff/api/orders", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookie(&answer, "session")
            .unwrap()
            .1
            .contains("Max-Age=0")
    );
    let ended = request_id(&answer);
    let (_, _, description) = oauth_error(answer).await;
    assert!(
        description.starts_with("the authorization server ended the login"),
        "{description}"
    );
    let admin = mvc.app.admin_token().await;
    let why = refusal_explanation(&mvc.app, &admin, &ended).await;
    assert_eq!(why.check.as_deref(), Some("refresh"), "{why:?}");
    assert!(why.got.unwrap().contains("invalid_grant"));
    assert_eq!(
        mvc.session(&cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // ... or at once, when the API refuses the revoked access token; its answer comes through.
    let cookie = mvc.login("user0", "password0").await;
    let refresh_token = mvc.recorded()[2]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        revoke(refresh_token).await.unwrap().status(),
        StatusCode::OK
    );
    let second = mvc.login("user0", "password0").await;
    let second_refresh = mvc.recorded()[3]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        revoke(second_refresh).await.unwrap().status(),
        StatusCode::OK
    );
    let answer = mvc.session(&second).await;
    let revoked = request_id(&answer);
    let (status, _, description) = oauth_error(answer).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "/bff/session checks revocation too"
    );
    assert!(description.contains("revoked"), "{description}");
    // Explained as the API explains it, with why the login was revoked.
    let why = refusal_explanation(&mvc.app, &admin, &revoked).await;
    assert_eq!(why.check.as_deref(), Some("revocation"), "{why:?}");
    assert!(why.got.unwrap().contains("revoked"));
    let answer = mvc
        .call(Method::GET, "/bff/api/orders", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&answer).contains("the access token was revoked"));
    assert!(
        set_cookie(&answer, "session")
            .unwrap()
            .1
            .contains("Max-Age=0")
    );
    assert_eq!(
        mvc.session(&cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// The `X-Request-Id` an answer carries.
fn request_id(answer: &reqwest::Response) -> String {
    answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Runs the calls concurrently, as a page's requests are.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn sessions_end_after_their_lifetime_and_when_idle() {
    let mvc = spawn_mvc(&[
        "--session-lifetime",
        "3600",
        "--session-idle-timeout",
        "600",
    ])
    .await;
    let mut explained = Vec::new();
    for (idle, says, check) in [
        (601, "after 10 minutes without use", "session_idle"),
        (
            3600,
            "expired (1 hour after logging in)",
            "session_lifetime",
        ),
    ] {
        let cookie = mvc.login("user0", "password0").await;
        mvc.app.advance(idle);
        let answer = mvc
            .call(Method::GET, "/bff/api/products", &cookie)
            .send()
            .await
            .unwrap();
        explained.push((request_id(&answer), check));
        let (status, error, description) = oauth_error(answer).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_token")
        );
        assert!(description.contains(says), "{description}");
        let left = mvc.app.db.count("bff_sessions").await.unwrap();
        assert_eq!(left, 0, "an ended session is deleted at once");
        // ... and its grant revoked, as by a logout.
        let refresh_token = mvc.recorded().last().unwrap()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!mvc.introspect(&refresh_token).await, "{says}");
        // The cookie of a session that is gone names nothing.
        let answer = mvc
            .call(Method::GET, "/bff/api/products", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        explained.push((request_id(&answer), "session"));
    }
    // Each ending is explained: the session's times against the server's clock.
    let admin = mvc.app.admin_token().await;
    for (id, check) in explained {
        let why = refusal_explanation(&mvc.app, &admin, &id).await;
        assert_eq!(why.check.as_deref(), Some(check), "{why:?}");
        assert!(why.expected.is_some() && why.got.is_some(), "{why:?}");
        assert!(why.remedy.unwrap().starts_with("log in again"));
    }
    // Configured lifetimes are what the cookie and the session say.
    let cookie = mvc.login("user0", "password0").await;
    let info: Value = mvc.session(&cookie).await.json().await.unwrap();
    let created = mvc.app.clock.now().unix();
    let expires_at = info["expires_at"].as_i64().unwrap();
    assert!((created + 3590..=created + 3600).contains(&expires_at));
}

#[tokio::test]
async fn the_console_step_up_replaces_the_session() {
    let mvc = spawn_mvc(&[]).await;
    let first = mvc.login("admin", "admin-password").await;
    let first_refresh = mvc.recorded()[0]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The session cookie goes with `/bff/login` (the app's own origin), not with the callback:
    // coming back from an authorization server on another site, a `SameSite=Strict` cookie
    // stays home.
    let (callback, login_cookie) = mvc
        .login_from_session(
            "return_to=/admin/users&admin=true",
            Some(&first),
            "admin",
            "admin-password",
        )
        .await;
    let answer = mvc.visit(callback, &login_cookie).await;
    assert_eq!(location(&answer), "/admin/users");
    let second = set_cookie(&answer, "session").unwrap().0;
    assert_ne!(first, second);
    assert_eq!(mvc.session(&first).await.status(), StatusCode::UNAUTHORIZED);
    assert!(!mvc.introspect(&first_refresh).await);
    let info: Value = mvc.session(&second).await.json().await.unwrap();
    assert!(info["claims"]["scope"].as_str().unwrap().contains("admin"));
    let users = mvc
        .call(Method::GET, "/bff/admin/users", &second)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), StatusCode::OK);

    // A user who is not an administrator asks too: the scope is left out, not refused.
    let (callback, login_cookie) = mvc
        .login_until_callback("admin=true", "user0", "password0")
        .await;
    let answer = mvc.visit(callback, &login_cookie).await;
    let cookie = set_cookie(&answer, "session").unwrap().0;
    let info: Value = mvc.session(&cookie).await.json().await.unwrap();
    assert!(!info["claims"]["scope"].as_str().unwrap().contains("admin"));
    assert!(info["requested_scope"].as_str().unwrap().contains("admin"));
}

#[tokio::test]
async fn hostile_logins_and_callbacks_start_no_session() {
    let mvc = spawn_mvc(&[]).await;
    for query in [
        "return_to=//evil.example/",
        "return_to=https://evil.example/",
        "return_to=/\\evil.example",
        "return_to=/bff/logout",
        "return_to=/a&return_to=/b",
        "admin=yes",
        "scope=admin",
        &format!("return_to=/{}", "a".repeat(600)),
    ] {
        let answer = mvc
            .app
            .http
            .get(mvc.app_url(&format!("/bff/login?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(answer.headers().get(LOCATION).is_none());
        assert!(
            answer
                .text()
                .await
                .unwrap()
                .starts_with("This login link is not valid")
        );
    }
    let logins = mvc.app.db.count("bff_logins").await.unwrap();
    assert_eq!(logins, 0, "a refused login link stores nothing");

    let home_error = |answer: &reqwest::Response| {
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let location = location(answer);
        assert!(location.starts_with("/?error="), "{location}");
        let url = url::Url::parse(&format!("http://x{location}")).unwrap();
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(set_cookie(answer, "session").is_none());
        (
            param(&params, "error").unwrap().to_owned(),
            param(&params, "error_description").unwrap().to_owned(),
        )
    };

    // The callback without the browser's login cookie (login CSRF, or another browser).
    let (callback, login_cookie) = mvc.login_until_callback("", "user0", "password0").await;
    let answer = mvc.app.http.get(&callback).send().await.unwrap();
    let (error, description) = home_error(&answer);
    assert_eq!(error, "invalid_request");
    assert!(
        description.contains("did not start a login"),
        "{description}"
    );
    // With another browser's login cookie.
    let (other_callback, other_cookie) = mvc.login_until_callback("", "user1", "password1").await;
    let answer = mvc.visit(&callback, &other_cookie).await;
    assert!(home_error(&answer).1.contains("state mismatch"));
    // ... which leaves that browser's own login usable (two tabs logging in at once, or a
    // forged callback, cannot spoil it).
    let own = mvc.visit(&other_callback, &other_cookie).await;
    assert!(set_cookie(&own, "session").is_some(), "{}", location(&own));
    // Tampered: another iss (RFC 9207), or a repeated parameter.
    let tampered = callback.replace("iss=", "iss=x");
    let (callback2, cookie2) = mvc.login_until_callback("", "user0", "password0").await;
    let answer = mvc
        .visit(callback2.replace("iss=", "iss=x"), &cookie2)
        .await;
    assert!(home_error(&answer).1.contains("(iss)"));
    // The login is spent by that attempt: the genuine response cannot be used after it.
    let answer = mvc.visit(&callback2, &cookie2).await;
    assert!(home_error(&answer).1.contains("already used"));
    let answer = mvc
        .visit(format!("{tampered}&code=again"), &login_cookie)
        .await;
    assert!(home_error(&answer).1.contains("repeats"));
    // A replayed code: the first callback works, a second browser flow cannot reuse its code.
    let (callback3, cookie3) = mvc.login_until_callback("", "user0", "password0").await;
    let ok = mvc.visit(&callback3, &cookie3).await;
    assert!(set_cookie(&ok, "session").is_some());
    let answer = mvc.visit(&callback3, &cookie3).await;
    assert!(home_error(&answer).1.contains("already used"));
    // The user cancels at the login form: the authorization server's access_denied.
    let start = mvc
        .app
        .http
        .get(mvc.app_url("/bff/login"))
        .send()
        .await
        .unwrap();
    let (login, _) = set_cookie(&start, "bff_login").unwrap();
    let page = mvc.app.http.get(location(&start)).send().await.unwrap();
    let cookie = page_cookie(&page);
    let mut form = hidden_inputs(&page.text().await.unwrap());
    form.retain(|(name, _)| name != "action");
    form.push(("action".into(), "cancel".into()));
    let cancelled = mvc.app.post_form("/authorize/login", &cookie, &form).await;
    let answer = mvc
        .visit(location(&cancelled), &format!("bff_login={login}"))
        .await;
    assert_eq!(home_error(&answer).0, "access_denied");

    // Only the two genuine callbacks made sessions.
    let sessions = mvc.app.db.count("bff_sessions").await.unwrap();
    assert_eq!(sessions, 2);
}

#[tokio::test]
async fn the_proxy_forwards_only_api_paths_and_bounded_bodies() {
    let mvc = spawn_mvc(&[]).await;
    let cookie = mvc.login("user0", "password0").await;
    let csrf = mvc.csrf(&cookie).await;
    for path in [
        "/bff/api/..%2ftoken",
        "/bff/api/orders/..%2F..%2Ftoken",
        "/bff/api/a%5C..%5Ctoken",
    ] {
        let answer = mvc.call(Method::GET, path, &cookie).send().await.unwrap();
        let (status, error, _) = oauth_error(answer).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::BAD_REQUEST, "invalid_request"),
            "{path}"
        );
    }
    assert_eq!(
        mvc.call(Method::GET, "/bff/token", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let big = mvc
        .call(Method::POST, "/bff/api/orders", &cookie)
        .header(CSRF, &csrf)
        .header("content-type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Malformed cookies are not looked up; no cookie at all is "not logged in".
    for bad in ["", "short", &"%".repeat(43), &"a".repeat(4000)] {
        let answer = mvc
            .call(Method::GET, "/bff/api/orders", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{bad:.10}");
        assert_eq!(answer.headers()["www-authenticate"], "Cookie realm=\"app\"");
    }
    let none = mvc
        .app
        .http
        .get(mvc.app_url("/bff/api/orders"))
        .send()
        .await
        .unwrap();
    let (_, _, description) = oauth_error(none).await;
    assert_eq!(description, "you are not logged in");
    assert_eq!(mvc.order_count().await, 0);
}

#[tokio::test]
async fn rest_mode_has_no_backend_for_frontend() {
    let app = spawn_app().await;
    for path in ["/bff/login", "/bff/session", "/bff/api/orders"] {
        let answer = app
            .http
            .get(format!("{}{path}", app.app))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let config: Value = app
        .http
        .get(format!("{}/config.json", app.app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(config["mode"], "rest");
}

#[tokio::test]
async fn only_invalid_grant_ends_a_session_and_logins_are_limited() {
    let mvc = spawn_mvc(&["--login-attempts-per-address", "4/60"]).await;
    let cookie = mvc.login("user0", "password0").await;
    let due = || mvc.make_stale(&cookie);
    // The authorization server is throttling this address (say, someone guessing client
    // secrets from it): the renewal fails, the session stays.
    for (status, error) in [
        (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
        (StatusCode::UNAUTHORIZED, "invalid_client"),
        (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    ] {
        due().await;
        *mvc.recorder.next_token_answer.lock().unwrap() = Some((
            status,
            json!({ "error": error, "error_description": "not now" }),
        ));
        let (answer, code, description) = oauth_error(
            mvc.call(Method::GET, "/bff/api/orders", &cookie)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer, StatusCode::BAD_GATEWAY, "{error}");
        assert_eq!(code, "temporarily_unavailable");
        assert!(
            !description.contains("127.0.0.1"),
            "no internal address: {description}"
        );
        assert_eq!(
            mvc.session(&cookie).await.status(),
            StatusCode::OK,
            "{error}"
        );
    }
    let answer = mvc
        .call(Method::GET, "/bff/api/orders", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "renewed once the server answers"
    );
    let info: Value = mvc.session(&cookie).await.json().await.unwrap();
    let endpoint = info["exchanges"][1]["endpoint"].as_str().unwrap();
    assert_eq!(
        endpoint,
        format!("{}/token", mvc.app.api),
        "the public endpoint's name"
    );

    // Each login start stores a row, so starts are limited per address (here 4 a minute; the
    // server's clock has moved on past the login above, so all 4 are left).
    for _ in 0..4 {
        let start = mvc
            .app
            .http
            .get(mvc.app_url("/bff/login"))
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::SEE_OTHER);
    }
    let refused = mvc
        .app
        .http
        .get(mvc.app_url("/bff/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let logins = mvc.app.db.count("bff_logins").await.unwrap();
    assert_eq!(logins, 4, "the refused start stored nothing");
}

/// An ID token of `username` at the browser app (REST mode's client), to log out with.
async fn app_id_token(app: &TestApp, username: &str, password: &str) -> String {
    app.login_tokens(username, password, "openid profile").await["id_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn logging_out_of_every_app_ends_the_backend_for_frontend_session_by_back_channel() {
    let mvc = spawn_mvc(&[]).await;
    let app = &mvc.app;
    let cookie = mvc.login("user0", "password0").await;
    let bystander = mvc.login("user1", "password1").await;
    assert_eq!(mvc.session(&cookie).await.status(), StatusCode::OK);
    let sid = mvc.stored_session(&cookie).await.grant_id.unwrap();
    let access = mvc.recorded()[0]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(jwt_part(&access, 1)["grant_id"], sid.as_str());

    // The user logs out of every app from the browser app, at the end-session endpoint.
    let id_token = app_id_token(app, "user0", "password0").await;
    let page = app
        .http
        .get(app.url("/logout"))
        .query(&[("id_token_hint", id_token.as_str())])
        .send()
        .await
        .unwrap();
    let (mut form, page_cookie) = logout_confirmation(page).await;
    form.push(("decision".into(), "everywhere".into()));
    form.push(("password".into(), "password0".into()));
    let done = app.post_form("/logout", &page_cookie, &form).await;
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    // The page names who was told, and what they answered.
    assert!(
        html.contains("Demo shop (backend-for-frontend, MVC mode)")
            && html.contains("answered 200"),
        "{html}"
    );
    // The session is gone at once, not at its next refresh.
    let (status, error, _) = oauth_error(mvc.session(&cookie).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    assert_eq!(mvc.session(&bystander).await.status(), StatusCode::OK);
    let events = app.events("backchannel_logout", 2).await;
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains(&format!("login {sid} posted to")) && d.ends_with("answered 200")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains("1 session ended")),
        "{details:?}"
    );
}

#[tokio::test]
async fn the_back_channel_endpoint_ends_nothing_for_a_token_that_is_not_a_logout_token() {
    let mvc = spawn_mvc(&[]).await;
    let app = &mvc.app;
    let cookie = mvc.login("user0", "password0").await;
    let sid = mvc.stored_session(&cookie).await.grant_id.unwrap();
    let sub = app.user("user0").await.id;
    let now = app.clock.now().unix();
    let logout_header = || {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.typ = Some("logout+jwt".into());
        header
    };
    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut claims = json!({
            "iss": app.api, "sub": sub, "aud": "demo-bff", "iat": now, "exp": now + 120,
            "jti": "j-1", "sid": sid,
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        });
        edit(&mut claims);
        claims
    };
    let post = |body: String, content_type: &'static str| async move {
        app.http
            .post(format!("{}/bff/backchannel-logout", app.app))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    let token_form = |token: &str| format!("logout_token={token}");
    let mut plain_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    plain_header.typ = Some("JWT".into());
    let cases: Vec<(String, &str, &str)> = vec![
        (String::new(), FORM, "no logout_token"),
        ("logout_token=".into(), FORM, "no logout_token"),
        (token_form("x.y.z"), FORM, "not one of this server's"),
        ("logout_token=a&logout_token=b".to_owned(), FORM, "repeated"),
        (
            token_form(&app.forge(logout_header(), &claims(&|_| {})).await),
            "application/json",
            "x-www-form-urlencoded",
        ),
        (
            token_form(&app.forge(plain_header, &claims(&|_| {})).await),
            FORM,
            "typ header",
        ),
        (
            token_form(
                &app.forge(logout_header(), &claims(&|c| c["aud"] = json!("demo-spa")))
                    .await,
            ),
            FORM,
            "not for this client",
        ),
        (
            token_form(
                &app.forge(
                    logout_header(),
                    &claims(&|c| c["iss"] = json!("https://x.example")),
                )
                .await,
            ),
            FORM,
            "issued by",
        ),
        (
            token_form(
                &app.forge(logout_header(), &claims(&|c| c["exp"] = json!(now - 600)))
                    .await,
            ),
            FORM,
            "expired",
        ),
        (
            token_form(
                &app.forge(logout_header(), &claims(&|c| c["events"] = json!({})))
                    .await,
            ),
            FORM,
            "events",
        ),
        (
            token_form(
                &app.forge(logout_header(), &claims(&|c| c["nonce"] = json!("n")))
                    .await,
            ),
            FORM,
            "nonce",
        ),
        (
            token_form(
                &app.forge(
                    logout_header(),
                    &claims(&|c| {
                        c.as_object_mut().unwrap().remove("jti");
                    }),
                )
                .await,
            ),
            FORM,
            "required",
        ),
    ];
    for (body, content_type, expected) in cases {
        let (status, error, description) = oauth_error(post(body, content_type).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{expected}");
        assert_eq!(error, "invalid_request");
        assert!(description.contains(expected), "{expected}: {description}");
        assert_eq!(
            mvc.session(&cookie).await.status(),
            StatusCode::OK,
            "{expected}"
        );
    }
    // A good one ends the login's sessions, and only when it names that login.
    let other = app
        .forge(
            logout_header(),
            &claims(&|c| c["sid"] = json!("another-login")),
        )
        .await;
    assert_eq!(
        post(token_form(&other), FORM).await.status(),
        StatusCode::OK
    );
    assert_eq!(mvc.session(&cookie).await.status(), StatusCode::OK);
    let good = app.forge(logout_header(), &claims(&|_| {})).await;
    assert_eq!(post(token_form(&good), FORM).await.status(), StatusCode::OK);
    assert_eq!(
        mvc.session(&cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Again: nothing left to end, still 200 (§2.8).
    assert_eq!(post(token_form(&good), FORM).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn disabling_a_user_ends_their_backend_for_frontend_sessions_by_back_channel() {
    let mvc = spawn_mvc(&[]).await;
    let app = &mvc.app;
    let cookie = mvc.login("user0", "password0").await;
    let bystander = mvc.login("user1", "password1").await;
    let admin = app.admin_token().await;
    let id = app.user("user0").await.id;
    let disabled = app
        .admin(
            Method::PATCH,
            &format!("/admin/users/{id}"),
            &admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::OK);
    // Posted in the background: the administrator's answer does not wait for the clients.
    let events = app.events("backchannel_logout", 2).await;
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    assert!(
        details.iter().any(|d| d.ends_with("answered 200")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains("1 session ended")),
        "{details:?}"
    );
    let (status, _, _) = oauth_error(mvc.session(&cookie).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(mvc.session(&bystander).await.status(), StatusCode::OK);
    // A password reset ends the logins too, and tells the clients the same way.
    let user1 = app.user("user1").await.id;
    let reset = app
        .admin(
            Method::POST,
            &format!("/admin/users/{user1}/password"),
            &admin,
            Some(json!({"password": "a-new-password-1"})),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let events = app.events("backchannel_logout", 4).await;
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(mvc.db_sessions().await, 0);
}
