//! Token preview: pick a server, a client, a grant type, scopes and (for a login) a user, and
//! see what the server would answer (`POST /admin/preview`): its error word for word, or the
//! access token's header and claims, the ID token's claims and the refresh token's lifetime,
//! with the policy and rule that decided. Nothing is issued.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{TokenPreview, TokenPreviewRequest};
use shared::oauth::GrantType;
use shared::scope::ScopeSet;

use super::{AdminSection, Pending, loaded};
use crate::admin_api::use_admin_api;

#[component]
pub fn Preview(
    /// Changes when the servers change: the choices are read again.
    changes: RwSignal<u32>,
) -> impl IntoView {
    let admin = use_admin_api();
    let choices = LocalResource::new(move || {
        changes.track();
        async move {
            let servers = admin.servers().await?;
            let clients = admin.clients().await?;
            Ok::<_, crate::api::ApiError>((servers, clients))
        }
    });
    view! {
        <AdminSection
            id="admin-preview"
            title="Token preview"
            intro=|| {
                view! {
                    <p class="muted">
                        "What a token endpoint would answer a client, decided by the same checks "
                        "(grants, scopes, access policies). Nothing is issued, stored or logged."
                    </p>
                }
            }
        >
            {loaded(
                Some("Loading servers and clients…"),
                move || Suspend::new(async move {
                    choices
                        .await
                        .map(|(servers, clients)| {
                            let servers = servers.into_iter().map(|s| s.id).collect();
                            let clients = clients.into_iter().map(|c| c.client_id).collect();
                            view! { <PreviewForm servers clients /> }
                        })
                }),
            )}
        </AdminSection>
    }
}

