//! RFC 6749 §4.1.3 with RFC 7636 §4.6: a code is redeemed once, by the client it was issued
//! to, with the redirect URI and the PKCE verifier of its authorization request.

use shared::oauth::{Audience, ErrorCode, GrantType};
use shared::pkce::CodeVerifier;

use super::login::{self, Login};
use super::{Caller, Granted};
use crate::clock::Timestamp;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::oauth::error::OAuthError;
use crate::refusals::Why;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{CodeGrant, Redemption, Spent};

/// What the client presented with the code.
pub struct Presented<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    pub verifier: &'a CodeVerifier,
}

/// Codes this server issues are 43 characters; anything much longer is not one of them.
const MAX_CODE_LEN: usize = 256;

/// Redeems the code `presented` at `server`'s token endpoint, for `audience` (what the request
/// named, `None` for the code's own).
pub async fn redeem(
    state: &AppState,
    server: &AuthServer,
    caller: &Caller<'_>,
    presented: Presented<'_>,
    audience: Option<Audience>,
    now: Timestamp,
) -> Result<Granted, OAuthError> {
    let client = caller.client;
    if presented.code.len() > MAX_CODE_LEN {
        return Err(unknown_code());
    }
    let code_hash = crypto::sha256_hex(presented.code);
    // What the code is for is read first: a request that its server, its resources or its
    // server's policy refuse is refused before the code is spent (the client may rightly ask
    // again). Only the code's own client, with an unspent, unexpired code, gets this far.
    // Only the presenter of the code's redirect URI and PKCE verifier learns what the policy
    // says: anyone else is refused below, with the code spent.
    let decided = match state.db.unspent_code(&code_hash, &client.id, now).await? {
        Some(unspent) if proven(&unspent, &presented).is_ok() => {
            // Proven: the policy's refusals are the user's to read, and so is a missing key.
            crate::logs::identify(&client.id, Some(&unspent.user_id));
            key_bound(&unspent, caller)?;
            Some(login::decide(state, server, caller, &login_of(&unspent), audience.clone()).await?)
        }
        _ => None,
    };
    // From here the code is spent: one presentation, successful or not (RFC 6749 §4.1.2).
    let grant = match state.db.redeem_code(&code_hash, now).await? {
        Redemption::First(grant) => *grant,
        Redemption::Replayed { grant } => {
            // RFC 6749 §4.1.2: a replayed code SHOULD revoke what it produced, since one of the
            // two presenters is an attacker and nobody can tell which.
            tracing::warn!(client_id = %client.id, "authorization code presented a second time");
            if let Some(grant_id) = grant {
                state
                    .db
                    .revoke_grant(&grant_id, "authorization code replayed", now)
                    .await?;
                state
                    .events
                    .record(
                        Event::new(EventKind::GrantRevoked)
                            .client(&client.id)
                            .address(caller.address)
                            .detail(format!("grant {grant_id}: authorization code replayed")),
                    )
                    .await;
            }
            return Err(OAuthError::invalid_grant(
                "this authorization code was already used; codes are single-use",
            )
            .because(
                Why::check("single_use")
                    .expected("an authorization code presented once (RFC 6749 §4.1.2)")
                    .got("a code presented before; what it gave was revoked")
                    .remedy("redeem each code once; a client that retries a failed redemption must start the login again"),
            ));
        }
        Redemption::Unknown => return Err(unknown_code()),
    };
    let proof = proven(&grant, &presented);
    if proof.is_ok() {
        // The code is the user's, and its presenter holds the login's redirect URI and
        // verifier: its refusals are the user's to read. (Not before: anyone holding a leaked
        // code could otherwise write on the user's page.)
        crate::logs::identify(&client.id, Some(&grant.user_id));
    }
    if grant.expires_at <= now {
        return Err(OAuthError::invalid_grant(
            "the authorization code expired; start the login again",
        )
        .because(
            Why::check("exp")
                .expected(format!(
                    "a code redeemed before it expires: the server's clock says {}",
                    now.rfc3339()
                ))
                .got(format!(
                    "a code that expired at {}",
                    grant.expires_at.rfc3339()
                ))
                .remedy("redeem the code at once (it lives a minute), or start the login again"),
        ));
    }
    if grant.client_id != client.id {
        tracing::warn!(client_id = %client.id, "authorization code presented by another client");
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        )
        .because(
            Why::check("client")
                .expected(format!(
                    "client {}, which the code was issued to",
                    grant.client_id
                ))
                .got(format!("client {}", client.id))
                .remedy("a code is redeemed only by the client whose login produced it"),
        ));
    }
    proof?;
    key_bound(&grant, caller)?;
    // Decided on the code as read before (its content never changes), or now if it could not
    // be read then (it was spent or expired in between: the checks above have said so).
    let decided = match decided {
        Some(decided) => decided,
        None => login::decide(state, server, caller, &login_of(&grant), audience).await?,
    };
    let spent = Spent::Code(&code_hash);
    login::issue(
        state,
        server,
        caller,
        &login_of(&grant),
        decided,
        spent,
        now,
    )
    .await
}

