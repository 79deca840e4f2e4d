//! Small views that several pages share.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::Deployment;
use crate::oauth;
use crate::session::use_session;

/// The "Log in" button: starts the authorization code flow, or says why it cannot.
#[component]
pub fn LoginButton() -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let error = RwSignal::new(None::<String>);
    let log_in = move |_| {
        if let Err(e) = oauth::start_login(&deployment) {
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
    view! { <div class="errors">{messages}</div> }
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
            <A href="/">"Back to the home page"</A>
        </p>
    }
}
