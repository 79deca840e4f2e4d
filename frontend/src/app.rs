//! Start-up, the shell around every page, and the routes.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::{A, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;
use shared::bff::SessionInfo;
use shared::config::AppMode;
use shared::scope::ADMIN;

use crate::api::{self, Api, ApiError, Deployment};
use crate::components::Loading;
use crate::pages::admin::{
    AdminConsole, clients::Clients, events::Events, issuers::Issuers, keys::Keys, scopes::Scopes,
    servers::Servers, tokens::Tokens, users::Users,
};
use crate::pages::{
    callback::Callback, debugger::Debugger, home::Home, labs::Labs, not_found::NotFound,
    orders::Orders, products::Products, profile::Profile, refusals::Refusals, timeline::Timeline,
    token::Token,
};
use crate::refresh::{Refresher, use_refresher};
use crate::session::{Session, use_session};

/// Loads the deployment (runtime config and server metadata), then shows the app.
#[component]
pub fn App() -> impl IntoView {
    let started = LocalResource::new(start);
    view! {
        <Suspense fallback=|| {
            view! {
                <div class="splash">
                    <Loading text="Starting…" />
                </div>
            }
        }>
            {move || Suspend::new(async move {
                let (deployment, server_session) = started.await;
                view! { <Shell deployment server_session /> }
            })}
        </Suspense>
    }
}

/// The deployment and, in MVC mode, the server's session: the browser has nothing to restore
/// that one from.
async fn start() -> (Deployment, Result<Option<SessionInfo>, ApiError>) {
    let deployment = api::load_deployment().await;
    let server_session = match deployment.config.mode {
        AppMode::Rest => Ok(None),
        AppMode::Mvc => api::load_server_session().await,
    };
    (deployment, server_session)
}

/// Provides the deployment, the session and the API client to every page.
#[component]
fn Shell(
    deployment: Deployment,
    server_session: Result<Option<SessionInfo>, ApiError>,
) -> impl IntoView {
    let mode = deployment.config.mode;
    let (server_session, problem) = match server_session {
        Ok(info) => (info, None),
        Err(e) => (None, Some(e)),
    };
    let session = Session::restore(mode, server_session);
    if let Some(e) = problem {
        session.set_flash(format!("Your session could not be read: {e}"));
    }
    let api = Api::new(&deployment.config, session);
    provide_context(session);
    let refresher = Refresher::start(session, deployment.clone(), api.clone());
    if mode == AppMode::Rest {
        api.renew_with(refresher);
    }
    provide_context(refresher);
    provide_context(api);
    provide_context(deployment);

    view! {
        <Router>
            <ReturnHomeWhenLoggedOut />
            <NavBar />
            <main class="container">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <Route path=path!("/callback") view=Callback />
                    <Route path=path!("/products") view=Products />
                    <Route path=path!("/orders") view=Orders />
                    <Route path=path!("/profile") view=Profile />
                    <Route path=path!("/token") view=Token />
                    <Route path=path!("/refusals") view=Refusals />
                    <Route path=path!("/debugger") view=Debugger />
                    <Route path=path!("/timeline") view=Timeline />
                    <Route path=path!("/labs") view=Labs />
                    <ParentRoute path=path!("/admin") view=AdminConsole>
                        <Route path=path!("") view=Users />
                        <Route path=path!("/users") view=Users />
                        <Route path=path!("/clients") view=Clients />
                        <Route path=path!("/scopes") view=Scopes />
                        <Route path=path!("/tokens") view=Tokens />
                        <Route path=path!("/servers") view=Servers />
                        <Route path=path!("/issuers") view=Issuers />
                        <Route path=path!("/keys") view=Keys />
                        <Route path=path!("/events") view=Events />
                    </ParentRoute>
                </Routes>
            </main>
            <footer class="footer container" data-testid="footer">
                "OAuth 2.0 authorization code + PKCE · "
                {match mode {
                    AppMode::Rest => {
                        view! { "access token sent as " <code>"Authorization: Bearer"</code> }
                            .into_any()
                    }
                    AppMode::Mvc => "tokens kept on the server (backend-for-frontend)".into_any(),
                }}
            </footer>
        </Router>
    }
}

/// Whenever the session ends (logging out, or the API refusing the token), go to the home page,
/// where the flash says why and "Log in" is offered.
#[component]
fn ReturnHomeWhenLoggedOut() -> impl IntoView {
    let session = use_session();
    let navigate = use_navigate();
    Effect::new(move |was_logged_in: Option<bool>| {
        let logged_in = session.is_logged_in();
        if was_logged_in == Some(true) && !logged_in {
            navigate("/", NavigateOptions::default());
        }
        logged_in
    });
}

#[component]
fn NavBar() -> impl IntoView {
    let session = use_session();
    let refresher = use_refresher();
    let api = expect_context::<Api>();
    // The token's `sub` is an opaque id; the username comes from `/api/me` when the token allows
    // it, and the nav falls back to `sub` otherwise.
    let username = LocalResource::new(move || {
        let api = api.clone();
        let logged_in = session.is_logged_in();
        async move {
            if logged_in {
                api.me().await.ok().map(|me| me.username)
            } else {
                None
            }
        }
    });
    let who = move || {
        username
            .get()
            .flatten()
            .or_else(|| session.claims().map(|claims| claims.sub))
    };
    view! {
        <header class="topbar">
            <nav class="container nav">
                <A href="/" attr:class="brand">
                    <span class="logo" aria-hidden="true">"◆"</span>
                    " OAuth Shop"
                </A>
                <ModeBadge mode=session.mode() />
                <Show when=move || session.is_logged_in()>
                    <ul class="links">
                        <li>
                            <A href="/products">"Products"</A>
                        </li>
                        <li>
                            <A href="/orders">"Orders"</A>
                        </li>
                        <li>
                            <A href="/profile">"Profile"</A>
                        </li>
                        <li>
                            <A href="/token">"Token"</A>
                        </li>
                        <li>
                            <A href="/timeline">"Timeline"</A>
                        </li>
                        <li>
                            <A href="/debugger">"Debugger"</A>
                        </li>
                        <li>
                            <A href="/refusals">"Refusals"</A>
                        </li>
                        <li>
                            <A href="/labs">"Labs"</A>
                        </li>
                        // Only for a token that can use the console; others reach it by URL.
                        <Show when=move || session.has_scope(ADMIN)>
                            <li>
                                <A href="/admin">"Admin"</A>
                            </li>
                        </Show>
                    </ul>
                </Show>
                <div class="account">
                    <Show
                        when=move || session.is_logged_in()
                        fallback=|| view! { <span class="muted">"Not logged in"</span> }
                    >
                        <span class="user" title="The subject (sub) of your access token">
                            {who}
                        </span>
                        <button class="button ghost" on:click=move |_| refresher.log_out()>
                            "Log out"
                        </button>
                    </Show>
                </div>
            </nav>
        </header>
    }
}

/// Which of the app's two versions this is (source document 000): REST or MVC.
#[component]
fn ModeBadge(mode: AppMode) -> impl IntoView {
    let (label, title) = match mode {
        AppMode::Rest => (
            "REST",
            "REST mode: this browser holds the access token and sends it to the API as \
             Authorization: Bearer",
        ),
        AppMode::Mvc => (
            "MVC",
            "MVC mode: the tokens stay on the server (backend-for-frontend); this browser holds \
             only an HttpOnly session cookie",
        ),
    };
    view! {
        <span class="mode-badge" data-mode=mode.as_str() data-testid="app-mode" title=title>
            {label} " mode"
        </span>
    }
}
