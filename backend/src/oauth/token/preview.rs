//! Token preview: what an authorization server's token endpoint would answer a client, decided
//! by the very checks the endpoint runs (the grants the server runs, the client's grant types,
//! its scopes, the server's access policies), with nothing issued, signed, stored or logged.
//! For the authorization code grant, the login is taken as done by a chosen user: the checks
//! are those of the authorization request, the login (the policy, with the user's role) and
//! the code's redemption, and the answer has the ID token's claims too.

use shared::admin::{PreviewHeader, TokenPreview};
use shared::oauth::{ACCESS_TOKEN_TYP, Audience, ErrorResponse, GrantType};
use shared::scope::{OFFLINE_ACCESS, OPENID, ScopeSet};

use super::client_auth::AuthMethod;
use super::client_credentials::{self, NotGranted};
use super::{Lives, lifetimes, permit, refusal};
use crate::access_token::{Authentication, Subject};
use crate::clock::Timestamp;
use crate::crypto;
use crate::oauth::device;
use crate::oauth::error::OAuthError;
use crate::oauth::resource::Target;
use crate::oauth::scope_for_user;
use crate::servers::{AuthServer, Governing};
use crate::state::AppState;
use crate::storage::{self, Client, User};

/// What a preview asks: the client's request at a server, at `now`, and for a login, who.
pub struct Asked<'a> {
    pub client: &'a Client,
    pub grant_type: GrantType,
    pub scope: Option<ScopeSet>,
    pub resources: &'a [String],
    /// The user who logs in, for `authorization_code`.
    pub user: Option<&'a User>,
    pub now: Timestamp,
}

/// The answer of `server`'s token endpoint to what `asked` describes, as if the client had
/// authenticated (and, for a code, the user had logged in). `None` for what cannot be
/// previewed: a refresh (it needs a refresh token), or a code without a user. The error is the
/// database's.
pub async fn preview(
    state: &AppState,
    server: &AuthServer,
    asked: Asked<'_>,
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
        id_token: None,
        refresh_token_expires_in: None,
    };
    let refused = |error| refusal_of(&answer, error, None);
    let client = asked.client;
    let method = if client.is_public() {
        AuthMethod::None
    } else if client.keys.is_some() {
        AuthMethod::PrivateKeyJwt
    } else {
        AuthMethod::ClientSecretBasic
    };
    if let Err(e) = permit(client, method, asked.grant_type) {
        return Ok(Some(refused(e)));
    }
    let audience = match Target::new(&state.config, server).resolve(asked.resources, &state.servers)
    {
        Ok(audience) => audience,
        Err(e) => return Ok(Some(refused(e))),
    };
    let user = match (asked.grant_type, asked.user) {
        (GrantType::ClientCredentials, _) => None,
        (grant, Some(user)) if grant.logs_users_in() => Some(user),
        _ => return Ok(None),
    };
    let Some(user) = user else {
        return client_credentials_preview(state, server, asked, audience, answer).await;
    };
    // The authorization request's checks (or the device authorization request's), then the
    // login's.
    let offered = server.offered(&state.db).await?;
    let scope = if asked.grant_type == GrantType::DeviceCode {
        match device::requested_scope(client, offered.as_ref(), asked.scope) {
            Ok(scope) => scope,
            Err(e) => return Ok(Some(refused(e))),
        }
    } else {
        let Some(scope) = asked.scope else {
            return Ok(Some(refused(OAuthError::invalid_scope(format!(
                "no scope requested; client {:?} may ask for: {}",
                client.id, client.scopes
            )))));
        };
        let outside: Vec<&str> = scope.difference(&client.scopes).collect();
        if !outside.is_empty() {
            return Ok(Some(refused(OAuthError::invalid_scope(format!(
                "client {:?} may not ask for: {}",
                client.id,
                outside.join(" ")
            )))));
        }
        if let Some(why) = offered.and_then(|offered| offered.refusal(&scope)) {
            return Ok(Some(refused(OAuthError::invalid_scope(why))));
        }
        scope
    };
    if user.disabled {
        return Ok(Some(refused(OAuthError::new(
            shared::oauth::ErrorCode::AccessDenied,
            format!(
                "user {} is disabled: the login form refuses them",
                user.username
            ),
        ))));
    }
    let scope = scope_for_user(user, scope);
    let governing = Governing {
        client_id: &client.id,
        grant_type: asked.grant_type,
        refreshes: None,
        user: Some(user),
        scope: &scope,
        audience: audience.as_ref(),
    };
    let governed = match server.govern(&state.db, governing).await? {
        Ok(governed) => governed,
        Err(denied) => {
            let by = denied.by.clone();
            // As the login refuses it (the authorization endpoint's words for the kinds).
            let error = OAuthError::new(denied.why.authorization_error(), denied.description);
            return Ok(Some(refusal_of(&answer, error, by)));
        }
    };
    let lives = Lives::of(state, lifetimes(client, governed.as_ref()));
    let (access_claims, id_claims, allowed) = match governed {
        Some(g) => (g.access, g.id, Some(g.allowed)),
        None => Default::default(),
    };
    let example_grant = crypto::random_token(16);
    let claims = server.tokens.claims(
        Subject {
            sub: &user.id,
            client_id: &client.id,
            grant_id: Some(&example_grant),
            scope: scope.clone(),
            lifetime: lives.access,
            audience,
            jkt: None,
            act: None,
        },
        asked.now,
    );
    let id_token = scope.contains(OPENID).then(|| {
        let login = Authentication {
            user,
            client_id: &client.id,
            auth_time: asked.now,
            nonce: None,
            // A preview has no login.
            sid: None,
        };
        let claims = server
            .tokens
            .id_claims(&login, &scope, lives.access, &id_claims, asked.now);
        serde_json::to_value(claims).unwrap_or_default()
    });
    let refreshable =
        scope.contains(OFFLINE_ACCESS) && client.may_use_grant(GrantType::RefreshToken);
    Ok(Some(TokenPreview {
        policy: allowed.as_ref().map(|a| a.policy.clone()),
        rule: allowed.map(|a| a.rule),
        header: Some(header(server)),
        claims: Some(claims),
        custom_claims: access_claims,
        expires_in: Some(lives.access),
        id_token,
        refresh_token_expires_in: refreshable
            .then(|| lives.refresh_idle.min(lives.refresh_absolute)),
        ..answer
    }))
}

