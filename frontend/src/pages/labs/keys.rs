//! The key-rotation lab (demo mode): the root issuer's keys, a rotation, and the JWKS a
//! resource server cached before it.

use leptos::prelude::*;
use shared::admin::{KeyState, SigningKey};
use shared::api::KeyRotationLab;
use shared::config::AppMode;

use super::unavailable;
use crate::api::{Api, ApiError, Deployment};
use crate::components::{Loading, Table};
use crate::format::local_time_ms;
use crate::jwt;
use crate::refresh::use_refresher;
use crate::session::use_session;

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
pub(super) fn KeyLab() -> impl IntoView {
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
                Some(Err(e)) => unavailable(e, "The key lab", "The keys could not be read"),
                Some(Ok(list)) => {
                    let life = view! { <KeyLifeCycle keys=list.clone() signing=signing.clone() /> };
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
                        {life}
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

/// The stages of a signing key's life, what moves a key on from each, and the states in it.
const STAGES: &[(&str, Option<KeyState>, &str)] = &[
    (
        "next",
        Some(KeyState::Next),
        "published a JWKS cache lifetime, then a rotation",
    ),
    (
        "current",
        Some(KeyState::Current),
        "signs; the next rotation retires it",
    ),
    (
        "retired",
        Some(KeyState::Retired),
        "published until every token it signed expired",
    ),
    ("removed", None, ""),
];

/// The life cycle of a signing key as a row of stages, each with the keys in it now; the key
/// that signed this tab's token is marked.
#[component]
fn KeyLifeCycle(keys: Vec<SigningKey>, signing: Option<String>) -> impl IntoView {
    const BOX_W: f64 = 150.0;
    const GAP: f64 = 44.0;
    const BOX_H: f64 = 96.0;
    let width = STAGES.len() as f64 * (BOX_W + GAP) - GAP + 8.0;
    let stages = STAGES
        .iter()
        .enumerate()
        .map(|(i, (name, state, next))| {
            let x = 4.0 + i as f64 * (BOX_W + GAP);
            let in_it: Vec<&SigningKey> = keys
                .iter()
                .filter(|key| Some(key.state) == *state)
                .collect();
            let holds_signer = in_it
                .iter()
                .any(|key| signing.as_deref() == Some(key.kid.as_str()));
            let class = format!(
                "life-stage {name}{}",
                if holds_signer { " signer" } else { "" }
            );
            let kids = in_it
                .iter()
                .take(3)
                .enumerate()
                .map(|(row, key)| {
                    let mark = if signing.as_deref() == Some(key.kid.as_str()) { " ← yours" } else { "" };
                    let kid: String = key.kid.chars().take(8).collect();
                    view! {
                        <text class="life-kid" x=x + 10.0 y=46.0 + row as f64 * 15.0>
                            {format!("{kid}…{mark}")}
                        </text>
                    }
                })
                .collect_view();
            let more = (in_it.len() > 3).then(|| {
                view! {
                    <text class="life-kid" x=x + 10.0 y="91">
                        {format!("and {} more", in_it.len() - 3)}
                    </text>
                }
            });
            let arrow = (i + 1 < STAGES.len()).then(|| {
                view! {
                    <line class="seq-arrow-line" x1=x + BOX_W + 2.0 y1=BOX_H / 2.0 x2=x + BOX_W + GAP - 4.0 y2=BOX_H / 2.0 marker-end="url(#key-life-head)">
                        <title>{*next}</title>
                    </line>
                }
            });
            let count = match state {
                Some(_) => format!("{name} ({})", in_it.len()),
                None => (*name).to_owned(),
            };
            view! {
                <g class=class data-stage=*name data-keys=in_it.len().to_string()>
                    <rect x=x y="4" width=BOX_W height=BOX_H - 8.0 rx="6" />
                    <text class="life-stage-name" x=x + 10.0 y="24">{count}</text>
                    {kids}
                    {more}
                    {(state.is_none()).then(|| view! {
                        <text class="life-kid" x=x + 10.0 y="46">"out of the JWKS"</text>
                    })}
                </g>
                {arrow}
            }
        })
        .collect_view();
    let captions = STAGES
        .iter()
        .filter(|(_, _, next)| !next.is_empty())
        .map(|(name, _, next)| view! { <li><strong>{*name}</strong>": "{*next}</li> })
        .collect_view();
    view! {
        <figure class="key-life" data-testid="key-life">
            <svg viewBox=format!("0 0 {width} {BOX_H}") width="100%" role="img" aria-label="The life cycle of a signing key: next, current, retired, removed">
                <defs>
                    <marker id="key-life-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
                        <path d="M 0 0 L 10 5 L 0 10 z" class="seq-head" />
                    </marker>
                </defs>
                {stages}
            </svg>
            <figcaption>
                <ul class="muted small key-life-notes">{captions}</ul>
            </figcaption>
        </figure>
    }
}
