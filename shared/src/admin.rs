//! The admin API's JSON bodies (`/admin/*` on the API origin, scope [`crate::scope::ADMIN`],
//! administrators only). The console in the browser app and the backend's command line build
//! the same requests.
//!
//! Requests reject unknown fields, so a misspelt field is an error instead of a silent no-op.
//! Times are Unix seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::oauth::GrantType;
use crate::scope::ScopeSet;

/// Inclusive bounds the server enforces; the console checks them before sending.
pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 1024;
pub const MAX_USERNAME_LEN: usize = 64;
pub const MAX_NAME_LEN: usize = 100;
pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_DESCRIPTION_LEN: usize = 200;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    User,
    /// May be granted the `admin` scope, and so use this API.
    Admin,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::User, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

crate::named!(Role, "role (user or admin)");

/// `GET /admin/users` lists these; the other user operations answer with one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// The groups the user is in, by name: rules of access policies match them, and a custom
    /// claim can carry them.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The user's custom attributes (Okta's profile attributes), by name: a custom claim can
    /// carry one.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub disabled: bool,
    pub created_at: i64,
}

/// `POST /admin/users`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub role: Role,
    /// At most [`MAX_GROUPS`] names (see [`check_group`]).
    #[serde(default)]
    pub groups: Vec<String>,
    /// Custom attributes, by name (see [`check_attributes`]).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// `PATCH /admin/users/{id}`: only the fields present change. Disabling a user also revokes
/// every grant (refresh token) they hold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Replaces the user's groups (`[]`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// Replaces the user's custom attributes (`{}`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// At most this many groups per user.
pub const MAX_GROUPS: usize = 10;
/// A group's name is at most this long.
pub const MAX_GROUP_LEN: usize = 32;

/// Whether `name` may be a group's: 1 to [`MAX_GROUP_LEN`] letters, digits and `_ . : -`. The
/// sentence says what is wrong.
pub fn check_group(name: &str) -> Result<(), String> {
    let charset = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if name.is_empty() || name.len() > MAX_GROUP_LEN || !charset {
        return Err(format!(
            "a group's name is 1 to {MAX_GROUP_LEN} letters, digits and _ . : - (such as \
             finance or eu-support), not {name:?}"
        ));
    }
    Ok(())
}

/// Whether `names` may be a list of groups: each a group's name ([`check_group`]), none twice.
pub fn check_groups(names: &[String]) -> Result<(), String> {
    for (i, name) in names.iter().enumerate() {
        check_group(name)?;
        if names[..i].contains(name) {
            return Err(format!("group {name:?} is listed twice"));
        }
    }
    Ok(())
}

/// At most this many custom attributes per user.
pub const MAX_ATTRIBUTES: usize = 10;
/// A custom attribute's name is at most this long (bytes of ASCII).
pub const MAX_ATTRIBUTE_NAME_LEN: usize = 32;
/// A custom attribute's value is at most this many characters.
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 100;

/// Whether `name` may be a custom attribute's: a letter, then up to
/// [`MAX_ATTRIBUTE_NAME_LEN`] letters, digits and `_ . -` in all, and not the name of one of
/// the attributes every user has ([`UserAttribute`]), in any letter case.
pub fn check_attribute_name(name: &str) -> Result<(), String> {
    let charset = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    let letter = name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if !letter || name.len() > MAX_ATTRIBUTE_NAME_LEN || !charset {
        return Err(format!(
            "a custom attribute's name is a letter, then letters, digits and _ . - ({} \
             characters at most, such as department or cost_center), not {name:?}",
            MAX_ATTRIBUTE_NAME_LEN
        ));
    }
    if let Some(builtin) = UserAttribute::ALL
        .iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "{name:?} is the attribute {builtin} every user has; a custom attribute needs \
             another name"
        ));
    }
    Ok(())
}

/// Whether `attributes` may be a user's custom attributes: at most [`MAX_ATTRIBUTES`], each
/// name checked by [`check_attribute_name`] (and no two the same in another letter case),
/// each value 1 to [`MAX_ATTRIBUTE_VALUE_LEN`] characters without control characters or
/// surrounding spaces. The sentence says what is wrong.
pub fn check_attributes(attributes: &BTreeMap<String, String>) -> Result<(), String> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(format!(
            "a user has at most {MAX_ATTRIBUTES} custom attributes, not {}",
            attributes.len()
        ));
    }
    let mut seen: Vec<&str> = Vec::with_capacity(attributes.len());
    for (name, value) in attributes {
        check_attribute_name(name)?;
        if let Some(other) = seen.iter().find(|o| o.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "attributes {other:?} and {name:?} differ only in letter case; keep one"
            ));
        }
        seen.push(name);
        let fits = !value.is_empty() && value.chars().count() <= MAX_ATTRIBUTE_VALUE_LEN;
        if !fits || value.chars().any(char::is_control) || value.trim() != value {
            return Err(format!(
                "attribute {name:?}: a value is 1 to {MAX_ATTRIBUTE_VALUE_LEN} characters, \
                 without control characters or spaces around it"
            ));
        }
    }
    Ok(())
}

