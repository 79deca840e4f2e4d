//! Users: list, create, change (name, email, role, groups, custom attributes, disabled), reset
//! a password.
//!
//! Disabling a user or resetting their password revokes every grant they hold, so refresh
//! tokens stop at once; access tokens already issued run out within their lifetime (at most
//! 15 minutes by default), and the admin API itself re-reads the role on every request.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{self, MAX_NAME_LEN, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

use super::{Administrator, Answered, Body, Ctx, Named, identifier, text};
use crate::api::error::ApiError;
use crate::crypto;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::{self, Attributes, EndedLogin, NewUser, Spaced, User, UserChanges};

const INVALID: &str = "invalid_user";

pub fn view(user: User) -> admin::User {
    admin::User {
        role: user.role,
        id: user.id,
        username: user.username,
        name: user.name,
        email: user.email,
        groups: user.groups.0,
        attributes: user.attributes.0,
        disabled: user.disabled,
        created_at: user.created_at.unix(),
    }
}

pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<admin::User>, ApiError> {
    Ok(ctx.db.users().await?.into_iter().map(view).collect())
}

/// The user named `username`, or 404.
pub async fn by_username(ctx: &Ctx<'_>, username: &str) -> Result<User, ApiError> {
    ctx.db
        .user_by_username(username)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no user {username:?}")))
}

