//! The device authorization grant (RFC 8628), for devices that cannot show a login page or
//! take a password: a TV, a console, a command line.
//!
//! 1. The device asks `POST /device/authorize` (§3.1), authenticated as at the token endpoint
//!    (a public client names itself), and gets a device code, a user code and the verification
//!    page's address (§3.2) ([`start`]).
//! 2. The user opens `/device` on a phone or a laptop, types the user code ([`user_code`]),
//!    sees which client asks for what, logs in and allows it, or denies it (§3.3, §5.4)
//!    ([`verify`]).
//! 3. Meanwhile the device polls the token endpoint with the device code (§3.4) and hears
//!    `authorization_pending`, `slow_down`, `access_denied` or `expired_token` (§3.5), or gets
//!    its tokens, once (see `token::device_code`).
//!
//! Each authorization server has the same endpoints under its issuer, as Okta lays them out
//! (`/oauth2/{id}/v1/device/authorize`, `/oauth2/{id}/v1/device`).

pub mod user_code;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::oauth::{DeviceAuthorizationResponse, GrantType};
use shared::scope::ScopeSet;

use super::authorize::login::{self, Credentials};
use super::authorize::page::{self, PageError, PageForm};
use super::authorize::{checked_form, set_csrf_cookie_at};
use super::client_auth;
use super::discovery::KnownServer;
use super::error::{OAuthError, no_store};
use super::params::{FormBody, Params};
use super::resource::Target;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::oauth::scope_for_user;
use crate::servers::{AuthServer, Governing, Offered};
use crate::state::AppState;
use crate::storage::{
    Client, DeviceAnswer, DeviceRequest, DeviceStatus, DeviceVerdict, NewDeviceRequest,
};
use crate::throttle::{Verdict, address_key, retry_after_secs};

#[utoipa::path(post, path = "/device/authorize", tag = "OAuth",
    security((), ("clientBasic" = [])),
    request_body(content = crate::openapi::DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 8628 §3.2: show the user `user_code` and `verification_uri` (or `verification_uri_complete` as a link or QR code), then poll `/token` with `device_code` every `interval` seconds", body = shared::oauth::DeviceAuthorizationResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 8628 §3.2 with RFC 6749 §5.2: `invalid_request`, `invalid_scope`, `unauthorized_client` (the client may not use the device grant); RFC 8707: `invalid_target`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 413, description = "The request is larger than 16 KiB", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn device_authorization(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let root = state.root.clone();
    respond(handle(&state, &root, address, &headers, query.as_deref(), &body).await)
}

