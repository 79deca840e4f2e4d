//! `/labs`: break things safely and watch the server and the app react.
//!
//! The refresh family: each of the user's logins (`GET /api/me/grants`) drawn as its chain of
//! refresh tokens (issued, spent, expired, revoked, and why), the one this tab holds marked (it
//! hashes its own token as the server does). In REST mode, "Refresh now" rotates the token, and
//! "Replay the spent token" presents the spent one again: the server takes the second use for
//! theft (RFC 9700 §4.14.2) and revokes the whole family, this tab's token and its access tokens
//! included, which the chain shows after logging in again.
//!
//! The clock lab (demo mode): move the server's clock ahead (`POST /api/lab/clock`) and call the
//! API: the token the app holds has expired by the server's time, and the app renews it (or,
//! past the refresh token's lifetime too, asks to log in again). The page lists the exchanges
//! that call caused.

use leptos::prelude::*;
use sha2::{Digest, Sha256};
use shared::admin::SigningKey;
use shared::api::{
    ClockLab as ClockLabView, ClockMove, FAMILY_TOKEN_ID_CHARS, FamilyToken, FamilyTokenState,
    GrantFamily, KeyRotationLab,
};
use shared::config::AppMode;

use crate::api::{self, Api, ApiError, Deployment};
use crate::components::{ErrorPanel, Loading, RequireLogin, Table};
use crate::format::{countdown, local_time_ms};
use crate::refresh::use_refresher;
use crate::session::use_session;
use crate::timeline;
use crate::{jwt, oauth};

#[component]
pub fn Labs() -> impl IntoView {
    // Bumped whenever a lab may have changed the user's refresh families.
    let reload = RwSignal::new(0u32);
    view! {
        <section class="page labs">
            <header class="page-head">
                <h1>"Labs"</h1>
                <p class="muted">
                    "Break things on purpose and watch the server and this app react. Everything "
                    "here acts on your own login only; the Timeline shows each exchange."
                </p>
            </header>
            <RequireLogin what="the labs (they show your own logins)">
                <ClockLab families=reload />
                <KeyLab />
                <RefreshFamily reload />
            </RequireLogin>
        </section>
    }
}

/// What the clock lab offers: (label, seconds to add, what it shows).
const MOVES: &[(&str, i64, &str)] = &[
    (
        "+16 min",
        16 * 60,
        "past the access token's 15 minutes: the next API call is refused as expired, and the \
         app renews the token with its refresh token and calls again",
    ),
    (
        "+25 h",
        25 * 3600,
        "past the refresh token's idle day too: renewing fails and the app asks you to log in \
         again",
    ),
];

