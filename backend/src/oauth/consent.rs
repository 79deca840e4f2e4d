//! The consent screen: after logging in to a third-party client (one not flagged first-party),
//! the user sees what the client asks for, in plain words, and allows or denies it. A denial
//! goes back to the client as `access_denied` (RFC 6749 §4.1.2.1). What a user allowed is
//! remembered per client, and asked again only when a client asks for more.
//!
//! The login has already happened, so the authorization request is kept server-side under a
//! one-time ticket (at most five minutes), bound to the browser's anti-forgery token: the
//! consent form carries only the ticket, that token and the answer, nothing the browser sends
//! can change what is granted, and a ticket carried to another browser answers nothing.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use shared::scope::ScopeSet;

use super::authorize::{checked_form, deny, issue_code};
use super::page;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::state::AppState;
use crate::storage::{Client, CodeGrant, ConsentTicket, ScopeInfo, now};

const TICKET_TTL: i64 = 300;

/// `Some(scopes to show)` if the user must be asked before `grant` is issued.
pub async fn needed(
    state: &AppState,
    client: &Client,
    grant: &CodeGrant,
) -> anyhow::Result<Option<Vec<ScopeInfo>>> {
    if client.first_party {
        return Ok(None);
    }
    let requested = ScopeSet::parse(&grant.scope)?;
    let catalogue = state.db.scope_catalogue().await?;
    let consented = state
        .db
        .consented_scope(&grant.user_id, &client.id)
        .await?
        .and_then(|s| ScopeSet::parse(&s).ok())
        .unwrap_or_default();
    let info = |name: &str| {
        catalogue
            .iter()
            .find(|s| s.name == name)
            .cloned()
            // A scope missing from the catalogue is shown by name and always needs consent.
            .unwrap_or_else(|| ScopeInfo {
                name: name.to_owned(),
                description: name.to_owned(),
                consent_required: true,
            })
    };
    let shown: Vec<ScopeInfo> = requested.iter().map(info).collect();
    let unanswered = shown
        .iter()
        .any(|s| s.consent_required && !consented.contains(&s.name));
    Ok(unanswered.then_some(shown))
}

/// Shows the consent screen for `grant`, keeping it under a new ticket.
pub async fn ask(
    state: &AppState,
    client: &Client,
    grant: &CodeGrant,
    client_state: Option<String>,
    csrf: &str,
    scopes: &[ScopeInfo],
) -> Response {
    let ticket = crypto::random_token(32);
    let stored = ConsentTicket {
        user_id: grant.user_id.clone(),
        client_id: grant.client_id.clone(),
        redirect_uri: grant.redirect_uri.clone(),
        scope: grant.scope.clone(),
        state: client_state,
        code_challenge: grant.code_challenge.clone(),
        nonce: grant.nonce.clone(),
        auth_time: grant.auth_time,
        expires_at: now() + TICKET_TTL,
    };
    if let Err(e) = state
        .db
        .insert_consent_ticket(
            &crypto::sha256_hex(&ticket),
            &crypto::sha256_hex(csrf),
            &stored,
        )
        .await
    {
        tracing::error!(error = %e, "storing a consent ticket failed");
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The login could not be completed. Try again.",
        );
    }
    page::consent(
        state,
        &client.name,
        scopes,
        &[("csrf_token", csrf.to_owned()), ("ticket", ticket)],
        &grant.redirect_uri,
    )
}

/// `POST /authorize/consent`: the user's answer.
pub async fn answer(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match checked_form(&headers, &body) {
        Ok(params) => params,
        Err(refused) => return *refused,
    };
    let allow = match params.get("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            return page::error(
                StatusCode::BAD_REQUEST,
                "The consent form was sent without an answer (allow or deny).",
            );
        }
    };
    let Some(ticket) = params.get("ticket").filter(|t| t.len() <= 128) else {
        return page::error(StatusCode::BAD_REQUEST, "The consent form has no ticket.");
    };
    let now = now();
    let expired = || {
        page::error(
            StatusCode::BAD_REQUEST,
            "This consent request has expired or was already answered. Go back to the \
             application and log in again.",
        )
    };
    let ticket = match state
        .db
        .take_consent_ticket(
            &crypto::sha256_hex(ticket),
            &crypto::sha256_hex(params.get("csrf_token").unwrap_or_default()),
            now,
        )
        .await
    {
        Ok(Some(ticket)) => ticket,
        Ok(None) => return expired(),
        Err(e) => {
            tracing::error!(error = %e, "reading a consent ticket failed");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The answer could not be recorded. Try again.",
            );
        }
    };
    // The client may have been changed while the user read the page: its redirect URI must
    // still be registered before anything is sent there.
    let client = match state.db.client(&ticket.client_id).await {
        Ok(Some(client)) if client.redirect_uris.contains(&ticket.redirect_uri) => client,
        Ok(_) => return expired(),
        Err(e) => {
            tracing::error!(error = %e, "loading a client failed");
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The answer could not be recorded. Try again.",
            );
        }
    };
    let event = Event::new(if allow {
        EventKind::ConsentGranted
    } else {
        EventKind::ConsentDenied
    })
    .client(&client.id)
    .user(&ticket.user_id)
    .address(peer.ip())
    .detail(format!("scope {}", ticket.scope));
    state.events.record(event).await;
    if !allow {
        return deny(&state, &ticket.redirect_uri, ticket.state.as_deref());
    }
    if let Err(e) = remember(&state, &ticket, now).await {
        tracing::error!(error = %e, "storing a consent failed");
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The answer could not be recorded. Try again.",
        );
    }
    let grant = CodeGrant {
        client_id: client.id,
        user_id: ticket.user_id,
        redirect_uri: ticket.redirect_uri,
        scope: ticket.scope,
        code_challenge: ticket.code_challenge,
        nonce: ticket.nonce,
        auth_time: ticket.auth_time,
        expires_at: now + i64::try_from(state.config.authorization_code_ttl).unwrap_or(60),
    };
    issue_code(&state, &grant, ticket.state.as_deref()).await
}

/// Adds the ticket's scopes to what the user has already allowed this client.
async fn remember(state: &AppState, ticket: &ConsentTicket, now: i64) -> anyhow::Result<()> {
    let before = state
        .db
        .consented_scope(&ticket.user_id, &ticket.client_id)
        .await?
        .unwrap_or_default();
    let all: ScopeSet = before
        .split(' ')
        .chain(ticket.scope.split(' '))
        .filter(|s| !s.is_empty())
        .collect();
    state
        .db
        .record_consent(&ticket.user_id, &ticket.client_id, &all.to_string(), now)
        .await?;
    Ok(())
}
