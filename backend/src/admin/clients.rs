//! Clients: browser apps (public, authorization code with PKCE) and API services
//! (confidential, client credentials); create, change, rotate a secret, delete.
//!
//! A create and a change are checked the same way, on the whole resulting definition, so no
//! sequence of changes can produce a client the token endpoint would mishandle. Error codes are
//! RFC 7591 §3.2.2's: `invalid_redirect_uri`, `invalid_client_metadata`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::admin::{
    self, ACCESS_TOKEN_TTL_RANGE, ClientKind, MAX_JWKS_BYTES, MAX_NAME_LEN, MAX_REDIRECT_URIS,
    REFRESH_TOKEN_TTL_RANGE, TokenEndpointAuthMethod,
};
use shared::oauth::GrantType;
use shared::scope::{ADMIN, OFFLINE_ACCESS, ScopeSet};
use url::Url;

use super::{Administrator, Answered, Body, Ctx, Named, identifier, text};
use crate::api::error::ApiError;
use crate::crypto;
use crate::events::EventKind;
use crate::issuers::fetch::{self, ExternalKey};
use crate::state::AppState;
use crate::storage::{Client, ClientKeys, Lifetimes, NewClient};

const METADATA: &str = "invalid_client_metadata";
const REDIRECT: &str = "invalid_redirect_uri";
const MAX_URI_LEN: usize = 2000;
/// Scopes that only mean something for a person: a service acting for itself cannot have them.
const PERSONAL_SCOPES: [&str; 3] = ["openid", OFFLINE_ACCESS, ADMIN];

/// How a stored client authenticates at the token endpoint (a secret is taken by either secret
/// method; it is shown as the default one).
pub(crate) fn auth_method(client: &Client) -> TokenEndpointAuthMethod {
    match (&client.keys, &client.secret_hash) {
        (Some(_), _) => TokenEndpointAuthMethod::PrivateKeyJwt,
        (None, Some(_)) => TokenEndpointAuthMethod::ClientSecretBasic,
        (None, None) => TokenEndpointAuthMethod::None,
    }
}

/// A `private_key_jwt` client's keys as RFC 7591 §2 names them: `jwks` or `jwks_uri`.
pub(crate) fn keys_view(client: &Client) -> (Option<serde_json::Value>, Option<String>) {
    match &client.keys {
        Some(ClientKeys::Jwks(set)) => (serde_json::from_str(set).ok(), None),
        Some(ClientKeys::JwksUri(uri)) => (None, Some(uri.clone())),
        None => (None, None),
    }
}

pub fn view(client: Client) -> admin::Client {
    let method = auth_method(&client);
    let (jwks, jwks_uri) = keys_view(&client);
    admin::Client {
        token_endpoint_auth_method: method,
        jwks,
        jwks_uri,
        confidential: !client.is_public(),
        client_id: client.id,
        name: client.name,
        first_party: client.first_party,
        grant_types: client.grant_types,
        scope: client.scopes,
        redirect_uris: client.redirect_uris,
        lifetimes: lifetimes_view(client.lifetimes),
        require_pushed_authorization_requests: client.require_pushed_requests,
        dpop_bound_access_tokens: client.dpop_bound_access_tokens,
        post_logout_redirect_uris: client.post_logout_redirect_uris,
        backchannel_logout_uri: client.backchannel_logout_uri,
        created_at: client.created_at.unix(),
    }
}

pub(super) fn lifetimes_view(l: Lifetimes) -> admin::Lifetimes {
    admin::Lifetimes {
        access_token_ttl: l.access_token_ttl,
        refresh_token_idle_ttl: l.refresh_token_idle_ttl,
        refresh_token_absolute_ttl: l.refresh_token_absolute_ttl,
    }
}

pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<admin::Client>, ApiError> {
    Ok(ctx.db.clients().await?.into_iter().map(view).collect())
}

