//! `POST /token` (RFC 6749 §3.2): the authorization-code grant with PKCE, the
//! client-credentials grant, refresh-token rotation, the device grant (RFC 8628) and token
//! exchange (RFC 8693), one file each.
//!
//! The handler parses the form into a [`TokenRequest`] once, authenticates the client, and
//! hands both to [`exchange`], which decides with the time it is given and returns what was
//! granted or the RFC's error; nothing in a grant reads HTTP or the clock.

mod authorization_code;
mod client_credentials;
mod device_code;
mod login;
pub mod preview;
mod refresh_token;
mod token_exchange;

use client_credentials::NotGranted;
pub use client_credentials::USER_ONLY;

use std::net::IpAddr;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use shared::oauth::{Audience, ErrorCode, GrantType, TokenResponse};
use shared::pkce::CodeVerifier;
use shared::scope::ScopeSet;

use super::client_auth::{self, AuthMethod};
use super::discovery::KnownServer;
use super::error::{OAuthError, no_store};
use super::params::{FormBody, Params};
use super::proof;
use super::resource::Target;
use crate::access_token::AccessTokens;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::dpop;
use crate::events::{Event, EventKind};
use crate::refusals::Why;
use crate::servers::{AuthServer, Governed, Governing, policy};
use crate::state::AppState;
use crate::storage::{Client, Lifetimes, Spaced};

/// A token request's grant-specific part, parsed and checked for syntax, before anything
/// stored is touched: a malformed request leaves a valid code or refresh token usable.
#[derive(Debug)]
pub enum TokenRequest {
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5.
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        verifier: CodeVerifier,
    },
    /// RFC 6749 §4.4.2; without `scope`, the client's registered scopes (§3.3).
    ClientCredentials { scope: Option<ScopeSet> },
    /// RFC 6749 §6; `scope` may narrow the grant, never widen it.
    RefreshToken {
        refresh_token: String,
        scope: Option<ScopeSet>,
    },
    /// RFC 8628 §3.4: a device polling with its device code.
    DeviceCode { device_code: String },
    /// RFC 8693 §2.1: a client exchanging a token it holds.
    TokenExchange(token_exchange::Request),
}

impl TokenRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            Self::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            Self::ClientCredentials { .. } => GrantType::ClientCredentials,
            Self::RefreshToken { .. } => GrantType::RefreshToken,
            Self::DeviceCode { .. } => GrantType::DeviceCode,
            Self::TokenExchange(_) => GrantType::TokenExchange,
        }
    }

    /// The `grant_type` parameter.
    pub fn grant_type_of(params: &Params) -> Result<GrantType, OAuthError> {
        let raw = params
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("missing grant_type"))?;
        raw.parse().map_err(|_| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {raw:?} is not supported; use one of: {}",
                    GrantType::join(&GrantType::ALL, ", ")
                ),
            )
        })
    }

    /// The parameters `grant_type` needs, each checked as the RFCs say.
    pub fn parse(grant_type: GrantType, params: &Params) -> Result<Self, OAuthError> {
        let scope = || {
            params
                .get("scope")
                .map(ScopeSet::parse)
                .transpose()
                .map_err(|e| OAuthError::invalid_scope(e.to_string()))
        };
        Ok(match grant_type {
            GrantType::AuthorizationCode => {
                let code = params
                    .get("code")
                    .ok_or_else(|| OAuthError::invalid_request("missing code"))?;
                let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
                    OAuthError::invalid_request(
                        "missing redirect_uri (it must equal the one sent to /authorize)",
                    )
                })?;
                let verifier = params.get("code_verifier").ok_or_else(|| {
                    OAuthError::invalid_request(
                        "missing code_verifier (PKCE is required, RFC 7636)",
                    )
                })?;
                let verifier = CodeVerifier::parse(verifier)
                    .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
                Self::AuthorizationCode {
                    code: code.to_owned(),
                    redirect_uri: redirect_uri.to_owned(),
                    verifier,
                }
            }
            GrantType::ClientCredentials => Self::ClientCredentials { scope: scope()? },
            GrantType::RefreshToken => {
                let refresh_token = params
                    .get("refresh_token")
                    .ok_or_else(|| OAuthError::invalid_request("missing refresh_token"))?;
                Self::RefreshToken {
                    refresh_token: refresh_token.to_owned(),
                    scope: scope()?,
                }
            }
            GrantType::DeviceCode => {
                let device_code = params.get("device_code").ok_or_else(|| {
                    OAuthError::invalid_request(
                        "missing device_code (the device authorization response's)",
                    )
                })?;
                Self::DeviceCode {
                    device_code: device_code.to_owned(),
                }
            }
            GrantType::TokenExchange => {
                Self::TokenExchange(token_exchange::Request::parse(params, scope()?)?)
            }
        })
    }
}

