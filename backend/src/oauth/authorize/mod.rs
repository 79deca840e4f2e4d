//! The authorization endpoint (RFC 6749 §3.1, §4.1.1), its login form and consent screen.
//!
//! `GET /authorize` validates the request ([`request`]) and shows a login form; the form posts
//! to `POST /authorize/login`, which validates the same request again, checks the password
//! ([`login`]) and redirects back to the client with a code ([`response`]), or shows the
//! consent screen first ([`consent`]), whose answer posts to `POST /authorize/consent`.
//! Nothing is stored until the login succeeds, except a pushed request ([`pushed`], RFC 9126),
//! stored when the client pushed it. The handlers here only parse, call and render.

mod consent;
pub(crate) mod login;
pub mod page;
pub(crate) mod pushed;
pub(crate) mod request;
mod response;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use self::consent::Answered;
use self::login::{Attempt, Outcome};
use self::page::{PageError, PageForm};
use self::request::{AuthorizationRequest, Refusal};
pub(crate) use self::response::set_csrf_cookie_at;
use self::response::{CSRF_COOKIE, denied, redirect, set_csrf_cookie, with_code};
use super::discovery::KnownServer;
use super::params::Params;
use crate::client_addr::ClientAddr;
use crate::crypto;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::throttle::retry_after_secs;
use crate::web;