/// `POST /admin/users/{id}/password`: sets a new password and ends the user's sessions (every
/// grant is revoked).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
}

/// The kinds of client the console creates (source document 003's "SPA" and "API services"
/// applications, and Okta's "native" device apps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// A public client (no secret) using the authorization code flow with PKCE.
    Browser,
    /// A confidential client using the client credentials grant.
    Service,
    /// A public client on a device without a browser or a keyboard (a TV, a command line),
    /// using the device authorization grant (RFC 8628).
    Device,
}

/// How a client authenticates where clients authenticate (RFC 7591 §2
/// `token_endpoint_auth_method`). A client with a secret may send it either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    /// A secret, in HTTP Basic (or in the body, `client_secret_post`).
    ClientSecretBasic,
    ClientSecretPost,
    /// A JWT signed with the client's own key (RFC 7523 §2.2); no secret at all.
    PrivateKeyJwt,
    /// A public client: its `client_id` alone.
    None,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// Bound on a JWK Set registered by value (a few keys are a few KiB).
pub const MAX_JWKS_BYTES: usize = 16 * 1024;

/// Per-client token lifetimes in seconds; `None` means the server-wide default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    #[serde(default)]
    pub access_token_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_token_idle_ttl: Option<i64>,
    #[serde(default)]
    pub refresh_token_absolute_ttl: Option<i64>,
}

/// Bounds of [`Lifetimes`] (the database checks them too).
pub const ACCESS_TOKEN_TTL_RANGE: (i64, i64) = (30, 86_400);
pub const REFRESH_TOKEN_TTL_RANGE: (i64, i64) = (60, 31_536_000);

/// A registered client as the admin API shows it: never its secret, not even hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// `false` for a public client.
    pub confidential: bool,
    /// First-party clients skip the consent screen.
    pub first_party: bool,
    pub grant_types: Vec<GrantType>,
    pub scope: ScopeSet,
    pub redirect_uris: Vec<String>,
    pub lifetimes: Lifetimes,
    /// It may start a login only with a request pushed to the PAR endpoint (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Its token requests must carry a DPoP proof: its tokens are always bound to its key
    /// (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// `private_key_jwt`: its public keys, by value (RFC 7517 §5)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// …or where they are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Where it may send the browser after a logout at the end-session endpoint (OpenID
    /// Connect RP-Initiated Logout 1.0 §3.1), matched exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the server posts a logout token when one of its logins ends (OpenID Connect
    /// Back-Channel Logout 1.0 §2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    pub created_at: i64,
}

/// `POST /admin/clients`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewClient {
    pub kind: ClientKind,
    pub name: String,
    /// Chosen by the server when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Space-separated.
    pub scope: String,
    /// Browser apps need at least one; services have none.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Browser apps only: also issue refresh tokens (when `offline_access` is asked for).
    #[serde(default)]
    pub refresh_tokens: bool,
    #[serde(default)]
    pub first_party: bool,
    #[serde(default)]
    pub lifetimes: Lifetimes,
    /// Browser apps only: logins start only with a pushed request (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Token requests without a DPoP proof are refused: every token is bound to the client's
    /// key (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Services: `client_secret_basic` (a secret is made and shown once; the default) or
    /// `private_key_jwt` (with `jwks` or `jwks_uri`, and no secret). Browser apps: `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,
    /// `private_key_jwt`: the client's public keys, a JWK Set (RFC 7517 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// `private_key_jwt`: the https URL of the client's JWK Set (read when it is registered,
    /// and when an assertion names a key not yet read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Browser apps: where the end-session endpoint may send the browser back after a logout
    /// (OpenID Connect RP-Initiated Logout 1.0 §3.1); absolute, matched exactly.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Clients that log users in: where the server posts a logout token when one of their
    /// logins ends (OpenID Connect Back-Channel Logout 1.0 §2.2); https, or http on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

/// `201` to `POST /admin/clients`; a service's secret is in it, and nowhere else ever again.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientCreated {
    pub client: Client,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// `PATCH /admin/clients/{id}`: only the fields present change; the result must still be a
