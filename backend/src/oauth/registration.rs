//! Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), at the root
//! issuer's `/register`.
//!
//! Who may register is the server's setting (`REGISTRATION`): nobody (`disabled`, the
//! default: an administrator makes clients), whoever holds an initial access token an
//! administrator made (`token`, §3: `Authorization: Bearer`), or anyone (`open`). A registered
//! client is checked as the admin API checks a client, with the same RFC 7591 §3.2.2 error
//! codes; it is third-party (its users see the consent screen), has the server-wide lifetimes,
//! and never `admin`. It gets a registration access token (RFC 7592 §3), of which only the
//! SHA-256 is kept, to read, change and delete its registration at
//! `/register/{client_id}`; a client an administrator made has none, and is not managed there.

use std::net::IpAddr;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::admin::{MAX_JWKS_BYTES, TokenEndpointAuthMethod as Method};
use shared::oauth::{ClientMetadata, ErrorResponse, GrantType, RegisteredClient};

use super::error::{OAuthError, no_store};
use crate::admin::clients::{
    Registered, auth_method as stored_method, check_registered, keys_view,
};
use crate::admin::{Actor, Ctx};
use crate::api::error::ApiError;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::config::Registration;
use crate::crypto;
use crate::events::EventKind;
use crate::state::AppState;
use crate::storage::{self, Client, REGISTERED_PREFIX};
use crate::throttle::{Verdict, address_key, retry_after_secs};

/// A registration is a few hundred bytes, a JWK Set by value up to [`MAX_JWKS_BYTES`].
pub const MAX_REGISTRATION_BODY: usize = MAX_JWKS_BYTES + 16 * 1024;

/// The body of a registration or an update: an error in this boundary's own type when it
/// cannot be read.
pub type RegistrationBody = crate::body::BodyBytes<RegistrationError>;

/// What `/register` answers when it refuses.
#[derive(Debug)]
pub enum RegistrationError {
    /// RFC 7591 §3.2.2: 400 with `invalid_redirect_uri`, `invalid_client_metadata`,
    /// `invalid_software_statement` or `unapproved_software_statement`.
    Metadata {
        error: &'static str,
        description: String,
    },
    /// RFC 6750 §3.1 (RFC 7591 §3, RFC 7592 §3): the initial or registration access token is
    /// not valid: 401 with a `Bearer` challenge naming `invalid_token`.
    Token(String),
    /// The same, when the request sent none: the challenge names no error (RFC 6750 §3.1).
    NoToken(String),
    /// Registration is disabled: 403.
    Disabled,
    /// The body could not be read, or the database did not answer.
    OAuth(OAuthError),
}

const METADATA: &str = "invalid_client_metadata";

impl RegistrationError {
    fn metadata(description: impl Into<String>) -> Self {
        Self::Metadata {
            error: METADATA,
            description: description.into(),
        }
    }
}

impl From<storage::Error> for RegistrationError {
    fn from(e: storage::Error) -> Self {
        Self::OAuth(e.into())
    }
}

impl From<crate::body::Unread> for RegistrationError {
    fn from(unread: crate::body::Unread) -> Self {
        match unread {
            crate::body::Unread::TooLarge => {
                Self::OAuth(OAuthError::too_large(MAX_REGISTRATION_BODY))
            }
            crate::body::Unread::Unreadable(why) => {
                Self::metadata(format!("the body could not be read: {why}"))
            }
        }
    }
}

