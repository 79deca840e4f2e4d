//! The browser's API calls, made by the server with the session's access token.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use shared::bff::SessionInfo;

use super::session::{LOG_IN_AGAIN, Session, Tokens, check_csrf, with_exchange};
use super::upstream::TokenResult;
use super::{Bff, BffError};
use crate::crypto;
use crate::refusals::{Why, bearer};
use crate::storage::RefreshLease;

/// An access token this close to its expiry is renewed before use, so it cannot expire between
/// here and the API.
const RENEW_BEFORE_SECS: i64 = 30;

/// `GET /bff/session`: who is logged in, for the app. Renews the access token if it is due, so
/// the claims shown are the ones the next call will use.
pub async fn session_info(
    State(bff): State<Arc<Bff>>,
    headers: HeaderMap,
) -> Result<Json<SessionInfo>, BffError> {
    let session = fresh_session(&bff, &headers).await?;
    // The same checks as the API's, revocation included, so the app never shows someone as
    // logged in whom the API would refuse.
    let now = bff.app.clock.now();
    let claims = match bff
        .app
        .tokens
        .verify_live(&bff.app.db, &session.tokens.access_token, now)
        .await?
    {
        Ok(claims) => claims,
        Err(verdict) => {
            // The API's own explanation of the refusal, within its budget of diagnoses.
            let why = if bff.app.refusals.may_diagnose() {
                bearer::explain(&bff.app, &session.tokens.access_token, now, verdict).await
            } else {
                Why::check("verification").got(verdict)
            };
            let why = why.user(session.row.subject.clone());
            session.end(&bff).await;
            return Err(BffError::NoSession(
                format!("the session's access token is no longer valid: {verdict}"),
                Box::new(why),
            ));
        }
    };
    let config = &bff.app.config;
    Ok(Json(SessionInfo {
        csrf_token: session.key.csrf_token(),
        claims,
        requested_scope: session.row.requested_scope.clone(),
        expires_at: session.row.expires_at.unix(),
        idle_expires_at: now.after(config.session_idle_timeout).unix(),
        refreshable: session.row.refreshable,
        exchanges: session.exchanges(),
    }))
}

