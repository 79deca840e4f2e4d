//! `/admin/clients`: the applications that may ask for tokens. Source document 003's two kinds:
//! a browser app (public, authorization code with PKCE, redirect URIs) and an "API services"
//! integration (confidential, client credentials, a secret shown once), and a device app (public,
//! the device authorization grant of RFC 8628). Edit what a client may do, rotate a confidential
//! client's secret, delete a client.

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{Client, ClientKind, ClientUpdate, NewClient, Scope, TokenEndpointAuthMethod};
use shared::oauth::GrantType;
use shared::scope::{ADMIN, OFFLINE_ACCESS};

use super::{
    AdminSection, AdminTable, CheckList, Pending, announce, checks, confirm_action, loaded,
    row_error, row_form, scope_chips, toggle_button, unix_time,
};
use crate::admin_api::use_admin_api;
use crate::api::{ApiError, Deployment};
use crate::components::SecretBox;

const AUTHORIZATION_CODE: &str = GrantType::AuthorizationCode.as_str();
const REFRESH_TOKEN: &str = GrantType::RefreshToken.as_str();
const CLIENT_CREDENTIALS: &str = GrantType::ClientCredentials.as_str();
const DEVICE_CODE: &str = GrantType::DeviceCode.as_str();
const TOKEN_EXCHANGE: &str = GrantType::TokenExchange.as_str();

/// A client secret the server just handed out, until it is dismissed or the section is left.
#[derive(Clone)]
struct Revealed {
    client_id: String,
    secret: String,
    scope: String,
    rotated: bool,
}

#[component]
pub fn Clients() -> impl IntoView {
    let admin = use_admin_api();
    let notice = RwSignal::new(None::<String>);
    let revealed = RwSignal::new(None::<Revealed>);
    let clients = LocalResource::new(move || admin.clients());
    let scopes = LocalResource::new(move || admin.scopes());
    let reload = Callback::new(move |()| clients.refetch());
    let creating = RwSignal::new(None::<ClientKind>);

    let secret_box = move || {
        revealed.get().map(|revealed_secret| {
            view! {
                <RevealedSecret
                    revealed=revealed_secret
                    on_dismiss=move |()| revealed.set(None)
                />
            }
        })
    };
    let table = move || {
        Suspend::new(async move {
            let names = scope_names(&scopes.await?);
            clients
                .await
                .map(|clients| view! { <ClientTable clients names reload notice revealed /> })
        })
    };
    let form = move || {
        creating.get().map(|kind| {
            let on_done = Callback::new(move |()| creating.set(None));
            loaded(None, move || {
                Suspend::new(async move {
                    let names = scope_names(&scopes.await?);
                    Ok::<_, ApiError>(
                        view! { <NewClientForm kind names reload notice revealed on_done /> },
                    )
                })
            })
        })
    };
    let opener = move |kind: ClientKind, label: &'static str| {
        view! {
            <button
                type="button"
                class="button ghost"
                aria-pressed=move || (creating.get() == Some(kind)).to_string()
                on:click=move |_| {
                    creating
                        .update(|open| {
                            *open = if *open == Some(kind) { None } else { Some(kind) };
                        })
                }
            >
                {label}
            </button>
        }
    };

    view! {
        <AdminSection id="admin-clients" title="Clients" notice>
            {secret_box}
            {loaded(Some("Loading clients…"), table)}
            <div class="form-switch">
                {opener(ClientKind::Browser, "New browser app")}
                {opener(ClientKind::Service, "New API service")}
                {opener(ClientKind::Device, "New device app")}
            </div>
            {form}
        </AdminSection>
    }
}

fn scope_names(scopes: &[Scope]) -> Vec<String> {
    scopes.iter().map(|scope| scope.name.clone()).collect()
}

