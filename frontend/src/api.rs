//! Every HTTP request the app makes, and what its failures mean for the user.
//!
//! - start-up: `/config.json` from the app's own origin, then the authorization server's
//!   metadata (RFC 8414), so no endpoint path is written into the app;
//! - the token endpoint, form-encoded: the authorization code with the PKCE `code_verifier`
//!   (RFC 6749 §4.1.3) and the refresh token (§6);
//! - the revocation endpoint (RFC 7009) when logging out;
//! - the protected API through [`Api`], which attaches `Authorization: Bearer` (RFC 6750 §2.1)
//!   to every call and turns a 401 into the end of the session; the admin API's calls
//!   ([`crate::admin_api`]) go through the same helpers.
//!
//! In MVC mode the app calls none of the authorization server's endpoints: [`Api`] calls the
//! backend-for-frontend on the app's own origin (`/bff/api/…`, `/bff/admin/…`), which adds the
//! token on the server; the browser sends only its session cookie and the CSRF header. The
//! session itself is read with [`load_server_session`] at start-up and ended with
//! [`Api::end_server_session`].

use std::fmt;

use gloo_net::http::{Method, Request, RequestBuilder};
use leptos::prelude::{Get, GetValue, RwSignal, Set, SetValue, StoredValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{Me, NewOrder, Order, Product};
use shared::bff::{self, SessionInfo};
use shared::config::{AppConfig, AppMode};
use shared::oauth::{ErrorResponse, ServerMetadata, TokenResponse};
use shared::pkce::CodeVerifier;

use crate::dpop::{self, Binding, DpopKey};
use crate::refresh::Refresher;
use crate::session::Session;
use crate::timeline::{self, Entry, Note, Step};

/// What the app learns at start-up about where it runs.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub config: AppConfig,
    /// An error here does not stop the app: pages that only call the API still work with a
    /// token from an earlier login, and the login button explains what is wrong.
    pub server: Result<ServerMetadata, ApiError>,
}

