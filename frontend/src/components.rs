//! Small views that several pages share.

use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use shared::bff;
use shared::config::AppMode;

use crate::api::Deployment;
use crate::app::Bundle;
use crate::oauth;
use crate::refresh::{Departure, Refresher};
use crate::session::use_session;

/// The "Log in" button: starts the authorization code flow (MVC mode: the server's, which comes
/// back to this page), or says why it cannot.
#[component]
pub fn LoginButton() -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let error = RwSignal::new(None::<String>);
    let log_in = move |_| {
        let here = window().location().pathname().unwrap_or_default();
        if let Err(e) = oauth::start_login(&deployment, &here) {
            error.set(Some(e.to_string()));
        }
    };
    view! {
        <button class="button primary" on:click=log_in>
            "Log in"
        </button>
        {move || error.get().map(|text| view! { <p class="flash error" role="alert">{text}</p> })}
    }
}

/// REST mode, before a login: the choice of sender-constrained tokens (DPoP, RFC 9449), kept
/// for the next logins of this browser (see [`crate::dpop`]).
#[component]
pub fn SenderConstrained() -> impl IntoView {
    let chosen = RwSignal::new(crate::dpop::chosen());
    Effect::new(move |_| crate::dpop::choose(chosen.get()));
    view! {
        <label class="choice">
            <input type="checkbox" name="dpop" bind:checked=chosen />
            " Sender-constrained tokens (DPoP, RFC 9449)"
        </label>
        <p class="hint">
            "This browser makes a key it cannot export (WebCrypto) and signs a proof with it for "
            "every token request and API call: watch the " <code>"DPoP"</code>
            " header and " <code>"Authorization: DPoP …"</code>
            " in the Network tab. A copied token is useless without the key."
        </p>
    }
}

/// Where a page's data comes from: `GET {path}` on the API, called by this browser (REST) or by
/// the server for it (MVC).
#[component]
pub fn FetchedFrom(path: &'static str) -> impl IntoView {
    match use_session().mode() {
        AppMode::Rest => view! { "Fetched from " <code>"GET " {path}</code> }.into_any(),
        AppMode::Mvc => view! {
            "Fetched from " <code>"GET " {bff::PREFIX} {path}</code>
            " (the server calls " <code>{path}</code> " with your access token)"
        }
        .into_any(),
    }
}

/// Shows `children` when logged in, and a prompt to log in instead of calling the API otherwise.
#[component]
pub fn RequireLogin(
    /// What the page shows, completing "Log in to see …".
    what: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let session = use_session();
    view! {
        <Show
            when=move || session.is_logged_in()
            fallback=move || {
                view! {
                    <div class="card prompt">
                        <p>"Log in to see " {what} "."</p>
                        <LoginButton />
                    </div>
                }
            }
        >
            {children()}
        </Show>
    }
}

/// The `fallback` of an `<ErrorBoundary>` around API calls.
pub fn api_errors(errors: ArcRwSignal<Errors>) -> impl IntoView {
    // The server's explanation of the refused call, by its request id.
    let refused = use_context::<crate::api::Api>().and_then(|api| api.last_refused());
    let why = refused.map(|id| {
        let href = format!("/refusals?id={}", js_sys::encode_uri_component(&id));
        view! {
            <p class="small why">
                <PageLink href=href>"Why was it refused?"</PageLink>
                " Request " <code>{id}</code>
            </p>
        }
    });
    let messages = move || {
        errors.with(|errors| {
            errors
                .iter()
                .map(|(_, error)| {
                    let text = error.to_string();
                    view! { <p class="flash error" role="alert">{text}</p> }
                })
                .collect::<Vec<_>>()
        })
    };
    view! { <div class="errors">{messages} {why}</div> }
}

/// A link to a page of the app: the router's when this bundle has the page, else an ordinary
/// link that loads the bundle that has it (see [`crate::app::serves`]).
#[component]
pub fn PageLink(
    #[prop(into)] href: String,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let bundle = use_context::<Bundle>().unwrap_or(Bundle::App);
    if crate::app::serves(bundle, &href) {
        view! {
            <A href=href attr:class=class>
                {children()}
            </A>
        }
        .into_any()
    } else {
        // A plain click goes through the refresher, which waits for a refresh on its way (see
        // `Refresher::leave_for`); a click for a new tab leaves this page running, and is the
        // browser's.
        let refresher = use_context::<Refresher>();
        let target = href.clone();
        let click = move |event: MouseEvent| {
            let plain = event.button() == 0
                && !(event.ctrl_key() || event.meta_key() || event.shift_key() || event.alt_key());
            if let Some(refresher) = refresher.filter(|_| plain) {
                event.prevent_default();
                refresher.leave_for(Departure::To {
                    path: target.clone(),
                    replace: false,
                });
            }
        };
        view! {
            <a href=href class=class rel="external" on:click=click>
                {children()}
            </a>
        }
        .into_any()
    }
}

/// What a page shows while its data loads.
#[component]
pub fn Loading(#[prop(default = "Loading…")] text: &'static str) -> impl IntoView {
    view! {
        <p class="loading" aria-busy="true">
            <span class="spinner"></span>
            {text}
        </p>
    }
}

/// A one-line error with a way back home.
#[component]
pub fn ErrorPanel(title: String, detail: String) -> impl IntoView {
    view! {
        <div class="flash error" role="alert">
            <strong>{title}</strong>
            <p>{detail}</p>
        </div>
        <p>
            <PageLink href="/">"Back to the home page"</PageLink>
        </p>
    }
}