/// The secret once, with the client credentials request that uses it (source document 003's
/// Postman step, as curl).
#[component]
fn RevealedSecret(revealed: Revealed, #[prop(into)] on_dismiss: Callback<()>) -> impl IntoView {
    let deployment = expect_context::<Deployment>();
    let token_endpoint = deployment.server.as_ref().map_or_else(
        |_| format!("{}/token", deployment.config.issuer.trim_end_matches('/')),
        |server| server.token_endpoint.clone(),
    );
    let Revealed {
        client_id,
        secret,
        scope,
        rotated,
    } = revealed;
    let title = if rotated {
        format!("New client secret of {client_id}")
    } else {
        format!("Client secret of {client_id}")
    };
    let scope_arg = if scope.is_empty() {
        String::new()
    } else {
        format!(" -d scope=\"{scope}\"")
    };
    let example = format!(
        "curl -u '{client_id}:{secret}' -d grant_type=client_credentials{scope_arg} {token_endpoint}"
    );
    view! {
        <SecretBox title secret on_dismiss>
            <dl class="facts">
                <dt>"Client id"</dt>
                <dd>
                    <code data-testid="secret-client-id">{client_id}</code>
                </dd>
            </dl>
            <p class="muted small">
                "Get an access token with the client credentials grant (HTTP Basic authentication):"
            </p>
            <pre class="example">{example}</pre>
        </SecretBox>
    }
}

#[component]
fn ClientTable(
    clients: Vec<Client>,
    names: Vec<String>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="card empty">"No clients yet."</p> }.into_any();
    }
    let rows = clients
        .into_iter()
        .map(|client| {
            let names = names.clone();
            view! { <ClientRow client names reload notice revealed /> }
        })
        .collect::<Vec<_>>();
    view! {
        <AdminTable label="Clients" columns=CLIENT_COLUMNS>
            {rows}
        </AdminTable>
    }
    .into_any()
}

const CLIENT_COLUMNS: &[&str] = &[
    "Client id",
    "Name",
    "Kind",
    "Grant types",
    "Scopes",
    "Redirect URIs",
    "Logout URIs",
    "Created",
    "Actions",
];

