//! `/`: what this demo is, the flash message, and the way in.

use leptos::prelude::*;

use shared::config::AppMode;

use crate::api::Deployment;
use crate::components::{LoginButton, PageLink, SenderConstrained};
use crate::oauth;
use crate::session::use_session;

#[component]
pub fn Home() -> impl IntoView {
    let session = use_session();
    let deployment = expect_context::<Deployment>();
    let mode = deployment.config.mode;
    if mode == AppMode::Mvc
        && let Some(failure) = oauth::take_server_login_error()
    {
        session.set_flash(failure);
    }
    // The flash is for this visit of the home page only.
    on_cleanup(move || session.clear_flash());

    let flash = move || {
        session.flash().map(|text| {
            // A refused call: the server's explanation, once logged in again.
            let why = session.flash_request().map(|id| {
                let href = format!("/refusals?id={}", js_sys::encode_uri_component(&id));
                view! {
                    " "
                    <PageLink href=href class="why">
                        "Why?"
                    </PageLink>
                }
            });
            view! {
                <div class="flash error" role="alert">
                    <span>{text} {why}</span>
                    <button
                        class="dismiss"
                        aria-label="Dismiss"
                        on:click=move |_| session.clear_flash()
                    >
                        "×"
                    </button>
                </div>
            }
        })
    };
    let server_problem = deployment
        .server
        .as_ref()
        .err()
        .map(|e| view! { <p class="flash error" role="alert">{e.to_string()}</p> });

    view! {
        <section class="page home">
            {flash}
            <div class="hero">
                <h1>"A shop behind OAuth 2.0"</h1>
                <p class="lead">
                    {match mode {
                        AppMode::Rest => {
                            "This single-page app logs you in with the authorization code flow \
                             and PKCE, then calls a protected REST API with the access token it \
                             received."
                        }
                        AppMode::Mvc => {
                            "This app logs you in through its own server, a backend-for-frontend: \
                             the server runs the authorization code flow, keeps the tokens, and \
                             calls the protected REST API for the page."
                        }
                    }}
                </p>
                <Show
                    when=move || session.is_logged_in()
                    fallback=move || {
                        view! {
                            <div class="cta">
                                <LoginButton />
                                <p class="hint">
                                    "Demo account: " <code>"user0"</code> " / "
                                    <code>"password0"</code>
                                </p>
                                {(mode == AppMode::Rest).then(|| view! { <SenderConstrained /> })}
                            </div>
                        }
                    }
                >
                    <div class="tiles">
                        <PageLink href="/products" class="tile">
                            <strong>"Products"</strong>
                            <span>"Browse the catalogue and place orders"</span>
                        </PageLink>
                        <PageLink href="/orders" class="tile">
                            <strong>"Orders"</strong>
                            <span>"What you have ordered so far"</span>
                        </PageLink>
                        <PageLink href="/profile" class="tile">
                            <strong>"Profile"</strong>
                            <span>"Who the API thinks you are"</span>
                        </PageLink>
                        <PageLink href="/token" class="tile">
                            <strong>"Token"</strong>
                            <span>
                                {match mode {
                                    AppMode::Rest => "The JWT your browser sends, decoded",
                                    AppMode::Mvc => "Why your browser holds no token",
                                }}
                            </span>
                        </PageLink>
                    </div>
                </Show>
                {server_problem}
            </div>

            <div class="explainer">
                <h2>"How it works"</h2>
                {match mode {
                    AppMode::Rest => browser_steps(&deployment).into_any(),
                    AppMode::Mvc => server_steps(&deployment).into_any(),
                }}
            </div>
        </section>
    }
}

/// REST mode: the browser is the OAuth client.
fn browser_steps(deployment: &Deployment) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>
                <strong>"Authorize. "</strong>
                "The app sends you to the authorization server at "
                <code>{deployment.config.issuer.clone()}</code>
                " with a random "<code>"state"</code>" and a PKCE "
                <code>"code_challenge"</code>"."
            </li>
            <li>
                <strong>"Exchange. "</strong>
                "Back at "<code>"/callback"</code>
                ", the app trades the one-time code and its "<code>"code_verifier"</code>
                " for a signed JWT access token."
            </li>
            <li>
                <strong>"Call the API. "</strong>
                "REST mode: the token is kept in a "<code>"SameSite=Strict"</code>
                " cookie, and the browser sends it to "
                <code>{deployment.config.api_base.clone()}</code> " as "
                <code>"Authorization: Bearer …"</code>
                " — open the Network tab to see it."
            </li>
            <li>
                <strong>"Stay logged in. "</strong>
                "Before the access token expires, the app trades its single-use "
                <code>"refresh_token"</code>
                " (kept in this tab's "<code>"sessionStorage"</code>
                ") for a new pair; logging out revokes it."
            </li>
        </ol>
    }
}

/// MVC mode: the app's server is the OAuth client (a confidential one), the browser never sees a
/// token.
fn server_steps(deployment: &Deployment) -> impl IntoView {
    view! {
        <ol class="steps">
            <li>
                <strong>"Authorize. "</strong>
                "“Log in” opens "<code>"/bff/login"</code>
                " on this app's server, which sends you to the authorization server at "
                <code>{deployment.config.issuer.clone()}</code>
                " with its own "<code>"state"</code>" and PKCE "<code>"code_challenge"</code>"."
            </li>
            <li>
                <strong>"Exchange. "</strong>
                "Back at "<code>"/bff/callback"</code>
                ", the server trades the code for the tokens, authenticating as a confidential "
                "client with its secret, and keeps them in a server-side session."
            </li>
            <li>
                <strong>"Call the API. "</strong>
                "MVC mode: the browser calls "<code>"/bff/api/…"</code>
                " on its own origin with an "<code>"HttpOnly"</code>
                " session cookie and a CSRF header; the server calls "
                <code>{deployment.config.api_base.clone()}</code> " with "
                <code>"Authorization: Bearer …"</code>
                " — the Network tab shows no token."
            </li>
            <li>
                <strong>"Stay logged in. "</strong>
                "The server refreshes the access token when it needs to; logging out ends the "
                "session and revokes the tokens."
            </li>
        </ol>
    }
}