/// As stored now (not a copy another instance's change may not have reached yet): what the
/// console shows and what a change starts from.
async fn by_id(ctx: &Ctx<'_>, id: &str) -> Result<Client, ApiError> {
    ctx.db
        .stored_client(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no client {id:?}")))
}

/// A client definition after validation, ready to store.
pub(crate) struct Checked {
    name: String,
    first_party: bool,
    grant_types: Vec<GrantType>,
    scope: ScopeSet,
    redirect_uris: Vec<String>,
    lifetimes: Lifetimes,
    require_pushed_requests: bool,
    dpop_bound_access_tokens: bool,
    keys: Option<ClientKeys>,
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
}

impl Checked {
    pub(crate) fn stored<'a>(&'a self, id: &'a str, secret_hash: Option<&'a str>) -> NewClient<'a> {
        NewClient {
            id,
            name: &self.name,
            secret_hash,
            keys: self.keys.as_ref(),
            first_party: self.first_party,
            grant_types: &self.grant_types,
            scopes: &self.scope,
            redirect_uris: &self.redirect_uris,
            lifetimes: self.lifetimes,
            require_pushed_requests: self.require_pushed_requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            post_logout_redirect_uris: &self.post_logout_redirect_uris,
            backchannel_logout_uri: self.backchannel_logout_uri.as_deref(),
        }
    }
}

/// What a definition must satisfy, whatever produced it.
struct Definition<'a> {
    confidential: bool,
    name: &'a str,
    first_party: bool,
    grant_types: &'a [String],
    scope: &'a str,
    redirect_uris: &'a [String],
    lifetimes: admin::Lifetimes,
    require_pushed_requests: bool,
    dpop_bound_access_tokens: bool,
    /// A `private_key_jwt` client's keys, as given (checked here); `None` when not given.
    keys: Option<Keys<'a>>,
    post_logout_redirect_uris: &'a [String],
    backchannel_logout_uri: Option<&'a str>,
}

/// A client's public keys as a request gives them: by value or by reference, or none.
#[derive(Clone, Copy)]
struct Keys<'a> {
    jwks: Option<&'a serde_json::Value>,
    jwks_uri: Option<&'a str>,
}

