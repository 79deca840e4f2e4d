//! The scopes of each custom authorization server (Okta's custom scopes): read them, and
//! replace them all at once. OpenID Connect's scopes are every server's and are not listed.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use shared::admin::{self, MAX_DESCRIPTION_LEN, MAX_SERVER_SCOPES};
use shared::scope::OPENID_SCOPES;

use super::{Administrator, Answered, Body, Ctx, Named, text};
use crate::api::error::ApiError;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::ScopeInfo;

const INVALID: &str = "invalid_scope";

fn invalid(description: String) -> ApiError {
    ApiError::Unprocessable {
        error: INVALID,
        description,
    }
}

fn view(s: ScopeInfo) -> admin::ServerScope {
    admin::ServerScope {
        name: s.name,
        description: s.description,
        consent_required: s.consent_required,
    }
}

/// The scope names server `id` offers: its own and OpenID Connect's. What its rules and claims
/// may name.
pub(super) async fn offered_names(ctx: &Ctx<'_>, id: &str) -> Result<HashSet<String>, ApiError> {
    let own = ctx.db.server_scopes(id).await?;
    Ok(OPENID_SCOPES
        .into_iter()
        .map(str::to_owned)
        .chain(own.into_iter().map(|s| s.name))
        .collect())
}

/// The scopes of server `id`, by name.
pub async fn of(ctx: &Ctx<'_>, id: &str) -> Result<admin::ServerScopes, ApiError> {
    super::servers::stored(ctx, id).await?;
    let stored = ctx.db.server_scopes(id).await?;
    Ok(admin::ServerScopes {
        scopes: stored.into_iter().map(view).collect(),
    })
}

/// `new`, for server `id`, checked as a whole: bounds, names, descriptions, no name twice, none
/// of OpenID Connect's, and every scope the server's rules and claims name still there.
async fn checked(
    ctx: &Ctx<'_>,
    id: &str,
    new: &[admin::ServerScope],
) -> Result<Vec<ScopeInfo>, ApiError> {
    super::servers::stored(ctx, id).await?;
    if new.len() > MAX_SERVER_SCOPES {
        return Err(invalid(format!(
            "at most {MAX_SERVER_SCOPES} scopes per authorization server"
        )));
    }
    let mut scopes: Vec<ScopeInfo> = Vec::with_capacity(new.len());
    for s in new {
        let name = super::scopes::name(&s.name)?;
        if OPENID_SCOPES.contains(&name.as_str()) {
            return Err(invalid(format!(
                "{name} is OpenID Connect's: every authorization server offers it, described as \
                 the root issuer describes it (PATCH /admin/scopes/{name}); leave it out"
            )));
        }
        if scopes.iter().any(|o| o.name == name) {
            return Err(invalid(format!("two scopes are named {name:?}")));
        }
        let description = text(
            &format!("description of {name}"),
            &s.description,
            MAX_DESCRIPTION_LEN,
            INVALID,
        )?;
        scopes.push(ScopeInfo {
            name,
            description,
            consent_required: s.consent_required,
        });
    }
    let kept =
        |scope: &str| OPENID_SCOPES.contains(&scope) || scopes.iter().any(|s| s.name == scope);
    for policy in ctx.db.access_policies(id).await? {
        for rule in &policy.rules {
            let named = rule.scopes.iter().flat_map(|s| s.iter());
            if let Some(gone) = named.into_iter().find(|s| !kept(s)) {
                return Err(invalid(format!(
                    "policy {:?}, rule {:?} names scope {gone:?}: change the rule before \
                     removing the scope",
                    policy.name, rule.name
                )));
            }
        }
    }
    for claim in ctx.db.custom_claims(id).await? {
        let named = claim.scopes.iter().flat_map(|s| s.iter());
        if let Some(gone) = named.into_iter().find(|s| !kept(s)) {
            return Err(invalid(format!(
                "claim {:?} is carried with scope {gone:?}: change the claim before removing \
                 the scope",
                claim.name
            )));
        }
    }
    Ok(scopes)
}

/// Replaces the scopes of server `id` with `new`, all at once; the next request at any
/// instance sees them.
pub async fn replace(
    ctx: &Ctx<'_>,
    id: &str,
    new: &[admin::ServerScope],
) -> Result<admin::ServerScopes, ApiError> {
    let scopes = checked(ctx, id, new).await?;
    ctx.db
        .replace_server_scopes(id, &scopes)
        .await
        .or_not_found(super::servers::no_such_server)?;
    let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
    ctx.record(
        EventKind::ServerScopesUpdated,
        None,
        format!(
            "authorization server {id}: {} scopes ({})",
            scopes.len(),
            names.join(", ")
        ),
    )
    .await?;
    Ok(admin::ServerScopes {
        scopes: scopes.into_iter().map(view).collect(),
    })
}

#[utoipa::path(get, path = "/admin/servers/{id}/scopes", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")),
    responses((status = 200, description = "The scopes it offers beside OpenID Connect's, by name", body = shared::admin::ServerScopes), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<Json<admin::ServerScopes>, ApiError> {
    of(&admin.ctx(&state), &id).await.map(Json)
}

#[utoipa::path(put, path = "/admin/servers/{id}/scopes", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")), request_body = shared::admin::ServerScopes,
    responses((status = 200, description = "Stored: the next request at every instance may ask for them", body = shared::admin::ServerScopes), (status = 422, description = "A rule was broken (`invalid_scope`), naming the scope", body = shared::oauth::ErrorResponse), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn put(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(new): Body<admin::ServerScopes>,
) -> Result<Json<admin::ServerScopes>, ApiError> {
    replace(&admin.ctx(&state), &id, &new.scopes)
        .await
        .map(Json)
}
