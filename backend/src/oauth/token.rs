//! `POST /token` (RFC 6749 §3.2): the authorization-code grant with PKCE and the
//! client-credentials grant.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use shared::oauth::ErrorCode;
use shared::pkce::{CodeChallenge, CodeVerifier};
use shared::scope::ScopeSet;

use super::access_token;
use super::client_auth::{self, AuthMethod};
use super::error::{OAuthError, no_store};
use super::params::Params;
use crate::crypto;
use crate::state::AppState;
use crate::storage::{Client, Redemption, now};

/// The grant types this server implements, as RFC 6749 names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 2] = [GrantType::AuthorizationCode, GrantType::ClientCredentials];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::ClientCredentials => "client_credentials",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == raw)
    }
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(response) => (no_store(), Json(response)).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<shared::oauth::TokenResponse, OAuthError> {
    // RFC 6749 §3.2: parameters come form-encoded in the body, never as JSON or in the query.
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(OAuthError::invalid_request(
            "the token request must be sent as application/x-www-form-urlencoded (RFC 6749 §3.2)",
        ));
    }
    let params = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let grant_type = match params.get("grant_type") {
        None => return Err(OAuthError::invalid_request("missing grant_type")),
        Some(raw) => GrantType::parse(raw).ok_or_else(|| {
            OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                format!("grant_type {raw:?} is not supported; use authorization_code or client_credentials"),
            )
        })?,
    };
    let (client, method) = client_auth::authenticate(&state.db, headers, &params).await?;
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
    match grant_type {
        GrantType::AuthorizationCode => authorization_code(state, &client, &params).await,
        GrantType::ClientCredentials => client_credentials(state, &client, method, &params),
    }
}

/// RFC 6749 §4.1.3 with RFC 7636 §4.6.
async fn authorization_code(
    state: &AppState,
    client: &Client,
    params: &Params,
) -> Result<shared::oauth::TokenResponse, OAuthError> {
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
    // From here the code is spent: one presentation, successful or not (RFC 6749 §4.1.2).
    let grant = match state.db.redeem_code(&crypto::sha256_hex(code), now).await? {
        Redemption::First(grant) => grant,
        Redemption::Replayed => {
            tracing::warn!(client_id = %client.id, "authorization code presented a second time");
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
    let mut response = access_token::issue(state, &user.id, &client.id, scope)?;
    if openid {
        let login = access_token::Authentication {
            user: &user,
            client_id: &client.id,
            auth_time: grant.auth_time,
            nonce: grant.nonce.as_deref(),
        };
        access_token::add_id_token(state, &mut response, &login)?;
    }
    Ok(response)
}

/// RFC 6749 §4.4: a confidential client acting on its own behalf.
fn client_credentials(
    state: &AppState,
    client: &Client,
    method: AuthMethod,
    params: &Params,
) -> Result<shared::oauth::TokenResponse, OAuthError> {
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
    access_token::issue(state, &client.id, &client.id, scope)
}
