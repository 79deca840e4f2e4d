//! What a user's login gives at the token endpoint, whichever grant brings it: an authorization
//! code (RFC 6749 §4.1.3) or a device code the user allowed (RFC 8628 §3.4). Both are decided
//! the same way (the login's server, its resources, the user still active, the scopes still
//! offered, the server's policy now) and issue the same tokens under a new grant.

use shared::oauth::{Audience, GrantType};
use shared::scope::{OFFLINE_ACCESS, ScopeSet};

use super::{
    Caller, Granted, Lives, Named, elsewhere, govern_user_grant, lifetimes, narrowed, still_offered,
};
use crate::access_token::{Authentication, Subject};
use crate::clock::Timestamp;
use crate::crypto;
use crate::oauth::error::OAuthError;
use crate::oauth::scope_for_user;
use crate::servers::{AuthServer, Governed, Governing};
use crate::state::AppState;
use crate::storage::{Created, Grant, Issue, NewRefreshToken, Spaced, Spent, User};

/// A user's login, as the code or the device request carries it.
pub struct Login<'a> {
    /// The grant presenting it: `authorization_code` or the device code's.
    pub grant_type: GrantType,
    pub user_id: &'a str,
    pub scope: &'a ScopeSet,
    pub auth_time: Timestamp,
    /// The authorization request's `nonce`, for the ID token.
    pub nonce: Option<&'a str>,
    /// The audiences its request named (RFC 8707); empty for none.
    pub audiences: &'a Spaced,
    pub server_id: Option<&'a str>,
    pub server_generation: Option<&'a str>,
}

impl Login<'_> {
    /// What the client presented, in refusals.
    fn presented(&self) -> &'static str {
        match self.grant_type {
            GrantType::DeviceCode => "device code",
            _ => "authorization code",
        }
    }
}

/// What a login gives, decided.
pub struct Decided {
    user: User,
    scope: ScopeSet,
    audience: Option<Audience>,
    lives: Lives,
    governed: Option<Governed>,
}

/// Decides what `login` gives at `server` for `asked` (the request's resources): the login must
/// be this server's, the resources among those it was for, its user still active, and the
/// server's policy must allow it now (with its lifetimes and claims).
pub async fn decide(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    login: &Login<'_>,
    asked: Option<Audience>,
) -> Result<Decided, OAuthError> {
    // A login is redeemed at the token endpoint of the server where it happened: its tokens
    // are that server's (issuer, keys, audience, policies).
    if !server.owns(login.server_id, login.server_generation) {
        return Err(elsewhere(state, server, login.server_id, login.presented()));
    }
    let asked_resources = asked.is_some();
    let what = format!("this {}", login.presented());
    let audience = narrowed(&server.tokens, login.audiences, asked, &what)?;
    let user = match state.db.user_by_id(login.user_id).await? {
        Some(user) if !user.disabled => user,
        _ => {
            return Err(OAuthError::invalid_grant(format!(
                "the user of this {} is no longer active",
                login.presented()
            )));
        }
    };
    let scope = scope_for_user(&user, login.scope.clone());
    // A redemption names no scope (the login's is the grant's), and perhaps resources.
    let named = Named {
        scope: false,
        resources: asked_resources,
    };
    // A scope the server stopped offering between the login and this redemption.
    still_offered(state, server, &scope, named).await?;
    let request = Governing {
        client_id: &caller.client.id,
        grant_type: login.grant_type,
        refreshes: None,
        user: Some(&user),
        scope: &scope,
        audience: audience.as_ref(),
    };
    let governed = govern_user_grant(state, server, caller, request, named).await?;
    let lives = Lives::of(state, lifetimes(caller.client, governed.as_ref()));
    Ok(Decided {
        user,
        scope,
        audience,
        lives,
        governed,
    })
}

/// Issues what `decided` allows for `login` under a new grant, spending `spent` in the same
/// transaction: an access token, a refresh token when `offline_access` was granted and the
/// client may refresh (RFC 9700 §4.14), an ID token for `openid`.
pub async fn issue(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    login: &Login<'_>,
    decided: Decided,
    spent: Spent<'_>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let client = caller.client;
    let Decided {
        user,
        scope,
        audience,
        lives,
        governed,
    } = decided;
    let openid = login.scope.contains("openid");
    let refreshable =
        login.scope.contains(OFFLINE_ACCESS) && client.may_use_grant(GrantType::RefreshToken);
    let stored = Grant {
        audiences: login.audiences.clone(),
        id: crypto::random_token(16),
        client_id: client.id.clone(),
        user_id: user.id.clone(),
        scope: login.scope.clone(),
        auth_time: login.auth_time,
        expires_at: now.after(lives.refresh_absolute),
        revoked_at: None,
        server_id: login.server_id.map(str::to_owned),
        server_generation: login.server_generation.map(str::to_owned),
        // RFC 9449 §5: a public client's refresh token is bound to its DPoP key (a confidential
        // client's is bound to its authentication already).
        dpop_jkt: caller
            .dpop
            .filter(|_| client.is_public())
            .map(str::to_owned),
    };
    let subject = Subject {
        sub: &user.id,
        client_id: &client.id,
        grant_id: Some(&stored.id),
        scope,
        lifetime: lives.access,
        audience,
        jkt: caller.dpop,
        act: None,
    };
    let (access_claims, id_claims, decided) = match governed {
        Some(g) => (g.access, g.id, Some(g.allowed)),
        None => Default::default(),
    };
    let mut issued = server.tokens.issue_with(subject, &access_claims, now)?;
    let refresh = refreshable.then(|| crypto::random_token(32));
    let refresh_hash = refresh.as_deref().map(crypto::sha256_hex);
    let issue = Issue {
        grant_id: &stored.id,
        client_id: &client.id,
        access_jti: &issued.jti,
        access_expires_at: issued.expires_at,
        refresh: refresh_hash.as_deref().map(|hash| NewRefreshToken {
            hash,
            scope: login.scope,
            expires_at: lives.refresh_expiry(now, stored.expires_at),
        }),
    };
    match state.db.create_grant(&stored, now, &issue, spent).await? {
        Created::Issued => {}
        Created::CodeReplayed => {
            // Presented again while this redemption was under way: for a code, one of the two
            // presenters is an attacker, and nothing is issued to either; for a device code,
            // another poll got the tokens.
            tracing::warn!(client_id = %client.id, "{} spent twice during its redemption", login.presented());
            return Err(OAuthError::invalid_grant(format!(
                "this {} was presented more than once; it is single-use, so nothing was issued \
                 to this request",
                login.presented()
            )));
        }
        Created::ServerGone => {
            return Err(OAuthError::invalid_grant(format!(
                "the authorization server that issued this {} was deleted; nothing was issued",
                login.presented()
            )));
        }
    }
    issued.response.refresh_token = refresh;
    if openid {
        let authentication = Authentication {
            user: &user,
            client_id: &client.id,
            auth_time: login.auth_time,
            nonce: login.nonce,
            sid: Some(&stored.id),
        };
        let id_token =
            server
                .tokens
                .id_token(&issued.response, &authentication, &id_claims, now)?;
        issued.response.id_token = Some(id_token);
    }
    Ok(Granted {
        response: issued.response,
        sub: user.id,
        decided,
        note: None,
    })
}