#[component]
fn ClientRow(
    client: Client,
    names: Vec<String>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let editing = RwSignal::new(false);
    let id = client.client_id.clone();

    let kind = match (client.confidential, client.first_party) {
        (true, _)
            if client.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt =>
        {
            "API service (confidential, private_key_jwt)"
        }
        (true, _) => "API service (confidential)",
        (false, _)
            if !client.grant_types.contains(&GrantType::AuthorizationCode)
                && client.grant_types.contains(&GrantType::DeviceCode) =>
        {
            "Device app (public, device authorization)"
        }
        (false, true) => "Browser app (public, first-party)",
        (false, false) => "Browser app (public, third-party)",
    };
    let key_source = client
        .jwks_uri
        .clone()
        .map(|uri| {
            view! { <br /> <small class="muted">"Keys at " <code>{uri}</code></small> }.into_any()
        })
        .or_else(|| {
            client.jwks.as_ref().map(|set| {
                let count = set
                    .get("keys")
                    .and_then(|k| k.as_array())
                    .map_or(0, Vec::len);
                view! { <br /> <small class="muted">{format!("{count} registered key(s)")}</small> }
                    .into_any()
            })
        });
    let backchannel = client.backchannel_logout_uri.clone().map(|uri| {
        view! { <small class="muted">"Back-channel: " <code>{uri}</code></small> }
    });

    let has_secret = client.confidential
        && client.token_endpoint_auth_method != TokenEndpointAuthMethod::PrivateKeyJwt;
    let rotate = has_secret.then(|| {
        let id = id.clone();
        let scope = client.scope.to_string();
        let question = format!("Rotate the secret of {id}? The current one stops working at once.");
        confirm_action(
            pending,
            "Rotate secret",
            "Confirm rotate secret",
            question,
            move || {
                let scope = scope.clone();
                pending.run(admin.rotate_secret(&id), move |rotated| {
                    notice.set(Some(format!(
                        "Rotated the secret of {}; the old one no longer works.",
                        rotated.client_id,
                    )));
                    revealed.set(Some(Revealed {
                        client_id: rotated.client_id,
                        secret: rotated.client_secret,
                        scope,
                        rotated: true,
                    }));
                });
            },
        )
    });
    let delete = {
        let id = id.clone();
        let question = format!("Delete {id}? Its logins and consents go with it.");
        confirm_action(pending, "Delete", "Confirm delete", question, move || {
            let gone = id.clone();
            pending.run(admin.delete_client(&id), move |()| {
                if revealed.with_untracked(|r| r.as_ref().is_some_and(|r| r.client_id == gone)) {
                    revealed.set(None);
                }
                announce(notice, reload, format!("Deleted the client {gone}."));
            });
        })
    };
    let editor = {
        let client = client.clone();
        row_form(editing, CLIENT_COLUMNS, move || {
            view! {
                <ClientEditor
                    client=client.clone()
                    names=names.clone()
                    reload
                    notice
                    on_close=move |()| editing.set(false)
                />
            }
        })
    };

    view! {
        <tr data-testid=format!("client-{id}")>
            <td data-label="Client id">
                <code class="nowrap">{id.clone()}</code>
            </td>
            <td data-label="Name">{client.name}</td>
            <td data-label="Kind">
                {kind}
                {key_source}
                // RFC 7591: made at /register by whoever asked, not in this console.
                {id
                    .starts_with(shared::oauth::REGISTERED_CLIENT_PREFIX)
                    .then(|| view! { <br /> <small class="muted">"Registered itself (RFC 7591)"</small> })}
                {client
                    .require_pushed_authorization_requests
                    .then(|| view! { <br /> <small class="muted">"Pushed requests only (PAR)"</small> })}
                {client
                    .dpop_bound_access_tokens
                    .then(|| view! { <br /> <small class="muted">"DPoP-bound tokens only"</small> })}
            </td>
            <td data-label="Grant types">
                {scope_chips(client.grant_types.iter().map(|g| g.as_str()))}
            </td>
            <td data-label="Scopes">{scope_chips(client.scope.iter())}</td>
            <td data-label="Redirect URIs">{uri_list(&client.redirect_uris)}</td>
            <td data-label="Logout URIs">
                {uri_list(&client.post_logout_redirect_uris)}
                {backchannel}
            </td>
            <td data-label="Created">{unix_time(client.created_at)}</td>
            <td class="actions">
                {toggle_button(editing, "Edit")}
                {rotate}
                {delete}
            </td>
        </tr>
        {editor}
        {row_error(pending, CLIENT_COLUMNS)}
    }
}

/// A client's URIs, one per line.
fn uri_list(uris: &[String]) -> impl IntoView + use<> {
    let items = uris
        .iter()
        .map(|uri| view! { <li><code>{uri.clone()}</code></li> })
        .collect::<Vec<_>>();
    view! { <ul class="plain">{items}</ul> }
}