async fn check(ctx: &Ctx<'_>, d: &Definition<'_>) -> Result<Checked, ApiError> {
    let invalid = |description: String| ApiError::Unprocessable {
        error: METADATA,
        description,
    };
    let name = text("name", d.name, MAX_NAME_LEN, METADATA)?;
    let mut grant_types: Vec<GrantType> = Vec::new();
    for g in d.grant_types {
        let Ok(known) = g.parse::<GrantType>() else {
            return Err(invalid(format!(
                "unknown grant type {:?}; known: {}",
                g.chars().take(40).collect::<String>(),
                GrantType::join(&GrantType::ALL, ", ")
            )));
        };
        if grant_types.contains(&known) {
            return Err(invalid(format!("the grant type {known} is listed twice")));
        }
        grant_types.push(known);
    }
    let has = |g: GrantType| grant_types.contains(&g);
    if grant_types.is_empty() {
        return Err(invalid("a client needs at least one grant type".into()));
    }
    if !d.confidential && has(GrantType::ClientCredentials) {
        return Err(invalid(
            "a public client (a browser app) cannot use client_credentials: it has no secret"
                .into(),
        ));
    }
    if !d.confidential && has(GrantType::TokenExchange) {
        return Err(invalid(format!(
            "a public client cannot use {}: token exchange is for confidential clients (an API \
             calling another), which authenticate",
            GrantType::TokenExchange
        )));
    }
    let logs_users_in = grant_types.iter().any(|g| g.logs_users_in());
    if has(GrantType::RefreshToken) && !logs_users_in {
        return Err(invalid(format!(
            "refresh_token comes with authorization_code or {}: only a login can start a refresh",
            GrantType::DeviceCode
        )));
    }
    let redirect_uris = redirect_uris(d.redirect_uris)?;
    if has(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(ApiError::Unprocessable {
            error: REDIRECT,
            description: "the authorization code flow needs at least one redirect URI".into(),
        });
    }
    if !has(GrantType::AuthorizationCode) && !redirect_uris.is_empty() {
        return Err(ApiError::Unprocessable {
            error: REDIRECT,
            description: "redirect URIs are only for clients that use authorization_code".into(),
        });
    }
    let scope = ScopeSet::parse(d.scope).map_err(|e| invalid(e.to_string()))?;
    if scope.is_empty() {
        return Err(invalid("a client needs at least one scope".into()));
    }
    // The root issuer's scopes and every authorization server's.
    let known: ScopeSet = ctx
        .db
        .every_scope_name()
        .await?
        .iter()
        .map(String::as_str)
        .collect();
    let unknown: Vec<&str> = scope.difference(&known).collect();
    if !unknown.is_empty() {
        return Err(invalid(format!(
            "no such scope: {}; create it first (at the root issuer or at an authorization \
             server) or choose from: {known}",
            unknown.join(" ")
        )));
    }
    if !logs_users_in {
        let personal: Vec<&str> = scope
            .iter()
            .filter(|s| PERSONAL_SCOPES.contains(s))
            .collect();
        if !personal.is_empty() {
            return Err(invalid(format!(
                "{} only make sense when a person logs in; a client acting for \
                 itself cannot \
                 have them",
                personal.join(" ")
            )));
        }
    }
    // RFC 9126 §6: the requirement is on its authorization requests.
    if d.require_pushed_requests && !has(GrantType::AuthorizationCode) {
        return Err(invalid(
            "require_pushed_authorization_requests is for clients that use authorization_code: \
             a client without logins sends no authorization request"
                .into(),
        ));
    }
    let post_logout_redirect_uris = uris(&POST_LOGOUT_URIS, d.post_logout_redirect_uris, METADATA)?;
    // RP-Initiated Logout 1.0 §3: the browser comes back from a logout only to an app it
    // logged into with the authorization endpoint.
    if !has(GrantType::AuthorizationCode) && !post_logout_redirect_uris.is_empty() {
        return Err(invalid(
            "post_logout_redirect_uris are for clients that use authorization_code: the \
             browser comes back after a logout only to an app it logged into"
                .into(),
        ));
    }
    let backchannel_logout_uri = match d.backchannel_logout_uri.map(str::trim) {
        None | Some("") => None,
        Some(_) if !logs_users_in => {
            return Err(invalid(
                "backchannel_logout_uri is for clients that log users in: a client acting for \
                 itself has no login to end"
                    .into(),
            ));
        }
        Some(uri) => uris(&BACKCHANNEL_URI, &[uri.to_owned()], METADATA)?.pop(),
    };
    let lifetimes = lifetimes(d.lifetimes, METADATA)?;
    let keys = match d.keys {
        Some(keys) => client_keys(keys).await?,
        None => None,
    };
    if keys.is_some() && !d.confidential {
        return Err(invalid(
            "a public client (a browser app) cannot keep a private key: private_key_jwt is for \
             services"
                .into(),
        ));
    }
    Ok(Checked {
        keys,
        name,
        first_party: d.first_party,
        grant_types,
        scope,
        redirect_uris,
        lifetimes,
        require_pushed_requests: d.require_pushed_requests,
        dpop_bound_access_tokens: d.dpop_bound_access_tokens,
        post_logout_redirect_uris,
        backchannel_logout_uri,
    })
}

/// A client as a dynamic registration (RFC 7591 §2) or its update (RFC 7592 §2.2) defines it.
pub(crate) struct Registered<'a> {
    pub confidential: bool,
    pub name: &'a str,
    pub grant_types: &'a [String],
    pub scope: &'a str,
    pub redirect_uris: &'a [String],
    pub require_pushed_requests: bool,
    pub dpop_bound_access_tokens: bool,
    /// A `private_key_jwt` client's keys: `jwks` or `jwks_uri`.
    pub keys: Option<(Option<&'a serde_json::Value>, Option<&'a str>)>,
    pub post_logout_redirect_uris: &'a [String],
}

/// Checks a registration as the admin API checks a client it creates: the same rules, the same
/// RFC 7591 §3.2.2 error codes. A registered client is third-party (its users see the consent
/// screen), has the server-wide lifetimes, and is never given `admin`, the administrators' own
/// scope.
pub(crate) async fn check_registered(
    ctx: &Ctx<'_>,
    r: &Registered<'_>,
) -> Result<Checked, ApiError> {
    let checked = check(
        ctx,
        &Definition {
            confidential: r.confidential,
            name: r.name,
            first_party: false,
            grant_types: r.grant_types,
            scope: r.scope,
            redirect_uris: r.redirect_uris,
            lifetimes: admin::Lifetimes::default(),
            require_pushed_requests: r.require_pushed_requests,
            dpop_bound_access_tokens: r.dpop_bound_access_tokens,
            keys: r.keys.map(|(jwks, jwks_uri)| Keys { jwks, jwks_uri }),
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            // Refused at /register before: this server posts to no address a registrant
            // chose (see `oauth::registration`).
            backchannel_logout_uri: None,
        },
    )
    .await?;
    if checked.scope.contains(ADMIN) {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: "admin is the administrators' own scope: a registered client cannot \
                          have it (an administrator gives it to a client, in the admin API)"
                .into(),
        });
    }
    Ok(checked)
}

