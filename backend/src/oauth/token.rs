//! `POST /token` (RFC 6749 §3.2): the authorization-code grant with PKCE and the
//! client-credentials grant.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use shared::oauth::ErrorCode;
use shared::pkce::{CodeChallenge, CodeVerifier};
use shared::scope::{OFFLINE_ACCESS, ScopeSet};

use super::access_token;
use super::client_auth::{self, AuthMethod};
use super::error::{OAuthError, no_store};
use super::params::Params;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::state::AppState;
use crate::storage::{Client, Grant, Issue, Redemption, RefreshView, now};

/// The grant types this server implements, as RFC 6749 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, peer.ip(), &headers, &body).await {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    peer: IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<shared::oauth::TokenResponse, OAuthError> {
    let params = Params::form(headers, body)?;
    let grant_type = match params.get("grant_type") {
        None => return Err(OAuthError::invalid_request("missing grant_type")),
        Some(raw) => GrantType::parse(raw).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!(
                    "grant_type {raw:?} is not supported; use authorization_code, client_credentials or refresh_token"
                ),
            )
        })?,
    };
    let (client, method) = client_auth::authenticate(state, peer, headers, &params).await?;
    if !client.may_use_grant(grant_type.as_str()) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!(
                "client {:?} is not allowed to use the {} grant",
                client.id,
                grant_type.as_str()
            ),
        ));
    }
    let granted = match grant_type {
        GrantType::AuthorizationCode => authorization_code(state, &client, &params).await,
        GrantType::ClientCredentials => client_credentials(state, &client, method, &params),
        GrantType::RefreshToken => refresh(state, peer, &client, &params).await,
    }?;
    state
        .events
        .record(
            Event::new(EventKind::TokenIssued)
                .client(&client.id)
                .user(&granted.sub)
                .address(peer)
                .detail(format!(
                    "{}; scope {}{}",
                    grant_type.as_str(),
                    granted.response.scope,
                    if granted.response.refresh_token.is_some() {
                        "; with a refresh token"
                    } else {
                        ""
                    }
                )),
        )
        .await;
    Ok(granted.response)
}

/// What a grant produced, and for whom.
struct Granted {
    response: shared::oauth::TokenResponse,
    /// The `sub` of the tokens: a user id, or the client's own id.
    sub: String,
}