/// `GET /authorize`: the login form for a valid request; an error page, or a redirect with the
/// error, for an invalid one.
#[utoipa::path(get, path = "/authorize", tag = "OAuth",
    params(
        ("response_type" = Option<String>, Query, description = "`code` (required, unless the request was pushed: then `client_id` and `request_uri` alone)"),
        ("client_id" = String, Query),
        ("redirect_uri" = Option<String>, Query, description = "Exactly as registered (required unless pushed)"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query, description = "Returned unchanged"),
        ("code_challenge" = Option<String>, Query, description = "BASE64URL(SHA-256(code_verifier)) (RFC 7636; required unless pushed)"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256` (the only method; required unless pushed)"),
        ("nonce" = Option<String>, Query, description = "Echoed in the ID token"),
        ("dpop_jkt" = Option<String>, Query, description = "RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (redeemed only with a proof by it)"),
        ("resource" = Option<Vec<String>>, Query, description = "RFC 8707: an API the access token is for (`AUDIENCE`, or the API's resource identifier `{issuer}/api`); anything else is `invalid_target`"),
        ("request_uri" = Option<String>, Query, description = "RFC 9126: a `request_uri` from `POST /par`, sent with `client_id` alone: the pushed request is the whole request (the other parameters are then not needed, and ignored)"),
    ),
    responses(
        (status = 200, description = "The login page, for a browser", content_type = "text/html"),
        (status = 303, description = "To `redirect_uri` with `error`, `error_description`, `state` and `iss` (RFC 6749 §4.1.2.1)",
            headers(("Location" = String))),
        (status = 400, description = "An error page: no trustworthy redirect URI (unknown client, unregistered URI)", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let root = state.root.clone();
    show(&state, &root, &headers, query).await
}

/// An authorization server's authorization endpoint, in Okta's layout: the same login, for a
/// code that only its token endpoint redeems.
#[utoipa::path(get, path = "/oauth2/{server}/v1/authorize", tag = "Authorization servers",
    params(
        ("server" = String, Path, description = "The authorization server's id"),
        ("response_type" = Option<String>, Query, description = "`code` (required, unless the request was pushed: then `client_id` and `request_uri` alone)"),
        ("client_id" = String, Query),
        ("redirect_uri" = Option<String>, Query, description = "Exactly as registered (required unless pushed)"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query, description = "Returned unchanged"),
        ("code_challenge" = Option<String>, Query, description = "BASE64URL(SHA-256(code_verifier)) (RFC 7636; required unless pushed)"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256` (the only method; required unless pushed)"),
        ("nonce" = Option<String>, Query, description = "Echoed in the ID token"),
        ("dpop_jkt" = Option<String>, Query, description = "RFC 9449 §10: the thumbprint of the DPoP key the code is bound to (redeemed only with a proof by it)"),
        ("resource" = Option<Vec<String>>, Query, description = "RFC 8707: one of the server's audiences"),
        ("request_uri" = Option<String>, Query, description = "RFC 9126: a `request_uri` from the server's `/v1/par`, sent with `client_id` alone"),
    ),
    responses(
        (status = 200, description = "The login page, for a browser", content_type = "text/html"),
        (status = 303, description = "To `redirect_uri` with `error`, `error_description`, `state` and the server's `iss` (RFC 6749 §4.1.2.1, RFC 9207)",
            headers(("Location" = String))),
        (status = 400, description = "An error page: no trustworthy redirect URI (unknown client, unregistered URI)", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn server_authorize(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    show(&state, &server, &headers, query).await
}

/// The login form of `server` for the request in `query`, or its refusal.
async fn show(
    state: &AppState,
    server: &Arc<AuthServer>,
    headers: &HeaderMap,
    query: Option<String>,
) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(e) => return PageError::bad_request(e.to_string()).into_response(),
    };
    let now = state.clock.now();
    // RFC 9126 §4 lets a reload of the page show the request again: the browser that opened it
    // still has its anti-forgery cookie, and keeps its token.
    let reloaded = match (params.get("request_uri"), web::cookie(headers, CSRF_COOKIE)) {
        (Some(_), Some(kept)) => pushed::reopen(state, server, &params, kept, now)
            .await
            .ok()
            .map(|request| (request, kept.to_owned())),
        _ => None,
    };
    let (validated, csrf) = match reloaded {
        Some((request, kept)) => (Ok(request), kept),
        None => {
            let csrf = crypto::random_token(32);
            let validated = if params.get("request_uri").is_some() {
                pushed::open(state, server, &params, &csrf, now).await
            } else {
                AuthorizationRequest::validate(state, server, &params).await
            };
            (validated, csrf)
        }
    };
    match validated {
        Ok(request) => {
            let mut response = login_form(state, &request, &csrf, None);
            set_csrf_cookie(state, server, &mut response, Some(&csrf));
            response
        }
        Err(refusal) => refuse(server, refusal),
    }
}

/// `POST /authorize/login`: the login form's answer.
#[utoipa::path(post, path = "/authorize/login", tag = "OAuth", description = "The login form's answer (posted by the page `GET /authorize` serves, with its anti-forgery cookie): for browsers, not API clients.",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 200, description = "The form again, saying what went wrong; or, logged in, the consent page", content_type = "text/html"),
        (status = 303, description = "Back to `redirect_uri` with `code` (or `error`), `state` and `iss`",
            headers(("Location" = String))),
        (status = 400, description = "An error page: the form is malformed or has expired", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, or the anti-forgery token does not match its cookie", content_type = "text/html"),
        (status = 413, description = "The form is larger than this page takes", content_type = "text/html"),
        (status = 429, description = "The form again: too many attempts, with `Retry-After`", content_type = "text/html",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    let root = state.root.clone();
    logged_in(&state, &root, address, &headers, &body).await
}

/// The login form's answer at an authorization server.
#[utoipa::path(post, path = "/oauth2/{server}/v1/authorize/login", tag = "Authorization servers", description = "The login form's answer at an authorization server (posted by the page its `/v1/authorize` serves): for browsers, not API clients. Answers as `POST /authorize/login` does.",
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 200, description = "The form again, saying what went wrong; or, logged in, the consent page", content_type = "text/html"),
        (status = 303, description = "Back to `redirect_uri` with `code` (or `error`, also when the server's access policy refuses the user), `state` and `iss`",
            headers(("Location" = String))),
        (status = 400, description = "An error page: the form is malformed or has expired", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, or the anti-forgery token does not match its cookie", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, description = "The form again: too many attempts, with `Retry-After`", content_type = "text/html",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
pub async fn server_login(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    logged_in(&state, &server, address, &headers, &body).await
}

async fn logged_in(
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
    let validated = if params.get("request_uri").is_some() {
        pushed::reopen(state, server, &params, csrf, state.clock.now()).await
    } else {
        AuthorizationRequest::validate(state, server, &params).await
    };
    let request = match validated {
        Ok(request) => request,
        Err(refusal) => return refuse(server, refusal),
    };
    let attempt = if params.get("action") == Some("cancel") {
        Attempt::Cancel
    } else {
        Attempt::LogIn {
            username: params.get("username").unwrap_or_default(),
            password: params.get("password").unwrap_or_default(),
        }
    };
    let now_us = state.clock.now_us();
    match login::log_in(state, &request, attempt, csrf, address, now_us).await {
        Ok(Outcome::Retry(message)) => login_form(state, &request, csrf, Some(message)),
        Ok(Outcome::Throttled(wait)) => too_many_attempts(state, &request, csrf, wait),
        Ok(Outcome::Cancelled) => denied(
            state,
            server,
            &request.redirect_uri,
            request.state.as_deref(),
        ),
        Ok(Outcome::Refused {
            error,
            description,
            why,
        }) => {
            let mut response = refuse(
                server,
                Refusal::Redirect {
                    redirect_uri: request.redirect_uri.clone(),
                    state: request.state.clone(),
                    error,
                    description,
                    why: Some(why),
                },
            );
            set_csrf_cookie(state, server, &mut response, None);
            response
        }
        Ok(Outcome::Code(code)) => with_code(
            state,
            server,
            &request.redirect_uri,
            &code,
            request.state.as_deref(),
        ),
        Ok(Outcome::Consent { ticket, scopes }) => page::consent(
            server,
            &request.client,
            &scopes,
            vec![("csrf_token", csrf.to_owned()), ("ticket", ticket)],
            &request.redirect_uri,
        ),
        Err(error) => error.into_response(),
    }
}

/// `POST /authorize/consent`: the user's answer on the consent screen.
#[utoipa::path(post, path = "/authorize/consent", tag = "OAuth", description = "The consent form's answer (posted by the consent page): for browsers, not API clients.",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 303, description = "Back to `redirect_uri` with `code`, or `error=access_denied` when the user said no, with `state` and `iss`",
            headers(("Location" = String))),
        (status = 400, description = "An error page: the form is malformed or its ticket has expired or been used", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, or the anti-forgery token does not match its cookie", content_type = "text/html"),
        (status = 413, description = "The form is larger than this page takes", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn consent(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    let root = state.root.clone();
    answered(&state, &root, address, &headers, &body).await
}

/// The consent form's answer at an authorization server.
#[utoipa::path(post, path = "/oauth2/{server}/v1/authorize/consent", tag = "Authorization servers", description = "The consent form's answer at an authorization server (posted by its consent page): for browsers, not API clients. Answers as `POST /authorize/consent` does.",
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The page's fields"),
    responses(
        (status = 303, description = "Back to `redirect_uri` with `code`, or `error=access_denied` when the user said no, with `state` and `iss`",
            headers(("Location" = String))),
        (status = 400, description = "An error page: the form is malformed or its ticket has expired, been used, or belongs to another server", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post, or the anti-forgery token does not match its cookie", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
    ))]
pub async fn server_consent(
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
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return PageError::bad_request(
                "The consent form was sent without an answer (allow or deny).",
            )
            .into_response();
        }
    };
    let Some(ticket) = params.get("ticket").filter(|t| t.len() <= 128) else {
        return PageError::bad_request("The consent form has no ticket.").into_response();
    };
    let csrf = params.get("csrf_token").unwrap_or_default();
    let now = state.clock.now();
    match consent::answer(state, server, ticket, csrf, allow, address, now).await {
        Ok(Answered::Expired) => PageError::bad_request(
            "This consent request has expired or was already answered. Go back to the \
             application and log in again.",
        )
        .into_response(),
        Ok(Answered::Denied {
            redirect_uri,
            state: client_state,
        }) => denied(state, server, &redirect_uri, client_state.as_deref()),
        Ok(Answered::Allowed {
            redirect_uri,
            state: client_state,
            code,
        }) => with_code(state, server, &redirect_uri, &code, client_state.as_deref()),
        Err(error) => error.into_response(),
    }
}

