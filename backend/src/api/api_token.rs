//! Per-user API tokens: `Authorization: Token amt_<id>_<secret>`.
//!
//! The `amt_` prefix lets secret scanners recognise a leaked token; the 16-hex-digit id finds
//! the row without searching by secret; the secret (256 bits, base64url) is stored only as a
//! SHA-256 digest and compared in constant time. A token carries its owner's identity and a
//! fixed set of scopes, never more than its owner may have.

use shared::oauth::AccessTokenClaims;
use shared::scope::{ADMIN, OFFLINE_ACCESS, ScopeSet};

use super::error::ApiError;
use crate::clock::Timestamp;
use crate::crypto;
use crate::state::AppState;
use crate::storage::{self, Db, NewApiToken, User};

pub const PREFIX: &str = "amt_";
const ID_HEX_LEN: usize = 16;
const SECRET_LEN: usize = 43;
pub const MAX_NAME_LEN: usize = 64;
/// Scopes that mean something only in an OAuth flow, never on an API token.
const PROTOCOL_SCOPES: [&str; 2] = ["openid", OFFLINE_ACCESS];

/// Why a token could not be created, in words for the person creating it.
#[derive(Debug)]
pub enum CreateError {
    /// A name, scope or expiry that breaks the rules.
    Invalid(String),
    /// Scopes the owner may not have.
    Scope(String),
    /// The owner already has a token by this name.
    Duplicate(String),
    /// Storing it failed; answered as [`ApiError`] answers any storage error.
    Storage(storage::Error),
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::Invalid(description) => ApiError::Unprocessable {
                error: "invalid_request",
                description,
            },
            CreateError::Scope(description) => ApiError::Unprocessable {
                error: "invalid_scope",
                description,
            },
            CreateError::Duplicate(description) => ApiError::Conflict(description),
            CreateError::Storage(e) => e.into(),
        }
    }
}

/// The scopes `user` may put on an API token: every registered scope except the OAuth
/// protocol ones, and `admin` only for administrators.
pub async fn grantable_scopes(db: &Db, user: &User) -> storage::Result<ScopeSet> {
    let names = db.scope_names().await?;
    Ok(names
        .iter()
        .map(String::as_str)
        .filter(|s| !PROTOCOL_SCOPES.contains(s))
        .filter(|s| *s != ADMIN || user.is_admin())
        .collect())
}

/// What to create.
pub struct TokenRequest<'a> {
    pub name: &'a str,
    pub scope: &'a str,
    pub expires_at: Option<Timestamp>,
}

/// Creates a token for `owner`; returns its id and the token itself, which is never shown
/// again.
pub async fn create(
    db: &Db,
    owner: &User,
    request: &TokenRequest<'_>,
    now: Timestamp,
) -> Result<(String, String), CreateError> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control)
    {
        return Err(CreateError::Invalid(format!(
            "the name must be 1 to {MAX_NAME_LEN} characters, without control characters"
        )));
    }
    let scope = ScopeSet::parse(request.scope).map_err(|e| CreateError::Scope(e.to_string()))?;
    if scope.is_empty() {
        return Err(CreateError::Scope(
            "a token needs at least one scope".into(),
        ));
    }
    let allowed = grantable_scopes(db, owner)
        .await
        .map_err(CreateError::Storage)?;
    let refused: Vec<&str> = scope.difference(&allowed).collect();
    if !refused.is_empty() {
        return Err(CreateError::Scope(format!(
            "{} may not have: {}; allowed: {allowed}",
            owner.username,
            refused.join(" ")
        )));
    }
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(CreateError::Invalid(
            "the expiry must be in the future".into(),
        ));
    }
    let id: String = crypto::random_bytes::<8>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let secret = crypto::random_token(32);
    let stored = NewApiToken {
        id: &id,
        user_id: &owner.id,
        name,
        secret_hash: &crypto::sha256_hex(&secret),
        scope: &scope,
        expires_at: request.expires_at,
    };
    match db.insert_api_token(&stored, now).await {
        Ok(()) => {}
        Err(storage::Error::Conflict(_)) => {
            return Err(CreateError::Duplicate(format!(
                "{} already has a token named {name:?}",
                owner.username
            )));
        }
        Err(e) => return Err(CreateError::Storage(e)),
    }
    Ok((id.clone(), format!("{PREFIX}{id}_{secret}")))
}