/// An authorization server's device authorization endpoint: its device codes are redeemed at
/// its token endpoint, their user codes entered at its verification page.
#[utoipa::path(post, path = "/oauth2/{server}/v1/device/authorize", tag = "Authorization servers",
    security((), ("clientBasic" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = crate::openapi::DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "RFC 8628 §3.2, for this server's verification page and token endpoint", body = shared::oauth::DeviceAuthorizationResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 8628 §3.2 with RFC 6749 §5.2: `invalid_request`, `invalid_scope`, `unauthorized_client`, `invalid_target`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 413, description = "The request is larger than 16 KiB", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn server_device_authorization(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    respond(handle(&state, &server, address, &headers, query.as_deref(), &body).await)
}

fn respond(outcome: Result<DeviceAuthorizationResponse, OAuthError>) -> Response {
    match outcome {
        // §3.2: 200, and (as any response carrying a credential) never cached.
        Ok(started) => (no_store(), Json(started)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    server: &Arc<AuthServer>,
    address: IpAddr,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    let params = Params::post(headers, query, body)?;
    // §3.1: the client authenticates as at the token endpoint; a public client names itself.
    let (client, _) = client_auth::authenticate(state, server, address, headers, &params).await?;
    // Every request stores a row until it expires: counted per address, as logins are, so that
    // no one can fill the database through a public client.
    if let Verdict::Refused(wait) = state
        .throttles
        .device_requests_per_address
        .hit(&state.db, &address_key(address), state.clock.now_us())
        .await?
    {
        return Err(OAuthError::throttled(
            "too many device authorization requests from this address; wait before asking again",
            retry_after_secs(wait),
        ));
    }
    start(state, server, &client, &params, state.clock.now()).await
}

/// Checks the device authorization request `params` of `client` at `server` (§3.1) and stores
/// it under a new device code and user code (§3.2).
pub async fn start(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    params: &Params,
    now: Timestamp,
) -> Result<DeviceAuthorizationResponse, OAuthError> {
    if !client.may_use_grant(GrantType::DeviceCode) {
        return Err(OAuthError::unauthorized_client(format!(
            "client {:?} is not allowed to use the device authorization grant ({}); add it to \
             the client's grant types",
            client.id,
            GrantType::DeviceCode.as_str()
        )));
    }
    let asked = params
        .get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let offered = server.offered(&state.db).await?;
    let scope = requested_scope(client, offered.as_ref(), asked)?;
    // RFC 8707 §2: every resource must be one this issuer issues tokens for.
    let audiences =
        Target::new(&state.config, server).resolve(params.resources(), &state.servers)?;
    let audiences = audiences.into();
    // §3.2: the device code is 256 random bits, the user code short enough to type (see
    // `user_code`); only their hashes are stored. A user code already in use (one chance in
    // billions while codes live ten minutes) is drawn again.
    let device_code = crypto::random_token(32);
    let device_code_hash = crypto::sha256_hex(&device_code);
    let ttl = state.config.device_code_ttl;
    let interval = state.config.device_poll_interval;
    for _ in 0..8 {
        let code = user_code::generate();
        let stored = state
            .db
            .insert_device_request(&NewDeviceRequest {
                device_code_hash: &device_code_hash,
                user_code_hash: &user_code::hash(&code),
                client_id: &client.id,
                server_id: server.id(),
                server_generation: server.generation(),
                scope: &scope,
                audiences: &audiences,
                expires_at: now.after(ttl),
                interval_secs: i64::try_from(interval).unwrap_or(i64::MAX),
            })
            .await?;
        if stored {
            let verification_uri = server.endpoint("/device");
            let shown = user_code::display(&code);
            return Ok(DeviceAuthorizationResponse {
                device_code,
                verification_uri_complete: format!("{verification_uri}?user_code={shown}"),
                verification_uri,
                user_code: shown,
                expires_in: ttl,
                interval,
            });
        }
    }
    Err(OAuthError::server_error(
        "no free user code was found; try again",
    ))
}

#[utoipa::path(get, path = "/device", tag = "OAuth",
    params(("user_code" = Option<String>, Query, description = "The code the device shows (`verification_uri_complete` carries it)")),
    responses(
        (status = 200, description = "The form for the user code; with a valid code, which client asks for what, and the login that allows it", content_type = "text/html"),
        (status = 400, description = "The form again: the code is not one, has expired or was answered", content_type = "text/html"),
        (status = 403, description = "The form again: the client may no longer use the device grant (an administrator took it away since the device asked)", content_type = "text/html"),
        (status = 429, description = "The form again: too many codes tried from this address, with `Retry-After`", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn verification(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
) -> Response {
    let root = state.root.clone();
    show(&state, &root, address, query.as_deref()).await
}

/// An authorization server's verification page, for the user codes of its own device
/// authorization endpoint.
#[utoipa::path(get, path = "/oauth2/{server}/v1/device", tag = "Authorization servers",
    params(
        ("server" = String, Path, description = "The authorization server's id"),
        ("user_code" = Option<String>, Query, description = "The code the device shows"),
    ),
    responses(
        (status = 200, description = "The form for the user code; with a valid code, the login that allows it", content_type = "text/html"),
        (status = 400, description = "The form again: the code is not one of this server's, has expired or was answered", content_type = "text/html"),
        (status = 403, description = "The form again: the client may no longer use the device grant", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, description = "The form again: too many codes tried from this address", content_type = "text/html"),
    ))]
pub async fn server_verification(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
) -> Response {
    show(&state, &server, address, query.as_deref()).await
}

/// The scope a device request of `client` gets at a server offering `offered` (`None`: the
/// root issuer, which offers every scope) for `asked`, its `scope` parameter (§3.1). Without
/// one, or with an empty one, what the client is registered for that the server offers
/// (RFC 6749 §3.3); a named scope must be among the client's and the server's, or the request
/// is refused with `invalid_scope`, which says what may be asked.
pub fn requested_scope(
    client: &Client,
    offered: Option<&Offered>,
    asked: Option<ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    let Some(asked) = asked.filter(|asked| !asked.is_empty()) else {
        let here: ScopeSet = client
            .scopes
            .iter()
            .filter(|s| offered.is_none_or(|offered| offered.scopes.contains(s)))
            .collect();
        if !here.is_empty() {
            return Ok(here);
        }
        return Err(OAuthError::invalid_scope(match offered {
            Some(offered) if !client.scopes.is_empty() => format!(
                "no scope to grant: authorization server {:?} offers none of client {:?}'s \
                 scopes ({}); ask for scopes it offers: {}",
                offered.server_id, client.id, client.scopes, offered.scopes
            ),
            _ => format!(
                "no scope to grant: client {:?} has no allowed scopes; give it some first",
                client.id
            ),
        }));
    };
    let refused: Vec<&str> = asked.difference(&client.scopes).collect();
    if !refused.is_empty() {
        return Err(OAuthError::invalid_scope(format!(
            "client {:?} may not ask for: {}; it may ask for: {}",
            client.id,
            refused.join(" "),
            client.scopes
        )));
    }
    // A custom server's scopes are its own (and OpenID Connect's).
    if let Some(why) = offered.and_then(|offered| offered.refusal(&asked)) {
        return Err(OAuthError::invalid_scope(why));
    }
    Ok(asked)
}

/// The verification page for what `query` carries: the form for the code, or, for a pending
/// code of this server, the approval with its login.
async fn show(
    state: &AppState,
    server: &Arc<AuthServer>,
    address: IpAddr,
    query: Option<&str>,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(e) => return PageError::bad_request(e.to_string()).into_response(),
    };
    let Some(typed) = params.get("user_code") else {
        return page::device_code(server, StatusCode::OK, "", None);
    };
    match find(state, server, address, typed).await {
        Ok(found) => {
            let csrf = crypto::random_token(32);
            let mut response = approval(state, server, &found, &csrf, None);
            set_csrf_cookie_at(
                state,
                &server.endpoint_path("/device"),
                &mut response,
                Some(&csrf),
            );
            response
        }
        Err(refused) => refused.page(server, typed),
    }
}

#[utoipa::path(post, path = "/device", tag = "OAuth", description = "The verification page's answer (posted by the page `GET /device` serves, with its anti-forgery cookie): for browsers, not API clients.",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 200, description = "Allowed or denied (the device hears it at its next poll); or the form again, saying what went wrong", content_type = "text/html"),
        (status = 400, description = "The code form again: the code expired or was answered meanwhile", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, the anti-forgery token does not match its cookie, or the server's access policy refuses this user the client; or the code form again: the client may no longer use the device grant", content_type = "text/html"),
        (status = 413, description = "The form is larger than this page takes", content_type = "text/html"),
        (status = 429, description = "The form again: too many attempts, with `Retry-After`", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    let root = state.root.clone();
    answered(&state, &root, address, &headers, &body).await
}

/// The verification page's answer at an authorization server.
#[utoipa::path(post, path = "/oauth2/{server}/v1/device", tag = "Authorization servers", description = "The verification page's answer at an authorization server: for browsers, not API clients. Answers as `POST /device` does.",
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 200, description = "Allowed or denied; or the form again, saying what went wrong", content_type = "text/html"),
        (status = 400, description = "The code form again: the code expired or was answered meanwhile", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, or the server's access policy refuses this user the client; or the code form again: the client may no longer use the device grant", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, description = "The form again: too many attempts", content_type = "text/html"),
    ))]
pub async fn server_verify(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    answered(&state, &server, address, &headers, &body).await
}

async fn answered(
    state: &AppState,
    server: &Arc<AuthServer>,
    address: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let params = match checked_form(headers, body) {
        Ok(params) => params,
        Err(refused) => return refused.into_response(),
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let typed = params.get("user_code").unwrap_or_default();
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return PageError::bad_request("The form was sent without an answer (allow or deny).")
                .into_response();
        }
    };
    // Looked up again (and counted again): the hidden field is only the browser's copy.
    let found = match find(state, server, address, typed).await {
        Ok(found) => found,
        Err(refused) => return refused.page(server, typed),
    };
    match decide(state, server, &found, allow, &params, address).await {
        Ok(Decision::Answered { allowed }) => page::device_done(allowed, &found.client.name),
        Ok(Decision::Retry(message)) => approval(state, server, &found, csrf, Some(message)),
        Ok(Decision::Throttled(wait)) => {
            let secs = retry_after_secs(wait);
            let message = format!("Too many login attempts. Wait {secs} seconds, then try again.");
            let mut response = approval(state, server, &found, csrf, Some(&message));
            throttled(&mut response, secs);
            response
        }
        Ok(Decision::AlreadyAnswered) => NotFound::Answered.page(server, typed),
        Err(error) => error.into_response(),
    }
}

