//! RFC 6749 §6 with the rotation and reuse detection of RFC 9700 §4.14.2: every refresh spends
//! the presented token and returns a new one; presenting a spent token again revokes the whole
//! family, because either the client or an attacker is replaying it.

use shared::oauth::{Audience, GrantType};
use shared::scope::ScopeSet;

use super::{
    Caller, Granted, Lives, Named, elsewhere, govern_user_grant, lifetimes, narrowed, still_offered,
};
use crate::access_token::Subject;
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::oauth::error::OAuthError;
use crate::oauth::scope_for_user;
use crate::refusals::Why;
use crate::servers::{AuthServer, Governing};
use crate::state::AppState;
use crate::storage::{EndedLogin, Issue, NewRefreshToken, RefreshView};

/// What the client presented: the refresh token, and the scope and resources it asks for
/// (`None`: the grant's).
pub struct Presented<'a> {
    pub token: &'a str,
    pub scope: Option<ScopeSet>,
    pub audience: Option<Audience>,
}

/// Rotates the refresh token `presented` at `server`'s token endpoint.
pub async fn rotate(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    presented: Presented<'_>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let Presented {
        token: presented,
        scope: asked,
        audience,
    } = presented;
    let client = caller.client;
    let hash = crypto::sha256_hex(presented);
    let Some(token) = state.db.refresh_token(&hash).await? else {
        return Err(OAuthError::invalid_grant("unknown refresh token").because(
            Why::check("refresh_token")
                .expected("a refresh token this server issued and still keeps")
                .got("one it does not know (never issued, or forgotten after it expired)")
                .remedy("log in again to get a new refresh token"),
        ));
    };
    // The token is the user's: its refusals are theirs to read.
    crate::logs::identify(&client.id, Some(&token.user_id));
    // RFC 6749 §6: a refresh token is bound to the client it was issued to. A foreign client's
    // presentation changes nothing.
    if token.client_id != client.id {
        return Err(
            OAuthError::invalid_grant("the refresh token was issued to another client").because(
                Why::check("client")
                    .expected(format!(
                        "client {}, which the token was issued to",
                        token.client_id
                    ))
                    .got(format!("client {}", client.id))
                    .remedy("a refresh token works only for the client it was issued to"),
            ),
        );
    }
    // Nor is it anything at another server's token endpoint: its grant is the server's whose
    // login began it.
    if !server.owns(
        token.server_id.as_deref(),
        token.server_generation.as_deref(),
    ) {
        return Err(elsewhere(
            state,
            server,
            token.server_id.as_deref(),
            "refresh token",
        ));
    }
    // RFC 9449 §5: a public client's login that began with DPoP is bound to its key: a refresh
    // needs a proof by that key (a stolen refresh token is useless without it).
    if let Some(bound) = token.dpop_jkt.as_deref()
        && caller.dpop != Some(bound)
    {
        // Without a proof, the proof is what is wrong; with another key's, the grant does not
        // hold for that key.
        let (code, got) = match caller.dpop {
            None => (
                shared::oauth::ErrorCode::InvalidDpopProof,
                "no DPoP proof".to_owned(),
            ),
            Some(other) => (
                shared::oauth::ErrorCode::InvalidGrant,
                format!("a proof by the key with thumbprint {other}"),
            ),
        };
        return Err(OAuthError::new(
            code,
            "this refresh token is bound to the DPoP key its login used: send a DPoP proof \
             signed by that key",
        )
        .because(
            Why::check("cnf.jkt")
                .expected(format!("a DPoP proof by the key with thumbprint {bound}"))
                .got(got)
                .remedy(
                    "sign a DPoP proof for this request with the key the login used (RFC 9449 §5)",
                ),
        ));
    }
    let named = Named {
        scope: asked.as_ref().is_some_and(|asked| !asked.is_empty()),
        resources: audience.is_some(),
    };
    // RFC 6749 §6: the scope may shrink, never grow. Checked before anything changes.
    let scope = match asked {
        Some(asked) if !asked.is_subset(&token.scope) => {
            let extra: Vec<&str> = asked.difference(&token.scope).collect();
            return Err(OAuthError::invalid_scope(format!(
                "a refresh cannot add scopes the original grant lacks: {}",
                extra.join(" ")
            ))
            .because(
                Why::check("scope")
                    .expected(format!("some of the login's scopes: {}", token.scope))
                    .got(asked.to_string())
                    .remedy("leave out scope to keep the login's, or log in again asking for more"),
            ));
        }
        Some(asked) if !asked.is_empty() => asked,
        _ => token.scope.clone(),
    };
    let reuse = Reuse {
        state,
        caller,
        token: &token,
        now,
    };
    if token.used_at.is_some() {
        reuse.revoke_family("refresh token reused").await?;
        return Err(OAuthError::invalid_grant(
            "this refresh token was already used; for safety every token of this login has been revoked",
        )
        .because(
            Why::check("single_use")
                .expected("the newest refresh token of the login (each refresh returns a new one; RFC 9700 §4.14.2)")
                .got("a refresh token that was already used, so the login's tokens were all revoked")
                .remedy("keep the refresh_token of each token response and use only the newest; log in again now"),
        ));
    }
    if token.revoked_at.is_some() {
        return Err(
            OAuthError::invalid_grant("the refresh token was revoked").because(
                Why::check("revocation")
                    .expected("a refresh token not revoked")
                    .got("one revoked with its login (a logout, RFC 7009 revocation, the user disabled)")
                    .remedy("log in again"),
            ),
        );
    }
    if token.expires_at <= now || token.grant_expires_at <= now {
        let ends = token.expires_at.min(token.grant_expires_at);
        return Err(
            OAuthError::invalid_grant("the refresh token expired; log in again").because(
                Why::check("exp")
                    .expected(format!(
                        "a time still to come: the server's clock says {}",
                        now.rfc3339()
                    ))
                    .got(format!(
                        "a refresh token (or login) that ended at {}",
                        ends.rfc3339()
                    ))
                    .remedy("log in again"),
            ),
        );
    }
    // RFC 8707 §2.2: the resources too, checked before anything changes (but after a reuse,
    // which ends the family whatever it asks).
    let audience = narrowed(
        &server.tokens,
        &token.audiences,
        audience,
        "this refresh token's grant",
    )?;
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
    let scope = scope_for_user(&user, scope);
    // A scope the server has stopped offering since the login is not granted again. Nothing
    // is spent.
    still_offered(state, server, &scope, named).await?;
    // At a custom server its policy decides every refresh (before anything is spent): a rule
    // changed since the login applies to the next one.
    let request = Governing {
        client_id: &client.id,
        grant_type: GrantType::RefreshToken,
        refreshes: Some(token.origin),
        user: Some(&user),
        scope: &scope,
        audience: audience.as_ref(),
    };
    let governed = govern_user_grant(state, server, caller, request, named).await?;
    let lives = Lives::of(state, lifetimes(client, governed.as_ref()));
    // The login's absolute lifetime as the rule (or the client) says now: one shortened since
    // the login shortens it too (RFC 9700 §4.14.2: rotation never extends it).
    let grant_ends = token
        .grant_expires_at
        .min(token.grant_created_at.after(lives.refresh_absolute));
    if grant_ends <= now {
        return Err(OAuthError::invalid_grant(format!(
            "this login's absolute lifetime ({} s) is over; log in again",
            lives.refresh_absolute
        )));
    }
    let subject = Subject {
        sub: &user.id,
        client_id: &client.id,
        grant_id: Some(&token.grant_id),
        scope,
        lifetime: lives.access,
        audience,
        jkt: caller.dpop,
        act: None,
    };
    // A refresh answers no ID token: only the access token's claims apply.
    let (access_claims, decided) = match governed {
        Some(g) => (g.access, Some(g.allowed)),
        None => Default::default(),
    };
    let mut issued = server.tokens.issue_with(subject, &access_claims, now)?;
    let next = crypto::random_token(32);
    let next_hash = crypto::sha256_hex(&next);
    let issue = Issue {
        grant_id: &token.grant_id,
        client_id: &client.id,
        access_jti: &issued.jti,
        access_expires_at: issued.expires_at,
        // The new refresh token keeps the grant's scope even when this access token is narrower.
        refresh: Some(NewRefreshToken {
            hash: &next_hash,
            scope: &token.scope,
            expires_at: lives.refresh_expiry(now, grant_ends),
        }),
    };
    // Spending the presented token and storing its successor is one transaction: a crash (or
    // an error) between the two would leave the family with no usable token, and the client's
    // retry with the old one would then look like reuse and revoke the login.
    // §5: a public client's refresh token is bound to the key of its proof from the first
    // refresh with one, when its login had none (as a login with a proof binds it).
    let bind = caller
        .dpop
        .filter(|_| client.is_public() && token.dpop_jkt.is_none());
    if !state
        .db
        .rotate_refresh_token(&hash, &client.id, now, &issue, bind)
        .await?
    {
        // It changed between the read and the update. Spent by a concurrent request (on this
        // instance or another): the same token presented twice at once is reuse too, and
        // exactly one of the two succeeded.
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
        decided,
        note: None,
    })
}

