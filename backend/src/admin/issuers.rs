//! Trusted external issuers (see [`crate::issuers`]): list with what this instance knows of
//! each, add, change, remove, read their keys again.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{self, EXTERNAL_ALGS};
use url::Url;

use super::servers::audience;
use super::{Administrator, Answered, Body, Ctx, Named, identifier, text};
use crate::api::error::ApiError;
use crate::events::EventKind;
use crate::issuers::TrustedIssuers;
use crate::issuers::fetch::is_loopback_http;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, StoredIssuer};

const INVALID: &str = "invalid_issuer";
const MAX_ID_LEN: usize = 64;
const MAX_NAME_LEN: usize = 100;
const MAX_ISSUER_LEN: usize = 200;
const MAX_REQUIRED_CLAIMS: usize = 10;
const MAX_CLAIM_NAME_LEN: usize = 64;
const MAX_CLAIM_VALUE_LEN: usize = 200;
/// Checked for every token already; a requirement on them would be a second, conflicting rule.
const CHECKED_CLAIMS: [&str; 5] = ["iss", "aud", "exp", "nbf", "iat"];

fn invalid(description: String) -> ApiError {
    ApiError::Unprocessable {
        error: INVALID,
        description,
    }
}

fn view(issuers: &TrustedIssuers, s: StoredIssuer) -> admin::TrustedIssuer {
    admin::TrustedIssuer {
        status: issuers.status(&s),
        id: s.id,
        name: s.name,
        issuer: s.issuer,
        audience: s.audience,
        algorithms: s.algorithms,
        scope_claim: s.scope_claim,
        required_claims: s.required_claims,
        created_at: s.created_at.unix(),
    }
}

pub async fn all(
    ctx: &Ctx<'_>,
    issuers: &TrustedIssuers,
) -> Result<Vec<admin::TrustedIssuer>, ApiError> {
    let stored = ctx.db.trusted_issuers().await?;
    Ok(stored.into_iter().map(|s| view(issuers, s)).collect())
}

/// An issuer identifier (OpenID Connect Discovery §2, RFC 8414 §2): https (plain http on a
/// loopback address only), with no query, fragment or credentials; not this server's own.
fn issuer(ctx: &Ctx<'_>, value: &str) -> Result<String, ApiError> {
    let shape = || {
        invalid(format!(
            "the issuer must be an https URL of at most {MAX_ISSUER_LEN} characters with no \
             query, fragment or credentials, exactly as the provider's tokens state it in iss \
             (e.g. https://example.okta.com/oauth2/default); plain http is accepted on \
             loopback addresses only"
        ))
    };
    if value.is_empty()
        || value.len() > MAX_ISSUER_LEN
        || !value.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(shape());
    }
    let url = Url::parse(value).map_err(|_| shape())?;
    let plain = url.scheme() == "https" || is_loopback_http(&url);
    if !plain
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.host().is_none()
    {
        return Err(shape());
    }
    let root = ctx.config.issuer_str();
    let own_server = AuthServer::issuer_of(ctx.config, "");
    if value.trim_end_matches('/') == root || value.starts_with(&own_server) {
        return Err(invalid(format!(
            "{value} is this server's own issuer (or one of its authorization servers), which \
             the API trusts already"
        )));
    }
    Ok(value.to_owned())
}

fn algorithms(values: &[String]) -> Result<Vec<String>, ApiError> {
    let known = || EXTERNAL_ALGS.join(", ");
    if values.is_empty() {
        return Err(invalid(format!(
            "name at least one algorithm the issuer signs with: {}",
            known()
        )));
    }
    let mut chosen: Vec<String> = Vec::new();
    for value in values {
        if !EXTERNAL_ALGS.contains(&value.as_str()) {
            return Err(invalid(format!(
                "{:?} is not an algorithm this API accepts from an external issuer; choose \
                 among {} (asymmetric only: never HS256 or none)",
                value.chars().take(20).collect::<String>(),
                known()
            )));
        }
        if chosen.contains(value) {
            return Err(invalid(format!("the algorithm {value} is named twice")));
        }
        chosen.push(value.clone());
    }
    Ok(chosen)
}

