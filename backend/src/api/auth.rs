//! Authentication of API requests: OAuth access tokens as `Bearer` (RFC 6750 §2.1, RFC 9068
//! §4), DPoP-bound ones as `DPoP` with a proof (RFC 9449 §7), and per-user API tokens as
//! `Token` (see [`super::api_token`]).

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use shared::api::SubjectType;
use shared::oauth::AccessTokenClaims;

use super::api_token;
use super::error::ApiError;
use crate::access_token::MAX_TOKEN_LEN;
use crate::refusals::{Why, bearer};
use crate::state::AppState;
use crate::{crypto, dpop};

/// A request's verified credentials, either kind. Put it in a handler's arguments to require
/// one; `Option<AccessToken>` accepts anonymous requests but still refuses a bad token.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// For an API token: its owner as `sub`, `api-token:<id>` as `client_id`, its scopes.
    pub claims: AccessTokenClaims,
    pub scheme: Scheme,
    /// `None` for an API token without an expiry.
    pub expires_at: Option<i64>,
    /// The trusted external issuer (its id) of a Bearer token this server did not issue.
    pub external: Option<String>,
}

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// An OAuth access token (a JWT from `/token`).
    Bearer,
    /// A DPoP-bound access token, with a proof by its key (RFC 9449 §7.1).
    Dpop,
    /// A per-user API token.
    Token,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::Dpop => "DPoP",
            Self::Token => "Token",
        }
    }
}

impl AccessToken {
    /// RFC 6750 §3.1: 403 `insufficient_scope` naming what was needed.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.claims.scope.contains(scope) {
            Ok(())
        } else {
            let got = match self.claims.scope.to_string() {
                granted if granted.is_empty() => "no scope".to_owned(),
                granted => granted,
            };
            let why = Why::check("scope").expected(scope).got(got).remedy(format!(
                "ask for {scope} when logging in or at the token endpoint (scope=… {scope}); \
                     the client must be allowed it"
            ));
            Err(ApiError::InsufficientScope {
                scope,
                description: format!(
                    "this endpoint needs the {scope} scope, which the access token lacks"
                ),
            }
            .because(why))
        }
    }

    /// 401 unless the token was issued by the root issuer (`issuer`): for what only its tokens
    /// may reach (userinfo, the admin API), whatever other issuers the API trusts.
    pub fn require_issuer(&self, issuer: &str) -> Result<(), ApiError> {
        if self.claims.iss == issuer {
            Ok(())
        } else {
            Err(ApiError::InvalidToken(
                "this endpoint accepts tokens of this server's root issuer only, not of its \
                 authorization servers or of trusted external issuers"
                    .into(),
            ))
        }
    }

    /// Who owns what the caller stores (orders): the user or client it speaks for. An external
    /// issuer's subjects are its own, so they are qualified with it: its `sub` never names
    /// one of this server's users, nor another issuer's subject.
    pub fn owner(&self) -> String {
        match &self.external {
            None => self.claims.sub.clone(),
            Some(_) => format!("{}#{}", self.claims.iss, self.claims.sub),
        }
    }

    /// 403 for a token of an external issuer, at what shows this server's own users; and for
    /// one this server issued for such an issuer's subject (a token exchange's, RFC 8693: `act`
    /// and no login of this server; its `sub` is `{iss}#{sub}`).
    pub fn require_own_user(&self) -> Result<(), ApiError> {
        if self.external.is_none() && self.claims.act.is_some() && self.claims.grant_id.is_none() {
            return Err(ApiError::InsufficientScope {
                scope: "profile",
                description: format!(
                    "this token was exchanged for {}, a subject of an external issuer, whose users \
                     are not this server's; /api/me shows the profile of this server's own users",
                    self.claims.sub
                ),
            });
        }
        match &self.external {
            None => Ok(()),
            Some(_) => Err(ApiError::InsufficientScope {
                scope: "profile",
                description: format!(
                    "this token was issued by the external issuer {}, whose users are not this \
                     server's; /api/me shows the profile of this server's own users",
                    self.claims.iss
                ),
            }),
        }
    }

    /// A user's own token (this server's user, not an external issuer's, not a client acting
    /// for itself) with `scope`, for what shows `what` of that user.
    pub fn require_user(&self, scope: &'static str, what: &str) -> Result<(), ApiError> {
        self.require(scope)?;
        self.require_own_user()?;
        if self.subject_type() == SubjectType::Client {
            return Err(ApiError::InsufficientScope {
                scope,
                description: format!(
                    "this token was issued to a client acting for itself (client credentials) \
                     and has no user whose {what} to show; log in as a user"
                ),
            });
        }
        Ok(())
    }

    /// Client-credentials tokens have the client as subject (RFC 9068 §2.2).
    pub fn subject_type(&self) -> SubjectType {
        if self.claims.sub == self.claims.client_id {
            SubjectType::Client
        } else {
            SubjectType::User
        }
    }
}

