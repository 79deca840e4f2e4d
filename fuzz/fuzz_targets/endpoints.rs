//! The whole API origin in process (`backend::api_router` over a real state with the demo data),
//! fed HTTP requests written as text, so seeds can be read and written by hand:
//!
//! ```text
//! POST /token
//! Content-Type: application/x-www-form-urlencoded
//! Authorization: Basic ZGVtby1zZXJ2aWNlOmRlbW8tc2VydmljZS1zZWNyZXQ=
//!
//! grant_type=client_credentials&scope=products:read
//! ```
//!
//! `$TOKEN` and `$APITOKEN` stand for a valid access token and API token of user0. This covers
//! the code that turns `/authorize` and `/token` parameters into a request (authorize.rs
//! `validate`, token.rs `handle`, client authentication with its Basic parsing) and the API's
//! `Authorization` extractor, and checks:
//!
//! - no answer is a 5xx (every failure has its 4xx);
//! - `/authorize*` redirects (303) only to a URI registered for the client named in the
//!   request, equal to the request's `redirect_uri` as a string, with `iss` and the request's
//!   `state` (RFC 6749 §4.1.2.1, RFC 9700 §4.1.3, RFC 9207);
//! - a 200 from `/token` or an authorization server's `/oauth2/{id}/v1/token` is a
//!   client-credentials grant to a confidential client, and its access token verifies with that
//!   issuer's keys (and no other's), is the client's own, and has no scope the client lacks; a
//!   4xx is one of RFC 6749 §5.2's errors;
//! - nothing under `/api/` (but `/api/hello`) or `/admin/` answers 2xx without a token.

#![no_main]

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use backend_fuzz::{ISSUER, World, world};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let w = world();
    let data = replace(data, b"$APITOKEN", w.api_token.as_bytes());
    let data = replace(&data, b"$TOKEN", w.bearer.as_bytes());
    let Some(request) = parse(&data) else {
        return;
    };
    let (method, path, query, body) = (
        request.method.clone(),
        request.path.clone(),
        request.query.clone(),
        request.body.clone(),
    );
    let has_credentials = data
        .windows(4)
        .any(|win| win.eq_ignore_ascii_case(b"amt_") || win == b"eyJ0");
    let Some(response) = send(w, request) else {
        return;
    };
    let (parts, body_bytes) = response;
    let status = parts.status;
    let context = || {
        format!(
            "{method} {path}?{} -> {status}\n{}",
            String::from_utf8_lossy(&query),
            String::from_utf8_lossy(&body_bytes)
        )
    };
    // FUZZ_DEBUG=1 shows each request's answer, for writing seeds.
    if std::env::var_os("FUZZ_DEBUG").is_some() {
        eprintln!("{}\n", context());
    }
    assert!(!status.is_server_error(), "{}", context());

    if path.starts_with("/authorize") && status == StatusCode::SEE_OTHER {
        let sent = if method == Method::GET { &query } else { &body };
        check_redirect(w, sent, &parts.headers, &context);
    }
    if let Some(issuer) = token_endpoint(&path) {
        check_token(w, issuer, &body, status, &body_bytes, &context);
    }
    let protected = (path.starts_with("/api/") && path != "/api/hello")
        || path.starts_with("/admin/")
        || path == "/userinfo";
    if protected && status.is_success() {
        assert!(
            has_credentials,
            "answered without credentials: {}",
            context()
        );
    }
});

struct Parsed {
    method: Method,
    path: String,
    query: Vec<u8>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Vec<u8>,
}