impl Checked {
    pub(crate) fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    pub(crate) fn scope(&self) -> &ScopeSet {
        &self.scope
    }
}

/// The clients this deployment's own parts log in with (the browser app, the
/// backend-for-frontend, the documentation page) send plain authorization requests: requiring
/// pushed ones of them would lock those parts, the console included, out.
fn may_require_pushed(ctx: &Ctx<'_>, id: &str, required: bool) -> Result<(), ApiError> {
    if required && own_client(ctx, id) {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!(
                "{id} is a client this deployment's own app, backend-for-frontend or documentation \
                 page logs in with, and they send plain authorization requests: requiring pushed \
                 ones would lock them (and the console) out"
            ),
        });
    }
    Ok(())
}

fn own_client(ctx: &Ctx<'_>, id: &str) -> bool {
    [
        ctx.config.app_client_id.as_str(),
        ctx.config.bff_client_id.as_str(),
        crate::demo::DOCS_CLIENT_ID,
    ]
    .contains(&id)
}

/// The same for DPoP: those parts send no proofs, and requiring them would lock them out.
fn may_require_dpop(ctx: &Ctx<'_>, id: &str, required: bool) -> Result<(), ApiError> {
    if required && own_client(ctx, id) {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!(
                "{id} is a client this deployment's own app, backend-for-frontend or documentation \
                 page logs in with, and they send no DPoP proofs: requiring them would lock them \
                 (and the console) out"
            ),
        });
    }
    Ok(())
}

/// RFC 7591 §2: `jwks` or `jwks_uri`, never both; public signature keys only, every one of
/// them usable here (a key this server would skip is refused, so the console never shows a key
/// that does not count), with distinct `kid`s when there are several. A `jwks_uri` is read now,
/// with the limits of every key read (https, or http on loopback; 5 s; 256 KiB).
async fn client_keys(keys: Keys<'_>) -> Result<Option<ClientKeys>, ApiError> {
    let invalid = |description: String| ApiError::Unprocessable {
        error: METADATA,
        description,
    };
    match (keys.jwks, keys.jwks_uri) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(invalid(
            "give jwks or jwks_uri, not both (RFC 7591 §2)".into(),
        )),
        (Some(set), None) => {
            let text = set.to_string();
            if text.len() > MAX_JWKS_BYTES {
                return Err(invalid(format!(
                    "jwks is larger than {MAX_JWKS_BYTES} bytes"
                )));
            }
            let private = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
            let listed = set.get("keys").and_then(serde_json::Value::as_array);
            if listed.is_some_and(|keys| {
                keys.iter()
                    .any(|k| private.iter().any(|p| k.get(*p).is_some()))
            }) {
                return Err(invalid(
                    "jwks holds private or symmetric key material: register the public keys only \
                     (the private key never leaves the client)"
                        .into(),
                ));
            }
            let (usable, skipped) = fetch::parse_jwks(text.as_bytes()).map_err(invalid)?;
            check_key_set(&usable, &skipped, "jwks").map_err(invalid)?;
            Ok(Some(ClientKeys::Jwks(text)))
        }
        (None, Some(uri)) => {
            let uri = uri.trim();
            if uri.len() > MAX_URI_LEN || uri.contains('#') || uri.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "jwks_uri must be a URL of at most {MAX_URI_LEN} characters, without fragment"
                )));
            }
            if Url::parse(uri).is_ok_and(|u| !u.username().is_empty() || u.password().is_some()) {
                return Err(invalid(
                    "jwks_uri carries user information: a key set is public, read without \
                     credentials"
                        .into(),
                ));
            }
            let http = fetch::client().map_err(ApiError::internal)?;
            let fetched = fetch::jwks_at(&http, uri)
                .await
                .map_err(|e| invalid(format!("jwks_uri could not be read: {e}")))?;
            check_key_set(&fetched.keys, &fetched.skipped, "jwks_uri").map_err(invalid)?;
            Ok(Some(ClientKeys::JwksUri(uri.to_owned())))
        }
    }
}

