//! Logging out: OpenID Connect RP-Initiated Logout 1.0 at the end-session endpoint, and
//! Back-Channel Logout 1.0 to the clients whose logins end ([`backchannel`]).
//!
//! This server keeps no browser session of its own (every authorization request shows the login
//! form), so the logins are the grants: each login at a client is one, and its ID tokens carry
//! its id as `sid`. A client sends the browser to `/logout` with the ID token it received
//! (`id_token_hint`, required here: it names the user, the client and the login), and where to
//! come back (`post_logout_redirect_uri`, one registered for the client, matched exactly). The
//! user confirms on a page of this server (with a double-submit anti-forgery token), and chooses:
//!
//! - **this app**: the login `sid` ends (every login of the user at the client, for an ID token
//!   without `sid`), which the client could do itself with `/revoke`;
//! - **every app**: every login of the user at every client ends. The password is asked first:
//!   an ID token alone (which clients keep, and logs may hold) must not be enough to end a
//!   user's logins at other clients;
//! - **stay**: nothing changes.
//!
//! Ended logins are revoked with their refresh tokens and put on the revocation list every
//! instance reads; each client with a `backchannel_logout_uri` is then posted a logout token.
//! Each authorization server has the same endpoint under its issuer (`/oauth2/{id}/v1/logout`),
//! for the ID tokens it issued.

pub mod backchannel;
pub mod token;

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::authorize::from_own_page;
use super::authorize::login::{self, Credentials};
use super::authorize::page::{self, PageError, PageForm, Told};
use super::authorize::set_csrf_cookie_at;
use super::discovery::KnownServer;
use super::params::Params;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{Client, LoginsToEnd, User};
use crate::throttle::retry_after_secs;

use self::token::{Hint, read_hint};

/// Bounds on what the request carries (an ID token with custom claims is a few KiB).
const MAX_HINT_LEN: usize = 8 * 1024;
const MAX_STATE_LEN: usize = 2048;
const MAX_URI_LEN: usize = 2000;
/// The logins a `logged_out` event names; past them, how many.
const MAX_LISTED: usize = 10;

/// A logout request that names a user and a client of this server.
struct LogoutRequest {
    /// As sent, to carry through the confirmation form.
    id_token_hint: String,
    hint: Hint,
    client: Client,
    /// `None` when the user was deleted since: only their logins at this client can end.
    user: Option<User>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutRequest {
    /// The fields the confirmation form carries back, with its anti-forgery token.
    fn hidden(&self, csrf: &str) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("id_token_hint", self.id_token_hint.clone()),
            ("client_id", self.client.id.clone()),
        ];
        if let Some(uri) = &self.post_logout_redirect_uri {
            fields.push(("post_logout_redirect_uri", uri.clone()));
        }
        if let Some(state) = &self.state {
            fields.push(("state", state.clone()));
        }
        fields.push(("csrf_token", csrf.to_owned()));
        fields
    }
}

/// What the user chose on the confirmation page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Decision {
    ThisApp,
    EveryApp,
    Stay,
}

impl Decision {
    fn parse(raw: Option<&str>) -> Result<Self, PageError> {
        match raw {
            Some("this") => Ok(Self::ThisApp),
            Some("everywhere") => Ok(Self::EveryApp),
            Some("stay") => Ok(Self::Stay),
            _ => Err(PageError::bad_request(
                "The logout form was sent without an answer (this, everywhere or stay).",
            )),
        }
    }
}

/// Which logins a decision ends, for the login `hint` names.
fn logins_to_end(decision: Decision, hint: &Hint) -> Option<LoginsToEnd<'_>> {
    match decision {
        Decision::Stay => None,
        Decision::EveryApp => Some(LoginsToEnd::Every),
        Decision::ThisApp => Some(match &hint.sid {
            Some(sid) => LoginsToEnd::One {
                grant_id: sid,
                client_id: &hint.client_id,
            },
            // An ID token issued before logins were named: the user's logins at the client
            // made by then (never one made since: the token may be an old copy).
            None => LoginsToEnd::AtClient {
                client_id: &hint.client_id,
                before: hint.issued_at,
            },
        }),
    }
}

