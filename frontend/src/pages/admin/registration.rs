//! `/admin/registration`: initial access tokens for dynamic client registration (RFC 7591 §3).
//! With `REGISTRATION=token`, a developer registers a client at `/register` with one of these
//! as `Authorization: Bearer`; make one (shown once), see when each expires, delete one.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{NewRegistrationToken, RegistrationToken};

use super::{
    AdminSection, AdminTable, Pending, announce, checks, confirm_action, loaded, row_error,
    unix_time,
};
use crate::admin_api::use_admin_api;
use crate::api::Deployment;
use crate::components::SecretBox;

/// A token the server just handed out, until it is dismissed or the section is left.
#[derive(Clone)]
struct Revealed {
    token: String,
    name: String,
}

#[component]
pub fn Registration() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let revealed = RwSignal::new(None::<Revealed>);
    let tokens = LocalResource::new(move || admin.registration_tokens());
    let reload = Callback::new(move |()| tokens.refetch());

    let secret_box = move || {
        revealed.get().map(|shown| {
            view! { <RevealedToken revealed=shown on_dismiss=move |()| revealed.set(None) /> }
        })
    };
    let table = move || {
        Suspend::new(async move {
            tokens
                .await
                .map(|tokens| view! { <RegistrationTokenTable tokens reload notice /> })
        })
    };
    view! {
        <AdminSection
            id="admin-registration"
            title="Dynamic registration"
            intro=|| {
                view! {
                    <p class="muted">
                        "Clients may register themselves at " <code>"/register"</code>
                        " (RFC 7591) when the server runs with " <code>"REGISTRATION=token"</code>
                        " (with one of these initial access tokens) or "
                        <code>"REGISTRATION=open"</code>
                        " (anyone, for apps that log users in). The server keeps only a hash of each token."
                    </p>
                }
            }
            notice
        >
            {secret_box}
            {loaded(Some("Loading initial access tokens…"), table)}
            <NewRegistrationTokenForm reload notice revealed />
        </AdminSection>
    }
}

#[component]
fn RevealedToken(revealed: Revealed, #[prop(into)] on_dismiss: Callback<()>) -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let Revealed { token, name } = revealed;
    let example = format!(
        "curl {}/register -H \"Authorization: Bearer {token}\" \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"client_name\": \"My app\", \"redirect_uris\": [\"https://app.example/callback\"], \"token_endpoint_auth_method\": \"none\", \"scope\": \"openid profile\"}}'",
        // The registration endpoint is the issuer's.
        deployment.config.issuer.trim_end_matches('/')
    );
    view! {
        <SecretBox title=format!("Initial access token {name}") secret=token on_dismiss>
            <p class="muted small">"Register a client with it:"</p>
            <pre class="example">{example}</pre>
        </SecretBox>
    }
}

const COLUMNS: &[&str] = &["Name", "Id", "Created", "Expires", "Actions"];

#[component]
fn RegistrationTokenTable(
    tokens: Vec<RegistrationToken>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="card empty">"No initial access tokens."</p> }.into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|token| view! { <RegistrationTokenRow token reload notice /> })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="Initial access tokens" columns=COLUMNS>
            {rows}
        </AdminTable>
    }
    .into_any()
}

#[component]
fn RegistrationTokenRow(
    token: RegistrationToken,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let id = token.id.clone();
    let name = token.name.clone();
    let question =
        format!("Delete {name}? It registers no more clients (those it registered stay).");
    let delete = confirm_action(pending, "Delete", "Confirm delete", question, move || {
        let name = name.clone();
        pending.run(admin.delete_registration_token(&id), move |()| {
            announce(
                notice,
                reload,
                format!("Deleted the initial access token {name}."),
            );
        });
    });
    view! {
        <tr data-testid=format!("registration-token-{}", token.id)>
            <td data-label="Name">{token.name.clone()}</td>
            <td data-label="Id">
                <code class="nowrap">{token.id.clone()}</code>
            </td>
            <td data-label="Created">{unix_time(token.created_at)}</td>
            <td data-label="Expires">{unix_time(token.expires_at)}</td>
            <td class="actions">{delete}</td>
        </tr>
        {row_error(pending, COLUMNS)}
    }
}

#[component]
fn NewRegistrationTokenForm(
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let name = RwSignal::new(String::new());
    let hours = RwSignal::new(String::new());

    let checked = move || -> Result<NewRegistrationToken, String> {
        let hours = hours.get_untracked();
        let expires_in = match hours.trim() {
            "" => None,
            raw => match raw.parse::<u64>() {
                Ok(hours @ 1..=720) => Some(hours * 3600),
                _ => return Err("The lifetime is 1 to 720 hours (thirty days).".into()),
            },
        };
        Ok(NewRegistrationToken {
            name: checks::name(&name.get_untracked(), "A name")?,
            expires_in,
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let new = match checked() {
            Ok(new) => new,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_registration_token(new), move |created| {
            notice.set(Some(format!(
                "Made the initial access token {}.",
                created.name
            )));
            revealed.set(Some(Revealed {
                token: created.token,
                name: created.name,
            }));
            name.set(String::new());
            hours.set(String::new());
            reload.try_run(());
        });
    };
    view! {
        <form class="card admin-form" aria-label="New initial access token" novalidate on:submit=submit>
            <h3>"New initial access token"</h3>
            <div class="form-grid">
                <label class="field">
                    <span>"Name"</span>
                    <input
                        type="text"
                        name="name"
                        autocomplete="off"
                        placeholder="partner-team, …"
                        bind:value=name
                    />
                </label>
                <label class="field">
                    <span>"Lifetime in hours (optional)"</span>
                    <input
                        type="number"
                        name="hours"
                        min="1"
                        max="720"
                        placeholder="24"
                        bind:value=hours
                    />
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Make initial access token"
                </button>
            </div>
        </form>
    }
}