/// `METHOD TARGET`, header lines, an empty line, the body. Leniently: what cannot be a request
/// is skipped, bytes a URI may not hold are percent-encoded.
fn parse(data: &[u8]) -> Option<Parsed> {
    let (head, body) = match find(data, b"\n\n") {
        Some(at) => (&data[..at], data[at + 2..].to_vec()),
        None => (data, Vec::new()),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next()?;
    let space = first.iter().position(|&b| b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let target = &first[space + 1..];
    let (path, query) = match target.iter().position(|&b| b == b'?') {
        Some(at) => (&target[..at], target[at + 1..].to_vec()),
        None => (target, Vec::new()),
    };
    let path = String::from_utf8(path.to_vec()).ok()?;
    if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic() && b != b'#') {
        return None;
    }
    let headers = lines
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            Some((name, value))
        })
        .collect();
    Some(Parsed {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn send(w: &World, request: Parsed) -> Option<(axum::http::response::Parts, Vec<u8>)> {
    let mut uri = request.path;
    if !request.query.is_empty() {
        uri.push('?');
        for &b in &request.query {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b) {
                uri.push(char::from(b));
            } else {
                uri.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut builder = Request::builder().method(request.method).uri(uri);
    for (name, value) in request.headers {
        builder = builder.header(name, value);
    }
    let mut http = builder.body(Body::from(request.body)).ok()?;
    let peer: SocketAddr = ([127, 0, 0, 1], 40_000).into();
    http.extensions_mut().insert(ConnectInfo(peer));
    w.rt.block_on(async {
        let response: Response<Body> = w.router.clone().oneshot(http).await.ok()?;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.ok()?;
        Some((parts, bytes.to_vec()))
    })
}

fn check_redirect(
    w: &World,
    sent: &[u8],
    headers: &axum::http::HeaderMap,
    context: &dyn Fn() -> String,
) {
    let params: HashMap<String, String> = form_urlencoded::parse(sent).into_owned().collect();
    let client_id = params
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let redirect_uri = params
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    let client = w
        .clients
        .iter()
        .find(|c| c.id == client_id)
        .unwrap_or_else(|| panic!("redirected for unknown client {client_id:?}: {}", context()));
    assert!(
        client.redirect_uris.iter().any(|r| r == redirect_uri),
        "redirected to unregistered {redirect_uri:?}: {}",
        context()
    );
    let location = headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Url::parse(v).ok())
        .unwrap_or_else(|| panic!("303 without a Location: {}", context()));
    let registered = Url::parse(redirect_uri).unwrap_or_else(|_| panic!("{}", context()));
    assert_eq!(
        (
            location.scheme(),
            location.host(),
            location.port(),
            location.path()
        ),
        (
            registered.scheme(),
            registered.host(),
            registered.port(),
            registered.path()
        ),
        "{}",
        context()
    );
    let answer: HashMap<String, String> = location.query_pairs().into_owned().collect();
    assert_eq!(
        answer.get("iss").map(String::as_str),
        Some(ISSUER),
        "{}",
        context()
    );
    if let Some(state) = params.get("state").filter(|s| !s.is_empty()) {
        assert_eq!(answer.get("state"), Some(state), "{}", context());
    }
}

const TOKEN_ERRORS: [&str; 6] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// Whose token endpoint `path` is: `Some(None)` for the root issuer's `/token`, `Some(Some(id))`
/// for an authorization server's `/oauth2/{id}/v1/token`.
fn token_endpoint(path: &str) -> Option<Option<&str>> {
    if path == "/token" {
        return Some(None);
    }
    let id = path.strip_prefix("/oauth2/")?.strip_suffix("/v1/token")?;
    (!id.contains('/')).then_some(Some(id))
}

fn check_token(
    w: &World,
    issuer: Option<&str>,
    sent: &[u8],
    status: StatusCode,
    body: &[u8],
    context: &dyn Fn() -> String,
) {
    // 405, 413 and 415 come from the framework before the handler; 429 is the throttle; 404 an
    // authorization server that does not exist.
    if matches!(status.as_u16(), 405 | 413 | 415 | 429)
        || (issuer.is_some() && status == StatusCode::NOT_FOUND)
    {
        return;
    }
    let json: Value = serde_json::from_slice(body).unwrap_or_else(|_| panic!("{}", context()));
    if status != StatusCode::OK {
        let error = json["error"].as_str().unwrap_or_default();
        assert!(TOKEN_ERRORS.contains(&error), "{}", context());
        return;
    }
    let params: HashMap<String, String> = form_urlencoded::parse(sent).into_owned().collect();
    assert_eq!(
        params.get("grant_type").map(String::as_str),
        Some("client_credentials"),
        "a token without a code or refresh token: {}",
        context()
    );
    assert_eq!(json["token_type"], "Bearer", "{}", context());
    let token = json["access_token"].as_str().unwrap_or_default();
    let now = w.state.clock.now();
    let (own, other) = match issuer {
        None => (
            w.state.tokens.clone(),
            w.state.servers.get("default").map(|s| s.tokens.clone()),
        ),
        Some(id) => {
            let server = w
                .state
                .servers
                .get(id)
                .unwrap_or_else(|| panic!("{}", context()));
            (server.tokens.clone(), Some(w.state.tokens.clone()))
        }
    };
    let claims = own
        .verify(token, now)
        .unwrap_or_else(|e| panic!("issued token refused ({e}): {}", context()));
    if let Some(other) = other {
        assert!(
            other.verify(token, now).is_err(),
            "accepted by another issuer: {}",
            context()
        );
    }
    assert_eq!(claims.sub, claims.client_id, "{}", context());
    let client = w
        .clients
        .iter()
        .find(|c| c.id == claims.client_id)
        .unwrap_or_else(|| panic!("{}", context()));
    assert!(client.secret_hash.is_some(), "public client: {}", context());
    assert!(claims.scope.is_subset(&client.scopes), "{}", context());
    assert!(!claims.scope.is_empty(), "{}", context());
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn replace(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}
