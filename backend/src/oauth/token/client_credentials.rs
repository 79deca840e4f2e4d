//! RFC 6749 §4.4: a confidential client acting on its own behalf. Nothing is stored: the
//! token is self-contained, and revoking it one by one creates its row then.

use std::collections::BTreeMap;

use shared::oauth::{Audience, GrantType};
use shared::scope::{ADMIN, OFFLINE_ACCESS, OPENID, ScopeSet};

use super::{Caller, Granted};
use crate::access_token::{AccessTokens, Subject};
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::servers::{AuthServer, Governed, Governing, Offered, policy};
use crate::state::AppState;
use crate::storage::{self, Client};

/// Scopes that only mean something in a grant with an end-user: an ID token, a refresh token,
/// and `admin`, which is granted only to a user with the admin role. A client acting for itself
/// is never granted them, even when registered with them.
pub const USER_ONLY: [&str; 3] = [OPENID, OFFLINE_ACCESS, ADMIN];
/// Of those, the ones a client-credentials request may ask for and simply not get: they ask for
/// another token (ID, refresh), not for access.
const LEFT_OUT: [&str; 2] = [OPENID, OFFLINE_ACCESS];

/// What `client` may be granted of `asked`, at a server that offers `offered` (`None`: the root
/// issuer, where the client's registration decides alone).
pub fn scope(
    client: &Client,
    offered: Option<&Offered>,
    asked: Option<ScopeSet>,
) -> Result<ScopeSet, OAuthError> {
    // `openid` asks for an ID token and `offline_access` for a refresh token, and a client
    // acting for itself gets neither (no end-user to describe, nothing to refresh): they are
    // left out of what is asked and of what is granted by default, rather than refused, so that
    // the literal `scope=openid` of a walk-through still gets a token (RFC 6749 §3.3 lets the
    // server grant a different scope, and the response's `scope` says which).
    let registered: ScopeSet = client
        .scopes
        .iter()
        .filter(|s| !USER_ONLY.contains(s))
        .collect();
    let asked = asked
        .map(|mut asked| {
            for scope in LEFT_OUT {
                asked.remove(scope);
            }
            asked
        })
        .filter(|asked| !asked.is_empty());
    let scope = match asked {
        // RFC 6749 §3.3: without a scope parameter, or with nothing else asked, the client's
        // registered scopes apply (those the server offers).
        None => match offered {
            None => registered,
            Some(offered) => {
                let here: ScopeSet = registered
                    .iter()
                    .filter(|s| offered.scopes.contains(s))
                    .collect();
                if here.is_empty() && !registered.is_empty() {
                    return Err(OAuthError::invalid_scope(format!(
                        "no scope to grant: authorization server {:?} offers none of client \
                         {:?}'s scopes ({registered}); it offers: {}",
                        offered.server_id, client.id, offered.scopes
                    )));
                }
                here
            }
        },
        Some(asked) => {
            let refused: Vec<&str> = asked.difference(&registered).collect();
            if !refused.is_empty() {
                return Err(OAuthError::invalid_scope(format!(
                    "client {:?} may not be granted: {}; it may ask for: {}",
                    client.id,
                    refused.join(" "),
                    registered
                )));
            }
            if let Some(why) = offered.and_then(|offered| offered.refusal(&asked)) {
                return Err(OAuthError::invalid_scope(why));
            }
            asked
        }
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(if client.scopes.is_empty() {
            "no scope to grant: the client has no allowed scopes".to_owned()
        } else {
            format!(
                "no scope to grant: client {:?} has only scopes that need a user ({}), and a \
                 client acting for itself is granted none of them",
                client.id, client.scopes
            )
        }));
    }
    Ok(scope)
}

/// A client-credentials request, decided: what its token would hold, and what allowed it.
pub struct Decided {
    pub scope: ScopeSet,
    /// The audiences its `resource` parameters named; `None` for the server's default.
    pub audience: Option<Audience>,
    /// The access token's lifetime in seconds.
    pub lifetime: u64,
    /// The custom server's policy rule that allowed it; `None` at the root issuer.
    pub allowed: Option<policy::Allowed>,
    /// The custom server's claims the token carries.
    pub custom: BTreeMap<String, serde_json::Value>,
}

/// Why a client-credentials request would get no token.
pub enum NotGranted {
    /// The database did not answer.
    Storage(storage::Error),
    /// The scope rules refused it, before any policy.
    Refused(OAuthError),
    /// The server's access policies refused it.
    Denied(policy::Refused),
}

/// Decides what `client` asking for `asked` at `server` gets, issuing nothing (the token
/// endpoint and the token preview both ask this): the scope rules, then at a custom server its
/// access policies and custom claims, read at every request so that a change decides the next
/// one at every instance. The lifetime is the allowing rule's, else the client's own, else the
/// server-wide default.
pub async fn decide(
    state: &AppState,
    server: &AuthServer,
    client: &Client,
    asked: Option<ScopeSet>,
    audience: Option<Audience>,
) -> Result<Decided, NotGranted> {
    let offered = server
        .offered(&state.db)
        .await
        .map_err(NotGranted::Storage)?;
    let scope = scope(client, offered.as_ref(), asked).map_err(NotGranted::Refused)?;
    let governing = Governing {
        client_id: &client.id,
        grant_type: GrantType::ClientCredentials,
        refreshes: None,
        user: None,
        scope: &scope,
        audience: audience.as_ref(),
    };
    let governed = server
        .govern(&state.db, governing)
        .await
        .map_err(NotGranted::Storage)?
        .map_err(NotGranted::Denied)?;
    let (lifetimes, allowed, custom) = match governed {
        None => (client.lifetimes, None, BTreeMap::new()),
        Some(Governed {
            allowed, access, ..
        }) => (
            allowed.lifetimes.or(client.lifetimes),
            Some(allowed),
            access,
        ),
    };
    Ok(Decided {
        lifetime: lifetimes.access(state.config.access_token_ttl),
        scope,
        audience,
        allowed,
        custom,
    })
}