fn check_key_set(usable: &[ExternalKey], skipped: &[String], what: &str) -> Result<(), String> {
    if !skipped.is_empty() {
        return Err(format!(
            "{what} holds keys this server cannot verify client assertions with: {}",
            skipped.join("; ")
        ));
    }
    if usable.is_empty() {
        return Err(format!("{what} holds no key"));
    }
    if usable.len() > 1 {
        let mut kids: Vec<&str> = usable.iter().filter_map(|k| k.kid.as_deref()).collect();
        kids.sort_unstable();
        kids.dedup();
        if kids.len() != usable.len() {
            return Err(format!(
                "{what} holds several keys: give each a distinct kid, which the client names in \
                 its assertion's header"
            ));
        }
    }
    Ok(())
}

/// How a list of URIs is named in refusals: the list, one of them, and the rule on fragments.
struct UriList {
    list: &'static str,
    one: &'static str,
    fragment_rule: &'static str,
}

const REDIRECT_URIS: UriList = UriList {
    list: "redirect URIs",
    one: "redirect URI",
    fragment_rule: "RFC 6749 §3.1.2",
};
const POST_LOGOUT_URIS: UriList = UriList {
    list: "post_logout_redirect_uris",
    one: "post-logout redirect URI",
    fragment_rule: "RP-Initiated Logout 1.0 §3.1, as RFC 6749 §3.1.2",
};
const BACKCHANNEL_URI: UriList = UriList {
    list: "backchannel_logout_uri",
    one: "back-channel logout URI",
    fragment_rule: "Back-Channel Logout 1.0 §2.2",
};

/// RFC 6749 §3.1.2 and RFC 9700 §4.1: absolute, no fragment, no user information, https except
/// on the loopback interface (RFC 8252 §7.3); stored as given and matched exactly.
pub fn redirect_uris(given: &[String]) -> Result<Vec<String>, ApiError> {
    uris(&REDIRECT_URIS, given, REDIRECT)
}

/// [`redirect_uris`]' rules for any list of URIs this server sends a browser (or a request)
/// to, refused with `error`.
fn uris(what: &UriList, uris: &[String], error: &'static str) -> Result<Vec<String>, ApiError> {
    let invalid = |description: String| ApiError::Unprocessable { error, description };
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid(format!(
            "at most {MAX_REDIRECT_URIS} {} per client",
            what.list
        )));
    }
    let mut checked: Vec<String> = Vec::new();
    for raw in uris {
        let raw = raw.trim();
        let shown: String = raw.chars().take(80).collect();
        if raw.len() > MAX_URI_LEN {
            return Err(invalid(format!(
                "{} are at most {MAX_URI_LEN} characters",
                what.list
            )));
        }
        let url = Url::parse(raw)
            .map_err(|e| invalid(format!("{shown:?} is not an absolute URL: {e}")))?;
        if raw.chars().any(char::is_control) {
            return Err(invalid(format!(
                "{:?} contains a control character",
                shown.replace('\0', "")
            )));
        }
        // Lists of URIs are stored space-separated: a URI with a space would come back as two.
        if raw.chars().any(char::is_whitespace) {
            return Err(invalid(format!(
                "{shown:?} contains a space: percent-encode it (%20)"
            )));
        }
        if raw.contains('#') {
            return Err(invalid(format!(
                "{shown:?} has a fragment, which {} forbids",
                what.fragment_rule
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(format!("{shown:?} carries user information")));
        }
        let loopback = matches!(
            url.host(),
            Some(url::Host::Domain("localhost"))
                | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
        );
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(invalid(format!(
                    "{shown:?} must use https (plain http only for localhost, 127.0.0.1 or \
                     [::1]): a {} carries what the browser or the server sends there",
                    what.one
                )));
            }
        }
        if checked.iter().any(|c| c == raw) {
            return Err(invalid(format!("{shown:?} is listed twice")));
        }
        checked.push(raw.to_owned());
    }
    Ok(checked)
}

