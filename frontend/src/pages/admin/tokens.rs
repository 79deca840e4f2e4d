//! `/admin/tokens`: per-user API tokens for scripts and CI, sent as `Authorization: Token …`.
//! Create one for a user (shown once), see every token's state and last use, revoke one.

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{ApiToken, ApiTokenState, NewApiToken, User};
use shared::scope::OFFLINE_ACCESS;

use super::{
    AdminSection, AdminTable, CheckList, Pending, announce, checks, confirm_action, loaded,
    maybe_time, row_error, scope_chips, unix_time,
};
use crate::admin_api::use_admin_api;
use crate::api::{ApiError, Deployment};
use crate::components::{SecretBox, api_errors};

/// A token the server just handed out, until it is dismissed or the section is left.
#[derive(Clone)]
struct Revealed {
    token: String,
    username: String,
    name: String,
}

#[component]
pub fn Tokens() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let revealed = RwSignal::new(None::<Revealed>);
    // Only this user's tokens; empty for everyone's.
    let filter = RwSignal::new(String::new());
    let users = LocalResource::new(move || admin.users());
    let scopes = LocalResource::new(move || admin.scopes());
    let tokens = LocalResource::new(move || {
        let username = filter.get();
        admin.tokens((!username.is_empty()).then_some(username))
    });
    let reload = Callback::new(move |()| tokens.refetch());

    let secret_box = move || {
        revealed.get().map(|revealed_token| {
            view! { <RevealedToken revealed=revealed_token on_dismiss=move |()| revealed.set(None) /> }
        })
    };
    let filter_select = move || {
        Suspend::new(async move {
            users.await.map(|users| {
                let options = users
                    .into_iter()
                    .map(|user| {
                        view! { <option value=user.username.clone()>{user.username.clone()}</option> }
                    })
                    .collect::<Vec<_>>();
                view! {
                    <label class="field inline">
                        <span>"Show tokens of"</span>
                        <select name="filter" bind:value=filter>
                            <option value="">"All users"</option>
                            {options}
                        </select>
                    </label>
                }
            })
        })
    };
    let table = move || {
        Suspend::new(async move {
            tokens
                .await
                .map(|tokens| view! { <TokenTable tokens reload notice /> })
        })
    };
    let form = move || {
        Suspend::new(async move {
            let users = users.await?;
            let scopes = scopes.await?;
            // API tokens are the root issuer's: its scopes only.
            let names = scopes
                .into_iter()
                .filter(|scope| scope.root)
                .map(|scope| scope.name)
                .filter(|name| !matches!(name.as_str(), "openid" | OFFLINE_ACCESS))
                .collect();
            Ok::<_, ApiError>(view! { <NewTokenForm users names reload notice revealed /> })
        })
    };

    view! {
        <AdminSection
            id="admin-tokens"
            title="API tokens"
            intro=|| {
                view! {
                    <p class="muted">
                        "Tokens for scripts and CI, sent as "
                        <code>"Authorization: Token amt_…"</code>
                        " with the owner's identity and at most the owner's scopes. The server keeps only a hash."
                    </p>
                }
            }
            notice
        >
            {secret_box}
            <Transition fallback=|| ()>
                <ErrorBoundary fallback=api_errors>{filter_select}</ErrorBoundary>
            </Transition>
            {loaded(Some("Loading API tokens…"), table)}
            {loaded(None, form)}
        </AdminSection>
    }
}

#[component]
fn RevealedToken(revealed: Revealed, #[prop(into)] on_dismiss: Callback<()>) -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let Revealed {
        token,
        username,
        name,
    } = revealed;
    let example = format!(
        "curl -H \"Authorization: Token {token}\" {}/api/whoami",
        deployment.config.api_base.trim_end_matches('/')
    );
    view! {
        <SecretBox title=format!("API token {name} of {username}") secret=token on_dismiss>
            <p class="muted small">"Call the API with it:"</p>
            <pre class="example">{example}</pre>
        </SecretBox>
    }
}

#[component]
fn TokenTable(
    tokens: Vec<ApiToken>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="card empty">"No API tokens."</p> }.into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|token| view! { <TokenRow token reload notice /> })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="API tokens" columns=TOKEN_COLUMNS>
            {rows}
        </AdminTable>
    }
    .into_any()
}