/// A client-credentials request, decided as the token endpoint decides it.
async fn client_credentials_preview(
    state: &AppState,
    server: &AuthServer,
    asked: Asked<'_>,
    audience: Option<Audience>,
    answer: TokenPreview,
) -> storage::Result<Option<TokenPreview>> {
    let client = asked.client;
    let planned =
        match client_credentials::decide(state, server, client, asked.scope, audience).await {
            Ok(planned) => planned,
            Err(NotGranted::Storage(e)) => return Err(e),
            Err(NotGranted::Refused(e)) => return Ok(Some(refusal_of(&answer, e, None))),
            Err(NotGranted::Denied(denied)) => {
                let by = denied.by.clone();
                return Ok(Some(refusal_of(&answer, refusal(denied), by)));
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
            jkt: None,
            act: None,
        },
        asked.now,
    );
    Ok(Some(TokenPreview {
        policy: planned.allowed.as_ref().map(|a| a.policy.clone()),
        rule: planned.allowed.map(|a| a.rule),
        header: Some(header(server)),
        claims: Some(claims),
        custom_claims: planned.custom,
        expires_in: Some(planned.lifetime),
        ..answer
    }))
}

/// `answer` refusing with `error`, naming the policy and rule that denied (`by`), if any.
fn refusal_of(
    answer: &TokenPreview,
    error: OAuthError,
    by: Option<(String, String)>,
) -> TokenPreview {
    let (policy, rule) = by.unzip();
    TokenPreview {
        error: Some(ErrorResponse {
            error: error.code.as_str().to_owned(),
            error_description: Some(error.description),
        }),
        policy,
        rule,
        ..answer.clone()
    }
}