/// `l` checked against the bounds; a broken one is answered with `error`.
pub(super) fn lifetimes(l: admin::Lifetimes, error: &'static str) -> Result<Lifetimes, ApiError> {
    let within = |field: &str, value: Option<i64>, (min, max): (i64, i64)| match value {
        Some(v) if !(min..=max).contains(&v) => Err(ApiError::Unprocessable {
            error,
            description: format!("{field} must be between {min} and {max} seconds"),
        }),
        _ => Ok(value),
    };
    let checked = Lifetimes {
        access_token_ttl: within(
            "access_token_ttl",
            l.access_token_ttl,
            ACCESS_TOKEN_TTL_RANGE,
        )?,
        refresh_token_idle_ttl: within(
            "refresh_token_idle_ttl",
            l.refresh_token_idle_ttl,
            REFRESH_TOKEN_TTL_RANGE,
        )?,
        refresh_token_absolute_ttl: within(
            "refresh_token_absolute_ttl",
            l.refresh_token_absolute_ttl,
            REFRESH_TOKEN_TTL_RANGE,
        )?,
    };
    if let (Some(idle), Some(absolute)) = (
        checked.refresh_token_idle_ttl,
        checked.refresh_token_absolute_ttl,
    ) && idle > absolute
    {
        return Err(ApiError::Unprocessable {
            error,
            description: "refresh_token_idle_ttl cannot be longer than refresh_token_absolute_ttl"
                .into(),
        });
    }
    Ok(checked)
}

/// Creates a client; the answer carries a service's secret, which is stored only as a hash.
pub async fn add(ctx: &Ctx<'_>, new: &admin::NewClient) -> Result<admin::ClientCreated, ApiError> {
    let (prefix, grant_types) = match new.kind {
        ClientKind::Browser if new.refresh_tokens => (
            "spa",
            vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        ),
        ClientKind::Browser => ("spa", vec!["authorization_code".to_owned()]),
        ClientKind::Service => ("svc", vec!["client_credentials".to_owned()]),
        ClientKind::Device if new.refresh_tokens => (
            "dev",
            vec![
                GrantType::DeviceCode.as_str().to_owned(),
                "refresh_token".to_owned(),
            ],
        ),
        ClientKind::Device => ("dev", vec![GrantType::DeviceCode.as_str().to_owned()]),
    };
    if new.kind == ClientKind::Service && new.refresh_tokens {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: "an API service has no refresh tokens: it asks for a new token instead"
                .into(),
        });
    }
    let id = match &new.client_id {
        Some(id) if id.starts_with(crate::storage::REGISTERED_PREFIX) => {
            return Err(ApiError::Unprocessable {
                error: METADATA,
                description: format!(
                    "client ids beginning with {:?} are those of clients registered at \
                     /register: choose another",
                    crate::storage::REGISTERED_PREFIX
                ),
            });
        }
        Some(id) => identifier("client id", id, 64, false, METADATA)?,
        None => {
            let suffix: String = crypto::random_bytes::<6>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            format!("{prefix}-{suffix}")
        }
    };
    may_require_pushed(ctx, &id, new.require_pushed_authorization_requests)?;
    may_require_dpop(ctx, &id, new.dpop_bound_access_tokens)?;
    let confidential = new.kind == ClientKind::Service;
    let method = new.token_endpoint_auth_method.unwrap_or(if confidential {
        TokenEndpointAuthMethod::ClientSecretBasic
    } else {
        TokenEndpointAuthMethod::None
    });
    let by_key = method == TokenEndpointAuthMethod::PrivateKeyJwt;
    let fits = match method {
        TokenEndpointAuthMethod::None => !confidential,
        _ => confidential,
    };
    if !fits {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!(
                "token_endpoint_auth_method {} does not fit a {}: a browser or device app uses \
                 none, a service client_secret_basic, client_secret_post or private_key_jwt",
                method.as_str(),
                match new.kind {
                    ClientKind::Service => "service",
                    ClientKind::Browser => "browser app",
                    ClientKind::Device => "device app",
                }
            ),
        });
    }
    let given = new.jwks.is_some() || new.jwks_uri.is_some();
    if by_key != given {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: if by_key {
                "private_key_jwt needs the client's public keys: jwks (a JWK Set) or jwks_uri"
                    .into()
            } else {
                "jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt".into()
            },
        });
    }
    let checked = check(
        ctx,
        &Definition {
            confidential,
            name: &new.name,
            first_party: new.first_party,
            grant_types: &grant_types,
            scope: &new.scope,
            redirect_uris: &new.redirect_uris,
            lifetimes: new.lifetimes,
            require_pushed_requests: new.require_pushed_authorization_requests,
            dpop_bound_access_tokens: new.dpop_bound_access_tokens,
            keys: by_key.then_some(Keys {
                jwks: new.jwks.as_ref(),
                jwks_uri: new.jwks_uri.as_deref(),
            }),
            post_logout_redirect_uris: &new.post_logout_redirect_uris,
            backchannel_logout_uri: new.backchannel_logout_uri.as_deref(),
        },
    )
    .await?;
    let secret = (confidential && !by_key).then(|| crypto::random_token(32));
    let secret_hash = secret.as_deref().map(crypto::sha256_hex);
    let stored = checked.stored(&id, secret_hash.as_deref());
    ctx.db
        .insert_client(&stored, ctx.now)
        .await
        .or_conflict(|| format!("there is already a client {id:?}"))?;
    ctx.record(
        EventKind::ClientCreated,
        Some(&id),
        format!(
            "{} client created; grant types {}; scope {}",
            if by_key {
                "confidential (private_key_jwt)"
            } else if confidential {
                "confidential"
            } else {
                "public"
            },
            GrantType::join(&checked.grant_types, " "),
            checked.scope
        ),
    )
    .await?;
    Ok(admin::ClientCreated {
        client: view(by_id(ctx, &id).await?),
        client_secret: secret,
    })
}

