//! The API-token lab (demo mode): the user's own API tokens through their life cycle. Create a
//! short-lived one (`POST /api/lab/tokens`, shown once), call the API with it as a script would
//! (`Authorization: Token amt_…`: in REST mode the page calls the API with it; in MVC mode,
//! where the browser never calls the API, from a terminal), watch the server note its use,
//! revoke it (`DELETE /api/lab/tokens/{id}`) or let it expire (its lifetime, or the clock lab),
//! and call again to see the refusal. Each token's life is drawn on a line: created, last
//! used, revoked or expired, and the server's now.

use leptos::prelude::*;
use shared::admin::{ApiToken, ApiTokenCreated, ApiTokenState};
use shared::api::{LabApiToken, LabApiTokens};
use shared::config::AppMode;

use super::unavailable;
use crate::api::{self, Api, ApiError, Deployment};
use crate::components::{Loading, SecretBox, Table};
use crate::format::countdown;

/// The lifetimes offered: (label, seconds).
const LIFETIMES: &[(&str, i64)] = &[("30 s", 30), ("2 min", 120), ("10 min", 600)];

/// The token just created, kept in this page's memory only (never stored, never in the
/// timeline), to call the API with.
#[derive(Clone)]
struct Held {
    id: String,
    token: String,
}

#[component]
pub(super) fn ApiTokenLab() -> impl IntoView {
    let api = expect_context::<Api>();
    let deployment = expect_context::<Deployment>();
    let listed = RwSignal::new(None::<Result<LabApiTokens, ApiError>>);
    let reload = RwSignal::new(0u32);
    let lister = api.clone();
    Effect::new(move |_| {
        // Reads may overlap (a reload while another is on its way): only the latest request's
        // answer is shown, never an older list over a newer one.
        let asked = reload.get();
        let api = lister.clone();
        leptos::task::spawn_local(async move {
            let read = api.get::<LabApiTokens>("/api/lab/tokens").await;
            if reload.try_get_untracked() == Some(asked) {
                listed.try_set(Some(read));
            }
        });
    });
    let name = RwSignal::new("lab-script".to_owned());
    let scope = RwSignal::new("products:read".to_owned());
    let lifetime = RwSignal::new(LIFETIMES[1].1);
    let held = RwSignal::new(None::<Held>);
    let shown = RwSignal::new(false);
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);

    let creator = api.clone();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let api = creator.clone();
        let wanted = LabApiToken {
            name: name.get_untracked(),
            scope: scope.get_untracked(),
            expires_in_secs: lifetime.get_untracked(),
        };
        busy.set(true);
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let created = api
                .send_json::<_, ApiTokenCreated>(
                    gloo_net::http::Method::POST,
                    "/api/lab/tokens",
                    Some(&wanted),
                )
                .await;
            busy.try_set(false);
            match created {
                Ok(created) => {
                    held.try_set(Some(Held {
                        id: created.api_token.id,
                        token: created.token,
                    }));
                    shown.try_set(true);
                    reload.try_update(|n| *n += 1);
                }
                Err(e) => {
                    outcome.try_set(Some(Err(format!("Not created: {e}"))));
                }
            }
        });
    };
    let config = deployment.config.clone();
    let use_it = move |_| {
        let Some(Held { token, .. }) = held.get_untracked() else {
            return;
        };
        let config = config.clone();
        busy.set(true);
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let called = api::call_with_api_token(&config, "/api/whoami", &token).await;
            busy.try_set(false);
            outcome.try_set(Some(match called {
                Ok((200, body)) => Ok(whoami_summary(&body)),
                Ok((status, why)) => Err(format!("{status}: {}", api::capitalized(&why))),
                Err(e) => Err(e.to_string()),
            }));
            reload.try_update(|n| *n += 1);
        });
    };
    let revoker = api.clone();
    let revoke = Callback::new(move |id: String| {
        let api = revoker.clone();
        busy.set(true);
        outcome.set(None);
        leptos::task::spawn_local(async move {
            let path = format!("/api/lab/tokens/{id}");
            let revoked = api
                .send_no_content(gloo_net::http::Method::DELETE, &path, None::<&()>)
                .await;
            busy.try_set(false);
            if let Err(e) = revoked {
                outcome.try_set(Some(Err(format!("Not revoked: {e}"))));
            }
            reload.try_update(|n| *n += 1);
        });
    });
    let api_base = deployment.config.api_base.trim_end_matches('/').to_owned();
    // REST: the page calls the API with the token itself. MVC: the browser calls nothing but
    // its own server, so the token is used from a terminal.
    let rest = deployment.config.mode == AppMode::Rest;
    view! {
        <h2>"API tokens"</h2>
        <p class="muted">
            "A per-user API token is what a script or a CI job sends instead of logging in: "
            "Authorization: Token amt_<id>_<secret>. The server keeps only a hash of the secret, "
            "notes when the token was last used (to the minute), and refuses it once it is "
            "revoked or expired. Create one that lives a few minutes, call the API with it, and "
            "revoke it or let it expire (the clock lab above speeds that up)."
        </p>
        <form class="lab-actions api-token-form" on:submit=create>
            <label>
                "Name "
                <input
                    type="text"
                    maxlength="64"
                    data-testid="lab-token-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Scope "
                <input
                    type="text"
                    data-testid="lab-token-scope"
                    prop:value=move || scope.get()
                    on:input=move |ev| scope.set(event_target_value(&ev))
                />
            </label>
            <label>
                "Lives "
                <select
                    data-testid="lab-token-lifetime"
                    on:change=move |ev| {
                        if let Ok(secs) = event_target_value(&ev).parse() {
                            lifetime.set(secs);
                        }
                    }
                >
                    {LIFETIMES
                        .iter()
                        .map(|(label, secs)| {
                            view! {
                                <option value=secs.to_string() selected=*secs == LIFETIMES[1].1>
                                    {*label}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <button type="submit" class="button small" data-testid="lab-token-create" disabled=move || busy.get()>
                "Create a token"
            </button>
            {rest
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="button small"
                            data-testid="lab-token-use"
                            disabled=move || busy.get() || held.get().is_none()
                            on:click=use_it
                        >
                            {move || match held.get() {
                                Some(held) => format!("Call /api/whoami with amt_{}…", held.id),
                                None => "Call /api/whoami with it".to_owned(),
                            }}
                        </button>
                    }
                })}
            <button
                type="button"
                class="button ghost small"
                data-testid="lab-token-reload"
                on:click=move |_| reload.update(|n| *n += 1)
            >
                "Reload"
            </button>
        </form>
        {(!rest)
            .then(|| {
                view! {
                    <p class="muted small">
                        "In MVC mode this page never calls the API itself: the browser holds no "
                        "credential for it. Run the command shown with a new token from a terminal, "
                        "as a script would, then Reload to see the server note its use."
                    </p>
                }
            })}
        {move || {
            (shown.get())
                .then(|| {
                    held.get()
                        .map(|held| {
                            let curl = format!(
                                "curl -H 'Authorization: Token {}' {api_base}/api/whoami",
                                held.token,
                            );
                            view! {
                                <SecretBox
                                    title="Your new API token"
                                    secret=held.token
                                    on_dismiss=Callback::new(move |()| shown.set(false))
                                >
                                    <p class="muted small">"From a terminal:"</p>
                                    <pre class="code-sample">{curl}</pre>
                                    <p class="muted small">
                                        "This page keeps it in memory until you leave (REST mode: to call "
                                        "the API with); the timeline keeps only its id."
                                    </p>
                                </SecretBox>
                            }
                        })
                })
        }}
        {move || {
            outcome
                .get()
                .map(|said| {
                    let (class, text) = match said {
                        Ok(text) => ("card lab-result ok", text),
                        Err(text) => ("card lab-result refused", text),
                    };
                    view! {
                        <div class=class data-testid="lab-token-outcome" role="status">
                            {text}
                        </div>
                    }
                })
        }}
        {move || match listed.get() {
            None => view! { <Loading /> }.into_any(),
            Some(Err(e)) => unavailable(e, "The API-token lab", "Your API tokens could not be read"),
            Some(Ok(LabApiTokens { tokens, .. })) if tokens.is_empty() => {
                view! { <p class="muted">"You have no API tokens yet."</p> }.into_any()
            }
            Some(Ok(LabApiTokens { server_time, tokens })) => {
                let rows = tokens
                    .into_iter()
                    .map(|token| view! { <TokenRow token now=server_time revoke busy /> })
                    .collect_view();
                view! {
                    <Table
                        class="family-tokens lab-api-tokens"
                        label="Your API tokens"
                        columns=&["Token", "Scope", "State", "Life", ""]
                    >
                        {rows}
                    </Table>
                }
                    .into_any()
            }
        }}
    }
}

