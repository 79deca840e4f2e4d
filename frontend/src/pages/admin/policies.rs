//! A custom server's access policies: its ordered policies and their ordered rules, edited as
//! a draft here (add a rule, move, delete) and saved as a whole, which is how the admin API
//! takes them (`PUT /admin/servers/{id}/policies`, checked as a whole, 422 naming the policy
//! and rule otherwise).

use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::admin::{AccessPolicies, AccessPolicy, Lifetimes, PolicyRule, Role, RuleDecision};
use shared::oauth::GrantType;

use super::{CheckList, DraftList, Pending, checks, loaded};
use crate::admin_api::use_admin_api;

#[component]
pub fn PolicyEditor(server: String) -> impl IntoView {
    let admin = use_admin_api();
    let loaded_server = server.clone();
    let policies = LocalResource::new(move || admin.policies(&loaded_server));
    let testid = format!("policies-{server}");
    view! {
        <div class="policy-editor" data-testid=testid>
            {loaded(
                Some("Loading access policies…"),
                move || {
                    let server = server.clone();
                    Suspend::new(async move {
                        policies
                            .await
                            .map(|saved| view! { <Draft server initial=saved.policies /> })
                    })
                },
            )}
        </div>
    }
}

type Edits = DraftList<AccessPolicy>;

/// The policies as edited here, saved when the administrator says so.
#[component]
fn Draft(server: String, initial: Vec<AccessPolicy>) -> impl IntoView {
    let admin = use_admin_api();
    let change = Edits::new(initial);
    let draft = change.items;
    let save = {
        let server = server.clone();
        move || {
            let empty = draft.with_untracked(|policies| {
                policies
                    .iter()
                    .find(|p| p.rules.is_empty())
                    .map(|p| p.name.clone())
            });
            if let Some(name) = empty {
                return change.pending.fail(format!(
                    "The policy {name} has no rules: add one, or delete the policy."
                ));
            }
            let (to, saved_for) = (server.clone(), server.clone());
            change.save(
                move |policies| async move {
                    let body = AccessPolicies { policies };
                    admin
                        .save_policies(&to, body)
                        .await
                        .map(|saved| saved.policies)
                },
                move |count| {
                    format!(
                        "Saved {count} access policies of {saved_for}: the next token request \
                         at every instance is decided by them."
                    )
                },
            );
        }
    };
    let names_id = format!("policy-names-{server}");
    let list = move || {
        draft.with(|policies| {
            if policies.is_empty() {
                return view! {
                    <p class="flash error" role="status">
                        "No policies: every token request to this server is refused."
                    </p>
                }
                .into_any();
            }
            policies
                .iter()
                .enumerate()
                .map(|(index, policy)| policy_view(index, policy, change))
                .collect::<Vec<_>>()
                .into_any()
        })
    };
    view! {
        <h4>"Access policies of " <code>{server}</code></h4>
        <p class="muted small">
            "Tried in order: in each policy that applies to the client, its rules in order; the "
            "first rule that matches decides. An allow rule matches when it lists every scope "
            "asked for, a deny rule when it lists any. No match: refused."
        </p>
        <ol class="policies">{list}</ol>
        <AddRule change names=names_id />
        {change.footer("Save policies", save)}
    }
}

fn policy_view(index: usize, policy: &AccessPolicy, change: Edits) -> impl IntoView + use<> {
    let name = policy.name.clone();
    let clients = if policy.clients.is_empty() {
        "every client".to_owned()
    } else {
        policy.clients.join(", ")
    };
    let rules = policy
        .rules
        .iter()
        .enumerate()
        .map(|(rule_index, rule)| rule_view(index, rule_index, &name, rule, change))
        .collect::<Vec<_>>();
    let up = (index > 0).then(|| {
        view! {
            <button
                type="button"
                class="button ghost small"
                aria-label=format!("Move policy {name} up")
                on:click=move |_| change.edit(move |p| p.swap(index - 1, index))
            >
                "Move up"
            </button>
        }
    });
    view! {
        <li class="card policy" data-testid=format!("policy-{name}")>
            <div class="policy-head">
                <strong>{name.clone()}</strong>
                <span class="muted small">" for " {clients}</span>
                {up}
                <button
                    type="button"
                    class="button ghost small"
                    aria-label=format!("Delete policy {name}")
                    on:click=move |_| change.edit(move |p| {
                        p.remove(index);
                    })
                >
                    "Delete policy"
                </button>
            </div>
            <table class="admin-table rules" aria-label=format!("Rules of {}", policy.name)>
                <thead>
                    <tr>
                        <th scope="col">"Rule"</th>
                        <th scope="col">"Grant types"</th>
                        <th scope="col">"Users"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Audiences"</th>
                        <th scope="col">"Decision"</th>
                        <th scope="col">"Access token"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rules}</tbody>
            </table>
        </li>
    }
}

