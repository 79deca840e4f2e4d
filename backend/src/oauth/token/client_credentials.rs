//! RFC 6749 §4.4: a confidential client acting on its own behalf. Nothing is stored: the
//! token is self-contained, and revoking it one by one creates its row then.

use shared::scope::{OPENID, ScopeSet};

use super::{Granted, access_lifetime};
use crate::access_token::Subject;
use crate::clock::Timestamp;
use crate::oauth::error::OAuthError;
use crate::state::AppState;
use crate::storage::Client;

pub fn grant(
    state: &AppState,
    client: &Client,
    asked: Option<ScopeSet>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    // `openid` asks for an ID token, and a client acting for itself has no end-user to
    // describe in one: it is left out of what is granted rather than refused, so that the
    // literal `scope=openid` of a walk-through still gets a token (RFC 6749 §3.3 lets the server
    // grant a different scope, and the response's `scope` says which).
    let asked = asked.map(|mut asked| {
        asked.remove(OPENID);
        asked
    });
    let scope = match asked {
        // RFC 6749 §3.3: without a scope parameter, or with nothing left once `openid` is out,
        // the client's registered scopes apply.
        None => client.scopes.clone(),
        Some(asked) if asked.is_empty() => client.scopes.clone(),
        Some(asked) => {
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
    let subject = Subject {
        sub: &client.id,
        client_id: &client.id,
        grant_id: None,
        scope,
        lifetime: access_lifetime(state, client),
    };
    let issued = state.tokens.issue(subject, now)?;
    Ok(Granted {
        response: issued.response,
        sub: client.id.clone(),
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
        let granted = grant(&state, &client, None, now).unwrap();
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
        let refused = grant(&state, &client, Some(wider), now).unwrap_err();
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
        let now = state.clock.now();
        let ask = |raw: &str| Some(ScopeSet::parse(raw).unwrap());
        for raw in ["openid", "", "openid products:read", "products:read"] {
            let granted = grant(&state, &client, ask(raw), now).unwrap();
            assert_eq!(
                granted.response.scope.to_string(),
                "products:read",
                "{raw:?}"
            );
            assert!(granted.response.id_token.is_none());
        }
        let refused = grant(&state, &client, ask("openid orders:read"), now).unwrap_err();
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
    async fn a_client_with_no_scopes_gets_invalid_scope() {
        let (state, _dir) = demo_state(&[]).await;
        let mut client = state.db.client("demo-service").await.unwrap().unwrap();
        client.scopes = ScopeSet::default();
        let refused = grant(&state, &client, None, state.clock.now()).unwrap_err();
        assert!(refused.description.contains("no scope"));
    }
}
