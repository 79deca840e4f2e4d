//! OpenID Connect Back-Channel Logout 1.0, the client's side: the authorization server posts a
//! logout token here when one of the backend-for-frontend's logins ends elsewhere (the user
//! logged out of every app, say), and the sessions of that login end at once, on every
//! instance (they are rows in the shared database).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{Bff, BffError};
use crate::events::{Event, EventKind};
use crate::oauth::logout::token::LogoutClaims;
use crate::storage::EndedLogins;

/// `POST /bff/backchannel-logout` (§2.5): a form with one `logout_token`. 200 once its
/// sessions are gone (none is fine: they may have ended already); 400 with `error` and
/// `error_description` for a token that does not pass §2.6's checks (§2.8), and nothing ends.
/// No cookie and no CSRF token: the caller is the authorization server, and the token's
/// signature is what proves it.
pub async fn logout(
    State(bff): State<Arc<Bff>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, BffError> {
    if !crate::web::is_form_encoded(&headers) {
        return Err(BffError::BadRequest(
            "a logout token is posted as application/x-www-form-urlencoded (Back-Channel Logout \
             1.0 §2.5)"
                .into(),
        ));
    }
    let mut token = None;
    for (name, value) in form_urlencoded::parse(&body) {
        if name == "logout_token" {
            if token.is_some() {
                return Err(BffError::BadRequest("logout_token is repeated".into()));
            }
            token = Some(value);
        }
    }
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| BffError::BadRequest("the form has no logout_token".into()))?;
    let app = &bff.app;
    let now = app.clock.now();
    let claims = LogoutClaims::verify(
        &token,
        &app.root.keys.get(),
        &app.root.issuer,
        &app.config.bff_client_id,
        now,
    )
    .map_err(BffError::BadRequest)?;
    // §2.6: `sid` names one login; without it, every session of the user ends.
    let (ended, which) = match (&claims.sid, &claims.sub) {
        (Some(sid), sub) => (
            EndedLogins::Login {
                sid,
                sub: sub.as_deref(),
            },
            format!("login {sid}"),
        ),
        (None, Some(sub)) => (EndedLogins::Subject(sub), format!("every login of {sub}")),
        (None, None) => {
            return Err(BffError::BadRequest(
                "the logout token names neither a user nor a login".into(),
            ));
        }
    };
    let count = app.db.end_bff_sessions(ended).await?;
    let mut event = Event::new(EventKind::BackchannelLogout)
        .client(&app.config.bff_client_id)
        .detail(format!(
            "the backend-for-frontend received a logout token for {which}: {count} session{} \
             ended",
            if count == 1 { "" } else { "s" }
        ));
    if let Some(sub) = &claims.sub {
        event = event.user(sub);
    }
    app.events.record(event).await;
    Ok(StatusCode::OK)
}
