//! The resource server's JSON bodies.

use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;

/// `GET /api/hello`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hello {
    pub message: String,
    /// Whether the request carried a valid access token (the endpoint answers either way).
    pub authenticated: bool,
}

/// `GET /api/whoami`: who the access token speaks for.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    pub subject: String,
    pub client_id: String,
    pub scope: ScopeSet,
    /// `user` when a person logged in, `client` for the client-credentials grant.
    pub subject_type: SubjectType,
    /// How the caller authenticated: `Bearer` (an OAuth access token) or `Token` (an API
    /// token, whose `client_id` is `api-token:<id>`).
    pub auth_scheme: String,
    /// `None` for an API token without an expiry.
    pub expires_at: Option<i64>,
    /// Who issued the token (its `iss`): this server's root issuer, or one of its
    /// authorization servers (`{issuer}/oauth2/{id}`).
    #[serde(default)]
    pub issuer: String,
    /// RFC 8693 §4.1: on a token a token exchange issued, who acts for `subject` (prior actors
    /// nested within).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<crate::oauth::Actor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectType {
    User,
    Client,
}

/// `GET /api/me`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub email: String,
}

/// One item of `GET /api/products`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Price in cents, so no amount is ever rounded.
    pub price_cents: i64,
}

/// `POST /api/orders`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub product_id: i64,
    pub quantity: i64,
}

/// Inclusive bounds on [`NewOrder::quantity`].
pub const MIN_QUANTITY: i64 = 1;
pub const MAX_QUANTITY: i64 = 100;

/// An order as stored; `GET /api/orders` lists the caller's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub total_cents: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// Why the server refused a request, as its security event log keeps it: what a signed-in
/// user reads about their own requests (`GET /api/me/refusals`) and an administrator about
/// any (`GET /admin/events?request_id=`). Never a token, secret or password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    /// The method and route template that answered, as `POST /token`.
    pub endpoint: String,
    /// The HTTP status of the answer (303 for an error sent back to a redirect URI).
    pub status: u16,
    /// The error code the answer carried (RFC 6749 §5.2, RFC 6750 §3.1, or the API's own).
    pub error: String,
    /// The answer's `error_description`.
    pub description: String,
    /// The check that failed, when the refusal came from one: `audience`, `exp`, `kid`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// What the check wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the request brought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub got: Option<String>,
    /// What to do about it, in one sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    /// The issuer the presented token named (the token itself is never kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The `kid` of the presented token's header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The `jti` of the presented token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// One refusal of a request the caller made, newest first in `GET /api/me/refusals`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    /// The `X-Request-Id` of the refused answer.
    pub request_id: String,
    /// Unix seconds.
    pub at: i64,
    /// The client the request came through, when it was known.
    pub client_id: Option<String>,
    pub explanation: Explanation,
}

/// Most refusals `GET /api/me/refusals` returns.
pub const MAX_REFUSALS: i64 = 50;

/// `POST /api/debug/token`: a token to check as this API would, for one of its endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenQuestion {
    /// Any JWT (at most 4096 bytes). It is neither stored nor logged.
    pub token: String,
    /// The endpoint whose scope to check too, one of [`ENDPOINTS`] (`GET /api/orders`).
    #[serde(default)]
    pub endpoint: Option<String>,
}

/// One check of a token, in the order the API makes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenCheck {
    /// `format`, `typ`, `alg`, `issuer`, `kid`, `signature`, `claims`, `exp`, `nbf`,
    /// `revocation`, `audience`, `scope`, or `verification` (a trusted external issuer's own).
    pub name: String,
    pub passed: bool,
    pub expected: String,
    pub got: String,
}

/// What the API's real verification says of a token, and each check that led there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenAnswer {
    /// Whether the API accepts the token (for the endpoint's scope, if one was named).
    pub accepted: bool,
    /// The API's own words: its refusal's `error_description`, or what it accepts the token as.
    pub verdict: String,
    /// The checks in order: up to the first that failed while the signature is unverified,
    /// then every one.
    pub checks: Vec<TokenCheck>,
    /// The server's clock, Unix seconds: what `exp` and `nbf` were checked against.
    pub server_time: i64,
}

/// The API's endpoints whose only rule is a scope (`None`: any valid token), for the token
/// debugger's scope check. (`/api/me` also needs a user of this server, the admin API an
/// administrator: not only scopes, so not here.)
pub const ENDPOINTS: [(&str, Option<&str>); 4] = [
    ("GET /api/whoami", None),
    ("GET /api/products", Some(crate::scope::PRODUCTS_READ)),
    ("GET /api/orders", Some(crate::scope::ORDERS_READ)),
    ("POST /api/orders", Some(crate::scope::ORDERS_WRITE)),
];

/// At most this many preflights are kept per origin (and this many origins), newest first.
pub const MAX_PREFLIGHTS: usize = 20;

/// `GET /api/cors/preflights?origin=…` (demo mode): the CORS preflights this instance answered
/// for an origin, which the page that caused them cannot observe (the Fetch standard sends them
/// on the page's behalf and hides them from its scripts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preflights {
    pub origin: String,
    /// Newest first, at most [`MAX_PREFLIGHTS`].
    pub preflights: Vec<Preflight>,
}