/// RFC 6749 §4.1.3 with RFC 7636 §4.6.
async fn authorization_code(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<Granted, OAuthError> {
    // Every syntax check happens before the code is touched, so a malformed request leaves a
    // valid code usable.
    let code = params
        .get("code")
        .ok_or_else(|| OAuthError::invalid_request("missing code"))?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        OAuthError::invalid_request(
            "missing redirect_uri (it must equal the one sent to /authorize)",
        )
    })?;
    let verifier = params.get("code_verifier").ok_or_else(|| {
        OAuthError::invalid_request("missing code_verifier (PKCE is required, RFC 7636)")
    })?;
    let verifier =
        CodeVerifier::parse(verifier).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    if code.len() > 256 {
        return Err(OAuthError::invalid_grant("unknown authorization code"));
    }

    let now = now();
    let code_hash = crypto::sha256_hex(code);
    // From here the code is spent: one presentation, successful or not (RFC 6749 §4.1.2).
    let grant = match state.db.redeem_code(&code_hash, now).await? {
        Redemption::First(grant) => grant,
        Redemption::Replayed => {
            // RFC 6749 §4.1.2: a replayed code SHOULD revoke what it produced, since one of the
            // two presenters is an attacker and nobody can tell which.
            tracing::warn!(client_id = %client.id, "authorization code presented a second time");
            if let Some(grant_id) = state.db.grant_of_code(&code_hash).await? {
                state
                    .db
                    .revoke_grant(&grant_id, "authorization code replayed", now)
                    .await?;
                state
                    .events
                    .record(
                        Event::new(EventKind::GrantRevoked)
                            .client(&client.id)
                            .detail(format!("grant {grant_id}: authorization code replayed")),
                    )
                    .await;
            }
            return Err(OAuthError::invalid_grant(
                "this authorization code was already used; codes are single-use",
            ));
        }
        Redemption::Unknown => return Err(OAuthError::invalid_grant("unknown authorization code")),
    };
    if grant.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code expired; start the login again",
        ));
    }
    if grant.client_id != client.id {
        tracing::warn!(client_id = %client.id, "authorization code presented by another client");
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the one in the authorization request",
        ));
    }
    let challenge =
        CodeChallenge::parse(&grant.code_challenge).map_err(OAuthError::server_error)?;
    if !challenge.is_satisfied_by(&verifier) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (PKCE S256)",
        ));
    }
    let user = match state.db.user_by_id(&grant.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => {
            return Err(OAuthError::invalid_grant(
                "the user of this authorization code is no longer active",
            ));
        }
    };
    let scope = ScopeSet::parse(&grant.scope).map_err(OAuthError::server_error)?;
    let openid = scope.contains("openid");
    // RFC 9700 §4.14: refresh tokens only when asked for (`offline_access`) and allowed.
    let refreshable =
        scope.contains(OFFLINE_ACCESS) && client.may_use_grant(GrantType::RefreshToken.as_str());
    let stored = Grant {
        id: crypto::random_token(16),
        client_id: client.id.clone(),
        user_id: user.id.clone(),
        scope: grant.scope.clone(),
        auth_time: grant.auth_time,
        expires_at: now
            + ttl(client.refresh_token_absolute_ttl(state.config.refresh_token_absolute_ttl)),
        revoked_at: None,
    };
    let mut issued =
        access_token::issue(state, &user.id, client, super::scope_for_user(&user, scope))?;
    let refresh = refreshable.then(|| crypto::random_token(32));
    let refresh_hash = refresh.as_deref().map(crypto::sha256_hex);
    let refresh_expires = refresh_expiry(state, client, now, stored.expires_at);
    let issue = Issue {
        grant_id: &stored.id,
        client_id: &client.id,
        access_jti: &issued.jti,
        access_expires_at: issued.expires_at,
        refresh: refresh_hash
            .as_deref()
            .map(|h| (h, grant.scope.as_str(), refresh_expires)),
    };
    state
        .db
        .create_grant(&stored, now, &issue, &code_hash)
        .await?;
    issued.response.refresh_token = refresh;
    if openid {
        let login = access_token::Authentication {
            user: &user,
            client_id: &client.id,
            auth_time: grant.auth_time,
            nonce: grant.nonce.as_deref(),
        };
        access_token::add_id_token(state, &mut issued.response, &login)?;
    }
    Ok(Granted {
        response: issued.response,
        sub: user.id,
    })
}

