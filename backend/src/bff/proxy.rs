//! The browser's API calls, made by the server with the session's access token.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use shared::bff::SessionInfo;
use shared::scope::ScopeSet;

use super::session::{Session, Tokens, check_csrf, with_exchange};
use super::upstream::TokenResult;
use super::{Bff, BffError};
use crate::oauth::access_token;
use crate::storage::now;

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
    let claims = match access_token::verify_live(&bff.app, &session.tokens.access_token).await? {
        Ok(claims) => claims,
        Err(why) => {
            session.end(&bff).await;
            return Err(BffError::NoSession(format!(
                "the session's access token is no longer valid: {why}"
            )));
        }
    };
    let config = &bff.app.config;
    Ok(Json(SessionInfo {
        csrf_token: session.key.csrf_token(),
        claims,
        requested_scope: ScopeSet::parse(&session.row.requested_scope).unwrap_or_default(),
        expires_at: session.row.expires_at,
        idle_expires_at: now() + i64::try_from(config.session_idle_timeout).unwrap_or(i64::MAX / 2),
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
    let mut request = bff
        .http
        .request(method, &url)
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

/// The request's session with an access token good for at least [`RENEW_BEFORE_SECS`].
async fn fresh_session(bff: &Bff, headers: &HeaderMap) -> Result<Session, BffError> {
    let session = Session::load(bff, headers).await?;
    if !due(&session) {
        return Ok(session);
    }
    let lock = bff.refresh_lock(&session.row.id_hash);
    let _renewing = lock.lock().await;
    // Another request may have renewed the tokens while this one waited.
    let session = session.reload(bff).await?;
    if !due(&session) {
        return Ok(session);
    }
    let Some(refresh_token) = session.tokens.refresh_token.clone() else {
        if session.row.access_expires_at > now() {
            return Ok(session);
        }
        bff.app.db.delete_bff_session(&session.row.id_hash).await?;
        return Err(BffError::NoSession(
            "the access token expired, and this login cannot be renewed".into(),
        ));
    };
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
            let expires_at = now() + i64::try_from(tokens.expires_in).unwrap_or(0);
            bff.app
                .db
                .update_bff_tokens(&session.row.id_hash, &sealed, expires_at, true, &exchanges)
                .await?;
            session.reload(bff).await
        }
        TokenResult::Refused(error) => {
            bff.app.db.delete_bff_session(&session.row.id_hash).await?;
            Err(BffError::NoSession(format!(
                "the authorization server ended the login: {}",
                error.error_description.unwrap_or(error.error)
            )))
        }
        TokenResult::Failed(why) => Err(BffError::Upstream(why)),
    }
}

fn due(session: &Session) -> bool {
    session.row.access_expires_at - now() <= RENEW_BEFORE_SECS
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