/// Why a request did not give the app what it wanted, worded for the person using it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// There is no access token to send.
    NotLoggedIn,
    /// 401: the API refused the token (RFC 6750 §3.1 `invalid_token`): it expired or is not
    /// one the API trusts. The session has already ended when this is returned.
    Unauthorized(String),
    /// 403 `insufficient_scope` (RFC 6750 §3.1), with the scope the API asked for.
    InsufficientScope { scope: Option<String> },
    /// The request never got an answer: server down, wrong address or refused by CORS.
    Unreachable { service: &'static str, url: String },
    /// Any other error status, with its RFC 6749 §5.2 / RFC 6750 §3 body when there was one.
    Rejected {
        status: u16,
        body: Option<ErrorResponse>,
    },
    /// A success whose body is not what the app expects.
    BadResponse(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLoggedIn => f.write_str("You are not logged in."),
            Self::Unauthorized(why) => f.write_str(why),
            Self::InsufficientScope { scope: Some(scope) } => {
                write!(f, "Your token lacks the scope {scope} needed for this.")
            }
            Self::InsufficientScope { scope: None } => {
                f.write_str("Your token lacks a scope needed for this.")
            }
            Self::Unreachable { service, url } => write!(f, "Cannot reach the {service} at {url}."),
            Self::Rejected {
                body: Some(body), ..
            } => match &body.error_description {
                Some(description) => f.write_str(description),
                None => write!(f, "The request was refused ({}).", body.error),
            },
            Self::Rejected { status, body: None } => {
                write!(f, "The request failed with HTTP status {status}.")
            }
            Self::BadResponse(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for ApiError {}

/// Loads `/config.json` and the authorization server's metadata.
pub async fn load_deployment() -> Deployment {
    let config = load_config().await;
    let server = discover(&config.issuer).await;
    Deployment { config, server }
}

/// `/config.json` from the app's own origin. Anything but that JSON (`trunk serve` answers every
/// path with `index.html`) means the local demo defaults.
async fn load_config() -> AppConfig {
    match Request::get("/config.json").send().await {
        Ok(response) if response.ok() => response.json().await.unwrap_or_default(),
        _ => AppConfig::default(),
    }
}

/// RFC 8414 §3: fetch the metadata and check it speaks for the configured issuer (§3.3), so a
/// wrong or hostile document cannot send the login elsewhere.
async fn discover(issuer: &str) -> Result<ServerMetadata, ApiError> {
    let url = well_known_url(issuer);
    let response = Request::get(&url)
        .send()
        .await
        .map_err(|_| ApiError::Unreachable {
            service: "authorization server",
            url: issuer.to_owned(),
        })?;
    if !response.ok() {
        return Err(ApiError::BadResponse(format!(
            "The authorization server has no metadata at {url} (HTTP {}).",
            response.status()
        )));
    }
    let metadata: ServerMetadata = response.json().await.map_err(|_| {
        ApiError::BadResponse(format!("The metadata at {url} is not RFC 8414 JSON."))
    })?;
    if metadata.issuer != issuer {
        return Err(ApiError::BadResponse(format!(
            "The metadata at {url} is for the issuer {}, not {issuer} (RFC 8414 §3.3).",
            metadata.issuer
        )));
    }
    Ok(metadata)
}

/// RFC 8414 §3.1: the well-known segment goes between the host and any path of the issuer.
fn well_known_url(issuer: &str) -> String {
    let issuer = issuer.trim_end_matches('/');
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    let (origin, path) = match issuer[after_scheme..].find('/') {
        Some(i) => issuer.split_at(after_scheme + i),
        None => (issuer, ""),
    };
    format!("{origin}/.well-known/oauth-authorization-server{path}")
}

/// RFC 6749 §4.1.3 with RFC 7636 §4.5: redeems the authorization code for an access token.
pub async fn exchange_code(
    server: &ServerMetadata,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &CodeVerifier,
) -> Result<TokenResponse, ApiError> {
    let pkce = vec![
        Note::secret("code_verifier sent", verifier.as_str()),
        Note::new(
            "S256(code_verifier)",
            format!(
                "{} — the server computes the same and compares it with the code_challenge of \
                 the authorize request (RFC 7636 §4.6)",
                verifier.challenge().as_str()
            ),
        ),
    ];
    // The choice on the home page, made just before this login.
    let binding = dpop::chosen().then_some(Binding::NewLogin);
    token_request(
        server,
        Step::Token,
        binding,
        pkce,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", verifier.as_str()),
        ],
    )
    .await
}

/// RFC 6749 §6: a new access token for the refresh token. This server rotates refresh tokens, so
/// the answer carries a new one and `refresh_token` is spent from now on.
/// `bound_to`: the key (`cnf.jkt`) the login's tokens are bound to, whose proof the refresh
/// needs (RFC 9449 §5: a public client's refresh token is bound too); `None` for a bearer
/// login.
pub async fn refresh(
    server: &ServerMetadata,
    client_id: &str,
    refresh_token: &str,
    bound_to: Option<&str>,
) -> Result<TokenResponse, ApiError> {
    let rotation = vec![Note::new(
        "rotation",
        "the refresh token sent is spent from now on; the answer carries its successor \
         (RFC 9700 §4.14.2). Presenting it again would end the whole login.",
    )];
    token_request(
        server,
        Step::Refresh,
        bound_to.map(Binding::Key),
        rotation,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
    .await
}

/// RFC 7009 §2.1: revokes a token. For a refresh token this ends the whole login, its access
/// tokens included. The server answers 200 even for a token it does not know (§2.2).
pub async fn revoke(server: &ServerMetadata, client_id: &str, token: &str) -> Result<(), ApiError> {
    let endpoint = server.revocation_endpoint.as_deref().ok_or_else(|| {
        ApiError::BadResponse("The authorization server has no revocation endpoint.".into())
    })?;
    let revocation = vec![Note::new(
        "what it ends",
        "the refresh token and, with it, every access token of this login (RFC 7009 §2.1); \
         the answer is 200 even for a token the server does not know (§2.2)",
    )];
    let answer = post_form(
        endpoint,
        Step::Revoke,
        revocation,
        &[
            ("token", token),
            ("token_type_hint", "refresh_token"),
            ("client_id", client_id),
        ],
        Outlive::Page,
        None,
    )
    .await?;
    if answer.ok() {
        Ok(())
    } else {
        Err(answer.rejected())
    }
}

/// A token request; with a `binding`, with a DPoP proof (RFC 9449 §5) by that key, once more
/// with the server's latest nonce if it asks for one (§8: `use_dpop_nonce`).
async fn token_request(
    server: &ServerMetadata,
    step: Step,
    binding: Option<Binding<'_>>,
    mut notes: Vec<Note>,
    params: &[(&str, &str)],
) -> Result<TokenResponse, ApiError> {
    let url = &server.token_endpoint;
    if binding.is_some() {
        notes.push(Note::new(
            "DPoP",
            "the DPoP header is a proof signed with this browser's non-extractable key \
            (RFC 9449 §4): the tokens are bound to it (cnf.jkt, token_type DPoP), and the \
            refresh token will work only with a proof by the same key",
        ));
    }
    let mut tries = 0;
    let answer = loop {
        tries += 1;
        let proof = match binding {
            Some(binding) => Some(proof(binding, "POST", url, None).await?),
            None => None,
        };
        let answer = post_form(
            url,
            step,
            notes.clone(),
            params,
            Outlive::No,
            proof.as_deref(),
        )
        .await?;
        remember_nonce(url, &answer);
        let asked_for_nonce = answer
            .error_body()
            .is_some_and(|body| body.error == "use_dpop_nonce");
        // Once more, with the nonce just given (or a newer one another request got).
        if binding.is_some() && asked_for_nonce && tries < 2 {
            continue;
        }
        break answer;
    };
    if answer.ok() {
        serde_json::from_str(&answer.body).map_err(|_| {
            ApiError::BadResponse("The token endpoint's answer is not a token response.".into())
        })
    } else {
        Err(answer.rejected())
    }
}

/// A form-encoded POST to the authorization server (RFC 6749 §3.2, RFC 7009 §2.1), recorded in
/// the timeline.
/// Whether a request must reach the server even if the page goes first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outlive {
    /// Dropped with the page, as fetches are.
    No,
    /// Sent with fetch's `keepalive`: a revocation at logout or at a step-up is followed at once
    /// by a page load when the next page is in another bundle (`shared::bundle`), which would
    /// otherwise abort it and leave the refresh token alive.
    Page,
}

/// A DPoP proof for `method` `url` by the key `binding` names (see [`dpop`]).
async fn proof(
    binding: Binding<'_>,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<String, ApiError> {
    let key = DpopKey::get(binding)
        .await
        .map_err(|why| ApiError::BadResponse(format!("Sender-constrained tokens: {why}.")))?;
    key.proof(method, url, access_token)
        .await
        .map_err(|why| ApiError::BadResponse(format!("The DPoP proof could not be made: {why}.")))
}

/// Keeps a `DPoP-Nonce` the answer carries for the next proof to that server.
fn remember_nonce(url: &str, answer: &Answer) {
    if let Some(nonce) = answer.headers.get(dpop::NONCE_HEADER) {
        dpop::remember_nonce(url, &nonce);
    }
}

async fn post_form(
    url: &str,
    step: Step,
    notes: Vec<Note>,
    params: &[(&str, &str)],
    outlive: Outlive,
    dpop_proof: Option<&str>,
) -> Result<Answer, ApiError> {
    let form = web_sys::UrlSearchParams::new()
        .map_err(|_| ApiError::BadResponse("This browser cannot build a form body.".into()))?;
    for (name, value) in params {
        form.append(name, value);
    }
    let mut entry = Entry::new(step, "POST", url)
        .header("Content-Type", FORM)
        .body(String::from(form.to_string()));
    entry.notes = notes;
    let unreachable = || ApiError::Unreachable {
        service: "authorization server",
        url: url.to_owned(),
    };
    // A `URLSearchParams` body makes fetch send `application/x-www-form-urlencoded`.
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&form);
    if let Some(proof) = dpop_proof {
        let headers = web_sys::Headers::new().map_err(|_| unreachable())?;
        headers
            .set(dpop::HEADER, proof)
            .map_err(|_| unreachable())?;
        init.set_headers(&headers);
        entry = entry.header(dpop::HEADER, proof);
    }
    if outlive == Outlive::Page {
        // Not in web-sys's RequestInit yet; a plain property of the init object.
        js_sys::Reflect::set(&init, &"keepalive".into(), &true.into())
            .map_err(|_| unreachable())?;
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|_| unreachable())?;
    Answer::of(request, entry).await.map_err(|_| unreachable())
}

/// `GET {api_base}{path}` with `Authorization: Token …`, straight at the API as a script sends
/// it (REST mode: in MVC mode the browser calls nothing but its own server). The timeline keeps
/// the token's id, never its secret. The status, and the body of a success or the server's reason for a
/// refusal.
pub async fn call_with_api_token(
    config: &AppConfig,
    path: &str,
    token: &str,
) -> Result<(u16, String), ApiError> {
    let url = format!("{}{path}", config.api_base.trim_end_matches('/'));
    let kept: String = token.chars().take(API_TOKEN_ID_END).collect();
    let entry = Entry::new(Step::Api, "GET", url.clone())
        .header("Authorization", format!("Token {kept}…"))
        .note(Note::new(
            "API token",
            "a per-user API token, as a script or CI job sends it: amt_, the token's id, then \
             its secret, which this timeline never keeps; the server looks the id up and \
             compares a hash of the secret",
        ));
    let unreachable = || ApiError::Unreachable {
        service: "API",
        url: url.clone(),
    };
    let request = RequestBuilder::new(&url)
        .header("Authorization", &format!("Token {token}"))
        .build()
        .map_err(|_| unreachable())?;
    let answer = Answer::of(request, entry)
        .await
        .map_err(|_| unreachable())?;
    let said = if answer.ok() {
        answer.body.clone()
    } else {
        rejection_reason(&answer)
    };
    Ok((answer.status, said))
}

/// `amt_` and the 16 hex digits of an API token's id.
const API_TOKEN_ID_END: usize = 20;

/// What fetch sends for a `URLSearchParams` body.
const FORM: &str = "application/x-www-form-urlencoded;charset=UTF-8";

/// An answer, read whole and recorded in the timeline.
struct Answer {
    status: u16,
    headers: gloo_net::http::Headers,
    body: String,
}

impl Answer {
    /// Sends `request`, reads the answer and records the exchange (`entry` describes the
    /// request). `Err` when no answer came, recorded too.
    async fn of(request: Request, entry: Entry) -> Result<Self, gloo_net::Error> {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                timeline::record(entry.unanswered(
                    "the browser got no answer (server down, wrong address, or refused by CORS: \
                     see the preflights below)",
                ));
                return Err(e);
            }
        };
        let status = response.status();
        let headers = response.headers();
        // A body that cannot be read is recorded (and parsed) as empty.
        let body = response.text().await.unwrap_or_default();
        timeline::record(entry.answered(status, headers.entries().collect(), body.clone()));
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    fn ok(&self) -> bool {
        (200..=299).contains(&self.status)
    }

    fn error_body(&self) -> Option<ErrorResponse> {
        serde_json::from_str(&self.body).ok()
    }

    /// RFC 6749 §5.2 / RFC 6750 §3.1: an error status, with its error body when there is one.
    fn rejected(&self) -> ApiError {
        ApiError::Rejected {
            status: self.status,
            body: self.error_body(),
        }
    }
}