/// Issues `client` the access token of `tokens`' issuer that `decided` describes.
pub(super) fn grant(
    tokens: &AccessTokens,
    caller: &Caller<'_>,
    decided: Decided,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let client = caller.client;
    let subject = Subject {
        sub: &client.id,
        client_id: &client.id,
        grant_id: None,
        scope: decided.scope,
        lifetime: decided.lifetime,
        audience: decided.audience,
        jkt: caller.dpop,
        act: None,
    };
    let issued = tokens.issue_with(subject, &decided.custom, now)?;
    Ok(Granted {
        response: issued.response,
        sub: client.id.clone(),
        decided: decided.allowed,
        note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;

    #[tokio::test]
    async fn grants_what_is_asked_within_what_is_registered() {
        let (state, _dir) = demo_state(&["--access-token-ttl", "600"]).await;
        let client = state.db.client("demo-service").await.unwrap().unwrap();
        let now = state.clock.now();
        let registered = scope(&client, None, None).unwrap();
        let decided = Decided {
            scope: registered,
            audience: None,
            lifetime: 600,
            allowed: None,
            custom: BTreeMap::new(),
        };
        let granted = grant(&state.tokens, &Caller::public(&client), decided, now).unwrap();
        assert_eq!(granted.sub, "demo-service");
        assert_eq!(granted.response.scope.to_string(), "products:read");
        assert_eq!(granted.response.expires_in, 600);
        assert!(granted.response.refresh_token.is_none());
        let claims = state
            .tokens
            .verify(&granted.response.access_token, now)
            .unwrap();
        assert_eq!(claims.exp, now.unix() + 600);

        let wider = ScopeSet::parse("products:read orders:read").unwrap();
        let refused = scope(&client, None, Some(wider)).unwrap_err();
        assert!(
            refused
                .description
                .contains("may not be granted: orders:read")
        );
    }

    #[tokio::test]
    async fn openid_is_left_out_and_nothing_else_asked_means_the_registered_scopes() {
        let (state, _dir) = demo_state(&[]).await;
        let client = state.db.client("demo-service").await.unwrap().unwrap();
        let ask = |raw: &str| Some(ScopeSet::parse(raw).unwrap());
        for raw in ["openid", "", "openid products:read", "products:read"] {
            let granted = scope(&client, None, ask(raw)).unwrap();
            assert_eq!(granted.to_string(), "products:read", "{raw:?}");
        }
        let refused = scope(&client, None, ask("openid orders:read")).unwrap_err();
        assert!(
            refused
                .description
                .contains("may not be granted: orders:read"),
            "{}",
            refused.description
        );
        assert!(!refused.description.contains("openid"));
    }

    #[tokio::test]
    async fn a_client_registered_with_openid_is_never_granted_it() {
        let (state, _dir) = demo_state(&[]).await;
        let mut client = state.db.client("demo-service").await.unwrap().unwrap();
        client.scopes = ScopeSet::parse("openid offline_access orders:read products:read").unwrap();
        let ask = |raw: &str| Some(ScopeSet::parse(raw).unwrap());
        for asked in [None, ask("openid"), ask("offline_access openid")] {
            let granted = scope(&client, None, asked.clone()).unwrap();
            assert_eq!(
                granted.to_string(),
                "orders:read products:read",
                "{asked:?}"
            );
        }
        let narrow = scope(&client, None, ask("openid orders:read")).unwrap();
        assert_eq!(narrow.to_string(), "orders:read");
        let refused = scope(&client, None, ask("email")).unwrap_err();
        assert!(
            refused
                .description
                .ends_with("it may ask for: orders:read products:read"),
            "{}",
            refused.description
        );
        // Registered with nothing a client may have for itself: refused, saying why.
        client.scopes = ScopeSet::parse("openid admin").unwrap();
        for asked in [None, ask("openid")] {
            let refused = scope(&client, None, asked).unwrap_err();
            assert!(
                refused
                    .description
                    .contains("only scopes that need a user (admin openid)")
            );
        }
        let refused = scope(&client, None, ask("admin")).unwrap_err();
        assert!(
            refused.description.contains("may not be granted: admin"),
            "{}",
            refused.description
        );
    }

    #[tokio::test]
    async fn a_client_with_no_scopes_gets_invalid_scope() {
        let (state, _dir) = demo_state(&[]).await;
        let mut client = state.db.client("demo-service").await.unwrap().unwrap();
        client.scopes = ScopeSet::default();
        let refused = scope(&client, None, None).unwrap_err();
        assert!(refused.description.contains("no scope"));
    }
}