/// The authenticated client of a request, and where it came from (for the event log).
struct Caller<'a> {
    pub client: &'a Client,
    pub address: IpAddr,
    /// The thumbprint of the key of the request's DPoP proof (RFC 9449), checked: the tokens
    /// are bound to it. `None` without a proof.
    pub dpop: Option<&'a str>,
}

/// What a grant produced, and for whom.
#[derive(Debug)]
pub struct Granted {
    pub response: TokenResponse,
    /// The `sub` of the tokens: a user id, or the client's own id.
    pub sub: String,
    /// At a custom server, the policy and rule that allowed it.
    pub decided: Option<policy::Allowed>,
    /// What the event log says beside the scope and the audience (a token exchange: who acts).
    pub note: Option<String>,
}

impl<'a> Caller<'a> {
    /// `client` calling from here; for the grants' unit tests.
    #[cfg(test)]
    fn public(client: &'a Client) -> Self {
        Self {
            client,
            address: crate::state::testing::HERE,
            dpop: None,
        }
    }
}

/// Whether `client`, authenticated with `method`, may use `grant_type` at all: checked before
/// the grant's parameters, so a client that may not use a grant learns nothing more about the
/// request.
fn permit(client: &Client, method: AuthMethod, grant_type: GrantType) -> Result<(), OAuthError> {
    if !client.may_use_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(format!(
            "client {:?} is not allowed to use the {} grant",
            client.id,
            grant_type.as_str()
        )));
    }
    if grant_type == GrantType::ClientCredentials && method == AuthMethod::None {
        // RFC 6749 §4.4.2: "The client credentials grant type MUST only be used by
        // confidential clients."
        return Err(OAuthError::unauthorized_client(
            "public clients cannot use the client_credentials grant",
        ));
    }
    if grant_type == GrantType::TokenExchange && method == AuthMethod::None {
        // RFC 8693 §2.1 lets a server require client authentication; this one does, so that a
        // token leaked to anyone cannot be turned into one for another API (§5).
        return Err(OAuthError::unauthorized_client(
            "public clients cannot exchange tokens: token exchange is for confidential clients \
             (an API calling another), which authenticate",
        ));
    }
    Ok(())
}

/// Runs the grant `request` asks for, for `caller` (already [`permit`]ted to use it), at
/// `now`, at the authorization server `server`, its access token for `audience` (the
/// request's resources, resolved; `None` for the server's default); logs what was issued.
async fn exchange(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    request: TokenRequest,
    audience: Option<Audience>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let named = audience
        .as_ref()
        .map(|a| format!("; for {a}"))
        .unwrap_or_default();
    let grant_type = request.grant_type();
    let granted = match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
        } => {
            let presented = authorization_code::Presented {
                code: &code,
                redirect_uri: &redirect_uri,
                verifier: &verifier,
            };
            authorization_code::redeem(state, server, caller, presented, audience, now).await?
        }
        TokenRequest::ClientCredentials { scope } => {
            let decision =
                client_credentials::decide(state, server, caller.client, scope, audience).await;
            let planned = match decision {
                Ok(planned) => planned,
                Err(NotGranted::Storage(e)) => return Err(e.into()),
                Err(NotGranted::Refused(e)) => return Err(e),
                Err(NotGranted::Denied(refused)) => {
                    return Err(denied(state, caller, None, refused).await);
                }
            };
            client_credentials::grant(&server.tokens, caller, planned, now)?
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            let presented = refresh_token::Presented {
                token: &refresh_token,
                scope,
                audience,
            };
            refresh_token::rotate(state, server, caller, presented, now).await?
        }
        TokenRequest::DeviceCode { device_code } => {
            device_code::poll(state, server, caller, &device_code, audience, now).await?
        }
        TokenRequest::TokenExchange(request) => {
            token_exchange::exchange(state, server, caller, request, audience, now).await?
        }
    };
    let refresh = if granted.response.refresh_token.is_some() {
        "; with a refresh token"
    } else {
        ""
    };
    let by = match (server.id(), &granted.decided) {
        (Some(id), Some(allowed)) => format!(
            "; by authorization server {id} (policy {:?}, rule {:?})",
            allowed.policy, allowed.rule
        ),
        (Some(id), None) => format!("; by authorization server {id}"),
        (None, _) => String::new(),
    };
    state
        .metrics
        .issued(grant_type.as_str(), &caller.client.id, server.id());
    crate::logs::identify(&caller.client.id, Some(&granted.sub));
    state
        .events
        .record(
            Event::new(EventKind::TokenIssued)
                .client(&caller.client.id)
                .user(&granted.sub)
                .address(caller.address)
                .detail(format!(
                    "{}; scope {}{named}{refresh}{by}{}",
                    grant_type.as_str(),
                    granted.response.scope,
                    granted
                        .note
                        .as_deref()
                        .map(|note| format!("; {note}"))
                        .unwrap_or_default(),
                )),
        )
        .await;
    Ok(granted)
}

