//! `/products`: the catalogue (`products:read`), with ordering (`orders:write`).

use leptos::prelude::*;
use shared::api::{MAX_QUANTITY, MIN_QUANTITY, NewOrder, Product};
use shared::config::AppMode;

use crate::api::{Api, ApiError};
use crate::components::{FetchedFrom, Loading, PageLink, RequireLogin, api_errors};
use crate::format;
use crate::session::use_session;

#[component]
pub fn Products() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Products"</h1>
                <p class="muted">
                    <FetchedFrom path="/api/products" />
                    {(use_session().mode() == AppMode::Rest)
                        .then_some(" with your access token as a Bearer token")}
                    "."
                </p>
            </header>
            <RequireLogin what="the products">
                <ProductList />
            </RequireLogin>
        </section>
    }
}

#[component]
fn ProductList() -> impl IntoView {
    let api = expect_context::<Api>();
    let products = LocalResource::new(move || {
        let api = api.clone();
        async move { api.products().await }
    });
    view! {
        <Transition fallback=|| view! { <Loading text="Loading products…" /> }>
            <ErrorBoundary fallback=api_errors>
                {move || Suspend::new(async move {
                    products
                        .await
                        .map(|products| {
                            if products.is_empty() {
                                view! { <p class="empty">"The shop has no products yet."</p> }
                                    .into_any()
                            } else {
                                view! {
                                    <div class="grid">
                                        {products
                                            .into_iter()
                                            .map(|product| view! { <ProductCard product /> })
                                            .collect::<Vec<_>>()}
                                    </div>
                                }
                                    .into_any()
                            }
                        })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn ProductCard(product: Product) -> impl IntoView {
    let api = expect_context::<Api>();
    let quantity = RwSignal::new(MIN_QUANTITY);
    let name = product.name.clone();
    let order = Action::new_local(move |order: &NewOrder| {
        let api = api.clone();
        let order = order.clone();
        let name = name.clone();
        async move {
            api.place_order(&order)
                .await
                .map(|()| format!("Ordered {} × {name}", order.quantity))
        }
    });
    let product_id = product.id;
    let place = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        order.dispatch(NewOrder {
            product_id,
            quantity: quantity.get_untracked(),
        });
    };
    let outcome = move || {
        order.value().get().map(|result| match result {
            Ok(done) => view! {
                <p class="confirmation" role="status">
                    {done} " — " <PageLink href="/orders">"see your orders"</PageLink>
                </p>
            }
            .into_any(),
            Err(e) => {
                view! { <p class="flash error" role="alert">{order_error(&e)}</p> }.into_any()
            }
        })
    };

    view! {
        <article class="card product">
            <div class="product-body">
                <h2 class="product-name">{product.name}</h2>
                <p class="product-description">{product.description}</p>
            </div>
            <form class="order-form" on:submit=place>
                <span class="price">{format::price(product.price_cents)}</span>
                <label class="quantity">
                    <span class="visually-hidden">"Quantity"</span>
                    <input
                        type="number"
                        name="quantity"
                        min=MIN_QUANTITY
                        max=MAX_QUANTITY
                        prop:value=move || quantity.get().to_string()
                        on:input:target=move |ev| {
                            if let Ok(n) = ev.target().value().parse::<i64>() {
                                quantity.set(n.clamp(MIN_QUANTITY, MAX_QUANTITY));
                            }
                        }
                    />
                </label>
                <button class="button primary" type="submit" disabled=move || order.pending().get()>
                    "Order"
                </button>
            </form>
            {outcome}
        </article>
    }
}

/// An order that failed: the API's own words where it gave some.
fn order_error(error: &ApiError) -> String {
    match error {
        ApiError::InsufficientScope { .. } | ApiError::Unreachable { .. } => error.to_string(),
        other => format!("The order was not placed: {other}"),
    }
}