/// consistent client (grant types that fit a public or confidential client, redirect URIs for
/// the code flow).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_party: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetimes: Option<Lifetimes>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens: Option<bool>,
    /// A `private_key_jwt` client's new keys, by value (replacing `jwks_uri` if it had one)…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub jwks: Option<serde_json::Value>,
    /// …or by reference (replacing `jwks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

/// `POST /admin/clients/{id}/secret`: the new secret, shown once. The old one stops working at
/// once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretRotated {
    pub client_id: String,
    pub client_secret: String,
}

/// A scope as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    pub name: String,
    pub description: String,
    /// Whether third-party clients need the user's consent for it.
    pub consent_required: bool,
    /// Scopes the server itself gives meaning to (`openid`, `admin`, the API's own): they can
    /// be described but not deleted.
    pub builtin: bool,
    /// Clients allowed to ask for it.
    pub clients: Vec<String>,
    /// Whether the root issuer offers it (its catalogue, `/admin/scopes`); a scope only custom
    /// servers offer is listed so that clients can be allowed it, and is changed at those
    /// servers (`/admin/servers/{id}/scopes`).
    #[serde(default = "yes")]
    pub root: bool,
    /// The custom authorization servers that offer a scope of this name as their own
    /// (OpenID Connect's scopes are every server's and list none).
    #[serde(default)]
    pub servers: Vec<String>,
}

/// `POST /admin/scopes`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewScope {
    pub name: String,
    pub description: String,
    #[serde(default = "yes")]
    pub consent_required: bool,
}

fn yes() -> bool {
    true
}

/// `PATCH /admin/scopes/{name}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_required: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiTokenState {
    Active,
    Expired,
    Revoked,
}

impl ApiTokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// An API token as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// The 16 hex digits after `amt_`.
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub scope: ScopeSet,
    pub state: ApiTokenState,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// `POST /admin/tokens`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewApiToken {
    /// The owner's username.
    pub username: String,
    pub name: String,
    /// Space-separated, within what the owner may have.
    pub scope: String,
    /// Without it the token lasts until revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<i64>,
}

/// `201` to `POST /admin/tokens`: `token` is shown this once.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiTokenCreated {
    pub api_token: ApiToken,
    pub token: String,
}

/// A signing key's place in its life cycle: **next** (published in the JWKS, not signing yet)
/// → **current** (signing) → **retired** (published until every token it signed has expired)
/// → removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    Next,
    Current,
    Retired,
}

impl KeyState {
    pub const ALL: [KeyState; 3] = [KeyState::Next, KeyState::Current, KeyState::Retired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
        }
    }
}

crate::named!(KeyState, "key state (next, current or retired)");

/// An algorithm the server signs with (RFC 7518 §3.1; EdDSA with Ed25519 keys, RFC 8037 §3.1).
/// Each has its own keys and rotation; an access token's algorithm is chosen by the server, an
/// ID token's is RS256, the one OpenID Connect requires every provider to offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SigningAlg {
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 3] = [SigningAlg::Es256, SigningAlg::Rs256, SigningAlg::EdDsa];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

crate::named!(SigningAlg, "signing algorithm (ES256, RS256 or EdDSA)");

/// A signing key as the admin API shows it (never its private part).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub state: KeyState,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
}

/// A custom authorization server as the admin API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationServer {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `{issuer}/oauth2/{id}`: its tokens' `iss`, and where its metadata and endpoints are.
    pub issuer: String,
    /// Its access tokens' `aud` when a token request names no resource (RFC 8707).
    pub audience: String,
    /// The other audiences it may issue access tokens for, each chosen with `resource`.
    #[serde(default)]
    pub extra_audiences: Vec<String>,
    pub signing_alg: SigningAlg,
    /// Its authorization endpoint takes only pushed requests (RFC 9126 §5).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 8414 metadata.
    pub metadata_url: String,
    pub created_at: i64,
}

/// `POST /admin/servers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAuthorizationServer {
    /// 1 to 64 letters, digits, `.`, `_`, `-`: the last part of its issuer.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// An absolute URI, e.g. `api://orders`: the `aud` of its tokens when a request names no
    /// resource.
    pub audience: String,
    /// Other absolute URIs it may issue tokens for, at most [`MAX_EXTRA_AUDIENCES`], each
    /// chosen with RFC 8707 `resource`.
    #[serde(default)]
    pub extra_audiences: Vec<String>,
    /// RS256 unless said (as Okta's custom servers).
    #[serde(default = "rs256")]
    pub signing_alg: SigningAlg,
    /// Logins start only with a request pushed to its PAR endpoint (RFC 9126 §5).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
}

