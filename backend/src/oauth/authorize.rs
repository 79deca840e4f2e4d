//! The authorization endpoint (RFC 6749 §3.1, §4.1.1) and its login form.
//!
//! `GET /authorize` validates the request and shows a login form; the form posts to
//! `POST /authorize/login`, which validates the same request again (the form's hidden fields
//! are only a copy the browser keeps, so nothing about them is trusted), checks the password
//! and redirects back to the client with a code. Nothing is stored until the login succeeds.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::pkce::{CodeChallenge, METHOD_S256};
use shared::scope::ScopeSet;
use url::Url;

use super::consent;
use super::page;
use super::params::Params;
use super::throttle::{address_key, retry_after_secs};
use super::token::GrantType;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::state::AppState;
use crate::storage::{Client, CodeGrant, NewCode, User, now};
use crate::web;

/// Name of the cookie that carries the login form's anti-forgery token (double submit).
const CSRF_COOKIE: &str = "login_csrf";
const MAX_STATE_LEN: usize = 2048;
const MAX_NONCE_LEN: usize = 512;
const MAX_USERNAME_LEN: usize = 256;
/// Bounds the work one login attempt can cost the server.
const MAX_PASSWORD_LEN: usize = 1024;

/// A validated authorization request.
struct AuthorizationRequest {
    client: Client,
    redirect_uri: String,
    scope: ScopeSet,
    state: Option<String>,
    code_challenge: CodeChallenge,
    nonce: Option<String>,
}

/// Why a request was refused, and how the refusal must be delivered.
enum Refusal {
    /// RFC 6749 §4.1.2.1: with no trustworthy redirect URI (unknown client, unregistered or
    /// missing URI) the user sees an error page and is never redirected.
    Page(StatusCode, String),
    /// Everything else goes back to the client's redirect URI with `error` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

pub async fn authorize(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match validate(&state, &params).await {
        Ok(request) => {
            let csrf = crypto::random_token(32);
            let mut response = login_form(&state, &request, &csrf, None);
            set_csrf_cookie(&state, &mut response, Some(&csrf));
            response
        }
        Err(refusal) => refuse(&state, refusal),
    }
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match checked_form(&headers, &body) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    let request = match validate(&state, &params).await {
        Ok(request) => request,
        Err(refusal) => return refuse(&state, refusal),
    };
    let peer = peer.ip();
    let csrf = params.get("csrf_token").unwrap_or_default();
    // Every post counts against the address before anything else happens (RFC 9700 §4.16
    // leaves the means open; OWASP asks for limits per account and per source). Counting is
    // one step with the check, so parallel requests cannot slip past it.
    let throttles = &state.throttles;
    match throttles.login_per_address.hit(&address_key(peer)) {
        Err(wait) => return too_many_attempts(&state, &request, csrf, wait),
        Ok(true) => {
            state
                .events
                .record(
                    Event::new(EventKind::LoginThrottled)
                        .address(peer)
                        .detail("login attempts from this address"),
                )
                .await;
        }
        Ok(false) => {}
    }
    if params.get("action") == Some("cancel") {
        state
            .events
            .record(
                Event::new(EventKind::ConsentDenied)
                    .client(&request.client.id)
                    .address(peer)
                    .detail("cancelled at the login form"),
            )
            .await;
        return deny(&state, &request.redirect_uri, request.state.as_deref());
    }
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return login_form(
            &state,
            &request,
            csrf,
            Some("Enter your username and password."),
        );
    }
    if username.len() > MAX_USERNAME_LEN || password.len() > MAX_PASSWORD_LEN {
        return login_form(
            &state,
            &request,
            csrf,
            Some("Invalid username or password."),
        );
    }
    // A failure for this username is reserved before the password is hashed, and given back
    // if the password is right: a throttled guess costs no Argon2 run, and the right password
    // gets the same 429 as a wrong one, so the throttle reveals nothing.
    let user_exhausted = match throttles.login_per_user.hit(username) {
        Err(wait) => return too_many_attempts(&state, &request, csrf, wait),
        Ok(exhausted) => exhausted,
    };
    let outcome = check_password(&state, username, password).await;
    if !matches!(outcome, Ok(None)) {
        throttles.login_per_user.refund(username);
    }
    let user = match outcome {
        Ok(Some(user)) => user,
        Ok(None) => {
            state
                .events
                .record(
                    Event::new(EventKind::LoginFailed)
                        .client(&request.client.id)
                        .user(username)
                        .address(peer),
                )
                .await;
            if user_exhausted {
                state
                    .events
                    .record(
                        Event::new(EventKind::LoginThrottled)
                            .user(username)
                            .address(peer)
                            .detail("failed logins for this username"),
                    )
                    .await;
            }
            return login_form(
                &state,
                &request,
                csrf,
                Some("Invalid username or password."),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The login could not be completed. Try again.",
            );
        }
    };
    state
        .events
        .record(
            Event::new(EventKind::LoginSucceeded)
                .client(&request.client.id)
                .user(&user.id)
                .address(peer),
        )
        .await;