/// A pending device request, found by its user code, with its client.
struct Found {
    /// The user code as the device shows it.
    shown: String,
    hash: String,
    request: DeviceRequest,
    client: Client,
}

/// Why a typed user code leads nowhere.
enum NotFound {
    /// Not a code's shape, or no code of this server's.
    Unknown,
    /// Its time ran out.
    Expired,
    /// Someone answered it already.
    Answered,
    /// Its client may no longer use the device grant (an administrator took it away since
    /// the device asked): the name of the client.
    Barred(String),
    /// Too many codes tried from this address.
    Throttled(std::time::Duration),
    Failed(PageError),
}

impl From<crate::storage::Error> for NotFound {
    fn from(e: crate::storage::Error) -> Self {
        Self::Failed(e.into())
    }
}

impl NotFound {
    /// The code form again, saying why (or the error page of a failure).
    fn page(self, server: &AuthServer, typed: &str) -> Response {
        let (status, message) = match self {
            Self::Unknown => (
                StatusCode::BAD_REQUEST,
                "That code is not valid here. Check the code on your device (eight letters, like \
                 BCDF-GHJK) and the address you opened."
                    .to_owned(),
            ),
            Self::Expired => (
                StatusCode::BAD_REQUEST,
                "That code has expired. Start again on your device to get a new one.".to_owned(),
            ),
            Self::Answered => (
                StatusCode::BAD_REQUEST,
                "That code was already answered. If that was not you, deny access on your device \
                 and start again."
                    .to_owned(),
            ),
            Self::Barred(client) => (
                StatusCode::FORBIDDEN,
                format!(
                    "{client} may no longer log in from a device here. Ask the administrator of \
                     this server to allow it the device grant, then start again on your device."
                ),
            ),
            Self::Throttled(wait) => {
                let secs = retry_after_secs(wait);
                let mut response = page::device_code(
                    server,
                    StatusCode::TOO_MANY_REQUESTS,
                    typed,
                    Some(&format!(
                        "Too many codes tried. Wait {secs} seconds, then try again."
                    )),
                );
                throttled(&mut response, secs);
                return response;
            }
            Self::Failed(error) => return error.into_response(),
        };
        page::device_code(server, status, typed, Some(&message))
    }
}

