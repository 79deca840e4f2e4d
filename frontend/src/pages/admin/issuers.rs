//! `/admin/issuers`: trusted external issuers, the OpenID providers whose access tokens the API
//! accepts (Okta, Keycloak, Entra ID, another deployment of this server), each with what the
//! answering instance knows of it: its keys and when they were read, the last error reading
//! them, its refused tokens. Added (the server reads the provider's metadata and keys first),
//! read again, removed.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{NewTrustedIssuer, ScopeClaim, TrustedIssuer};

use super::{
    AdminSection, AdminTable, Pending, checks, confirm_action, loaded, maybe_time, row_error,
};
use crate::admin_api::use_admin_api;

#[component]
pub fn Issuers() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let issuers = LocalResource::new(move || admin.issuers());
    let rows = RwSignal::new(Vec::<TrustedIssuer>::new());
    view! {
        <AdminSection
            id="admin-issuers"
            title="Trusted issuers"
            intro=|| {
                view! {
                    <p class="muted">
                        "OpenID providers whose access tokens the API accepts as "
                        <code>"Authorization: Bearer"</code>
                        ", beside this server's own: a token is matched by its "
                        <code>"iss"</code>
                        ", and only that issuer's published keys verify it. Its audience, "
                        "algorithms and required claims are checked for every token. What each "
                        "instance knows (its keys, its refusals) is its own."
                    </p>
                }
            }
            notice
        >
            {loaded(
                Some("Loading trusted issuers…"),
                move || Suspend::new(async move {
                    issuers
                        .await
                        .map(|issuers| {
                            rows.set(issuers);
                            view! { <IssuerTable rows notice /> }
                        })
                }),
            )}
            <NewIssuerForm rows notice />
        </AdminSection>
    }
}

const ISSUER_COLUMNS: &[&str] = &[
    "Id", "Issuer", "Audience", "Accepts", "Keys", "Refused", "Actions",
];

#[component]
fn IssuerTable(
    rows: RwSignal<Vec<TrustedIssuer>>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let empty = move || rows.with(Vec::is_empty);
    view! {
        <Show
            when=move || !empty()
            fallback=|| {
                view! {
                    <p class="card empty">
                        "No trusted issuers: the API accepts this server's own tokens only."
                    </p>
                }
            }
        >
            <AdminTable label="Trusted issuers" columns=ISSUER_COLUMNS>
                <For
                    each=move || rows.get()
                    key=|issuer| {
                        // A row read again is drawn again.
                        let status = &issuer.status;
                        (issuer.id.clone(), status.keys_fetched_at, status.last_error.clone())
                    }
                    let(issuer)
                >
                    <IssuerRow issuer rows notice />
                </For>
            </AdminTable>
        </Show>
    }
}

#[component]
fn IssuerRow(
    issuer: TrustedIssuer,
    rows: RwSignal<Vec<TrustedIssuer>>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let TrustedIssuer {
        id,
        name,
        issuer: url,
        audience,
        algorithms,
        scope_claim,
        required_claims,
        status,
        ..
    } = issuer;
    let remove = {
        let id = id.clone();
        let question = format!(
            "Stop trusting {name} ({id})? Its tokens are refused from the next request, at every \
             instance."
        );
        confirm_action(pending, "Remove", "Confirm remove", question, move || {
            let gone = id.clone();
            pending.run(admin.remove_issuer(&id), move |()| {
                notice.set(Some(format!("No longer trusting {gone}.")));
                rows.update(|rows| rows.retain(|i| i.id != gone));
            });
        })
    };
    let reread = {
        let id = id.clone();
        move |_| {
            pending.run(admin.refresh_issuer(&id), move |read: TrustedIssuer| {
                notice.set(Some(match &read.status.last_error {
                    None => format!(
                        "Read the keys of {} again: {} key(s).",
                        read.id,
                        read.status.kids.len()
                    ),
                    Some(error) => format!("Reading the keys of {} failed: {error}", read.id),
                }));
                rows.update(|rows| {
                    if let Some(row) = rows.iter_mut().find(|r| r.id == read.id) {
                        *row = read;
                    }
                });
            });
        }
    };
    let required = required_claims
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    let kids = status.kids.join(", ");
    let key_count = status.kids.len();
    view! {
        <tr data-testid=format!("issuer-{id}")>
            <td data-label="Id">
                <code>{id.clone()}</code>
                <div class="muted small">{name}</div>
            </td>
            <td data-label="Issuer">
                <code class="nowrap">{url}</code>
            </td>
            <td data-label="Audience">
                <code>{audience}</code>
            </td>
            <td data-label="Accepts">
                {algorithms.join(", ")}
                <div class="muted small">"scopes in " <code>{scope_claim.as_str()}</code></div>
                {(!required.is_empty())
                    .then(|| view! { <div class="muted small">"requires " {required}</div> })}
            </td>
            <td data-label="Keys">
                <span title=kids>{format!("{key_count} key(s)")}</span>
                <div class="muted small">"read " {maybe_time(status.keys_fetched_at)}</div>
                {status
                    .last_error
                    .map(|error| view! { <div class="error small" role="status">{error}</div> })}
            </td>
            <td data-label="Refused">
                {status.refusals}
                {status
                    .last_refusal
                    .map(|why| {
                        view! {
                            <div class="muted small">
                                {maybe_time(status.last_refusal_at)} ": " {why}
                            </div>
                        }
                    })}
            </td>
            <td class="actions">
                <button
                    type="button"
                    class="button small"
                    aria-label=format!("Read the keys of {id} again")
                    disabled=move || pending.busy()
                    on:click=reread
                >
                    "Read keys again"
                </button>
                {remove}
            </td>
        </tr>
        {row_error(pending, ISSUER_COLUMNS)}
    }
}