    let now = now();
    let grant = CodeGrant {
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        // RFC 6749 §3.3: what the user's role does not allow is left out, not refused; the
        // token response says what was granted.
        scope: super::scope_for_user(&user, request.scope.clone()).to_string(),
        user_id: user.id,
        code_challenge: request.code_challenge.as_str().to_owned(),
        nonce: request.nonce.clone(),
        auth_time: now,
        expires_at: now + i64::try_from(state.config.authorization_code_ttl).unwrap_or(60),
    };
    match consent::needed(&state, &request.client, &grant).await {
        Ok(None) => issue_code(&state, &grant, request.state.as_deref()).await,
        Ok(Some(scopes)) => {
            consent::ask(
                &state,
                &request.client,
                &grant,
                request.state,
                csrf,
                &scopes,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "checking consent failed");
            page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The login could not be completed. Try again.",
            )
        }
    }
}

/// The body of a form this server's own page posted: parsed, and with the double-submit
/// anti-forgery check passed (shared by the login and consent forms). `Err(page)` otherwise.
pub(super) fn checked_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, Box<Response>> {
    let params = Params::parse(body)
        .map_err(|e| Box::new(page::error(StatusCode::BAD_REQUEST, &e.to_string())))?;
    let csrf_ok = match (params.get("csrf_token"), web::cookie(headers, CSRF_COOKIE)) {
        (Some(form), Some(cookie)) => crypto::constant_time_eq(form.as_bytes(), cookie.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return Err(Box::new(page::error(
            StatusCode::FORBIDDEN,
            "This form has expired or was not sent by this server's own page. \
             Go back to the application and start the login again.",
        )));
    }
    Ok(params)
}

fn too_many_attempts(
    state: &AppState,
    request: &AuthorizationRequest,
    csrf: &str,
    wait: std::time::Duration,
) -> Response {
    let secs = retry_after_secs(wait);
    let mut response = login_form(
        state,
        request,
        csrf,
        Some(&format!(
            "Too many login attempts. Wait {secs} seconds, then try again."
        )),
    );
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Stores a code for `grant` and sends the browser back to the client with it.
pub(super) async fn issue_code(
    state: &AppState,
    grant: &CodeGrant,
    client_state: Option<&str>,
) -> Response {
    let code = crypto::random_token(32);
    if let Err(e) = state
        .db
        .insert_code(&NewCode {
            code_hash: &crypto::sha256_hex(&code),
            grant,
        })
        .await
    {
        tracing::error!(error = %e, "storing an authorization code failed");
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The login could not be completed. Try again.",
        );
    }
    let mut response = redirect(state, &grant.redirect_uri, &[("code", &code)], client_state);
    set_csrf_cookie(state, &mut response, None);
    response
}

/// RFC 6749 §4.1.2.1: the user said no.
pub(super) fn deny(state: &AppState, redirect_uri: &str, client_state: Option<&str>) -> Response {
    let mut response = redirect(
        state,
        redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "the user denied the request"),
        ],
        client_state,
    );
    set_csrf_cookie(state, &mut response, None);
    response
}

/// Checks the credentials; `Some(user id)` on success. Argon2 is deliberately slow, so it runs
/// off the async workers.
async fn check_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> anyhow::Result<Option<User>> {
    let user = state.db.user_by_username(username).await?;
    let password = password.to_owned();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let valid =
        tokio::task::spawn_blocking(move || crypto::verify_password(&password, stored.as_deref()))
            .await?;
    Ok(user.filter(|u| valid && !u.disabled))
}

