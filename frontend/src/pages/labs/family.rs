//! The refresh family: each of the user's logins drawn as its chain of refresh tokens.

use leptos::prelude::*;
use sha2::{Digest, Sha256};
use shared::api::{FAMILY_TOKEN_ID_CHARS, FamilyToken, FamilyTokenState, GrantFamily};
use shared::config::AppMode;

use crate::api::{self, Api, ApiError, Deployment};
use crate::components::{ErrorPanel, Loading, Table};
use crate::format::local_time_ms;
use crate::oauth;
use crate::refresh::use_refresher;
use crate::session::use_session;

/// What the replay of a spent refresh token got back.
#[derive(Clone)]
enum Replayed {
    Refused(ApiError),
    /// The server accepted a spent token: it would be a defect, and the page says so.
    Accepted,
}

#[component]
pub(super) fn RefreshFamily(reload: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let api = expect_context::<Api>();
    let deployment = expect_context::<Deployment>();
    let refresher = use_refresher();
    let families = LocalResource::new(move || {
        reload.track();
        let api = api.clone();
        async move { api.get::<Vec<GrantFamily>>("/api/me/grants").await }
    });
    // The token this tab holds, as the server names it: the start of its SHA-256.
    let held = Memo::new(move |_| {
        session.token();
        session
            .refresh_grant()
            .map(|grant| token_id(&grant.refresh_token))
    });
    let spent = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let replayed = RwSignal::new(None::<Replayed>);

    let refresh_now = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            if let Some(token) = refresher.refresh_now().await {
                spent.set(Some(token));
            }
            busy.set(false);
            reload.update(|n| *n += 1);
        });
    };
    let replay_deployment = deployment.clone();
    let replay = move |_| {
        let Some(token) = spent.get_untracked() else {
            return;
        };
        let Ok(server) = replay_deployment.server.clone() else {
            return;
        };
        let client_id = replay_deployment.config.client_id.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            // The login's key, if bound: the replay is refused for what it is, not for a
            // missing proof.
            let bound_to = session.cookie_token().and_then(|t| crate::dpop::jkt_of(&t));
            let outcome = match api::refresh(&server, &client_id, &token, bound_to.as_deref()).await
            {
                Ok(_) => Replayed::Accepted,
                Err(e) => Replayed::Refused(e),
            };
            replayed.set(Some(outcome));
            busy.set(false);
        });
    };
    let rest = session.mode() == AppMode::Rest;

    view! {
        <h2>"The refresh family"</h2>
        <p class="muted">
            "Each login is a grant; each refresh spends its refresh token and issues the next, so a "
            "login's tokens form a chain. A spent token presented again can only be a copy, so the "
            "server ends the whole family (RFC 9700 §4.14.2)."
        </p>
        {if rest {
            view! {
                <div class="lab-actions">
                    <button
                        type="button"
                        class="button small"
                        data-testid="refresh-now"
                        disabled=move || busy.get() || held.get().is_none()
                        on:click=refresh_now
                    >
                        "Refresh now"
                    </button>
                    <button
                        type="button"
                        class="button danger small"
                        data-testid="replay"
                        disabled=move || busy.get() || spent.get().is_none() || replayed.get().is_some()
                        on:click=replay
                    >
                        "Replay the spent token"
                    </button>
                    <span class="muted small">
                        {move || match spent.get() {
                            Some(token) => format!("Spent here: {}…", token_id(&token)),
                            None => "Refresh first: the replay presents the token it spent.".to_owned(),
                        }}
                    </span>
                </div>
            }
                .into_any()
        } else {
            view! {
                <p class="muted small">
                    "In MVC mode the server holds the refresh token and rotates it; the chain "
                    "below is the server's login (client demo-bff). Replaying a spent token is a "
                    "REST-mode lab: this browser never holds one."
                </p>
            }
                .into_any()
        }}
        {move || {
            replayed
                .get()
                .map(|outcome| {
                    view! { <ReplayOutcome outcome /> }
                })
        }}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match families.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="muted">"No login with refresh tokens yet."</p> }.into_any()
                    }
                    Ok(list) => {
                        list.into_iter()
                            .map(|family| view! { <Family family held=held.get_untracked() /> })
                            .collect_view()
                            .into_any()
                    }
                    Err(e) => {
                        view! {
                            <ErrorPanel title="The logins could not be read".to_owned() detail=e.to_string() />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReplayOutcome(outcome: Replayed) -> impl IntoView {
    let session = use_session();
    let deployment = expect_context::<Deployment>();
    // Back to this page after the login.
    let log_in_again = move |_| {
        if let Err(e) = oauth::start_login(&deployment, "/labs") {
            session.set_flash(e.to_string());
        }
    };
    match outcome {
        Replayed::Refused(error) => {
            let answer = match &error {
                ApiError::Rejected {
                    status,
                    body: Some(body),
                } => format!(
                    "{status} {}: {}",
                    body.error,
                    body.error_description.as_deref().unwrap_or("")
                ),
                other => other.to_string(),
            };
            view! {
                <div class="card lab-result" data-testid="replay-outcome" role="status">
                    <p>
                        <strong>"The server refused the replay: "</strong>
                        <code>{answer}</code>
                    </p>
                    <p>
                        "It revoked the whole family: the refresh token this tab holds and every "
                        "access token of this login are refused from now on (the next API call "
                        "ends this session). Log in again to see the chain as the server left it."
                    </p>
                    <button type="button" class="button primary small" on:click=log_in_again>
                        "Log in again"
                    </button>
                </div>
            }
            .into_any()
        }
        Replayed::Accepted => view! {
            <ErrorPanel
                title="The server accepted a spent refresh token".to_owned()
                detail="Reuse detection did not work: report this as a defect.".to_owned()
            />
        }
        .into_any(),
    }
}

/// The start of the SHA-256 of a refresh token, as [`FamilyToken::id`] names it.
fn token_id(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()
        .chars()
        .take(FAMILY_TOKEN_ID_CHARS)
        .collect()
}

#[component]
fn Family(family: GrantFamily, held: Option<String>) -> impl IntoView {
    let revoked = family.revoked_at.is_some();
    let status = match (&family.revoked_at, &family.revoked_reason) {
        (Some(at), reason) => format!(
            "revoked {} ({})",
            local_time_ms(*at as f64 * 1000.0),
            reason.as_deref().unwrap_or("no reason recorded")
        ),
        (None, _) => format!("ends {}", local_time_ms(family.expires_at as f64 * 1000.0)),
    };
    let rows = family
        .refresh_tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let is_held = held.as_deref() == Some(token.id.as_str());
            view! {
                <tr
                    data-testid="family-token"
                    data-state=token.state.as_str()
                    data-held=is_held.to_string()
                >
                    <td>{format!("#{}", i + 1)}</td>
                    <td>
                        <code>{format!("{}…", token.id)}</code>
                        {is_held.then(|| view! { " " <span class="step-badge">"this tab"</span> })}
                    </td>
                    <td class="nowrap">{local_time_ms(token.created_at as f64 * 1000.0)}</td>
                    <td class="nowrap">
                        {token
                            .used_at
                            .map(|at| local_time_ms(at as f64 * 1000.0))
                            .unwrap_or_default()}
                    </td>
                    <td class=format!("token-state {}", token.state.as_str())>
                        {token.state.as_str()}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div
            class="card family"
            data-testid="family"
            data-grant=family.grant_id.clone()
            data-revoked=revoked.to_string()
        >
            <p class="family-head">
                <strong>"Login " <code>{family.grant_id.clone()}</code></strong>
                " · client " <code>{family.client_id.clone()}</code> " · "
                <span class=if revoked { "expired" } else { "ok" }>{status}</span>
            </p>
            <Chain
                id=family.grant_id.clone()
                tokens=family.refresh_tokens.clone()
                held=held.clone()
                revoked
            />
            <Table
                class="family-tokens"
                label="Refresh tokens"
                columns=&["", "Token (SHA-256)", "Issued", "Spent", "State"]
            >
                {rows}
            </Table>
        </div>
    }
}

/// The family as a picture: one circle per token, an arrow per rotation, the held one ringed.
#[component]
fn Chain(
    id: String,
    tokens: Vec<FamilyToken>,
    held: Option<String>,
    revoked: bool,
) -> impl IntoView {
    // One arrow head per picture: ids are unique in the page.
    let head = format!("chain-head-{id}");
    let head_url = format!("url(#{head})");
    const STEP: f64 = 110.0;
    const LEFT: f64 = 40.0;
    const Y: f64 = 42.0;
    let width = LEFT * 2.0 + STEP * tokens.len().saturating_sub(1) as f64;
    let shapes = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let x = LEFT + STEP * i as f64;
            let arrow = (i + 1 < tokens.len()).then(|| {
                view! {
                    <line
                        class="chain-arrow"
                        x1=x + 18.0
                        y1=Y
                        x2=x + STEP - 22.0
                        y2=Y
                        marker-end=head_url.clone()
                    />
                    <text class="chain-label" x=x + STEP / 2.0 y=Y - 8.0 text-anchor="middle">
                        "rotated"
                    </text>
                }
            });
            let is_held = held.as_deref() == Some(token.id.as_str());
            let state = token.state.as_str();
            view! {
                {arrow}
                <circle class=format!("chain-token {state}") cx=x cy=Y r="16">
                    <title>{format!("#{} {}… {state}", i + 1, token.id)}</title>
                </circle>
                {is_held
                    .then(|| {
                        view! { <circle class="chain-held" cx=x cy=Y r="22" /> }
                    })}
                <text class="chain-label" x=x y=Y + 38.0 text-anchor="middle">
                    {format!("#{} {state}", i + 1)}
                </text>
            }
        })
        .collect_view();
    let ended = revoked.then(|| {
        view! {
            <line class="chain-revoked" x1="10" y1=Y x2=width - 10.0 y2=Y />
        }
    });
    let live = tokens
        .iter()
        .any(|token| token.state == FamilyTokenState::Live);
    view! {
        <svg
            class="chain"
            width=width.max(80.0)
            height="95"
            role="img"
            aria-label=format!(
                "{} refresh tokens{}{}",
                tokens.len(),
                if live { ", the last one live" } else { "" },
                if revoked { ", family revoked" } else { "" },
            )
        >
            <defs>
                <marker
                    id=head
                    viewBox="0 0 10 10"
                    refX="9"
                    refY="5"
                    markerWidth="7"
                    markerHeight="7"
                    orient="auto"
                >
                    <path d="M 0 0 L 10 5 L 0 10 z" class="chain-head" />
                </marker>
            </defs>
            {shapes}
            {ended}
        </svg>
    }
}