/// The flash message for a session that ended because a token was refused, from the server's
/// `error_description` ("the access token expired").
pub fn session_ended(why: &str) -> String {
    format!(
        "{} — please log in again.",
        capitalized(why).trim_end_matches('.')
    )
}

/// MVC mode: `GET /bff/session` at start-up, before there is an [`Api`]. `None` when there is no
/// live session (401).
pub async fn load_server_session() -> Result<Option<SessionInfo>, ApiError> {
    let path = format!("{}/session", bff::PREFIX);
    let response = Request::get(&path)
        .send()
        .await
        .map_err(|_| ApiError::Unreachable {
            service: "app's server",
            url: path.clone(),
        })?;
    match response.status() {
        200 => response.json().await.map(Some).map_err(|_| {
            ApiError::BadResponse(format!(
                "The answer to {path} is not what this app expects."
            ))
        }),
        401 => Ok(None),
        status => Err(ApiError::Rejected {
            status,
            body: response.json().await.ok(),
        }),
    }
}

/// Where [`Api`] sends its calls: the API itself (REST), or the backend-for-frontend on the app's
/// own origin (MVC), which mirrors the API's paths under [`bff::PREFIX`].
fn api_base(config: &AppConfig, app_origin: &str) -> String {
    match config.mode {
        AppMode::Rest => config.api_base.trim_end_matches('/').to_owned(),
        AppMode::Mvc => format!("{}{}", app_origin.trim_end_matches('/'), bff::PREFIX),
    }
}