/// RFC 9449 §10: a code its authorization request bound to a DPoP key (`dpop_jkt`, or a
/// pushed request's proof) is redeemed only with a proof by that key.
fn key_bound(code: &CodeGrant, caller: &Caller<'_>) -> Result<(), OAuthError> {
    let Some(bound) = code.dpop_jkt.as_deref() else {
        return Ok(());
    };
    let (error, got) = match caller.dpop {
        Some(jkt) if jkt == bound => return Ok(()),
        Some(jkt) => (
            ErrorCode::InvalidGrant,
            format!("a proof by the key with thumbprint {jkt}"),
        ),
        None => (ErrorCode::InvalidDpopProof, "no DPoP proof".to_owned()),
    };
    Err(OAuthError::new(
        error,
        "this authorization code is bound to a DPoP key (dpop_jkt): redeem it with a DPoP proof \
         signed by that key",
    )
    .because(
        Why::check("dpop_jkt")
            .expected(format!("a DPoP proof by the key with thumbprint {bound}"))
            .got(got)
            .remedy("send the token request with a DPoP proof by the key the authorization request named (RFC 9449 §10)"),
    ))
}

/// The login `code` carries.
fn login_of(code: &CodeGrant) -> Login<'_> {
    Login {
        grant_type: GrantType::AuthorizationCode,
        user_id: &code.user_id,
        scope: &code.scope,
        auth_time: code.auth_time,
        nonce: code.nonce.as_deref(),
        audiences: &code.audiences,
        server_id: code.server_id.as_deref(),
        server_generation: code.server_generation.as_deref(),
    }
}

fn unknown_code() -> OAuthError {
    OAuthError::invalid_grant("unknown authorization code").because(
        Why::check("code")
            .expected("a code this server issued")
            .got("a code it does not know")
            .remedy("send the code parameter of the redirect exactly as received, once"),
    )
}

