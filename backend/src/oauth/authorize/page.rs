//! The authorization server's own HTML: the login form and error pages. Plain server-rendered
//! HTML with no script at all, so the password never meets JavaScript.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use shared::scope::ScopeSet;
use url::Url;

use crate::state::AppState;
use crate::storage::{self, Failure, ScopeInfo};

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
        crate::metrics::Refusal::tag(response, code)
    }
}

const STYLE: &str = r#"
*{box-sizing:border-box}body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f3f5f9;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2433}
main{width:min(26rem,92vw);background:#fff;border-radius:14px;box-shadow:0 8px 30px #1c243318;padding:2rem}
h1{font-size:1.35rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#4a5568}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}
input[type=text],input[type=password]{width:100%;padding:.65rem .75rem;border:1px solid #cbd2dd;border-radius:8px;font:inherit}
input:focus{outline:2px solid #3b6cf6;border-color:#3b6cf6}
button{margin-top:1.25rem;width:100%;padding:.7rem;border:0;border-radius:8px;background:#3b6cf6;color:#fff;font:600 1rem system-ui;cursor:pointer}
button:hover{background:#2d58d8}button.secondary{background:#fff;color:#3b6cf6;border:1px solid #cbd2dd;margin-top:.6rem}
button.secondary:hover{background:#f3f5f9}.consent{margin:.75rem 0 0;padding-left:1.2rem}.consent li{margin:.3rem 0}.error{background:#fdecec;color:#a61b1b;border-radius:8px;padding:.6rem .8rem;margin:1rem 0 0}
.scopes{display:flex;flex-wrap:wrap;gap:.35rem;margin:.5rem 0 0;padding:0;list-style:none}
.scopes li{background:#eef2fb;color:#2d3f6b;border-radius:999px;padding:.1rem .6rem;font-size:.85rem}
.hint{font-size:.85rem;background:#f6f8fb;border-radius:8px;padding:.5rem .75rem;margin-top:1.25rem}
code{font-family:ui-monospace,monospace}
"#;

/// The login form, posting to `/authorize/login`; its answer redirects to `redirect_uri`.
pub fn login(
    state: &AppState,
    client_name: &str,
    scope: &ScopeSet,
    hidden: &[(&str, String)],
    error: Option<&str>,
    redirect_uri: &str,
) -> Response {
    let action = action(state, "/authorize/login");
    let mut html = String::with_capacity(4096);
    html.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Log in</title><style>");
    html.push_str(STYLE);
    html.push_str("</style></head><body><main><h1>Log in</h1><p>to continue to <strong>");
    html.push_str(&escape(client_name));
    html.push_str("</strong>, which asks for:</p><ul class=\"scopes\">");
    for s in scope.iter() {
        html.push_str("<li>");
        html.push_str(&escape(s));
        html.push_str("</li>");
    }
    html.push_str("</ul>");
    if let Some(error) = error {
        html.push_str("<p class=\"error\" role=\"alert\">");
        html.push_str(&escape(error));
        html.push_str("</p>");
    }
    html.push_str("<form method=\"post\" action=\"");
    html.push_str(&escape(&action));
    html.push_str("\">");
    push_hidden(&mut html, hidden);
    html.push_str(
        "<label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Log in</button>\
         <button type=\"submit\" name=\"action\" value=\"cancel\" class=\"secondary\" formnovalidate>Cancel</button></form>",
    );
    if state.config.demo {
        html.push_str("<p class=\"hint\">Demo users: <code>user0</code> / <code>password0</code> and <code>user1</code> / <code>password1</code></p>");
    }
    html.push_str("</main></body></html>");
    form_page(html, redirect_uri)
}

/// The consent screen: what a third-party client asks for, in the scopes' own words; posts to
/// `/authorize/consent`.
pub fn consent(
    state: &AppState,
    client_name: &str,
    scopes: &[ScopeInfo],
    hidden: &[(&str, String)],
    redirect_uri: &str,
) -> Response {
    let action = action(state, "/authorize/consent");
    let mut html = String::with_capacity(4096);
    html.push_str("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Allow access?</title><style>");
    html.push_str(STYLE);
    html.push_str("</style></head><body><main><h1>Allow access?</h1><p><strong>");
    html.push_str(&escape(client_name));
    html.push_str("</strong> is not part of this site. It asks to:</p><ul class=\"consent\">");
    for scope in scopes {
        html.push_str("<li>");
        html.push_str(&escape(&scope.description));
        html.push_str(" <code>");
        html.push_str(&escape(&scope.name));
        html.push_str("</code></li>");
    }
    html.push_str("</ul><form method=\"post\" action=\"");
    html.push_str(&escape(&action));
    html.push_str("\">");
    push_hidden(&mut html, hidden);
    html.push_str(
        "<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>\
         <p class=\"hint\">You can change your mind later by logging out of the application; it will \
         ask again if it ever wants more.</p></main></body></html>",
    );
    form_page(html, redirect_uri)
}

/// A form target under the issuer's path (the issuer may live below `/`).
fn action(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.config.issuer.path().trim_end_matches('/'))
}

fn push_hidden(html: &mut String, hidden: &[(&str, String)]) {
    for (name, value) in hidden {
        html.push_str("<input type=\"hidden\" name=\"");
        html.push_str(&escape(name));
        html.push_str("\" value=\"");
        html.push_str(&escape(value));
        html.push_str("\">");
    }
}

/// A page with a form whose answer redirects to the client: CSP's form-action applies to that
/// redirect too, so the client's origin is allowed as a target.
fn form_page(html: String, redirect_uri: &str) -> Response {
    let redirect_origin = Url::parse(redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let mut response = Html(html).into_response();
    protect(&mut response);
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' {redirect_origin}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

pub fn error(status: StatusCode, message: &str) -> Response {
    let title = if status.is_server_error() {
        "Something went wrong"
    } else {
        "This request cannot be completed"
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><main><h1>{title}</h1><p class=\"error\" role=\"alert\">{}</p>\
         <p>Return to the application and try again. If this keeps happening, the application's \
         OAuth settings (client id or redirect URI) need fixing.</p></main></body></html>",
        escape(message)
    );
    let mut response = (status, Html(html)).into_response();
    protect(&mut response);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"),
    );
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

pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
