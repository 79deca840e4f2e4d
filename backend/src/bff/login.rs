//! Logging in and out: the authorization-code flow with PKCE, run by the server.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::pkce::CodeVerifier;
use shared::scope::{ADMIN, OFFLINE_ACCESS, ORDERS_READ, ORDERS_WRITE, PRODUCTS_READ, ScopeSet};

use super::session::{
    Session, SessionKey, Tokens, check_csrf, clear_cookie, cookie_name, with_exchange,
};
use super::upstream::TokenResult;
use super::{Bff, BffError};
use crate::client_addr::ClientAddr;
use crate::crypto;
use crate::storage::{self, BffLogin, BffSessionRow, Failure};
use crate::throttle::{Verdict, address_key, retry_after_secs};
use crate::web;

/// What the app's pages need. No `openid`: the server reads who is logged in from the access
/// token it verifies itself, and needs no ID token.
const SCOPE: [&str; 6] = [
    OFFLINE_ACCESS,
    "profile",
    "email",
    PRODUCTS_READ,
    ORDERS_READ,
    ORDERS_WRITE,
];

/// Ties the callback to the browser that started the login. `SameSite=Lax`, not `Strict`: the
/// browser comes back from the authorization server, which in production is another site, and
/// `Strict` cookies are not sent on a navigation that another site started.
const LOGIN_COOKIE: (&str, &str) = ("bff_login", "__Host-bff_login");
/// RFC 6749 §10.12 asks for a state bound to the browser; ten minutes to log in.
const LOGIN_TTL_SECS: i64 = 600;
const MAX_RETURN_TO: usize = 512;

/// `GET /bff/login?return_to=/orders&admin=true`: remembers the login and sends the browser
/// to the authorization endpoint. Each start stores a row for ten minutes, so starts are limited
/// per address like login attempts.
pub async fn start(
    State(bff): State<Arc<Bff>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let config = &bff.app.config;
    let throttle = &bff.app.throttles.bff_logins_per_address;
    let now_us = bff.app.clock.now_us();
    let verdict = match throttle
        .hit(&bff.app.db, &address_key(address), now_us)
        .await
    {
        Ok(verdict) => verdict,
        Err(e) => return BffError::from(e).into_response(),
    };
    if let Verdict::Refused(wait) = verdict {
        let secs = retry_after_secs(wait);
        let response = (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, secs.to_string()),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            ],
            format!("Too many logins started from this address; try again in {secs} s.\n"),
        )
            .into_response();
        return crate::refusals::Refused::tag(
            response,
            "temporarily_unavailable",
            format!("too many logins started from this address; try again in {secs} s"),
            None,
        );
    }
    let mut return_to = "/".to_owned();
    let mut admin = false;
    let mut seen = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        if seen.contains(&name) {
            return bad_login(&format!("{name} is repeated"));
        }
        match &*name {
            "return_to" => match return_path(&value) {
                Some(path) => return_to = path.to_owned(),
                None => return bad_login("return_to must be a path of this app, like /orders"),
            },
            "admin" => match &*value {
                "true" => admin = true,
                "false" => admin = false,
                _ => return bad_login("admin must be true or false"),
            },
            _ => return bad_login(&format!("unknown parameter {name}")),
        }
        seen.push(name);
    }
    let scope: ScopeSet = SCOPE.into_iter().chain(admin.then_some(ADMIN)).collect();
    let scope_param = scope.to_string();
    let key = SessionKey::generate();
    let state = crypto::random_token(32);
    let verifier = CodeVerifier::from_random_bytes(&crypto::random_bytes());
    // A browser that has a session (the console's step-up) sends its cookie here, on its own
    // origin. The callback may not get it (coming back from another site, a `SameSite=Strict`
    // cookie stays home), so the login remembers which session it replaces, sealed under the
    // login cookie as tokens are under a session cookie.
    let replaces = match SessionKey::from_request(config, &headers) {
        Some(old) => match key.seal_bytes(old.secret().as_bytes()) {
            Ok(sealed) => Some(sealed),
            Err(e) => return e.into_response(),
        },
        None => None,
    };
    let login = BffLogin {
        state: state.clone(),
        code_verifier: verifier.as_str().to_owned(),
        requested_scope: scope,
        return_to,
        replaces,
        expires_at: bff.app.clock.now().plus_secs(LOGIN_TTL_SECS),
    };
    if let Err(e) = bff.app.db.insert_bff_login(&key.id_hash(), &login).await {
        return BffError::from(e).into_response();
    }
    let challenge = verifier.challenge();
    let redirect_uri = redirect_uri(&bff);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", config.bff_client_id.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("scope", scope_param.as_str()),
            ("state", state.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let location = format!("{}?{query}", config.endpoint("/authorize"));
    let (name, secure) = login_cookie(&bff);
    let cookie = format!(
        "{name}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LOGIN_TTL_SECS}{secure}",
        key.secret()
    );
    redirect(&location, &[cookie])
}

