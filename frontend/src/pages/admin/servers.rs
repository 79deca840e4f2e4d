//! `/admin/servers`: custom authorization servers (Okta's term), each with its issuer
//! `{ISSUER}/oauth2/{id}`, audiences, signing algorithm and access policies; created, deleted,
//! their audiences changed, their policies edited ([`super::policies`]), and any server's token endpoint previewed
//! ([`super::preview`]).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{AuthorizationServer, NewAuthorizationServer, ServerChange, SigningAlg};

use super::claims::ClaimEditor;
use super::policies::PolicyEditor;
use super::preview::Preview;
use super::server_scopes::ServerScopeEditor;
use super::{
    AdminSection, AdminTable, Pending, checks, confirm_action, loaded, row_error, row_form,
    toggle_button_of,
};
use crate::admin_api::use_admin_api;

#[component]
pub fn Servers() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let servers = LocalResource::new(move || admin.servers());
    // The list as shown, kept here once read: a server created or deleted changes it in place,
    // so the other rows (and an open policy editor's unsaved draft) stay as they are.
    let rows = RwSignal::new(Vec::<AuthorizationServer>::new());
    // Counts changes to the list, so that the preview offers the servers there are.
    let changes = RwSignal::new(0_u32);
    view! {
        <AdminSection
            id="admin-servers"
            title="Authorization servers"
            intro=|| {
                view! {
                    <p class="muted">
                        "Each server issues tokens for its APIs: its own issuer "
                        <code>"{ISSUER}/oauth2/{id}"</code>
                        ", audiences, signing keys and access policies. A token is for the "
                        "default audience unless the request names others with "
                        <code>"resource"</code>
                        " (RFC 8707). The root issuer (the app's login) is configured by the "
                        "server's flags and is not listed."
                    </p>
                }
            }
            notice
        >
            {loaded(
                Some("Loading authorization servers…"),
                move || Suspend::new(async move {
                    servers
                        .await
                        .map(|servers| {
                            rows.set(servers);
                            view! { <ServerTable rows changes notice /> }
                        })
                }),
            )}
            <NewServerForm rows changes notice />
        </AdminSection>
        <Preview changes />
    }
}

const SERVER_COLUMNS: &[&str] = &["Id", "Name", "Audiences", "Signing", "Issuer", "Actions"];

#[component]
fn ServerTable(
    rows: RwSignal<Vec<AuthorizationServer>>,
    changes: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let empty = move || rows.with(Vec::is_empty);
    view! {
        <Show
            when=move || !empty()
            fallback=|| view! { <p class="card empty">"No custom authorization servers."</p> }
        >
            <AdminTable label="Authorization servers" columns=SERVER_COLUMNS>
                <For
                    each=move || rows.get()
                    // A row is drawn again when its audiences change (saved in its own editor), or
                    // its pushed-request requirement.
                    key=|server| {
                        (
                            server.id.clone(),
                            server.audience.clone(),
                            server.extra_audiences.clone(),
                            server.require_pushed_authorization_requests,
                        )
                    }
                    let(server)
                >
                    <ServerRow server rows changes notice />
                </For>
            </AdminTable>
        </Show>
    }
}

