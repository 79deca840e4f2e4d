//! OAuth 2.0 messages as they travel between the authorization server, its clients and the API.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;

/// The grant types this server implements, as RFC 6749 names them (`grant_type` at the token
/// endpoint, `grant_types` of a client, `grant_types_supported` in the metadata).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.1, with PKCE (RFC 7636).
    AuthorizationCode,
    /// RFC 6749 §4.4: a confidential client acting for itself.
    ClientCredentials,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 8628 §3.4: a device without a browser (a TV, a command line) polls while its user
    /// logs in on another device.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
    DeviceCode,
    /// RFC 8693: a confidential client (an API calling another) exchanges a token it was
    /// given for one for another audience, acting for the token's subject (`act`, §4.1).
    #[serde(rename = "urn:ietf:params:oauth:grant-type:token-exchange")]
    TokenExchange,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            Self::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
        }
    }

    /// Whether a user logs in for it (a code, or a device's user code), so that its grants can
    /// carry personal scopes and refresh tokens.
    pub const fn logs_users_in(self) -> bool {
        matches!(self, Self::AuthorizationCode | Self::DeviceCode)
    }

    /// The names of `grant_types`, in order, between `separator`s.
    pub fn join(grant_types: &[GrantType], separator: &str) -> String {
        let names: Vec<&str> = grant_types.iter().map(|g| g.as_str()).collect();
        names.join(separator)
    }
}

crate::named!(GrantType, "grant type");

/// RFC 6749 §5.1 successful token response.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer` (RFC 6750), or `DPoP` for a token bound to the key of the request's DPoP proof
    /// (RFC 9449 §5).
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The granted scope, which RFC 6749 §5.1 requires when it differs from the request; this
    /// server always includes it so clients never have to guess.
    pub scope: ScopeSet,
    /// Present when the grant may be refreshed (`offline_access`); single-use, rotated on
    /// every refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, when the `openid` scope was granted to a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// RFC 8693 §2.2.1: what a token exchange issued
    /// (`urn:ietf:params:oauth:token-type:access_token`); absent for the other grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// RFC 8693 §3: the token type identifiers this server takes and issues in a token exchange.
pub mod token_type {
    /// An OAuth access token (of any format; here a JWT of RFC 9068).
    pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
    /// A JWT (RFC 7519): an access token of this server, or of a trusted issuer, is one.
    pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
}

/// The error codes of RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint),
/// RFC 8707 §2's `invalid_target` (both), and the OpenID Connect ones the authorization and PAR
/// endpoints answer with, spelled exactly as the specifications spell them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 §2: the `resource` is invalid, unknown, malformed or not allowed.
    InvalidTarget,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    /// OpenID Connect Core §3.1.2.6: request objects (`request`) are not supported.
    RequestNotSupported,
    /// OpenID Connect Core §3.1.2.6 (used by RFC 9126 §4): the `request_uri` is unknown,
    /// expired, used or another client's.
    InvalidRequestUri,
    /// OpenID Connect Core §3.1.2.6: `prompt=none`, but the user must log in.
    LoginRequired,
    /// RFC 8628 §3.5: the user has not yet finished on the verification page; poll again.
    AuthorizationPending,
    /// RFC 8628 §3.5: polling faster than `interval`; the interval is now 5 seconds longer.
    SlowDown,
    /// RFC 8628 §3.5: the device code expired; start again at the device authorization
    /// endpoint.
    ExpiredToken,
    /// RFC 9449 §5: the `DPoP` proof is missing where required, malformed, or fails a check.
    InvalidDpopProof,
    /// RFC 9449 §8: send the proof again with the server's `DPoP-Nonce` as its `nonce`.
    UseDpopNonce,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::RequestNotSupported => "request_not_supported",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::LoginRequired => "login_required",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }

    pub const ALL: [ErrorCode; 19] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::UnsupportedResponseType,
        Self::InvalidScope,
        Self::InvalidTarget,
        Self::AccessDenied,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::RequestNotSupported,
        Self::InvalidRequestUri,
        Self::LoginRequired,
        Self::AuthorizationPending,
        Self::SlowDown,
        Self::ExpiredToken,
        Self::InvalidDpopProof,
        Self::UseDpopNonce,
    ];

    /// The code spelled `name`, if it is one of these.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 9126 §2.2: the answer to a pushed authorization request (`201 Created`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushedAuthorizationResponse {
    /// `urn:ietf:params:oauth:request_uri:…`: send it with `client_id` to the authorization
    /// endpoint, once.
    pub request_uri: String,
    /// Seconds it may wait to be used.
    pub expires_in: u64,
}

/// RFC 8628 §3.2: the answer of the device authorization endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceAuthorizationResponse {
    /// What the device sends to the token endpoint while it polls; never shown.
    pub device_code: String,
    /// What the user types on the verification page: eight letters, shown as `XXXX-XXXX`.
    pub user_code: String,
    /// The page where the user enters the code.
    pub verification_uri: String,
    /// The same page with the code filled in (for a QR code or a link).
    pub verification_uri_complete: String,
    /// Seconds the codes live.
    pub expires_in: u64,
    /// Seconds the device waits between polls.
    pub interval: u64,
}