/// One `OPTIONS` preflight: what the browser asked and what this server answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preflight {
    /// When it was answered, in milliseconds since the Unix epoch (the server's clock).
    pub at_ms: i64,
    /// The path asked about (no query).
    pub path: String,
    /// `Access-Control-Request-Method`.
    pub request_method: String,
    /// `Access-Control-Request-Headers`, as sent (lowercase names, comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_headers: Option<String>,
    pub status: u16,
    /// The `Access-Control-*` headers of the answer (and `Vary`), in order. Without
    /// `Access-Control-Allow-Origin` the browser refuses the actual request.
    pub response_headers: Vec<(String, String)>,
    /// The `X-Request-Id` of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// At most this many of a user's logins are listed, newest first.
pub const MAX_GRANTS: i64 = 10;
/// At most this many refresh tokens are listed per login (the newest).
pub const MAX_FAMILY_TOKENS: i64 = 100;

/// One of `GET /api/me/grants`: a login (an OAuth grant) and its refresh-token family, oldest
/// token first. Revoking the grant ends every token of the family and its access tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GrantFamily {
    pub grant_id: String,
    pub client_id: String,
    pub scope: ScopeSet,
    /// Unix seconds: when the login's code was redeemed, and when the family ends however it is
    /// used.
    pub created_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Why it was revoked: `refresh token reused`, `revoked by the client` (a logout), …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
    pub refresh_tokens: Vec<FamilyToken>,
}

/// A refresh token of a [`GrantFamily`], never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FamilyToken {
    /// The first [`FAMILY_TOKEN_ID_CHARS`] hex characters of the SHA-256 of the token (what the
    /// server stores): whoever holds the token can compute it and recognise theirs.
    pub id: String,
    pub created_at: i64,
    pub expires_at: i64,
    /// When it was exchanged for its successor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_at: Option<i64>,
    pub state: FamilyTokenState,
}

/// How many hex characters of the hash a [`FamilyToken`] shows.
pub const FAMILY_TOKEN_ID_CHARS: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FamilyTokenState {
    /// Usable: the newest of a family that is neither revoked nor expired.
    Live,
    /// Exchanged for its successor: presenting it again is a reuse, which revokes the family.
    Spent,
    /// Past its idle lifetime or the family's.
    Expired,
    /// Unused when its family was revoked.
    Revoked,
}

impl FamilyTokenState {
    /// The state of a token given when it was used, whether its family is revoked and whether
    /// it (or its family) has expired.
    pub fn of(used: bool, family_revoked: bool, expired: bool) -> Self {
        match (used, family_revoked, expired) {
            (true, _, _) => Self::Spent,
            (false, true, _) => Self::Revoked,
            (false, false, true) => Self::Expired,
            (false, false, false) => Self::Live,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Spent => "spent",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

/// `POST /api/lab/tokens` (demo mode): a short-lived API token of the caller's own, for the
/// API-token lab. Its scopes must be among the calling access token's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LabApiToken {
    pub name: String,
    /// Space-separated.
    pub scope: String,
    /// [`MIN_LAB_TOKEN_SECS`] to [`MAX_LAB_TOKEN_SECS`].
    pub expires_in_secs: i64,
}

/// `GET /api/lab/tokens` (demo mode): the caller's API tokens, newest first, and the server's
/// time, which decides their states (the clock lab may have moved it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabApiTokens {
    pub server_time: i64,
    pub tokens: Vec<crate::admin::ApiToken>,
}

/// The shortest and longest lifetimes of a lab API token.
pub const MIN_LAB_TOKEN_SECS: i64 = 30;
pub const MAX_LAB_TOKEN_SECS: i64 = 3600;
/// At most this many of a user's API tokens may be active when the lab creates another, and
/// the lab creates at most this many an hour per user.
pub const MAX_LAB_TOKENS: usize = 10;
/// `GET /api/lab/tokens` lists at most this many of the user's API tokens, newest first.
pub const MAX_LISTED_TOKENS: usize = 20;

/// The clock lab moves the server's clock at most this far ahead (30 days).
pub const MAX_CLOCK_OFFSET_SECS: i64 = 30 * 86_400;

/// `GET` and `POST /api/lab/clock` (demo mode): the server's clock as every instance reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClockLab {
    /// The server's time now (Unix seconds): what expiry and every other decision reads.
    pub server_time: i64,
    /// How far it runs ahead of the system clock, in seconds (0: not moved).
    pub offset_secs: i64,
    pub max_offset_secs: i64,
}

/// `POST /api/lab/clock`: run the server's clock this far ahead of the system's (0 resets it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ClockMove {
    pub offset_secs: i64,
}

/// `POST /api/lab/keys/rotate` (demo mode): `{"force": true}` rotates even while a next key has
/// been published for less than the JWKS cache lifetime (what the rotation otherwise refuses,
/// since resource servers might not have fetched it yet). An empty body is `{"force": false}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeyRotationLab {
    #[serde(default)]
    pub force: bool,
}
