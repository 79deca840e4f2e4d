//! `/timeline`: every exchange of this login, in order (see [`crate::timeline`]): the authorize
//! redirect with each parameter explained, the callback's checks, the token requests with PKCE
//! side by side, each API call with its `Authorization` header, refreshes and the revocation at
//! logout. Each entry opens to its headers, bodies (credentials masked until shown) and decoded
//! JWTs. Below: the CORS preflights the API answered for this origin, which scripts cannot
//! observe, and in MVC mode the server's own exchanges. The whole of it exports as a HAR file.
//! Above the list, the flow as a sequence diagram with the exchange shown lit ([`sequence`]).

mod sequence;

use gloo_net::http::Request;
use leptos::prelude::*;
use shared::api::{Preflight, Preflights};
use shared::config::AppMode;
use wasm_bindgen::JsCast;

use crate::api::{Api, Deployment};
use crate::components::Table;
use crate::format::local_time_ms;
use crate::jwt;
use crate::pages::admin::AdminTable;
use crate::pages::token::ExchangeTable;
use crate::session::use_session;
use crate::timeline::{self, Entry, Step};

use self::sequence::Sequence;

#[component]
pub fn Timeline() -> impl IntoView {
    let session = use_session();
    let entries = Memo::new(move |_| timeline::entries());
    let secrets = RwSignal::new(false);
    let export = move |_| {
        let har = timeline::har(
            &entries.get_untracked(),
            secrets.get_untracked(),
            env!("CARGO_PKG_VERSION"),
        );
        download("oauth-timeline.har", &har.to_string());
    };
    // The entry opened last in the list, while it is open, by its time (positions shift when
    // the oldest entries are dropped): its step is lit in the diagram; gone, the newest is.
    let opened = RwSignal::new(None::<u64>);
    let clear = move |_| {
        opened.set(None);
        timeline::replace(Vec::new());
    };
    let lit = Signal::derive(move || {
        entries.with(|list| {
            opened
                .get()
                .and_then(|id| list.iter().find(|entry| entry.at_ms.to_bits() == id))
                .or(list.last())
                .map(|entry| entry.step)
        })
    });
    let seen = Signal::derive(move || entries.with(|list| list.iter().map(|e| e.step).collect()));
    view! {
        <section class="page timeline">
            <header class="page-head">
                <h1>"Timeline"</h1>
                <p class="muted">
                    "Every exchange of this login, oldest first, as this tab made or caused it. "
                    "Open one for its headers, bodies and decoded tokens. Credentials are masked "
                    "until you show them. It is kept in this tab only and starts again at each login."
                </p>
                <div class="timeline-actions">
                    <button
                        type="button"
                        class="button primary small"
                        data-testid="export-har"
                        on:click=export
                    >
                        "Export as HAR"
                    </button>
                    <label class="inline">
                        <input
                            type="checkbox"
                            data-testid="har-secrets"
                            prop:checked=move || secrets.get()
                            on:change=move |ev| secrets.set(event_target_checked(&ev))
                        />
                        " with credentials (treat the file as a secret)"
                    </label>
                    <button type="button" class="button ghost small" on:click=clear>
                        "Clear"
                    </button>
                </div>
            </header>
            <Sequence mode=session.mode() lit seen />
            <Show
                when=move || entries.with(|list| !list.is_empty())
                fallback=|| {
                    view! {
                        <p class="card muted" data-testid="timeline-empty">
                            "Nothing yet: log in, and each exchange appears here as it happens."
                        </p>
                    }
                }
            >
                <ol class="timeline-list" data-testid="timeline">
                    // Keyed: a new exchange adds a row and leaves the open ones open.
                    <For
                        each=move || rows(&entries.get())
                        key=|row| (row.index, row.entry.at_ms.to_bits())
                        let:row
                    >
                        {row
                            .away
                            .map(|seconds| {
                                view! {
                                    <li class="timeline-gap">
                                        {format!(
                                            "{seconds:.1} s at the authorization server: its login and \
                                             consent pages are on its own origin, which this page cannot see",
                                        )}
                                    </li>
                                }
                            })}
                        <EntryView entry=row.entry start=row.start opened />
                    </For>
                </ol>
            </Show>
            {match session.mode() {
                AppMode::Rest => view! { <PreflightList /> }.into_any(),
                AppMode::Mvc => view! { <ServerExchanges /> }.into_any(),
            }}
        </section>
    }
}