fn required_claims(
    claims: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    if claims.len() > MAX_REQUIRED_CLAIMS {
        return Err(invalid(format!(
            "at most {MAX_REQUIRED_CLAIMS} required claims"
        )));
    }
    for (name, value) in claims {
        let charset = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b));
        if name.is_empty() || name.len() > MAX_CLAIM_NAME_LEN || !charset {
            return Err(invalid(format!(
                "a required claim's name is 1 to {MAX_CLAIM_NAME_LEN} letters, digits and _ . : / -"
            )));
        }
        if CHECKED_CLAIMS.contains(&name.as_str()) {
            return Err(invalid(format!(
                "{name} is checked for every token already (iss is the issuer, aud the \
                 audience, the times against the clock); it cannot be a required claim"
            )));
        }
        if value.is_empty()
            || value.chars().count() > MAX_CLAIM_VALUE_LEN
            || value.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "the required value of {name} must be 1 to {MAX_CLAIM_VALUE_LEN} characters, \
                 without control characters"
            )));
        }
    }
    Ok(claims.clone())
}

/// `new` checked field by field, as it would be stored.
fn checked(ctx: &Ctx<'_>, new: &admin::NewTrustedIssuer) -> Result<StoredIssuer, ApiError> {
    Ok(StoredIssuer {
        id: identifier("id", &new.id, MAX_ID_LEN, false, INVALID)?,
        name: text("name", &new.name, MAX_NAME_LEN, INVALID)?,
        issuer: issuer(ctx, &new.issuer)?,
        audience: audience(&new.audience, INVALID)?,
        algorithms: algorithms(&new.algorithms)?,
        scope_claim: new.scope_claim,
        required_claims: required_claims(&new.required_claims)?,
        created_at: ctx.now,
    })
}

/// Its metadata and keys, read now: an issuer this server cannot read is not stored.
async fn reachable(
    issuers: &TrustedIssuers,
    stored: &StoredIssuer,
) -> Result<crate::issuers::fetch::Fetched, ApiError> {
    issuers.probe(&stored.issuer).await.map_err(|why| {
        invalid(format!(
            "the issuer's metadata and keys could not be read, so it was not stored: {why}"
        ))
    })
}

fn summary(s: &StoredIssuer) -> String {
    format!(
        "{} (audience {}, {}, scopes in {})",
        s.issuer,
        s.audience,
        s.algorithms.join(" "),
        s.scope_claim.as_str()
    )
}

/// Checks `new`, reads its keys, stores it; this instance holds the keys it read.
pub async fn add(
    ctx: &Ctx<'_>,
    issuers: &TrustedIssuers,
    new: &admin::NewTrustedIssuer,
) -> Result<admin::TrustedIssuer, ApiError> {
    let stored = checked(ctx, new)?;
    let fetched = reachable(issuers, &stored).await?;
    ctx.db
        .insert_trusted_issuer(&stored)
        .await
        .or_conflict(|| taken(&stored))?;
    issuers.install(&stored, fetched, ctx.now);
    ctx.record(
        EventKind::IssuerTrusted,
        None,
        format!("trusted issuer {} added: {}", stored.id, summary(&stored)),
    )
    .await?;
    Ok(view(issuers, stored))
}

