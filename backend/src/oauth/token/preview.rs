//! Token preview: what an authorization server's token endpoint would answer a client, decided
//! by the very checks the endpoint runs (the grants the server runs, the client's grant types,
//! its scopes, the server's access policies), with nothing issued, signed, stored or logged.

use shared::admin::{PreviewHeader, TokenPreview};
use shared::oauth::{ACCESS_TOKEN_TYP, ErrorResponse, GrantType};
use shared::scope::ScopeSet;

use super::client_auth::AuthMethod;
use super::{client_credentials, decide_at, permit, refusal, serves};
use crate::access_token::Subject;
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::Client;

/// The answer of `server`'s token endpoint to `client` asking for `grant_type` with `scope` at
/// `now`, as if it had authenticated. `None` for what cannot be previewed: the user grants at
/// the root issuer, which need a login. The error is the database's.
pub async fn preview(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    grant_type: GrantType,
    scope: Option<ScopeSet>,
    now: Timestamp,
) -> Result<Option<TokenPreview>, OAuthError> {
    let answer = TokenPreview {
        issuer: server.issuer.clone(),
        token_endpoint: server.endpoint("/token"),
        error: None,
        policy: None,
        rule: None,
        header: None,
        claims: None,
        expires_in: None,
    };
    let refused = |error: OAuthError| TokenPreview {
        error: Some(ErrorResponse {
            error: error.code.as_str().to_owned(),
            error_description: Some(error.description),
        }),
        ..answer.clone()
    };
    let method = if client.is_public() {
        AuthMethod::None
    } else {
        AuthMethod::ClientSecretBasic
    };
    if let Err(e) =
        serves(state, server, grant_type).and_then(|()| permit(client, method, grant_type))
    {
        return Ok(Some(refused(e)));
    }
    if grant_type != GrantType::ClientCredentials {
        return Ok(None);
    }
    let scope = match client_credentials::scope(client, scope) {
        Ok(scope) => scope,
        Err(e) => return Ok(Some(refused(e))),
    };
    let decided = match decide_at(state, server, client, grant_type, &scope).await? {
        Ok(decided) => decided,
        Err(denied) => {
            let by = denied.by.clone();
            return Ok(Some(TokenPreview {
                policy: by.as_ref().map(|(policy, _)| policy.clone()),
                rule: by.map(|(_, rule)| rule),
                ..refused(refusal(denied))
            }));
        }
    };
    let lifetime = decided.of.access(state.config.access_token_ttl);
    let claims = server.tokens.claims(
        Subject {
            sub: &client.id,
            client_id: &client.id,
            grant_id: None,
            scope,
            lifetime,
        },
        now,
    );
    let keys = server.keys.get();
    Ok(Some(TokenPreview {
        policy: decided.decided.as_ref().map(|d| d.policy.clone()),
        rule: decided.decided.map(|d| d.rule),
        header: Some(PreviewHeader {
            alg: keys.access_alg(),
            typ: ACCESS_TOKEN_TYP.to_owned(),
            kid: keys.signing_kid().to_owned(),
        }),
        claims: Some(claims),
        expires_in: Some(lifetime),
        ..answer
    }))
}