/// Whether `presented` carries the redirect URI and the PKCE verifier of `code`'s
/// authorization request (RFC 6749 §4.1.3, RFC 7636 §4.6).
fn proven(code: &CodeGrant, presented: &Presented<'_>) -> Result<(), OAuthError> {
    if code.redirect_uri != presented.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the one in the authorization request",
        )
        .because(
            Why::check("redirect_uri")
                .expected(code.redirect_uri.clone())
                .got(presented.redirect_uri.to_owned())
                .remedy("send the redirect_uri of the authorization request, character for character (RFC 6749 §4.1.3)"),
        ));
    }
    if !code.code_challenge.is_satisfied_by(presented.verifier) {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge (PKCE S256)",
        )
        .because(
            Why::check("pkce")
                .expected(format!("a verifier whose BASE64URL(SHA-256) is the code_challenge {}", code.code_challenge.as_str()))
                .got(format!("a verifier whose BASE64URL(SHA-256) is {}", presented.verifier.challenge().as_str()))
                .remedy("send the code_verifier whose S256 challenge the authorization request carried (RFC 7636 §4.5)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use shared::oauth::ErrorCode;
    use shared::pkce::CodeVerifier;
    use shared::scope::ScopeSet;

    use super::*;
    use crate::state::testing::{self, demo_state};
    use crate::storage::{CodeGrant, Created, Grant, Issue, NewCode};

    const CODE: &str = "a-code-the-login-would-have-issued";

    /// Stores a code for user0 and the demo app, as the login would, and returns its verifier
    /// and redirect URI.
    async fn issue_code(state: &AppState, scope: &str) -> (CodeVerifier, String) {
        let user = state.db.user_by_username("user0").await.unwrap().unwrap();
        let verifier = CodeVerifier::from_random_bytes(&[7; 32]);
        let redirect_uri = "http://127.0.0.1:8080/callback".to_owned();
        let now = state.clock.now();
        let grant = CodeGrant {
            client_id: "demo-spa".into(),
            user_id: user.id,
            redirect_uri: redirect_uri.clone(),
            scope: ScopeSet::parse(scope).unwrap(),
            code_challenge: verifier.challenge(),
            nonce: Some("n-0".into()),
            auth_time: now,
            expires_at: now.plus_secs(60),
            audiences: Default::default(),
            server_id: None,
            server_generation: None,
            dpop_jkt: None,
        };
        state
            .db
            .insert_code(&NewCode {
                code_hash: &crypto::sha256_hex(CODE),
                grant: &grant,
            })
            .await
            .unwrap();
        (verifier, redirect_uri)
    }

    async fn redeem_as_spa(
        state: &AppState,
        verifier: &CodeVerifier,
        redirect_uri: &str,
    ) -> Result<Granted, OAuthError> {
        let client = testing::client(state, "demo-spa").await;
        let caller = Caller::public(&client);
        let presented = Presented {
            code: CODE,
            redirect_uri,
            verifier,
        };
        redeem(
            state,
            &state.root,
            &caller,
            presented,
            None,
            state.clock.now(),
        )
        .await
    }

    #[tokio::test]
    async fn a_code_is_redeemed_once_and_a_replay_revokes_the_grant() {
        let (state, _dir) = demo_state(&[]).await;
        let (verifier, redirect_uri) =
            issue_code(&state, "openid offline_access orders:read").await;
        let granted = redeem_as_spa(&state, &verifier, &redirect_uri)
            .await
            .unwrap();
        assert!(granted.response.refresh_token.is_some());
        assert!(granted.response.id_token.is_some());
        let now = state.clock.now();
        let claims = state
            .tokens
            .verify_live(&state.db, &granted.response.access_token, now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claims.iat, now.unix());

        let replay = redeem_as_spa(&state, &verifier, &redirect_uri)
            .await
            .unwrap_err();
        assert_eq!(replay.code, ErrorCode::InvalidGrant);
        assert!(replay.description.contains("already used"));
        assert_eq!(
            state
                .tokens
                .verify_live(&state.db, &granted.response.access_token, now)
                .await
                .unwrap(),
            Err("the access token was revoked")
        );
    }

    #[tokio::test]
    async fn an_expired_code_is_refused_and_spent() {
        let (state, _dir) = demo_state(&[]).await;
        let (verifier, redirect_uri) = issue_code(&state, "orders:read").await;
        state.clock.advance(std::time::Duration::from_secs(60));
        let e = redeem_as_spa(&state, &verifier, &redirect_uri)
            .await
            .unwrap_err();
        assert!(e.description.contains("expired"), "{}", e.description);
        let again = redeem_as_spa(&state, &verifier, &redirect_uri)
            .await
            .unwrap_err();
        assert!(again.description.contains("already used"));
    }

    #[tokio::test]
    async fn the_verifier_and_redirect_uri_must_match() {
        let (state, _dir) = demo_state(&[]).await;
        let (_, redirect_uri) = issue_code(&state, "orders:read").await;
        let wrong = CodeVerifier::from_random_bytes(&[8; 32]);
        let e = redeem_as_spa(&state, &wrong, &redirect_uri)
            .await
            .unwrap_err();
        assert!(e.description.contains("PKCE"), "{}", e.description);

        let (state, _dir) = demo_state(&[]).await;
        let (verifier, _) = issue_code(&state, "orders:read").await;
        let e = redeem_as_spa(&state, &verifier, "http://127.0.0.1:8080/other")
            .await
            .unwrap_err();
        assert!(e.description.contains("redirect_uri"), "{}", e.description);
        assert_eq!(state.db.count("grants").await.unwrap(), 0);
    }

    /// A replay that arrives while the first redemption is still issuing (on another instance,
    /// say) leaves no live grant: the first redemption issues nothing.
    #[tokio::test]
    async fn a_replay_during_the_redemption_leaves_nothing_issued() {
        let (state, _dir) = demo_state(&[]).await;
        let (verifier, redirect_uri) = issue_code(&state, "orders:read").await;
        let now = state.clock.now();
        let code_hash = crypto::sha256_hex(CODE);
        // The first presentation has spent the code...
        assert!(matches!(
            state.db.redeem_code(&code_hash, now).await.unwrap(),
            Redemption::First(_)
        ));
        // ...and a second one arrives before it has stored its grant.
        assert!(matches!(
            state.db.redeem_code(&code_hash, now).await.unwrap(),
            Redemption::Replayed { grant: None }
        ));
        let grant = Grant {
            id: "g".into(),
            client_id: "demo-spa".into(),
            user_id: "u".into(),
            scope: shared::scope::ScopeSet::default(),
            auth_time: now,
            expires_at: now.plus_secs(60),
            revoked_at: None,
            audiences: Default::default(),
            server_id: None,
            server_generation: None,
            dpop_jkt: None,
        };
        let issue = Issue {
            grant_id: "g",
            client_id: "demo-spa",
            access_jti: "j",
            access_expires_at: now.plus_secs(60),
            refresh: None,
        };
        assert_eq!(
            state
                .db
                .create_grant(&grant, now, &issue, crate::storage::Spent::Code(&code_hash))
                .await
                .unwrap(),
            Created::CodeReplayed
        );
        assert_eq!(state.db.count("grants").await.unwrap(), 0);
        assert_eq!(state.db.count("access_tokens").await.unwrap(), 0);
        let e = redeem_as_spa(&state, &verifier, &redirect_uri)
            .await
            .unwrap_err();
        assert!(e.description.contains("already used"));
    }
}