/// `/bff/api/…` and `/bff/admin/…`: the same request to the API, with the session's access
/// token in `Authorization: Bearer`, and the API's answer as it is.
pub async fn forward(
    State(bff): State<Arc<Bff>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, BffError> {
    let path = upstream_path(uri.path())
        .ok_or_else(|| BffError::BadRequest("the path is not one of the API's".into()))?;
    if let Some(key) = super::session::SessionKey::from_request(&bff.app.config, &headers) {
        check_csrf(&bff.app.config, &method, &headers, &key)?;
    }
    let session = fresh_session(&bff, &headers).await?;
    let mut url = format!("{}{path}", bff.app.config.bff_upstream());
    if let Some(query) = uri.query() {
        url.push('?');
        url.push_str(query);
    }
    let call = bff.http.request(method, &url);
    let mut request = crate::logs::propagate(call)
        .bearer_auth(&session.tokens.access_token)
        .body(body);
    for name in [header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    let answer = request
        .send()
        .await
        .map_err(|e| BffError::Upstream(format!("the API did not answer ({e})")))?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    if status == StatusCode::UNAUTHORIZED {
        // The API no longer accepts the session's token (revoked, its user disabled): the
        // session is over; the app hears why from the API's own answer.
        bff.app.db.delete_bff_session(&session.row.id_hash).await?;
    }
    let mut response = Response::builder().status(status);
    for name in [
        header::CONTENT_TYPE,
        header::WWW_AUTHENTICATE,
        header::RETRY_AFTER,
        crate::refusals::RECORDED,
    ] {
        if let Some(value) = answer.headers().get(name.as_str())
            && let Ok(value) = HeaderValue::from_bytes(value.as_bytes())
        {
            response = response.header(name, value);
        }
    }
    if status == StatusCode::UNAUTHORIZED {
        response = response.header(
            header::SET_COOKIE,
            super::session::clear_cookie(&bff.app.config),
        );
    }
    let body = answer
        .bytes()
        .await
        .map_err(|e| BffError::Upstream(format!("the API's answer was cut off ({e})")))?;
    response.body(body.into()).map_err(|_| BffError::Internal)
}

/// `/bff/api/x` → `/api/x`, `/bff/admin/x` → `/admin/x`. Dot segments and encoded slashes or
/// dots are refused, so the request cannot be steered to any other path of the upstream (the
/// token endpoint, say) with the session's token on it.
fn upstream_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(shared::bff::PREFIX)?;
    let allowed = (rest.starts_with("/api/") || rest.starts_with("/admin/"))
        && !rest.contains("//")
        && !rest.contains('\\')
        && rest
            .split('/')
            .all(|segment| segment != "." && segment != "..")
        && !["%2e", "%2f", "%5c"]
            .iter()
            .any(|encoded| rest.to_ascii_lowercase().contains(encoded));
    allowed.then_some(rest)
}

/// How often a request waiting for another's refresh looks at the session again.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// The request's session with an access token good for at least [`RENEW_BEFORE_SECS`].
///
/// A stale token is renewed once per session, whichever instance the session's concurrent
/// calls land on: the calls of one instance queue on a lock, and across instances the one that
/// claims the session's lease in the database refreshes while the others wait for the row to
/// show the new token. (Two presentations of one refresh token would be reuse, and end the
/// login, RFC 9700 §4.14.2.) The refresh runs as a task of its own, so a browser that gives up
/// on the request cannot cut it off between rotating the tokens and storing them.
async fn fresh_session(bff: &Arc<Bff>, headers: &HeaderMap) -> Result<Session, BffError> {
    let session = Session::load(bff, headers).await?;
    if !due(bff, &session) {
        return Ok(session);
    }
    let lock = bff.refresh_lock(&session.row.id_hash);
    let _renewing = lock.lock().await;
    // Another request may have renewed the tokens while this one waited.
    let mut session = session.reload(bff).await?;
    let lease_secs = bff.refresh_lease().as_secs();
    let give_up = tokio::time::Instant::now() + Duration::from_secs(lease_secs + 5);
    loop {
        if !due(bff, &session) {
            return Ok(session);
        }
        let now = bff.app.clock.now();
        if session.tokens.refresh_token.is_none() {
            if session.row.access_expires_at > now {
                return Ok(session);
            }
            bff.app.db.delete_bff_session(&session.row.id_hash).await?;
            return Err(BffError::NoSession(
                "the access token expired, and this login cannot be renewed".into(),
                Box::new(
                    Why::check("exp")
                        .expected(format!(
                            "an access token valid now (the server's clock says {now}), or a \
                             refresh token to renew it"
                        ))
                        .got(format!(
                            "an access token that expired at {}, and a login given no refresh \
                             token",
                            session.row.access_expires_at
                        ))
                        .user(session.row.subject.clone())
                        .remedy(LOG_IN_AGAIN),
                ),
            ));
        }
        let holder = crypto::random_token(16);
        let until = now.after(lease_secs);
        let lease = RefreshLease {
            session: &session.row.id_hash,
            holder: &holder,
            until,
        };
        let due_before = now.plus_secs(RENEW_BEFORE_SECS);
        let claimed = bff
            .app
            .db
            .claim_bff_refresh(&lease, now, due_before)
            .await?;
        if let Some(row) = claimed {
            // Refresh with the tokens as they were when the lease was taken (the claim returns
            // them): another instance may have renewed them since this request read the row.
            let bff = Arc::clone(bff);
            let refreshing = tokio::spawn(crate::logs::in_request(async move {
                let id_hash = row.id_hash.clone();
                let lease = RefreshLease {
                    session: &id_hash,
                    holder: &holder,
                    until,
                };
                let refreshed = match session.with_row(row) {
                    Ok(session) => refresh(&bff, session, &lease).await,
                    Err(e) => Err(e),
                };
                if refreshed.is_err() {
                    // Whatever failed, the next call may try again at once rather than wait
                    // for the lease to run out. (After a refused refresh the session is gone,
                    // and this changes nothing.)
                    if let Err(e) = bff.app.db.release_bff_refresh(&lease, None).await {
                        tracing::warn!(error = %e, "giving back a session's refresh lease failed");
                    }
                }
                refreshed
            }));
            return refreshing.await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "a session's refresh task failed");
                Err(BffError::Internal)
            });
        }
        if tokio::time::Instant::now() >= give_up {
            return Err(BffError::Upstream(
                "another request is still renewing this session's tokens; try again".into(),
            ));
        }
        tokio::time::sleep(WAIT_STEP).await;
        session = session.reload(bff).await?;
    }
}