fn rule_view(
    policy_index: usize,
    index: usize,
    policy: &str,
    rule: &PolicyRule,
    change: Edits,
) -> impl IntoView + use<> {
    let any = |items: Vec<&str>, none: &str| {
        if items.is_empty() {
            none.to_owned()
        } else {
            items.join(" ")
        }
    };
    let grants = any(rule.grant_types.iter().map(|g| g.as_str()).collect(), "any");
    let mut users = any(rule.roles.iter().map(|r| r.as_str()).collect(), "any user");
    if !rule.groups.is_empty() {
        users = format!("{users}; in {}", rule.groups.join(" or "));
    }
    let scopes = rule
        .scopes
        .as_ref()
        .map_or_else(|| "any".to_owned(), ToString::to_string);
    let audiences = match (&rule.audiences, rule.several_audiences) {
        (None, false) => "any one".to_owned(),
        (None, true) => "any, several at once".to_owned(),
        (Some(listed), false) => listed.join(" "),
        (Some(listed), true) => format!("{} (several at once)", listed.join(" ")),
    };
    let lifetime = rule
        .lifetimes
        .access_token_ttl
        .map_or_else(|| "default".to_owned(), |seconds| format!("{seconds} s"));
    let decision = rule.decision.as_str();
    // RFC 8693: whether the client may pass for the user in a token exchange.
    let impersonation = rule.impersonation.then(|| {
        view! { <small class="muted">" (impersonation: no act)"</small> }
    });
    let label = format!("{} of {policy}", rule.name);
    let up = (index > 0).then(|| {
        view! {
            <button
                type="button"
                class="button ghost small"
                aria-label=format!("Move rule {label} up")
                on:click=move |_| change.edit(move |p| p[policy_index].rules.swap(index - 1, index))
            >
                "Up"
            </button>
        }
    });
    view! {
        <tr data-testid=format!("rule-{policy}-{}", rule.name)>
            <td data-label="Rule">{rule.name.clone()}</td>
            <td data-label="Grant types">{grants}</td>
            <td data-label="Users">{users}</td>
            <td data-label="Scopes">{scopes}</td>
            <td data-label="Audiences">{audiences}</td>
            <td data-label="Decision">
                <span class=format!("badge decision-{decision}")>{decision}</span>
                {impersonation}
            </td>
            <td data-label="Access token">{lifetime}</td>
            <td class="actions">
                {up}
                <button
                    type="button"
                    class="button ghost small"
                    aria-label=format!("Delete rule {label}")
                    on:click=move |_| change.edit(move |p| {
                        p[policy_index].rules.remove(index);
                    })
                >
                    "Delete"
                </button>
            </td>
        </tr>
    }
}