/// Replaces what is stored of issuer `id` with `new` (whose id must be `id`).
pub async fn update(
    ctx: &Ctx<'_>,
    issuers: &TrustedIssuers,
    id: &str,
    new: &admin::NewTrustedIssuer,
) -> Result<admin::TrustedIssuer, ApiError> {
    if new.id != id {
        return Err(invalid(format!(
            "the body's id {:?} is not the path's {id:?}; an issuer's id cannot change",
            new.id.chars().take(MAX_ID_LEN).collect::<String>()
        )));
    }
    let Some(before) = ctx.db.trusted_issuer(id).await? else {
        return Err(ApiError::NotFound(no_such_issuer()));
    };
    let stored = StoredIssuer {
        created_at: before.created_at,
        ..checked(ctx, new)?
    };
    // A new issuer URL is read first, as when adding; the same one is not (its keys are held,
    // or read at its next token), so a provider that is down does not stop an administrator
    // from tightening the audience, the algorithms or the required claims.
    let fetched = if stored.issuer == before.issuer {
        None
    } else {
        Some(reachable(issuers, &stored).await?)
    };
    store_changed(ctx, &stored).await?;
    if let Some(fetched) = fetched {
        issuers.install(&stored, fetched, ctx.now);
    }
    ctx.record(
        EventKind::IssuerUpdated,
        None,
        format!("trusted issuer {id} changed: {}", summary(&stored)),
    )
    .await?;
    Ok(view(issuers, stored))
}

/// What an issuer whose id or issuer is stored already is told (409).
fn taken(stored: &StoredIssuer) -> String {
    format!(
        "a trusted issuer with the id {:?} or the issuer {} exists",
        stored.id, stored.issuer
    )
}

/// Stores a change of a stored issuer: 404 if it is gone, 409 if another has its issuer.
async fn store_changed(ctx: &Ctx<'_>, stored: &StoredIssuer) -> Result<(), ApiError> {
    ctx.db
        .update_trusted_issuer(stored)
        .await
        .map_err(|e| match e {
            storage::Error::NotFound => ApiError::NotFound(no_such_issuer()),
            storage::Error::Conflict(_) => ApiError::Conflict(format!(
                "another trusted issuer has the issuer {}",
                stored.issuer
            )),
            other => other.into(),
        })
}

fn no_such_issuer() -> String {
    "there is no trusted issuer with this id".to_owned()
}

/// The issuers of a configuration file, `{"issuers": [...]}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    issuers: Vec<admin::NewTrustedIssuer>,
}

/// Stores the issuers `file` declares, each added or changed to match (checked as the admin API
/// checks them, but not read first: each is read in the background, and a provider that is
/// down at start is read again when its first token arrives). Several instances starting with
/// the same file store the same rows.
pub async fn declare_from_file(
    db: &crate::storage::Db,
    config: &crate::config::Config,
    issuers: &std::sync::Arc<TrustedIssuers>,
    file: &std::path::Path,
    now: crate::clock::Timestamp,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)?;
    let declared: Declared = super::parse_body(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let ctx = Ctx {
        db,
        config,
        actor: super::Actor::configuration_file(),
        now,
    };
    for new in &declared.issuers {
        let stored = checked(&ctx, new).map_err(|e| anyhow::anyhow!("issuer {:?}: {e}", new.id))?;
        declare(&ctx, &stored)
            .await
            .map_err(|e| anyhow::anyhow!("issuer {:?}: {e}", new.id))?;
        let issuers = issuers.clone();
        tokio::spawn(async move {
            if let Err(why) = issuers.refresh(&stored, now).await {
                tracing::warn!(issuer = %stored.issuer, error = %why, "a trusted issuer of the configuration file cannot be read yet");
            }
        });
    }
    Ok(())
}

/// Stores `stored` unless the same is stored: added, or changed to match.
async fn declare(ctx: &Ctx<'_>, stored: &StoredIssuer) -> Result<(), ApiError> {
    let same = |s: &StoredIssuer| {
        StoredIssuer {
            created_at: stored.created_at,
            ..s.clone()
        } == *stored
    };
    match ctx.db.trusted_issuer(&stored.id).await? {
        Some(existing) if same(&existing) => Ok(()),
        Some(existing) => {
            let kept = StoredIssuer {
                created_at: existing.created_at,
                ..stored.clone()
            };
            store_changed(ctx, &kept).await?;
            ctx.record(
                EventKind::IssuerUpdated,
                None,
                format!("trusted issuer {} changed: {}", stored.id, summary(stored)),
            )
            .await
        }
        None => {
            match ctx.db.insert_trusted_issuer(stored).await {
                // Another instance starting with the same file stored it first.
                Err(crate::storage::Error::Conflict(_))
                    if ctx
                        .db
                        .trusted_issuer(&stored.id)
                        .await?
                        .is_some_and(|s| same(&s)) =>
                {
                    return Ok(());
                }
                other => other.or_conflict(|| taken(stored))?,
            }
            ctx.record(
                EventKind::IssuerTrusted,
                None,
                format!("trusted issuer {} added: {}", stored.id, summary(stored)),
            )
            .await
        }
    }
}