#[utoipa::path(post, path = "/token", tag = "OAuth",
    security((), ("clientBasic" = [])),
    request_body(content = crate::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1), never cached", body = shared::oauth::TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request`, `invalid_grant`, `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`; RFC 8707 §2: `invalid_target`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let root = state.root.clone();
    let outcome = handle(&state, &root, address, &headers, query.as_deref(), &body).await;
    respond(&state, outcome)
}

/// An authorization server's token endpoint: every grant, as at `/token`, decided by its access
/// policies, its tokens signed with its keys, for its audiences, under its issuer.
#[utoipa::path(post, path = "/oauth2/{server}/v1/token", tag = "Authorization servers",
    security((), ("clientBasic" = [])),
    params(("server" = String, Path, description = "The authorization server's id")),
    request_body(content = crate::openapi::TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1) of this server, never cached", body = shared::oauth::TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "RFC 6749 §5.2: `invalid_request`, `invalid_grant` (also a login its policy no longer allows, or a code or refresh token of another server), `invalid_scope`, `unauthorized_client`, `unsupported_grant_type`; RFC 8707 §2: `invalid_target`", body = shared::oauth::ErrorResponse),
        (status = 401, response = crate::openapi::InvalidClient),
        (status = 404, description = "No authorization server has this id", body = shared::oauth::ErrorResponse),
        (status = 429, response = crate::openapi::Throttled),
    ))]
pub async fn server_token(
    State(state): State<AppState>,
    KnownServer(server): KnownServer,
    ClientAddr(address): ClientAddr,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: FormBody,
) -> Response {
    let outcome = handle(&state, &server, address, &headers, query.as_deref(), &body).await;
    respond(&state, outcome)
}