/// `PUT /admin/servers/{id}`: what may change of a server (its id and its signing algorithm,
/// which its keys are made for, may not). Every instance issues and verifies with the change
/// at once on PostgreSQL (it is announced), within a reload interval otherwise. A token issued
/// for an audience taken away is inactive at the server's introspection from then on, and
/// refused by this server's API if it was the API's; other APIs that verify it themselves
/// accept it until it expires.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServerChange {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub audience: String,
    #[serde(default)]
    pub extra_audiences: Vec<String>,
    /// Logins start only with a request pushed to its PAR endpoint (RFC 9126 §5); absent keeps
    /// the server's setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
}

/// Bound on a server's [`NewAuthorizationServer::extra_audiences`].
pub const MAX_EXTRA_AUDIENCES: usize = 10;

fn rs256() -> SigningAlg {
    SigningAlg::Rs256
}

/// The JWS algorithms a trusted external issuer may be allowed to sign with: asymmetric ones
/// only (RFC 8725 §3.1; an HMAC key would be a secret shared with every API, and `none` is no
/// signature).
pub const EXTERNAL_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Where an external issuer's access tokens carry their scopes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScopeClaim {
    /// `scope`, a space-separated string (RFC 9068 §2.2.3, RFC 8693 §4.2).
    #[default]
    Scope,
    /// `scp`, an array of strings (Okta; Entra ID sends a space-separated string, also read).
    Scp,
}

impl ScopeClaim {
    pub const ALL: [ScopeClaim; 2] = [ScopeClaim::Scope, ScopeClaim::Scp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scope => "scope",
            Self::Scp => "scp",
        }
    }
}

crate::named!(ScopeClaim, "scope claim (scope or scp)");

/// An external OpenID provider whose access tokens the API accepts, as the admin API shows it,
/// with what this instance knows of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustedIssuer {
    pub id: String,
    /// Shown in the console and in refusals.
    pub name: String,
    /// Compared exactly with a token's `iss`; its metadata is at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// What its tokens' `aud` must hold for this API.
    pub audience: String,
    /// The JWS algorithms its tokens may be signed with (a subset of [`EXTERNAL_ALGS`]).
    pub algorithms: Vec<String>,
    pub scope_claim: ScopeClaim,
    /// Claims its tokens must carry, each with this value (or, for an array, among its values).
    pub required_claims: std::collections::BTreeMap<String, String>,
    pub created_at: i64,
    pub status: IssuerStatus,
}

/// What the instance that answered knows of a trusted issuer (each instance reads the
/// issuer's keys itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuerStatus {
    /// From its metadata, once read.
    pub jwks_uri: Option<String>,
    /// When its keys were last read.
    pub keys_fetched_at: Option<i64>,
    /// The `kid`s of the keys this instance holds for it.
    pub kids: Vec<String>,
    /// Why the last reading of its metadata or keys failed, if it did (the keys read before
    /// stay in use).
    pub last_error: Option<String>,
    /// Tokens naming it that this instance refused since it started.
    pub refusals: u64,
    pub last_refusal: Option<String>,
    pub last_refusal_at: Option<i64>,
}

/// `POST /admin/issuers`, and `PUT /admin/issuers/{id}` (where `id` must be the path's).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTrustedIssuer {
    /// 1 to 64 letters, digits, `.`, `_`, `-`.
    pub id: String,
    pub name: String,
    /// https (http for loopback addresses only), no query or fragment.
    pub issuer: String,
    pub audience: String,
    /// RS256 unless said.
    #[serde(default = "rs256_only")]
    pub algorithms: Vec<String>,
    #[serde(default)]
    pub scope_claim: ScopeClaim,
    #[serde(default)]
    pub required_claims: std::collections::BTreeMap<String, String>,
}

fn rs256_only() -> Vec<String> {
    vec!["RS256".to_owned()]
}

/// What a matching [`PolicyRule`] decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuleDecision {
    #[default]
    Allow,
    Deny,
}

impl RuleDecision {
    pub const ALL: [RuleDecision; 2] = [RuleDecision::Allow, RuleDecision::Deny];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

crate::named!(RuleDecision, "rule decision (allow or deny)");

/// `GET`/`PUT /admin/servers/{id}/policies`: an authorization server's access policies, in
/// evaluation order; a `PUT` replaces them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccessPolicies {
    pub policies: Vec<AccessPolicy>,
}