/// Splits `amt_<id>_<secret>`; `None` unless it has exactly that shape.
pub fn parse(value: &str) -> Option<(&str, &str)> {
    let rest = value.strip_prefix(PREFIX)?;
    let (id, secret) = (rest.get(..ID_HEX_LEN)?, rest.get(ID_HEX_LEN + 1..)?);
    let shaped = rest.as_bytes().get(ID_HEX_LEN) == Some(&b'_')
        && id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && secret.len() == SECRET_LEN
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    shaped.then_some((id, secret))
}

/// Whether `value` looks like one of our API tokens (to explain a wrong scheme).
pub fn looks_like(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// A verified API token: claims as an access token would carry them, and its expiry.
pub struct Verified {
    pub claims: AccessTokenClaims,
    pub expires_at: Option<i64>,
}

/// Verifies `value` and records its use. The error says why, for the caller.
pub async fn verify(state: &AppState, value: &str) -> Result<Verified, ApiError> {
    let invalid = |why: &str| ApiError::InvalidToken(why.to_owned());
    let (id, secret) = parse(value).ok_or_else(|| invalid("the API token is malformed"))?;
    let row = state.db.api_token(id).await?;
    // An unknown id and a wrong secret read the same, and the secret is compared in constant
    // time either way (against a dummy digest when there is no row).
    let stored = row.as_ref().map_or(DUMMY_HASH, |r| r.secret_hash.as_str());
    let matches = crypto::verify_secret(secret, stored);
    let row = match row {
        Some(row) if matches => row,
        _ => return Err(invalid("unknown API token")),
    };
    let now = state.clock.now();
    if row.revoked_at.is_some() {
        return Err(invalid("the API token was revoked"));
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(invalid("the API token expired"));
    }
    if row.owner_disabled {
        return Err(invalid("the owner of this API token is disabled"));
    }
    // The row read above says when the last use was recorded: most requests write nothing.
    if row
        .last_used_at
        .is_none_or(|at| at <= now.plus_secs(-LAST_USE_RESOLUTION))
        && let Err(e) = state.db.touch_api_token(&row.id, now).await
    {
        tracing::warn!(error = %e, "recording an API token's use failed");
    }
    Ok(Verified {
        claims: AccessTokenClaims {
            iss: state.tokens.issuer().to_owned(),
            sub: row.user_id,
            aud: shared::oauth::Audience::one(state.tokens.audience()),
            exp: row.expires_at.map_or(i64::MAX, Timestamp::unix),
            iat: row.created_at.unix(),
            jti: row.id.clone(),
            client_id: format!("api-token:{}", row.id),
            scope: row.scope,
            nbf: None,
            grant_id: None,
            cnf: None,
            act: None,
            may_act: None,
        },
        expires_at: row.expires_at.map(Timestamp::unix),
    })
}

/// `last_used_at` is kept to the minute: one write a minute for a busy token.
const LAST_USE_RESOLUTION: i64 = 60;

const DUMMY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_exact_shape() {
        let secret = "a".repeat(SECRET_LEN);
        let good = format!("amt_0123456789abcdef_{secret}");
        assert_eq!(parse(&good), Some(("0123456789abcdef", secret.as_str())));
        for bad in [
            String::new(),
            "amt_".into(),
            format!("amt_0123456789ABCDEF_{secret}"),
            format!("amt_0123456789abcdeX_{secret}"),
            format!("amt_0123456789abcdef-{secret}"),
            format!("amt_0123456789abcdef_{secret}a"),
            format!("amt_0123456789abcdef_{}", &secret[1..]),
            format!("amt_0123456789abcdef_{}!", &secret[1..]),
            format!("xyz_0123456789abcdef_{secret}"),
            "amt_é".into(),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }
}
