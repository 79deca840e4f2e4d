//! `POST /api/debug/token`: the token debugger. Any JWT, checked by this API's real
//! verification, with each check in order (see [`crate::refusals::bearer`]) and, for a chosen
//! endpoint, its scope. The token is neither stored nor logged, and the answer records no
//! refusal (a trusted external issuer's refusal is counted in that issuer's statistics, as the
//! API counts it).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use shared::api::{ENDPOINTS, TokenAnswer, TokenCheck, TokenQuestion};

use super::auth::AccessToken;
use super::error::ApiError;
use crate::refusals::bearer;
use crate::state::AppState;

/// `POST /api/debug/token` with `{"token": "…", "endpoint": "GET /api/orders"}`: whether this
/// API accepts the token, in its own words, and why, check by check. Needs a valid token of the
/// caller's own (RFC 7662 §2.2: an unauthenticated caller learns nothing extra).
#[utoipa::path(post, path = "/api/debug/token", tag = "API", security(("oauth2" = []), ("bearer" = []), ("apiToken" = [])),
    request_body = shared::api::TokenQuestion,
    responses((status = 200, description = "The verdict and each check", body = shared::api::TokenAnswer),
        (status = 422, description = "An endpoint the debugger does not know", body = shared::oauth::ErrorResponse)))]
pub async fn check(
    State(state): State<AppState>,
    _caller: AccessToken,
    body: Result<Json<TokenQuestion>, JsonRejection>,
) -> Result<Json<TokenAnswer>, ApiError> {
    let Json(question) = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge;
        }
        // The rejection's own words may quote the body, which holds a token: not repeated.
        ApiError::BadRequest(
            r#"send {"token": "<a JWT>", "endpoint": "GET /api/orders"} as JSON with Content-Type: application/json (endpoint optional, no other member)"#
                .into(),
        )
    })?;
    let scope = match question.endpoint.as_deref() {
        None => None,
        Some(endpoint) => match ENDPOINTS.iter().find(|(name, _)| *name == endpoint) {
            Some((_, scope)) => *scope,
            None => {
                return Err(ApiError::Unprocessable {
                    error: "unknown_endpoint",
                    description: format!(
                        "endpoint is one of {}",
                        ENDPOINTS.map(|(name, _)| name).join(", ")
                    ),
                });
            }
        },
    };
    let token = question.token.trim();
    let now = state.clock.now();
    let verdict = crate::servers::verify_for_api(&state, token, now).await?;
    let diagnosis = bearer::diagnose(&state, token, now).await?;
    let mut checks: Vec<TokenCheck> = diagnosis
        .checks
        .iter()
        .map(|c| TokenCheck {
            name: c.name.to_owned(),
            passed: c.passed,
            expected: c.expected.clone(),
            got: c.got.clone(),
        })
        .collect();
    let (mut accepted, mut words) = match &verdict {
        Ok(accepted) => {
            let claims = &accepted.claims;
            let words = match &accepted.external {
                Some(issuer) => format!(
                    "accepted: a token of the trusted external issuer {issuer} for {}",
                    claims.sub
                ),
                None => format!(
                    "accepted: a token of {} for {}, issued to client {}",
                    claims.iss, claims.sub, claims.client_id
                ),
            };
            (true, words)
        }
        Err(why) => (false, why.clone()),
    };
    // A trusted external issuer's token is verified by that issuer's own rules (its keys read
    // from the provider): their outcome is one check. So is a refusal no check above explains.
    let explained = checks.iter().any(|c| !c.passed);
    if !explained && (diagnosis.scope.is_none() || verdict.is_err()) {
        checks.push(TokenCheck {
            name: "verification".into(),
            passed: accepted,
            expected: "accepted by the issuer's verifier".into(),
            got: words.clone(),
        });
    }
    let granted = match &verdict {
        Ok(accepted) => Some(&accepted.claims.scope),
        Err(_) => diagnosis.scope.as_ref(),
    };
    if let (Some(needed), Some(granted)) = (scope, granted) {
        let has = granted.contains(needed);
        checks.push(TokenCheck {
            name: "scope".into(),
            passed: has,
            expected: needed.to_owned(),
            got: match granted.to_string() {
                text if text.is_empty() => "no scope".into(),
                text => text,
            },
        });
        if accepted && !has {
            accepted = false;
            words = format!("this endpoint needs the {needed} scope, which the access token lacks");
        }
    }
    // RFC 9449 §7: a token bound to a key is taken only with a proof by it, which the debugger
    // cannot have: the rest holds, on that condition.
    if let Ok(bound) = &verdict
        && let Some(cnf) = &bound.claims.cnf
    {
        checks.push(TokenCheck {
            name: "cnf.jkt".into(),
            passed: true,
            expected: "a bearer token, or a DPoP-bound one sent with a proof by its key".into(),
            got: format!("bound to the DPoP key with thumbprint {}", cnf.jkt),
        });
        if accepted {
            words.push_str(&format!(
                "; it is bound to a DPoP key (cnf.jkt {}): send it as Authorization: DPoP \
                 <token> with a proof by that key, never as Bearer",
                cnf.jkt
            ));
        }
    }
    Ok(Json(TokenAnswer {
        accepted,
        verdict: words,
        checks,
        server_time: now.unix(),
    }))
}