/// What `/api/whoami` said, in a sentence.
fn whoami_summary(body: &str) -> String {
    let who: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = |field: &str| who[field].as_str().unwrap_or("?").to_owned();
    format!(
        "200: the API took it as {} ({} scheme) with scope {}",
        text("subject"),
        text("auth_scheme"),
        text("scope")
    )
}

#[component]
fn TokenRow(
    token: ApiToken,
    now: i64,
    revoke: Callback<String>,
    busy: RwSignal<bool>,
) -> impl IntoView {
    let state = token.state.as_str();
    let id = token.id.clone();
    let name = token.name.clone();
    let active = token.state == ApiTokenState::Active;
    let until = match (token.state, token.expires_at) {
        (ApiTokenState::Active, Some(at)) => format!("expires in {}", countdown(at - now)),
        (ApiTokenState::Active, None) => "never expires".to_owned(),
        (ApiTokenState::Expired, Some(at)) => format!("expired {} ago", countdown(now - at)),
        (ApiTokenState::Revoked, _) => "revoked".to_owned(),
        (ApiTokenState::Expired, None) => "expired".to_owned(),
    };
    let used = match token.last_used_at {
        Some(at) => format!("last used {} ago", countdown((now - at).max(0))),
        None => "never used".to_owned(),
    };
    view! {
        <tr data-testid="lab-api-token" data-state=state data-used=token.last_used_at.is_some().to_string()>
            <td>
                <strong>{token.name.clone()}</strong>
                <br />
                <code>{format!("amt_{}…", token.id)}</code>
            </td>
            <td>{token.scope.to_string()}</td>
            <td class=format!("key-state {state}")>{state}</td>
            <td>
                <Lifeline token=token.clone() now />
                <span class="muted small">{format!("{used}; {until}")}</span>
            </td>
            <td>
                {active
                    .then(|| {
                        let id = id.clone();
                        view! {
                            <button
                                type="button"
                                class="button danger small"
                                data-testid="lab-token-revoke"
                                aria-label=format!("Revoke {name}")
                                disabled=move || busy.get()
                                on:click=move |_| revoke.run(id.clone())
                            >
                                "Revoke"
                            </button>
                        }
                    })}
            </td>
        </tr>
    }
}

