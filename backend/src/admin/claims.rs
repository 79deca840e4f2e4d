//! The custom claims of a custom authorization server (see [`crate::servers::claims`]): read
//! them, or replace the whole ordered list at once, checked as a whole before anything is
//! stored.

use axum::Json;
use axum::extract::State;
use serde_json::Value;
use shared::admin::{self, MAX_CLAIMS, MAX_CLAIMS_LEN, UserAttribute};

use super::{Administrator, Answered, Body, Ctx, Named};
use crate::api::error::ApiError;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::{ClaimValue, StoredClaim};

const INVALID: &str = "invalid_claim";

fn invalid(description: String) -> ApiError {
    ApiError::Unprocessable {
        error: INVALID,
        description,
    }
}

fn view(c: StoredClaim) -> admin::CustomClaim {
    let (value, user_attribute, custom_attribute) = match c.value {
        ClaimValue::Constant(value) => (Some(value), None, None),
        ClaimValue::User(attribute) => (None, Some(attribute), None),
        ClaimValue::Custom(name) => (None, None, Some(name)),
    };
    admin::CustomClaim {
        name: c.name,
        scopes: c.scopes,
        value,
        user_attribute,
        custom_attribute,
        token: c.token,
    }
}

/// The most JSON a user's `attribute` adds as a claim's value, quotes included. Usernames are
/// ASCII that JSON never escapes; a name's characters count 4 bytes (the most UTF-8 takes, more
/// than the 2 of an escaped `"` or `\`; control characters are refused); an address's 254
/// characters may each be a `"` or `\`, which JSON escapes to 2 bytes.
fn widest(attribute: UserAttribute) -> usize {
    2 + match attribute {
        UserAttribute::Username => admin::MAX_USERNAME_LEN,
        UserAttribute::Name => 4 * admin::MAX_NAME_LEN,
        UserAttribute::Email => 2 * 254,
        UserAttribute::Role => "admin".len(),
        // `["a","b"]`: each name quoted, with a comma (the list's brackets are the 2 above).
        UserAttribute::Groups => admin::MAX_GROUPS * (admin::MAX_GROUP_LEN + 3),
    }
}

/// The custom claims of server `id`, in order.
pub async fn of(ctx: &Ctx<'_>, id: &str) -> Result<admin::CustomClaims, ApiError> {
    super::servers::stored(ctx, id).await?;
    let stored = ctx.db.custom_claims(id).await?;
    Ok(admin::CustomClaims {
        claims: stored.into_iter().map(view).collect(),
    })
}

/// A claim's name (see [`admin::check_claim_name`]).
fn name(raw: &str) -> Result<String, ApiError> {
    admin::check_claim_name(raw).map_err(invalid)?;
    Ok(raw.to_owned())
}

/// A constant value: a string, a number, a boolean, or a list of strings.
fn value(name: &str, value: &Value) -> Result<Value, ApiError> {
    let shape = match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        Value::Null | Value::Object(_) => false,
    };
    if !shape {
        return Err(invalid(format!(
            "claim {name:?}: the value must be a string, a number, true or false, or a list of \
             strings"
        )));
    }
    Ok(value.clone())
}