/// Applies the fields present, then checks the whole client again.
pub async fn change(
    ctx: &Ctx<'_>,
    id: &str,
    update: &admin::ClientUpdate,
) -> Result<admin::Client, ApiError> {
    let before = by_id(ctx, id).await?;
    may_require_pushed(
        ctx,
        id,
        update
            .require_pushed_authorization_requests
            .unwrap_or(before.require_pushed_requests),
    )?;
    let dpop_bound = update
        .dpop_bound_access_tokens
        .unwrap_or(before.dpop_bound_access_tokens);
    may_require_dpop(ctx, id, dpop_bound)?;
    let new_keys = update.jwks.is_some() || update.jwks_uri.is_some();
    if new_keys && before.keys.is_none() {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!(
                "client {id:?} does not authenticate with private_key_jwt: it has no keys to \
                 replace (create a client for it)"
            ),
        });
    }
    let scope = before.scopes.to_string();
    let grant_types: Vec<String> = before
        .grant_types
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    let checked = check(
        ctx,
        &Definition {
            confidential: !before.is_public(),
            name: update.name.as_deref().unwrap_or(&before.name),
            first_party: update.first_party.unwrap_or(before.first_party),
            grant_types: update.grant_types.as_deref().unwrap_or(&grant_types),
            scope: update.scope.as_deref().unwrap_or(&scope),
            redirect_uris: update
                .redirect_uris
                .as_deref()
                .unwrap_or(&before.redirect_uris),
            lifetimes: update
                .lifetimes
                .unwrap_or_else(|| lifetimes_view(before.lifetimes)),
            require_pushed_requests: update
                .require_pushed_authorization_requests
                .unwrap_or(before.require_pushed_requests),
            dpop_bound_access_tokens: dpop_bound,
            keys: new_keys.then_some(Keys {
                jwks: update.jwks.as_ref(),
                jwks_uri: update.jwks_uri.as_deref(),
            }),
            post_logout_redirect_uris: update
                .post_logout_redirect_uris
                .as_deref()
                .unwrap_or(&before.post_logout_redirect_uris),
            backchannel_logout_uri: update
                .backchannel_logout_uri
                .as_deref()
                .or(before.backchannel_logout_uri.as_deref()),
        },
    )
    .await?;
    let mut checked = checked;
    if !new_keys {
        checked.keys = before.keys.clone();
    }
    let stored = checked.stored(id, None);
    ctx.db
        .update_client(&stored)
        .await
        .or_not_found(|| format!("there is no client {id:?}"))?;
    let after = by_id(ctx, id).await?;
    ctx.record(
        EventKind::ClientUpdated,
        Some(id),
        format!(
            "client changed; grant types {}; scope {}; {} redirect URIs",
            GrantType::join(&checked.grant_types, " "),
            after.scopes,
            after.redirect_uris.len()
        ),
    )
    .await?;
    Ok(view(after))
}

