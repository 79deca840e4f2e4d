//! OpenID Connect Back-Channel Logout 1.0 §2.5, the server's side: when a logout ends logins,
//! each client that registered a `backchannel_logout_uri` is sent a logout token there, server
//! to server, so that it ends its own sessions of those logins (the backend-for-frontend does,
//! at `/bff/backchannel-logout`).

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

/// Posts a logout token for each login in `ended` (of the user `sub`) whose client has a
/// `backchannel_logout_uri`, all at once, and records each outcome in the event log. A client
/// that fails is not asked again: its login has ended at this server either way, and its
/// tokens are refused everywhere.
pub async fn notify(
    state: &AppState,
    sub: &str,
    ended: &[EndedLogin],
    now: Timestamp,
) -> Vec<Delivery> {
    let http = match crate::issuers::fetch::client() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for back-channel logout");
            return Vec::new();
        }
    };
    let mut posts = tokio::task::JoinSet::new();
    for login in ended {
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
        let http = http.clone();
        let sid = login.grant_id.clone();
        posts.spawn(async move {
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