/// RFC 6749 §6 with the rotation and reuse detection of RFC 9700 §4.14.2: every refresh spends
/// the presented token and returns a new one; presenting a spent token again revokes the whole
/// family, because either the client or an attacker is replaying it.
async fn refresh(
    state: &AppState,
    peer: IpAddr,
    client: &Client,
    params: &Params,
) -> Result<Granted, OAuthError> {
    let presented = params
        .get("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("missing refresh_token"))?;
    let asked = params
        .get("scope")
        .map(ScopeSet::parse)
        .transpose()
        .map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
    let hash = crypto::sha256_hex(presented);
    let now = now();
    let Some(token) = state.db.refresh_token(&hash).await? else {
        return Err(OAuthError::invalid_grant("unknown refresh token"));
    };
    // RFC 6749 §6: a refresh token is bound to the client it was issued to. A foreign client's
    // presentation changes nothing.
    if token.client_id != client.id {
        return Err(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    let granted = ScopeSet::parse(&token.scope).map_err(OAuthError::server_error)?;
    // RFC 6749 §6: the scope may shrink, never grow. Checked before anything changes.
    let scope = match asked {
        Some(asked) if !asked.is_subset(&granted) => {
            let extra: Vec<&str> = asked.difference(&granted).collect();
            return Err(OAuthError::invalid_scope(format!(
                "a refresh cannot add scopes the original grant lacks: {}",
                extra.join(" ")
            )));
        }
        Some(asked) if asked.is_empty() => granted,
        Some(asked) => asked,
        None => granted,
    };
    let reuse = Reuse {
        state,
        peer,
        client,
        token: &token,
        now,
    };
    if token.used_at.is_some() {
        reuse.revoke_family("refresh token reused").await?;
        return Err(OAuthError::invalid_grant(
            "this refresh token was already used; for safety every token of this login has been revoked",
        ));
    }
    if token.revoked_at.is_some() {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    if token.expires_at <= now || token.grant_expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the refresh token expired; log in again",
        ));
    }
    let user = match state.db.user_by_id(&token.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => {
            state
                .db
                .revoke_grant(&token.grant_id, "user disabled", now)
                .await?;
            return Err(OAuthError::invalid_grant(
                "the user of this grant is no longer active",
            ));
        }
    };
    let scope = super::scope_for_user(&user, scope);
    let mut issued = access_token::issue(state, &user.id, client, scope)?;
    let next = crypto::random_token(32);
    let next_hash = crypto::sha256_hex(&next);
    let next_expires = refresh_expiry(state, client, now, token.grant_expires_at);
    let issue = Issue {
        grant_id: &token.grant_id,
        client_id: &client.id,
        access_jti: &issued.jti,
        access_expires_at: issued.expires_at,
        // The new refresh token keeps the grant's scope even when this access token is narrower.
        refresh: Some((&next_hash, &token.scope, next_expires)),
    };
    // Spending the presented token and storing its successor is one transaction: a crash (or
    // an error) between the two would leave the family with no usable token, and the client's
    // retry with the old one would then look like reuse and revoke the login.
    if !state
        .db
        .rotate_refresh_token(&hash, &client.id, now, &issue)
        .await?
    {
        // It changed between the read and the update. Spent by a concurrent request: the same
        // token presented twice at once is reuse too, and exactly one of the two succeeded.
        let spent = state
            .db
            .refresh_token(&hash)
            .await?
            .is_some_and(|t| t.used_at.is_some());
        if spent {
            reuse
                .revoke_family("refresh token reused concurrently")
                .await?;
        }
        return Err(OAuthError::invalid_grant(
            "this refresh token is no longer valid",
        ));
    }
    issued.response.refresh_token = Some(next);
    Ok(Granted {
        response: issued.response,
        sub: user.id,
    })
}

/// A refresh token presented again: what is needed to revoke its family and log why.
struct Reuse<'a> {
    state: &'a AppState,
    peer: IpAddr,
    client: &'a Client,
    token: &'a RefreshView,
    now: i64,
}

impl Reuse<'_> {
    async fn revoke_family(&self, reason: &str) -> Result<(), OAuthError> {
        let event = Event::new(EventKind::RefreshReused)
            .client(&self.client.id)
            .user(&self.token.user_id)
            .address(self.peer)
            .detail(format!("{reason}; grant {} revoked", self.token.grant_id));
        self.state.events.record(event).await;
        self.state
            .db
            .revoke_grant(&self.token.grant_id, reason, self.now)
            .await?;
        Ok(())
    }
}

/// A new refresh token lives the client's idle lifetime, never past its grant's absolute one
/// (RFC 9700 §4.14.2): rotation restarts the first, not the second.
fn refresh_expiry(state: &AppState, client: &Client, now: i64, grant_expires_at: i64) -> i64 {
    let idle = client.refresh_token_idle_ttl(state.config.refresh_token_idle_ttl);
    (now + ttl(idle)).min(grant_expires_at)
}

fn ttl(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

/// RFC 6749 §4.4: a confidential client acting on its own behalf.
fn client_credentials(
    state: &AppState,
    client: &Client,
    method: AuthMethod,
    params: &Params,
) -> Result<Granted, OAuthError> {
    if method == AuthMethod::None {
        // RFC 6749 §4.4.2: "The client credentials grant type MUST only be used by
        // confidential clients."
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot use the client_credentials grant",
        ));
    }
    let scope = match params.get("scope") {
        // RFC 6749 §3.3: without a scope parameter, the client's registered scopes apply.
        None => client.scopes.clone(),
        Some(raw) => {
            let asked =
                ScopeSet::parse(raw).map_err(|e| OAuthError::invalid_scope(e.to_string()))?;
            let refused: Vec<&str> = asked.difference(&client.scopes).collect();
            if !refused.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "client {:?} may not be granted: {}; it may ask for: {}",
                    client.id,
                    refused.join(" "),
                    client.scopes
                )));
            }
            asked
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "no scope to grant: the client has no allowed scopes",
        ));
    }
    access_token::issue(state, &client.id, client, scope).map(|issued| Granted {
        response: issued.response,
        sub: client.id.clone(),
    })
}
