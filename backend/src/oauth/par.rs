//! `POST /par`: pushed authorization requests (RFC 9126). The client sends its authorization
//! request straight to the server, authenticated as at the token endpoint, and gets a short-lived
//! `request_uri` to send the browser with instead: the request's parameters never travel
//! through the browser, where they could be read or changed, and a confidential client's
//! request is known to be its own before the user sees anything.
//!
//! The request is checked as the authorization endpoint checks one (§2.1), and checked again
//! when the browser brings the `request_uri` (see `authorize::pushed`). A refused push stores
//! nothing.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use shared::oauth::{ErrorCode, PushedAuthorizationResponse};

use super::authorize::pushed::{URN_PREFIX, uri_hash};
use super::authorize::request::{AuthorizationRequest, Channel, Refusal};
use super::client_auth;
use super::discovery::KnownServer;
use super::error::{OAuthError, no_store};
use super::params::{FormBody, Params};
use super::proof;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::crypto;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{Client, NewPushedRequest, PushedRequest};
use crate::throttle::{Verdict, address_key, retry_after_secs};

#[utoipa::path(post, path = "/par", tag = "OAuth",
    security((), ("clientBasic" = [])),
    request_body(content = crate::openapi::PushedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "RFC 9126 §2.2: send `client_id` and this `request_uri` to `/authorize`, once, within `expires_in` seconds", body = shared::oauth::PushedAuthorizationResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 9126 §2.3: what the authorization endpoint would refuse, with its code (`invalid_request`, `invalid_scope`, `unauthorized_client`, `unsupported_response_type`, `invalid_target`, `request_not_supported`, `login_required`)", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 413, description = "The request is larger than 16 KiB", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn par(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let root = state.root.clone();
    respond(handle(&state, &root, address, &headers, query.as_deref(), &body).await)
}

