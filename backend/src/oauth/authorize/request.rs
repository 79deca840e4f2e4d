//! The authorization request (RFC 6749 §4.1.1 with RFC 7636 §4.3), checked as a whole: the
//! same checks run when the form is shown and when it is posted, since the form's hidden
//! fields are only a copy the browser keeps, and when a client pushes it (RFC 9126 §2.1).

use std::sync::Arc;

use shared::oauth::GrantType;
use shared::pkce::{CodeChallenge, METHOD_S256};
use shared::scope::ScopeSet;

use super::page::PageError;
use crate::oauth::params::Params;
use crate::oauth::resource::Target;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{Client, Spaced};

const MAX_STATE_LEN: usize = 2048;
const MAX_NONCE_LEN: usize = 512;

/// A validated authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The authorization server whose authorization endpoint it was sent to: the code, the
    /// grant and the tokens are that server's.
    pub server: Arc<AuthServer>,
    pub client: Client,
    pub redirect_uri: String,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: CodeChallenge,
    pub nonce: Option<String>,
    /// The `resource` parameters (RFC 8707), each one this issuer issues for; kept so that
    /// the login form carries them and they are checked again when it is posted.
    pub resources: Vec<String>,
    /// The audiences they name, which the code, then the grant, are for; empty for none.
    pub audiences: Spaced,
    /// The `request_uri` it was pushed under (RFC 9126), `None` for one sent through the
    /// browser: the login form then carries only this, not a copy of the request.
    pub pushed: Option<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10): the request's `dpop_jkt`, or the key
    /// of the proof its push carried.
    pub dpop_jkt: Option<String>,
}

/// Where the parameters come from, which decides what else is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// In the browser's query or form: refused when the client or the server requires pushed
    /// requests (RFC 9126 §5, §6).
    Browser,
    /// Being pushed by the authenticated client (RFC 9126 §2.1).
    Pushing,
    /// As pushed earlier, read back from storage.
    Pushed,
}

/// Why a request was refused, and how the refusal must be delivered.
#[derive(Debug)]
pub enum Refusal {
    /// RFC 6749 §4.1.2.1: with no trustworthy redirect URI (unknown client, unregistered or
    /// missing URI) the user sees an error page and is never redirected.
    Page(PageError),
    /// Everything else goes back to the client's redirect URI with `error` and `state`.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
        /// The check that decided it, when one did (recorded, see [`crate::refusals`]).
        why: Option<Box<crate::refusals::Why>>,
    },
}

impl AuthorizationRequest {
    /// Checks `params` against the registered client, in the order RFC 6749 §4.1.2.1 asks:
    /// first what decides whether the client may be redirected to at all, then the rest.
    pub async fn validate(
        state: &AppState,
        server: &Arc<AuthServer>,
        params: &Params,
    ) -> Result<Self, Refusal> {
        let client_id = params.get("client_id").ok_or_else(|| {
            Refusal::Page(PageError::bad_request("The request has no client_id."))
        })?;
        Self::check(state, server, client_id, params, Channel::Browser).await
    }

    /// Checks a request of client `client_id` that came through `channel` (see
    /// [`Self::validate`]); a `client_id` in `params` must be the same.
    pub async fn check(
        state: &AppState,
        server: &Arc<AuthServer>,
        client_id: &str,
        params: &Params,
        channel: Channel,
    ) -> Result<Self, Refusal> {
        let db = &state.db;
        let page = |message: String| Refusal::Page(PageError::bad_request(message));
        // A request_uri sent through the browser never gets here (see `super::pushed`); one in
        // a pushed request is refused (RFC 9126 §2.1).
        if params.get("request_uri").is_some() {
            return Err(page(
                "A pushed request cannot carry request_uri (RFC 9126 §2.1): push the \
                 authorization request's own parameters."
                    .into(),
            ));
        }
        // RFC 9126 §2.1: the pushed request's client_id, if any, is the authenticated client's.
        if params.get("client_id").is_some_and(|id| id != client_id) {
            return Err(page(format!(
                "The client_id in the request is not the authenticated client {client_id:?}."
            )));
        }
        let client = match db.client(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => return Err(page(format!("Unknown client {client_id:?}."))),
            Err(e) => return Err(Refusal::Page(e.into())),
        };
        // OpenID Connect requires redirect_uri, and OAuth 2.1 drops the "only one registered"
        // shortcut; requiring it everywhere keeps the matching rule to one line.
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| page("The request has no redirect_uri.".into()))?;
        // RFC 9700 §4.1.3: exact string comparison, no pattern and no normalisation.
        if !client
            .redirect_uris
            .iter()
            .any(|registered| registered == redirect_uri)
        {
            return Err(page(format!(
                "The redirect_uri {redirect_uri:?} is not registered for client {client_id:?}; \
                 it must match a registered URI exactly."
            )));
        }

