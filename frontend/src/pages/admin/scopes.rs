//! `/admin/scopes`: what clients may ask for, each with the plain-words description the consent
//! screen shows. Custom scopes (source document 003's "AccessAll") can be created, described and
//! deleted; builtin ones can only be described.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{MAX_DESCRIPTION_LEN, NewScope, Scope, ScopeUpdate};

use super::{
    AdminSection, AdminTable, Pending, announce, checks, confirm_action, loaded, row_error,
    row_form, toggle_button,
};
use crate::admin_api::use_admin_api;

#[component]
pub fn Scopes() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let scopes = LocalResource::new(move || admin.scopes());
    let reload = Callback::new(move |()| scopes.refetch());
    view! {
        <AdminSection id="admin-scopes" title="Scopes" notice>
            {loaded(
                Some("Loading scopes…"),
                move || Suspend::new(async move {
                    scopes.await.map(|scopes| view! { <ScopeTable scopes reload notice /> })
                }),
            )}
            <NewScopeForm reload notice />
        </AdminSection>
    }
}

#[component]
fn ScopeTable(
    scopes: Vec<Scope>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let rows = scopes
        .into_iter()
        .map(|scope| view! { <ScopeRow scope reload notice /> })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="Scopes" columns=SCOPE_COLUMNS>
            {rows}
        </AdminTable>
    }
}

const SCOPE_COLUMNS: &[&str] = &[
    "Name",
    "Description",
    "Consent",
    "Kind (offered by)",
    "Clients",
    "Actions",
];

#[component]
fn ScopeRow(scope: Scope, reload: Callback<()>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let editing = RwSignal::new(false);
    let Scope {
        name,
        description,
        consent_required,
        builtin,
        clients,
        root,
        servers,
    } = scope;
    let offered_by = {
        let mut at: Vec<String> = servers;
        if root {
            at.insert(0, "root issuer".into());
        }
        at.join(", ")
    };

    let used_by = if clients.is_empty() {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        let items = clients
            .iter()
            .map(|client| view! { <li><code>{client.clone()}</code></li> })
            .collect::<Vec<_>>();
        view! { <ul class="plain">{items}</ul> }.into_any()
    };
    let delete = (!builtin && root).then(|| {
        let name = name.clone();
        let question = if clients.is_empty() {
            format!("Delete the scope {name}?")
        } else {
            format!(
                "Delete the scope {name}? The server refuses while a client may still ask for it."
            )
        };
        confirm_action(pending, "Delete", "Confirm delete", question, move || {
            let gone = name.clone();
            pending.run(admin.delete_scope(&name), move |()| {
                announce(notice, reload, format!("Deleted the scope {gone}."));
            });
        })
    });
    let editor = {
        let (name, description) = (name.clone(), description.clone());
        row_form(editing, SCOPE_COLUMNS, move || {
            view! {
                <ScopeEditor
                    name=name.clone()
                    description=description.clone()
                    consent_required
                    reload
                    notice
                    on_close=move |()| editing.set(false)
                />
            }
        })
    };

    view! {
        <tr data-testid=format!("scope-{name}")>
            <td data-label="Name">
                <code>{name.clone()}</code>
            </td>
            <td data-label="Description">{description}</td>
            <td data-label="Consent">{if consent_required { "required" } else { "not asked" }}</td>
            <td data-label="Kind (offered by)">
                {if builtin { "builtin" } else { "custom" }}
                <br />
                <span class="muted small">{offered_by}</span>
            </td>
            <td data-label="Clients">{used_by}</td>
            <td class="actions">
                // A scope only custom servers offer is changed at each of them (Servers).
                {root.then(|| toggle_button(editing, "Edit"))}
                {delete}
            </td>
        </tr>
        {editor}
        {row_error(pending, SCOPE_COLUMNS)}
    }
}

#[component]
fn ScopeEditor(
    name: String,
    description: String,
    consent_required: bool,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let text = RwSignal::new(description.clone());
    let consent = RwSignal::new(consent_required);
    let label = format!("Edit {name}");
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let new_description = match checks::description(&text.get_untracked()) {
            Ok(new_description) => new_description,
            Err(e) => return pending.fail(e),
        };
        let new_consent = consent.get_untracked();
        let update = ScopeUpdate {
            description: (new_description != description).then_some(new_description),
            consent_required: (new_consent != consent_required).then_some(new_consent),
        };
        pending.run(admin.update_scope(&name, update), move |scope| {
            notice.set(Some(format!("Saved the scope {}.", scope.name)));
            on_close.try_run(());
            reload.try_run(());
        });
    };
    view! {
        <form class="inline-form editor" aria-label=label novalidate on:submit=submit>
            <label class="field wide">
                <span>"Description"</span>
                <input type="text" name="description" bind:value=text />
            </label>
            <label class="check">
                <input type="checkbox" name="consent_required" bind:checked=consent />
                <span>"Third-party apps need the user's consent"</span>
            </label>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary small" disabled=move || pending.busy()>
                    "Save changes"
                </button>
                <button type="button" class="button ghost small" on:click=move |_| on_close.run(())>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

#[component]
fn NewScopeForm(reload: Callback<()>, notice: RwSignal<Option<String>>) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let consent = RwSignal::new(true);
    let checked = move || -> Result<NewScope, String> {
        Ok(NewScope {
            name: checks::scope_name(&name.get_untracked())?,
            description: checks::description(&description.get_untracked())?,
            consent_required: consent.get_untracked(),
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let scope = match checked() {
            Ok(scope) => scope,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_scope(scope), move |scope| {
            notice.set(Some(format!("Created the scope {}.", scope.name)));
            name.set(String::new());
            description.set(String::new());
            consent.set(true);
            reload.try_run(());
        });
    };
    view! {
        <form class="card admin-form" aria-label="New scope" novalidate on:submit=submit>
            <h3>"New scope"</h3>
            <p class="muted small">
                "A scope is one word (letters, digits and most punctuation, no spaces), such as "
                <code>"AccessAll"</code> " or " <code>"reports:read"</code>
                ". Allow it to a client in the Clients section."
            </p>
            <div class="form-grid">
                <label class="field">
                    <span>"Scope name"</span>
                    <input type="text" name="name" autocomplete="off" bind:value=name />
                </label>
                <label class="field wide">
                    <span>"Description"</span>
                    <input
                        type="text"
                        name="description"
                        autocomplete="off"
                        placeholder="What it lets an app do, in plain words"
                        bind:value=description
                    />
                    <small class="muted">
                        {format!("Shown on the consent screen; at most {MAX_DESCRIPTION_LEN} characters.")}
                    </small>
                </label>
            </div>
            <label class="check">
                <input type="checkbox" name="consent_required" bind:checked=consent />
                <span>"Third-party apps need the user's consent"</span>
            </label>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Create scope"
                </button>
            </div>
        </form>
    }
}