/// An authorization server's PAR endpoint: its `request_uri`s are opened only at its own
/// authorization endpoint.
#[utoipa::path(post, path = "/oauth2/{server}/v1/par", tag = "Authorization servers",
    security((), ("clientBasic" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = crate::openapi::PushedRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "RFC 9126 §2.2: send `client_id` and this `request_uri` to the server's `/v1/authorize`, once, within `expires_in` seconds", body = shared::oauth::PushedAuthorizationResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 9126 §2.3: what the server's authorization endpoint would refuse, with its code", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 413, description = "The request is larger than 16 KiB", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn server_par(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    respond(handle(&state, &server, address, &headers, query.as_deref(), &body).await)
}

fn respond(outcome: Result<PushedAuthorizationResponse, OAuthError>) -> Response {
    match outcome {
        // RFC 9126 §2.2: 201, and (as any response carrying a credential) never cached.
        Ok(pushed) => (StatusCode::CREATED, no_store(), Json(pushed)).into_response(),
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
) -> Result<PushedAuthorizationResponse, OAuthError> {
    let params = Params::post(headers, query, body)?;
    // RFC 9449 §10.1: a proof with the push binds the code to its key. Checked (and its nonce)
    // before the client authenticates, which may spend a client assertion (see `proof`).
    let proof = proof::checked(state, headers, &server.endpoint("/par"))?;
    // §2: the client authenticates as at the token endpoint; a public client names itself.
    let (client, _) = client_auth::authenticate(state, server, address, headers, &params).await?;
    // Every push stores a row (until it is opened or expires): counted per address, as logins
    // are, so that no one can fill the database with pushes of a public client.
    let now_us = state.clock.now_us();
    if let Verdict::Refused(wait) = state
        .throttles
        .pushes_per_address
        .hit(&state.db, &address_key(address), now_us)
        .await?
    {
        return Err(OAuthError::throttled(
            "too many authorization requests pushed from this address; wait before pushing \
             again",
            retry_after_secs(wait),
        ));
    }
    let now = state.clock.now();
    let proof = proof::recorded(state, proof).await?;
    let jkt = proof.as_ref().map(|proof| proof.jkt.as_str());
    push(state, server, &client, &params, jkt, now).await
}

/// Checks the authorization request `params` that `client` pushes to `server` at `now`, and
/// keeps it under a new `request_uri` (§2.1, §2.2); with `dpop`, the thumbprint of the key of
/// the push's DPoP proof, bound to that key (RFC 9449 §10.1).
pub async fn push(
    state: &AppState,
    server: &Arc<AuthServer>,
    client: &Client,
    params: &Params,
    dpop: Option<&str>,
    now: Timestamp,
) -> Result<PushedAuthorizationResponse, OAuthError> {
    let mut request =
        AuthorizationRequest::check(state, server, &client.id, params, Channel::Pushing)
            .await
            .map_err(refused)?;
    if let Some(jkt) = dpop {
        // §10.1: with both, the `dpop_jkt` parameter must name the proof's key.
        if request
            .dpop_jkt
            .as_deref()
            .is_some_and(|named| named != jkt)
        {
            return Err(proof::invalid(format!(
                "dpop_jkt names another key than the one that signed the DPoP proof ({jkt}): \
                 leave dpop_jkt out, or name the proof's key"
            )));
        }
        request.dpop_jkt = Some(jkt.to_owned());
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(request.fields())
        .finish();
    // §2.2 and §7.1: the reference is 256 random bits, so it cannot be guessed; only its hash
    // is stored.
    let reference = crypto::random_token(32);
    let ttl = state.config.pushed_request_ttl;
    state
        .db
        .insert_pushed_request(&NewPushedRequest {
            uri_hash: &uri_hash(&reference),
            request: &PushedRequest {
                client_id: client.id.clone(),
                server_id: server.id().map(str::to_owned),
                server_generation: server.generation().map(str::to_owned),
                params: encoded,
            },
            expires_at: now.after(ttl),
        })
        .await?;
    Ok(PushedAuthorizationResponse {
        request_uri: format!("{URN_PREFIX}{reference}"),
        expires_in: ttl,
    })
}

/// §2.3: what the authorization endpoint would have refused, as a token-endpoint style error
/// with the same code. What it would show on a page (no trustworthy redirect URI) is
/// `invalid_request`.
fn refused(refusal: Refusal) -> OAuthError {
    match refusal {
        Refusal::Page(page) if page.status() == StatusCode::SERVICE_UNAVAILABLE => {
            OAuthError::unavailable()
        }
        Refusal::Page(page) if page.status().is_server_error() => {
            OAuthError::server_error(page.message())
        }
        Refusal::Page(page) => OAuthError::invalid_request(page.message()),
        Refusal::Redirect {
            error,
            description,
            why,
            ..
        } => {
            let code = ErrorCode::named(error).unwrap_or(ErrorCode::InvalidRequest);
            let mut error = OAuthError::new(code, description);
            if let Some(why) = why {
                error = error.because(*why);
            }
            error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::authorize::pushed;
    use crate::state::testing::{client, demo_state};

    const GOOD: &str = "response_type=code&client_id=demo-spa\
        &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback&scope=openid&state=s\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256\
        &unknown=ignored";

    fn params(raw: &str) -> Params {
        Params::parse(raw.as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn a_push_keeps_the_checked_request_and_a_refused_one_nothing() {
        let (state, _dir) = demo_state(&[]).await;
        let spa = client(&state, "demo-spa").await;
        let now = state.clock.now();
        let answer = push(&state, &state.root, &spa, &params(GOOD), None, now)
            .await
            .unwrap();
        assert_eq!(answer.expires_in, 60);
        let reference = answer.request_uri.strip_prefix(URN_PREFIX).unwrap();
        assert_eq!(reference.len(), 43, "256 bits, base64url");
        assert_eq!(state.db.count("pushed_requests").await.unwrap(), 1);

        // Read back: the request as checked, without what it did not understand.
        let query = format!("client_id=demo-spa&request_uri={}", answer.request_uri);
        let request = pushed::open(&state, &state.root, &params(&query), "csrf", now)
            .await
            .unwrap();
        assert_eq!(request.state.as_deref(), Some("s"));
        assert_eq!(request.pushed.as_deref(), Some(answer.request_uri.as_str()));
        let fields = request.fields();
        assert!(fields.iter().all(|(name, _)| *name != "unknown"));
        // The browser that opened it reads it again; another does not.
        assert!(
            pushed::reopen(&state, &state.root, &params(&query), "csrf", now)
                .await
                .is_ok()
        );
        assert!(
            pushed::reopen(&state, &state.root, &params(&query), "other", now)
                .await
                .is_err()
        );
        // Opened once.
        assert!(
            pushed::open(&state, &state.root, &params(&query), "other", now)
                .await
                .is_err()
        );

        let partner = client(&state, "demo-partner").await;
        let refused = push(&state, &state.root, &partner, &params(GOOD), None, now)
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidRequest);
        let wider = GOOD.replace("scope=openid", "scope=openid+billing");
        let refused = push(&state, &state.root, &spa, &params(&wider), None, now)
            .await
            .unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidScope);
        assert_eq!(state.db.count("pushed_requests").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_pushed_request_expires_unopened_and_lasts_once_opened() {
        let (state, _dir) = demo_state(&[]).await;
        let spa = client(&state, "demo-spa").await;
        let now = state.clock.now();
        let first = push(&state, &state.root, &spa, &params(GOOD), None, now)
            .await
            .unwrap();
        let second = push(&state, &state.root, &spa, &params(GOOD), None, now)
            .await
            .unwrap();
        let query = |uri: &str| params(&format!("client_id=demo-spa&request_uri={uri}"));
        let later = now.plus_secs(61);
        assert!(
            pushed::open(&state, &state.root, &query(&first.request_uri), "c", later)
                .await
                .is_err()
        );
        let opened = now.plus_secs(59);
        pushed::open(
            &state,
            &state.root,
            &query(&second.request_uri),
            "c",
            opened,
        )
        .await
        .unwrap();
        // The login form lasts as long as its anti-forgery cookie.
        let in_the_form = opened.plus_secs(1799);
        assert!(
            pushed::reopen(
                &state,
                &state.root,
                &query(&second.request_uri),
                "c",
                in_the_form
            )
            .await
            .is_ok()
        );
        let after_the_form = opened.plus_secs(1801);
        assert!(
            pushed::reopen(
                &state,
                &state.root,
                &query(&second.request_uri),
                "c",
                after_the_form
            )
            .await
            .is_err()
        );
        assert_eq!(
            state
                .db
                .purge_pushed_requests(after_the_form)
                .await
                .unwrap(),
            2
        );
    }
}