        let state_param = params.get("state").map(str::to_owned);
        if state_param
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_LEN)
        {
            return Err(page(format!(
                "The state parameter is longer than {MAX_STATE_LEN} characters."
            )));
        }

        let redirect = |error: &'static str, description: String| Refusal::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: state_param.clone(),
            error,
            description,
            why: None,
        };

        // RFC 9126 §5 (the server's `require_pushed_authorization_requests`) and §6 (the
        // client's): then only a request pushed by the client itself starts a login.
        if channel == Channel::Browser {
            let required_by = if client.require_pushed_requests {
                Some(format!("client {client_id:?} is registered"))
            } else if server.requires_pushed_requests(&state.config) {
                Some(format!("this authorization server ({}) is", server.issuer))
            } else {
                None
            };
            if let Some(who) = required_by {
                return Err(redirect(
                    "invalid_request",
                    format!(
                        "{who} to take pushed authorization requests only (RFC 9126): POST the \
                         request's parameters to {} and send only client_id and the request_uri \
                         it answers with here",
                        server.endpoint("/par")
                    ),
                ));
            }
        }

        match params.get("response_type") {
            None => return Err(redirect("invalid_request", "missing response_type".into())),
            Some("code") => {}
            Some(other) => {
                return Err(redirect(
                    "unsupported_response_type",
                    format!("response_type {other:?} is not supported; use code"),
                ));
            }
        }
        if !client.may_use_grant(GrantType::AuthorizationCode) {
            return Err(redirect(
                "unauthorized_client",
                format!("client {client_id:?} may not use the authorization code flow"),
            ));
        }
        if params.get("response_mode").is_some_and(|m| m != "query") {
            return Err(redirect(
                "invalid_request",
                "only response_mode=query is supported".into(),
            ));
        }
        if params.get("request").is_some() {
            return Err(redirect(
                "request_not_supported",
                "request objects are not supported".into(),
            ));
        }

        let scope = match params.get("scope") {
            None => {
                return Err(redirect(
                    "invalid_scope",
                    format!(
                        "no scope requested; client {client_id:?} may ask for: {}",
                        client.scopes
                    ),
                ));
            }
            Some(raw) => {
                ScopeSet::parse(raw).map_err(|e| redirect("invalid_scope", e.to_string()))?
            }
        };
        let refused: Vec<&str> = scope.difference(&client.scopes).collect();
        if !refused.is_empty() {
            return Err(redirect(
                "invalid_scope",
                format!(
                    "client {client_id:?} may not ask for: {}",
                    refused.join(" ")
                ),
            ));
        }
        // A custom server's scopes are its own (and OpenID Connect's).
        let offered = server
            .offered(db)
            .await
            .map_err(|e| Refusal::Page(e.into()))?;
        if let Some(why) = offered.and_then(|offered| offered.refusal(&scope)) {
            return Err(redirect("invalid_scope", why));
        }

        // RFC 8707 §2: every resource must be one this issuer issues tokens for.
        let audiences = Target::new(&state.config, server)
            .resolve(params.resources(), &state.servers)
            .map_err(|e| redirect(e.code.as_str(), e.description))?;

        // PKCE is required of every client (RFC 9700 §2.1.1), with S256 only. A missing method
        // means `plain` (RFC 7636 §4.3), so it is refused as well.
        let Some(challenge) = params.get("code_challenge") else {
            return Err(redirect(
                "invalid_request",
                "code_challenge is required (PKCE, RFC 7636)".into(),
            ));
        };
        match params.get("code_challenge_method") {
            Some(METHOD_S256) => {}
            None => {
                return Err(redirect(
                    "invalid_request",
                    "code_challenge_method is required and must be S256 (the default, plain, is \
                     not supported)"
                        .into(),
                ));
            }
            Some(other) => {
                return Err(redirect(
                    "invalid_request",
                    format!("code_challenge_method {other:?} is not supported; use S256"),
                ));
            }
        }
        let code_challenge = CodeChallenge::parse(challenge)
            .map_err(|e| redirect("invalid_request", e.to_string()))?;

        // RFC 9449 §10: the thumbprint of the DPoP key the code is to be bound to (a SHA-256,
        // base64url: 43 characters).
        let dpop_jkt = params.get("dpop_jkt").map(str::to_owned);
        if dpop_jkt.as_ref().is_some_and(|jkt| {
            jkt.len() != 43
                || !jkt
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }) {
            return Err(redirect(
                "invalid_request",
                "dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP \
                 key: 43 characters"
                    .to_owned(),
            ));
        }

        let nonce = params.get("nonce").map(str::to_owned);
        if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
            return Err(redirect(
                "invalid_request",
                format!("nonce is longer than {MAX_NONCE_LEN} characters"),
            ));
        }

        // OpenID Connect Core §3.1.2.1: with prompt=none the server must not show a page; this
        // server keeps no login session, so a login is always required.
        if params.get("prompt") == Some("none") {
            return Err(redirect(
                "login_required",
                "there is no login session; the user must log in".into(),
            ));
        }

        Ok(Self {
            server: server.clone(),
            client,
            redirect_uri: redirect_uri.to_owned(),
            scope,
            state: state_param,
            code_challenge,
            nonce,
            resources: params.resources().to_vec(),
            audiences: audiences.into(),
            pushed: None,
            dpop_jkt,
        })
    }

    /// The request as parameters: what the login form carries for a request sent through the
    /// browser, and what is stored of a pushed one. Checked again whenever it is read back.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.client.id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", self.scope.to_string()),
            ("code_challenge", self.code_challenge.as_str().to_owned()),
            ("code_challenge_method", METHOD_S256.to_owned()),
        ];
        if let Some(s) = &self.state {
            fields.push(("state", s.clone()));
        }
        if let Some(n) = &self.nonce {
            fields.push(("nonce", n.clone()));
        }
        if let Some(jkt) = &self.dpop_jkt {
            fields.push(("dpop_jkt", jkt.clone()));
        }
        fields.extend(self.resources.iter().map(|r| ("resource", r.clone())));
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::testing::demo_state;

    fn params(raw: &str) -> Params {
        Params::parse(raw.as_bytes()).unwrap()
    }

    const GOOD: &str = "response_type=code&client_id=demo-spa\
        &redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcallback&scope=openid&state=s\
        &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

    #[tokio::test]
    async fn a_good_request_passes_and_each_flaw_is_named() {
        let (state, _dir) = demo_state(&[]).await;
        let request = AuthorizationRequest::validate(&state, &state.root, &params(GOOD))
            .await
            .unwrap();
        assert_eq!(request.client.id, "demo-spa");
        assert_eq!(request.state.as_deref(), Some("s"));

        let unknown = GOOD.replace("demo-spa", "nobody");
        assert!(matches!(
            AuthorizationRequest::validate(&state, &state.root, &params(&unknown)).await,
            Err(Refusal::Page(_))
        ));
        let other_uri = GOOD.replace("callback", "elsewhere");
        assert!(matches!(
            AuthorizationRequest::validate(&state, &state.root, &params(&other_uri)).await,
            Err(Refusal::Page(_))
        ));
        let plain = GOOD.replace("S256", "plain");
        match AuthorizationRequest::validate(&state, &state.root, &params(&plain)).await {
            Err(Refusal::Redirect {
                error, description, ..
            }) => {
                assert_eq!(error, "invalid_request");
                assert!(description.contains("use S256"));
            }
            other => panic!("{other:?}"),
        }
        let aimed = format!(
            "{GOOD}&resource=api%3A%2F%2Fdefault&resource=http%3A%2F%2F127.0.0.1%3A5000%2Fapi"
        );
        let request = AuthorizationRequest::validate(&state, &state.root, &params(&aimed))
            .await
            .unwrap();
        assert_eq!(request.resources.len(), 2);
        let elsewhere = format!("{GOOD}&resource=https%3A%2F%2Fother.example%2Fapi");
        match AuthorizationRequest::validate(&state, &state.root, &params(&elsewhere)).await {
            Err(Refusal::Redirect {
                error, description, ..
            }) => {
                assert_eq!(error, "invalid_target");
                assert!(
                    description.contains("\"https://other.example/api\""),
                    "{description}"
                );
            }
            other => panic!("{other:?}"),
        }
        let wider = GOOD.replace("scope=openid", "scope=openid+billing");
        match AuthorizationRequest::validate(&state, &state.root, &params(&wider)).await {
            Err(Refusal::Redirect { error, state, .. }) => {
                assert_eq!(error, "invalid_scope");
                assert_eq!(state.as_deref(), Some("s"));
            }
            other => panic!("{other:?}"),
        }
    }
}