/// RP-Initiated Logout 1.0 §2 and §3: the request's parameters checked against `server`'s keys
/// and the client's registration. Unknown parameters (`logout_hint`, `ui_locales`, the form's
/// own) are ignored, as §2 allows.
async fn validate(
    state: &AppState,
    server: &AuthServer,
    params: &Params,
    now: Timestamp,
) -> Result<LogoutRequest, PageError> {
    let Some(id_token_hint) = params.get("id_token_hint").filter(|h| !h.is_empty()) else {
        return Err(PageError::bad_request(
            "id_token_hint is required: this server keeps no browser session of its own, so the \
             ID token the application received names the login to end. Send it as \
             id_token_hint.",
        ));
    };
    if id_token_hint.len() > MAX_HINT_LEN {
        return Err(PageError::bad_request(format!(
            "id_token_hint is longer than {MAX_HINT_LEN} characters: it is not an ID token of \
             this server."
        )));
    }
    let client_id = params.get("client_id").filter(|c| !c.is_empty());
    let state_param = params.get("state");
    if state_param.is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(PageError::bad_request(format!(
            "The state parameter is longer than {MAX_STATE_LEN} characters."
        )));
    }
    let redirect = params
        .get("post_logout_redirect_uri")
        .filter(|u| !u.is_empty());
    if redirect.is_some_and(|u| u.len() > MAX_URI_LEN) {
        return Err(PageError::bad_request(format!(
            "post_logout_redirect_uri is longer than {MAX_URI_LEN} characters."
        )));
    }
    let hint = read_hint(
        id_token_hint,
        &server.keys.get(),
        &server.issuer,
        client_id,
        now,
    )
    .map_err(|why| PageError::bad_request(format!("{why}.")))?;
    let client = state.db.client(&hint.client_id).await?.ok_or_else(|| {
        PageError::bad_request(
            "The client this ID token was issued to no longer exists: there is nothing to log \
             out of.",
        )
    })?;
    // §3.1: only to a URI registered for the client, compared as strings (never a prefix):
    // anything else would make this endpoint an open redirector.
    if let Some(uri) = redirect
        && !client.post_logout_redirect_uris.iter().any(|r| r == uri)
    {
        return Err(PageError::bad_request(format!(
            "post_logout_redirect_uri is not one registered for {}: register it \
             (post_logout_redirect_uris) exactly as it is sent, or leave it out.",
            client.id
        )));
    }
    let user = state.db.user_by_id(&hint.sub).await?;
    Ok(LogoutRequest {
        id_token_hint: id_token_hint.to_owned(),
        hint,
        client,
        user,
        post_logout_redirect_uri: redirect.map(str::to_owned),
        state: state_param.map(str::to_owned),
    })
}

