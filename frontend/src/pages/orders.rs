//! `/orders`: the user's own orders (`orders:read`).

use leptos::prelude::*;
use shared::api::Order;

use crate::api::Api;
use crate::components::{FetchedFrom, Loading, PageLink, RequireLogin, api_errors};
use crate::format;

#[component]
pub fn Orders() -> impl IntoView {
    view! {
        <section class="page">
            <header class="page-head">
                <h1>"Your orders"</h1>
                <p class="muted">
                    <FetchedFrom path="/api/orders" />
                    ": the API returns only the orders of the token's subject."
                </p>
            </header>
            <RequireLogin what="your orders">
                <OrderTable />
            </RequireLogin>
        </section>
    }
}

#[component]
fn OrderTable() -> impl IntoView {
    let api = expect_context::<Api>();
    let orders = LocalResource::new(move || {
        let api = api.clone();
        async move { api.orders().await }
    });
    view! {
        <Transition fallback=|| view! { <Loading text="Loading your orders…" /> }>
            <ErrorBoundary fallback=api_errors>
                {move || Suspend::new(async move {
                    orders.await.map(|orders| {
                        if orders.is_empty() {
                            view! {
                                <div class="card empty">
                                    <p>"You have not ordered anything yet."</p>
                                    <PageLink href="/products">"Browse the products"</PageLink>
                                </div>
                            }
                                .into_any()
                        } else {
                            view! { <Table orders /> }.into_any()
                        }
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Table(orders: Vec<Order>) -> impl IntoView {
    let total: i64 = orders.iter().map(|order| order.total_cents).sum();
    let rows = orders
        .into_iter()
        .map(|order| {
            view! {
                <tr class="order">
                    <td data-label="Product">{order.product_name}</td>
                    <td data-label="Quantity" class="num">{order.quantity}</td>
                    <td data-label="Unit price" class="num">{format::price(order.unit_price_cents)}</td>
                    <td data-label="Total" class="num">{format::price(order.total_cents)}</td>
                    <td data-label="Ordered">
                        <time datetime=order.created_at.clone()>{format::local_time(&order.created_at)}</time>
                    </td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <div class="card table-card">
            <table class="orders">
                <thead>
                    <tr>
                        <th scope="col">"Product"</th>
                        <th scope="col" class="num">"Quantity"</th>
                        <th scope="col" class="num">"Unit price"</th>
                        <th scope="col" class="num">"Total"</th>
                        <th scope="col">"Ordered"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
                <tfoot>
                    <tr>
                        <th scope="row" colspan="3">"All orders"</th>
                        <td class="num">{format::price(total)}</td>
                        <td></td>
                    </tr>
                </tfoot>
            </table>
        </div>
    }
}