/// The clock lab (demo mode): move the server's clock ahead and watch the app recover.
#[component]
fn ClockLab(families: RwSignal<u32>) -> impl IntoView {
    let api = expect_context::<Api>();
    // The clock as last read or moved. A move shows the clock its own answer gives: reading
    // it again would spend the expired token before "Call the API" does.
    let clock = RwSignal::new(None::<Result<ClockLabView, ApiError>>);
    let offset = Memo::new(move |_| {
        clock
            .get()
            .and_then(Result::ok)
            .map_or(0, |clock| clock.offset_secs)
    });
    let loader = api.clone();
    leptos::task::spawn_local(async move {
        let read = loader.get::<ClockLabView>("/api/lab/clock").await;
        clock.try_set(Some(read));
    });
    let busy = RwSignal::new(false);
    let steps = RwSignal::new(None::<(Vec<String>, String)>);
    let mover = api.clone();
    let move_to = move |offset_secs: i64| {
        let api = mover.clone();
        busy.set(true);
        steps.set(None);
        leptos::task::spawn_local(async move {
            let moved = api
                .send_json::<_, ClockLabView>(
                    gloo_net::http::Method::POST,
                    "/api/lab/clock",
                    Some(&ClockMove { offset_secs }),
                )
                .await;
            busy.try_set(false);
            match moved {
                Ok(view) => {
                    clock.try_set(Some(Ok(view)));
                }
                // The clock as last read stays (and so does the offset the next move adds to).
                Err(e) => {
                    steps.try_set(Some((Vec::new(), format!("The clock was not moved: {e}"))));
                }
            }
        });
    };
    let caller = api.clone();
    let call_api = move |_| {
        let api = caller.clone();
        let since = js_sys::Date::now();
        busy.set(true);
        // The outcome of this call only, once it is known.
        steps.set(None);
        leptos::task::spawn_local(async move {
            let answer = match api.me().await {
                Ok(me) => format!("The API answered: {} ({}).", me.name, me.username),
                Err(e) => format!("The call failed: {e}"),
            };
            let happened = timeline::entries_untracked()
                .into_iter()
                .filter(|entry| entry.at_ms >= since)
                .map(|entry| {
                    let path = entry
                        .url
                        .split_once("://")
                        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                        .unwrap_or(entry.url.clone());
                    let status = entry
                        .status
                        .map_or_else(|| "no answer".to_owned(), |status| status.to_string());
                    format!("{} {path} → {status}", entry.method)
                })
                .collect();
            steps.try_set(Some((happened, answer)));
            busy.try_set(false);
            // A renewal extended the chain.
            families.try_update(|n| *n += 1);
        });
    };
    let moves = MOVES
        .iter()
        .map(|(label, secs, what)| {
            let move_to = move_to.clone();
            view! {
                <button
                    type="button"
                    class="button small"
                    title=*what
                    disabled=move || busy.get()
                    on:click=move |_| move_to(offset.get_untracked() + secs)
                >
                    {*label}
                </button>
            }
        })
        .collect_view();
    let reset = move_to.clone();
    view! {
        <h2>"The server's clock"</h2>
        <p class="muted">
            "Every decision of the server reads one clock: token expiry, refresh-token lifetimes, "
            "key rotation, rate limits. Move it ahead (for every instance, and every user of this "
            "demo) and watch what the app does with a token that has expired by the server's "
            "time. The Timeline shows each exchange."
        </p>
        {move || {
                match clock.get() {
                    None => view! { <Loading /> }.into_any(),
                    Some(Ok(view)) => {
                        view! {
                            <dl class="facts" data-testid="server-clock" data-offset=view.offset_secs>
                                <dt>"Server time"</dt>
                                <dd>{local_time_ms(view.server_time as f64 * 1000.0)}</dd>
                                <dt>"This browser's time"</dt>
                                <dd>{local_time_ms(js_sys::Date::now())}</dd>
                                <dt>"Ahead of the system clock"</dt>
                                <dd>
                                    {if view.offset_secs == 0 {
                                        "not moved".to_owned()
                                    } else {
                                        countdown(view.offset_secs)
                                    }}
                                </dd>
                            </dl>
                        }
                            .into_any()
                    }
                    Some(Err(ApiError::Rejected { status: 404, .. })) => {
                        view! {
                            <p class="muted">"The clock lab runs only on a demo server (--demo)."</p>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => {
                        view! {
                            <ErrorPanel title="The server's clock could not be moved or read".to_owned() detail=e.to_string() />
                        }
                            .into_any()
                    }
                }
            }}
        <div class="lab-actions">
            {moves}
            <button
                type="button"
                class="button ghost small"
                data-testid="clock-reset"
                disabled=move || busy.get() || offset.get() == 0
                on:click=move |_| reset(0)
            >
                "Reset"
            </button>
            <button
                type="button"
                class="button primary small"
                data-testid="call-api"
                disabled=move || busy.get()
                on:click=call_api
            >
                "Call the API (GET /api/me)"
            </button>
        </div>
        {move || {
            steps
                .get()
                .map(|(happened, answer)| {
                    let happened = happened
                        .into_iter()
                        .map(|step| view! { <li><code>{step}</code></li> })
                        .collect_view();
                    view! {
                        <div class="card lab-steps" data-testid="call-outcome" role="status">
                            <p>{answer}</p>
                            <ol>{happened}</ol>
                        </div>
                    }
                })
        }}
    }
}

/// The JWKS as this page fetched it once, like a resource server caching it.
#[derive(Clone)]
struct CachedJwks {
    fetched_ms: f64,
    kids: Vec<String>,
}

/// The key-rotation lab (demo mode): the root issuer's keys and their states, the JWKS this
/// page cached before any rotation, a rotation (refused while unsafe unless forced), and the
/// next token's `kid` checked against that cache.
#[component]
fn KeyLab() -> impl IntoView {
    let api = expect_context::<Api>();
    let deployment = expect_context::<Deployment>();
    let session = use_session();
    let refresher = use_refresher();
    let keys = RwSignal::new(None::<Result<Vec<SigningKey>, ApiError>>);
    let cached = RwSignal::new(None::<Result<CachedJwks, String>>);
    let refusal = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let loader = api.clone();
    let jwks_uri = deployment
        .server
        .as_ref()
        .ok()
        .map(|server| server.jwks_uri.clone());
    leptos::task::spawn_local(async move {
        keys.try_set(Some(loader.get::<Vec<SigningKey>>("/api/lab/keys").await));
        let Some(uri) = jwks_uri else {
            cached.try_set(Some(Err("The server's metadata names no JWKS.".to_owned())));
            return;
        };
        let fetched = match gloo_net::http::Request::get(&uri).send().await {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .map_err(|_| format!("{uri} is not a JWKS."))
                .map(|jwks| CachedJwks {
                    fetched_ms: js_sys::Date::now(),
                    kids: jwks["keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|key| key["kid"].as_str().map(str::to_owned))
                        .collect(),
                }),
            Err(_) => Err(format!("{uri} did not answer.")),
        };
        cached.try_set(Some(fetched));
    });
    let rotator = api.clone();
    let rotate = move |force: bool| {
        let api = rotator.clone();
        busy.set(true);
        refusal.set(None);
        leptos::task::spawn_local(async move {
            let body = force.then_some(KeyRotationLab { force: true });
            match api
                .send_json::<_, Vec<SigningKey>>(
                    gloo_net::http::Method::POST,
                    "/api/lab/keys/rotate",
                    body.as_ref(),
                )
                .await
            {
                Ok(now) => {
                    keys.try_set(Some(Ok(now)));
                }
                Err(e) => {
                    refusal.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    let rotate_forced = rotate.clone();
    let renew = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            refresher.refresh_now().await;
            busy.try_set(false);
        });
    };
    // REST: the `kid` of the token this tab holds (MVC: the server holds it).
    let token_kid = Memo::new(move |_| {
        session
            .token()
            .and_then(|token| jwt::decode(&token).ok())
            .and_then(|decoded| decoded.header["kid"].as_str().map(str::to_owned))
    });
    let rest = session.mode() == AppMode::Rest;
    view! {
        <h2>"Signing keys"</h2>
        <p class="muted">
            "The server publishes a key in its JWKS (state next) for a whole cache lifetime "
            "before it signs with it, so a resource server that cached the JWKS earlier already "
            "knows the key of every new token: no \"kid not found\". Below, the JWKS this page "
            "fetched when it opened stands for such a cache."
        </p>
        <div class="lab-actions">
            <button
                type="button"
                class="button small"
                data-testid="rotate"
                disabled=move || busy.get()
                on:click=move |_| rotate(false)
            >
                "Rotate now"
            </button>
            {rest
                .then(|| {
                    view! {
                        <button
                            type="button"
                            class="button small"
                            data-testid="new-token"
                            disabled=move || busy.get()
                            on:click=renew
                        >
                            "Get a new token"
                        </button>
                    }
                })}
            <span class="muted small">
                {move || match cached.get() {
                    Some(Ok(jwks)) => {
                        format!(
                            "JWKS cached at {}: {} keys",
                            local_time_ms(jwks.fetched_ms),
                            jwks.kids.len(),
                        )
                    }
                    Some(Err(why)) => why,
                    None => "Fetching the JWKS…".to_owned(),
                }}
            </span>
        </div>
        {move || {
            refusal
                .get()
                .map(|why| {
                    let rotate_forced = rotate_forced.clone();
                    view! {
                        <div class="card lab-result" data-testid="rotation-refused" role="status">
                            <p>
                                <strong>"The server refused: "</strong>
                                {why}
                            </p>
                            <button
                                type="button"
                                class="button danger small"
                                data-testid="rotate-force"
                                on:click=move |_| rotate_forced(true)
                            >
                                "Rotate anyway (force)"
                            </button>
                        </div>
                    }
                })
        }}
        {move || {
            let cached_kids = cached
                .get()
                .and_then(Result::ok)
                .map(|jwks| jwks.kids)
                .unwrap_or_default();
            let signing = token_kid.get();
            match keys.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(ApiError::Rejected { status: 404, .. })) => {
                    view! { <p class="muted">"The key lab runs only on a demo server (--demo)."</p> }
                        .into_any()
                }
                Some(Err(e)) => {
                    view! {
                        <ErrorPanel title="The keys could not be read".to_owned() detail=e.to_string() />
                    }
                        .into_any()
                }
                Some(Ok(list)) => {
                    let rows = list
                        .into_iter()
                        .map(|key| {
                            let in_cache = cached_kids.contains(&key.kid);
                            let signs = signing.as_deref() == Some(key.kid.as_str());
                            view! {
                                <tr
                                    data-testid="lab-key"
                                    data-state=key.state.as_str()
                                    data-cached=in_cache.to_string()
                                    data-signs=signs.to_string()
                                >
                                    <td><code>{key.kid.clone()}</code></td>
                                    <td>{key.alg.as_str()}</td>
                                    <td class=format!("key-state {}", key.state.as_str())>{key.state.as_str()}</td>
                                    <td>{if in_cache { "yes" } else { "no" }}</td>
                                    <td>{signs.then_some("your token")}</td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <Table
                            class="family-tokens lab-keys"
                            label="Signing keys"
                            columns=&["kid", "alg", "State", "In the cached JWKS", "Signs"]
                        >
                            {rows}
                        </Table>
                    }
                        .into_any()
                }
            }
        }}
    }
}

/// What the replay of a spent refresh token got back.
#[derive(Clone)]
enum Replayed {
    Refused(ApiError),
    /// The server accepted a spent token: it would be a defect, and the page says so.
    Accepted,
}

#[component]
fn RefreshFamily(reload: RwSignal<u32>) -> impl IntoView {
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
            let outcome = match api::refresh(&server, &client_id, &token).await {
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
