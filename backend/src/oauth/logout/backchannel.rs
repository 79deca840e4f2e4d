//! OpenID Connect Back-Channel Logout 1.0 §2.5, the server's side: when a logout ends logins,
//! each client that registered a `backchannel_logout_uri` is sent a logout token there, server
//! to server, so that it ends its own sessions of those logins (the backend-for-frontend does,
//! at `/bff/backchannel-logout`).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::StatusCode;

use super::token::LogoutClaims;
use crate::clock::Timestamp;
use crate::events::{Event, EventKind};
use crate::state::AppState;
use crate::storage::EndedLogin;

/// How long a client may take to answer: the logout waits for it (§2.7 lets the server post in
/// parallel; it does, and the user sees who was told).
const TIMEOUT: Duration = Duration::from_secs(5);
/// How many logout tokens are posted at once: a user with many logins makes no flood.
const PARALLEL: usize = 8;

/// What came of one logout token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub client_id: String,
    pub client_name: String,
    /// It answered 200 or 204 (§2.8).
    pub delivered: bool,
    /// What happened, in words: "answered 200", "did not answer in 5 s", …
    pub outcome: String,
}

/// [`deliver`] in a task of its own, awaited: if the request that ended the logins goes away
/// (the browser closed), the clients are told all the same.
pub async fn notify(
    state: &AppState,
    sub: &str,
    ended: Vec<EndedLogin>,
    now: Timestamp,
) -> Vec<Delivery> {
    if ended.is_empty() {
        return Vec::new();
    }
    let task = tokio::spawn(deliver(state.clone(), sub.to_owned(), ended, now));
    task.await.unwrap_or_default()
}

/// [`deliver`] in the background, for a change whose answer should not wait for the clients
/// (an administrator disabling a user, a password reset).
pub fn notify_later(state: &AppState, sub: &str, ended: Vec<EndedLogin>, now: Timestamp) {
    if !ended.is_empty() {
        tokio::spawn(deliver(state.clone(), sub.to_owned(), ended, now));
    }
}

/// The HTTP client of every back channel: no redirects, bounded times (see
/// [`crate::issuers::fetch::client`]).
fn http() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| match crate::issuers::fetch::client() {
            Ok(http) => Some(http),
            Err(e) => {
                tracing::error!(error = %e, "no HTTP client for back-channel logout");
                None
            }
        })
        .as_ref()
}

/// Posts a logout token for each login in `ended` (of the user `sub`) whose client has a
/// `backchannel_logout_uri`, [`PARALLEL`] at a time, and records each outcome in the event
/// log. A client that fails is not asked again: its login has ended at this server either way,
/// and its tokens are refused everywhere.
async fn deliver(
    state: AppState,
    sub: String,
    ended: Vec<EndedLogin>,
    now: Timestamp,
) -> Vec<Delivery> {
    let Some(http) = http() else {
        return Vec::new();
    };
    let sub = sub.as_str();
    let state = &state;
    let slots = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut posts = tokio::task::JoinSet::new();
    for login in &ended {
        let client = match state.db.client(&login.client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, client_id = %login.client_id, "back-channel logout: the client could not be read");
                continue;
            }
        };
        let Some(uri) = client.backchannel_logout_uri.clone() else {
            continue;
        };
        // The logout token comes from the issuer of the login's ID tokens.
        let server = match &login.server_id {
            None => state.root.clone(),
            Some(id) => match state.servers.get(id) {
                Some(server) => server,
                None => continue,
            },
        };
        let claims = LogoutClaims::new(&server.issuer, &client.id, sub, &login.grant_id, now);
        let token = match claims.sign(&server.keys.get()) {
            Ok(token) => token,
            Err(e) => {
                tracing::error!(error = %e, "signing a logout token");
                continue;
            }
        };
        let sid = login.grant_id.clone();
        let slots = slots.clone();
        posts.spawn(async move {
            let _slot = slots.acquire_owned().await;
            let answer = tokio::time::timeout(
                TIMEOUT,
                http.post(&uri).form(&[("logout_token", token)]).send(),
            )
            .await;
            let (delivered, outcome) = match answer {
                Err(_) => (false, format!("did not answer in {} s", TIMEOUT.as_secs())),
                Ok(Err(e)) => (
                    false,
                    format!("could not be reached: {}", connect_error(&e)),
                ),
                Ok(Ok(response)) => {
                    let status = response.status();
                    let ok = status == StatusCode::OK || status == StatusCode::NO_CONTENT;
                    (ok, format!("answered {}", status.as_u16()))
                }
            };
            (client, uri, sid, delivered, outcome)
        });
    }
    let mut deliveries = Vec::new();
    while let Some(done) = posts.join_next().await {
        let Ok((client, uri, sid, delivered, outcome)) = done else {
            continue;
        };
        let event = Event::new(EventKind::BackchannelLogout)
            .client(&client.id)
            .user(sub)
            .detail(format!(
                "logout token for login {sid} posted to {uri}: {outcome}"
            ));
        state.events.record(event).await;
        deliveries.push(Delivery {
            client_id: client.id,
            client_name: client.name,
            delivered,
            outcome,
        });
    }
    deliveries.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    deliveries
}

/// A connection failure in a few words (reqwest's own text names the URL again).
fn connect_error(e: &reqwest::Error) -> &'static str {
    if e.is_connect() {
        "the connection was refused"
    } else if e.is_timeout() {
        "it timed out"
    } else {
        "the request failed"
    }
}