const TOKEN_COLUMNS: &[&str] = &[
    "Owner",
    "Name",
    "Id",
    "Scopes",
    "State",
    "Created",
    "Expires",
    "Last used",
    "Actions",
];

#[component]
fn TokenRow(
    token: ApiToken,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let state = match token.state {
        ApiTokenState::Active => "active",
        ApiTokenState::Expired => "expired",
        ApiTokenState::Revoked => "revoked",
    };
    let revoke = (token.state == ApiTokenState::Active).then(|| {
        let id = token.id.clone();
        let what = format!("{} of {}", token.name, token.username);
        let question = format!("Revoke {what}? Calls with it fail from now on.");
        confirm_action(pending, "Revoke", "Confirm revoke", question, move || {
            let what = what.clone();
            pending.run(admin.revoke_token(&id), move |()| {
                announce(notice, reload, format!("Revoked the API token {what}."));
            });
        })
    });
    view! {
        <tr data-testid=format!("token-{}", token.id) data-state=state>
            <td data-label="Owner">{token.username.clone()}</td>
            <td data-label="Name">{token.name.clone()}</td>
            <td data-label="Id">
                <code class="nowrap">{token.id.clone()}</code>
            </td>
            <td data-label="Scopes">{scope_chips(token.scope.iter())}</td>
            <td data-label="State">
                <span class=format!("badge state-{state}")>{state}</span>
            </td>
            <td data-label="Created">{unix_time(token.created_at)}</td>
            <td data-label="Expires">{maybe_time(token.expires_at)}</td>
            <td data-label="Last used">{maybe_time(token.last_used_at)}</td>
            <td class="actions">{revoke}</td>
        </tr>
        {row_error(pending, TOKEN_COLUMNS)}
    }
}

#[component]
fn NewTokenForm(
    users: Vec<User>,
    names: Vec<String>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let owner = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let scopes = RwSignal::new(BTreeSet::<String>::new());
    let days = RwSignal::new(String::new());

    let checked = move || -> Result<NewApiToken, String> {
        let username = owner.get_untracked();
        if username.is_empty() {
            return Err("Choose the user the token belongs to.".into());
        }
        let scope = scopes.get_untracked();
        if scope.is_empty() {
            return Err("Choose at least one scope.".into());
        }
        Ok(NewApiToken {
            username,
            name: checks::name(&name.get_untracked(), "A name")?,
            scope: checks::scope_list(&scope),
            expires_in_days: checks::expiry_days(&days.get_untracked())?,
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let token = match checked() {
            Ok(token) => token,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_token(token), move |created| {
            let listed = created.api_token;
            notice.set(Some(format!(
                "Created the API token {} for {}.",
                listed.name, listed.username
            )));
            revealed.set(Some(Revealed {
                token: created.token,
                username: listed.username,
                name: listed.name,
            }));
            name.set(String::new());
            days.set(String::new());
            scopes.set(BTreeSet::new());
            reload.try_run(());
        });
    };

    let owners = users
        .into_iter()
        .filter(|user| !user.disabled)
        .map(|user| {
            view! {
                <option value=user.username.clone()>
                    {format!("{} ({})", user.username, user.name)}
                </option>
            }
        })
        .collect::<Vec<_>>();
    view! {
        <form class="card admin-form" aria-label="New API token" novalidate on:submit=submit>
            <h3>"New API token"</h3>
            <div class="form-grid">
                <label class="field">
                    <span>"Owner"</span>
                    <select name="owner" bind:value=owner>
                        <option value="">"Choose a user…"</option>
                        {owners}
                    </select>
                </label>
                <label class="field">
                    <span>"Token name"</span>
                    <input
                        type="text"
                        name="name"
                        autocomplete="off"
                        placeholder="ci, laptop, …"
                        bind:value=name
                    />
                </label>
                <label class="field">
                    <span>"Expires in days (optional)"</span>
                    <input
                        type="number"
                        name="expires_in_days"
                        min="1"
                        max=checks::MAX_EXPIRY_DAYS
                        placeholder="never"
                        bind:value=days
                    />
                </label>
            </div>
            <CheckList legend="Scopes" names selected=scopes />
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Create API token"
                </button>
            </div>
        </form>
    }
}