/// An access policy of an authorization server. Policies are tried in order, and in each policy that applies to the
/// client its rules in order: the first rule that matches the request decides, and a request
/// no rule matches is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccessPolicy {
    /// Unique within its server; refusals name it.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The client ids it applies to; empty for every client.
    #[serde(default)]
    pub clients: Vec<String>,
    /// At least one.
    pub rules: Vec<PolicyRule>,
}

/// A rule of an [`AccessPolicy`]: what it matches, what it decides, and the lifetimes of what it
/// allows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// Unique within its policy; refusals name it.
    pub name: String,
    /// The grant types it matches; empty for every grant type.
    #[serde(default)]
    pub grant_types: Vec<GrantType>,
    /// The roles of the user it matches; empty for any user. A rule with roles never matches a
    /// grant without a user (client credentials).
    #[serde(default)]
    pub roles: Vec<Role>,
    /// The user groups it matches (a user in any of them); empty for any user. Like roles,
    /// never matched by a grant without a user.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Absent for any scopes. An allow rule matches only requests whose every scope is one of
    /// these; a deny rule, requests for any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeSet>,
    /// Absent for any of the server's audiences. An allow rule matches only requests whose
    /// every resource (RFC 8707) is one of these; a deny rule, requests for any of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Whether an allow rule lets one token be for several audiences (RFC 8707 `resource`
    /// given more than once); without it, such a request gets `invalid_target`.
    #[serde(default)]
    pub several_audiences: bool,
    /// For an allow rule for the token-exchange grant (RFC 8693): whether the client may
    /// impersonate the subject, its new token naming no actor (§1.1), when it presents no
    /// `actor_token`; without it, the new token names the client as the actor (`act`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub impersonation: bool,
    #[serde(default)]
    pub decision: RuleDecision,
    /// The lifetimes of the tokens it allows; each absent one is the client's own, else the
    /// server-wide default. A deny rule has none.
    #[serde(default)]
    pub lifetimes: Lifetimes,
}

/// Bounds on `PUT /admin/servers/{id}/policies`.
pub const MAX_POLICIES: usize = 20;
pub const MAX_RULES: usize = 20;
pub const MAX_POLICY_CLIENTS: usize = 50;

/// `GET`/`PUT /admin/servers/{id}/scopes`: the scopes an authorization server offers beside
/// OpenID Connect's (`openid`, `profile`, `email`, `offline_access`, which every server
/// offers); a `PUT` replaces them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServerScopes {
    pub scopes: Vec<ServerScope>,
}

/// One scope of an authorization server: what its consent screen says, and whether a
/// third-party client needs the user's consent for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServerScope {
    pub name: String,
    pub description: String,
    #[serde(default = "yes")]
    pub consent_required: bool,
}

/// Bound on `PUT /admin/servers/{id}/scopes`.
pub const MAX_SERVER_SCOPES: usize = 50;

/// `GET`/`PUT /admin/servers/{id}/claims`: the custom claims an authorization server puts in
/// its access tokens, in order; a `PUT` replaces them all at once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomClaims {
    pub claims: Vec<CustomClaim>,
}

/// A claim an authorization server adds to its tokens: a constant `value`, the logged-in
/// user's `user_attribute`, or one of their `custom_attribute`s (exactly one of the three).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomClaim {
    /// Its name in the token: letters, digits and `_ . : / -` (a URI is a good name), never one
    /// of [`RESERVED_CLAIMS`].
    pub name: String,
    /// The token carries it when any of these scopes is granted; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<ScopeSet>,
    /// A constant: a string, a number, `true`/`false`, or a list of strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Value>))]
    pub value: Option<serde_json::Value>,
    /// The user's attribute it carries, in tokens with a user (a client acting for itself
    /// has none, and its tokens leave the claim out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_attribute: Option<UserAttribute>,
    /// The name of the user's custom attribute it carries (see [`User::attributes`]), in tokens
    /// with a user who has that attribute (the others leave the claim out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attribute: Option<String>,
    /// Which tokens carry it: the access token (without it), the ID token, or both.
    #[serde(default, skip_serializing_if = "ClaimToken::is_access")]
    pub token: ClaimToken,
}

/// A user's attribute that a [`CustomClaim`] can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UserAttribute {
    Username,
    Name,
    Email,
    Role,
    /// A list of strings (empty for none).
    Groups,
}

impl UserAttribute {
    pub const ALL: [UserAttribute; 5] = [
        UserAttribute::Username,
        UserAttribute::Name,
        UserAttribute::Email,
        UserAttribute::Role,
        UserAttribute::Groups,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Name => "name",
            Self::Email => "email",
            Self::Role => "role",
            Self::Groups => "groups",
        }
    }
}