#[utoipa::path(get, path = "/logout", tag = "OAuth",
    params(
        ("id_token_hint" = String, Query, description = "An ID token this server issued to the client, expired or not (required here: it names the login)"),
        ("client_id" = Option<String>, Query, description = "The client; must be the ID token's audience"),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Where to send the browser afterwards: exactly one of the client's `post_logout_redirect_uris`"),
        ("state" = Option<String>, Query, description = "Returned unchanged to `post_logout_redirect_uri`"),
        ("logout_hint" = Option<String>, Query, description = "Ignored: the ID token names the user"),
        ("ui_locales" = Option<String>, Query, description = "Ignored: the page is in English"),
    ),
    responses(
        (status = 200, description = "OpenID Connect RP-Initiated Logout 1.0 §2: the confirmation page, for a browser", content_type = "text/html"),
        (status = 400, description = "An error page: no or an invalid `id_token_hint`, an unregistered `post_logout_redirect_uri`, a parameter too long", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn end_session(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let root = state.root.clone();
    asked(&state, &root, query.as_deref()).await
}

#[utoipa::path(post, path = "/logout", tag = "OAuth", description = "The client's logout request as a form post (RP-Initiated Logout 1.0 §2: the same parameters as `GET /logout`), or the confirmation page's answer (with `decision`, its anti-forgery token and cookie, and for `everywhere` the user's password).",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`id_token_hint`, `client_id`, `post_logout_redirect_uri`, `state`; from the page also `decision` (`this`, `everywhere` or `stay`), `csrf_token` and `password`"),
    responses(
        (status = 200, description = "The confirmation page; the page again, saying what went wrong (a wrong password); or the logged-out page, naming the clients told by back-channel logout", content_type = "text/html"),
        (status = 303, description = "§3: to `post_logout_redirect_uri`, with `state`",
            headers(("Location" = String))),
        (status = 400, description = "An error page: an invalid request (as for `GET /logout`), or a form without a decision", content_type = "text/html"),
        (status = 403, description = "An error page: the anti-forgery token does not match its cookie (a cross-site post)", content_type = "text/html"),
        (status = 413, description = "The form is larger than this page takes", content_type = "text/html"),
        (status = 429, description = "The page again: too many password attempts, with `Retry-After`", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn end_session_post(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    let root = state.root.clone();
    posted(&state, &root, address, &headers, &body).await
}

#[utoipa::path(get, path = "/oauth2/{server}/v1/logout", tag = "Authorization servers",
    params(
        ("server" = String, Path, description = "The authorization server's id"),
        ("id_token_hint" = String, Query, description = "An ID token this server issued (required)"),
        ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Exactly one of the client's `post_logout_redirect_uris`"),
        ("state" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The confirmation page", content_type = "text/html"),
        (status = 400, description = "An error page: no or an invalid `id_token_hint` (one of another issuer included), an unregistered `post_logout_redirect_uri`", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn server_end_session(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    RawQuery(query): RawQuery,
) -> Response {
    asked(&state, &server, query.as_deref()).await
}

#[utoipa::path(post, path = "/oauth2/{server}/v1/logout", tag = "Authorization servers",
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "As for `POST /logout`"),
    responses(
        (status = 200, description = "The confirmation page, the page again, or the logged-out page", content_type = "text/html"),
        (status = 303, description = "To `post_logout_redirect_uri`, with `state`", headers(("Location" = String))),
        (status = 400, description = "An error page: an invalid request", content_type = "text/html"),
        (status = 403, description = "An error page: a cross-site post", content_type = "text/html"),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 413, description = "The form is larger than this page takes", content_type = "text/html"),
        (status = 429, description = "The page again: too many password attempts", content_type = "text/html"),
        (status = 503, response = crate::openapi::PageUnavailable),
    ))]
pub async fn server_end_session_post(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: PageForm,
) -> Response {
    posted(&state, &server, address, &headers, &body).await
}

/// A `GET` of the end-session endpoint: the request is in the query.
async fn asked(state: &AppState, server: &AuthServer, query: Option<&str>) -> Response {
    match Params::parse(query.unwrap_or("").as_bytes()) {
        Ok(params) => ask(state, server, &params).await,
        Err(e) => PageError::bad_request(e.to_string()).into_response(),
    }
}

/// The confirmation page for the request in `params`, or its refusal.
async fn ask(state: &AppState, server: &AuthServer, params: &Params) -> Response {
    let request = match validate(state, server, params, state.clock.now()).await {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let csrf = crypto::random_token(32);
    confirmation(state, server, &request, &csrf, None)
}

fn confirmation(
    state: &AppState,
    server: &AuthServer,
    request: &LogoutRequest,
    csrf: &str,
    error: Option<&str>,
) -> Response {
    let username = request
        .user
        .as_ref()
        .map_or("a user who no longer exists", |u| u.username.as_str());
    let mut response = page::logout(
        server,
        &request.client.name,
        username,
        request.hidden(csrf),
        error,
        request.post_logout_redirect_uri.as_deref().unwrap_or(""),
    );
    set_csrf_cookie_at(
        state,
        &server.endpoint_path("/logout"),
        &mut response,
        Some(csrf),
    );
    response
}

/// A post to the end-session endpoint: the client's request as a form (no `decision`), or the
/// confirmation page's answer.
async fn posted(
    state: &AppState,
    server: &Arc<AuthServer>,
    address: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let params = match Params::parse(body) {
        Ok(params) => params,
        Err(e) => return PageError::bad_request(e.to_string()).into_response(),
    };
    if params.get("decision").is_none() {
        return ask(state, server, &params).await;
    }
    if let Err(refused) = from_own_page(headers, &params) {
        return refused.into_response();
    }
    match answered(state, server, address, &params).await {
        Ok(response) | Err(response) => response,
    }
}

/// The confirmation page's answer, its anti-forgery check passed.
async fn answered(
    state: &AppState,
    server: &AuthServer,
    address: IpAddr,
    params: &Params,
) -> Result<Response, Response> {
    let decision = Decision::parse(params.get("decision")).map_err(IntoResponse::into_response)?;
    let now_us = state.clock.now_us();
    let now = Timestamp::from_micros(now_us);
    let request = validate(state, server, params, now)
        .await
        .map_err(IntoResponse::into_response)?;
    let csrf = params.get("csrf_token").unwrap_or_default();
    if decision == Decision::EveryApp {
        check_password(state, server, &request, params, csrf, address, now_us).await?;
    }
    let Some(which) = logins_to_end(decision, &request.hint) else {
        return Ok(finish(state, server, &request, None));
    };
    let reason = match decision {
        Decision::EveryApp => "logged out of every app",
        _ => "logged out",
    };
    let ended = state
        .db
        .end_logins(&request.hint.sub, which, reason, now)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    let event = Event::new(EventKind::LoggedOut)
        .client(&request.client.id)
        .user(&request.hint.sub)
        .address(address)
        .detail(format!(
            "{} at {} (RP-initiated): {} login{} ended{}",
            if decision == Decision::EveryApp {
                "logged out of every app"
            } else {
                "logged out of this app"
            },
            server.issuer,
            ended.len(),
            if ended.len() == 1 { "" } else { "s" },
            if ended.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    ended
                        .iter()
                        .take(MAX_LISTED)
                        .map(|e| format!("{} at {}", e.grant_id, e.client_id))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if ended.len() > MAX_LISTED {
                        ", …"
                    } else {
                        ""
                    }
                )
            }
        ));
    state.events.record(event).await;
    let count = ended.len();
    let told = backchannel::notify(state, &request.hint.sub, ended, now).await;
    Ok(finish(state, server, &request, Some((count, told))))
}

/// "Every app" needs the user's password, under the login form's rate limits: the per-address
/// one, then the per-username one that [`login::credentials`] applies. `Err` is the page to
/// answer with instead (the form again, or the refusal).
async fn check_password(
    state: &AppState,
    server: &AuthServer,
    request: &LogoutRequest,
    params: &Params,
    csrf: &str,
    address: IpAddr,
    now_us: i64,
) -> Result<(), Response> {
    let again = |status: StatusCode, message: &str| {
        let mut response = confirmation(state, server, request, csrf, Some(message));
        *response.status_mut() = status;
        response
    };
    let Some(user) = &request.user else {
        return Err(again(
            StatusCode::BAD_REQUEST,
            "This user no longer exists: only their logins at this app can end.",
        ));
    };
    let throttled = |wait| {
        let secs = retry_after_secs(wait);
        let mut response = again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many attempts. Wait {secs} seconds, then try again."),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        crate::refusals::Refused::tag(
            response,
            "temporarily_unavailable",
            format!("too many password attempts; wait {secs} seconds"),
            None,
        )
    };
    if let Some(wait) = login::address_allows(state, address, now_us)
        .await
        .map_err(IntoResponse::into_response)?
    {
        return Err(throttled(wait));
    }
    let password = params.get("password").unwrap_or_default();
    match login::checked_credentials(
        state,
        &request.client.id,
        &user.username,
        password,
        address,
        now_us,
        Some("password checked at the end-session endpoint, to log out of every app (not a login)"),
    )
    .await
    .map_err(IntoResponse::into_response)?
    {
        Credentials::Valid(checked) if checked.id == user.id => Ok(()),
        Credentials::Valid(_) | Credentials::Retry(_) => Err(again(
            StatusCode::OK,
            "That is not your password: enter it to log out of every app, or log out of this \
             app only.",
        )),
        Credentials::Throttled(wait) => Err(throttled(wait)),
    }
}

/// RP-Initiated Logout 1.0 §3: back to `post_logout_redirect_uri` with `state`, or a page of
/// this server when there is none. `done` is how many logins ended and who was told (`None`:
/// the user chose to stay). The anti-forgery cookie goes: the form is answered.
fn finish(
    state: &AppState,
    server: &AuthServer,
    request: &LogoutRequest,
    done: Option<(usize, Vec<backchannel::Delivery>)>,
) -> Response {
    let mut response = match request
        .post_logout_redirect_uri
        .as_deref()
        .and_then(|uri| Url::parse(uri).ok())
    {
        Some(mut url) => {
            if let Some(client_state) = &request.state {
                url.query_pairs_mut().append_pair("state", client_state);
            }
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(location) = HeaderValue::from_str(url.as_str()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            page::protect(&mut response);
            response
        }
        None => {
            let (logged_out, ended, told) = match done {
                Some((ended, told)) => (true, ended, told),
                None => (false, 0, Vec::new()),
            };
            let told = told
                .into_iter()
                .map(|d| Told {
                    client: d.client_name,
                    delivered: d.delivered,
                    outcome: d.outcome,
                })
                .collect();
            page::logged_out(logged_out, ended, told)
        }
    };
    set_csrf_cookie_at(state, &server.endpoint_path("/logout"), &mut response, None);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(sid: Option<&str>) -> Hint {
        Hint {
            sub: "usr_1".into(),
            client_id: "demo-spa".into(),
            sid: sid.map(str::to_owned),
            issued_at: Timestamp::from_unix(100),
        }
    }

    #[test]
    fn each_decision_ends_what_it_says() {
        let with_sid = hint(Some("grant-1"));
        assert!(matches!(
            logins_to_end(Decision::ThisApp, &with_sid),
            Some(LoginsToEnd::One {
                grant_id: "grant-1",
                client_id: "demo-spa"
            })
        ));
        let without = hint(None);
        assert!(matches!(
            logins_to_end(Decision::ThisApp, &without),
            Some(LoginsToEnd::AtClient {
                client_id: "demo-spa",
                before
            }) if before == Timestamp::from_unix(100)
        ));
        assert!(matches!(
            logins_to_end(Decision::EveryApp, &with_sid),
            Some(LoginsToEnd::Every)
        ));
        assert!(logins_to_end(Decision::Stay, &with_sid).is_none());
    }

    #[test]
    fn a_decision_is_one_of_three_words() {
        assert_eq!(Decision::parse(Some("this")).unwrap(), Decision::ThisApp);
        assert_eq!(
            Decision::parse(Some("everywhere")).unwrap(),
            Decision::EveryApp
        );
        assert_eq!(Decision::parse(Some("stay")).unwrap(), Decision::Stay);
        for bad in [None, Some(""), Some("THIS"), Some("all")] {
            assert_eq!(
                Decision::parse(bad).unwrap_err().status(),
                StatusCode::BAD_REQUEST
            );
        }
    }
}