/// Name, scopes, grant types, redirect and logout URIs, and first-party flag of an existing
/// client; only what changed is sent.
#[component]
fn ClientEditor(
    client: Client,
    names: Vec<String>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let original_scopes: BTreeSet<String> = client.scope.iter().map(str::to_owned).collect();
    let original_grants: BTreeSet<String> = client
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let name = RwSignal::new(client.name.clone());
    let scopes = RwSignal::new(original_scopes.clone());
    let grants = RwSignal::new(original_grants.clone());
    let redirects = RwSignal::new(client.redirect_uris.join("\n"));
    let post_logout = RwSignal::new(client.post_logout_redirect_uris.join("\n"));
    let backchannel = RwSignal::new(client.backchannel_logout_uri.clone().unwrap_or_default());
    let first_party = RwSignal::new(client.first_party);
    let pushed_only = RwSignal::new(client.require_pushed_authorization_requests);
    let dpop_bound = RwSignal::new(client.dpop_bound_access_tokens);
    let by_key = client.token_endpoint_auth_method == TokenEndpointAuthMethod::PrivateKeyJwt;
    let new_jwks_uri = RwSignal::new(client.jwks_uri.clone().unwrap_or_default());
    let new_jwks = RwSignal::new(String::new());

    // A scope the client has but the list lacks still gets a box, so it can be removed.
    let mut scope_options: BTreeSet<String> = names.into_iter().collect();
    scope_options.extend(original_scopes.iter().cloned());
    let grant_options: Vec<String> = if client.confidential {
        vec![
            CLIENT_CREDENTIALS,
            AUTHORIZATION_CODE,
            REFRESH_TOKEN,
            DEVICE_CODE,
            TOKEN_EXCHANGE,
        ]
    } else {
        vec![AUTHORIZATION_CODE, REFRESH_TOKEN, DEVICE_CODE]
    }
    .into_iter()
    .map(str::to_owned)
    .collect();

    let id = client.client_id.clone();
    let label = format!("Edit {}", client.client_id);
    let checked = move || -> Result<ClientUpdate, String> {
        let new_name = checks::name(&name.get_untracked(), "A name")?;
        let new_grants = grants.get_untracked();
        if new_grants.is_empty() {
            return Err("Choose at least one grant type.".into());
        }
        let uses_code = new_grants.contains(AUTHORIZATION_CODE);
        let new_uris = checks::redirect_uris(&redirects.get_untracked(), uses_code)?;
        let new_scopes = scopes.get_untracked();
        if new_scopes.is_empty() {
            return Err("Choose at least one scope.".into());
        }
        let new_first_party = first_party.get_untracked();
        let new_pushed_only = pushed_only.get_untracked();
        if new_pushed_only && !uses_code {
            return Err(
                "Only a client that logs users in (authorization_code) can be required to push \
                 its requests."
                    .into(),
            );
        }
        let new_post_logout = checks::post_logout_redirect_uris(&post_logout.get_untracked())?;
        if !new_post_logout.is_empty() && !uses_code {
            return Err(
                "Only a client that logs users in (authorization_code) can have post-logout \
                 redirect URIs."
                    .into(),
            );
        }
        let new_backchannel = checks::backchannel_logout_uri(&backchannel.get_untracked())?;
        if new_backchannel.is_some() && !uses_code && !new_grants.contains(DEVICE_CODE) {
            return Err(
                "Only a client that logs users in (authorization_code or device_code) can have a \
                 back-channel logout URI."
                    .into(),
            );
        }
        let (jwks, jwks_uri) = if by_key {
            let uri = new_jwks_uri.get_untracked().trim().to_owned();
            let set = new_jwks.get_untracked();
            if !set.trim().is_empty() {
                (Some(checks::jwks(&set)?), None)
            } else if !uri.is_empty() && Some(&uri) != client.jwks_uri.as_ref() {
                (None, Some(uri))
            } else {
                (None, None)
            }
        } else {
            (None, None)
        };
        Ok(ClientUpdate {
            jwks,
            jwks_uri,
            name: (new_name != client.name).then_some(new_name),
            scope: (new_scopes != original_scopes).then(|| checks::scope_list(&new_scopes)),
            grant_types: (new_grants != original_grants).then(|| new_grants.into_iter().collect()),
            redirect_uris: (new_uris != client.redirect_uris).then_some(new_uris),
            first_party: (new_first_party != client.first_party).then_some(new_first_party),
            lifetimes: None,
            require_pushed_authorization_requests: (new_pushed_only
                != client.require_pushed_authorization_requests)
                .then_some(new_pushed_only),
            dpop_bound_access_tokens: (dpop_bound.get_untracked()
                != client.dpop_bound_access_tokens)
                .then(|| dpop_bound.get_untracked()),
            post_logout_redirect_uris: (new_post_logout != client.post_logout_redirect_uris)
                .then_some(new_post_logout),
            // `""` removes it.
            backchannel_logout_uri: (new_backchannel != client.backchannel_logout_uri)
                .then(|| new_backchannel.unwrap_or_default()),
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let update = match checked() {
            Ok(update) => update,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.update_client(&id, update), move |client| {
            notice.set(Some(format!("Saved the client {}.", client.client_id)));
            on_close.try_run(());
            reload.try_run(());
        });
    };

    view! {
        <form
            class="inline-form editor"
            aria-label=label
            novalidate
            on:submit=submit
        >
            <label class="field">
                <span>"Name"</span>
                <input type="text" name="name" bind:value=name />
            </label>
            <CheckList legend="Scopes" names=scope_options.into_iter().collect() selected=scopes />
            <CheckList legend="Grant types" names=grant_options selected=grants />
            <label class="field">
                <span>"Redirect URIs (one per line)"</span>
                <textarea name="redirect_uris" rows="3" bind:value=redirects></textarea>
            </label>
            <LogoutFields post_logout backchannel />
            <label class="check">
                <input type="checkbox" name="first_party" bind:checked=first_party />
                <span>"First party (no consent screen)"</span>
            </label>
            <PushedOnly checked=pushed_only />
            <DpopBound checked=dpop_bound />
            {by_key.then(|| view! { <KeyFields jwks_uri=new_jwks_uri jwks=new_jwks replacing=true /> })}
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

/// A `private_key_jwt` client's public keys: the URL of its JWK Set, or the set itself.
#[component]
fn KeyFields(jwks_uri: RwSignal<String>, jwks: RwSignal<String>, replacing: bool) -> impl IntoView {
    let set_label = if replacing {
        "Or a new JWK Set (JSON, public keys only; replaces the keys)"
    } else {
        "Or the JWK Set itself (JSON, public keys only)"
    };
    view! {
        <label class="field wide">
            <span>"JWK Set URL (jwks_uri)"</span>
            <input
                type="url"
                name="jwks_uri"
                autocomplete="off"
                placeholder="https://service.example.com/jwks.json"
                bind:value=jwks_uri
            />
        </label>
        <label class="field wide">
            <span>{set_label}</span>
            <textarea
                name="jwks"
                rows="3"
                placeholder=r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "…", "x": "…", "y": "…"}]}"#
                bind:value=jwks
            ></textarea>
        </label>
    }
}

/// OpenID Connect logout: where the browser may come back after a logout (RP-Initiated Logout
/// 1.0 §3.1; without `post_logout`, the client logs no browser in) and where a logout token is
/// posted when one of the client's logins ends (Back-Channel Logout 1.0 §2.2).
#[component]
fn LogoutFields(
    #[prop(optional)] post_logout: Option<RwSignal<String>>,
    backchannel: RwSignal<String>,
) -> impl IntoView {
    let post_logout = post_logout.map(|uris| {
        view! {
            <label class="field wide">
                <span>"Post-logout URIs (one per line)"</span>
                <textarea
                    name="post_logout_redirect_uris"
                    rows="2"
                    placeholder="https://app.example.com/"
                    bind:value=uris
                ></textarea>
                <small class="muted">
                    "post_logout_redirect_uris: where the end-session endpoint may send the "
                    "browser back after a logout (OpenID Connect RP-Initiated Logout 1.0); "
                    "matched exactly."
                </small>
            </label>
        }
    });
    view! {
        {post_logout}
        <label class="field wide">
            <span>"Back-channel logout URI"</span>
            <input
                type="url"
                name="backchannel_logout_uri"
                autocomplete="off"
                placeholder="https://app.example.com/backchannel-logout"
                bind:value=backchannel
            />
            <small class="muted">
                "Where the server posts a logout token when one of the client's logins ends "
                "(OpenID Connect Back-Channel Logout 1.0); empty for none."
            </small>
        </label>
    }
}

/// RFC 9126 §6's `require_pushed_authorization_requests`, with what it means.
#[component]
fn PushedOnly(checked: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                name="require_pushed_authorization_requests"
                bind:checked=checked
            />
            <span>
                "Pushed requests only (PAR, RFC 9126): logins start with a request the client "
                "pushed to " <code>"/par"</code>
            </span>
        </label>
    }
}