/// Adds a rule at the end of a policy, or of a new policy at the end.
#[component]
fn AddRule(
    change: Edits,
    /// The id of the list of policy names offered (one per editor on the page).
    names: String,
) -> impl IntoView {
    let draft = change.items;
    let pending = Pending::new();
    let policy = RwSignal::new(String::new());
    let clients = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let grants = RwSignal::new(BTreeSet::<String>::new());
    let roles = RwSignal::new(BTreeSet::<String>::new());
    let groups = RwSignal::new(String::new());
    let scopes = RwSignal::new(String::new());
    let audiences = RwSignal::new(String::new());
    let several = RwSignal::new(false);
    let impersonation = RwSignal::new(false);
    let decision = RwSignal::new(RuleDecision::Allow.as_str().to_owned());
    let lifetime = RwSignal::new(String::new());
    let checked = move || -> Result<(String, Vec<String>, PolicyRule), String> {
        let policy = checks::name(&policy.get_untracked(), "A policy name")?;
        let rule = PolicyRule {
            name: checks::name(&name.get_untracked(), "A rule name")?,
            grant_types: parsed(&grants.get_untracked())?,
            roles: parsed::<Role>(&roles.get_untracked())?,
            groups: checks::group_list(&groups.get_untracked())?,
            scopes: checks::rule_scopes(&scopes.get_untracked())?,
            audiences: Some(checks::audience_list(&audiences.get_untracked())?)
                .filter(|listed| !listed.is_empty()),
            several_audiences: several.get_untracked(),
            impersonation: impersonation.get_untracked(),
            decision: decision
                .get_untracked()
                .parse()
                .map_err(|e: shared::UnknownName| e.to_string())?,
            lifetimes: Lifetimes {
                access_token_ttl: checks::access_token_ttl(&lifetime.get_untracked())?,
                ..Lifetimes::default()
            },
        };
        if rule.decision == RuleDecision::Deny && rule.lifetimes.access_token_ttl.is_some() {
            return Err("A deny rule issues nothing: leave its lifetime empty.".into());
        }
        if rule.decision == RuleDecision::Deny && rule.several_audiences {
            return Err("A deny rule issues nothing: several audiences is for allow rules.".into());
        }
        if rule.impersonation
            && (rule.decision == RuleDecision::Deny
                || !rule.grant_types.contains(&GrantType::TokenExchange))
        {
            return Err(format!(
                "Impersonation is for allow rules for the {} grant: tick that grant type.",
                GrantType::TokenExchange
            ));
        }
        Ok((policy, checks::client_list(&clients.get_untracked())?, rule))
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (policy_name, new_clients, rule) = match checked() {
            Ok(checked) => checked,
            Err(e) => return pending.fail(e),
        };
        let existing = draft.with_untracked(|policies| {
            policies.iter().find(|p| p.name == policy_name).map(|p| {
                (
                    p.clients.clone(),
                    p.rules.iter().any(|r| r.name == rule.name),
                )
            })
        });
        if let Some((clients, taken)) = existing {
            if taken {
                return pending.fail(format!(
                    "The policy {policy_name} already has a rule named {}.",
                    rule.name
                ));
            }
            if !new_clients.is_empty() && new_clients != clients {
                return pending.fail(format!(
                    "The policy {policy_name} exists, for {}: leave its clients empty to add \
                     a rule to it, or name a new policy.",
                    if clients.is_empty() {
                        "every client".to_owned()
                    } else {
                        clients.join(", ")
                    }
                ));
            }
        }
        pending.clear();
        change.edit(
            move |policies| match policies.iter_mut().find(|p| p.name == policy_name) {
                Some(existing) => existing.rules.push(rule),
                None => policies.push(AccessPolicy {
                    name: policy_name,
                    description: String::new(),
                    clients: new_clients,
                    rules: vec![rule],
                }),
            },
        );
        name.set(String::new());
        groups.set(String::new());
        scopes.set(String::new());
        audiences.set(String::new());
        several.set(false);
        impersonation.set(false);
        lifetime.set(String::new());
    };
    let existing = move || {
        draft.with(|policies| {
            policies
                .iter()
                .map(|p| view! { <option value=p.name.clone()></option> })
                .collect::<Vec<_>>()
        })
    };
    let grant_names: Vec<String> = GrantType::ALL
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let role_names: Vec<String> = Role::ALL.iter().map(|r| r.as_str().to_owned()).collect();
    view! {
        <form class="inline-form editor" aria-label="New rule" novalidate on:submit=submit>
            <h5>"New rule"</h5>
            <div class="form-grid">
                <label class="field">
                    <span>"Policy"</span>
                    <input type="text" name="policy" list=names.clone() autocomplete="off" bind:value=policy />
                    <datalist id=names>{existing}</datalist>
                    <small class="muted">"An existing policy's name, or a new one (added last)."</small>
                </label>
                <label class="field">
                    <span>"Clients of a new policy"</span>
                    <input
                        type="text"
                        name="clients"
                        autocomplete="off"
                        placeholder="empty: every client"
                        bind:value=clients
                    />
                </label>
                <label class="field">
                    <span>"Rule name"</span>
                    <input type="text" name="rule" autocomplete="off" bind:value=name />
                </label>
                <label class="field">
                    <span>"Scopes"</span>
                    <input
                        type="text"
                        name="scopes"
                        autocomplete="off"
                        placeholder="empty: any scopes"
                        bind:value=scopes
                    />
                </label>
                <label class="field">
                    <span>"Audiences"</span>
                    <input
                        type="text"
                        name="audiences"
                        autocomplete="off"
                        placeholder="empty: any of the server's"
                        bind:value=audiences
                    />
                </label>
                <label class="check">
                    <input type="checkbox" name="several_audiences" bind:checked=several />
                    <span>"Several audiences in one token"</span>
                </label>
                <label class="check">
                    <input type="checkbox" name="impersonation" bind:checked=impersonation />
                    <span>"Token exchange may impersonate (no act claim)"</span>
                </label>
                <label class="field">
                    <span>"Decision"</span>
                    <select name="decision" bind:value=decision>
                        <option value="allow" selected=move || decision.with(|d| d == "allow")>
                            "Allow"
                        </option>
                        <option value="deny" selected=move || decision.with(|d| d == "deny")>
                            "Deny"
                        </option>
                    </select>
                </label>
                <label class="field">
                    <span>"Access-token lifetime (seconds)"</span>
                    <input
                        type="text"
                        name="access_token_ttl"
                        inputmode="numeric"
                        autocomplete="off"
                        placeholder="empty: the client's, else the default"
                        bind:value=lifetime
                    />
                </label>
            </div>
            <CheckList legend="Grant types (none checked: any)" names=grant_names selected=grants />
            <CheckList legend="User roles (none checked: any user)" names=role_names selected=roles />
            {super::users::groups_field(
                "User groups",
                "empty: any user; else a user in any of them",
                groups,
            )}
            {pending.error_view()}
            <div class="form-actions">
                <button type="submit" class="button small">"Add rule"</button>
            </div>
        </form>
    }
}

/// The checked names, each read as a `T`, in order.
fn parsed<T>(names: &BTreeSet<String>) -> Result<Vec<T>, String>
where
    T: std::str::FromStr<Err = shared::UnknownName>,
{
    names
        .iter()
        .map(|n| n.parse().map_err(|e: shared::UnknownName| e.to_string()))
        .collect()
}
