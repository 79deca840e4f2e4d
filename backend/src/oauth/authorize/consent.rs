//! The consent screen: after logging in to a third-party client (one not flagged first-party),
//! the user sees what the client asks for, in plain words, and allows or denies it. A denial
//! goes back to the client as `access_denied` (RFC 6749 §4.1.2.1). What a user allowed is
//! remembered per client, and asked again only when a client asks for more.
//!
//! The login has already happened, so the authorization request is kept server-side under a
//! one-time ticket (at most five minutes), bound to the browser's anti-forgery token: the
//! consent form carries only the ticket, that token and the answer, nothing the browser sends
//! can change what is granted, and a ticket carried to another browser answers nothing. The
//! ticket is in the database, so the answer may land on any instance.

use std::net::IpAddr;

use shared::oauth::GrantType;

use super::page::PageError;
use super::response::{code_expiry, issue_code};
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, Client, CodeGrant, ConsentAt, ConsentTicket, ScopeInfo};

const TICKET_TTL_SECS: i64 = 300;

/// `Some(scopes to show)` if the user must be asked before `grant` is issued.
pub async fn needed(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    grant: &CodeGrant,
) -> storage::Result<Option<Vec<ScopeInfo>>> {
    if client.first_party {
        return Ok(None);
    }
    // What the server's consent screen says of its scopes.
    let catalogue = server.scope_catalogue(&state.db).await?;
    let at = ConsentAt {
        server_id: grant.server_id.as_deref(),
        generation: grant.server_generation.as_deref(),
    };
    let consented = state
        .db
        .consented_scope(&grant.user_id, &client.id, at)
        .await?;
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
    let mut shown: Vec<ScopeInfo> = grant.scope.iter().map(info).collect();
    // A client that registered itself (RFC 7591 §5: its name and logo are its own word) is
    // asked about every scope, those a known client gets without asking included.
    if client.is_registered() {
        for scope in &mut shown {
            scope.consent_required = true;
        }
    }
    let unanswered = shown
        .iter()
        .any(|s| s.consent_required && !consented.contains(&s.name));
    Ok(unanswered.then_some(shown))
}

/// Keeps `grant` under a new ticket, bound to the browser's anti-forgery token `csrf`, until
/// the user answers; returns the ticket for the consent form.
pub async fn ask(
    state: &AppState,
    grant: &CodeGrant,
    client_state: Option<String>,
    csrf: &str,
    now: Timestamp,
) -> storage::Result<String> {
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
        expires_at: now.plus_secs(TICKET_TTL_SECS),
        audiences: grant.audiences.clone(),
        server_id: grant.server_id.clone(),
        server_generation: grant.server_generation.clone(),
        dpop_jkt: grant.dpop_jkt.clone(),
    };
    state
        .db
        .insert_consent_ticket(
            &crypto::sha256_hex(&ticket),
            &crypto::sha256_hex(csrf),
            &stored,
        )
        .await?;
    Ok(ticket)
}

/// How an answer on the consent screen ends.
#[derive(Debug)]
pub enum Answered {
    /// The ticket is unknown, spent, expired, from another browser, or its client changed.
    Expired,
    /// Back to the client with `access_denied`.
    Denied {
        redirect_uri: String,
        state: Option<String>,
    },
    /// Back to the client with a code.
    Allowed {
        redirect_uri: String,
        state: Option<String>,
        code: String,
    },
}