/// RFC 9449 §5.2's `dpop_bound_access_tokens`, with what it means.
#[component]
fn DpopBound(checked: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="check">
            <input type="checkbox" name="dpop_bound_access_tokens" bind:checked=checked />
            <span>
                "DPoP-bound tokens only (RFC 9449): every token request carries a DPoP proof, so "
                "its tokens work only with the client's key"
            </span>
        </label>
    }
}

/// Scopes a service (no user behind its tokens) can be offered.
fn for_services(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|name| !matches!(name.as_str(), "openid" | OFFLINE_ACCESS | ADMIN))
        .cloned()
        .collect()
}

#[component]
fn NewClientForm(
    kind: ClientKind,
    names: Vec<String>,
    reload: Callback<()>,
    notice: RwSignal<Option<String>>,
    revealed: RwSignal<Option<Revealed>>,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let name = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let redirects = RwSignal::new(String::new());
    let post_logout = RwSignal::new(String::new());
    let backchannel = RwSignal::new(String::new());
    let scopes = RwSignal::new(BTreeSet::<String>::new());
    let refresh_tokens = RwSignal::new(true);
    let first_party = RwSignal::new(false);
    let pushed_only = RwSignal::new(false);
    let dpop_bound = RwSignal::new(false);
    let by_key = RwSignal::new(false);
    let jwks_uri = RwSignal::new(String::new());
    let jwks = RwSignal::new(String::new());
    let browser = kind == ClientKind::Browser;
    let service = kind == ClientKind::Service;
    let (title, submit_label) = match kind {
        ClientKind::Browser => ("New browser app", "Create browser app"),
        ClientKind::Service => ("New API service", "Create API service"),
        ClientKind::Device => ("New device app", "Create device app"),
    };

    let checked = move || -> Result<NewClient, String> {
        if scopes.with_untracked(BTreeSet::is_empty) {
            return Err("Choose at least one scope.".into());
        }
        let key_set = if service && by_key.get_untracked() {
            let set = jwks.get_untracked();
            let uri = jwks_uri.get_untracked().trim().to_owned();
            match (set.trim().is_empty(), uri.is_empty()) {
                (true, true) => {
                    return Err(
                        "Give the service's public keys: a JWK Set URL, or the JWK Set itself."
                            .into(),
                    );
                }
                (false, false) => return Err("Give a JWK Set URL or a JWK Set, not both.".into()),
                (false, true) => (Some(checks::jwks(&set)?), None),
                (true, false) => (None, Some(uri)),
            }
        } else {
            (None, None)
        };
        Ok(NewClient {
            kind,
            name: checks::name(&name.get_untracked(), "A name")?,
            client_id: checks::client_id(&client_id.get_untracked())?,
            scope: checks::scope_list(&scopes.get_untracked()),
            redirect_uris: if browser {
                checks::redirect_uris(&redirects.get_untracked(), true)?
            } else {
                Vec::new()
            },
            refresh_tokens: !service && refresh_tokens.get_untracked(),
            first_party: browser && first_party.get_untracked(),
            lifetimes: Default::default(),
            require_pushed_authorization_requests: browser && pushed_only.get_untracked(),
            dpop_bound_access_tokens: dpop_bound.get_untracked(),
            token_endpoint_auth_method: (service && by_key.get_untracked())
                .then_some(TokenEndpointAuthMethod::PrivateKeyJwt),
            jwks: key_set.0,
            jwks_uri: key_set.1,
            post_logout_redirect_uris: if browser {
                checks::post_logout_redirect_uris(&post_logout.get_untracked())?
            } else {
                Vec::new()
            },
            backchannel_logout_uri: if service {
                None
            } else {
                checks::backchannel_logout_uri(&backchannel.get_untracked())?
            },
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let client = match checked() {
            Ok(client) => client,
            Err(e) => return pending.fail(e),
        };
        pending.run(admin.create_client(client), move |created| {
            let client = created.client;
            match created.client_secret {
                Some(secret) => {
                    notice.set(Some(format!(
                        "Created the API service {}.",
                        client.client_id
                    )));
                    revealed.set(Some(Revealed {
                        scope: client.scope.to_string(),
                        client_id: client.client_id,
                        secret,
                        rotated: false,
                    }));
                }
                None if client.token_endpoint_auth_method
                    == TokenEndpointAuthMethod::PrivateKeyJwt =>
                {
                    notice.set(Some(format!(
                        "Created the API service {}: it has no secret, and proves itself with a \
                         JWT signed by its own key (private_key_jwt).",
                        client.client_id
                    )));
                }
                None if kind == ClientKind::Device => notice.set(Some(format!(
                    "Created the device app {}: a public client, without a secret. It asks for a \
                     code at the device authorization endpoint, and its user enters the code on \
                     the verification page (RFC 8628).",
                    client.client_id
                ))),
                None => notice.set(Some(format!(
                    "Created the browser app {}: a public client, without a secret (it proves \
                     itself with PKCE).",
                    client.client_id
                ))),
            }
            on_done.try_run(());
            reload.try_run(());
        });
    };

    let offered = if service { for_services(&names) } else { names };
    let browser_fields = browser.then(|| {
        view! {
            <label class="field wide">
                <span>"Redirect URIs (one per line)"</span>
                <textarea
                    name="redirect_uris"
                    rows="3"
                    placeholder="https://app.example.com/callback"
                    bind:value=redirects
                ></textarea>
            </label>
            <LogoutFields post_logout backchannel />
            <label class="check">
                <input type="checkbox" name="refresh_tokens" bind:checked=refresh_tokens />
                <span>"Refresh tokens (with offline_access)"</span>
            </label>
            <label class="check">
                <input type="checkbox" name="first_party" bind:checked=first_party />
                <span>"First party (no consent screen)"</span>
            </label>
            <PushedOnly checked=pushed_only />
        }
    });
    let device_fields = (kind == ClientKind::Device).then(|| {
        view! {
            <LogoutFields backchannel />
            <label class="check">
                <input type="checkbox" name="refresh_tokens" bind:checked=refresh_tokens />
                <span>"Refresh tokens (with offline_access)"</span>
            </label>
        }
    });
    let service_fields = service.then(|| {
        view! {
            <label class="check">
                <input type="checkbox" name="private_key_jwt" bind:checked=by_key />
                <span>
                    "Authenticate with a private key (private_key_jwt, RFC 7523): no secret; the "
                    "service signs a short JWT with its own key"
                </span>
            </label>
            <Show when=move || by_key.get()>
                <KeyFields jwks_uri jwks replacing=false />
            </Show>
        }
    });
    let explanation = match kind {
        ClientKind::Browser => {
            "A public client: it has no secret, uses the authorization code flow with PKCE and \
             may only send users back to its redirect URIs."
        }
        ClientKind::Service => {
            "A confidential client for machine-to-machine calls: it gets tokens with the client \
             credentials grant, authenticating with a secret that is shown once."
        }
        ClientKind::Device => {
            "A public client on a device without a browser or a keyboard (a TV, a command \
             line): it shows its user a code to enter on the verification page of another \
             device, and polls for its tokens (the device authorization grant, RFC 8628)."
        }
    };

    view! {
        <form class="card admin-form" aria-label=title novalidate on:submit=submit>
            <h3>{title}</h3>
            <p class="muted small">{explanation}</p>
            <div class="form-grid">
                <label class="field">
                    <span>"Name"</span>
                    <input type="text" name="name" autocomplete="off" bind:value=name />
                </label>
                <label class="field">
                    <span>"Client id (optional)"</span>
                    <input
                        type="text"
                        name="client_id"
                        autocomplete="off"
                        placeholder="chosen by the server"
                        bind:value=client_id
                    />
                </label>
            </div>
            {browser_fields}
            {device_fields}
            {service_fields}
            <DpopBound checked=dpop_bound />
            <CheckList legend="Scopes" names=offered selected=scopes />
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    {submit_label}
                </button>
            </div>
        </form>
    }
}