#[component]
fn PreviewForm(servers: Vec<String>, clients: Vec<String>) -> impl IntoView {
    let admin = use_admin_api();
    let pending = Pending::new();
    let server = RwSignal::new(servers.first().cloned().unwrap_or_default());
    let client = RwSignal::new(clients.first().cloned().unwrap_or_default());
    let grant = RwSignal::new(GrantType::ClientCredentials.as_str().to_owned());
    let scope = RwSignal::new(String::new());
    let resources = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let answer = RwSignal::new(None::<TokenPreview>);
    let is_login = move || grant.with(|g| logs_users_in(g));
    let checked = move || -> Result<TokenPreviewRequest, String> {
        let raw_scope = scope.get_untracked();
        let scope = if raw_scope.trim().is_empty() {
            None
        } else {
            Some(
                ScopeSet::parse(raw_scope.trim())
                    .map_err(|e| format!("Not a list of scopes: {e}."))?,
            )
        };
        let server = server.get_untracked();
        let client_id = client.get_untracked();
        if client_id.is_empty() {
            return Err("Choose a client.".into());
        }
        let username = username.get_untracked().trim().to_owned();
        let login = logs_users_in(&grant.get_untracked());
        if login && username.is_empty() {
            return Err("A login is previewed for a user: enter a username.".into());
        }
        Ok(TokenPreviewRequest {
            username: login.then_some(username),
            server: (!server.is_empty()).then_some(server),
            client_id,
            grant_type: grant
                .get_untracked()
                .parse()
                .map_err(|e: shared::UnknownName| e.to_string())?,
            scope,
            // As sent, one `resource` each: the server says what is wrong with one.
            resources: resources
                .get_untracked()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = match checked() {
            Ok(request) => request,
            Err(e) => return pending.fail(e),
        };
        answer.set(None);
        pending.run(admin.preview(request), move |shown| answer.set(Some(shown)));
    };
    // `selected` on each option too: a select's value set before its options exist is lost.
    let option = |chosen: RwSignal<String>, value: String, text: String| {
        let is = value.clone();
        view! {
            <option value=value selected=move || chosen.with(|c| *c == is)>
                {text}
            </option>
        }
    };
    let server_options = servers
        .into_iter()
        .chain([String::new()])
        .map(|id| {
            let text = if id.is_empty() {
                "Root issuer".to_owned()
            } else {
                id.clone()
            };
            option(server, id, text)
        })
        .collect::<Vec<_>>();
    let client_options = clients
        .into_iter()
        .map(|id| option(client, id.clone(), id))
        .collect::<Vec<_>>();
    let grant_options = GrantType::ALL
        .iter()
        .map(|g| option(grant, g.as_str().to_owned(), g.as_str().to_owned()))
        .collect::<Vec<_>>();
    view! {
        <form class="card admin-form" aria-label="Token preview" novalidate on:submit=submit>
            <div class="form-grid">
                <label class="field">
                    <span>"Authorization server"</span>
                    <select name="server" bind:value=server>
                        {server_options}
                    </select>
                </label>
                <label class="field">
                    <span>"Client"</span>
                    <select name="client" bind:value=client>
                        {client_options}
                    </select>
                </label>
                <label class="field">
                    <span>"Grant type"</span>
                    <select name="grant_type" bind:value=grant>
                        {grant_options}
                    </select>
                </label>
                <label class="field">
                    <span>"Scopes asked for"</span>
                    <input
                        type="text"
                        name="scope"
                        autocomplete="off"
                        placeholder="empty: the client's"
                        bind:value=scope
                    />
                </label>
                {move || {
                    is_login()
                        .then(|| {
                            view! {
                                <label class="field">
                                    <span>"User who logs in"</span>
                                    <input
                                        type="text"
                                        name="username"
                                        autocomplete="off"
                                        placeholder="user0"
                                        bind:value=username
                                    />
                                </label>
                            }
                        })
                }}
                <label class="field">
                    <span>"Resources (RFC 8707)"</span>
                    <input
                        type="text"
                        name="resources"
                        autocomplete="off"
                        placeholder="empty: the default audience"
                        bind:value=resources
                    />
                </label>
            </div>
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button primary" disabled=move || pending.busy()>
                    "Preview"
                </button>
            </div>
        </form>
        {move || answer.get().map(|shown| view! { <Answer shown /> })}
    }
}

/// What the endpoint would answer.
#[component]
fn Answer(shown: TokenPreview) -> impl IntoView {
    let decided = match (&shown.policy, &shown.rule) {
        (Some(policy), Some(rule)) => Some(view! {
            <p data-testid="preview-rule">
                "Decided by policy " <strong>{policy.clone()}</strong> ", rule "
                <strong>{rule.clone()}</strong> "."
            </p>
        }),
        _ => None,
    };
    let outcome = match &shown.error {
        Some(error) => view! {
            <div class="flash error" data-testid="preview-error">
                <p>
                    <code>{error.error.clone()}</code>
                    ": "
                    {error.error_description.clone().unwrap_or_default()}
                </p>
            </div>
        }
        .into_any(),
        None => {
            let header = shown.header.as_ref().map(pretty).unwrap_or_default();
            // Every claim the token carries, the server's own and its custom ones, by name.
            let claims = shown
                .claims
                .as_ref()
                .and_then(|claims| serde_json::to_value(claims).ok())
                .map(|mut claims| {
                    if let Some(object) = claims.as_object_mut() {
                        for (name, value) in &shown.custom_claims {
                            object.insert(name.clone(), value.clone());
                        }
                    }
                    pretty(&claims)
                })
                .unwrap_or_default();
            let id_token = shown.id_token.as_ref().map(|claims| {
                view! {
                    <figure>
                        <figcaption>"ID token claims"</figcaption>
                        <pre class="json" data-testid="preview-id-token">{pretty(claims)}</pre>
                    </figure>
                }
            });
            let refresh = shown.refresh_token_expires_in.map(|secs| {
                view! {
                    <p data-testid="preview-refresh">
                        "With a refresh token, usable for " {format!("{secs} s")}
                        " (each refresh gives a new one, within the login's absolute lifetime)."
                    </p>
                }
            });
            view! {
                <p data-testid="preview-issued">
                    "Issued: an access token for "
                    {shown.expires_in.map(|s| format!("{s} s")).unwrap_or_default()}
                    " (unsigned here; "
                    <code>"jti"</code>
                    " and the times are examples)."
                </p>
                <div class="token-parts">
                    <figure>
                        <figcaption>"Header"</figcaption>
                        <pre class="json" data-testid="preview-header">{header}</pre>
                    </figure>
                    <figure>
                        <figcaption>"Claims"</figcaption>
                        <pre class="json" data-testid="preview-claims">{claims}</pre>
                    </figure>
                    {id_token}
                </div>
                {refresh}
            }
            .into_any()
        }
    };
    view! {
        <div class="card preview" role="status" aria-label="Preview answer">
            <p class="muted small">
                "POST " <code>{shown.token_endpoint.clone()}</code> " would answer:"
            </p>
            {outcome}
            {decided}
        </div>
    }
}

/// A wire type as indented JSON, as the token page shows a decoded token.
fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Whether the grant named `name` logs a user in (so the preview needs a username).
fn logs_users_in(name: &str) -> bool {
    name.parse::<GrantType>()
        .is_ok_and(|grant| grant.logs_users_in())
}
