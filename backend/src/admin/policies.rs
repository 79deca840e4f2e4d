//! The access policies of a custom authorization server (see [`crate::servers::policy`]): read
//! them, or replace the whole ordered list at once, checked as a whole before anything is
//! stored.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use shared::admin::{
    self, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_POLICIES, MAX_POLICY_CLIENTS, MAX_RULES,
    RuleDecision,
};
use shared::oauth::GrantType;

use super::clients::{lifetimes, lifetimes_view};
use super::{Administrator, Answered, Body, Ctx, Named, text};
use crate::api::error::ApiError;
use crate::events::EventKind;
use crate::storage::{Lifetimes, StoredPolicy, StoredRule};

const INVALID: &str = "invalid_policy";

fn invalid(description: String) -> ApiError {
    ApiError::Unprocessable {
        error: INVALID,
        description,
    }
}

/// `result`'s refusal, said of `whose` (a policy, or a rule of one).
fn of_the<T>(whose: &str, result: Result<T, ApiError>) -> Result<T, ApiError> {
    result.map_err(|e| match e {
        ApiError::Unprocessable { error, description } => ApiError::Unprocessable {
            error,
            description: format!("{whose}: {description}"),
        },
        other => other,
    })
}

fn view(p: StoredPolicy) -> admin::AccessPolicy {
    admin::AccessPolicy {
        name: p.name,
        description: p.description,
        clients: p.clients,
        rules: p
            .rules
            .into_iter()
            .map(|r| admin::PolicyRule {
                name: r.name,
                grant_types: r.grant_types,
                roles: r.roles,
                groups: r.groups,
                scopes: r.scopes,
                audiences: r.audiences,
                several_audiences: r.several_audiences,
                impersonation: r.impersonation,
                decision: r.decision,
                lifetimes: lifetimes_view(r.lifetimes),
            })
            .collect(),
    }
}

/// The policies of server `id`, in order.
pub async fn of(ctx: &Ctx<'_>, id: &str) -> Result<admin::AccessPolicies, ApiError> {
    super::servers::stored(ctx, id).await?;
    let stored = ctx.db.access_policies(id).await?;
    Ok(admin::AccessPolicies {
        policies: stored.into_iter().map(view).collect(),
    })
}

/// Whether `items` holds any value twice: the first repeated one.
fn repeated<T: PartialEq + Clone>(items: &[T]) -> Option<T> {
    (1..items.len())
        .find(|&i| items[..i].contains(&items[i]))
        .map(|i| items[i].clone())
}

