//! The authorization server's own HTML: the login form, the consent screen and error pages,
//! written as Leptos components (`view`) and rendered on the server, with no script at all: the
//! password never meets JavaScript. This module gives them their headers: never cached, never
//! framed, and a CSP that allows their one stylesheet and the form's targets and nothing else.

mod view;

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use leptos::prelude::*;
use sha2::{Digest, Sha256};
use shared::scope::ScopeSet;
use url::Url;

pub use self::view::Told;
use self::view::{
    Asked, ConsentPage, DeviceApprovalPage, DeviceCodePage, DeviceDonePage, ErrorPage,
    LoggedOutPage, LoginPage, LogoutPage,
};

use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, Client, Failure, ScopeInfo};

/// Why the authorization endpoint answers with an error page of its own: the one error type of
/// the server's HTML pages. Used where the client cannot be told by a redirect (RFC 6749
/// §4.1.2.1: an unknown client or redirect URI), and when the server itself fails.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
}

impl PageError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What the page says.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Logs the cause and answers an opaque 500: internals never reach the page.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "an authorization page failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The login could not be completed. Try again.",
        )
    }
}

/// The body of a form the pages post: an error page when it cannot be read (413 past the
/// limit), rather than a plain-text answer a person would see as a bare line.
pub type PageForm = crate::body::BodyBytes<PageError>;

impl From<crate::body::Unread> for PageError {
    fn from(unread: crate::body::Unread) -> Self {
        match unread {
            crate::body::Unread::TooLarge => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is larger than this page ever sends. Go back to the application and start again.",
            ),
            crate::body::Unread::Unreadable(_) => Self::bad_request(
                "The form could not be read. Go back to the application and start again.",
            ),
        }
    }
}

impl From<storage::Error> for PageError {
    fn from(e: storage::Error) -> Self {
        match e.triage() {
            Failure::Input => Self::bad_request(
                "The request contains a character no field may hold (a NUL character).",
            ),
            Failure::Unavailable => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server's database is not answering. Try again in a few seconds.",
            ),
            Failure::Internal(e) => Self::internal(e),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut response = error(self.status, &self.message);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(storage::UNAVAILABLE_RETRY_SECS),
            );
        }
        // The page is for a person; the metrics name the case as the RFC's codes would.
        let code = match self.status {
            StatusCode::FORBIDDEN => "access_denied",
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            StatusCode::INTERNAL_SERVER_ERROR => "server_error",
            _ => "invalid_request",
        };
        crate::refusals::Refused::tag(response, code, self.message, None)
    }
}