/// Renews `session`'s tokens under `lease` and stores them, or ends the session if the
/// authorization server says the login is over.
async fn refresh(
    bff: &Bff,
    session: Session,
    lease: &RefreshLease<'_>,
) -> Result<Session, BffError> {
    let refresh_token = session.tokens.refresh_token.clone().unwrap_or_default();
    let outcome = bff
        .token("refresh_token", &[("refresh_token", &refresh_token)])
        .await;
    let exchanges = with_exchange(session.exchanges(), outcome.exchange);
    match outcome.result {
        TokenResult::Issued(tokens) => {
            let renewed = Tokens {
                access_token: tokens.access_token,
                // A server that does not rotate leaves the old refresh token valid.
                refresh_token: tokens.refresh_token.or(Some(refresh_token)),
            };
            let sealed = session.key.seal(&renewed)?;
            let expires_in = i64::try_from(tokens.expires_in).unwrap_or(0);
            let expires_at = bff.app.clock.now().plus_secs(expires_in);
            if !bff
                .app
                .db
                .finish_bff_refresh(lease, &sealed, expires_at, &exchanges)
                .await?
            {
                tracing::warn!(
                    "a session's refresh outlasted its lease; another request may have presented \
                     the old refresh token"
                );
            }
            session.reload(bff).await
        }
        TokenResult::Refused(error) => {
            bff.app.db.delete_bff_session(&session.row.id_hash).await?;
            let got = match &error.error_description {
                Some(description) => format!("{}: {description}", error.error),
                None => error.error.clone(),
            };
            Err(BffError::NoSession(
                format!(
                    "the authorization server ended the login: {}",
                    error.error_description.unwrap_or(error.error)
                ),
                Box::new(
                    Why::check("refresh")
                        .expected("the authorization server renewing the session's tokens")
                        .got(format!("its refusal, {got}"))
                        .user(session.row.subject.clone())
                        .remedy(LOG_IN_AGAIN),
                ),
            ))
        }
        TokenResult::Failed(why) => {
            bff.app
                .db
                .release_bff_refresh(lease, Some(&exchanges))
                .await?;
            Err(BffError::Upstream(why))
        }
    }
}

fn due(bff: &Bff, session: &Session) -> bool {
    session
        .row
        .access_expires_at
        .secs_since(bff.app.clock.now())
        <= RENEW_BEFORE_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_paths_are_forwarded() {
        assert_eq!(upstream_path("/bff/api/orders"), Some("/api/orders"));
        assert_eq!(
            upstream_path("/bff/admin/users/u1"),
            Some("/admin/users/u1")
        );
        for bad in [
            "/bff/api",
            "/bff/token",
            "/bff/api/../token",
            "/bff/api/./orders",
            "/bff/api/%2e%2e/token",
            "/bff/api/%2E%2E/token",
            "/bff/api/a%2Fb",
            "/bff/api//orders",
            "/bff/api/a\\b",
            "/bff/apix/orders",
            "/api/orders",
        ] {
            assert_eq!(upstream_path(bad), None, "{bad}");
        }
    }
}