/// `new`, for server `server`, checked as a whole: bounds, names, unique names (in any letter
/// case), scopes that exist, values, and what they add to a token.
async fn checked(
    ctx: &Ctx<'_>,
    server: &str,
    new: &[admin::CustomClaim],
) -> Result<Vec<StoredClaim>, ApiError> {
    if new.len() > MAX_CLAIMS {
        return Err(invalid(format!(
            "at most {MAX_CLAIMS} custom claims per authorization server"
        )));
    }
    // A scope deleted since a claim named it may stay with that claim (the list read back can
    // be sent again unchanged); a new one must exist.
    let mut scopes = super::server_scopes::offered_names(ctx, server).await?;
    for stored in ctx.db.custom_claims(server).await? {
        scopes.extend(
            stored
                .scopes
                .iter()
                .flat_map(|s| s.iter().map(str::to_owned)),
        );
    }
    let mut claims: Vec<StoredClaim> = Vec::with_capacity(new.len());
    let mut added = 0;
    for c in new {
        let name = name(&c.name)?;
        if let Some(other) = claims.iter().find(|o| o.name.eq_ignore_ascii_case(&name)) {
            return Err(invalid(format!(
                "two claims are named {name:?} and {:?}, which some readers take for one",
                other.name
            )));
        }
        if let Some(wanted) = &c.scopes {
            if wanted.is_empty() {
                return Err(invalid(format!(
                    "claim {name:?}: scopes lists no scope; leave it out for a claim in every \
                     token"
                )));
            }
            if let Some(unknown) = wanted.iter().find(|s| !scopes.contains(*s)) {
                return Err(invalid(format!(
                    "claim {name:?}: authorization server {server} offers no scope {unknown:?} \
                     (see GET /admin/servers/{server}/scopes)"
                )));
            }
        }
        let (value, width) = match (&c.value, c.user_attribute, &c.custom_attribute) {
            (Some(constant), None, None) => {
                let value = value(&name, constant)?;
                let width = value.to_string().len();
                (ClaimValue::Constant(value), width)
            }
            (None, Some(attribute), None) => (ClaimValue::User(attribute), widest(attribute)),
            (None, None, Some(attribute)) => {
                admin::check_attribute_name(attribute)
                    .map_err(|e| invalid(format!("claim {name:?}: {e}")))?;
                // Each character 4 bytes at most (control characters are refused), quoted.
                let width = 2 + 4 * admin::MAX_ATTRIBUTE_VALUE_LEN;
                (ClaimValue::Custom(attribute.clone()), width)
            }
            (None, None, None) => {
                return Err(invalid(format!(
                    "claim {name:?} needs a value (a constant), a user_attribute (one of {}) or \
                     a custom_attribute (the name of a user's custom attribute)",
                    UserAttribute::ALL.map(UserAttribute::as_str).join(", ")
                )));
            }
            _ => {
                return Err(invalid(format!(
                    "claim {name:?} has more than one of value, user_attribute and \
                     custom_attribute; give one of them"
                )));
            }
        };
        // `"name":value,` as the token carries it.
        added += name.len() + width + 4;
        if added > MAX_CLAIMS_LEN {
            return Err(invalid(format!(
                "the claims would add more than {MAX_CLAIMS_LEN} bytes of JSON to every token \
                 (the limit is reached at claim {name:?}): shorten names or values"
            )));
        }
        claims.push(StoredClaim {
            value,
            name,
            scopes: c.scopes.clone(),
            token: c.token,
        });
    }
    Ok(claims)
}

/// Replaces the custom claims of server `id` with `new`, all at once; the next token the server
/// issues at any instance carries them.
pub async fn replace(
    ctx: &Ctx<'_>,
    id: &str,
    new: &[admin::CustomClaim],
) -> Result<admin::CustomClaims, ApiError> {
    let claims = checked(ctx, id, new).await?;
    ctx.db
        .replace_custom_claims(id, &claims)
        .await
        .or_not_found(super::servers::no_such_server)?;
    let names: Vec<&str> = claims.iter().map(|c| c.name.as_str()).collect();
    ctx.record(
        EventKind::ClaimsUpdated,
        None,
        format!(
            "authorization server {id}: {} custom claims ({})",
            claims.len(),
            names.join(", ")
        ),
    )
    .await?;
    Ok(admin::CustomClaims {
        claims: claims.into_iter().map(view).collect(),
    })
}

#[utoipa::path(get, path = "/admin/servers/{id}/claims", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")),
    responses((status = 200, description = "Its custom claims, in order", body = shared::admin::CustomClaims), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<Json<admin::CustomClaims>, ApiError> {
    of(&admin.ctx(&state), &id).await.map(Json)
}

#[utoipa::path(put, path = "/admin/servers/{id}/claims", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The authorization server")), request_body = shared::admin::CustomClaims,
    responses((status = 200, description = "Stored: the next token the server issues at every instance carries them", body = shared::admin::CustomClaims), (status = 422, description = "A rule was broken (`invalid_claim`), naming the claim", body = shared::oauth::ErrorResponse), (status = 404, description = "No such server", body = shared::oauth::ErrorResponse)))]
pub async fn put(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(new): Body<admin::CustomClaims>,
) -> Result<Json<admin::CustomClaims>, ApiError> {
    replace(&admin.ctx(&state), &id, &new.claims)
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_and_values_are_checked() {
        assert!(name("tier").is_ok());
        assert!(name("https://example.com/claims/tier").is_ok());
        for bad in [
            "",
            "sub",
            "SUB",
            "Scope",
            "client_ID",
            "email",
            "a b",
            "é",
            "a\"b",
        ] {
            assert!(name(bad).is_err(), "{bad:?}");
        }
        assert!(name(&"a".repeat(shared::admin::MAX_CLAIM_NAME_LEN + 1)).is_err());
        for good in [
            json!("gold"),
            json!(3),
            json!(1.5),
            json!(false),
            json!(["a", "b"]),
            json!([]),
        ] {
            assert_eq!(value("c", &good).unwrap(), good);
        }
        for bad in [
            json!(null),
            json!({"a": 1}),
            json!([1]),
            json!(["a", {"b": 1}]),
        ] {
            assert!(value("c", &bad).is_err(), "{bad}");
        }
    }
}