/// RFC 6749 §5.2 error response body. The API (RFC 6750) uses the same shape in its bodies,
/// with its own codes (`invalid_token`, `insufficient_scope`), so `error` is a plain string here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// The claims of an access token in the JWT profile of RFC 9068 §2.2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessTokenClaims {
    pub iss: String,
    /// The user, or the client itself for the client-credentials grant.
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: ScopeSet,
    /// Not before (RFC 7519 §4.1.5); this server never sets it, but checks it when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// The grant (the login and its refresh-token family) the token was issued under; absent
    /// for client credentials. Revoking the grant (logout, a reused refresh token) revokes
    /// every access token that names it, at every instance, with no database read per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// RFC 9449 §6.1 (RFC 7800): the key a DPoP-bound token is bound to; absent for a bearer
    /// token. The API takes such a token only with a proof signed by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: on a token issued by a token exchange, who acts for `sub` (the client
    /// that exchanged it, or the actor token's subject), prior actors nested within.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// RFC 8693 §4.4: who may act for `sub` in a token exchange of this token. This server
    /// never sets it (it is a reserved claim); a trusted issuer's token may carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub may_act: Option<Actor>,
}

/// RFC 8693 §4.1 `act` (and §4.4 `may_act`): a party that acts, or may act, for a token's
/// subject. Only the outermost actor is the current one; nested ones are informational.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The issuer of `sub`, when it is not the token's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The actor before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// How many actors deep the chain is (this one included).
    pub fn depth(&self) -> usize {
        1 + self.act.as_ref().map_or(0, |prior| prior.depth())
    }
}

/// RFC 7800 §3.1 `cnf`, as RFC 9449 §6.1 uses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of the client's DPoP key, base64url.
    pub jkt: String,
}

/// A token's `aud` (RFC 7519 §4.1.3): one audience, sent as a string, or several (RFC 8707
/// resource indicators asked for more than one), sent as an array. Never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience(Vec<String>);