impl<S> FromRequestParts<S> for AccessToken
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match <Self as OptionalFromRequestParts<S>>::from_request_parts(parts, state).await? {
            Some(token) => Ok(token),
            None => Err(ApiError::NoCredentials),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for AccessToken
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let state = AppState::from_ref(state);
        // RFC 6750 §2.3 would allow a query parameter, RFC 9700 §2.4 says not to: it ends up in
        // logs and Referer headers. Say so rather than silently ignoring it.
        if parts
            .uri
            .query()
            .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token"))
        {
            return Err(ApiError::InvalidAuthRequest(
                "access tokens are not accepted in the query string; send Authorization: Bearer <token>".into(),
            ));
        }
        let Some(presented) = presented(&parts.headers)? else {
            return Ok(None);
        };
        let token = match presented {
            (Scheme::Bearer | Scheme::Dpop, token) if api_token::looks_like(token) => {
                return Err(ApiError::InvalidToken(format!(
                    "this is an API token: send it as Authorization: Token <token>, not {}",
                    presented.0.as_str()
                )));
            }
            (scheme @ (Scheme::Bearer | Scheme::Dpop), token) => {
                let now = state.clock.now();
                let accepted = match crate::servers::verify_for_api(&state, token, now).await? {
                    Ok(accepted) => accepted,
                    Err(verdict) => {
                        let refused = ApiError::InvalidToken(verdict);
                        // The diagnosis may cost a read and a signature check: within a budget
                        // of its own, so a flood of bad tokens costs at most twice their checks.
                        if !state.refusals.may_diagnose() {
                            return Err(refused);
                        }
                        let why = bearer::explain(&state, token, now, refused.description()).await;
                        return Err(refused.because(why));
                    }
                };
                bound_to_proof(&state, parts, scheme, token, &accepted.claims).await?;
                AccessToken {
                    expires_at: Some(accepted.claims.exp),
                    claims: accepted.claims,
                    scheme,
                    external: accepted.external,
                }
            }
            (Scheme::Token, token) if token.split('.').count() == 3 => {
                return Err(ApiError::InvalidToken(
                    "this looks like an OAuth access token: send it as Authorization: Bearer <token>, not Token".into(),
                ));
            }
            (Scheme::Token, token) => {
                let verified = api_token::verify(&state, token).await?;
                AccessToken {
                    claims: verified.claims,
                    scheme: Scheme::Token,
                    expires_at: verified.expires_at,
                    external: None,
                }
            }
        };
        // An external issuer's subject is its own, never one of this server's users: it is
        // named as `owner()` qualifies it (this server's own are named as they are, with no copy
        // on the hot path).
        match &token.external {
            None => crate::logs::identify(&token.claims.client_id, Some(&token.claims.sub)),
            Some(_) => crate::logs::identify(&token.claims.client_id, Some(&token.owner())),
        }
        Ok(Some(token))
    }
}

