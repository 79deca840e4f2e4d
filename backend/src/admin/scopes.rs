//! Scopes: list (with the clients allowed each), create custom ones such as source document
//! 003's `AccessAll`, describe, delete.
//!
//! A custom scope means what the API that checks it makes it mean; the server only lists it,
//! grants it to the clients allowed it, and shows its description on the consent screen.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{self, MAX_DESCRIPTION_LEN};
use shared::scope::{BUILTIN, ScopeSet};

use super::{Administrator, Answered, Body, Ctx, Named, text};
use crate::api::error::ApiError;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::{Client, ScopeInfo};

const INVALID: &str = "invalid_scope";

fn view(scope: ScopeInfo, clients: &[Client], root: bool, servers: Vec<String>) -> admin::Scope {
    admin::Scope {
        builtin: BUILTIN.contains(&scope.name.as_str()),
        clients: clients
            .iter()
            .filter(|c| c.scopes.contains(&scope.name))
            .map(|c| c.id.clone())
            .collect(),
        name: scope.name,
        description: scope.description,
        consent_required: scope.consent_required,
        root,
        servers,
    }
}

/// The root issuer's scopes, then those only custom servers offer (with the first server's
/// description), each with the servers that offer it.
pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<admin::Scope>, ApiError> {
    let clients = ctx.db.clients().await?;
    let mut at_servers: BTreeMap<String, (ScopeInfo, Vec<String>)> = BTreeMap::new();
    for (server, scope) in ctx.db.every_server_scope().await? {
        at_servers
            .entry(scope.name.clone())
            .or_insert_with(|| (scope, Vec::new()))
            .1
            .push(server);
    }
    let mut all: Vec<admin::Scope> = ctx
        .db
        .scope_catalogue()
        .await?
        .into_iter()
        .map(|s| {
            let servers = at_servers.remove(&s.name).map(|(_, ids)| ids);
            view(s, &clients, true, servers.unwrap_or_default())
        })
        .collect();
    all.extend(
        at_servers
            .into_values()
            .map(|(s, servers)| view(s, &clients, false, servers)),
    );
    Ok(all)
}

async fn one(ctx: &Ctx<'_>, name: &str) -> Result<admin::Scope, ApiError> {
    all(ctx)
        .await?
        .into_iter()
        .find(|s| s.root && s.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("there is no scope {name:?}")))
}

/// One scope token in RFC 6749 §3.3's grammar (printable ASCII but space, `"` and `\`).
pub(super) fn name(value: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::Unprocessable {
        error: INVALID,
        description: format!(
            "a scope name is 1 to {} printable ASCII characters without spaces, quotes or \
             backslashes (RFC 6749 §3.3)",
            ScopeSet::MAX_TOKEN_LEN
        ),
    };
    let set = ScopeSet::parse(value).map_err(|_| invalid())?;
    match set.iter().collect::<Vec<_>>().as_slice() {
        [one] if *one == value => Ok(value.to_owned()),
        _ => Err(invalid()),
    }
}

pub async fn add(ctx: &Ctx<'_>, new: &admin::NewScope) -> Result<admin::Scope, ApiError> {
    let name = name(&new.name)?;
    let description = text(
        "description",
        &new.description,
        MAX_DESCRIPTION_LEN,
        INVALID,
    )?;
    let scope = ScopeInfo {
        name: name.clone(),
        description,
        consent_required: new.consent_required,
    };
    ctx.db
        .insert_scope(&scope)
        .await
        .or_conflict(|| format!("the scope {name:?} exists"))?;
    ctx.record(
        EventKind::ScopeCreated,
        None,
        format!("scope {name} created"),
    )
    .await?;
    one(ctx, &name).await
}

pub async fn change(
    ctx: &Ctx<'_>,
    name: &str,
    update: &admin::ScopeUpdate,
) -> Result<admin::Scope, ApiError> {
    let description = update
        .description
        .as_deref()
        .map(|d| text("description", d, MAX_DESCRIPTION_LEN, INVALID))
        .transpose()?;
    ctx.db
        .update_scope(name, description.as_deref(), update.consent_required)
        .await
        .or_not_found(|| format!("there is no scope {name:?}"))?;
    ctx.record(
        EventKind::ScopeUpdated,
        None,
        format!("scope {name} changed"),
    )
    .await?;
    one(ctx, name).await
}

/// Deletes a custom scope that no client may ask for and no live API token carries.
pub async fn remove(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    let scope = one(ctx, name).await?;
    if scope.builtin {
        return Err(ApiError::Conflict(format!(
            "{name} is built in: the server or its API gives it a meaning"
        )));
    }
    if !scope.clients.is_empty() {
        return Err(ApiError::Conflict(format!(
            "{name} is still allowed to {}: remove it from them first",
            scope.clients.join(", ")
        )));
    }
    let now = ctx.now;
    let tokens: Vec<String> = ctx
        .db
        .api_tokens(None)
        .await?
        .into_iter()
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now))
        .filter(|t| t.scope.contains(name))
        .map(|t| t.id)
        .collect();
    if !tokens.is_empty() {
        return Err(ApiError::Conflict(format!(
            "{name} is on live API tokens {}: revoke them first",
            tokens.join(", ")
        )));
    }
    ctx.db
        .delete_scope(name)
        .await
        .or_not_found(|| format!("there is no scope {name:?}"))?;
    ctx.record(
        EventKind::ScopeDeleted,
        None,
        format!("scope {name} deleted"),
    )
    .await
}

#[utoipa::path(get, path = "/admin/scopes", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every scope, with the clients allowed it", body = Vec<shared::admin::Scope>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::Scope>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

#[utoipa::path(post, path = "/admin/scopes", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewScope,
    responses((status = 201, description = "The new scope", body = shared::admin::Scope), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewScope>,
) -> Result<(StatusCode, Json<admin::Scope>), ApiError> {
    let scope = add(&admin.ctx(&state), &new).await?;
    Ok((StatusCode::CREATED, Json(scope)))
}

#[utoipa::path(patch, path = "/admin/scopes/{name}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("name" = String, Path, description = "The scope")), request_body = shared::admin::ScopeUpdate,
    responses((status = 200, description = "The scope as changed", body = shared::admin::Scope), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Administrator,
    Named(name): Named,
    Body(update): Body<admin::ScopeUpdate>,
) -> Result<Json<admin::Scope>, ApiError> {
    change(&admin.ctx(&state), &name, &update).await.map(Json)
}

#[utoipa::path(delete, path = "/admin/scopes/{name}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("name" = String, Path, description = "The scope")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Named(name): Named,
) -> Result<StatusCode, ApiError> {
    remove(&admin.ctx(&state), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