/// The admin API's checks answer in its own type; here they are RFC 7591's 400s.
impl From<ApiError> for RegistrationError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unprocessable { error, description } => Self::Metadata { error, description },
            ApiError::Unavailable => Self::OAuth(OAuthError::unavailable()),
            // The client went meanwhile (another request deleted it): as a token that opens
            // nothing (RFC 7592 §3).
            ApiError::NotFound(_) => Self::Token(NOT_OPENED.into()),
            ApiError::BadRequest(description) | ApiError::Conflict(description) => {
                Self::metadata(description)
            }
            other => Self::OAuth(OAuthError::server_error(format!("{other:?}"))),
        }
    }
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        let sent_none = matches!(self, Self::NoToken(_));
        let (status, error, description) = match self {
            Self::OAuth(e) => return e.into_response(),
            Self::Metadata { error, description } => (StatusCode::BAD_REQUEST, error, description),
            Self::Token(description) | Self::NoToken(description) => {
                (StatusCode::UNAUTHORIZED, "invalid_token", description)
            }
            Self::Disabled => (
                StatusCode::FORBIDDEN,
                "access_denied",
                "dynamic client registration is disabled on this server: an administrator \
                 registers clients (POST /admin/clients), or starts the server with \
                 REGISTRATION=token or REGISTRATION=open"
                    .to_owned(),
            ),
        };
        let body = ErrorResponse {
            error: error.to_owned(),
            error_description: Some(description.clone()),
        };
        let mut response = (status, no_store(), Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: the description is quoted, in printable ASCII without `"` or `\`.
            let quoted: String = description
                .chars()
                .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\')
                .collect();
            let challenge = match sent_none {
                true => r#"Bearer realm="register""#.to_owned(),
                false => format!(
                    r#"Bearer realm="register", error="invalid_token", error_description="{quoted}""#
                ),
            };
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

/// The `Bearer` token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// RFC 7591 §3: whether this request may register a client, by the server's setting.
/// `Some(id)` of the initial access token that allows it.
async fn may_register(
    state: &AppState,
    headers: &HeaderMap,
    now: Timestamp,
) -> Result<Option<String>, RegistrationError> {
    match state.config.registration {
        Registration::Disabled => Err(RegistrationError::Disabled),
        Registration::Open => Ok(None),
        Registration::Token => {
            let Some(token) = bearer(headers) else {
                return Err(RegistrationError::NoToken(
                    "registration here needs an initial access token: send the one an \
                     administrator gave you as Authorization: Bearer <token> (RFC 7591 §3)"
                        .into(),
                ));
            };
            let known = match token.len() <= 256 {
                true => {
                    state
                        .db
                        .initial_access_token(&crypto::sha256_hex(token))
                        .await?
                }
                false => None,
            };
            match known {
                Some(known) if known.expires_at > now => Ok(Some(known.id)),
                Some(_) => Err(RegistrationError::Token(
                    "the initial access token has expired: ask an administrator for a new one"
                        .into(),
                )),
                None => Err(RegistrationError::Token(
                    "the initial access token is not one this server issued (or it was \
                     deleted): ask an administrator for one"
                        .into(),
                )),
            }
        }
    }
}

/// RFC 7591 §2 `token_endpoint_auth_method`, `client_secret_basic` when left out.
fn auth_method(raw: Option<&str>) -> Result<Method, RegistrationError> {
    let raw = raw.unwrap_or(Method::ClientSecretBasic.as_str());
    [
        Method::None,
        Method::ClientSecretBasic,
        Method::ClientSecretPost,
        Method::PrivateKeyJwt,
    ]
    .into_iter()
    .find(|method| method.as_str() == raw)
    .ok_or_else(|| {
        RegistrationError::metadata(format!(
            "token_endpoint_auth_method {:?} is not supported; use none, client_secret_basic, \
             client_secret_post or private_key_jwt",
            raw.chars().take(40).collect::<String>()
        ))
    })
}

/// The request's metadata, parsed (RFC 7591 §2) and checked for what the admin API does not
/// check: software statements, response types and their fit with the grant types.
struct Parsed {
    metadata: ClientMetadata,
    method: Method,
    grant_types: Vec<String>,
}

fn parse(body: &[u8]) -> Result<Parsed, RegistrationError> {
    let metadata: ClientMetadata = serde_json::from_slice(body).map_err(|e| {
        RegistrationError::metadata(format!(
            "the body must be a JSON object of client metadata (RFC 7591 §2): {e}"
        ))
    })?;
    if metadata.software_statement.is_some() {
        // §2.3, §3.2.2: a statement this server has no trust in is not approved.
        return Err(RegistrationError::Metadata {
            error: "unapproved_software_statement",
            description: "this server approves no software statements: register without \
                          software_statement"
                .into(),
        });
    }
    let method = auth_method(metadata.token_endpoint_auth_method.as_deref())?;
    let grant_types = metadata
        .grant_types
        .clone()
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().to_owned()]);
    let code = grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str());
    match metadata.response_types.as_deref() {
        None => {}
        // What a read shows a client without the code flow, sent back (RFC 7592 §2.2).
        Some([]) if !code => {}
        Some(types) if types.iter().all(|t| t == "code") && !types.is_empty() && code => {}
        Some(types) if types.iter().all(|t| t == "code") && !types.is_empty() => {
            return Err(RegistrationError::metadata(
                "response_types code goes with the authorization_code grant (RFC 7591 §2.1): \
                 add it to grant_types, or leave response_types out",
            ));
        }
        Some([]) => {
            return Err(RegistrationError::metadata(
                "response_types is empty, but the authorization_code grant needs [\"code\"]: \
                 send that, or leave response_types out",
            ));
        }
        Some(types) => {
            return Err(RegistrationError::metadata(format!(
                "response_types {types:?} is not supported: this server has the code flow only \
                 (response_types [\"code\"])"
            )));
        }
    }
    Ok(Parsed {
        metadata,
        method,
        grant_types,
    })
}

/// Grants in which a user logs in and answers for what the client gets: what anyone may
/// register with open registration. A client acting for itself (`client_credentials`), or
/// exchanging tokens, needs an initial access token an administrator made.
const OPEN_GRANTS: [GrantType; 3] = [
    GrantType::AuthorizationCode,
    GrantType::RefreshToken,
    GrantType::DeviceCode,
];

impl Parsed {
    /// Checks what the server's registration setting `mode` allows.
    fn allowed_by(&self, mode: Registration) -> Result<(), RegistrationError> {
        if self.metadata.jwks_uri.is_some() {
            // A URL the server would fetch, chosen by whoever registers: a way to make it call
            // into the network it runs in. Keys by value only.
            return Err(RegistrationError::metadata(
                "jwks_uri is not taken at /register: send the client's public keys by value \
                 (jwks), or ask an administrator to register a key URL",
            ));
        }
        if self.metadata.backchannel_logout_uri.is_some() {
            // The same: the server would post logout tokens to an address a registrant chose.
            return Err(RegistrationError::metadata(
                "backchannel_logout_uri is not taken at /register: this server posts logout \
                 tokens only to addresses an administrator registered (ask one to add it)",
            ));
        }
        if mode == Registration::Open
            && let Some(grant) = self.grant_types.iter().find(|g| {
                g.parse::<GrantType>()
                    .is_ok_and(|g| !OPEN_GRANTS.contains(&g))
            })
        {
            return Err(RegistrationError::metadata(format!(
                "open registration takes only grants in which a user logs in (authorization_code, \
                 refresh_token, {}): {grant} needs an initial access token from an administrator",
                GrantType::DeviceCode
            )));
        }
        Ok(())
    }

    fn registered(&self) -> Result<Registered<'_>, RegistrationError> {
        let m = &self.metadata;
        // RFC 7591 §2 lets the server choose a default: `openid` for a client that logs users
        // in; a client acting for itself names what it acts on.
        let logs_users_in = self
            .grant_types
            .iter()
            .any(|g| g.parse::<GrantType>().is_ok_and(GrantType::logs_users_in));
        let scope = match (m.scope.as_deref(), logs_users_in) {
            (Some(scope), _) => scope,
            (None, true) => shared::scope::OPENID,
            (None, false) => {
                return Err(RegistrationError::metadata(
                    "scope is required for a client without logins: the space-separated scopes \
                     it will ask for (see scopes_supported in the metadata)",
                ));
            }
        };
        let by_key = self.method == Method::PrivateKeyJwt;
        let given = m.jwks.is_some() || m.jwks_uri.is_some();
        if by_key != given {
            return Err(RegistrationError::metadata(if by_key {
                "private_key_jwt needs the client's public keys: jwks (a JWK Set) or jwks_uri"
            } else {
                "jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt"
            }));
        }
        Ok(Registered {
            confidential: self.method != Method::None,
            name: m
                .client_name
                .as_deref()
                .unwrap_or("Dynamically registered client"),
            grant_types: &self.grant_types,
            scope,
            redirect_uris: &m.redirect_uris,
            require_pushed_requests: m.require_pushed_authorization_requests,
            dpop_bound_access_tokens: m.dpop_bound_access_tokens,
            keys: by_key.then_some((m.jwks.as_ref(), m.jwks_uri.as_deref())),
            post_logout_redirect_uris: &m.post_logout_redirect_uris,
        })
    }
}

/// A stored client as RFC 7591 §3.2.1 shows it.
fn shown(state: &AppState, client: &Client, method: Method) -> RegisteredClient {
    let (jwks, jwks_uri) = keys_view(client);
    let code = client.may_use_grant(GrantType::AuthorizationCode);
    RegisteredClient {
        client_id: client.id.clone(),
        client_secret: None,
        client_id_issued_at: client.created_at.unix(),
        client_secret_expires_at: client.secret_hash.as_ref().map(|_| 0),
        registration_access_token: None,
        registration_client_uri: state.config.endpoint(&format!("/register/{}", client.id)),
        client_name: client.name.clone(),
        redirect_uris: client.redirect_uris.clone(),
        grant_types: client
            .grant_types
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect(),
        response_types: if code { vec!["code".into()] } else { vec![] },
        token_endpoint_auth_method: method.as_str().to_owned(),
        scope: client.scopes.to_string(),
        jwks,
        jwks_uri,
        dpop_bound_access_tokens: client.dpop_bound_access_tokens,
        require_pushed_authorization_requests: client.require_pushed_requests,
        post_logout_redirect_uris: client.post_logout_redirect_uris.clone(),
    }
}

fn ctx(state: &AppState, address: IpAddr, now: Timestamp) -> Ctx<'_> {
    Ctx {
        db: &state.db,
        config: &state.config,
        actor: Actor::registration(address),
        now,
    }
}

/// RFC 7591 §3.1: registers a client; §3.2.1: 201 with its id, its secret and registration
/// access token (each shown once), and its metadata as registered.
#[utoipa::path(post, path = "/register", tag = "OAuth",
    security((), ("initialAccessToken" = [])),
    request_body = shared::oauth::ClientMetadata,
    responses(
        (status = 201, description = "RFC 7591 §3.2.1: the client, with its secret and registration access token (shown once), never cached", body = shared::oauth::RegisteredClient),
        (status = 400, description = "RFC 7591 §3.2.2: `invalid_redirect_uri`, `invalid_client_metadata`, `unapproved_software_statement`", body = shared::oauth::ErrorResponse),
        (status = 401, description = "Registration needs an initial access token (`REGISTRATION=token`) and none valid was sent (`invalid_token`, with a Bearer challenge)", body = shared::oauth::ErrorResponse),
        (status = 403, description = "Registration is disabled (`access_denied`)", body = shared::oauth::ErrorResponse),
        (status = 413, description = "The body is too large", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    body: RegistrationBody,
) -> Result<Response, RegistrationError> {
    let now = state.clock.now();
    let initial = may_register(&state, &headers, now).await?;
    // Each registration stores a client: counted per address, as logins are, so that no one
    // fills the database through open registration (RFC 7591 §5).
    if let Verdict::Refused(wait) = state
        .throttles
        .registrations_per_address
        .hit(&state.db, &address_key(address), state.clock.now_us())
        .await?
    {
        return Err(RegistrationError::OAuth(OAuthError::throttled(
            "too many client registrations from this address; wait before registering again",
            retry_after_secs(wait),
        )));
    }
    let parsed = parse(&body)?;
    if parsed.metadata.client_id.is_some() || parsed.metadata.client_secret.is_some() {
        return Err(RegistrationError::metadata(
            "client_id and client_secret are the server's to choose (RFC 7591 §3.2.1): leave \
             them out of a registration",
        ));
    }
    parsed.allowed_by(state.config.registration)?;
    let ctx = ctx(&state, address, now);
    let checked = check_registered(&ctx, &parsed.registered()?).await?;
    let id = format!("{REGISTERED_PREFIX}{}", crypto::random_token(12));
    let secret = matches!(
        parsed.method,
        Method::ClientSecretBasic | Method::ClientSecretPost
    )
    .then(|| crypto::random_token(32));
    let secret_hash = secret.as_deref().map(crypto::sha256_hex);
    let access = crypto::random_token(32);
    let registered_with = initial.as_deref().unwrap_or(OPENLY);
    state
        .db
        .insert_registered_client(
            &checked.stored(&id, secret_hash.as_deref()),
            Some((&crypto::sha256_hex(&access), registered_with)),
            now,
        )
        .await?;
    recorded(
        &ctx,
        EventKind::ClientCreated,
        &id,
        format!(
            "client registered{}; {}; grant types {}; scope {}",
            initial
                .map(|id| format!(" with initial access token {id}"))
                .unwrap_or_default(),
            parsed.method.as_str(),
            GrantType::join(checked.grant_types(), " "),
            checked.scope()
        ),
    )
    .await;
    let Some(client) = state.db.stored_client(&id).await? else {
        return Err(storage::Error::NotFound.into());
    };
    let mut answer = shown(&state, &client, parsed.method);
    answer.client_secret = secret;
    answer.registration_access_token = Some(access);
    Ok((StatusCode::CREATED, no_store(), Json(answer)).into_response())
}

/// How a client registered with open registration is recorded (`clients.registered_with`);
/// one registered with an initial access token has that token's id.
const OPENLY: &str = "open";

/// Records a change that is already stored: a failure to log it is logged, and the answer
/// (which may carry the only copy of a secret or of the next registration access token) is
/// still given.
async fn recorded(ctx: &Ctx<'_>, kind: EventKind, id: &str, detail: String) {
    if let Err(e) = ctx.record(kind, Some(id), detail).await {
        tracing::warn!(client_id = id, error = ?e, "a registration's change was not recorded");
    }
}

/// What a request that cannot open a registration hears, whatever the reason.
const NOT_OPENED: &str = "send the registration access token the registration (or its last \
                          read or update) answered with, as Authorization: Bearer <token>, at \
                          that client's registration_client_uri (RFC 7592 §3)";

/// RFC 7592 §3: the client whose registration access token the request carries, and which is
/// `id`, with the token's hash; the same refusal whether the client does not exist, was not
/// registered here (or an administrator has changed it since), or the token is not its own
/// (nothing is told about other clients). Refused while registration is disabled.
/// The client a request opened, the hash of the token it used, and what that client's
/// registration allows it to become: an openly registered one, what open registration takes,
/// whatever the server's setting is now.
struct Opened {
    client: Client,
    used: String,
    ceiling: Registration,
}

async fn registered(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<Opened, RegistrationError> {
    if state.config.registration == Registration::Disabled {
        return Err(RegistrationError::Disabled);
    }
    let refused = || RegistrationError::Token(NOT_OPENED.into());
    let Some(token) = bearer(headers) else {
        return Err(RegistrationError::NoToken(NOT_OPENED.into()));
    };
    if id.len() > 128 || token.len() > 256 {
        return Err(refused());
    }
    let Some((hash, with)) = state.db.registration(id).await? else {
        return Err(refused());
    };
    if !crypto::constant_time_eq(crypto::sha256_hex(token).as_bytes(), hash.as_bytes()) {
        return Err(refused());
    }
    let client = state.db.stored_client(id).await?.ok_or_else(refused)?;
    let ceiling = match with.as_deref() {
        Some(initial) if initial != OPENLY => Registration::Token,
        _ => Registration::Open,
    };
    Ok(Opened {
        client,
        used: hash,
        ceiling,
    })
}

/// RFC 7592 §3: every answer carries a registration access token, and only its hash is kept,
/// so each read and update gets a new one and the one it used stops working. Of two requests
/// with the same token, one gets the new token and the other is refused.
async fn next_token(state: &AppState, id: &str, used: &str) -> Result<String, RegistrationError> {
    let token = crypto::random_token(32);
    if !state
        .db
        .rotate_registration_token(id, used, &crypto::sha256_hex(&token))
        .await?
    {
        return Err(RegistrationError::Token(NOT_OPENED.into()));
    }
    Ok(token)
}

/// RFC 7592 §2.1: the registration as it is now (its secret is not shown again), with a new
/// registration access token.
#[utoipa::path(get, path = "/register/{client_id}", tag = "OAuth",
    security(("registrationAccessToken" = [])),
    params(("client_id" = String, Path, description = "The registered client")),
    responses(
        (status = 200, description = "The client's registration, with a new registration access token (the one used stops working), never cached", body = shared::oauth::RegisteredClient),
        (status = 401, description = "No valid registration access token for this client (`invalid_token`)", body = shared::oauth::ErrorResponse),
    ))]
pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, RegistrationError> {
    let opened = registered(&state, &headers, &id).await?;
    let client = &opened.client;
    let mut answer = shown(&state, client, stored_method(client));
    answer.registration_access_token = Some(next_token(&state, &id, &opened.used).await?);
    Ok((no_store(), Json(answer)).into_response())
}

/// RFC 7592 §2.2: replaces the registration's metadata with the request's (what is left out
/// is taken away, or back to its default); the client id, its secret and its way of
/// authenticating stay.
#[utoipa::path(put, path = "/register/{client_id}", tag = "OAuth",
    security(("registrationAccessToken" = [])),
    params(("client_id" = String, Path, description = "The registered client")),
    request_body = shared::oauth::ClientMetadata,
    responses(
        (status = 200, description = "The registration as changed, with a new registration access token (the one used stops working), never cached", body = shared::oauth::RegisteredClient),
        (status = 400, description = "RFC 7591 §3.2.2: `invalid_redirect_uri`, `invalid_client_metadata`, `unapproved_software_statement`", body = shared::oauth::ErrorResponse),
        (status = 401, description = "No valid registration access token for this client (`invalid_token`)", body = shared::oauth::ErrorResponse),
        (status = 413, description = "The body is too large", body = shared::oauth::ErrorResponse),
    ))]
pub async fn update(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: RegistrationBody,
) -> Result<Response, RegistrationError> {
    let now = state.clock.now();
    let Opened {
        client,
        used,
        ceiling,
    } = registered(&state, &headers, &id).await?;
    let parsed = parse(&body)?;
    let m = &parsed.metadata;
    if m.client_id.as_deref() != Some(id.as_str()) {
        return Err(RegistrationError::metadata(format!(
            "an update names the client it updates: client_id must be {id:?} (RFC 7592 §2.2)"
        )));
    }
    if let Some(secret) = &m.client_secret {
        let holds = client.secret_hash.as_deref().is_some_and(|hash| {
            crypto::constant_time_eq(crypto::sha256_hex(secret).as_bytes(), hash.as_bytes())
        });
        if !holds {
            return Err(RegistrationError::metadata(
                "client_secret is not this client's: send its secret, or leave it out (RFC \
                 7592 §2.2)",
            ));
        }
    }
    // A client keeps how it authenticates (a secret is taken by either secret method):
    // becoming public or keyed, or the reverse, is a new client.
    let was = stored_method(&client);
    let method = match m.token_endpoint_auth_method {
        None => was,
        Some(_) if parsed.method == was => was,
        Some(_)
            if was == Method::ClientSecretBasic && parsed.method == Method::ClientSecretPost =>
        {
            Method::ClientSecretPost
        }
        Some(_) => {
            return Err(RegistrationError::metadata(format!(
                "token_endpoint_auth_method is {}: it cannot change (register a new client for \
                 another way to authenticate)",
                was.as_str()
            )));
        }
    };
    let parsed = Parsed { method, ..parsed };
    parsed.allowed_by(ceiling)?;
    let ctx = ctx(&state, address, now);
    let checked = check_registered(&ctx, &parsed.registered()?).await?;
    // The change and the next token in one statement, made only while the token used is still
    // the client's: an administrator's change (which ends self-management) or another
    // request's is never overwritten.
    let token = crypto::random_token(32);
    match state
        .db
        .update_registered_client(
            &checked.stored(&id, client.secret_hash.as_deref()),
            &used,
            &crypto::sha256_hex(&token),
        )
        .await
    {
        Err(storage::Error::NotFound) => return Err(RegistrationError::Token(NOT_OPENED.into())),
        done => done?,
    }
    recorded(
        &ctx,
        EventKind::ClientUpdated,
        &id,
        format!(
            "registration changed; grant types {}; scope {}",
            GrantType::join(checked.grant_types(), " "),
            checked.scope()
        ),
    )
    .await;
    let Some(client) = state.db.stored_client(&id).await? else {
        return Err(RegistrationError::Token(NOT_OPENED.into()));
    };
    let mut answer = shown(&state, &client, parsed.method);
    answer.registration_access_token = Some(token);
    Ok((no_store(), Json(answer)).into_response())
}

/// RFC 7592 §2.3: deletes the client, with its grants and consents; every token it was issued
/// is refused from then on.
#[utoipa::path(delete, path = "/register/{client_id}", tag = "OAuth",
    security(("registrationAccessToken" = [])),
    params(("client_id" = String, Path, description = "The registered client")),
    responses(
        (status = 204, description = "Deleted, with its grants and consents"),
        (status = 401, description = "No valid registration access token for this client (`invalid_token`)", body = shared::oauth::ErrorResponse),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, RegistrationError> {
    let now = state.clock.now();
    let opened = registered(&state, &headers, &id).await?;
    // Only while the token used is still the client's (see `update`).
    match state
        .db
        .delete_registered_client(&id, &opened.used, now)
        .await
    {
        Err(storage::Error::NotFound) => return Err(RegistrationError::Token(NOT_OPENED.into())),
        done => done?,
    }
    let ctx = ctx(&state, address, now);
    recorded(
        &ctx,
        EventKind::ClientDeleted,
        &id,
        "registered client deleted with its grants and consents".into(),
    )
    .await;
    Ok((StatusCode::NO_CONTENT, no_store()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_parsed_with_the_defaults_of_rfc_7591() {
        let parsed = parse(br#"{"redirect_uris": ["https://app.example/cb"], "scope": "openid"}"#)
            .unwrap_or_else(|_| panic!("parses"));
        assert_eq!(parsed.method, Method::ClientSecretBasic);
        assert_eq!(parsed.grant_types, ["authorization_code"]);
        for (body, words) in [
            (&b"[1]"[..], "must be a JSON object"),
            (
                br#"{"software_statement": "x.y.z"}"#,
                "approves no software statements",
            ),
            (
                br#"{"token_endpoint_auth_method": "tls_client_auth"}"#,
                "is not supported",
            ),
            (br#"{"response_types": ["token"]}"#, "is not supported"),
            (
                br#"{"grant_types": ["client_credentials"], "response_types": ["code"]}"#,
                "goes with the authorization_code grant",
            ),
        ] {
            match parse(body) {
                Err(RegistrationError::Metadata { description, .. }) => {
                    assert!(description.contains(words), "{description}")
                }
                other => panic!("{:?}: {:?}", String::from_utf8_lossy(body), other.is_ok()),
            }
        }
    }

    #[test]
    fn open_registration_is_a_ceiling_for_what_a_client_may_become() {
        let service = parse(br#"{"grant_types": ["client_credentials"], "scope": "x"}"#)
            .unwrap_or_else(|_| panic!("parses"));
        assert!(service.allowed_by(Registration::Token).is_ok());
        match service.allowed_by(Registration::Open) {
            Err(RegistrationError::Metadata { description, .. }) => {
                assert!(
                    description.contains("needs an initial access token"),
                    "{description}"
                )
            }
            _ => panic!("open registration refuses client_credentials"),
        }
        let app = parse(br#"{"grant_types": ["authorization_code", "refresh_token"]}"#)
            .unwrap_or_else(|_| panic!("parses"));
        assert!(app.allowed_by(Registration::Open).is_ok());
        let by_uri = parse(br#"{"jwks_uri": "https://keys.example/jwks.json"}"#)
            .unwrap_or_else(|_| panic!("parses"));
        assert!(by_uri.allowed_by(Registration::Token).is_err());
    }
}