/// A refresh token presented again: what is needed to revoke its family and log why.
struct Reuse<'a> {
    state: &'a AppState,
    caller: &'a Caller<'a>,
    token: &'a RefreshView,
    now: Timestamp,
}

impl Reuse<'_> {
    async fn revoke_family(&self, reason: &str) -> Result<(), OAuthError> {
        let event = Event::new(EventKind::RefreshReused)
            .client(&self.caller.client.id)
            .user(&self.token.user_id)
            .address(self.caller.address)
            .detail(format!("{reason}; grant {} revoked", self.token.grant_id));
        self.state.events.record(event).await;
        let revoked = self
            .state
            .db
            .revoke_grant(&self.token.grant_id, reason, self.now)
            .await?;
        if revoked {
            // RFC 9700 §4.14.2: the login may be in a thief's hands; the client is told at once
            // (Back-Channel Logout), so that its own sessions of the login end too.
            let ended = EndedLogin {
                grant_id: self.token.grant_id.clone(),
                client_id: self.token.client_id.clone(),
                server_id: self.token.server_id.clone(),
                expires_at: self.token.grant_expires_at,
            };
            crate::oauth::logout::backchannel::notify_later(
                self.state,
                &self.token.user_id,
                vec![ended],
                self.now,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use shared::oauth::ErrorCode;
    use std::time::Duration;

    use super::*;
    use crate::clock::Timestamp;
    use crate::state::testing::{self, demo_state};
    use crate::storage::{CodeGrant, Grant, NewCode};
    use shared::pkce::CodeVerifier;

    /// A grant for user0 and the demo app with one refresh token, as a login leaves it.
    async fn login(state: &AppState, refresh: &str) -> String {
        let user = state.db.user_by_username("user0").await.unwrap().unwrap();
        let now = state.clock.now();
        let scope = ScopeSet::parse("offline_access orders:read products:read").unwrap();
        let grant = Grant {
            id: "g-1".into(),
            client_id: "demo-spa".into(),
            user_id: user.id,
            scope: scope.clone(),
            auth_time: now,
            expires_at: now.plus_secs(7 * 86_400),
            revoked_at: None,
            audiences: Default::default(),
            server_id: None,
            server_generation: None,
            dpop_jkt: None,
        };
        let hash = crypto::sha256_hex(refresh);
        let issue = Issue {
            grant_id: "g-1",
            client_id: "demo-spa",
            access_jti: "at-1",
            access_expires_at: now.plus_secs(900),
            refresh: Some(NewRefreshToken {
                hash: &hash,
                scope: &scope,
                expires_at: now.plus_secs(86_400),
            }),
        };
        // The code the login redeemed: a grant is linked to it.
        let code = CodeGrant {
            client_id: "demo-spa".into(),
            user_id: grant.user_id.clone(),
            redirect_uri: "http://127.0.0.1:8080/callback".into(),
            scope: scope.clone(),
            code_challenge: CodeVerifier::from_random_bytes(&[3; 32]).challenge(),
            nonce: None,
            auth_time: now,
            expires_at: now.plus_secs(60),
            audiences: Default::default(),
            server_id: None,
            server_generation: None,
            dpop_jkt: None,
        };
        let code_hash = crypto::sha256_hex("code");
        let new_code = NewCode {
            code_hash: &code_hash,
            grant: &code,
        };
        state.db.insert_code(&new_code).await.unwrap();
        state.db.redeem_code(&code_hash, now).await.unwrap();
        assert_eq!(
            state
                .db
                .create_grant(&grant, now, &issue, crate::storage::Spent::Code(&code_hash))
                .await
                .unwrap(),
            crate::storage::Created::Issued
        );
        grant.id
    }

    async fn refresh(
        state: &AppState,
        token: &str,
        scope: Option<&str>,
        now: Timestamp,
    ) -> Result<Granted, OAuthError> {
        let client = testing::client(state, "demo-spa").await;
        let caller = Caller::public(&client);
        let asked = scope.map(|s| ScopeSet::parse(s).unwrap());
        let presented = Presented {
            token,
            scope: asked,
            audience: None,
        };
        rotate(state, &state.root, &caller, presented, now).await
    }

    #[tokio::test]
    async fn rotation_spends_the_token_and_reuse_ends_the_family() {
        let (state, _dir) = demo_state(&[]).await;
        let grant = login(&state, "rt-0").await;
        let now = state.clock.now();
        let first = refresh(&state, "rt-0", Some("orders:read"), now)
            .await
            .unwrap();
        assert_eq!(first.response.scope.to_string(), "orders:read");
        let next = first.response.refresh_token.clone().unwrap();
        assert_ne!(next, "rt-0");

        let reused = refresh(&state, "rt-0", None, now).await.unwrap_err();
        assert!(reused.description.contains("already used"));
        let stored = state.db.grant(&grant).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at, Some(now));
        // The successor went with the family.
        let after = refresh(&state, &next, None, now).await.unwrap_err();
        assert_eq!(after.code, ErrorCode::InvalidGrant);
        assert_eq!(
            state
                .tokens
                .verify_live(&state.db, &first.response.access_token, now)
                .await
                .unwrap(),
            Err("the access token was revoked")
        );
    }

    #[tokio::test]
    async fn a_refresh_may_narrow_never_widen_and_expires_when_idle() {
        let (state, _dir) = demo_state(&[]).await;
        login(&state, "rt-0").await;
        let now = state.clock.now();
        let wider = refresh(&state, "rt-0", Some("orders:write"), now)
            .await
            .unwrap_err();
        assert_eq!(wider.code, ErrorCode::InvalidScope);
        // The refusal spent nothing.
        state.clock.advance(Duration::from_secs(86_400));
        let idle = refresh(&state, "rt-0", None, state.clock.now())
            .await
            .unwrap_err();
        assert!(idle.description.contains("expired"), "{}", idle.description);
    }
}
