//! `/profile`: who the API says the token speaks for (`GET /api/me`).

use leptos::prelude::*;
use shared::api::Me;

use crate::api::Api;
use crate::components::{FetchedFrom, Loading, RequireLogin, api_errors};

#[component]
pub fn Profile() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Profile"</h1>
                <p class="muted">
                    <FetchedFrom path="/api/me" />
                    ": the API looks up the user named by the token's "<code>"sub"</code>" claim."
                </p>
            </header>
            <RequireLogin what="your profile">
                <ProfileCard />
            </RequireLogin>
        </section>
    }
}

#[component]
fn ProfileCard() -> impl IntoView {
    let api = expect_context::<Api>();
    let me = LocalResource::new(move || {
        let api = api.clone();
        async move { api.me().await }
    });
    view! {
        <Transition fallback=|| view! { <Loading text="Loading your profile…" /> }>
            <ErrorBoundary fallback=api_errors>
                {move || Suspend::new(async move { me.await.map(|me| view! { <Details me /> }) })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Details(me: Me) -> impl IntoView {
    let initial = me
        .name
        .chars()
        .next()
        .unwrap_or('?')
        .to_uppercase()
        .to_string();
    view! {
        <div class="card profile">
            <div class="avatar" aria-hidden="true">{initial}</div>
            <div>
                <h2>{me.name}</h2>
                <dl class="facts">
                    <dt>"Username"</dt>
                    <dd>{me.username}</dd>
                    <dt>"Email"</dt>
                    <dd>
                        <a href=format!("mailto:{}", me.email)>{me.email.clone()}</a>
                    </dd>
                    <dt>"User id"</dt>
                    <dd>
                        <code>{me.user_id}</code>
                    </dd>
                </dl>
            </div>
        </div>
    }
}