/// A success's JSON body, or why it is not what the app expects.
fn json_body<T: DeserializeOwned>(answer: &Answer, path: &str) -> Result<T, ApiError> {
    serde_json::from_str(&answer.body).map_err(|_| {
        ApiError::BadResponse(format!(
            "The API's answer to {path} is not what this app expects."
        ))
    })
}

/// The protected API, as the logged-in user.
#[derive(Clone)]
pub struct Api {
    base: String,
    session: Session,
    /// The `X-Request-Id` of the last answer that refused a call: an error on screen links to
    /// the server's explanation of it (`/refusals?id=…`).
    refused: RwSignal<Option<String>>,
    /// REST mode: renews an access token the API found expired, so the call can be made again
    /// (set once the refresher exists: it calls the API too).
    renewer: StoredValue<Option<Refresher>>,
}

/// A 401 from the API, before the app decides what it means for the session.
struct Refused401 {
    why: String,
    request_id: Option<String>,
    /// The token had only expired: a refresh token may renew it.
    expired: bool,
    /// RFC 9449 §9: the API wants a proof with the nonce it just sent (`use_dpop_nonce`).
    wants_nonce: bool,
}

impl Api {
    pub fn new(config: &AppConfig, session: Session) -> Self {
        let origin = web_sys::window()
            .and_then(|window| window.location().origin().ok())
            .unwrap_or_default();
        Self {
            base: api_base(config, &origin),
            session,
            refused: RwSignal::new(None),
            renewer: StoredValue::new(None),
        }
    }