#[component]
fn ServerRow(
    server: AuthorizationServer,
    rows: RwSignal<Vec<AuthorizationServer>>,
    changes: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let editing = RwSignal::new(false);
    let audiences_open = RwSignal::new(false);
    let audiences_editor = {
        let server = server.clone();
        row_form(audiences_open, SERVER_COLUMNS, move || {
            view! { <AudienceEditor server=server.clone() rows open=audiences_open notice /> }
        })
    };
    let pushed_only = server.require_pushed_authorization_requests;
    let switch_pushed = {
        let label = if pushed_only {
            "Allow plain requests"
        } else {
            "Require PAR"
        };
        let change = ServerChange {
            name: server.name.clone(),
            description: server.description.clone(),
            audience: server.audience.clone(),
            extra_audiences: server.extra_audiences.clone(),
            require_pushed_authorization_requests: Some(!pushed_only),
        };
        let id = server.id.clone();
        view! {
            <button
                type="button"
                class="button ghost small"
                aria-label=format!("{label} at {id}")
                disabled=move || pending.busy()
                on:click=move |_| {
                    pending.run(admin.update_server(&id, change.clone()), move |changed| {
                        notice.set(Some(if changed.require_pushed_authorization_requests {
                            format!(
                                "The authorization server {} now takes pushed authorization \
                                 requests only (RFC 9126): clients push to {}/v1/par first.",
                                changed.id, changed.issuer
                            )
                        } else {
                            format!(
                                "The authorization server {} takes authorization requests \
                                 through the browser again.",
                                changed.id
                            )
                        }));
                        rows.update(|rows| {
                            if let Some(row) = rows.iter_mut().find(|s| s.id == changed.id) {
                                *row = changed;
                            }
                        });
                    });
                }
            >
                {label}
            </button>
        }
    };
    let AuthorizationServer {
        id,
        name,
        audience,
        extra_audiences,
        signing_alg,
        issuer,
        metadata_url,
        ..
    } = server;
    let extra = extra_audiences
        .into_iter()
        .map(|a| view! { <br /> <code>{a}</code> })
        .collect::<Vec<_>>();
    let delete = {
        let id = id.clone();
        let question = format!(
            "Delete the authorization server {id}? Its keys and policies go with it, and every \
             token it issued is refused from then on."
        );
        confirm_action(pending, "Delete", "Confirm delete", question, move || {
            let gone = id.clone();
            pending.run(admin.delete_server(&id), move |()| {
                notice.set(Some(format!("Deleted the authorization server {gone}.")));
                rows.update(|rows| rows.retain(|s| s.id != gone));
                changes.update(|n| *n += 1);
            });
        })
    };
    let claims_open = RwSignal::new(false);
    let scopes_open = RwSignal::new(false);
    let scopes_editor = {
        let id = id.clone();
        row_form(scopes_open, SERVER_COLUMNS, move || {
            view! { <ServerScopeEditor server=id.clone() /> }
        })
    };
    let editor = {
        let id = id.clone();
        row_form(editing, SERVER_COLUMNS, move || {
            view! { <PolicyEditor server=id.clone() /> }
        })
    };
    let claims_editor = {
        let id = id.clone();
        row_form(claims_open, SERVER_COLUMNS, move || {
            view! { <ClaimEditor server=id.clone() /> }
        })
    };
    view! {
        <tr data-testid=format!("server-{id}")>
            <td data-label="Id">
                <code>{id.clone()}</code>
            </td>
            <td data-label="Name">{name}</td>
            <td data-label="Audiences">
                <code title="The default audience">{audience}</code>
                {extra}
            </td>
            <td data-label="Signing">{signing_alg.as_str()}</td>
            <td data-label="Issuer">
                <a href=metadata_url target="_blank" rel="noopener">
                    <code class="nowrap">{issuer}</code>
                </a>
                {pushed_only
                    .then(|| view! { <br /> <small class="muted">"Pushed requests only (PAR)"</small> })}
            </td>
            <td class="actions">
                {toggle_button_of(audiences_open, "Audiences", Some(&id))}
                {toggle_button_of(scopes_open, "Scopes", Some(&id))}
                {toggle_button_of(editing, "Access policies", Some(&id))}
                {toggle_button_of(claims_open, "Custom claims", Some(&id))}
                {switch_pushed}
                {delete}
            </td>
        </tr>
        {audiences_editor}
        {scopes_editor}
        {editor}
        {claims_editor}
        {row_error(pending, SERVER_COLUMNS)}
    }
}

