//! Every refusal explains itself. An error type that writes an answer tags it with a
//! [`Refused`]: the error code, the description, and, where a check decided it, a [`Why`] (the
//! check, expected against got, the remedy, and the token's issuer, `kid` and `jti`, never the
//! token). [`crate::logs::trace`] then records one `request_refused` security event per tagged
//! answer, under the request's id, its endpoint and who it was for: an administrator finds it
//! by the `X-Request-Id` the caller saw (`GET /admin/events?request_id=`), and a user reads
//! the refusals of their own requests (`GET /api/me/refusals`).
//!
//! A refusal is the user's only when the server knows the request was theirs: a token whose
//! signature verified, a session, a login, a refresh token of their grant. A forged or
//! unreadable token is nobody's (RFC 7662 §2.2's advice to tell an unauthenticated caller
//! nothing extra).
//!
//! Recording costs a database write, so a flood of bad requests must not become a flood of
//! writes: at most [`PER_SECOND`] refusals a second are recorded per instance, the rest only
//! counted (`refusals_unrecorded_total`). Throttled (429) and failed (5xx) answers are not
//! recorded: throttling has its own events, and a failure is in the process log.

pub mod bearer;

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use shared::api::Explanation;

use crate::clock::Clock;
use crate::events::{Event, EventKind, EventLog};

/// Most refusals recorded per second by one instance.
pub const PER_SECOND: u32 = 100;

/// Set on an error answer by the error type that wrote it.
#[derive(Clone, Debug)]
pub struct Refused {
    /// The error code of the answer (RFC 6749 §5.2, RFC 6750 §3.1, or the API's own); also the
    /// `reason` of `oauth_refusals_total`.
    pub code: &'static str,
    pub description: String,
    pub why: Option<Box<Why>>,
}

impl Refused {
    /// Tags `response` as a refusal with `code` and `description`, explained by `why`.
    pub fn tag(
        mut response: Response,
        code: &'static str,
        description: impl Into<String>,
        why: Option<Box<Why>>,
    ) -> Response {
        response.extensions_mut().insert(Self {
            code,
            description: description.into(),
            why,
        });
        response
    }
}

/// The check that refused a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Why {
    /// Its name: `audience`, `exp`, `kid`, `signature`, `scope`, `redirect_uri`, …
    pub check: &'static str,
    pub expected: Option<String>,
    pub got: Option<String>,
    /// What to do about it, in one sentence.
    pub remedy: Option<String>,
    pub issuer: Option<String>,
    pub kid: Option<String>,
    pub jti: Option<String>,
    /// The user the refused request was for, when the server knows (a token whose signature
    /// verified, a grant's refresh token).
    pub user: Option<String>,
}

impl Why {
    pub fn check(check: &'static str) -> Self {
        Self {
            check,
            ..Self::default()
        }
    }

    pub fn expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn got(mut self, got: impl Into<String>) -> Self {
        self.got = Some(got.into());
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
}

/// Who a refused request was for, as [`crate::logs::identify`] noted it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caller<'a> {
    pub client_id: Option<&'a str>,
    /// The user or client a token, session or login spoke for.
    pub subject: Option<&'a str>,
    pub address: Option<std::net::IpAddr>,
}

/// Records the refusals of one origin; cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    events: EventLog,
    clock: Clock,
    /// The second being counted and how many were recorded in it.
    window: Arc<Mutex<(i64, u32)>>,
    unrecorded: Counter,
}

impl Recorder {
    pub fn new(events: EventLog, clock: Clock, unrecorded: Counter) -> Self {
        Self {
            events,
            clock,
            window: Arc::default(),
            unrecorded,
        }
    }

    /// Records `refused`, answered with `status`, if it is worth recording.
    pub async fn note(
        &self,
        refused: Refused,
        status: StatusCode,
        method: &Method,
        route: &str,
        who: Caller<'_>,
    ) {
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return;
        }
        if !self.admit() {
            self.unrecorded.inc();
            return;
        }
        let why = refused.why.as_deref();
        // The subject is a user when it is not the client itself (client credentials).
        let user = why.and_then(|w| w.user.as_deref()).or(who
            .subject
            .filter(|subject| Some(*subject) != who.client_id));
        let explanation = Explanation {
            endpoint: format!("{method} {route}"),
            status: status.as_u16(),
            error: refused.code.to_owned(),
            description: refused.description,
            check: why.map(|w| w.check.to_owned()),
            expected: why.and_then(|w| w.expected.clone()),
            got: why.and_then(|w| w.got.clone()),
            remedy: why.and_then(|w| w.remedy.clone()),
            issuer: why.and_then(|w| w.issuer.clone()),
            kid: why.and_then(|w| w.kid.clone()),
            jti: why.and_then(|w| w.jti.clone()),
        };
        let mut event = Event::new(EventKind::RequestRefused)
            .detail(format!(
                "{} {}: {}",
                explanation.endpoint, refused.code, explanation.description
            ))
            .explanation(explanation);
        if let Some(client_id) = who.client_id {
            event = event.client(client_id);
        }
        if let Some(user) = user {
            event = event.user(user);
        }
        if let Some(address) = who.address {
            event = event.address(address);
        }
        self.events.record(event).await;
    }

    /// Whether this second's allowance has room for one more.
    fn admit(&self) -> bool {
        let now = self.clock.now().unix();
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.0 != now {
            *window = (now, 0);
        }
        window.1 += 1;
        window.1 <= PER_SECOND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    #[tokio::test]
    async fn at_most_the_allowance_is_recorded_each_second() {
        let clock = Clock::frozen(Timestamp::from_unix(1_000));
        let events = EventLog::refusing(clock.clone(), Default::default());
        let recorder = Recorder::new(events, clock.clone(), Counter::default());
        let admitted = (0..PER_SECOND + 50).filter(|_| recorder.admit()).count();
        assert_eq!(admitted, PER_SECOND as usize);
        clock.advance(std::time::Duration::from_secs(1));
        assert!(recorder.admit());
    }
}
