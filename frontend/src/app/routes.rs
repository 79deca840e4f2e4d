//! The routes of each bundle (see [`super::Bundle`]). A bundle's `main` names its function here,
//! and only the pages that function names are linked into its wasm. A page's bundle is the one
//! `shared::bundle` names for its path: the browser tests open every page through the bundle
//! the server answers it with.

use leptos::prelude::*;
use leptos_router::components::{Outlet, ParentRoute, Route, Routes};
use leptos_router::path;

use crate::pages::admin::{
    AdminConsole, clients::Clients, events::Events, issuers::Issuers, keys::Keys,
    registration::Registration, scopes::Scopes, servers::Servers, tokens::Tokens, users::Users,
};
use crate::pages::{
    callback::Callback, debugger::Debugger, home::Home, labs::Labs, not_found::NotFound,
    orders::Orders, products::Products, profile::Profile, refusals::Refusals, timeline::Timeline,
    token::Token,
};

/// The app's bundle.
#[cfg(not(debug_assertions))]
pub fn app() -> AnyView {
    view! {
        <Routes fallback=NotFound>
            <AppPages />
        </Routes>
    }
    .into_any()
}

/// The app's bundle as a debug build (`trunk serve`) makes it: with every other bundle's pages,
/// so one development server shows them all.
#[cfg(debug_assertions)]
pub fn app() -> AnyView {
    view! {
        <Routes fallback=NotFound>
            <AppPages />
            <InspectorPages />
            <ConsolePages />
        </Routes>
    }
    .into_any()
}

/// The inspector's bundle.
pub fn inspector() -> AnyView {
    view! {
        <Routes fallback=NotFound>
            <InspectorPages />
        </Routes>
    }
    .into_any()
}

/// The console's bundle, under `/admin`.
pub fn console() -> AnyView {
    view! {
        <Routes fallback=NotFound>
            <ConsolePages />
        </Routes>
    }
    .into_any()
}

#[component(transparent)]
fn AppPages() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=Outlet>
            <Route path=path!("") view=Home />
            <Route path=path!("/callback") view=Callback />
            <Route path=path!("/products") view=Products />
            <Route path=path!("/orders") view=Orders />
            <Route path=path!("/profile") view=Profile />
        </ParentRoute>
    }
    .into_inner()
}

/// The pages of `shared::bundle::INSPECTOR_PAGES`.
#[component(transparent)]
fn InspectorPages() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=Outlet>
            <Route path=path!("/token") view=Token />
            <Route path=path!("/refusals") view=Refusals />
            <Route path=path!("/debugger") view=Debugger />
            <Route path=path!("/timeline") view=Timeline />
            <Route path=path!("/labs") view=Labs />
        </ParentRoute>
    }
    .into_inner()
}

#[component(transparent)]
fn ConsolePages() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("/admin") view=AdminConsole>
            <Route path=path!("") view=Users />
            <Route path=path!("/users") view=Users />
            <Route path=path!("/clients") view=Clients />
            <Route path=path!("/scopes") view=Scopes />
            <Route path=path!("/tokens") view=Tokens />
            <Route path=path!("/registration") view=Registration />
            <Route path=path!("/servers") view=Servers />
            <Route path=path!("/issuers") view=Issuers />
            <Route path=path!("/keys") view=Keys />
            <Route path=path!("/events") view=Events />
        </ParentRoute>
    }
    .into_inner()
}