/// The answer; with DPoP nonces required, tokens come with the next nonce to use (RFC 9449
/// §8.2), so the client's next proof needs no extra round trip.
fn respond(state: &AppState, outcome: Result<TokenResponse, OAuthError>) -> Response {
    match outcome {
        Ok(tokens) => {
            let mut response = (no_store(), Json(tokens)).into_response();
            if let Some(nonces) = &state.dpop_nonces
                && let Ok(value) = HeaderValue::from_str(&nonces.fresh(state.clock.unmoved_now()))
            {
                response.headers_mut().insert(dpop::NONCE_HEADER, value);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    server: &AuthServer,
    address: IpAddr,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let params = Params::post(headers, query, body)?;
    let grant_type = TokenRequest::grant_type_of(&params)?;
    // RFC 9449: a proof is checked, and its nonce, before the client authenticates, which may
    // spend a client assertion (see `proof`).
    let proof = proof::checked(state, headers, &server.endpoint("/token"))?;
    let (client, method) =
        client_auth::authenticate(state, server, address, headers, &params).await?;
    permit(&client, method, grant_type)?;
    let request = TokenRequest::parse(grant_type, &params)?;
    // RFC 8693 §2.1: an exchange names the target with `audience` (a logical name) or
    // `resource` (a URI), both resolved as RFC 8707 resources are.
    let audience = match grant_type {
        GrantType::TokenExchange if !params.audiences().is_empty() => {
            let targets = [params.audiences(), params.resources()].concat();
            Target::new(&state.config, server).resolve(&targets, &state.servers)?
        }
        _ => Target::new(&state.config, server).resolve(params.resources(), &state.servers)?,
    };
    let now = state.clock.now();
    let proof = dpop_proof(state, &client, proof).await?;
    let caller = Caller {
        client: &client,
        address,
        dpop: proof.as_ref().map(|proof| proof.jkt.as_str()),
    };
    exchange(state, server, &caller, request, audience, now)
        .await
        .map(|granted| granted.response)
}

/// RFC 9449 §5: the request's checked DPoP proof, recorded as used (see [`proof::recorded`]);
/// `None` without one, unless the client must bind its tokens (`dpop_bound_access_tokens`,
/// §5.2).
async fn dpop_proof(
    state: &AppState,
    client: &Client,
    checked: Option<dpop::Proof>,
) -> Result<Option<dpop::Proof>, OAuthError> {
    if checked.is_none() && client.dpop_bound_access_tokens {
        return Err(proof::invalid(format!(
            "client {:?} must bind its tokens to a key (dpop_bound_access_tokens): send a DPoP \
             proof with this request (RFC 9449 §5.2)",
            client.id
        )));
    }
    proof::recorded(state, checked).await
}

/// The token endpoint's answer to a request the policies refused.
fn refusal(refused: policy::Refused) -> OAuthError {
    let why = refused.explain();
    match refused.why {
        policy::Why::Scope => OAuthError::invalid_scope(refused.description),
        policy::Why::Target => OAuthError::invalid_target(refused.description),
        policy::Why::Denied | policy::Why::NoRule => {
            OAuthError::unauthorized_client(refused.description)
        }
    }
    .because(why)
}

/// A policy's refusal of `caller`'s request (for `user`, in a grant with one), logged, as the
/// token endpoint answers it.
async fn denied(
    state: &AppState,
    caller: &Caller<'_>,
    user: Option<&str>,
    refused: policy::Refused,
) -> OAuthError {
    let mut event = Event::new(EventKind::PolicyDenied)
        .client(&caller.client.id)
        .address(caller.address)
        .detail(refused.description.clone());
    if let Some(user) = user {
        event = event.user(user);
    }
    state.events.record(event).await;
    refusal(refused)
}

/// What a token request continuing a login named itself, beside what the login holds.
#[derive(Clone, Copy, Debug)]
struct Named {
    /// A `scope` (a refresh may narrow the login's).
    scope: bool,
    /// A `resource` (RFC 8707 §2.2).
    resources: bool,
}

/// Refuses `scope` when it holds scopes `server` no longer offers (one taken away since the
/// login): `invalid_scope` when the request named the scope itself, else `invalid_grant` (the
/// grant no longer holds as it was; RFC 6749 §5.2).
async fn still_offered(
    state: &AppState,
    server: &AuthServer,
    scope: &ScopeSet,
    named: Named,
) -> Result<(), OAuthError> {
    let Some(why) = server
        .offered(&state.db)
        .await?
        .and_then(|offered| offered.refusal(scope))
    else {
        return Ok(());
    };
    Err(if named.scope {
        OAuthError::invalid_scope(why)
    } else {
        OAuthError::invalid_grant(format!(
            "{why}: ask for a scope without it (the scope parameter of a refresh), or log in \
             again"
        ))
    })
}

/// What decides `request` (a code's redemption, or a refresh, which a rule for the
/// authorization code grant covers too, so that a policy changed since the login decides the
/// next refresh): at a custom server its policy and claims, the refusal logged; `None` at the
/// root issuer.
async fn govern_user_grant(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    request: Governing<'_>,
    named: Named,
) -> Result<Option<Governed>, OAuthError> {
    let user = request.user.map(|u| u.id.clone());
    match server.govern(&state.db, request).await? {
        Ok(governed) => Ok(governed),
        Err(refused) => {
            // A login the policy no longer allows is a grant that no longer holds (RFC 6749
            // §5.2 `invalid_grant`: the client should send the user to log in again), not a
            // client that may not use the grant type; a scope or a resource is the request's
            // error only when the request itself named it.
            let why = refused.why;
            let error = denied(state, caller, user.as_deref(), refused).await;
            Err(match why {
                policy::Why::Scope if named.scope => error,
                policy::Why::Target if named.resources => error,
                _ => {
                    let mut grant = OAuthError::invalid_grant(error.description);
                    grant.why = error.why.map(|mut why| {
                        why.remedy = Some(
                            "log in again: the access policy no longer allows the login as \
                             it was granted"
                                .into(),
                        );
                        why
                    });
                    grant
                }
            })
        }
    }
}

/// The lifetimes of `client`'s tokens: the allowing rule's at a custom server, else the
/// client's own, each else the server-wide default.
fn lifetimes(client: &Client, governed: Option<&Governed>) -> Lifetimes {
    governed.map_or(client.lifetimes, |g| {
        g.allowed.lifetimes.or(client.lifetimes)
    })
}

/// The three lifetimes, in seconds, with the server-wide defaults filled in.
struct Lives {
    access: u64,
    refresh_idle: u64,
    refresh_absolute: u64,
}

impl Lives {
    fn of(state: &AppState, lifetimes: Lifetimes) -> Self {
        let c = &state.config;
        Self {
            access: lifetimes.access(c.access_token_ttl),
            refresh_idle: lifetimes.refresh_idle(c.refresh_token_idle_ttl),
            refresh_absolute: lifetimes.refresh_absolute(c.refresh_token_absolute_ttl),
        }
    }

    /// A new refresh token lives the idle lifetime, never past its grant's absolute one (RFC
    /// 9700 §4.14.2): rotation restarts the first, not the second.
    fn refresh_expiry(&self, now: Timestamp, grant_expires_at: Timestamp) -> Timestamp {
        now.after(self.refresh_idle).min(grant_expires_at)
    }
}

/// The refusal of a `what` (a code, a refresh token) of a login at `server_id` (`None`: the
/// root issuer) presented at `server`: where to present it, or that its server is gone.
fn elsewhere(
    state: &AppState,
    server: &AuthServer,
    server_id: Option<&str>,
    what: &str,
) -> OAuthError {
    let at = match server_id {
        None => format!("the root issuer ({})", state.root.endpoint("/token")),
        // Its id, but not this server: a server deleted and created again since.
        Some(id) if Some(id) == server.id() => {
            return OAuthError::invalid_grant(format!(
                "the {what} was issued by an authorization server {id} that has been deleted \
                 since; log in again"
            ));
        }
        Some(id) => match state.servers.get(id) {
            Some(other) => format!("authorization server {id} ({})", other.endpoint("/token")),
            None => format!("authorization server {id}, which no longer exists"),
        },
    };
    OAuthError::invalid_grant(format!(
        "the {what} was issued by {at}; present it at that token endpoint"
    ))
}

/// The audiences of an access token issued on a grant authorized for `authorized` (empty: the
/// root issuer's own API), when the token request named `asked` (RFC 8707 §2.2): what it
/// names, if the grant covers all of it, else `invalid_target`; without it, all the grant's.
/// `grant` says what the grant is, for the description ("this code", "this refresh token").
fn narrowed(
    tokens: &AccessTokens,
    authorized: &Spaced,
    asked: Option<Audience>,
    grant: &str,
) -> Result<Option<Audience>, OAuthError> {
    let Some(asked) = asked else {
        // Those of the grant this issuer still issues for (the configuration may have dropped
        // one since the login): a token is never issued for an API it no longer serves.
        if authorized.0.is_empty() {
            return Ok(None);
        }
        let kept = Audience::of(
            authorized
                .0
                .iter()
                .filter(|a| tokens.issues_for(a))
                .cloned(),
        );
        return match kept {
            Some(kept) => Ok(Some(kept)),
            None => Err(OAuthError::invalid_grant(format!(
                "{grant} was issued for {}, which this issuer no longer issues tokens for; log \
                 in again",
                authorized.0.join(", ")
            ))),
        };
    };
    let covered = |a: &str| match authorized.0.is_empty() {
        true => a == tokens.audience(),
        false => authorized.0.iter().any(|b| b == a),
    };
    if let Some(outside) = asked.iter().find(|a| !covered(a)) {
        let allowed = authorized
            .audience()
            .map_or_else(|| tokens.audience().to_owned(), |a| a.to_string());
        return Err(OAuthError::invalid_target(format!(
            "{grant} was issued for {allowed}, not {outside}: a token request may name those \
             resources or fewer, never others (RFC 8707 §2.2); ask for {outside} at /authorize"
        ))
        .because(
            Why::check("audience")
                .expected(format!(
                    "some of the resources the {grant} was issued for: {allowed}"
                ))
                .got((*outside).to_owned())
                .remedy("name only those resources, or log in again asking for this one"),
        ));
    }
    Ok(Some(asked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(raw: &str) -> Params {
        Params::parse(raw.as_bytes()).unwrap()
    }

    #[test]
    fn parses_each_grant_and_names_what_is_missing() {
        let verifier = "a".repeat(43);
        let request = TokenRequest::parse(
            GrantType::AuthorizationCode,
            &params(&format!(
                "code=c&redirect_uri=http://x/cb&code_verifier={verifier}"
            )),
        )
        .unwrap();
        assert!(matches!(request, TokenRequest::AuthorizationCode { .. }));
        for (raw, missing) in [
            ("redirect_uri=x&code_verifier=v", "missing code"),
            ("code=c", "missing redirect_uri"),
            ("code=c&redirect_uri=x", "missing code_verifier"),
        ] {
            let e = TokenRequest::parse(GrantType::AuthorizationCode, &params(raw)).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest);
            assert!(e.description.starts_with(missing), "{}", e.description);
        }
        let short = TokenRequest::parse(
            GrantType::AuthorizationCode,
            &params("code=c&redirect_uri=x&code_verifier=short"),
        )
        .unwrap_err();
        assert!(short.description.contains("43 to 128"));
        let bad_scope =
            TokenRequest::parse(GrantType::ClientCredentials, &params("scope=a%22b")).unwrap_err();
        assert_eq!(bad_scope.code, ErrorCode::InvalidScope);
        assert!(matches!(
            TokenRequest::parse(GrantType::RefreshToken, &params("scope=a")).unwrap_err(),
            OAuthError {
                code: ErrorCode::InvalidRequest,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_grant_never_gets_a_token_for_an_api_the_issuer_no_longer_serves() {
        let (state, _dir) = crate::state::testing::demo_state(&[]).await;
        let spaced = |all: &[&str]| Spaced(all.iter().map(|a| (*a).to_owned()).collect());
        // Named nothing: the default audience.
        assert_eq!(
            narrowed(&state.tokens, &spaced(&[]), None, "g").unwrap(),
            None
        );
        // A login for an API dropped from the configuration since: that one is left out...
        let kept = narrowed(
            &state.tokens,
            &spaced(&["api://default", "api://gone"]),
            None,
            "g",
        );
        assert_eq!(kept.unwrap(), Some(Audience::one("api://default")));
        // ...and a login for it alone must start again.
        let gone =
            narrowed(&state.tokens, &spaced(&["api://gone"]), None, "this grant").unwrap_err();
        assert_eq!(gone.code, ErrorCode::InvalidGrant);
        assert!(
            gone.description.contains("log in again"),
            "{}",
            gone.description
        );
        // Named: within the grant, or refused.
        let asked = Some(Audience::one("api://default"));
        assert_eq!(
            narrowed(&state.tokens, &spaced(&[]), asked.clone(), "g").unwrap(),
            asked
        );
        let wider = Some(Audience::one("api://other"));
        let refused = narrowed(&state.tokens, &spaced(&[]), wider, "this code").unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidTarget);
    }

    #[test]
    fn the_grant_type_is_required_and_must_be_known() {
        assert_eq!(
            TokenRequest::grant_type_of(&params("grant_type=refresh_token")).unwrap(),
            GrantType::RefreshToken
        );
        assert_eq!(
            TokenRequest::grant_type_of(&params("")).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            TokenRequest::grant_type_of(&params("grant_type=password"))
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedGrantType
        );
    }
}
