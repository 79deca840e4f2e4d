//! `/refusals[?id=REQUEST_ID]`: why the server refused your requests (`GET /api/me/refusals`):
//! each refusal's request id, the answer, the check that failed with expected against got, and
//! what to do. An error shown anywhere in the app links here with its request id.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use shared::api::Refusal;

use crate::api::Api;
use crate::components::{Explained, FetchedFrom, Loading, RequireLogin, api_errors};
use crate::format::local_time_ms;

#[component]
pub fn Refusals() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Refusals"</h1>
                <p class="muted">
                    <FetchedFrom path="/api/me/refusals" />
                    ": every error answer carries an "<code>"X-Request-Id"</code>
                    " header, and the server keeps why it refused, with what it expected and what it got. You see those of your own requests; an administrator finds any of them in the console's event log."
                </p>
            </header>
            <RequireLogin what="why your requests were refused">
                <RefusalList />
            </RequireLogin>
        </section>
    }
}

#[component]
fn RefusalList() -> impl IntoView {
    let api = expect_context::<Api>();
    let query = use_query_map();
    let wanted = Memo::new(move |_| query.with(|q| q.get("id")).filter(|id| !id.is_empty()));
    let refusals = LocalResource::new(move || {
        let api = api.clone();
        let id = wanted.get();
        async move {
            let query: Vec<(&str, String)> = id.into_iter().map(|id| ("request_id", id)).collect();
            api.get_with_query::<Vec<Refusal>>("/api/me/refusals", &query)
                .await
        }
    });
    let typed = RwSignal::new(wanted.get_untracked().unwrap_or_default());
    let navigate = use_navigate();
    let find = move |ev: SubmitEvent| {
        ev.prevent_default();
        let id = typed.get_untracked();
        let id = id.trim();
        let to = if id.is_empty() {
            "/refusals".to_owned()
        } else {
            format!("/refusals?id={}", js_sys::encode_uri_component(id))
        };
        navigate(&to, Default::default());
    };
    view! {
        <form class="card refusal-search" aria-label="Find a refusal" on:submit=find>
            <label class="field">
                <span>"Request id"</span>
                <input
                    type="text"
                    name="request_id"
                    placeholder="all of them"
                    autocomplete="off"
                    bind:value=typed
                />
            </label>
            <button type="submit" class="button">
                "Find"
            </button>
        </form>
        <Transition fallback=|| view! { <Loading text="Loading refusals…" /> }>
            <ErrorBoundary fallback=api_errors>
                {move || Suspend::new(async move {
                    refusals.await.map(|found| view! { <RefusalCards found /> })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn RefusalCards(found: Vec<Refusal>) -> impl IntoView {
    if found.is_empty() {
        return view! {
            <p class="card empty">
                "No refusals of your requests (a refusal is yours once the server knows the request was: a token whose signature verified, your login or session)."
            </p>
        }
        .into_any();
    }
    found
        .into_iter()
        .map(|refusal| {
            let when = local_time_ms(refusal.at as f64 * 1000.0);
            let client = refusal
                .client_id
                .map(|client| view! { " · client " <code>{client}</code> });
            view! {
                <article class="card refusal">
                    <p class="muted small">{when} {client}</p>
                    <Explained request_id=refusal.request_id explanation=refusal.explanation />
                </article>
            }
        })
        .collect::<Vec<_>>()
        .into_any()
}