/// Stops trusting issuer `id`: its tokens are refused from the next request, at every instance.
pub async fn remove(ctx: &Ctx<'_>, issuers: &TrustedIssuers, id: &str) -> Result<(), ApiError> {
    let Some(stored) = ctx.db.trusted_issuer(id).await? else {
        return Err(ApiError::NotFound(no_such_issuer()));
    };
    ctx.db
        .delete_trusted_issuer(id)
        .await
        .or_not_found(no_such_issuer)?;
    issuers.forget(id);
    ctx.record(
        EventKind::IssuerRemoved,
        None,
        format!("trusted issuer {id} removed ({})", stored.issuer),
    )
    .await
}

/// Reads issuer `id`'s metadata and keys again now (after a key rotation the API has not met
/// yet, say); what this instance then knows of it.
pub async fn refresh(
    ctx: &Ctx<'_>,
    issuers: &TrustedIssuers,
    id: &str,
) -> Result<admin::TrustedIssuer, ApiError> {
    let Some(stored) = ctx.db.trusted_issuer(id).await? else {
        return Err(ApiError::NotFound(no_such_issuer()));
    };
    // A failure is in the status it answers with (`last_error`), as the console shows it.
    let _ = issuers.refresh(&stored, ctx.now).await;
    Ok(view(issuers, stored))
}

#[utoipa::path(get, path = "/admin/issuers", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every trusted external issuer, with what the answering instance knows of it", body = Vec<shared::admin::TrustedIssuer>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::TrustedIssuer>>, ApiError> {
    all(&admin.ctx(&state), &state.issuers).await.map(Json)
}

#[utoipa::path(post, path = "/admin/issuers", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewTrustedIssuer,
    responses((status = 201, description = "Trusted from now on, its keys read", body = shared::admin::TrustedIssuer), (status = 422, description = "A rule was broken, or the issuer's metadata and keys could not be read (`invalid_issuer`)", body = shared::oauth::ErrorResponse), (status = 409, description = "The id or the issuer is taken", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewTrustedIssuer>,
) -> Result<(StatusCode, Json<admin::TrustedIssuer>), ApiError> {
    let added = add(&admin.ctx(&state), &state.issuers, &new).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(put, path = "/admin/issuers/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The trusted issuer")), request_body = shared::admin::NewTrustedIssuer,
    responses((status = 200, description = "Changed, its keys read again", body = shared::admin::TrustedIssuer), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 409, description = "Another trusted issuer has this issuer", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken, or the issuer could not be read (`invalid_issuer`)", body = shared::oauth::ErrorResponse)))]
pub async fn replace(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(new): Body<admin::NewTrustedIssuer>,
) -> Result<Json<admin::TrustedIssuer>, ApiError> {
    update(&admin.ctx(&state), &state.issuers, &id, &new)
        .await
        .map(Json)
}

#[utoipa::path(delete, path = "/admin/issuers/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The trusted issuer")),
    responses((status = 204, description = "No longer trusted: its tokens are refused from the next request"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    remove(&admin.ctx(&state), &state.issuers, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/admin/issuers/{id}/refresh", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The trusted issuer")),
    responses((status = 200, description = "What the answering instance knows of it after reading its metadata and keys again (`status.last_error` says why that failed, if it did)", body = shared::admin::TrustedIssuer), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse)))]
pub async fn reread(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<Json<admin::TrustedIssuer>, ApiError> {
    refresh(&admin.ctx(&state), &state.issuers, &id)
        .await
        .map(Json)
}
