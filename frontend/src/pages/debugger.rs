//! `/debugger`: the token debugger. Paste any JWT (or take this session's): the header and
//! claims are decoded here, and the server runs its real verification (`POST /api/debug/token`)
//! and answers with each check in order, passed or failed, expected against got, for the
//! endpoint chosen. The token is neither stored nor logged.

use gloo_net::http::Method;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::api::{ENDPOINTS, TokenAnswer, TokenCheck, TokenQuestion};
use shared::config::AppMode;

use crate::api::Api;
use crate::components::{RequireLogin, api_errors};
use crate::format::local_time_ms;
use crate::jwt;
use crate::session::use_session;

#[component]
pub fn Debugger() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Token debugger"</h1>
                <p class="muted">
                    "Paste a JWT: it is decoded here, and the server checks it as its API would ("
                    <code>"POST /api/debug/token"</code>
                    "), check by check, against its own clock and keys. Nothing is stored or logged."
                </p>
            </header>
            <RequireLogin what="the token debugger (it answers signed-in users)">
                <Form />
            </RequireLogin>
        </section>
    }
}

#[component]
fn Form() -> impl IntoView {
    let session = use_session();
    let api = expect_context::<Api>();
    let token = RwSignal::new(String::new());
    let endpoint = RwSignal::new(ENDPOINTS[0].0.to_owned());
    let answer = RwSignal::new(None::<Result<TokenAnswer, crate::api::ApiError>>);
    let checking = RwSignal::new(false);
    let check = move |ev: SubmitEvent| {
        ev.prevent_default();
        let api = api.clone();
        let question = TokenQuestion {
            token: token.get_untracked().trim().to_owned(),
            endpoint: Some(endpoint.get_untracked()),
        };
        checking.set(true);
        leptos::task::spawn_local(async move {
            let result = api
                .send_json::<_, TokenAnswer>(Method::POST, "/api/debug/token", Some(&question))
                .await;
            answer.set(Some(result));
            checking.set(false);
        });
    };
    // REST: the token is in this browser; MVC: only the server has it.
    let mine = move |_| {
        if let Some(own) = session.token() {
            token.set(own);
        }
    };
    let take_mine = (session.mode() == AppMode::Rest).then(|| {
        view! {
            <button type="button" class="button" on:click=mine>
                "Use my access token"
            </button>
        }
    });
    let endpoints = ENDPOINTS
        .iter()
        .map(|(name, scope)| {
            let label = match scope {
                Some(scope) => format!("{name} (needs {scope})"),
                None => format!("{name} (any valid token)"),
            };
            view! { <option value=*name>{label}</option> }
        })
        .collect::<Vec<_>>();
    let decoded = move || {
        let text = token.get();
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match jwt::decode(text) {
            Ok(decoded) => view! {
                <div class="two-columns">
                    <div class="card">
                        <h2>"Header"</h2>
                        <pre class="json">{jwt::pretty(&decoded.header)}</pre>
                    </div>
                    <div class="card">
                        <h2>"Claims"</h2>
                        <pre class="json">{jwt::pretty(&decoded.payload)}</pre>
                    </div>
                </div>
            }
            .into_any(),
            Err(e) => view! { <p class="card muted">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <form class="card debugger" aria-label="Token to check" on:submit=check>
            <label class="field">
                <span>"Token"</span>
                <textarea
                    name="token"
                    rows="5"
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="eyJ…"
                    bind:value=token
                ></textarea>
            </label>
            <label class="field">
                <span>"For the endpoint"</span>
                <select name="endpoint" bind:value=endpoint>
                    {endpoints}
                </select>
            </label>
            <div class="form-actions">
                {take_mine}
                <button type="submit" class="button primary" disabled=move || checking.get()>
                    "Check"
                </button>
            </div>
        </form>
        {move || answer.get().map(|answer| match answer {
            Ok(answer) => view! { <Verdict answer /> }.into_any(),
            Err(e) => {
                let errors = ArcRwSignal::new(Errors::default());
                errors.update(|all| all.insert_with_default_key(e));
                api_errors(errors).into_any()
            }
        })}
        {decoded}
    }
}

#[component]
fn Verdict(answer: TokenAnswer) -> impl IntoView {
    let (class, title) = if answer.accepted {
        ("flash info verdict", "Accepted")
    } else {
        ("flash error verdict", "Refused")
    };
    let clock = local_time_ms(answer.server_time as f64 * 1000.0);
    let rows = answer
        .checks
        .into_iter()
        .map(|TokenCheck { name, passed, expected, got }| {
            let mark = if passed { "✓" } else { "✗" };
            let attr = name.clone();
            view! {
                <tr class="token-check" data-check=attr data-passed=passed.to_string()>
                    <td data-label="">
                        <span class=if passed { "mark passed" } else { "mark failed" }>{mark}</span>
                    </td>
                    <td data-label="Check">
                        <code>{name}</code>
                    </td>
                    <td data-label="Expected">{expected}</td>
                    <td data-label="Got">{got}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <div class=class role="status" data-accepted=answer.accepted.to_string()>
            <strong>{title}</strong>
            <p>{answer.verdict}</p>
        </div>
        <div class="card">
            <h2>"The server's checks, in order"</h2>
            <p class="muted small">"Its clock: " {clock}</p>
            <table class="token-checks">
                <thead>
                    <tr>
                        <th></th>
                        <th>"Check"</th>
                        <th>"Expected"</th>
                        <th>"Got"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