/// One exchange as the list shows it.
#[derive(Clone)]
struct Row {
    index: usize,
    entry: Entry,
    /// When the timeline began (its first entry).
    start: f64,
    /// Seconds spent at the authorization server before this entry (after an authorize step).
    away: Option<f64>,
}

fn rows(list: &[Entry]) -> Vec<Row> {
    let start = list.first().map_or(0.0, |first| first.at_ms);
    list.iter()
        .enumerate()
        .map(|(index, entry)| Row {
            index,
            entry: entry.clone(),
            start,
            away: index
                .checked_sub(1)
                .map(|before| &list[before])
                .filter(|before| matches!(before.step, Step::Authorize | Step::ServerLogin))
                .map(|before| (entry.at_ms - before.at_ms) / 1000.0),
        })
        .collect()
}

#[component]
fn EntryView(
    entry: Entry,
    start: f64,
    /// Set to this entry's time (its identity) while it is open.
    opened: RwSignal<Option<u64>>,
) -> impl IntoView {
    let id = entry.at_ms.to_bits();
    let shown = RwSignal::new(false);
    let status = entry
        .status
        .map_or_else(|| "—".to_owned(), |status| status.to_string());
    let status_class = match entry.status {
        Some(200..=399) => "ok",
        Some(_) => "expired",
        None => "muted",
    };
    let offset = format!("+{:.2} s", (entry.at_ms - start) / 1000.0);
    let duration = (entry.status.is_some()).then(|| format!("{:.0} ms", entry.ms));
    let summary_url = timeline::masked_url(&entry.url, false);
    let step = entry.step;
    let query: Vec<(String, String)> = match step {
        Step::Authorize | Step::Callback | Step::ServerLogin => entry
            .url
            .split_once('?')
            .map(|(_, query)| timeline::form_pairs(query))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let entry = StoredValue::new(entry);
    let jwts = entry.with_value(Entry::jwts);
    view! {
        <li class="timeline-entry" data-step=format!("{step:?}").to_lowercase()>
            <details on:toggle=move |ev| {
                let open = event_target::<web_sys::HtmlDetailsElement>(&ev).open();
                if open {
                    opened.set(Some(id));
                } else if opened.get_untracked() == Some(id) {
                    opened.set(None);
                }
            }>
                <summary>
                    <span class="muted nowrap">{offset}</span>
                    <span class="step-badge">{step.label()}</span>
                    <code class="method">{entry.with_value(|e| e.method.clone())}</code>
                    <code class="url">{summary_url}</code>
                    <span class=format!("status {status_class}")>{status}</span>
                    <span class="muted nowrap">{duration}</span>
                </summary>
                <div class="entry-body">
                    <p class="muted small">
                        {entry.with_value(|e| local_time_ms(e.at_ms))} " · "
                        <button
                            type="button"
                            class="button ghost small"
                            data-testid="show-secrets"
                            on:click=move |_| shown.update(|shown| *shown = !*shown)
                        >
                            {move || if shown.get() { "Hide credentials" } else { "Show credentials" }}
                        </button>
                    </p>
                    <NoteList entry shown />
                    {(!query.is_empty()).then(|| view! { <ParamTable params=query shown /> })}
                    <HeaderTable
                        title="Request headers"
                        headers=entry.with_value(|e| e.request_headers.clone())
                        shown
                    />
                    <Body body=entry.with_value(|e| e.request_body.clone()) shown />
                    <HeaderTable
                        title="Response headers (those this page may read)"
                        headers=entry.with_value(|e| e.response_headers.clone())
                        shown
                    />
                    <Body body=entry.with_value(|e| e.response_body.clone()) shown />
                    {jwts
                        .into_iter()
                        .map(|(name, token)| view! { <DecodedJwt name token /> })
                        .collect_view()}
                </div>
            </details>
        </li>
    }
}

#[component]
fn NoteList(entry: StoredValue<Entry>, shown: RwSignal<bool>) -> impl IntoView {
    let notes = entry.with_value(|e| e.notes.clone());
    (!notes.is_empty()).then(|| {
        let rows = notes
            .into_iter()
            .map(|note| {
                let secret = note.secret;
                let value = note.value;
                view! {
                    <dt>{note.label}</dt>
                    <dd class="note-value">
                        <MaybeSecret value secret shown />
                    </dd>
                }
            })
            .collect_view();
        view! { <dl class="facts timeline-notes">{rows}</dl> }
    })
}

/// A value, masked while it is a credential and credentials are hidden.
#[component]
fn MaybeSecret(value: String, secret: bool, shown: RwSignal<bool>) -> impl IntoView {
    view! {
        <code>
            {move || {
                if secret && !shown.get() { timeline::mask(&value) } else { value.clone() }
            }}
        </code>
    }
}

/// The query of an authorize, callback or server-login URL, each parameter explained.
#[component]
fn ParamTable(params: Vec<(String, String)>, shown: RwSignal<bool>) -> impl IntoView {
    let rows = params
        .into_iter()
        .map(|(name, value)| {
            let why = timeline::explain_param(&name).unwrap_or("");
            let secret = timeline::is_secret(&name);
            view! {
                <tr>
                    <td>
                        <code>{name}</code>
                    </td>
                    <td class="wrap">
                        <MaybeSecret value secret shown />
                    </td>
                    <td class="muted small">{why}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <Table class="params" label="Parameters" columns=&["Parameter", "Value", "What it is for"]>
            {rows}
        </Table>
    }
}

#[component]
fn HeaderTable(
    title: &'static str,
    headers: Vec<(String, String)>,
    shown: RwSignal<bool>,
) -> impl IntoView {
    (!headers.is_empty()).then(|| {
        let rows = headers
            .into_iter()
            .map(|(name, value)| {
                let shown_name = name.clone();
                view! {
                    <tr>
                        <td class="nowrap">
                            <code>{name}</code>
                        </td>
                        <td class="wrap">
                            <code>
                                {move || timeline::header_value(&shown_name, &value, shown.get())}
                            </code>
                        </td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3 class="small-heading">{title}</h3>
            <table class="headers" aria-label=title>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

#[component]
fn Body(body: Option<String>, shown: RwSignal<bool>) -> impl IntoView {
    body.map(|body| {
        view! { <pre class="json">{move || timeline::body_text(&body, shown.get())}</pre> }
    })
}

#[component]
fn DecodedJwt(name: String, token: String) -> impl IntoView {
    match jwt::decode(&token) {
        Ok(decoded) => view! {
            <div class="decoded-jwt" data-testid="decoded-jwt">
                <h3 class="small-heading">{format!("{name}, decoded (not verified here)")}</h3>
                <div class="two-columns">
                    <pre class="json">{jwt::pretty(&decoded.header)}</pre>
                    <pre class="json">{jwt::pretty(&decoded.payload)}</pre>
                </div>
            </div>
        }
        .into_any(),
        Err(e) => view! { <p class="muted small">{format!("{name}: {e}")}</p> }.into_any(),
    }
}

/// REST mode: the preflights the API answered for this origin (`GET /api/cors/preflights`, a
/// simple request: it needs no preflight of its own and sends `Origin` by itself).
#[component]
fn PreflightList() -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let url = format!(
        "{}/api/cors/preflights",
        deployment.config.api_base.trim_end_matches('/')
    );
    let reload = RwSignal::new(0u32);
    let preflights = LocalResource::new(move || {
        reload.track();
        let url = url.clone();
        async move {
            let response = Request::get(&url).send().await.map_err(|_| {
                format!("The API at {url} did not answer (or refused this origin).")
            })?;
            match response.status() {
                200 => response
                    .json::<Preflights>()
                    .await
                    .map_err(|_| "The answer is not a list of preflights.".to_owned()),
                404 => Err("The server keeps preflights only in demo mode (--demo).".to_owned()),
                status => Err(format!("The server answered {status}.")),
            }
        }
    });
    view! {
        <h2>"CORS preflights, as the server answered them"</h2>
        <p class="muted">
            "Before a cross-origin call that carries " <code>"Authorization"</code>
            " or a JSON body, the browser asks the API with an " <code>"OPTIONS"</code>
            " request that page scripts cannot see. The API keeps the last ones for each origin "
            "in demo mode; behind a load balancer, each instance shows those it answered. "
            <button
                type="button"
                class="button ghost small"
                data-testid="reload-preflights"
                on:click=move |_| reload.update(|n| *n += 1)
            >
                "Reload"
            </button>
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match preflights.await {
                    Ok(list) if list.preflights.is_empty() => {
                        view! {
                            <p class="muted" data-testid="no-preflights">
                                {format!("No preflight from {} yet.", list.origin)}
                            </p>
                        }
                            .into_any()
                    }
                    Ok(list) => view! { <PreflightTable list /> }.into_any(),
                    Err(why) => view! { <p class="muted">{why}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

const PREFLIGHT_COLUMNS: &[&str] = &[
    "Time",
    "Asked for",
    "Headers asked",
    "Status",
    "Access-Control-* answer",
];

/// How many preflights show before "Show all".
const PREFLIGHTS_SHOWN: usize = 5;

#[component]
fn PreflightTable(list: Preflights) -> impl IntoView {
    let all = RwSignal::new(false);
    let total = list.preflights.len();
    let preflights = StoredValue::new(list.preflights);
    let rows = move || {
        let limit = if all.get() { total } else { PREFLIGHTS_SHOWN };
        preflights.with_value(|preflights| {
            preflights
                .iter()
                .take(limit)
                .cloned()
                .map(|preflight| view! { <PreflightRow preflight /> })
                .collect_view()
        })
    };
    view! {
        <AdminTable label="CORS preflights" columns=PREFLIGHT_COLUMNS>
            {rows}
        </AdminTable>
        <Show when=move || { total > PREFLIGHTS_SHOWN && !all.get() }>
            <button type="button" class="button ghost small" on:click=move |_| all.set(true)>
                {format!("Show all {total}")}
            </button>
        </Show>
    }
}

#[component]
fn PreflightRow(preflight: Preflight) -> impl IntoView {
    let answer = preflight
        .response_headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let allowed = if preflight.status < 300 {
        "ok"
    } else {
        "expired"
    };
    view! {
        <tr class="preflight">
            <td class="nowrap">{local_time_ms(preflight.at_ms as f64)}</td>
            <td class="nowrap">
                <code>{format!("{} {}", preflight.request_method, preflight.path)}</code>
            </td>
            <td>
                <code>{preflight.request_headers.unwrap_or_default()}</code>
            </td>
            <td class=allowed>{preflight.status}</td>
            <td>
                <pre class="preflight-headers">{answer}</pre>
            </td>
        </tr>
    }
}

/// MVC mode: the browser makes no cross-origin call (no preflight); the server's exchanges with
/// the authorization server are its session's.
#[component]
fn ServerExchanges() -> impl IntoView {
    let session = use_session();
    let api = expect_context::<Api>();
    // The session as it is now: the server may have refreshed since the app last asked.
    leptos::task::spawn_local(async move {
        if let Ok(info) = api.server_session().await {
            session.set_server_session(info);
        }
    });
    view! {
        <h2>"The server's exchanges with the authorization server"</h2>
        <p class="muted">
            "In MVC mode this page calls only its own origin (so there are no CORS preflights); "
            "the server redeems the code and refreshes the token on your behalf, as its session "
            "records it (tokens shown only as their last characters)."
        </p>
        {move || {
            session
                .server_session()
                .map(|info| view! { <ExchangeTable exchanges=info.exchanges /> })
        }}
    }
}

/// Offers `text` as a file download (a `Blob` URL on an `<a download>`).
fn download(name: &str, text: &str) {
    let Some(document) = window().document() else {
        return;
    };
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(link) = document
        .create_element("a")
        .ok()
        .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        link.set_href(&url);
        link.set_download(name);
        link.click();
    }
    // The download has started from the URL; it may go once the click has been handled.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    let _ = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
}