/// A string, or an array of strings (RFC 7519 §4.1.3).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Audience {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        let one = || ObjectBuilder::new().schema_type(Type::String);
        OneOfBuilder::new()
            .item(one())
            .item(ArrayBuilder::new().items(one()).min_items(Some(1)))
            .description(Some(
                "One audience as a string, or several (RFC 8707 resources) as an array",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Audience {}

impl Audience {
    pub fn one(audience: impl Into<String>) -> Self {
        Self(vec![audience.into()])
    }

    /// `audiences`, in order, without repeats; `None` when there is none.
    pub fn of(audiences: impl IntoIterator<Item = String>) -> Option<Self> {
        let mut all: Vec<String> = Vec::new();
        for audience in audiences {
            if !all.contains(&audience) {
                all.push(audience);
            }
        }
        (!all.is_empty()).then_some(Self(all))
    }

    pub fn contains(&self, audience: &str) -> bool {
        self.0.iter().any(|a| a == audience)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The audiences between `, `.
impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl Serialize for Audience {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            all => all.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            One(String),
            Many(Vec<String>),
        }
        let all = match Either::deserialize(deserializer)? {
            Either::One(one) => vec![one],
            Either::Many(many) => many,
        };
        Self::of(all).ok_or_else(|| serde::de::Error::custom("an empty audience"))
    }
}

/// The `typ` header of access tokens (RFC 9068 §2.1); it is what keeps other JWTs this server
/// signs from being accepted as access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Authorization server metadata (RFC 8414 §2), with the OpenID Connect Discovery 1.0 §3 fields
/// this server publishes. Empty lists and absent endpoints are left out (but
/// `response_types_supported`, which RFC 8414 requires); a reader gets empty lists and `false`
/// for fields a server leaves out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerMetadata {
    pub issuer: String,
    /// Absent for an authorization server that issues tokens with client credentials only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// OpenID Connect Discovery §3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// RFC 7009 §4 (as registered by RFC 8414).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 7662 §4 (as registered by RFC 8414).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub response_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_modes_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8414 §2: what `private_key_jwt` assertions may be signed with, at each endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<String>,
    /// RFC 9449 §5.1: the algorithms a DPoP proof may be signed with at the token endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// RFC 9207 §3: when set, every authorization response carries `iss`, and clients must
    /// check it.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_supported: Vec<String>,
    #[serde(default)]
    pub request_parameter_supported: bool,
    #[serde(default)]
    pub request_uri_parameter_supported: bool,
    #[serde(default)]
    pub claims_parameter_supported: bool,
    /// RFC 8707: the token and authorization endpoints take `resource`. Not in the IANA
    /// registry; it is what Model Context Protocol clients and servers read and write.
    #[serde(default)]
    pub resource_indicators_supported: bool,
    /// RFC 8414 §2 (RFC 7591 §3): where clients register themselves; absent when registration
    /// is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// RFC 9126 §5: where clients push authorization requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// RFC 9126 §5: the authorization endpoint takes only pushed requests.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 8628 §4: where devices start the device authorization grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<String>,
    /// OpenID Connect RP-Initiated Logout 1.0 §2.1: where a client sends the browser to log the
    /// user out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens are posted to clients'
    /// `backchannel_logout_uri`…
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    /// …and carry `sid` (the login's id, also in its ID tokens).
    #[serde(default)]
    pub backchannel_logout_session_supported: bool,
}

/// Protected resource metadata (RFC 9728 §2): what a client that met a 401 needs to get a token
/// for the resource, found at the URL the challenge's `resource_metadata` names (§5.1). Empty
/// fields are left out (§3.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceMetadata {
    /// The resource's identifier: a URL with no fragment. A client checks that it is the
    /// resource it meant (§3.3).
    pub resource: String,
    /// Issuers of the authorization servers whose tokens the resource accepts (RFC 8414 issuer
    /// identifiers: their metadata is found from them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The scopes the resource checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How a token may be sent (RFC 6750 §2): only `header` here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_methods_supported: Vec<String>,
    /// RFC 9728 §2: the algorithms a DPoP proof may be signed with (RFC 9449).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// RFC 9728 §2: whether only DPoP-bound tokens are taken (here, bearer tokens are too).
    #[serde(default)]
    pub dpop_bound_access_tokens_required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A page for developers about the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_types_round_trip_by_their_rfc_names() {
        for g in GrantType::ALL {
            assert_eq!(g.as_str().parse::<GrantType>(), Ok(g));
            assert_eq!(
                serde_json::to_string(&g).unwrap(),
                format!("\"{}\"", g.as_str())
            );
        }
        let unknown = "password".parse::<GrantType>().unwrap_err();
        assert_eq!(unknown.to_string(), "\"password\" is not a grant type");
    }

    #[test]
    fn an_audience_is_a_string_when_one_and_an_array_when_several() {
        let one = Audience::one("api://default");
        assert_eq!(serde_json::to_string(&one).unwrap(), r#""api://default""#);
        let two = Audience::of(["api://a".to_owned(), "api://b".into(), "api://a".into()]).unwrap();
        assert_eq!(
            serde_json::to_string(&two).unwrap(),
            r#"["api://a","api://b"]"#
        );
        assert_eq!(two.to_string(), "api://a, api://b");
        assert!(two.contains("api://b") && !two.contains("api://c"));
        for (json, read) in [
            (r#""x""#, Some(Audience::one("x"))),
            (r#"["x"]"#, Some(Audience::one("x"))),
            (r#"["x","y"]"#, Audience::of(["x".to_owned(), "y".into()])),
            ("[]", None),
            ("1", None),
            (r#"["x",1]"#, None),
        ] {
            assert_eq!(serde_json::from_str::<Audience>(json).ok(), read, "{json}");
        }
    }
}

/// The prefix of the ids of clients registered at `/register` (RFC 7591), which the admin API
/// does not give out.
pub const REGISTERED_CLIENT_PREFIX: &str = "dyn-";

/// RFC 7591 §2: the client metadata a registration request (and an RFC 7592 update) sends.
/// Metadata this server does not use (`client_uri`, `logo_uri`, `contacts`, …) is ignored, as
/// §2 says; what it uses is checked as the admin API checks a client.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientMetadata {
    /// RFC 7592 §2.2: an update names the client it updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// RFC 7592 §2.2: an update may send the client's secret; it must then be the client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `none` (a public client), `client_secret_basic` (the default), `client_secret_post` or
    /// `private_key_jwt` (with `jwks` or `jwks_uri`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Without it, `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Without it, `code`; `code` is the only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Space-separated: the scopes the client may ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 7591 §2.3: this server approves none, and refuses a request that sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_statement: Option<String>,
    /// RFC 9449 §5.2.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// RFC 9126 §6.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// OpenID Connect RP-Initiated Logout 1.0 §3.1.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// OpenID Connect Back-Channel Logout 1.0 §2.2: refused here (this server posts logout
    /// tokens only where an administrator registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
}

/// RFC 7591 §3.2.1 (and RFC 7592 §3): a registered client, as registered.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisteredClient {
    pub client_id: String,
    /// Only in the answer to the registration: kept only as a hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub client_id_issued_at: i64,
    /// `0` (never) for a client with a secret; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<i64>,
    /// RFC 7592 §3: the Bearer token that reads, changes and deletes this registration at
    /// `registration_client_uri`. Kept only as a hash, so every answer brings a new one, and
    /// the one that was used stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    pub registration_client_uri: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    /// `["code"]` for a client with the code flow; absent otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    pub dpop_bound_access_tokens: bool,
    pub require_pushed_authorization_requests: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
}
