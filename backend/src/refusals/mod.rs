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
//! writes: each instance records at most [`PER_SECOND`] refusals a second of requests it knows
//! the user of, and [`ANONYMOUS_PER_SECOND`] of the others (a client naming itself proves
//! nothing: a public client needs no secret), and counts the
//! rest (`refusals_unrecorded_total`), as it does those that find the event log's queue full
//! (the database away): an answer never waits to be recorded. Every text that came with the
//! request is clipped to [`MAX_TEXT`] characters. Throttled (429) and failed (5xx) answers are
//! not recorded (throttling has its own events, a failure is in the process log), nor the
//! answers that only say credentials are needed (no `Authorization` header, no session): an
//! anonymous visitor's normal first answer, with nothing to explain; nor a device's
//! `authorization_pending` (RFC 8628 §3.5), the answer to every poll while its user logs in.

pub mod bearer;

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{Method, StatusCode};
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use shared::api::Explanation;

use crate::clock::Clock;
use crate::events::{Event, EventKind, EventLog};

/// Most refusals of known callers recorded per second by one instance.
pub const PER_SECOND: u32 = 100;
/// Most refusals of callers the server does not know recorded per second by one instance.
pub const ANONYMOUS_PER_SECOND: u32 = 10;
/// Most Bearer refusals diagnosed per second by one instance (see [`Recorder::may_diagnose`]).
pub const DIAGNOSES_PER_SECOND: u32 = 200;
/// The header on an answer whose refusal was queued for the event log: the app links to its
/// explanation only then.
pub const RECORDED: axum::http::HeaderName =
    axum::http::HeaderName::from_static("x-refusal-recorded");
/// The longest text kept from a request (a token's `iss`, `kid`, a redirect URI), in characters.
pub const MAX_TEXT: usize = 200;

/// Set on an error answer by the error type that wrote it.
#[derive(Clone, Debug)]
pub struct Refused {
    /// The error code of the answer (RFC 6749 §5.2, RFC 6750 §3.1, or the API's own); also the
    /// `reason` of `oauth_refusals_total`.
    pub code: &'static str,
    pub description: String,
    pub why: Option<Box<Why>>,
    /// Counted in the metrics but not recorded (see the module's documentation).
    pub unrecorded: bool,
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
            unrecorded: false,
        });
        response
    }

    /// Tags `response` as a refusal with `code` that is counted but not recorded: a request
    /// that brought no credentials at all, or a device told to keep polling (RFC 8628 §3.5).
    pub fn tag_unrecorded(mut response: Response, code: &'static str) -> Response {
        response.extensions_mut().insert(Self {
            code,
            description: String::new(),
            why: None,
            unrecorded: true,
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
    /// The client the request named, when it exists but did not authenticate.
    pub client: Option<String>,
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

    pub fn client(mut self, client: impl Into<String>) -> Self {
        self.client = Some(client.into());
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

/// Records refusals, within the instance's budget; cheap to clone.
#[derive(Clone, Debug)]
pub struct Recorder {
    events: EventLog,
    clock: Clock,
    window: Arc<Mutex<Window>>,
    unrecorded: Counter,
}

/// The second being counted, and how many refusals of known and unknown callers were recorded
/// in it.
#[derive(Debug, Default)]
struct Window {
    second: i64,
    known: u32,
    anonymous: u32,
    diagnosed: u32,
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

    /// Records `refused`, answered with `status` to the request `request_id`, if it is worth
    /// recording and the budget has room; never waits. Whether it was queued.
    pub fn note(
        &self,
        refused: Refused,
        status: StatusCode,
        endpoint: (&Method, &str),
        request_id: &str,
        who: Caller<'_>,
    ) -> bool {
        if refused.unrecorded || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
        {
            return false;
        }
        let why = refused.why.as_deref();
        // The subject is a user when it is not the client itself (client credentials).
        let user = why.and_then(|w| w.user.as_deref()).or(who
            .subject
            .filter(|subject| Some(*subject) != who.client_id));
        let client = who.client_id.or(why.and_then(|w| w.client.as_deref()));
        if !self.admit(user.is_some()) {
            self.unrecorded.inc();
            return false;
        }
        let text = |value: &Option<String>| value.as_deref().map(clip);
        let explanation = Explanation {
            endpoint: format!("{} {}", endpoint.0, endpoint.1),
            status: status.as_u16(),
            error: refused.code.to_owned(),
            description: clip(&refused.description),
            check: why.map(|w| w.check.to_owned()),
            expected: why.and_then(|w| text(&w.expected)),
            got: why.and_then(|w| text(&w.got)),
            remedy: why.and_then(|w| w.remedy.clone()),
            issuer: why.and_then(|w| text(&w.issuer)),
            kid: why.and_then(|w| text(&w.kid)),
            jti: why.and_then(|w| text(&w.jti)),
        };
        let mut event = Event::new(EventKind::RequestRefused)
            .detail(format!(
                "{} {}: {}",
                explanation.endpoint, refused.code, explanation.description
            ))
            .request(request_id)
            .explanation(explanation);
        if let Some(client_id) = client {
            event = event.client(&clip(client_id));
        }
        if let Some(user) = user {
            event = event.user(&clip(user));
        }
        if let Some(address) = who.address {
            event = event.address(address);
        }
        let queued = self.events.try_record(event);
        if !queued {
            self.unrecorded.inc();
        }
        queued
    }

    /// Whether this second's allowance for a caller `known` or not has room: counts one more.
    fn admit(&self, known: bool) -> bool {
        let mut window = self.current();
        let (count, limit) = if known {
            (&mut window.known, PER_SECOND)
        } else {
            (&mut window.anonymous, ANONYMOUS_PER_SECOND)
        };
        *count += 1;
        *count <= limit
    }

    /// Whether this second's allowance of Bearer diagnoses (a read of the trusted issuers or
    /// the revocation list, a signature check: at most what the verifier spent) has room:
    /// counts one more. A flood of bad tokens costs at most twice their verification; while it
    /// lasts, a refused token is recorded without its diagnosis (and so as nobody's).
    pub fn may_diagnose(&self) -> bool {
        let mut window = self.current();
        window.diagnosed += 1;
        window.diagnosed <= DIAGNOSES_PER_SECOND
    }

    /// The counts of this second.
    fn current(&self) -> std::sync::MutexGuard<'_, Window> {
        let now = self.clock.now().unix();
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        if window.second != now {
            *window = Window {
                second: now,
                ..Window::default()
            };
        }
        window
    }
}

/// `text`, cut to [`MAX_TEXT`] characters (what a request brought is kept only that long).
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
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
        let admitted = (0..PER_SECOND + 50)
            .filter(|_| recorder.admit(true))
            .count();
        assert_eq!(admitted, PER_SECOND as usize);
        let anonymous = (0..50).filter(|_| recorder.admit(false)).count();
        assert_eq!(anonymous, ANONYMOUS_PER_SECOND as usize);
        let diagnosed = (0..DIAGNOSES_PER_SECOND + 5)
            .filter(|_| recorder.may_diagnose())
            .count();
        assert_eq!(diagnosed, DIAGNOSES_PER_SECOND as usize);
        clock.advance(std::time::Duration::from_secs(1));
        assert!(recorder.may_diagnose());
        assert!(recorder.admit(true) && recorder.admit(false));
    }

    #[test]
    fn request_texts_are_clipped() {
        assert_eq!(clip("kid"), "kid");
        let long = "é".repeat(MAX_TEXT + 5);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), MAX_TEXT + 1);
        assert!(clipped.ends_with('…'));
    }
}