async fn validate(state: &AppState, params: &Params) -> Result<AuthorizationRequest, Refusal> {
    let page = |message: String| Refusal::Page(StatusCode::BAD_REQUEST, message);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| page("The request has no client_id.".into()))?;
    let client = match state.db.client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => return Err(page(format!("Unknown client {client_id:?}."))),
        Err(e) => {
            tracing::error!(error = %e, "loading a client failed");
            return Err(Refusal::Page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The request could not be processed. Try again.".into(),
            ));
        }
    };
    // OpenID Connect requires redirect_uri, and OAuth 2.1 drops the "only one registered"
    // shortcut; requiring it everywhere keeps the matching rule to one line.
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("The request has no redirect_uri.".into()))?;
    // RFC 9700 §4.1.3: exact string comparison, no pattern and no normalisation.
    if !client
        .redirect_uris
        .iter()
        .any(|registered| registered == redirect_uri)
    {
        return Err(page(format!(
            "The redirect_uri {redirect_uri:?} is not registered for client {client_id:?}; \
             it must match a registered URI exactly."
        )));
    }

    let state_param = params.get("state").map(str::to_owned);
    if state_param
        .as_ref()
        .is_some_and(|s| s.len() > MAX_STATE_LEN)
    {
        return Err(page(format!(
            "The state parameter is longer than {MAX_STATE_LEN} characters."
        )));
    }
    let redirect = |error: &'static str, description: String| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state_param.clone(),
        error,
        description,
    };

    match params.get("response_type") {
        None => return Err(redirect("invalid_request", "missing response_type".into())),
        Some("code") => {}
        Some(other) => {
            return Err(redirect(
                "unsupported_response_type",
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
    }
    if !client.may_use_grant(GrantType::AuthorizationCode.as_str()) {
        return Err(redirect(
            "unauthorized_client",
            format!("client {client_id:?} may not use the authorization code flow"),
        ));
    }
    if params.get("response_mode").is_some_and(|m| m != "query") {
        return Err(redirect(
            "invalid_request",
            "only response_mode=query is supported".into(),
        ));
    }
    if params.get("request").is_some() {
        return Err(redirect(
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(redirect(
            "request_uri_not_supported",
            "request_uri is not supported".into(),
        ));
    }

    let scope = match params.get("scope") {
        None => {
            return Err(redirect(
                "invalid_scope",
                format!(
                    "no scope requested; client {client_id:?} may ask for: {}",
                    client.scopes
                ),
            ));
        }
        Some(raw) => ScopeSet::parse(raw).map_err(|e| redirect("invalid_scope", e.to_string()))?,
    };
    let refused: Vec<&str> = scope.difference(&client.scopes).collect();
    if !refused.is_empty() {
        return Err(redirect(
            "invalid_scope",
            format!(
                "client {client_id:?} may not ask for: {}",
                refused.join(" ")
            ),
        ));
    }

    // PKCE is required of every client (RFC 9700 §2.1.1), with S256 only. A missing method
    // means `plain` (RFC 7636 §4.3), so it is refused as well.
    let Some(challenge) = params.get("code_challenge") else {
        return Err(redirect(
            "invalid_request",
            "code_challenge is required (PKCE, RFC 7636)".into(),
        ));
    };
    match params.get("code_challenge_method") {
        Some(METHOD_S256) => {}
        None => {
            return Err(redirect(
                "invalid_request",
                "code_challenge_method is required and must be S256 (the default, plain, is not supported)".into(),
            ));
        }
        Some(other) => {
            return Err(redirect(
                "invalid_request",
                format!("code_challenge_method {other:?} is not supported; use S256"),
            ));
        }
    }
    let code_challenge =
        CodeChallenge::parse(challenge).map_err(|e| redirect("invalid_request", e.to_string()))?;

    let nonce = params.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(redirect(
            "invalid_request",
            format!("nonce is longer than {MAX_NONCE_LEN} characters"),
        ));
    }
    // OpenID Connect Core §3.1.2.1: with prompt=none the server must not show a page; this
    // server keeps no login session, so a login is always required.
    if params.get("prompt") == Some("none") {
        return Err(redirect(
            "login_required",
            "there is no login session; the user must log in".into(),
        ));
    }

    Ok(AuthorizationRequest {
        client,
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: state_param,
        code_challenge,
        nonce,
    })
}

fn refuse(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(status, message) => page::error(status, &message),
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
        } => redirect(
            state,
            &redirect_uri,
            &[("error", error), ("error_description", &description)],
            client_state.as_deref(),
        ),
    }
}

/// A 303 to the client with `params`, the unchanged `state` and `iss` (RFC 9207, which lets the
/// client detect a mix-up between authorization servers). Any query the registered URI has is
/// kept (RFC 6749 §3.1.2).
pub(super) fn redirect(
    state: &AppState,
    redirect_uri: &str,
    params: &[(&str, &str)],
    client_state: Option<&str>,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The registered redirect URI is not a valid URL.",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(s) = client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", state.config.issuer_str());
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    page::protect(&mut response);
    response
}

fn login_form(
    state: &AppState,
    request: &AuthorizationRequest,
    csrf: &str,
    error: Option<&str>,
) -> Response {
    let mut hidden = vec![
        ("response_type", "code".to_owned()),
        ("client_id", request.client.id.clone()),
        ("redirect_uri", request.redirect_uri.clone()),
        ("scope", request.scope.to_string()),
        ("code_challenge", request.code_challenge.as_str().to_owned()),
        ("code_challenge_method", METHOD_S256.to_owned()),
        ("csrf_token", csrf.to_owned()),
    ];
    if let Some(s) = &request.state {
        hidden.push(("state", s.clone()));
    }
    if let Some(n) = &request.nonce {
        hidden.push(("nonce", n.clone()));
    }
    page::login(
        state,
        &request.client.name,
        &request.scope,
        &hidden,
        error,
        &request.redirect_uri,
    )
}

pub(super) fn set_csrf_cookie(state: &AppState, response: &mut Response, value: Option<&str>) {
    let secure = if state.config.issuer.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = match value {
        Some(v) => format!(
            "{CSRF_COOKIE}={v}; Path=/authorize; HttpOnly; SameSite=Strict; Max-Age=1800{secure}"
        ),
        None => {
            format!("{CSRF_COOKIE}=; Path=/authorize; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