async fn by_id(ctx: &Ctx<'_>, id: &str) -> Result<User, ApiError> {
    ctx.db
        .user_by_id(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no user with id {id:?}")))
}

/// Creates a user; 409 if the username is taken.
pub async fn add(ctx: &Ctx<'_>, new: &admin::NewUser) -> Result<admin::User, ApiError> {
    let username = identifier(
        "username",
        &new.username,
        admin::MAX_USERNAME_LEN,
        true,
        INVALID,
    )?;
    let name = text("name", &new.name, MAX_NAME_LEN, INVALID)?;
    let email = email(&new.email)?;
    let groups = groups(&new.groups)?;
    let attributes = attributes(&new.attributes)?;
    let hash = password_hash(&username, &new.password).await?;
    let id = format!("usr_{}", crypto::random_token(12));
    let stored = NewUser {
        id: &id,
        username: &username,
        name: &name,
        email: &email,
        password_hash: &hash,
        role: new.role,
        groups: &groups,
        attributes: &attributes,
    };
    ctx.db
        .insert_user(&stored, ctx.now)
        .await
        .or_conflict(|| format!("the username {username:?} is taken"))?;
    ctx.record(
        EventKind::UserCreated,
        None,
        format!("created user {username} ({id}), role {}", new.role.as_str()),
    )
    .await?;
    by_id(ctx, &id).await.map(view)
}

/// Applies the fields present. The last enabled administrator can be neither demoted nor
/// disabled: that would leave nobody able to use this API. Disabling a user revokes every grant
/// they hold, in the same transaction.
/// The user as changed, and the logins the change ended (disabling the user ends them all), for
/// their clients to be told (Back-Channel Logout).
pub async fn change(
    ctx: &Ctx<'_>,
    id: &str,
    update: &admin::UserUpdate,
) -> Result<(admin::User, Vec<EndedLogin>), ApiError> {
    let name = update
        .name
        .as_deref()
        .map(|n| text("name", n, MAX_NAME_LEN, INVALID))
        .transpose()?;
    let email = update.email.as_deref().map(email).transpose()?;
    let groups = update.groups.as_deref().map(groups).transpose()?;
    let attributes = update.attributes.as_ref().map(attributes).transpose()?;
    let changes = UserChanges {
        name: name.as_deref(),
        email: email.as_deref(),
        role: update.role,
        groups: groups.as_ref(),
        attributes: attributes.as_ref(),
        disabled: update.disabled,
    };
    let updated = match ctx.db.update_user(id, &changes, ctx.now).await {
        Ok(updated) => updated,
        Err(storage::Error::NotFound) => {
            return Err(ApiError::NotFound(format!(
                "there is no user with id {id:?}"
            )));
        }
        Err(storage::Error::Conflict(_)) => {
            let username = by_id(ctx, id).await?.username;
            return Err(ApiError::Conflict(format!(
                "{username} is the last enabled administrator; promote another user first"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let (before, after) = (&updated.before, &updated.after);
    let mut what = Vec::new();
    if name.is_some() {
        what.push("name".to_owned());
    }
    if email.is_some() {
        what.push("email".to_owned());
    }
    if after.groups != before.groups {
        what.push(format!("groups [{}]", after.groups.joined()));
    }
    if after.attributes != before.attributes {
        // Their names only: the values may be personal data.
        let names: Vec<&str> = after.attributes.0.keys().map(String::as_str).collect();
        what.push(format!("attributes [{}]", names.join(" ")));
    }
    if after.role != before.role {
        what.push(format!("role {}", after.role));
    }
    if after.disabled != before.disabled {
        what.push(
            if after.disabled {
                "disabled"
            } else {
                "enabled"
            }
            .to_owned(),
        );
    }
    let mut detail = format!(
        "user {} ({id}): {}",
        after.username,
        if what.is_empty() {
            "nothing changed".to_owned()
        } else {
            what.join(", ")
        }
    );
    if after.disabled && !before.disabled {
        detail.push_str(&format!("; {} grants revoked", updated.ended.len()));
    }
    // The change is made: an event log that fails now must not lose the logins it ended
    // (their clients are still to be told).
    if let Err(e) = ctx.record(EventKind::UserUpdated, None, detail).await {
        tracing::error!(error = ?e, user = %id, "the user was changed, but the event log failed");
    }
    Ok((view(updated.after), updated.ended))
}

/// Sets a new password and ends the user's sessions (their grants are revoked with it).
/// The logins it ended are returned, for their clients to be told (Back-Channel Logout).
pub async fn set_password(
    ctx: &Ctx<'_>,
    id: &str,
    password: &str,
) -> Result<Vec<EndedLogin>, ApiError> {
    let user = by_id(ctx, id).await?;
    let hash = password_hash(&user.username, password).await?;
    let ended = ctx
        .db
        .set_password_hash(id, &hash, ctx.now)
        .await
        .or_not_found(|| format!("there is no user with id {id:?}"))?;
    let recorded = ctx
        .record(
            EventKind::PasswordReset,
            None,
            format!(
                "password of {} ({id}) reset; {} grants revoked",
                user.username,
                ended.len()
            ),
        )
        .await;
    // As in `change`: the reset is made, and its ended logins must not be lost.
    if let Err(e) = recorded {
        tracing::error!(error = ?e, user = %id, "the password was reset, but the event log failed");
    }
    Ok(ended)
}

/// At most [`admin::MAX_GROUPS`] group names, each once, stored sorted.
fn groups(names: &[String]) -> Result<Spaced, ApiError> {
    let invalid = |description: String| ApiError::Unprocessable {
        error: INVALID,
        description,
    };
    if names.len() > admin::MAX_GROUPS {
        return Err(invalid(format!(
            "a user is in at most {} groups",
            admin::MAX_GROUPS
        )));
    }
    admin::check_groups(names).map_err(invalid)?;
    let mut sorted = names.to_vec();
    sorted.sort();
    Ok(Spaced(sorted))
}

/// Custom attributes as [`admin::check_attributes`] allows them.
fn attributes(
    attributes: &std::collections::BTreeMap<String, String>,
) -> Result<Attributes, ApiError> {
    admin::check_attributes(attributes).map_err(|description| ApiError::Unprocessable {
        error: INVALID,
        description,
    })?;
    Ok(Attributes(attributes.clone()))
}

/// RFC 5321's limit, one `@` with something on each side, no spaces: enough to catch typing
/// mistakes; only a message proves an address works.
fn email(value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    let shaped = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if !shaped {
        return Err(ApiError::Unprocessable {
            error: INVALID,
            description: format!("{value:?} is not an email address"),
        });
    }
    Ok(value.to_owned())
}

/// NIST SP 800-63B §5.1.1.2: a minimum length and no composition rules; a password equal to
/// the username is refused. Hashed with Argon2id off the async threads.
async fn password_hash(username: &str, password: &str) -> Result<String, ApiError> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&length) {
        return Err(ApiError::Unprocessable {
            error: "weak_password",
            description: format!(
                "the password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters long"
            ),
        });
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(ApiError::Unprocessable {
            error: "weak_password",
            description: "the password must not be the username".into(),
        });
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

#[utoipa::path(get, path = "/admin/users", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every user", body = Vec<shared::admin::User>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::User>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

#[utoipa::path(post, path = "/admin/users", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewUser,
    responses((status = 201, description = "The new user", body = shared::admin::User), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewUser>,
) -> Result<(StatusCode, Json<admin::User>), ApiError> {
    let user = add(&admin.ctx(&state), &new).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(patch, path = "/admin/users/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")), request_body = shared::admin::UserUpdate,
    responses((status = 200, description = "The user as changed", body = shared::admin::User), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(update): Body<admin::UserUpdate>,
) -> Result<Json<admin::User>, ApiError> {
    let ctx = admin.ctx(&state);
    let (user, ended) = change(&ctx, &id, &update).await?;
    // Disabling the user ended their logins: their clients are told (Back-Channel Logout).
    crate::oauth::logout::backchannel::notify_later(&state, &id, ended, ctx.now);
    Ok(Json(user))
}

#[utoipa::path(post, path = "/admin/users/{id}/password", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")), request_body = shared::admin::PasswordReset,
    responses((status = 204, description = "Changed; the user's logins are revoked"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse)))]
pub async fn reset_password(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(reset): Body<admin::PasswordReset>,
) -> Result<StatusCode, ApiError> {
    let ctx = admin.ctx(&state);
    let ended = set_password(&ctx, &id, &reset.password).await?;
    crate::oauth::logout::backchannel::notify_later(&state, &id, ended, ctx.now);
    Ok(StatusCode::NO_CONTENT)
}
