use leptos::prelude::*;

use crate::components::PageLink;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address."</p>
            <p>
                <PageLink href="/">"Back to the home page"</PageLink>
            </p>
        </section>
    }
}
