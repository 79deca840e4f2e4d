//! Custom authorization servers (see [`crate::servers`]): list, create with their first
//! signing keys, change their names and audiences, delete with their keys.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{self, MAX_DESCRIPTION_LEN, MAX_EXTRA_AUDIENCES};

use super::{Administrator, Answered, Body, Ctx, Named, identifier, text};
use crate::api::error::ApiError;
use crate::crypto;
use crate::events::EventKind;
use crate::keys::{Owner, rotation};
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{Spaced, StoredServer};

const INVALID: &str = "invalid_server";
/// Its id is the last segment of its issuer's path.
const MAX_ID_LEN: usize = 64;
const MAX_NAME_LEN: usize = 100;
/// An audience is a URI; longer ones are a mistake.
const MAX_AUDIENCE_LEN: usize = 200;

fn view(ctx: &Ctx<'_>, s: StoredServer) -> admin::AuthorizationServer {
    let issuer = AuthServer::issuer_of(ctx.config, &s.id);
    admin::AuthorizationServer {
        metadata_url: format!("{issuer}/.well-known/oauth-authorization-server"),
        issuer,
        id: s.id,
        name: s.name,
        description: s.description,
        audience: s.audience,
        extra_audiences: s.extra_audiences.0,
        signing_alg: s.signing_alg,
        require_pushed_authorization_requests: s.require_pushed_requests,
        created_at: s.created_at.unix(),
    }
}

pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<admin::AuthorizationServer>, ApiError> {
    let stored = ctx.db.authorization_servers().await?;
    Ok(stored.into_iter().map(|s| view(ctx, s)).collect())
}

/// An id that is one plain path segment: no `.` or `..`.
fn id(value: &str) -> Result<String, ApiError> {
    let id = identifier("id", value, MAX_ID_LEN, false, INVALID)?;
    if id.bytes().all(|b| b == b'.') {
        return Err(ApiError::Unprocessable {
            error: INVALID,
            description: "the id must not be only dots: it is a segment of the issuer's path"
                .into(),
        });
    }
    Ok(id)
}

/// An absolute URI without a fragment, as `aud` values are compared exactly (RFC 7519 §4.1.3).
pub(super) fn audience(value: &str, error: &'static str) -> Result<String, ApiError> {
    let invalid = || ApiError::Unprocessable {
        error,
        description: format!(
            "the audience must be an absolute URI of at most {MAX_AUDIENCE_LEN} characters, \
             without spaces or a fragment, e.g. api://orders or https://api.example.com"
        ),
    };
    let ok = !value.is_empty()
        && value.len() <= MAX_AUDIENCE_LEN
        && value.bytes().all(|b| b.is_ascii_graphic())
        && url::Url::parse(value).is_ok_and(|u| u.fragment().is_none());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(invalid())
    }
}

/// A server's default audience and its extra ones: each an audience, none twice.
fn audiences(default: &str, extra: &[String]) -> Result<(String, Spaced), ApiError> {
    let default = audience(default, INVALID)?;
    if extra.len() > MAX_EXTRA_AUDIENCES {
        return Err(ApiError::Unprocessable {
            error: INVALID,
            description: format!("at most {MAX_EXTRA_AUDIENCES} extra audiences"),
        });
    }
    let mut all = vec![default.clone()];
    for value in extra {
        let checked = audience(value, INVALID)?;
        if all.contains(&checked) {
            return Err(ApiError::Unprocessable {
                error: INVALID,
                description: format!("audience {checked:?} is listed twice"),
            });
        }
        all.push(checked);
    }
    Ok((default, Spaced(all.split_off(1))))
}

/// Its description: '' when blank.
fn description(value: &str) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        text("description", value, MAX_DESCRIPTION_LEN, INVALID)
    }
}

/// What a request naming a server that is not stored is told (404).
pub(super) fn no_such_server() -> String {
    "there is no authorization server with this id".to_owned()
}

/// 404 unless the server `id` is stored.
pub(super) async fn stored(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    match ctx.db.authorization_server(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound(no_such_server())),
    }
}

/// Stores a new server and its first signing keys (so it can sign as soon as any instance
/// serves it); the caller makes this instance serve it.
pub async fn add(
    ctx: &Ctx<'_>,
    new: &admin::NewAuthorizationServer,
) -> Result<StoredServer, ApiError> {
    let (audience, extra_audiences) = audiences(&new.audience, &new.extra_audiences)?;
    let stored = StoredServer {
        id: id(&new.id)?,
        name: text("name", &new.name, MAX_NAME_LEN, INVALID)?,
        description: description(&new.description)?,
        audience,
        extra_audiences,
        signing_alg: new.signing_alg,
        created_at: ctx.now,
        generation: crypto::random_token(16),
        require_pushed_requests: new.require_pushed_authorization_requests,
    };
    ctx.db
        .insert_authorization_server(&stored)
        .await
        .or_conflict(|| format!("an authorization server {:?} exists", stored.id))?;
    let owner = Owner::of(&stored);
    let (_, key_events) = rotation::prepare(ctx.db, ctx.config, &owner, ctx.now)
        .await
        .map_err(ApiError::internal)?;
    for event in key_events {
        ctx.actor.record_event(ctx.db, event, ctx.now).await?;
    }
    ctx.record(
        EventKind::ServerCreated,
        None,
        format!(
            "authorization server {} created (audiences {}, {})",
            stored.id,
            stored.audiences().collect::<Vec<_>>().join(", "),
            stored.signing_alg.as_str()
        ),
    )
    .await?;
    Ok(stored)
}

