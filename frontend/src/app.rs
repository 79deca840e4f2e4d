//! Start-up, the shell around every page, the routes, and which bundle serves which page.

pub mod routes;

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::Router;
use leptos_router::hooks::use_navigate;
use shared::bff::SessionInfo;
pub use shared::bundle::Bundle;
use shared::config::AppMode;
use shared::scope::ADMIN;

use crate::api::{self, Api, ApiError, Deployment};
use crate::components::{Loading, PageLink};
use crate::refresh::{Departure, Refresher, use_refresher};
use crate::session::{Session, use_session};

/// Whether `bundle` has the page at `path` (an app path, perhaps with a query): a link to it is
/// the router's, else it loads the page, and with it the bundle that has it. A debug build
/// (`trunk serve`) has every page in the app's bundle.
pub fn serves(bundle: Bundle, path: &str) -> bool {
    (bundle == Bundle::App && cfg!(debug_assertions)) || Bundle::of(path) == bundle
}

/// Goes to `path` as a link to it would (see [`serves`]); `replace` replaces the
/// current history entry. Call it from a component.
pub fn use_go() -> impl Fn(&str, bool) + Clone + 'static {
    let bundle = use_context::<Bundle>().unwrap_or(Bundle::App);
    let session = use_context::<Session>();
    let refresher = use_context::<Refresher>();
    let navigate = use_navigate();
    move |path: &str, replace: bool| {
        // While a page load is pending, a move within this bundle would be undone by it: it
        // becomes the page load's destination instead.
        let leaving = refresher.is_some_and(|refresher| refresher.is_leaving());
        if serves(bundle, path) && !leaving {
            navigate(
                path,
                NavigateOptions {
                    replace,
                    ..NavigateOptions::default()
                },
            );
        } else {
            // The page that ends a session says why on the home page, in another bundle.
            if let Some(session) = session {
                session.carry_flash();
            }
            let _ = Departure::To {
                path: path.to_owned(),
                replace,
            }
            .go_through(refresher);
        }
    }
}

/// Mounts the app as `bundle`, with its `routes`.
pub fn start(bundle: Bundle, routes: fn() -> AnyView) {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(move || view! { <App bundle routes /> });
}

/// A page the browser restores from its back/forward cache comes back with the memory it had
/// when it was left: a session ended since (logged out on a page of another bundle) would still
/// show, and its timer would present a revoked refresh token. Such a page loads again instead
/// (starting no refresh meanwhile), and reads the session as it is now (its files come from
/// the HTTP cache).
fn reload_when_restored(refresher: Refresher) {
    let listener = window_event_listener_untyped("pageshow", move |event| {
        let persisted = js_sys::Reflect::get(&event, &"persisted".into())
            .ok()
            .and_then(|persisted| persisted.as_bool());
        if persisted == Some(true) {
            refresher.leave_for(Departure::Reload);
        }
    });
    on_cleanup(move || listener.remove());
}

/// Loads the deployment (runtime config and server metadata), then shows the app.
#[component]
fn App(bundle: Bundle, routes: fn() -> AnyView) -> impl IntoView {
    provide_context(bundle);
    let started = LocalResource::new(start_up);
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
                view! { <Shell deployment server_session routes /> }
            })}
        </Suspense>
    }
}

/// The deployment and, in MVC mode, the server's session: the browser has nothing to restore
/// that one from.
async fn start_up() -> (Deployment, Result<Option<SessionInfo>, ApiError>) {
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
    routes: fn() -> AnyView,
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
    reload_when_restored(refresher);
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
                {routes()}
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
    let go = use_go();
    Effect::new(move |was_logged_in: Option<bool>| {
        let logged_in = session.is_logged_in();
        if was_logged_in == Some(true) && !logged_in {
            go("/", false);
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
                <PageLink href="/" class="brand">
                    <span class="logo" aria-hidden="true">"◆"</span>
                    " OAuth Shop"
                </PageLink>
                <ModeBadge mode=session.mode() />
                <Show when=move || session.is_logged_in()>
                    <ul class="links">
                        <li>
                            <PageLink href="/products">"Products"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/orders">"Orders"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/profile">"Profile"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/token">"Token"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/timeline">"Timeline"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/debugger">"Debugger"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/refusals">"Refusals"</PageLink>
                        </li>
                        <li>
                            <PageLink href="/labs">"Labs"</PageLink>
                        </li>
                        // Only for a token that can use the console; others reach it by URL.
                        <Show when=move || session.has_scope(ADMIN)>
                            <li>
                                <PageLink href="/admin">"Admin"</PageLink>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_serves_its_pages_and_loads_the_others() {
        assert!(serves(Bundle::Console, "/admin/users"));
        assert!(!serves(Bundle::Console, "/products"));
        assert!(serves(Bundle::Inspector, "/timeline"));
        assert!(!serves(Bundle::Inspector, "/admin"));
        assert!(serves(Bundle::App, "/products"));
        // A release build loads the others; a debug build has them in the app.
        for elsewhere in ["/admin/users", "/labs"] {
            assert_eq!(serves(Bundle::App, elsewhere), cfg!(debug_assertions));
        }
    }
}
