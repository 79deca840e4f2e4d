//! `/`: what this demo is, the flash message, and the way in.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::Deployment;
use crate::components::LoginButton;
use crate::session::use_session;

#[component]
pub fn Home() -> impl IntoView {
    let session = use_session();
    let deployment = expect_context::<Deployment>();
    // The flash is for this visit of the home page only.
    on_cleanup(move || session.clear_flash());

    let flash = move || {
        session.flash().map(|text| {
            view! {
                <div class="flash error" role="alert">
                    <span>{text}</span>
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
                    "This single-page app logs you in with the authorization code flow and PKCE, "
                    "then calls a protected REST API with the access token it received."
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
                            </div>
                        }
                    }
                >
                    <div class="tiles">
                        <A href="/products" attr:class="tile">
                            <strong>"Products"</strong>
                            <span>"Browse the catalogue and place orders"</span>
                        </A>
                        <A href="/orders" attr:class="tile">
                            <strong>"Orders"</strong>
                            <span>"What you have ordered so far"</span>
                        </A>
                        <A href="/profile" attr:class="tile">
                            <strong>"Profile"</strong>
                            <span>"Who the API thinks you are"</span>
                        </A>
                        <A href="/token" attr:class="tile">
                            <strong>"Token"</strong>
                            <span>"The JWT your browser sends, decoded"</span>
                        </A>
                    </div>
                </Show>
                {server_problem}
            </div>

            <div class="explainer">
                <h2>"How it works"</h2>
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
            </div>
        </section>
    }
}