fn throttled(response: &mut Response, secs: u64) {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(secs),
    );
}

/// The pending request `typed` names at `server`, counted against `address` (§5.1: every code
/// tried counts, so that guessing one takes longer than codes live).
async fn find(
    state: &AppState,
    server: &AuthServer,
    address: IpAddr,
    typed: &str,
) -> Result<Found, NotFound> {
    if let Verdict::Refused(wait) = state
        .throttles
        .user_codes_per_address
        .hit(&state.db, &address_key(address), state.clock.now_us())
        .await?
    {
        return Err(NotFound::Throttled(wait));
    }
    let Some(code) = user_code::normalize(typed) else {
        return Err(NotFound::Unknown);
    };
    let hash = user_code::hash(&code);
    let Some(request) = state.db.device_request_by_user_code(&hash).await? else {
        return Err(NotFound::Unknown);
    };
    if !server.owns(
        request.server_id.as_deref(),
        request.server_generation.as_deref(),
    ) {
        return Err(NotFound::Unknown);
    }
    if request.expires_at <= state.clock.now() {
        return Err(NotFound::Expired);
    }
    if request.status != DeviceStatus::Pending {
        return Err(NotFound::Answered);
    }
    let Some(client) = state.db.client(&request.client_id).await? else {
        return Err(NotFound::Unknown);
    };
    // The client as it is now: one that lost the grant since the device asked is refused here,
    // before anyone logs in, as the token endpoint would refuse its polls.
    if !client.may_use_grant(GrantType::DeviceCode) {
        return Err(NotFound::Barred(client.name));
    }
    Ok(Found {
        shown: user_code::display(&code),
        hash,
        request,
        client,
    })
}