/// The body of a form this server's own page posted: parsed, and with the double-submit
/// anti-forgery check passed (the login and consent forms, the device verification page).
pub(crate) fn checked_form(headers: &HeaderMap, body: &[u8]) -> Result<Params, PageError> {
    let params = Params::parse(body).map_err(|e| PageError::bad_request(e.to_string()))?;
    from_own_page(headers, &params)?;
    Ok(params)
}

/// The double-submit anti-forgery check of a form already parsed: its `csrf_token` is the
/// value of the page's cookie.
pub(crate) fn from_own_page(headers: &HeaderMap, params: &Params) -> Result<(), PageError> {
    let csrf_ok = match (params.get("csrf_token"), web::cookie(headers, CSRF_COOKIE)) {
        (Some(form), Some(cookie)) => crypto::constant_time_eq(form.as_bytes(), cookie.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return Err(PageError::forbidden(
            "This form has expired or was not sent by this server's own page. \
             Go back to the application and start the login again.",
        ));
    }
    Ok(())
}

fn too_many_attempts(
    state: &AppState,
    request: &AuthorizationRequest,
    csrf: &str,
    wait: Duration,
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
    crate::refusals::Refused::tag(
        response,
        "temporarily_unavailable",
        format!("too many login attempts; wait {secs} seconds"),
        None,
    )
}

fn refuse(server: &AuthServer, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(error) => error.into_response(),
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            description,
            why,
        } => {
            let response = redirect(
                server,
                &redirect_uri,
                &[("error", error), ("error_description", &description)],
                client_state.as_deref(),
            );
            crate::refusals::Refused::tag(response, error, description, why)
        }
    }
}

fn login_form(
    state: &AppState,
    request: &AuthorizationRequest,
    csrf: &str,
    error: Option<&str>,
) -> Response {
    let mut hidden = match &request.pushed {
        Some(request_uri) => vec![
            ("client_id", request.client.id.clone()),
            ("request_uri", request_uri.clone()),
        ],
        None => request.fields(),
    };
    hidden.push(("csrf_token", csrf.to_owned()));
    page::login(
        state,
        &request.server,
        &request.client.name,
        &request.scope,
        hidden,
        error,
        &request.redirect_uri,
    )
}