/// A new secret for a confidential client, which works at once everywhere; the old one stops
/// working at once on this instance, and on the others within `--revocation-sync-ms` (they
/// keep clients that long).
pub async fn new_secret(ctx: &Ctx<'_>, id: &str) -> Result<admin::SecretRotated, ApiError> {
    let client = by_id(ctx, id).await?;
    if client.is_public() {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!("{id} is a public client: it has no secret to rotate"),
        });
    }
    if client.keys.is_some() {
        return Err(ApiError::Unprocessable {
            error: METADATA,
            description: format!(
                "{id} authenticates with private_key_jwt: it has no secret; replace its keys \
                 (jwks or jwks_uri) instead"
            ),
        });
    }
    let secret = crypto::random_token(32);
    ctx.db
        .set_client_secret(id, &crypto::sha256_hex(&secret))
        .await
        .or_not_found(|| format!("there is no client {id:?}"))?;
    ctx.record(
        EventKind::ClientSecretRotated,
        Some(id),
        "client secret replaced".into(),
    )
    .await?;
    Ok(admin::SecretRotated {
        client_id: id.to_owned(),
        client_secret: secret,
    })
}

/// Deletes a client with its grants, refresh tokens and consents. The client this deployment's
/// browser app signs in with cannot be deleted: the console itself would stop working.
pub async fn remove(ctx: &Ctx<'_>, id: &str) -> Result<(), ApiError> {
    if id == ctx.config.app_client_id {
        return Err(ApiError::Conflict(format!(
            "{id} is the client this deployment's browser app signs in with (APP_CLIENT_ID); \
             it cannot be deleted"
        )));
    }
    ctx.db
        .delete_client(id, ctx.now)
        .await
        .or_not_found(|| format!("there is no client {id:?}"))?;
    ctx.record(
        EventKind::ClientDeleted,
        Some(id),
        "client deleted with its grants and consents".into(),
    )
    .await
}

#[utoipa::path(get, path = "/admin/clients", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])),
    responses((status = 200, description = "Every client (never a secret)", body = Vec<shared::admin::Client>)))]
pub async fn list(
    State(state): State<AppState>,
    admin: Administrator,
) -> Result<Json<Vec<admin::Client>>, ApiError> {
    all(&admin.ctx(&state)).await.map(Json)
}

#[utoipa::path(post, path = "/admin/clients", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), request_body = shared::admin::NewClient,
    responses((status = 201, description = "The client, and a service's secret (shown once)", body = shared::admin::ClientCreated), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn create(
    State(state): State<AppState>,
    admin: Administrator,
    Body(new): Body<admin::NewClient>,
) -> Result<(StatusCode, Json<admin::ClientCreated>), ApiError> {
    let created = add(&admin.ctx(&state), &new).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(patch, path = "/admin/clients/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")), request_body = shared::admin::ClientUpdate,
    responses((status = 200, description = "The client as changed", body = shared::admin::Client), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse)))]
pub async fn update(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
    Body(update): Body<admin::ClientUpdate>,
) -> Result<Json<admin::Client>, ApiError> {
    change(&admin.ctx(&state), &id, &update).await.map(Json)
}

#[utoipa::path(post, path = "/admin/clients/{id}/secret", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")),
    responses((status = 200, description = "The new secret (shown once); the old one stops working", body = shared::admin::SecretRotated), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 422, description = "A rule was broken (`invalid_redirect_uri`, `invalid_client_metadata`, `invalid_scope`, `invalid_user`, `weak_password`)", body = shared::oauth::ErrorResponse)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<Json<admin::SecretRotated>, ApiError> {
    new_secret(&admin.ctx(&state), &id).await.map(Json)
}

#[utoipa::path(delete, path = "/admin/clients/{id}", tag = "Admin", security(("oauth2" = ["admin"]), ("bearer" = []), ("apiToken" = [])), params(("id" = String, Path, description = "The record's id")),
    responses((status = 204, description = "Deleted, with its grants and consents"), (status = 404, description = "No such record", body = shared::oauth::ErrorResponse), (status = 409, description = "Clashes with a stored record, or not allowed in its state", body = shared::oauth::ErrorResponse)))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Administrator,
    Named(id): Named,
) -> Result<StatusCode, ApiError> {
    remove(&admin.ctx(&state), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