crate::named!(
    UserAttribute,
    "user attribute (username, name, email, role or groups)"
);

/// Which tokens carry a [`CustomClaim`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClaimToken {
    #[default]
    Access,
    Id,
    Both,
}

impl ClaimToken {
    pub const ALL: [ClaimToken; 3] = [ClaimToken::Access, ClaimToken::Id, ClaimToken::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Id => "id",
            Self::Both => "both",
        }
    }

    pub fn is_access(&self) -> bool {
        *self == Self::Access
    }

    /// Whether the access token carries the claim.
    pub fn in_access(self) -> bool {
        self != Self::Id
    }

    /// Whether the ID token carries the claim.
    pub fn in_id(self) -> bool {
        self != Self::Access
    }
}

crate::named!(ClaimToken, "token (access, id or both)");

/// Claims this server sets itself or that carry a meaning a resource server may trust (RFC 7519
/// §4.1, RFC 9068 §2.2, OpenID Connect Core §2 and §5.1, RFC 7662 §2.2, RFC 8693 §4, RFC 9396
/// §2, RFC 9449 §6), which a custom claim never takes, in any letter case.
pub const RESERVED_CLAIMS: [&str; 30] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "scp",
    "client_id",
    "grant_id",
    "cnf",
    "act",
    "may_act",
    "azp",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "acr",
    "amr",
    "sid",
    "email",
    "email_verified",
    "name",
    "preferred_username",
    "authorization_details",
    "active",
    "token_type",
    "typ",
];

/// Bounds on `PUT /admin/servers/{id}/claims`.
pub const MAX_CLAIMS: usize = 20;
pub const MAX_CLAIM_NAME_LEN: usize = 100;
/// The most JSON all of a server's custom claims may add to a token (`"name":value,` each), so
/// that its tokens stay well within what verifiers, this server's included, accept.
pub const MAX_CLAIMS_LEN: usize = 1024;

/// Whether `name` may be a custom claim's: 1 to [`MAX_CLAIM_NAME_LEN`] letters, digits and
/// `_ . : / -`, and none of [`RESERVED_CLAIMS`] in any letter case (some JSON readers match
/// field names without regard to case). The sentence says what is wrong.
pub fn check_claim_name(name: &str) -> Result<(), String> {
    let charset = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_.:/-".contains(&b));
    if name.is_empty() || name.len() > MAX_CLAIM_NAME_LEN || !charset {
        return Err(format!(
            "a claim's name is 1 to {MAX_CLAIM_NAME_LEN} letters, digits and _ . : / - (a URI \
             such as https://example.com/tier is a good name)"
        ));
    }
    if let Some(reserved) = RESERVED_CLAIMS
        .iter()
        .find(|r| r.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "{name:?} is the claim {reserved:?}, which this server sets itself or which carries \
             a meaning resource servers trust; it cannot be a custom claim (reserved, in any \
             letter case: {})",
            RESERVED_CLAIMS.join(" ")
        ));
    }
    Ok(())
}

/// `POST /admin/preview`: what a server's token endpoint would answer a client's request, with
/// nothing issued, signed, stored or logged.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenPreviewRequest {
    /// The custom authorization server; the root issuer without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub client_id: String,
    pub grant_type: GrantType,
    /// The request's `scope`; absent as if the request left it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeSet>,
    /// The request's `resource` parameters (RFC 8707); empty for none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// For `authorization_code`: the user who would log in (the preview takes the login as
    /// done, and decides what the login and the code's redemption would).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The answer to a [`TokenPreviewRequest`]: the token endpoint's error, or the access token it
/// would issue (its header and claims, unsigned), and the policy and rule that decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPreview {
    /// The issuer the request would be sent to.
    pub issuer: String,
    /// Its token endpoint.
    pub token_endpoint: String,
    /// The error the endpoint would answer (RFC 6749 §5.2), if it would refuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::oauth::ErrorResponse>,
    /// The access policy and rule of a custom server that allowed or denied the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The access token's JOSE header, if one would be issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<PreviewHeader>,
    /// Its claims; `jti` is an example (each issuance draws its own) and the times are as if
    /// issued now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<crate::oauth::AccessTokenClaims>,
    /// The server's custom claims it would carry too, by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub custom_claims: std::collections::BTreeMap<String, serde_json::Value>,
    /// Its lifetime in seconds, as `expires_in` would say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The ID token's claims (unsigned; no `at_hash`, which needs the access token), if one
    /// would come with it (`openid` granted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub id_token: Option<serde_json::Value>,
    /// The refresh token's lifetime in seconds (until it is used, within the login's absolute
    /// lifetime), if one would come with it (`offline_access` granted to a client that may
    /// refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
}