/// The header an access token of `server` would have now.
fn header(server: &AuthServer) -> PreviewHeader {
    let keys = server.keys.get();
    PreviewHeader {
        alg: keys.access_alg(),
        typ: ACCESS_TOKEN_TYP.to_owned(),
        kid: keys.signing_kid().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;

    fn ask<'a>(
        client: &'a Client,
        grant_type: GrantType,
        scope: Option<&str>,
        user: Option<&'a User>,
        now: Timestamp,
    ) -> Asked<'a> {
        Asked {
            client,
            grant_type,
            scope: scope.map(|s| ScopeSet::parse(s).unwrap()),
            resources: &[],
            user,
            now,
        }
    }

    #[tokio::test]
    async fn previews_what_each_server_would_issue_with_what_decided() {
        let (state, _dir) = demo_state(&["--access-token-ttl", "600"]).await;
        let now = state.clock.now();
        let service = state.db.client("demo-service").await.unwrap().unwrap();
        let cc = GrantType::ClientCredentials;

        let root = preview(&state, &state.root, ask(&service, cc, None, None, now))
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
        assert!(root.id_token.is_none() && root.refresh_token_expires_in.is_none());

        let default = state.servers.get("default").unwrap();
        let custom = preview(&state, &default, ask(&service, cc, None, None, now))
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
    async fn a_login_is_previewed_for_a_user_with_its_id_token_and_refresh_token() {
        let (state, _dir) = demo_state(&[]).await;
        let now = state.clock.now();
        let spa = state.db.client("demo-spa").await.unwrap().unwrap();
        let user = state.db.user_by_username("user0").await.unwrap().unwrap();
        let code = GrantType::AuthorizationCode;
        let default = state.servers.get("default").unwrap();
        // `admin` is the root issuer's (the console's): `default` does not offer it.
        for (server, scope) in [
            (
                &state.root,
                "openid profile offline_access admin orders:read",
            ),
            (&default, "openid profile offline_access orders:read"),
        ] {
            let scope = Some(scope);
            let shown = preview(&state, server, ask(&spa, code, scope, Some(&user), now))
                .await
                .unwrap()
                .unwrap();
            assert!(shown.error.is_none(), "{shown:?}");
            let claims = shown.claims.unwrap();
            assert_eq!(claims.sub, user.id);
            assert_eq!(claims.iss, server.issuer);
            // What the user's role does not allow is left out, as at the login.
            assert_eq!(
                claims.scope.to_string(),
                "offline_access openid orders:read profile"
            );
            let id = shown.id_token.unwrap();
            assert_eq!(id["aud"], "demo-spa");
            assert_eq!(id["preferred_username"], "user0");
            assert!(id.get("at_hash").is_none() && id.get("email").is_none());
            assert!(shown.refresh_token_expires_in.unwrap() > 0);
        }
        // Without openid, no ID token; without offline_access, no refresh token.
        let plain = preview(
            &state,
            &default,
            ask(&spa, code, Some("orders:read"), Some(&user), now),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(plain.id_token.is_none() && plain.refresh_token_expires_in.is_none());
        // The authorization request's checks: a scope, within the client's.
        for (scope, says) in [
            (None, "no scope requested"),
            (Some("billing"), "may not ask for: billing"),
        ] {
            let refused = preview(&state, &default, ask(&spa, code, scope, Some(&user), now))
                .await
                .unwrap()
                .unwrap()
                .error
                .unwrap();
            assert_eq!(refused.error, "invalid_scope");
            assert!(refused.error_description.unwrap().contains(says));
        }
    }

    #[tokio::test]
    async fn refusals_are_the_endpoints_and_refreshes_are_not_previewed() {
        let (state, _dir) = demo_state(&[]).await;
        let now = state.clock.now();
        let spa = state.db.client("demo-spa").await.unwrap().unwrap();
        let default = state.servers.get("default").unwrap();
        let error = |shown: Option<TokenPreview>| shown.unwrap().error.unwrap().error;
        // A public client may not use client credentials, anywhere.
        for server in [&state.root, &default] {
            let cc = ask(&spa, GrantType::ClientCredentials, None, None, now);
            let shown = preview(&state, server, cc).await.unwrap();
            assert_eq!(error(shown), "unauthorized_client");
        }
        // A refresh needs a refresh token, a code a user.
        for grant in [GrantType::RefreshToken, GrantType::AuthorizationCode] {
            for server in [&state.root, &default] {
                let asked = ask(&spa, grant, Some("openid"), None, now);
                assert!(preview(&state, server, asked).await.unwrap().is_none());
            }
        }
    }
}
