//! The backend-for-frontend's calls to the authorization server, as a confidential client.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shared::bff::{Exchange, token_hint};
use shared::oauth::{ErrorResponse, TokenResponse};

use super::Bff;

/// How a token endpoint call ended.
pub enum TokenResult {
    Issued(TokenResponse),
    /// 400 `invalid_grant` (RFC 6749 §5.2): the code or refresh token is no good, and never
    /// will be.
    Refused(ErrorResponse),
    /// Anything else: unreachable, a 5xx, a 429 from the rate limiter, another error. Nothing
    /// says the grant is gone, so a session survives it. (Ending sessions on any 4xx would let
    /// whoever gets this server's address throttled, by guessing client secrets from it, log
    /// everybody out.)
    Failed(String),
}

/// A token endpoint call, and the record of it the app shows.
pub struct Outcome {
    pub result: TokenResult,
    pub exchange: Exchange,
}

const CLIENT_AUTH: &str = "client_secret_basic";

impl Bff {
    /// RFC 6749 §2.3.1: the client id and secret, each form-encoded, in HTTP Basic.
    fn basic_auth(&self) -> String {
        let config = &self.app.config;
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!(
            "{}:{}",
            encode(&config.bff_client_id),
            encode(config.bff_secret().unwrap_or_default())
        );
        format!("Basic {}", STANDARD.encode(credentials))
    }

    fn upstream(&self, path: &str) -> String {
        format!("{}{path}", self.app.config.bff_upstream())
    }

    async fn post_form(
        &self,
        url: &str,
        params: &[(&str, &str)],
    ) -> Result<reqwest::Response, String> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        crate::logs::propagate(self.http.post(url))
            .header(reqwest::header::AUTHORIZATION, self.basic_auth())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                // The upstream's address is this deployment's business, not the browser's.
                tracing::warn!(error = %e, "the backend-for-frontend's upstream did not answer");
                "the authorization server did not answer".to_owned()
            })
    }

    /// A token request (RFC 6749 §4.1.3 or §6).
    pub async fn token(&self, grant_type: &str, params: &[(&str, &str)]) -> Outcome {
        let endpoint = self.upstream("/token");
        let mut form = vec![("grant_type", grant_type)];
        form.extend_from_slice(params);
        let mut exchange = Exchange {
            at: self.app.clock.now().unix(),
            grant_type: grant_type.to_owned(),
            // The public name of the endpoint, not the internal address it was reached at.
            endpoint: self.app.config.endpoint("/token"),
            client_auth: CLIENT_AUTH.to_owned(),
            status: 0,
            scope: None,
            expires_in: None,
            access_token_hint: None,
            refresh_token_hint: None,
            error: None,
        };
        let response = match self.post_form(&endpoint, &form).await {
            Ok(response) => response,
            Err(why) => {
                exchange.error = Some("unreachable".into());
                return Outcome {
                    result: TokenResult::Failed(why),
                    exchange,
                };
            }
        };
        exchange.status = response.status().as_u16();
        let result = if response.status().is_success() {
            match response.json::<TokenResponse>().await {
                Ok(tokens) => {
                    exchange.scope = Some(tokens.scope.clone());
                    exchange.expires_in = Some(tokens.expires_in);
                    exchange.access_token_hint = Some(token_hint(&tokens.access_token));
                    exchange.refresh_token_hint = tokens.refresh_token.as_deref().map(token_hint);
                    TokenResult::Issued(tokens)
                }
                Err(_) => TokenResult::Failed(
                    "the authorization server's answer is not a token response".into(),
                ),
            }
        } else if response.status().is_client_error() {
            match response.json::<ErrorResponse>().await {
                Ok(error) => {
                    exchange.error = Some(error.error.clone());
                    let why = error
                        .error_description
                        .clone()
                        .unwrap_or_else(|| error.error.clone());
                    if exchange.status == 400 && error.error == "invalid_grant" {
                        TokenResult::Refused(error)
                    } else {
                        TokenResult::Failed(format!(
                            "the authorization server answered {} {}: {why}",
                            exchange.status, error.error
                        ))
                    }
                }
                Err(_) => TokenResult::Failed(format!(
                    "the authorization server answered {} without an error body",
                    exchange.status
                )),
            }
        } else {
            TokenResult::Failed(format!(
                "the authorization server answered {}",
                exchange.status
            ))
        };
        Outcome { result, exchange }
    }

    /// RFC 7009: revokes a token. A refresh token takes its whole grant with it, access tokens
    /// included. Failures are logged; the session ends regardless.
    pub async fn revoke(&self, token: &str, hint: &str) {
        let endpoint = self.upstream("/revoke");
        match self
            .post_form(&endpoint, &[("token", token), ("token_type_hint", hint)])
            .await
        {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(status = %response.status(), "revoking a session's token was refused");
            }
            Err(why) => tracing::warn!(%why, "revoking a session's token failed"),
        }
    }
}