/// `GET /bff/callback`: where the authorization server sends the browser back (RFC 6749
/// §4.1.2). Checks the response against the login this browser started, redeems the code with
/// the client's secret and the PKCE verifier, and starts the session.
pub async fn callback(
    State(bff): State<Arc<Bff>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let (name, secure) = login_cookie(&bff);
    let clear_login = format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}");
    match finish_login(&bff, &headers, query.as_deref().unwrap_or("")).await {
        Ok((location, session_cookie)) => redirect(&location, &[clear_login, session_cookie]),
        Err(Failed { error, description }) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("error", error), ("error_description", &description)])
                .finish();
            redirect(&format!("/?{query}"), &[clear_login])
        }
    }
}

/// A login that did not end in a session, as the app's home page shows it.
struct Failed {
    error: &'static str,
    description: String,
}

fn failed(error: &'static str, description: impl Into<String>) -> Failed {
    Failed {
        error,
        description: description.into(),
    }
}

async fn finish_login(
    bff: &Bff,
    headers: &HeaderMap,
    query: &str,
) -> Result<(String, String), Failed> {
    let config = &bff.app.config;
    let mut params = std::collections::HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if params.insert(name.clone(), value).is_some() {
            return Err(failed(
                "invalid_request",
                format!("the authorization response repeats {name}"),
            ));
        }
    }
    let (name, _) = login_cookie(bff);
    let key = web::cookie(headers, name)
        .and_then(|value| SessionKey::from_secret(value.as_bytes()))
        .ok_or_else(|| {
            failed(
                "invalid_request",
                "this browser did not start a login (or it took longer than ten minutes); log in again",
            )
        })?;
    let server_failed = |e: storage::Error| match e.triage() {
        Failure::Input => failed(
            "invalid_request",
            "the authorization response contains a NUL character",
        ),
        Failure::Unavailable => failed(
            "temporarily_unavailable",
            "the server's database is not answering; log in again in a few seconds",
        ),
        Failure::Internal(e) => {
            tracing::error!(error = %e, "reading a backend-for-frontend login");
            failed("server_error", "the server failed; the error is logged")
        }
    };
    let id_hash = key.id_hash();
    let login = bff
        .app
        .db
        .bff_login(&id_hash)
        .await
        .map_err(server_failed)?
        .filter(|login| login.expires_at > bff.app.clock.now())
        .ok_or_else(|| {
            failed(
                "invalid_request",
                "the login expired or was already used; log in again",
            )
        })?;
    // RFC 6749 §10.12: the response must answer this browser's own request. A response to
    // another login (another tab's, or one an attacker sends the browser to) leaves this one
    // usable.
    let state = params
        .get("state")
        .map(|s| s.as_bytes())
        .unwrap_or_default();
    if !crypto::constant_time_eq(state, login.state.as_bytes()) {
        return Err(failed(
            "invalid_request",
            "the authorization response does not answer this browser's login (state mismatch)",
        ));
    }
    // Single use: of two callbacks with the same login, one gets past here.
    if !bff
        .app
        .db
        .take_bff_login(&id_hash)
        .await
        .map_err(server_failed)?
    {
        return Err(failed(
            "invalid_request",
            "the login expired or was already used; log in again",
        ));
    }
    // RFC 9207 §2.4: the response must come from the issuer the request went to.
    if params.get("iss").map(|s| &**s) != Some(config.issuer_str()) {
        return Err(failed(
            "invalid_request",
            "the authorization response is not from this server's issuer (iss)",
        ));
    }
    if let Some(error) = params.get("error") {
        let code = match &**error {
            "access_denied" => "access_denied",
            "invalid_scope" => "invalid_scope",
            "temporarily_unavailable" => "temporarily_unavailable",
            _ => "server_error",
        };
        let description = params
            .get("error_description")
            .map(|d| d.chars().take(300).collect::<String>())
            .unwrap_or_else(|| format!("the authorization server answered {error}"));
        return Err(failed(code, description));
    }
    let code = params
        .get("code")
        .ok_or_else(|| failed("invalid_request", "the authorization response has no code"))?;
    let redirect_uri = redirect_uri(bff);
    let outcome = bff
        .token(
            "authorization_code",
            &[
                ("code", code),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", &login.code_verifier),
            ],
        )
        .await;
    let tokens = match outcome.result {
        TokenResult::Issued(tokens) => tokens,
        TokenResult::Refused(error) => {
            return Err(failed(
                "access_denied",
                format!(
                    "the authorization server refused the code: {}",
                    error.error_description.unwrap_or(error.error)
                ),
            ));
        }
        TokenResult::Failed(why) => return Err(failed("temporarily_unavailable", why)),
    };
    let claims = bff
        .app
        .tokens
        .verify(&tokens.access_token, bff.app.clock.now())
        .map_err(|why| {
            failed(
                "server_error",
                format!("the token endpoint's access token is not valid here: {why}"),
            )
        })?;

    // A login in a browser that already had a session (the console's step-up) replaces it.
    let replaced = login
        .replaces
        .as_deref()
        .and_then(|sealed| key.open_bytes(sealed))
        .and_then(|secret| SessionKey::from_secret(&secret));
    if let Some(old) = replaced
        && let Some(old) = Session::of_key(bff, old).await
    {
        old.end(bff).await;
    }
    let key = SessionKey::generate();
    let now = bff.app.clock.now();
    let sealed = key
        .seal(&Tokens {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
        })
        .map_err(|_| failed("server_error", "the server failed; the error is logged"))?;
    let expires_in = i64::try_from(tokens.expires_in).unwrap_or(0);
    let row = BffSessionRow {
        id_hash: key.id_hash(),
        subject: claims.sub,
        grant_id: claims.grant_id,
        requested_scope: login.requested_scope,
        tokens: sealed,
        access_expires_at: now.plus_secs(expires_in),
        refreshable: tokens.refresh_token.is_some(),
        exchanges: with_exchange(Vec::new(), outcome.exchange),
        created_at: now,
        last_seen_at: now,
        expires_at: now.after(config.session_lifetime),
    };
    bff.app
        .db
        .insert_bff_session(&row)
        .await
        .map_err(server_failed)?;
    let cookie = key
        .set_cookie(config)
        .to_str()
        .unwrap_or_default()
        .to_owned();
    Ok((login.return_to, cookie))
}