/// `new`, for server `server`, checked as a whole: bounds, unique names, clients and scopes
/// that exist, rules that can match something.
async fn checked(
    ctx: &Ctx<'_>,
    server: &str,
    new: &[admin::AccessPolicy],
) -> Result<Vec<StoredPolicy>, ApiError> {
    if new.len() > MAX_POLICIES {
        return Err(invalid(format!(
            "at most {MAX_POLICIES} policies per authorization server"
        )));
    }
    // A client deleted since it was assigned stays where it is (the list read back can be
    // sent again unchanged); a new assignment must name a client that exists.
    let mut clients: HashSet<String> = ctx.db.clients().await?.into_iter().map(|c| c.id).collect();
    // The same for audiences: the server's, and those its rules already name.
    let Some(row) = ctx.db.authorization_server(server).await? else {
        return Err(ApiError::NotFound(super::servers::no_such_server()));
    };
    let mut audiences: HashSet<String> = row.audiences().map(str::to_owned).collect();
    for stored in ctx.db.access_policies(server).await? {
        clients.extend(stored.clients);
        for rule in stored.rules {
            audiences.extend(rule.audiences.into_iter().flatten());
        }
    }
    let scopes = super::server_scopes::offered_names(ctx, server).await?;
    let mut policies: Vec<StoredPolicy> = Vec::with_capacity(new.len());
    for p in new {
        let name = text("policy name", &p.name, MAX_NAME_LEN, INVALID)?;
        if policies.iter().any(|q| q.name == name) {
            return Err(invalid(format!("two policies are named {name:?}")));
        }
        let at = |what: String| invalid(format!("policy {name:?}: {what}"));
        let description = if p.description.trim().is_empty() {
            String::new()
        } else {
            of_the(
                &format!("policy {name:?}"),
                text("description", &p.description, MAX_DESCRIPTION_LEN, INVALID),
            )?
        };
        if p.clients.len() > MAX_POLICY_CLIENTS {
            return Err(at(format!(
                "at most {MAX_POLICY_CLIENTS} clients; leave the list empty for every client"
            )));
        }
        if let Some(twice) = repeated(&p.clients) {
            return Err(at(format!("client {twice:?} is listed twice")));
        }
        if let Some(unknown) = p.clients.iter().find(|c| !clients.contains(*c)) {
            return Err(at(format!("there is no client {unknown:?}")));
        }
        if p.rules.is_empty() || p.rules.len() > MAX_RULES {
            return Err(at(format!(
                "a policy has 1 to {MAX_RULES} rules (without any it matches nothing)"
            )));
        }
        let mut rules: Vec<StoredRule> = Vec::with_capacity(p.rules.len());
        for r in &p.rules {
            let rule_name = of_the(
                &format!("policy {name:?}"),
                text("rule name", &r.name, MAX_NAME_LEN, INVALID),
            )?;
            if rules.iter().any(|q| q.name == rule_name) {
                return Err(at(format!("two rules are named {rule_name:?}")));
            }
            let at = |what: String| invalid(format!("policy {name:?}, rule {rule_name:?}: {what}"));
            if let Some(twice) = repeated(&r.grant_types) {
                return Err(at(format!("grant type {twice} is listed twice")));
            }
            if let Some(twice) = repeated(&r.roles) {
                return Err(at(format!("role {twice} is listed twice")));
            }
            admin::check_groups(&r.groups).map_err(at)?;
            let users_only = !r.roles.is_empty() || !r.groups.is_empty();
            if users_only && r.grant_types == [GrantType::ClientCredentials] {
                return Err(at(
                    "it requires a user's role or group but matches only client_credentials, \
                     which has no user: it could never match"
                        .into(),
                ));
            }
            if let Some(allowed) = &r.scopes {
                if allowed.is_empty() {
                    return Err(at(
                        "scopes lists no scope: leave it out to match any scopes".into(),
                    ));
                }
                if let Some(unknown) = allowed.iter().find(|s| !scopes.contains(*s)) {
                    return Err(at(format!(
                        "authorization server {server} offers no scope {unknown:?} (see GET \
                         /admin/servers/{server}/scopes)"
                    )));
                }
            }
            if let Some(listed) = &r.audiences {
                if listed.is_empty() {
                    return Err(at(
                        "audiences lists no audience: leave it out to match any of the server's"
                            .into(),
                    ));
                }
                if let Some(twice) = repeated(listed) {
                    return Err(at(format!("audience {twice:?} is listed twice")));
                }
                if let Some(unknown) = listed.iter().find(|a| !audiences.contains(*a)) {
                    let mut known: Vec<&str> = audiences.iter().map(String::as_str).collect();
                    known.sort_unstable();
                    return Err(at(format!(
                        "authorization server {server} does not issue tokens for audience \
                         {unknown:?}; it issues them for {}",
                        known.join(", ")
                    )));
                }
            }
            if r.several_audiences && r.decision == RuleDecision::Deny {
                return Err(at(
                    "several_audiences is for allow rules: a deny rule issues nothing".into(),
                ));
            }
            if r.impersonation && r.decision == RuleDecision::Deny {
                return Err(at(
                    "impersonation is for allow rules: a deny rule issues nothing".into(),
                ));
            }
            if r.impersonation && !r.grant_types.contains(&GrantType::TokenExchange) {
                return Err(at(format!(
                    "impersonation is for token exchange: list the grant type {} in the rule's \
                     grant_types (a rule that lets a client pass for a user names the grant \
                     that does it)",
                    GrantType::TokenExchange
                )));
            }
            let lifetimes = of_the(
                &format!("policy {name:?}, rule {rule_name:?}"),
                lifetimes(r.lifetimes, INVALID),
            )?;
            if r.decision == RuleDecision::Deny && lifetimes != Lifetimes::default() {
                return Err(at(
                    "a deny rule issues nothing: leave its lifetimes out".into()
                ));
            }
            rules.push(StoredRule {
                name: rule_name,
                grant_types: r.grant_types.clone(),
                roles: r.roles.clone(),
                groups: r.groups.clone(),
                scopes: r.scopes.clone(),
                audiences: r.audiences.clone(),
                several_audiences: r.several_audiences,
                impersonation: r.impersonation,
                decision: r.decision,
                lifetimes,
            });
        }
        policies.push(StoredPolicy {
            name,
            description,
            clients: p.clients.clone(),
            rules,
        });
    }
    Ok(policies)
}

/// Replaces the policies of server `id` with `new`, all at once; the next token request at
/// any instance is decided by them.
pub async fn replace(
    ctx: &Ctx<'_>,
    id: &str,
    new: &[admin::AccessPolicy],
) -> Result<admin::AccessPolicies, ApiError> {
    let policies = checked(ctx, id, new).await?;
    ctx.db
        .replace_access_policies(id, &policies)
        .await
        .or_not_found(super::servers::no_such_server)?;
    let rules: usize = policies.iter().map(|p| p.rules.len()).sum();
    let names: Vec<String> = policies.iter().map(|p| format!("{:?}", p.name)).collect();
    ctx.record(
        EventKind::PoliciesUpdated,
        None,
        format!(
            "authorization server {id}: {} policies, {rules} rules ({})",
            policies.len(),
            names.join(", ")
        ),
    )
    .await?;
    Ok(admin::AccessPolicies {
        policies: policies.into_iter().map(view).collect(),
    })
}

#[utoipa::path(get, path = "/admin/servers/{id}/policies", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")),
    responses((status = 200, description = "Its access policies, in evaluation order", body = shared::admin::AccessPolicies), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<crate::state::AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<Json<admin::AccessPolicies>, ApiError> {
    of(&admin.ctx(&state), &id).await.map(Json)
}

#[utoipa::path(put, path = "/admin/servers/{id}/policies", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")), request_body = shared::admin::AccessPolicies,
    responses((status = 200, description = "Stored: every instance decides the next token request with them", body = shared::admin::AccessPolicies), (status = 422, description = "A rule was broken (`invalid_policy`), naming the policy and rule", body = shared::oauth::ErrorResponse), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn put(
    State(state): State<crate::state::AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(new): Body<admin::AccessPolicies>,
) -> Result<Json<admin::AccessPolicies>, ApiError> {
    replace(&admin.ctx(&state), &id, &new.policies)
        .await
        .map(Json)
}