/// The header of a previewed access token: the key that would sign it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewHeader {
    pub alg: SigningAlg,
    pub typ: String,
    pub kid: String,
}

/// `POST /admin/keys/rotate`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// Promote the next key even if resource servers may not have fetched it yet (for a
    /// leaked key).
    #[serde(default)]
    pub force: bool,
    /// The authorization server whose keys rotate; the root issuer's without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// The answer to a rotation: what changed, and the keys now.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeysRotated {
    pub changes: Vec<Event>,
    pub keys: Vec<SigningKey>,
}

/// What a security event records. The log stores and shows these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    ConsentGranted,
    ConsentDenied,
    TokenIssued,
    #[serde(rename = "refresh_token_reused")]
    RefreshReused,
    GrantRevoked,
    TokenRevoked,
    ClientAuthFailed,
    ClientAuthThrottled,
    KeyCreated,
    KeyActivated,
    KeyRetired,
    KeyRemoved,
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserUpdated,
    PasswordReset,
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientDeleted,
    ScopeCreated,
    ScopeUpdated,
    ScopeDeleted,
    ServerCreated,
    ServerUpdated,
    ServerDeleted,
    PoliciesUpdated,
    PolicyDenied,
    ClaimsUpdated,
    ServerScopesUpdated,
    IssuerTrusted,
    IssuerUpdated,
    IssuerRemoved,
    ExternalTokenRefused,
    /// An administrator made an initial access token for dynamic registration (RFC 7591 §3).
    RegistrationTokenCreated,
    RegistrationTokenDeleted,
    /// An error answer: the request id, the endpoint and why (see [`crate::api::Explanation`]).
    RequestRefused,
    /// The clock lab (demo mode) moved every instance's clock: the detail says how far.
    ClockMoved,
    /// A user logged out at the end-session endpoint (OpenID Connect RP-Initiated Logout):
    /// the detail says which logins ended.
    LoggedOut,
    /// A logout token was posted to a client's `backchannel_logout_uri` (OpenID Connect
    /// Back-Channel Logout), or a backend-for-frontend received one: the detail says what came
    /// of it.
    BackchannelLogout,
}

impl EventKind {
    pub const ALL: [EventKind; 44] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::ConsentGranted,
        Self::ConsentDenied,
        Self::TokenIssued,
        Self::RefreshReused,
        Self::GrantRevoked,
        Self::TokenRevoked,
        Self::ClientAuthFailed,
        Self::ClientAuthThrottled,
        Self::KeyCreated,
        Self::KeyActivated,
        Self::KeyRetired,
        Self::KeyRemoved,
        Self::ApiTokenCreated,
        Self::ApiTokenRevoked,
        Self::UserCreated,
        Self::UserUpdated,
        Self::PasswordReset,
        Self::ClientCreated,
        Self::ClientUpdated,
        Self::ClientSecretRotated,
        Self::ClientDeleted,
        Self::ScopeCreated,
        Self::ScopeUpdated,
        Self::ScopeDeleted,
        Self::ServerCreated,
        Self::ServerUpdated,
        Self::ServerDeleted,
        Self::PoliciesUpdated,
        Self::PolicyDenied,
        Self::ClaimsUpdated,
        Self::ServerScopesUpdated,
        Self::IssuerTrusted,
        Self::IssuerUpdated,
        Self::IssuerRemoved,
        Self::ExternalTokenRefused,
        Self::RegistrationTokenCreated,
        Self::RegistrationTokenDeleted,
        Self::RequestRefused,
        Self::ClockMoved,
        Self::LoggedOut,
        Self::BackchannelLogout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentDenied => "consent_denied",
            Self::TokenIssued => "token_issued",
            Self::RefreshReused => "refresh_token_reused",
            Self::GrantRevoked => "grant_revoked",
            Self::TokenRevoked => "token_revoked",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::ClientAuthThrottled => "client_auth_throttled",
            Self::KeyCreated => "key_created",
            Self::KeyActivated => "key_activated",
            Self::KeyRetired => "key_retired",
            Self::KeyRemoved => "key_removed",
            Self::ApiTokenCreated => "api_token_created",
            Self::ApiTokenRevoked => "api_token_revoked",
            Self::UserCreated => "user_created",
            Self::UserUpdated => "user_updated",
            Self::PasswordReset => "password_reset",
            Self::ClientCreated => "client_created",
            Self::ClientUpdated => "client_updated",
            Self::ClientSecretRotated => "client_secret_rotated",
            Self::ClientDeleted => "client_deleted",
            Self::ScopeCreated => "scope_created",
            Self::ScopeUpdated => "scope_updated",
            Self::ScopeDeleted => "scope_deleted",
            Self::ServerCreated => "server_created",
            Self::ServerUpdated => "server_updated",
            Self::ServerDeleted => "server_deleted",
            Self::PoliciesUpdated => "policies_updated",
            Self::PolicyDenied => "policy_denied",
            Self::ClaimsUpdated => "claims_updated",
            Self::ServerScopesUpdated => "server_scopes_updated",
            Self::IssuerTrusted => "issuer_trusted",
            Self::IssuerUpdated => "issuer_updated",
            Self::IssuerRemoved => "issuer_removed",
            Self::ExternalTokenRefused => "external_token_refused",
            Self::RegistrationTokenCreated => "registration_token_created",
            Self::RegistrationTokenDeleted => "registration_token_deleted",
            Self::RequestRefused => "request_refused",
            Self::ClockMoved => "clock_moved",
            Self::LoggedOut => "logged_out",
            Self::BackchannelLogout => "backchannel_logout",
        }
    }
}