/// `POST /bff/logout`: revokes the session's grant at the authorization server (RFC 7009) and
/// forgets the session. Answers 204 also when there was none.
pub async fn logout(
    State(bff): State<Arc<Bff>>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, BffError> {
    let config = &bff.app.config;
    // Without the cookie there is nothing to end, and nothing to clear: answering a cross-site
    // request (which never carries the `SameSite=Strict` cookie) with a clearing `Set-Cookie`
    // would let any site log the user out.
    let Some(key) = SessionKey::from_request(config, &headers) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    check_csrf(config, &method, &headers, &key)?;
    if let Ok(session) = Session::load(&bff, &headers).await {
        session.end(&bff).await;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(config))],
    )
        .into_response())
}

fn redirect_uri(bff: &Bff) -> String {
    format!(
        "{}/bff/callback",
        bff.app.config.app_url.as_str().trim_end_matches('/')
    )
}

fn login_cookie(bff: &Bff) -> (&'static str, &'static str) {
    cookie_name(&bff.app.config, LOGIN_COOKIE)
}

/// A path of the app to return to after the login: absolute, on this origin (not `//host` or
/// `/\host`, which browsers read as another host), printable ASCII, and not the
/// backend-for-frontend's own paths.
fn return_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && !raw.starts_with("/bff")
        && raw.len() <= MAX_RETURN_TO
        && raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(raw)
}

fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// A refused `/bff/login`: a page, since the browser navigated here.
fn bad_login(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("This login link is not valid: {why}.\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_origin() {
        for ok in ["/", "/orders", "/admin/users?tab=1", "/products#top"] {
            assert_eq!(return_path(ok), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "orders",
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "/bff/logout",
            "/a b",
            "/a\u{7f}",
            "/\u{e9}",
            "/a\\b",
        ] {
            assert_eq!(return_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            return_path(&format!("/{}", "a".repeat(MAX_RETURN_TO))),
            None
        );
    }
}