    /// REST mode: lets calls whose token the API found expired renew it and try once more.
    pub fn renew_with(&self, refresher: Refresher) {
        self.renewer.set_value(Some(refresher));
    }

    /// The request id of the last refused call (see [`Api::refused`]).
    pub fn last_refused(&self) -> Option<String> {
        self.refused.get()
    }

    /// MVC mode: `GET /bff/session`, what the server's session is now (its exchanges change as
    /// it refreshes the token).
    pub async fn server_session(&self) -> Result<SessionInfo, ApiError> {
        self.get("/session").await
    }

    /// MVC mode: `POST /bff/logout`: the server ends the session and revokes its tokens.
    pub async fn end_server_session(&self) -> Result<(), ApiError> {
        self.send_no_content(Method::POST, "/logout", None::<&()>)
            .await
    }

    /// `GET /api/products` (scope `products:read`).
    pub async fn products(&self) -> Result<Vec<Product>, ApiError> {
        self.get("/api/products").await
    }

    /// `GET /api/orders` (scope `orders:read`): the user's own orders.
    pub async fn orders(&self) -> Result<Vec<Order>, ApiError> {
        self.get("/api/orders").await
    }

    /// `GET /api/me`.
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.get("/api/me").await
    }

    /// `POST /api/orders` (scope `orders:write`).
    pub async fn place_order(&self, order: &NewOrder) -> Result<(), ApiError> {
        self.call(Method::POST, "/api/orders", &[], Some(order))
            .await
            .map(drop)
    }

    /// `GET {path}`, answered with JSON.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.get_with_query(path, &[]).await
    }

    /// `GET {path}?{query}`, answered with JSON.
    pub async fn get_with_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let answer = self.call(Method::GET, path, query, None::<&()>).await?;
        json_body(&answer, path)
    }

    /// A request with a JSON body (or none), answered with JSON.
    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let answer = self.call(method, path, &[], body).await?;
        json_body(&answer, path)
    }

    /// A request with a JSON body (or none) whose success has no body to read (`204`).
    pub async fn send_no_content<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), ApiError> {
        self.call(method, path, &[], body).await.map(drop)
    }

    /// A call, once more after renewing the access token if the API found it expired (REST
    /// mode, with a refresh token); any other 401 ends the session, with the server's reason.
    async fn call<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Answer, ApiError> {
        let sent = self.session.cookie_token();
        let mut refused = match self.call_once(method.clone(), path, query, body).await? {
            Ok(answer) => return Ok(answer),
            Err(refused) => refused,
        };
        if refused.wants_nonce {
            // Once more, the proof carrying the nonce the API just sent.
            refused = match self.call_once(method.clone(), path, query, body).await? {
                Ok(answer) => return Ok(answer),
                Err(again) => again,
            };
        }
        let refused = match self.renewer.get_value() {
            Some(refresher) if refused.expired => {
                refresher.renew().await;
                // Renewed (by this call, another one refused at the same time, or another
                // tab): once more with the new token.
                match self.session.cookie_token() {
                    Some(now) if Some(&now) != sent.as_ref() => {
                        match self.call_once(method, path, query, body).await? {
                            Ok(answer) => return Ok(answer),
                            Err(again) => again,
                        }
                    }
                    _ => refused,
                }
            }
            _ => refused,
        };
        let why = capitalized(&refused.why);
        // A renewal that failed has ended the session already (REST), with its own reason.
        let ended = self.session.mode() == AppMode::Rest && self.session.cookie_token().is_none();
        if !ended {
            self.session
                .expire_refused(session_ended(&why), refused.request_id);
        }
        Err(ApiError::Unauthorized(why))
    }

    async fn call_once<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Result<Answer, Refused401>, ApiError> {
        let (name, value, bound_to) = self.credential()?;
        let mut builder = RequestBuilder::new(&self.url(path))
            .method(method.clone())
            .header(name, &value)
            .query(query.iter().map(|(name, value)| (*name, value.as_str())));
        // RFC 9449 §7.1: a bound token goes with a proof for this request, hashing the token.
        let proof = match (&bound_to, value.strip_prefix("DPoP ")) {
            (Some(jkt), Some(token)) => Some(
                proof(
                    Binding::Key(jkt),
                    method.as_ref(),
                    &self.url(path),
                    Some(token),
                )
                .await?,
            ),
            _ => None,
        };
        if let Some(proof) = &proof {
            builder = builder.header(dpop::HEADER, proof);
        }
        let step = match self.session.mode() {
            AppMode::Rest => Step::Api,
            AppMode::Mvc => Step::Server,
        };
        let mut entry = Entry::new(step, method.as_ref(), self.url(path)).header(name, value);
        if let Some(proof) = proof {
            entry = entry.header(dpop::HEADER, proof).note(Note::new(
                "DPoP",
                "the access token is bound to this browser's key (cnf.jkt): it goes as \
                Authorization: DPoP, with a proof for this request signed by the key, which \
                hashes the token (ath, RFC 9449 §7.1)",
            ));
        }
        if self.session.mode() == AppMode::Mvc {
            entry = entry.note(Note::new(
                "cookie",
                "the session cookie goes along too: HttpOnly, so neither this page nor this \
                 timeline can read it; the server adds the access token",
            ));
        }
        let built = match body {
            Some(body) => {
                let json = serde_json::to_string(body).map_err(|_| {
                    ApiError::BadResponse("The request body could not be encoded.".into())
                })?;
                entry = entry
                    .header("Content-Type", "application/json")
                    .body(json.clone());
                builder
                    .header("Content-Type", "application/json")
                    .body(json)
            }
            None => builder.build(),
        }
        .map_err(|_| ApiError::BadResponse("The request could not be built.".into()))?;
        // The URL as fetch sends it (the query encoded by the browser).
        entry.url = built.url();
        self.send(built, entry).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// REST, RFC 6750 §2.1: the token goes in the `Authorization` header, never in the URL.
    /// MVC: the browser has no token; the session cookie goes along by itself (same origin), and
    /// the session's CSRF token shows the call comes from this app, not from a page that made the
    /// browser send it.
    /// With the key (`cnf.jkt`) the token is bound to, if it is.
    fn credential(&self) -> Result<(&'static str, String, Option<String>), ApiError> {
        match self.session.mode() {
            AppMode::Rest => {
                let token = self.session.bearer().ok_or(ApiError::NotLoggedIn)?;
                // A token bound to a key (RFC 9449 §6.1 `cnf`) goes with the DPoP scheme: the
                // token sent decides (another tab may have put a new one in the cookie).
                let bound_to = dpop::jkt_of(&token);
                let scheme = if bound_to.is_some() { "DPoP" } else { "Bearer" };
                Ok(("Authorization", format!("{scheme} {token}"), bound_to))
            }
            AppMode::Mvc => {
                let csrf = self.session.csrf_token().ok_or(ApiError::NotLoggedIn)?;
                Ok((bff::CSRF_HEADER, csrf, None))
            }
        }
    }

    async fn send(
        &self,
        request: Request,
        entry: Entry,
    ) -> Result<Result<Answer, Refused401>, ApiError> {
        let answer = Answer::of(request, entry)
            .await
            .map_err(|_| ApiError::Unreachable {
                service: "API",
                url: self.base.clone(),
            })?;
        // An answer whose refusal the server recorded says so (`X-Refusal-Recorded`); a
        // success leaves no refusal to explain.
        remember_nonce(&self.base, &answer);
        let recorded = answer.headers.get("x-refusal-recorded").is_some();
        let refused = recorded
            .then(|| answer.headers.get("x-request-id"))
            .flatten();
        if recorded || answer.ok() {
            self.refused.set(refused.clone());
        }
        match answer.status {
            200..=299 => Ok(Ok(answer)),
            401 => {
                let why = rejection_reason(&answer);
                let wants_nonce = answer
                    .headers
                    .get("www-authenticate")
                    .and_then(|header| challenge_param(&header, "error"))
                    .is_some_and(|error| error == "use_dpop_nonce");
                Ok(Err(Refused401 {
                    expired: why.contains("expired"),
                    wants_nonce,
                    why,
                    request_id: refused,
                }))
            }
            403 => {
                let scope = answer
                    .headers
                    .get("www-authenticate")
                    .and_then(|header| challenge_param(&header, "scope"));
                match answer.error_body() {
                    Some(body) if body.error != "insufficient_scope" => Err(ApiError::Rejected {
                        status: 403,
                        body: Some(body),
                    }),
                    _ => Err(ApiError::InsufficientScope { scope }),
                }
            }
            _ => Err(answer.rejected()),
        }
    }
}