#[component]
fn NewServerForm(
    rows: RwSignal<Vec<AuthorizationServer>>,
    changes: RwSignal<u32>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let extra = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let alg = RwSignal::new(SigningAlg::Rs256.as_str().to_owned());
    let pushed_only = RwSignal::new(false);
    let checked = move || -> Result<NewAuthorizationServer, String> {
        let description = description.get_untracked();
        let audience = checks::audience(&audience.get_untracked())?;
        Ok(NewAuthorizationServer {
            extra_audiences: checks::extra_audiences(&extra.get_untracked(), &audience)?,
            audience,
            id: checks::server_id(&id.get_untracked())?,
            name: checks::name(&name.get_untracked(), "A name")?,
            description: if description.trim().is_empty() {
                String::new()
            } else {
                checks::description(&description)?
            },
            signing_alg: alg
                .get_untracked()
                .parse()
                .map_err(|e: shared::UnknownName| e.to_string())?,
            require_pushed_authorization_requests: pushed_only.get_untracked(),
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let server = match checked() {
            Ok(server) => server,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_server(server), move |server| {
            notice.set(Some(format!(
                "Created the authorization server {} (issuer {}).",
                server.id, server.issuer
            )));
            for field in [id, name, audience, extra, description] {
                field.set(String::new());
            }
            // Listed by id, as the admin API lists them.
            rows.update(|rows| {
                let at = rows.partition_point(|s| s.id < server.id);
                rows.insert(at, server);
            });
            changes.update(|n| *n += 1);
        });
    };
    // `selected` on the option too: a select's value set before its options exist is lost.
    let algs = SigningAlg::ALL
        .iter()
        .map(|option| {
            let value = option.as_str();
            view! {
                <option value=value selected=move || alg.with(|alg| alg == value)>
                    {value}
                </option>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <form class="card admin-form" aria-label="New authorization server" novalidate on:submit=submit>
            <h3>"New authorization server"</h3>
            <p class="muted small">
                "For a second API: give it an audience of its own (such as "
                <code>"api://orders"</code>
                "), so that its policies are the only way to its tokens. It starts with the "
                "default policy: every client, every grant."
            </p>
            <div class="form-grid">
                <label class="field">
                    <span>"Id"</span>
                    <input type="text" name="id" autocomplete="off" placeholder="orders" bind:value=id />
                </label>
                <label class="field">
                    <span>"Name"</span>
                    <input type="text" name="name" autocomplete="off" bind:value=name />
                </label>
                <label class="field">
                    <span>"Audience"</span>
                    <input
                        type="text"
                        name="audience"
                        autocomplete="off"
                        placeholder="api://orders"
                        bind:value=audience
                    />
                </label>
                <label class="field">
                    <span>"Extra audiences (optional)"</span>
                    <input
                        type="text"
                        name="extra_audiences"
                        autocomplete="off"
                        placeholder="api://billing api://reports"
                        bind:value=extra
                    />
                </label>
                <label class="field">
                    <span>"Signing algorithm"</span>
                    <select name="signing_alg" bind:value=alg>
                        {algs}
                    </select>
                </label>
                <label class="field wide">
                    <span>"Description (optional)"</span>
                    <input type="text" name="description" autocomplete="off" bind:value=description />
                </label>
                <label class="check wide">
                    <input
                        type="checkbox"
                        name="require_pushed_authorization_requests"
                        bind:checked=pushed_only
                    />
                    <span>
                        "Pushed requests only (PAR, RFC 9126): every client pushes its "
                        "authorization requests to " <code>"/v1/par"</code> " first"
                    </span>
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Create server"
                </button>
            </div>
        </form>
    }
}

/// Changes a server's default and extra audiences (its name and description kept). A client
/// asks for an extra one with `resource`; a token already issued keeps its audience.
#[component]
fn AudienceEditor(
    server: AuthorizationServer,
    rows: RwSignal<Vec<AuthorizationServer>>,
    open: RwSignal<bool>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let audience = RwSignal::new(server.audience.clone());
    let extra = RwSignal::new(server.extra_audiences.join(" "));
    let id = server.id.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let checked = checks::audience(&audience.get_untracked()).and_then(|audience| {
            Ok(ServerChange {
                name: server.name.clone(),
                description: server.description.clone(),
                extra_audiences: checks::extra_audiences(&extra.get_untracked(), &audience)?,
                audience,
                require_pushed_authorization_requests: None,
            })
        });
        let change = match checked {
            Ok(change) => change,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.update_server(&server.id, change), move |changed| {
            let extra = if changed.extra_audiences.is_empty() {
                String::new()
            } else {
                format!(" (by default) and {}", changed.extra_audiences.join(", "))
            };
            notice.set(Some(format!(
                "The authorization server {} now issues tokens for {}{extra}.",
                changed.id, changed.audience
            )));
            // The row is drawn again with its new audiences (closing the editors open under it).
            open.set(false);
            rows.update(|rows| {
                if let Some(row) = rows.iter_mut().find(|s| s.id == changed.id) {
                    *row = changed;
                }
            });
        });
    };
    view! {
        <form
            class="inline-form editor"
            aria-label=format!("Audiences of {id}")
            novalidate
            on:submit=submit
        >
            <div class="form-grid">
                <label class="field">
                    <span>"Default audience"</span>
                    <input type="text" name="audience" autocomplete="off" bind:value=audience />
                </label>
                <label class="field wide">
                    <span>"Extra audiences"</span>
                    <input
                        type="text"
                        name="extra_audiences"
                        autocomplete="off"
                        placeholder="empty: the default audience only"
                        bind:value=extra
                    />
                    <small class="muted">
                        "Chosen with " <code>"resource"</code>
                        " at the token endpoint; a policy rule may narrow which a client gets."
                    </small>
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button small" disabled=move || pending.busy()>
                    "Save audiences"
                </button>
            </div>
        </form>
    }
}