/// Where the marks of a token's life fall on its line, as fractions of its length.
#[derive(Clone, Debug, PartialEq)]
struct Marks {
    last_used: Option<f64>,
    revoked: Option<f64>,
    expires: Option<f64>,
    now: f64,
    /// Where the token stopped being usable (revoked, expired), or `None` while it is.
    ended: Option<f64>,
}

/// The line runs from the token's creation to the latest of its expiry, its revocation, its
/// last use and the server's now.
fn marks(token: &ApiToken, now: i64) -> Marks {
    let start = token.created_at;
    let end = [
        token.expires_at,
        token.revoked_at,
        token.last_used_at,
        Some(now),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(now);
    let span = (end - start).max(1) as f64;
    let at = |t: i64| ((t - start) as f64 / span).clamp(0.0, 1.0);
    let expired = token.expires_at.filter(|&t| t <= now);
    let ended = [token.revoked_at, expired].into_iter().flatten().min();
    Marks {
        last_used: token.last_used_at.map(at),
        revoked: token.revoked_at.map(at),
        expires: token.expires_at.map(at),
        now: at(now),
        ended: ended.map(at),
    }
}

#[component]
fn Lifeline(token: ApiToken, now: i64) -> impl IntoView {
    const LEFT: f64 = 8.0;
    const WIDTH: f64 = 220.0;
    const Y: f64 = 14.0;
    let m = marks(&token, now);
    let x = |fraction: f64| LEFT + WIDTH * fraction;
    let usable_end = x(m.ended.unwrap_or(m.now));
    let label = format!(
        "created{}{}",
        if m.last_used.is_some() { ", used" } else { "" },
        match (token.revoked_at, token.expires_at) {
            (Some(_), _) => ", revoked",
            (None, Some(at)) if at <= now => ", expired",
            (None, Some(_)) => ", expires later",
            (None, None) => ", never expires",
        }
    );
    view! {
        <svg class="lifeline" width=LEFT * 2.0 + WIDTH height="30" role="img" aria-label=label>
            <line class="life-past" x1=x(0.0) y1=Y x2=x(1.0) y2=Y />
            <line class="life-usable" x1=x(0.0) y1=Y x2=usable_end y2=Y />
            <circle class="life-created" cx=x(0.0) cy=Y r="4">
                <title>"created"</title>
            </circle>
            {m
                .last_used
                .map(|f| {
                    view! {
                        <rect class="life-used" x=x(f) - 3.5 y=Y - 3.5 width="7" height="7" transform=format!("rotate(45 {} {Y})", x(f))>
                            <title>"last used"</title>
                        </rect>
                    }
                })}
            {m
                .expires
                .map(|f| {
                    view! {
                        <line class="life-expiry" x1=x(f) y1=Y - 7.0 x2=x(f) y2=Y + 7.0>
                            <title>"expiry"</title>
                        </line>
                    }
                })}
            {m
                .revoked
                .map(|f| {
                    view! {
                        <path class="life-revoked" d=format!("M {a} {b} L {c} {d} M {a} {d} L {c} {b}", a = x(f) - 5.0, b = Y - 5.0, c = x(f) + 5.0, d = Y + 5.0)>
                            <title>"revoked"</title>
                        </path>
                    }
                })}
            <line class="life-now" x1=x(m.now) y1="2" x2=x(m.now) y2="26">
                <title>"the server's now"</title>
            </line>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::scope::ScopeSet;

    fn token(
        expires_at: Option<i64>,
        last_used_at: Option<i64>,
        revoked_at: Option<i64>,
    ) -> ApiToken {
        ApiToken {
            id: "0123456789abcdef".into(),
            user_id: "u".into(),
            username: "user0".into(),
            name: "t".into(),
            scope: ScopeSet::parse("products:read").unwrap(),
            state: ApiTokenState::Active,
            created_at: 1_000,
            expires_at,
            last_used_at,
            revoked_at,
        }
    }

    #[test]
    fn a_live_token_runs_to_its_expiry_with_now_on_the_way() {
        let m = marks(&token(Some(1_100), Some(1_025), None), 1_050);
        assert_eq!(m.now, 0.5);
        assert_eq!(m.last_used, Some(0.25));
        assert_eq!(m.expires, Some(1.0));
        assert_eq!(m.ended, None);
    }

    #[test]
    fn an_expired_token_ends_at_its_expiry_and_now_is_past_it() {
        let m = marks(&token(Some(1_100), None, None), 1_200);
        assert_eq!(m.expires, Some(0.5));
        assert_eq!(m.ended, Some(0.5));
        assert_eq!(m.now, 1.0);
    }

    #[test]
    fn a_revoked_token_ends_at_its_revocation_before_its_expiry() {
        let m = marks(&token(Some(1_400), Some(1_100), Some(1_200)), 1_300);
        assert_eq!(m.revoked, Some(0.5));
        assert_eq!(m.ended, Some(0.5));
        assert_eq!(m.now, 0.75);
    }

    #[test]
    fn a_token_created_this_second_has_a_line() {
        let m = marks(&token(None, None, None), 1_000);
        assert_eq!(m.now, 0.0);
        assert_eq!(m.ended, None);
    }

    #[test]
    fn whoami_is_said_in_a_sentence() {
        let said =
            whoami_summary(r#"{"subject":"u1","auth_scheme":"Token","scope":"products:read"}"#);
        assert_eq!(
            said,
            "200: the API took it as u1 (Token scheme) with scope products:read"
        );
    }
}