/// The login form, posting to `server`'s `/authorize/login`; its answer redirects to
/// `redirect_uri`.
pub fn login(
    state: &AppState,
    server: &AuthServer,
    client_name: &str,
    scope: &ScopeSet,
    hidden: Vec<(&'static str, String)>,
    error: Option<&str>,
    redirect_uri: &str,
) -> Response {
    let client = client_name.to_owned();
    let scopes = scope.iter().map(str::to_owned).collect();
    let action = server.endpoint_path("/authorize/login");
    let error = error.map(str::to_owned);
    let demo = state.config.demo;
    let html = view::render(move || {
        view! { <LoginPage client scopes action hidden error demo /> }
    });
    form_page(html, redirect_uri)
}

/// The consent screen: what a third-party client asks for, in the scopes' own words; posts to
/// `server`'s `/authorize/consent`.
pub fn consent(
    server: &AuthServer,
    client: &Client,
    scopes: &[ScopeInfo],
    hidden: Vec<(&'static str, String)>,
    redirect_uri: &str,
) -> Response {
    let registered = client.is_registered();
    let client = client.name.clone();
    let asked = scopes
        .iter()
        .map(|scope| Asked {
            name: scope.name.clone(),
            description: scope.description.clone(),
        })
        .collect();
    let action = server.endpoint_path("/authorize/consent");
    let html =
        view::render(move || view! { <ConsentPage client registered asked action hidden /> });
    form_page(html, redirect_uri)
}

/// The device verification page's first step (RFC 8628 §3.3): a form for the user code,
/// answered with `status` (400 after a code that is not one, 429 when throttled).
pub fn device_code(
    server: &AuthServer,
    status: StatusCode,
    typed: &str,
    error: Option<&str>,
) -> Response {
    let action = server.endpoint_path("/device");
    let typed = typed.chars().take(64).collect();
    let error = error.map(str::to_owned);
    let html = view::render(move || view! { <DeviceCodePage action error typed /> });
    let mut response = form_page(html, "");
    *response.status_mut() = status;
    response
}

/// What a device asks for, by whom, and the login that allows it, posting to `server`'s
/// `/device`.
pub fn device_approval(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    user_code: &str,
    scope: &ScopeSet,
    hidden: Vec<(&'static str, String)>,
    error: Option<&str>,
) -> Response {
    let registered = client.is_registered();
    let client = client.name.clone();
    let code = user_code.to_owned();
    let scopes = scope.iter().map(str::to_owned).collect();
    let action = server.endpoint_path("/device");
    let error = error.map(str::to_owned);
    let demo = state.config.demo;
    let html = view::render(move || {
        view! { <DeviceApprovalPage client registered code scopes action hidden error demo /> }
    });
    form_page(html, "")
}

/// The end of the verification page: allowed or denied.
pub fn device_done(allowed: bool, client_name: &str) -> Response {
    let client = client_name.to_owned();
    let html = view::render(move || view! { <DeviceDonePage allowed client /> });
    form_page(html, "")
}

/// The end-session endpoint's confirmation (RP-Initiated Logout 1.0 §2), posting to
/// `server`'s `/logout`; `redirect_uri` is where its answer may send the browser.
pub fn logout(
    server: &AuthServer,
    client_name: &str,
    username: &str,
    hidden: Vec<(&'static str, String)>,
    error: Option<&str>,
    redirect_uri: &str,
) -> Response {
    let client = client_name.to_owned();
    let username = username.to_owned();
    let action = server.endpoint_path("/logout");
    let error = error.map(str::to_owned);
    let html = view::render(move || view! { <LogoutPage client username action hidden error /> });
    form_page(html, redirect_uri)
}

/// The end of a logout with no `post_logout_redirect_uri`: what ended, and who was told.
pub fn logged_out(logged_out: bool, ended: usize, told: Vec<Told>) -> Response {
    let html = view::render(move || view! { <LoggedOutPage logged_out ended told /> });
    form_page(html, "")
}

/// The CSP source that allows the pages' one `<style>` element and nothing else inline
/// (CSP Level 3 hash-source, §6.7.3.3: the element's exact text, hashed once).
fn style_source() -> &'static str {
    static SOURCE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(view::STYLE.as_bytes()))
        )
    });
    &SOURCE
}

/// A page with a form whose answer redirects to the client: CSP's form-action applies to that
/// redirect too, so the client's origin is allowed as a target.
fn form_page(html: String, redirect_uri: &str) -> Response {
    let redirect_origin = Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src {}; form-action 'self' {redirect_origin}; \
         frame-ancestors 'none'; base-uri 'none'",
        style_source()
    );
    page(StatusCode::OK, html, &csp)
}

pub fn error(status: StatusCode, message: &str) -> Response {
    let server_fault = status.is_server_error();
    let message = message.to_owned();
    let html = view::render(move || view! { <ErrorPage server_fault message /> });
    let csp = format!(
        "default-src 'none'; style-src {}; form-action 'none'; frame-ancestors 'none'; \
         base-uri 'none'",
        style_source()
    );
    page(status, html, &csp)
}

/// A rendered page with the authorization pages' headers and its own CSP.
fn page(status: StatusCode, html: String, csp: &str) -> Response {
    let mut response = (status, Html(html)).into_response();
    protect(&mut response);
    if let Ok(value) = HeaderValue::from_str(csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Headers for every authorization-endpoint response: never cached, never framed (against
/// clickjacking of the login form, RFC 9700 §4.16), and no Referer that could carry a code or
/// state to another site.
pub fn protect(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_allows_the_pages_stylesheet_by_its_hash_and_nothing_else_inline() {
        let response = error(StatusCode::BAD_REQUEST, "unknown client");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        let hash = STANDARD.encode(Sha256::digest(view::STYLE.as_bytes()));
        assert!(
            csp.contains(&format!("style-src 'sha256-{hash}';")),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline") && csp.starts_with("default-src 'none';"));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn a_forms_csp_allows_the_stylesheet_and_posts_to_the_server_and_the_client_only() {
        let response = form_page(String::new(), "https://client.example:8443/cb?x=1");
        assert_eq!(response.status(), StatusCode::OK);
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            csp.contains(&format!("style-src {};", style_source())),
            "{csp}"
        );
        assert!(style_source().starts_with("'sha256-") && !csp.contains("unsafe-inline"));
        assert!(
            csp.contains("form-action 'self' https://client.example:8443;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"));
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
    }
}
