//! Token preview: what an authorization server's token endpoint would answer a client, decided
//! by the very checks the endpoint runs (the grants the server runs, the client's grant types,
//! its scopes, the server's access policies), with nothing issued, signed, stored or logged.

use shared::admin::{PreviewHeader, TokenPreview};
use shared::oauth::{ACCESS_TOKEN_TYP, ErrorResponse, GrantType};
use shared::scope::ScopeSet;

use super::client_auth::AuthMethod;
use super::client_credentials::{self, NotGranted};
use super::{permit, refusal};
use crate::access_token::Subject;
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::oauth::resource::Target;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, Client};

/// The answer of `server`'s token endpoint to `client` asking for `grant_type` with `scope` at
/// `now`, as if it had authenticated. `None` for what cannot be previewed: the grants with a
/// user, which need a login. The error is the database's.
pub async fn preview(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    grant_type: GrantType,
    scope: Option<ScopeSet>,
    resources: &[String],
    now: Timestamp,
) -> storage::Result<Option<TokenPreview>> {
    let answer = TokenPreview {
        issuer: server.issuer.clone(),
        token_endpoint: server.endpoint("/token"),
        error: None,
        policy: None,
        rule: None,
        header: None,
        claims: None,
        custom_claims: Default::default(),
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
    if let Err(e) = permit(client, method, grant_type) {
        return Ok(Some(refused(e)));
    }
    if grant_type != GrantType::ClientCredentials {
        return Ok(None);
    }
    let audience = match Target::new(&state.config, server).resolve(resources, &state.servers) {
        Ok(audience) => audience,
        Err(e) => return Ok(Some(refused(e))),
    };
    let planned = match client_credentials::decide(state, server, client, scope, audience).await {
        Ok(planned) => planned,
        Err(NotGranted::Storage(e)) => return Err(e),
        Err(NotGranted::Refused(e)) => return Ok(Some(refused(e))),
        Err(NotGranted::Denied(denied)) => {
            let by = denied.by.clone();
            return Ok(Some(TokenPreview {
                policy: by.as_ref().map(|(policy, _)| policy.clone()),
                rule: by.map(|(_, rule)| rule),
                ..refused(refusal(denied))
            }));
        }
    };
    let claims = server.tokens.claims(
        Subject {
            sub: &client.id,
            client_id: &client.id,
            grant_id: None,
            scope: planned.scope,
            lifetime: planned.lifetime,
            audience: planned.audience,
        },
        now,
    );
    let keys = server.keys.get();
    Ok(Some(TokenPreview {
        policy: planned.allowed.as_ref().map(|a| a.policy.clone()),
        rule: planned.allowed.map(|a| a.rule),
        header: Some(PreviewHeader {
            alg: keys.access_alg(),
            typ: ACCESS_TOKEN_TYP.to_owned(),
            kid: keys.signing_kid().to_owned(),
        }),
        claims: Some(claims),
        custom_claims: planned.custom,
        expires_in: Some(planned.lifetime),
        ..answer
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;

    #[tokio::test]
    async fn previews_what_each_server_would_issue_with_what_decided() {
        let (state, _dir) = demo_state(&["--access-token-ttl", "600"]).await;
        let now = state.clock.now();
        let service = state.db.client("demo-service").await.unwrap().unwrap();
        let cc = GrantType::ClientCredentials;

        let root = preview(&state, &state.root, &service, cc, None, &[], now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(root.token_endpoint, "http://127.0.0.1:5000/token");
        assert!(root.error.is_none() && root.policy.is_none());
        let claims = root.claims.unwrap();
        assert_eq!(
            (claims.aud.to_string().as_str(), claims.exp - claims.iat),
            ("api://default", 600)
        );
        assert_eq!(
            root.header.unwrap().kid,
            state.root.keys.get().signing_kid()
        );

        let default = state.servers.get("default").unwrap();
        let custom = preview(&state, &default, &service, cc, None, &[], now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (custom.policy.as_deref(), custom.rule.as_deref()),
            (Some("Default Policy"), Some("Default Policy Rule"))
        );
        assert_eq!(
            custom.claims.unwrap().iss,
            "http://127.0.0.1:5000/oauth2/default"
        );
        assert_eq!(custom.header.unwrap().alg, shared::admin::SigningAlg::Rs256);
    }

    #[tokio::test]
    async fn refusals_are_the_endpoints_and_user_grants_are_not_previewed() {
        let (state, _dir) = demo_state(&[]).await;
        let now = state.clock.now();
        let spa = state.db.client("demo-spa").await.unwrap().unwrap();
        let default = state.servers.get("default").unwrap();
        let code = GrantType::AuthorizationCode;
        let error = |shown: Option<TokenPreview>| shown.unwrap().error.unwrap().error;
        // A public client may not use client credentials, anywhere.
        for server in [&state.root, &default] {
            let shown = preview(
                &state,
                server,
                &spa,
                GrantType::ClientCredentials,
                None,
                &[],
                now,
            )
            .await
            .unwrap();
            assert_eq!(error(shown), "unauthorized_client");
        }
        // Grants with a user need a login, at every server.
        for server in [&state.root, &default] {
            assert!(
                preview(&state, server, &spa, code, None, &[], now)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
    }
}
