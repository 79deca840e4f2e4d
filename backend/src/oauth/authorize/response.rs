//! How the authorization endpoint answers the client: a 303 back to its redirect URI with a
//! code or an error (RFC 6749 §4.1.2), and the login form's anti-forgery cookie. Shared by the
//! login and the consent answer, which both end a login.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::page::{self, PageError};
use crate::clock::Timestamp;
use crate::crypto;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, CodeGrant, NewCode};

/// Name of the cookie that carries the login form's anti-forgery token (double submit).
pub const CSRF_COOKIE: &str = "login_csrf";

/// The code `grant` is redeemed with: 256 random bits, of which only a SHA-256 is stored.
pub async fn issue_code(state: &AppState, grant: &CodeGrant) -> storage::Result<String> {
    let code = crypto::random_token(32);
    state
        .db
        .insert_code(&NewCode {
            code_hash: &crypto::sha256_hex(&code),
            grant,
        })
        .await?;
    Ok(code)
}

/// When a code issued at `now` expires.
pub fn code_expiry(state: &AppState, now: Timestamp) -> Timestamp {
    now.after(state.config.authorization_code_ttl)
}

/// The browser goes back to the client with `code` of `server` (and the login's anti-forgery
/// cookie is dropped: the login is over).
pub fn with_code(
    state: &AppState,
    server: &AuthServer,
    redirect_uri: &str,
    code: &str,
    client_state: Option<&str>,
) -> Response {
    let mut response = redirect(server, redirect_uri, &[("code", code)], client_state);
    set_csrf_cookie(state, server, &mut response, None);
    response
}

/// RFC 6749 §4.1.2.1: the user said no.
pub fn denied(
    state: &AppState,
    server: &AuthServer,
    redirect_uri: &str,
    client_state: Option<&str>,
) -> Response {
    let mut response = redirect(
        server,
        redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "the user denied the request"),
        ],
        client_state,
    );
    set_csrf_cookie(state, server, &mut response, None);
    crate::refusals::Refused::tag(
        response,
        "access_denied",
        "the user denied the request",
        Some(Box::new(
            crate::refusals::Why::check("consent")
                .expected("the user approves the scopes on the consent page")
                .got("the user chose Deny")
                .remedy("nothing to fix: ask again only when the user wants to grant access"),
        )),
    )
}

/// A 303 to the client with `params`, the unchanged `state` and `server`'s `iss` (RFC 9207,
/// which lets the client detect a mix-up between authorization servers: this server's issuers
/// differ only in their paths). Any query the registered URI has is kept (RFC 6749 §3.1.2).
pub fn redirect(
    server: &AuthServer,
    redirect_uri: &str,
    params: &[(&str, &str)],
    client_state: Option<&str>,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return PageError::bad_request("The registered redirect URI is not a valid URL.")
            .into_response();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(s) = client_state {
            query.append_pair("state", s);
        }
        query.append_pair("iss", &server.issuer);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    page::protect(&mut response);
    response
}

/// Sets (or, with `None`, drops) the login form's anti-forgery cookie, for the pages of
/// `server`'s authorization endpoint only.
pub fn set_csrf_cookie(
    state: &AppState,
    server: &AuthServer,
    response: &mut Response,
    value: Option<&str>,
) {
    set_csrf_cookie_at(state, &server.endpoint_path("/authorize"), response, value);
}

/// Sets (or, with `None`, clears) the anti-forgery cookie of the pages under `path`.
pub fn set_csrf_cookie_at(
    state: &AppState,
    path: &str,
    response: &mut Response,
    value: Option<&str>,
) {
    let secure = if state.config.issuer.scheme() == "https" {
        "; Secure"
    } else {
        ""
    };
    let cookie = match value {
        Some(v) => format!(
            "{CSRF_COOKIE}={v}; Path={path}; HttpOnly; SameSite=Strict; Max-Age=1800{secure}"
        ),
        None => {
            format!("{CSRF_COOKIE}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}