fn approval(
    state: &AppState,
    server: &AuthServer,
    found: &Found,
    csrf: &str,
    error: Option<&str>,
) -> Response {
    let hidden = vec![
        ("user_code", found.shown.clone()),
        ("csrf_token", csrf.to_owned()),
    ];
    page::device_approval(
        state,
        server,
        &found.client,
        &found.shown,
        &found.request.scope,
        hidden,
        error,
    )
}

/// What the user's post did.
enum Decision {
    /// Recorded: the device hears it at its next poll.
    Answered {
        allowed: bool,
    },
    /// The login failed: the form again with this message.
    Retry(&'static str),
    Throttled(std::time::Duration),
    /// Another post (another tab, another instance) answered first.
    AlreadyAnswered,
}

/// Records the user's answer to `found`: a denial as it is; an approval once the user has
/// logged in and the server's policy allows them the client and scopes (a policy's refusal is
/// the device's `access_denied`, and the user reads why).
async fn decide(
    state: &AppState,
    server: &AuthServer,
    found: &Found,
    allow: bool,
    params: &Params,
    address: IpAddr,
) -> Result<Decision, PageError> {
    let client_id = &found.client.id;
    let now_us = state.clock.now_us();
    let now = Timestamp::from_micros(now_us);
    if !allow {
        let answered = state
            .db
            .answer_device_request(&DeviceAnswer {
                user_code_hash: &found.hash,
                user_id: None,
                verdict: DeviceVerdict::Denied,
                now,
            })
            .await?;
        if !answered {
            return Ok(Decision::AlreadyAnswered);
        }
        let event = Event::new(EventKind::ConsentDenied)
            .client(client_id)
            .address(address)
            .detail("denied on the device verification page");
        state.events.record(event).await;
        return Ok(Decision::Answered { allowed: false });
    }
    if let Some(wait) = login::address_allows(state, address, now_us).await? {
        return Ok(Decision::Throttled(wait));
    }
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let user =
        match login::credentials(state, client_id, username, password, address, now_us).await? {
            Credentials::Valid(user) => user,
            Credentials::Retry(message) => return Ok(Decision::Retry(message)),
            Credentials::Throttled(wait) => return Ok(Decision::Throttled(wait)),
        };
    // RFC 6749 §3.3: what the user's role does not allow is left out, not refused; so is what
    // the client may no longer ask for (an administrator narrowed it since the device asked).
    let still: ScopeSet = found
        .request
        .scope
        .iter()
        .filter(|s| found.client.scopes.contains(s))
        .collect();
    let scope = scope_for_user(&user, still);
    let audience = found.request.audiences.audience();
    let governing = Governing {
        client_id,
        grant_type: GrantType::DeviceCode,
        refreshes: None,
        user: Some(&user),
        scope: &scope,
        audience: audience.as_ref(),
    };
    if let Err(refused) = server.govern(&state.db, governing).await? {
        // The device hears why at its next poll (`access_denied` with the policy's words), and
        // the user reads it here.
        let answered = state
            .db
            .answer_device_request(&DeviceAnswer {
                user_code_hash: &found.hash,
                user_id: Some(&user.id),
                verdict: DeviceVerdict::Refused(&refused.description),
                now,
            })
            .await?;
        if !answered {
            return Ok(Decision::AlreadyAnswered);
        }
        let event = Event::new(EventKind::PolicyDenied)
            .client(client_id)
            .user(&user.id)
            .address(address)
            .detail(refused.description.clone());
        state.events.record(event).await;
        return Err(PageError::forbidden(format!(
            "You cannot connect {} here: {}. The device is told access was denied, and why.",
            found.client.name, refused.description
        )));
    }
    let answered = state
        .db
        .answer_device_request(&DeviceAnswer {
            user_code_hash: &found.hash,
            user_id: Some(&user.id),
            verdict: DeviceVerdict::Allowed(&scope),
            now,
        })
        .await?;
    if !answered {
        return Ok(Decision::AlreadyAnswered);
    }
    let event = Event::new(EventKind::ConsentGranted)
        .client(client_id)
        .user(&user.id)
        .address(address)
        .detail(format!(
            "device allowed on the verification page; scope {scope}"
        ));
    state.events.record(event).await;
    Ok(Decision::Answered { allowed: true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::{client, demo_state};

    fn params(raw: &str) -> Params {
        Params::parse(raw.as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn a_request_is_checked_and_stored_under_hashes_only() {
        let (state, _dir) = demo_state(&[]).await;
        let cli = client(&state, "demo-cli").await;
        let now = state.clock.now();
        let started = start(
            &state,
            &state.root,
            &cli,
            &params("scope=openid+products:read"),
            now,
        )
        .await
        .unwrap();
        assert_eq!(started.user_code.len(), 9);
        assert_eq!(started.interval, 5);
        assert_eq!(started.expires_in, 600);
        assert!(started.verification_uri.ends_with("/device"));
        assert!(
            started
                .verification_uri_complete
                .ends_with(&format!("/device?user_code={}", started.user_code))
        );
        let stored = state
            .db
            .device_request(&crypto::sha256_hex(&started.device_code))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.status, DeviceStatus::Pending);
        assert_eq!(stored.scope.to_string(), "openid products:read");
        let code = user_code::normalize(&started.user_code).unwrap();
        assert!(
            state
                .db
                .device_request_by_user_code(&user_code::hash(&code))
                .await
                .unwrap()
                .is_some()
        );

        // Refusals store nothing.
        let wider = start(&state, &state.root, &cli, &params("scope=admin"), now).await;
        assert_eq!(
            wider.unwrap_err().code,
            shared::oauth::ErrorCode::InvalidScope
        );
        let spa = client(&state, "demo-spa").await;
        let not_allowed = start(&state, &state.root, &spa, &params("scope=openid"), now).await;
        assert_eq!(
            not_allowed.unwrap_err().code,
            shared::oauth::ErrorCode::UnauthorizedClient
        );
        assert_eq!(state.db.count("device_authorizations").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn without_a_scope_a_device_gets_what_its_client_has_and_the_server_offers() {
        let (state, _dir) = demo_state(&[]).await;
        let cli = client(&state, "demo-cli").await;
        let scope = |raw: &str| ScopeSet::parse(raw).unwrap();
        let all = cli.scopes.clone();
        // At the root issuer, the client's scopes; an empty `scope=` is no scope.
        assert_eq!(requested_scope(&cli, None, None).unwrap(), all);
        assert_eq!(requested_scope(&cli, None, Some(scope(""))).unwrap(), all);
        // At a server, those it offers.
        let offered = Offered {
            server_id: "orders".into(),
            scopes: scope("openid orders:read orders:write"),
        };
        assert_eq!(
            requested_scope(&cli, Some(&offered), None).unwrap(),
            scope("openid orders:read")
        );
        // Named scopes must be the client's and the server's; the refusal says which.
        let outside = requested_scope(&cli, Some(&offered), Some(scope("orders:write")));
        assert!(
            outside
                .unwrap_err()
                .description
                .contains("may not ask for: orders:write")
        );
        let unoffered = requested_scope(&cli, Some(&offered), Some(scope("products:read")));
        assert!(
            unoffered
                .unwrap_err()
                .description
                .contains("does not offer products:read")
        );
        let nothing = Offered {
            server_id: "billing".into(),
            scopes: scope("billing:read"),
        };
        let none = requested_scope(&cli, Some(&nothing), None).unwrap_err();
        assert_eq!(none.code, shared::oauth::ErrorCode::InvalidScope);
        assert!(
            none.description.contains("offers none of client"),
            "{}",
            none.description
        );
    }
}