/// A button for something that cannot be undone: the first click only asks, and a second button
/// ("Confirm …") does it. In the page rather than `window.confirm`, so it can be styled, read by
/// screen readers and driven by tests like any other button.
#[component]
pub fn ConfirmButton(
    /// The first button ("Delete").
    #[prop(into)]
    label: String,
    /// The button that does it ("Confirm delete").
    #[prop(into)]
    confirm: String,
    /// What will happen, asked next to the confirm button.
    #[prop(into)]
    question: String,
    #[prop(into)] on_confirm: Callback<()>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let armed = RwSignal::new(false);
    let first = move || {
        let label = label.clone();
        view! {
            <button
                type="button"
                class="button ghost small"
                disabled=move || disabled.get()
                on:click=move |_| armed.set(true)
            >
                {label}
            </button>
        }
    };
    view! {
        <Show when=move || armed.get() fallback=first>
            <span class="confirm-step" role="group" aria-label=question.clone()>
                <span class="confirm-question">{question.clone()}</span>
                <button
                    type="button"
                    class="button danger small"
                    on:click=move |_| {
                        armed.set(false);
                        on_confirm.run(());
                    }
                >
                    {confirm.clone()}
                </button>
                <button type="button" class="button ghost small" on:click=move |_| armed.set(false)>
                    "Cancel"
                </button>
            </span>
        </Show>
    }
}

/// A secret shown the one time the server hands it out (a client secret, an API token), with a
/// copy button. The caller keeps the value in a signal of its own page and drops it on dismiss;
/// leaving the page drops it too.
#[component]
pub fn SecretBox(
    #[prop(into)] title: String,
    #[prop(into)] secret: String,
    #[prop(into)] on_dismiss: Callback<()>,
    /// How to use it (an example command).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let for_copy = secret.clone();
    let copy = move |_| {
        let text = for_copy.clone();
        leptos::task::spawn_local(async move {
            let ok = copy_to_clipboard(&text).await;
            copied.try_set(Some(ok));
        });
    };
    view! {
        <div class="card secret-box" role="region" aria-label=title.clone() data-testid="secret-box">
            <h3>{title.clone()}</h3>
            <p class="secret-warning">
                <strong>"Copy it now: "</strong>
                "it is shown only this once. The server keeps only a hash and cannot show it again."
            </p>
            <div class="secret-row">
                <code class="secret-value" data-testid="secret-value">{secret}</code>
                <button type="button" class="button ghost small" on:click=copy>"Copy"</button>
                <span class="muted small" role="status">
                    {move || match copied.get() {
                        Some(true) => "Copied to the clipboard.",
                        Some(false) => "The browser refused: select the text and copy it.",
                        None => "",
                    }}
                </span>
            </div>
            {children.map(|children| children())}
            <button type="button" class="button primary small" on:click=move |_| on_dismiss.run(())>
                "Done, hide it"
            </button>
        </div>
    }
}

/// `navigator.clipboard.writeText`; `false` where the browser has no clipboard API (an insecure
/// origin) or refuses.
async fn copy_to_clipboard(text: &str) -> bool {
    use wasm_bindgen::JsCast;
    let navigator = window().navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return false;
    };
    if !clipboard.is_object() {
        return false;
    }
    let clipboard: web_sys::Clipboard = clipboard.unchecked_into();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .is_ok()
}

/// Why the server refused a request, as its event log explains it: the answer, the check that
/// failed with expected against got, and the remedy.
#[component]
pub fn Explained(request_id: String, explanation: shared::api::Explanation) -> impl IntoView {
    let shared::api::Explanation {
        endpoint,
        status,
        error,
        description,
        check,
        expected,
        got,
        remedy,
        issuer,
        kid,
        jti,
    } = explanation;
    let row = |name: &'static str, value: Option<String>| {
        value.map(|value| {
            view! {
                <dt>{name}</dt>
                <dd>
                    <code>{value}</code>
                </dd>
            }
        })
    };
    let (id_attr, check_attr) = (request_id.clone(), check.clone());
    view! {
        <div class="explained" data-request-id=id_attr data-check=check_attr>
            <p>
                <code>{endpoint}</code>
                " answered "
                <strong>{status}</strong>
                " "
                <code>{error}</code>
                ": "
                {description}
            </p>
            <dl class="facts">
                {row("Request id", Some(request_id))}
                {row("Check", check)}
                {row("Expected", expected)}
                {row("Got", got)}
                {row("Issuer", issuer)}
                {row("kid", kid)}
                {row("jti", jti)}
            </dl>
            {remedy.map(|remedy| view! { <p class="remedy">"What to do: " {remedy}</p> })}
        </div>
    }
}

/// A table with a header row of `columns`; its rows are `children`.
#[component]
pub fn Table(
    /// Its class (the look).
    class: &'static str,
    /// The table's accessible name.
    label: &'static str,
    columns: &'static [&'static str],
    children: Children,
) -> impl IntoView {
    let headers = columns
        .iter()
        .map(|column| view! { <th scope="col">{*column}</th> })
        .collect::<Vec<_>>();
    view! {
        <table class=class aria-label=label>
            <thead>
                <tr>{headers}</tr>
            </thead>
            <tbody>{children()}</tbody>
        </table>
    }
}