#[component]
fn NewIssuerForm(
    rows: RwSignal<Vec<TrustedIssuer>>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let id = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let issuer = RwSignal::new(String::new());
    let audience = RwSignal::new(String::new());
    let algorithms = RwSignal::new("RS256".to_owned());
    let scope_claim = RwSignal::new(ScopeClaim::Scope.as_str().to_owned());
    let required = RwSignal::new(String::new());
    let checked = move || -> Result<NewTrustedIssuer, String> {
        Ok(NewTrustedIssuer {
            id: checks::server_id(&id.get_untracked())?,
            name: checks::name(&name.get_untracked(), "A name")?,
            issuer: checks::issuer_url(&issuer.get_untracked())?,
            audience: checks::audience(&audience.get_untracked())?,
            algorithms: checks::issuer_algorithms(&algorithms.get_untracked())?,
            scope_claim: scope_claim
                .get_untracked()
                .parse()
                .map_err(|e: shared::UnknownName| e.to_string())?,
            required_claims: checks::required_claims(&required.get_untracked())?,
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let new = match checked() {
            Ok(new) => new,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.trust_issuer(new), move |added| {
            notice.set(Some(format!(
                "Trusting {} ({}): {} key(s) read from {}.",
                added.id,
                added.issuer,
                added.status.kids.len(),
                added.status.jwks_uri.clone().unwrap_or_default()
            )));
            for field in [id, name, issuer, audience, required] {
                field.set(String::new());
            }
            rows.update(|rows| {
                let at = rows.partition_point(|i| i.id < added.id);
                rows.insert(at, added);
            });
        });
    };
    let claims = ScopeClaim::ALL
        .iter()
        .map(|option| {
            let value = option.as_str();
            view! {
                <option value=value selected=move || scope_claim.with(|c| c == value)>
                    {value}
                </option>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <form class="card admin-form" aria-label="New trusted issuer" novalidate on:submit=submit>
            <h3>"Trust an OpenID provider"</h3>
            <p class="muted small">
                "The server reads the provider's metadata ("
                <code>"{issuer}/.well-known/openid-configuration"</code>
                ") and its keys now; a provider it cannot reach is not added. For Okta's "
                "default server: issuer " <code>"https://{yourOktaDomain}/oauth2/default"</code>
                ", audience " <code>"api://default"</code> ", scopes in " <code>"scp"</code> "."
            </p>
            <div class="form-grid">
                <label class="field">
                    <span>"Id"</span>
                    <input type="text" name="id" autocomplete="off" placeholder="okta" bind:value=id />
                </label>
                <label class="field">
                    <span>"Name"</span>
                    <input type="text" name="name" autocomplete="off" bind:value=name />
                </label>
                <label class="field wide">
                    <span>"Issuer"</span>
                    <input
                        type="url"
                        name="issuer"
                        autocomplete="off"
                        placeholder="https://example.okta.com/oauth2/default"
                        bind:value=issuer
                    />
                </label>
                <label class="field">
                    <span>"Audience"</span>
                    <input
                        type="text"
                        name="audience"
                        autocomplete="off"
                        placeholder="api://default"
                        bind:value=audience
                    />
                </label>
                <label class="field">
                    <span>"Algorithms"</span>
                    <input type="text" name="algorithms" autocomplete="off" bind:value=algorithms />
                </label>
                <label class="field">
                    <span>"Scopes in"</span>
                    <select name="scope_claim" bind:value=scope_claim>
                        {claims}
                    </select>
                </label>
                <label class="field">
                    <span>"Required claims (optional)"</span>
                    <input
                        type="text"
                        name="required_claims"
                        autocomplete="off"
                        placeholder="tid=…, groups=shop"
                        bind:value=required
                    />
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Trust issuer"
                </button>
            </div>
        </form>
    }
}
