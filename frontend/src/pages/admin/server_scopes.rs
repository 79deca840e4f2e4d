//! A custom server's own scopes (Okta's custom scopes): what clients may ask for there beside
//! OpenID Connect's, each with what its consent screen says, edited as a draft (add, delete)
//! and saved whole (`PUT /admin/servers/{id}/scopes`, checked as a whole, 422 naming the scope
//! otherwise, e.g. one a rule still names).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{MAX_DESCRIPTION_LEN, ServerScope, ServerScopes};
use shared::scope::OPENID_SCOPES;

use super::{DraftList, Pending, checks, loaded};
use crate::admin_api::use_admin_api;

#[component]
pub fn ServerScopeEditor(server: String) -> impl IntoView {
    let admin = use_admin_api();
    let loaded_server = server.clone();
    let scopes = LocalResource::new(move || admin.server_scopes(&loaded_server));
    let testid = format!("scopes-{server}");
    view! {
        <div class="claim-editor" data-testid=testid>
            {loaded(
                Some("Loading scopes…"),
                move || {
                    let server = server.clone();
                    Suspend::new(async move {
                        scopes.await.map(|saved| view! { <Draft server initial=saved.scopes /> })
                    })
                },
            )}
        </div>
    }
}

#[component]
fn Draft(server: String, initial: Vec<ServerScope>) -> impl IntoView {
    let admin = use_admin_api();
    let edits = DraftList::new(initial);
    let draft = edits.items;
    let save = {
        let server = server.clone();
        move || {
            let (to, saved_for) = (server.clone(), server.clone());
            edits.save(
                move |scopes| async move {
                    let body = ServerScopes { scopes };
                    admin
                        .save_server_scopes(&to, body)
                        .await
                        .map(|saved| saved.scopes)
                },
                move |count| {
                    format!("Saved {count} scopes of {saved_for}: clients may ask for them there.")
                },
            );
        }
    };
    let rows = move || {
        draft.with(|scopes| {
            scopes
                .iter()
                .enumerate()
                .map(|(index, scope)| {
                    let name = scope.name.clone();
                    let consent = if scope.consent_required {
                        "required"
                    } else {
                        "not asked"
                    };
                    view! {
                        <tr data-testid=format!("server-scope-{name}")>
                            <td data-label="Scope"><code>{name.clone()}</code></td>
                            <td data-label="Description">{scope.description.clone()}</td>
                            <td data-label="Consent">{consent}</td>
                            <td class="actions">
                                <button
                                    type="button"
                                    class="button ghost small"
                                    aria-label=format!("Delete scope {name}")
                                    on:click=move |_| {
                                        edits.edit(|scopes| {
                                            scopes.remove(index);
                                        });
                                    }
                                >
                                    "Delete"
                                </button>
                            </td>
                        </tr>
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <h4>"Scopes of " <code>{server}</code></h4>
        <p class="muted small">
            "What clients may ask for at this server, within the scopes each client is allowed "
            "(Clients). OpenID Connect's (" {OPENID_SCOPES.join(", ")} ") are every server's. "
            "A scope a rule or a claim of the server names cannot be deleted."
        </p>
        <table class="admin-table" aria-label="Server scopes">
            <thead>
                <tr>
                    <th scope="col">"Scope"</th>
                    <th scope="col">"Description"</th>
                    <th scope="col">"Consent"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <AddScope edits />
        {edits.footer("Save scopes", save)}
    }
}

#[component]
fn AddScope(edits: DraftList<ServerScope>) -> impl IntoView {
    let draft = edits.items;
    let pending = Pending::new();
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let consent = RwSignal::new(true);
    let checked = move || -> Result<ServerScope, String> {
        let scope = ServerScope {
            name: checks::scope_name(&name.get_untracked())?,
            description: checks::description(&description.get_untracked())?,
            consent_required: consent.get_untracked(),
        };
        if OPENID_SCOPES.contains(&scope.name.as_str()) {
            return Err(format!(
                "{} is OpenID Connect's: every server offers it already.",
                scope.name
            ));
        }
        if draft.with_untracked(|scopes| scopes.iter().any(|s| s.name == scope.name)) {
            return Err(format!("There is a scope named {} already.", scope.name));
        }
        Ok(scope)
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match checked() {
            Ok(scope) => {
                pending.clear();
                edits.edit(|scopes| scopes.push(scope));
                name.set(String::new());
                description.set(String::new());
                consent.set(true);
            }
            Err(e) => pending.fail(e),
        }
    };
    view! {
        <form class="inline-form editor" aria-label="New server scope" novalidate on:submit=submit>
            <div class="form-grid">
                <label class="field">
                    <span>"Scope name"</span>
                    <input type="text" name="name" autocomplete="off" placeholder="reports:read" bind:value=name />
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
                        {format!("Shown on this server's consent screen; at most {MAX_DESCRIPTION_LEN} characters.")}
                    </small>
                </label>
            </div>
            <label class="check">
                <input type="checkbox" name="consent_required" bind:checked=consent />
                <span>"Third-party apps need the user's consent"</span>
            </label>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button small">"Add scope"</button>
            </div>
        </form>
    }
}