/// RFC 9449 §7: a DPoP-bound token (`cnf.jkt`) is taken only as `DPoP`, with a proof by its
/// key made for this request (its method, its URL, this token's hash) and never used before; a
/// bearer token is never taken as `DPoP` (§7.2: the scheme says what the client holds).
pub(crate) async fn bound_to_proof(
    state: &AppState,
    parts: &Parts,
    scheme: Scheme,
    token: &str,
    claims: &AccessTokenClaims,
) -> Result<(), ApiError> {
    let invalid = ApiError::InvalidDpopProof;
    let bound = match (scheme, &claims.cnf) {
        (Scheme::Bearer, None) => return Ok(()),
        (Scheme::Bearer, Some(_)) => {
            return Err(invalid(
                "this access token is bound to a DPoP key: send it as Authorization: DPoP <token> \
                 with a DPoP proof by that key (RFC 9449 §7.1)"
                    .into(),
            ));
        }
        (_, None) => {
            return Err(ApiError::InvalidToken(
                "this access token is not bound to a DPoP key (it has no cnf.jkt): send it as \
                 Authorization: Bearer <token>"
                    .into(),
            ));
        }
        (_, Some(bound)) => bound,
    };
    let Some(proof) = dpop::header(&parts.headers).map_err(invalid)? else {
        return Err(invalid(
            "a DPoP token needs a DPoP proof: send the DPoP header with a proof signed by the \
             token's key, with htm, htu and ath for this request"
                .into(),
        ));
    };
    // §4.3 item 9: the URL the client called, the issuer's (with its path, where a proxy in
    // front maps it to this server's) and the request's path.
    let url = state.config.endpoint(parts.uri.path());
    let expected = dpop::Expected {
        method: parts.method.as_str(),
        url: &url,
        access_token: Some(token),
    };
    // Timed by the client's clock, which the clock lab does not move.
    let now = state.clock.unmoved_now();
    let proof = dpop::check(proof, &expected, now).map_err(invalid)?;
    if let Some(nonces) = &state.dpop_nonces {
        nonces
            .demand(proof.nonce.as_deref(), now)
            .map_err(|needed| ApiError::UseDpopNonce {
                description: needed.description,
                nonce: needed.nonce,
            })?;
    }
    if !crypto::constant_time_eq(proof.jkt.as_bytes(), bound.jkt.as_bytes()) {
        return Err(invalid(format!(
            "the DPoP proof is signed by the key with thumbprint {}, but the token is bound to \
             {}: sign with the key the token was issued for",
            proof.jkt, bound.jkt
        ))
        .because(
            Why::check("cnf.jkt")
                .expected(format!("a proof by the key with thumbprint {}", bound.jkt))
                .got(format!("a proof by the key with thumbprint {}", proof.jkt))
                .remedy("sign each proof with the key whose proof the token request carried"),
        ));
    }
    if !dpop::first_use(&state.db, &proof).await? {
        return Err(invalid(dpop::REPLAYED.into()));
    }
    Ok(())
}

/// The credentials of a request's one `Authorization` header, `None` without one.
pub fn presented(headers: &HeaderMap) -> Result<Option<(Scheme, &str)>, ApiError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(_), Some(_)) => Err(ApiError::InvalidAuthRequest(
            "more than one Authorization header".into(),
        )),
        (Some(value), None) => credentials(value.as_bytes()).map(Some),
    }
}

/// The scheme and token of `Bearer <token>` or `Token <token>`: scheme case-insensitive
/// (RFC 9110 §11.1), token in the `token68` syntax of RFC 6750 §2.1.
pub fn credentials(value: &[u8]) -> Result<(Scheme, &str), ApiError> {
    let value = std::str::from_utf8(value).map_err(|_| {
        ApiError::InvalidAuthRequest("the Authorization header is not valid text".into())
    })?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else if scheme.eq_ignore_ascii_case("token") {
        Scheme::Token
    } else {
        return Err(ApiError::InvalidAuthRequest(format!(
            "unsupported authorization scheme {:?}; use Bearer (an OAuth access token), DPoP (a DPoP-bound one, with its proof) or Token (an API token)",
            scheme.chars().take(20).collect::<String>()
        )));
    };
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(ApiError::InvalidAuthRequest(format!(
            "the {} token is empty",
            scheme.as_str()
        )));
    }
    if token.len() > MAX_TOKEN_LEN {
        return Err(ApiError::InvalidToken(format!(
            "the access token is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    // `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`: padding alone is no token.
    let unpadded = token.trim_end_matches('=');
    let token68 = !unpadded.is_empty()
        && unpadded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !token68 {
        return Err(ApiError::InvalidAuthRequest(format!(
            "the {} token contains characters RFC 6750 §2.1 does not allow",
            scheme.as_str()
        )));
    }
    Ok((scheme, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let bearer_token = |v: &'static [u8]| credentials(v).map(|(_, t)| t);
        assert_eq!(bearer_token(b"Bearer abc.def.ghi").unwrap(), "abc.def.ghi");
        assert_eq!(bearer_token(b"bearer abc").unwrap(), "abc");
        assert_eq!(
            credentials(b"Token amt_x").unwrap(),
            (Scheme::Token, "amt_x")
        );
        assert_eq!(credentials(b"TOKEN amt_x").unwrap().0, Scheme::Token);
        assert!(matches!(
            bearer_token(b"Bearer"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Bearer "),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Basic abc"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        // Found by fuzzing (fuzz/fuzz_targets/authorization_header.rs): padding alone passed.
        for padding_only in [&b"Bearer ="[..], b"Token ==", b"Bearer = "] {
            assert!(matches!(
                bearer_token(padding_only),
                Err(ApiError::InvalidAuthRequest(_))
            ));
        }
        assert!(matches!(
            bearer_token(b"Bearer a b"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        assert!(matches!(
            bearer_token(b"Bearer \xff"),
            Err(ApiError::InvalidAuthRequest(_))
        ));
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert!(matches!(
            credentials(long.as_bytes()),
            Err(ApiError::InvalidToken(_))
        ));
    }
}