crate::named!(EventKind, "security event kind");

/// One entry of the security event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub address: Option<String>,
    pub detail: String,
    /// The `X-Request-Id` of the request the event happened in (none for what no request
    /// caused: maintenance, the command line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For `request_refused`: which check failed, expected against got, and the remedy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::api::Explanation>,
}

/// Most events one `GET /admin/events` returns.
pub const MAX_EVENTS: i64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_attributes_are_checked_and_never_given_twice() {
        let of = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(check_attributes(&of(&[])).is_ok());
        assert!(
            check_attributes(&of(&[
                ("department", "R&D – Zürich"),
                ("cost_center", "42")
            ]))
            .is_ok()
        );
        let long = "é".repeat(MAX_ATTRIBUTE_VALUE_LEN);
        assert!(check_attributes(&of(&[("a", &long)])).is_ok());
        let longer = "é".repeat(MAX_ATTRIBUTE_VALUE_LEN + 1);
        let name33 = "a".repeat(MAX_ATTRIBUTE_NAME_LEN + 1);
        for bad in [
            of(&[("", "x")]),
            of(&[("1st", "x")]),
            of(&[("_x", "x")]),
            of(&[("a b", "x")]),
            of(&[(&name33, "x")]),
            of(&[("Email", "x")]),
            of(&[("groups", "x")]),
            of(&[("a", "")]),
            of(&[("a", " x")]),
            of(&[("a", "x\n")]),
            of(&[("a", &longer)]),
            of(&[("Tier", "1"), ("tier", "2")]),
        ] {
            assert!(check_attributes(&bad).is_err(), "{bad:?}");
        }
        let eleven: Vec<(String, String)> = (0..=MAX_ATTRIBUTES)
            .map(|i| (format!("a{i}"), "x".to_owned()))
            .collect();
        assert!(check_attributes(&eleven.into_iter().collect()).is_err());

        let new: NewUser = serde_json::from_str(
            r#"{"username":"u","name":"U","email":"u@x","password":"p","attributes":{"a":"1"}}"#,
        )
        .unwrap();
        assert_eq!(new.attributes, of(&[("a", "1")]));
        assert!(serde_json::from_str::<UserUpdate>(r#"{"attributes":{"a":1}}"#).is_err());
        for kept in ["{}", r#"{"attributes":null}"#] {
            assert_eq!(
                serde_json::from_str::<UserUpdate>(kept).unwrap().attributes,
                None
            );
        }
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        for alg in SigningAlg::ALL {
            assert_eq!(alg.as_str().parse::<SigningAlg>(), Ok(alg));
            assert_eq!(serde_json::to_value(alg).unwrap(), alg.as_str());
        }
        for state in KeyState::ALL {
            assert_eq!(state.as_str().parse::<KeyState>(), Ok(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::from(state.as_str())
            );
        }
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}

/// `POST /admin/registration-tokens`: an initial access token for dynamic client registration
/// (RFC 7591 §3), for whoever the administrator hands it to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRegistrationToken {
    /// Who it is for, or what: shown in the list.
    pub name: String,
    /// Seconds it may be used for; one day without it, at most thirty days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// An initial access token, as listed (the token itself is shown only when it is made).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationToken {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A new initial access token: the token, shown this once (only its hash is kept).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationTokenCreated {
    pub token: String,
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The longest an initial access token may be used for, in seconds (thirty days).
pub const MAX_REGISTRATION_TOKEN_SECS: u64 = 30 * 86_400;