/// The user's answer `allow` to the ticket `ticket`, from the browser with the anti-forgery
/// token `csrf`, at `now`, posted to `server`'s consent endpoint. The ticket is spent whatever
/// the answer; a ticket of another server's login answers nothing.
pub async fn answer(
    state: &AppState,
    server: &AuthServer,
    ticket: &str,
    csrf: &str,
    allow: bool,
    address: IpAddr,
    now: Timestamp,
) -> Result<Answered, PageError> {
    let Some(ticket) = state
        .db
        .take_consent_ticket(
            &crypto::sha256_hex(ticket),
            &crypto::sha256_hex(csrf),
            server.id(),
            now,
        )
        .await?
    else {
        return Ok(Answered::Expired);
    };
    // A ticket of a login at a server deleted (and perhaps created again) since answers nothing.
    if !server.owns(
        ticket.server_id.as_deref(),
        ticket.server_generation.as_deref(),
    ) {
        return Ok(Answered::Expired);
    }
    // The client may have been changed while the user read the page: it must still have the
    // redirect URI before anything is sent there, and, for a code, still be allowed the flow
    // and every scope asked for, as `/authorize` checked.
    let client = match state.db.client(&ticket.client_id).await? {
        Some(client)
            if client.redirect_uris.contains(&ticket.redirect_uri)
                && (!allow
                    || client.may_use_grant(GrantType::AuthorizationCode)
                        && ticket.scope.is_subset(&client.scopes)) =>
        {
            client
        }
        _ => return Ok(Answered::Expired),
    };
    let event = Event::new(if allow {
        EventKind::ConsentGranted
    } else {
        EventKind::ConsentDenied
    })
    .client(&client.id)
    .user(&ticket.user_id)
    .address(address)
    .detail(format!("scope {}", ticket.scope));
    state.events.record(event).await;
    if !allow {
        return Ok(Answered::Denied {
            redirect_uri: ticket.redirect_uri,
            state: ticket.state,
        });
    }
    state
        .db
        .add_consent(
            &ticket.user_id,
            &ticket.client_id,
            ConsentAt {
                server_id: ticket.server_id.as_deref(),
                generation: ticket.server_generation.as_deref(),
            },
            &ticket.scope,
            now,
        )
        .await?;
    let grant = CodeGrant {
        client_id: client.id,
        user_id: ticket.user_id,
        redirect_uri: ticket.redirect_uri,
        scope: ticket.scope,
        code_challenge: ticket.code_challenge,
        nonce: ticket.nonce,
        auth_time: ticket.auth_time,
        expires_at: code_expiry(state, now),
        audiences: ticket.audiences,
        server_id: ticket.server_id,
        server_generation: ticket.server_generation,
        dpop_jkt: ticket.dpop_jkt,
    };
    let code = issue_code(state, &grant).await?;
    Ok(Answered::Allowed {
        redirect_uri: grant.redirect_uri,
        state: ticket.state,
        code,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use shared::pkce::CodeVerifier;
    use shared::scope::ScopeSet;

    use super::*;
    use crate::state::testing::{HERE, demo_state};

    async fn partner_grant(state: &AppState, scope: &str) -> CodeGrant {
        let user = state.db.user_by_username("user0").await.unwrap().unwrap();
        let now = state.clock.now();
        CodeGrant {
            client_id: "demo-partner".into(),
            user_id: user.id,
            redirect_uri: "http://127.0.0.1:8080/callback".into(),
            scope: ScopeSet::parse(scope).unwrap(),
            code_challenge: CodeVerifier::from_random_bytes(&[1; 32]).challenge(),
            nonce: None,
            auth_time: now,
            expires_at: now.plus_secs(60),
            audiences: Default::default(),
            server_id: None,
            server_generation: None,
            dpop_jkt: None,
        }
    }

    #[tokio::test]
    async fn an_answer_counts_once_in_the_browser_that_was_asked_and_is_remembered() {
        let (state, _dir) = demo_state(&[]).await;
        let partner = state.db.client("demo-partner").await.unwrap().unwrap();
        let grant = partner_grant(&state, "openid orders:read").await;
        assert!(
            needed(&state, &state.root, &partner, &grant)
                .await
                .unwrap()
                .is_some()
        );
        let now = state.clock.now();
        let ticket = ask(&state, &grant, Some("s".into()), "csrf-a", now)
            .await
            .unwrap();
        // Another browser's token: nothing, and the ticket is gone.
        assert!(matches!(
            answer(&state, &state.root, &ticket, "csrf-b", true, HERE, now)
                .await
                .unwrap(),
            Answered::Expired
        ));
        let ticket = ask(&state, &grant, Some("s".into()), "csrf-a", now)
            .await
            .unwrap();
        match answer(&state, &state.root, &ticket, "csrf-a", true, HERE, now)
            .await
            .unwrap()
        {
            Answered::Allowed { state: s, .. } => assert_eq!(s.as_deref(), Some("s")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            answer(&state, &state.root, &ticket, "csrf-a", true, HERE, now)
                .await
                .unwrap(),
            Answered::Expired
        ));
        // Remembered: the same request needs no consent; a wider one does.
        assert!(
            needed(&state, &state.root, &partner, &grant)
                .await
                .unwrap()
                .is_none()
        );
        let wider = partner_grant(&state, "openid orders:read orders:write").await;
        assert!(
            needed(&state, &state.root, &partner, &wider)
                .await
                .unwrap()
                .is_some()
        );
    }

    /// An administrator narrows the client's scopes, or takes the flow away from it, while the
    /// user reads the consent page: an approval issues no code and records no consent; a
    /// refusal still reaches the client.
    #[tokio::test]
    async fn an_answer_is_checked_against_the_client_as_it_is_now() {
        use crate::storage::NewClient;
        let (state, _dir) = demo_state(&[]).await;
        let partner = state.db.client("demo-partner").await.unwrap().unwrap();
        let narrower = ScopeSet::parse("openid").unwrap();
        let only_refresh = [GrantType::RefreshToken];
        for (scopes, grant_types) in [
            (&narrower, &partner.grant_types[..]),
            (&partner.scopes, &only_refresh[..]),
        ] {
            let grant = partner_grant(&state, "openid orders:read").await;
            let now = state.clock.now();
            let ticket = ask(&state, &grant, None, "c", now).await.unwrap();
            let changed = NewClient {
                id: &partner.id,
                name: &partner.name,
                secret_hash: partner.secret_hash.as_deref(),
                keys: partner.keys.as_ref(),
                first_party: partner.first_party,
                grant_types,
                scopes,
                redirect_uris: &partner.redirect_uris,
                lifetimes: partner.lifetimes,
                require_pushed_requests: partner.require_pushed_requests,
                dpop_bound_access_tokens: partner.dpop_bound_access_tokens,
                post_logout_redirect_uris: &partner.post_logout_redirect_uris,
                backchannel_logout_uri: partner.backchannel_logout_uri.as_deref(),
            };
            state.db.update_client(&changed).await.unwrap();
            assert!(matches!(
                answer(&state, &state.root, &ticket, "c", true, HERE, now)
                    .await
                    .unwrap(),
                Answered::Expired
            ));
            assert_eq!(state.db.count("authorization_codes").await.unwrap(), 0);
            let remembered = state
                .db
                .consented_scope(&grant.user_id, &partner.id, ConsentAt::ROOT)
                .await
                .unwrap();
            assert!(remembered.is_empty(), "{remembered}");
            let ticket = ask(&state, &grant, None, "c", now).await.unwrap();
            assert!(matches!(
                answer(&state, &state.root, &ticket, "c", false, HERE, now)
                    .await
                    .unwrap(),
                Answered::Denied { .. }
            ));
        }
    }

    #[tokio::test]
    async fn a_ticket_lasts_five_minutes() {
        let (state, _dir) = demo_state(&[]).await;
        let grant = partner_grant(&state, "orders:read").await;
        let ticket = ask(&state, &grant, None, "c", state.clock.now())
            .await
            .unwrap();
        state.clock.advance(Duration::from_secs(300));
        assert!(matches!(
            answer(
                &state,
                &state.root,
                &ticket,
                "c",
                true,
                HERE,
                state.clock.now()
            )
            .await
            .unwrap(),
            Answered::Expired
        ));
        assert_eq!(state.db.count("authorization_codes").await.unwrap(), 0);
    }
}
