//! `/admin/keys`: the signing keys' life cycle (next → current → retired → removed) and a
//! rotation. The server refuses (409) to promote a next key that resource servers may not have
//! fetched yet; for a leaked key the console then offers to force it.

use leptos::prelude::*;
use shared::admin::{KeysRotated, SigningKey};

use super::{AdminSection, AdminTable, Pending, loaded, maybe_time, unix_time};
use crate::admin_api::use_admin_api;
use crate::api::{self, ApiError};
use crate::components::ConfirmButton;

#[component]
pub fn Keys() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let keys = LocalResource::new(move || admin.keys());
    let pending = Pending::new();
    // The server's explanation of a refused rotation, while "force" is on offer.
    let refused = RwSignal::new(None::<String>);

    let rotate = move |force: bool| {
        refused.set(None);
        pending.run_with(admin.rotate_keys(force), move |result| match result {
            Ok(KeysRotated { changes, .. }) => {
                let what = if changes.is_empty() {
                    "nothing changed".to_owned()
                } else {
                    changes
                        .iter()
                        .map(|event| {
                            if event.detail.is_empty() {
                                event.kind.clone()
                            } else {
                                format!("{}: {}", event.kind, event.detail)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                notice.set(Some(format!("Rotated the signing keys: {what}.")));
                keys.refetch();
                Ok(())
            }
            Err(ApiError::Rejected {
                status: 409,
                body: Some(body),
            }) => {
                let why = body.error_description.unwrap_or(body.error);
                refused.set(Some(api::capitalized(&why)));
                Ok(())
            }
            Err(e) => Err(e),
        });
    };

    view! {
        <AdminSection
            id="admin-keys"
            title="Signing keys"
            intro=|| {
                view! {
                    <p class="muted">
                        "A key is published (next) for a whole JWKS cache lifetime before it signs "
                        "(current), and stays published (retired) until every token it signed has expired."
                    </p>
                }
            }
            notice
        >
            {loaded(
                Some("Loading keys…"),
                move || Suspend::new(async move {
                    keys.await.map(|keys| view! { <KeyTable keys /> })
                }),
            )}
            <div class="card rotate">
                <ConfirmButton
                    label="Rotate keys"
                    confirm="Confirm rotation"
                    question="The next key starts signing now, and the current one retires."
                    disabled=Signal::derive(move || pending.busy())
                    on_confirm=move |()| rotate(false)
                />
                {move || {
                    refused
                        .get()
                        .map(|why| {
                            view! {
                                <div class="flash error" role="alert">
                                    <p>{why}</p>
                                    <button
                                        type="button"
                                        class="button danger small"
                                        disabled=move || pending.busy()
                                        on:click=move |_| rotate(true)
                                    >
                                        "Rotate anyway (force)"
                                    </button>
                                </div>
                                <p class="muted small">
                                    "Forcing is for a leaked key: resource servers that cached the key set "
                                    "may reject tokens from the new key until they fetch it again."
                                </p>
                            }
                        })
                }}
                {pending.error_view()}
            </div>
        </AdminSection>
    }
}

#[component]
fn KeyTable(keys: Vec<SigningKey>) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="card empty">"No signing keys."</p> }.into_any();
    }
    let rows = keys
        .into_iter()
        .map(|key| {
            view! {
                <tr data-testid=format!("key-{}", key.kid) data-state=key.state.as_str()>
                    <td data-label="Key id">
                        <code class="nowrap">{key.kid.clone()}</code>
                    </td>
                    <td data-label="Algorithm">{key.alg.as_str()}</td>
                    <td data-label="State">
                        <span class=format!("badge key-{}", key.state)>{key.state.as_str()}</span>
                    </td>
                    <td data-label="Created">{unix_time(key.created_at)}</td>
                    <td data-label="Activated">{maybe_time(key.activated_at)}</td>
                    <td data-label="Retired">{maybe_time(key.retired_at)}</td>
                </tr>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <AdminTable
            label="Signing keys"
            columns=&["Key id", "Algorithm", "State", "Created", "Activated", "Retired"]
        >
            {rows}
        </AdminTable>
    }
    .into_any()
}