/// Changes server `id`'s name, description and audiences. An audience a policy rule names
/// stays (the rule would name an audience the server no longer has).
pub async fn change(
    ctx: &Ctx<'_>,
    id: &str,
    change: &admin::ServerChange,
) -> Result<StoredServer, ApiError> {
    let Some(current) = ctx.db.authorization_server(id).await? else {
        return Err(ApiError::NotFound(no_such_server()));
    };
    let (audience, extra_audiences) = audiences(&change.audience, &change.extra_audiences)?;
    let changed = StoredServer {
        name: text("name", &change.name, MAX_NAME_LEN, INVALID)?,
        description: description(&change.description)?,
        audience,
        extra_audiences,
        require_pushed_requests: change
            .require_pushed_authorization_requests
            .unwrap_or(current.require_pushed_requests),
        ..current.clone()
    };
    for policy in ctx.db.access_policies(id).await? {
        for rule in policy.rules {
            let named = rule.audiences.iter().flatten();
            if let Some(kept) = named
                .into_iter()
                .find(|a| !changed.audiences().any(|b| b == *a))
            {
                return Err(ApiError::Unprocessable {
                    error: INVALID,
                    description: format!(
                        "policy {:?}, rule {:?} names audience {kept:?}: keep it, or change the \
                         rule first",
                        policy.name, rule.name
                    ),
                });
            }
        }
    }
    ctx.db
        .update_authorization_server(&changed)
        .await
        .or_not_found(no_such_server)?;
    let all = |s: &StoredServer| s.audiences().collect::<Vec<_>>().join(", ");
    ctx.record(
        EventKind::ServerUpdated,
        None,
        format!(
            "authorization server {id} changed (audiences {}; were {})",
            all(&changed),
            all(&current)
        ),
    )
    .await?;
    Ok(changed)
}

/// Deletes a server and its keys: every token it issued is refused from then on.
pub async fn remove(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    ctx.db
        .delete_authorization_server(id, ctx.now)
        .await
        .or_not_found(no_such_server)?;
    ctx.record(
        EventKind::ServerDeleted,
        None,
        format!("authorization server {id} deleted, with its keys"),
    )
    .await
}

#[utoipa::path(get, path = "/admin/servers", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every custom authorization server", body = Vec<shared::admin::AuthorizationServer>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::AuthorizationServer>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

#[utoipa::path(post, path = "/admin/servers", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewAuthorizationServer,
    responses((status = 201, description = "The new server, serving at once", body = shared::admin::AuthorizationServer), (status = 422, description = "A rule was broken (`invalid_server`)", body = shared::oauth::ErrorResponse), (status = 409, description = "The id is taken", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewAuthorizationServer>,
) -> Result<(StatusCode, Json<admin::AuthorizationServer>), ApiError> {
    let ctx = admin.ctx(&state);
    let stored = add(&ctx, &new).await?;
    // Its keys were just made: taking it in reads them, and creates none.
    state
        .servers
        .take_in(ctx.db, ctx.config, stored.clone(), ctx.now)
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(view(&ctx, stored))))
}

#[utoipa::path(put, path = "/admin/servers/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")), request_body = shared::admin::ServerChange,
    responses((status = 200, description = "Changed: this instance issues with it at once, every other within a reload interval", body = shared::admin::AuthorizationServer), (status = 422, description = "A rule was broken (`invalid_server`)", body = shared::oauth::ErrorResponse), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(change): Body<admin::ServerChange>,
) -> Result<Json<admin::AuthorizationServer>, ApiError> {
    let ctx = admin.ctx(&state);
    let changed = super::servers::change(&ctx, &id, &change).await?;
    // Prepared again with its new audiences. Its keys are read; a key step due now is taken and
    // logged as a maintenance round's would be. The change is stored already: should this
    // fail, the next round takes it in.
    match state
        .servers
        .take_in(ctx.db, ctx.config, changed.clone(), ctx.now)
        .await
    {
        Ok(events) => {
            for event in events {
                state.events.record(event).await;
            }
        }
        Err(e) => {
            tracing::warn!(server = %id, error = %e, "preparing a changed authorization server failed; the next reload takes it in");
            state.servers.forget(&id).await;
        }
    }
    Ok(Json(view(&ctx, changed)))
}

#[utoipa::path(delete, path = "/admin/servers/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")),
    responses((status = 204, description = "Deleted, with its keys: its tokens are refused from now on"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    let ctx = admin.ctx(&state);
    state.servers.delete(&id, remove(&ctx, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