/// The `error_description` of a 401, from `WWW-Authenticate` (RFC 6750 §3) or the body.
fn rejection_reason(answer: &Answer) -> String {
    answer
        .headers
        .get("www-authenticate")
        .and_then(|header| challenge_param(&header, "error_description"))
        .or_else(|| answer.error_body().and_then(|body| body.error_description))
        .unwrap_or_else(|| "The API no longer accepts your access token".to_owned())
}

/// Error descriptions are written as phrases ("the access token expired"); the flash shows
/// them as a sentence.
pub fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One parameter of a `Bearer` challenge (RFC 6750 §3), e.g. `error_description` from
/// `Bearer error="invalid_token", error_description="The access token expired"`, or of a
/// `DPoP` one (RFC 9449 §7.1), which has the same parameters.
fn challenge_param(header: &str, name: &str) -> Option<String> {
    let header = header.trim_start();
    let params = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("DPoP "))?;
    let mut rest = params;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, remainder) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_owned(), &after[end..])
            }
        };
        if key.trim().eq_ignore_ascii_case(name) {
            return Some(value);
        }
        rest = remainder;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        assert_eq!(
            well_known_url("http://localhost:5000"),
            "http://localhost:5000/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            well_known_url("https://example.com/tenant/"),
            "https://example.com/.well-known/oauth-authorization-server/tenant"
        );
    }

    #[test]
    fn mvc_calls_go_to_the_apps_own_origin() {
        let mut config = AppConfig {
            api_base: "http://127.0.0.1:5000/".into(),
            ..AppConfig::default()
        };
        assert_eq!(
            api_base(&config, "http://127.0.0.1:8080"),
            "http://127.0.0.1:5000"
        );
        config.mode = AppMode::Mvc;
        assert_eq!(
            api_base(&config, "http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/bff"
        );
    }

    #[test]
    fn capitalizes() {
        assert_eq!(capitalized("the token expired"), "The token expired");
        assert_eq!(capitalized(""), "");
    }

    #[test]
    fn session_ended_messages() {
        assert_eq!(
            session_ended("the refresh token was revoked"),
            "The refresh token was revoked — please log in again."
        );
        assert_eq!(
            session_ended("The access token expired."),
            "The access token expired — please log in again."
        );
    }

    #[test]
    fn bearer_challenges() {
        let header =
            r#"Bearer error="invalid_token", error_description="The access token expired""#;
        assert_eq!(
            challenge_param(header, "error").as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            challenge_param(header, "error_description").as_deref(),
            Some("The access token expired")
        );
        assert_eq!(challenge_param(header, "scope"), None);
        let header = r#"Bearer realm="api",error=insufficient_scope, scope="orders:write""#;
        assert_eq!(
            challenge_param(header, "scope").as_deref(),
            Some("orders:write")
        );
        assert_eq!(
            challenge_param(
                r#"Bearer error_description="say \"hi\"""#,
                "error_description"
            )
            .as_deref(),
            Some(r#"say "hi""#)
        );
        assert_eq!(challenge_param("Basic realm=\"x\"", "realm"), None);
    }
}
