//! Keeping a login alive, and ending it.
//!
//! A refresh is scheduled a safety margin before the access token expires ([`refresh_delay`]), so
//! someone who stays on the page is never logged out. The server rotates refresh tokens (RFC 9700
//! §4.14.2): each one is single-use, and presenting a spent one is taken as theft and revokes the
//! whole login. So a refresh token must never be sent twice, which this module makes sure of:
//!
//! - one refresh at a time in this tab (`in_flight`), and one at a time across the tabs of this
//!   origin (the Web Locks API, where the browser has it);
//! - the refresh token is only presented while the cookie holds the access token issued with it
//!   ([`RefreshGrant::access_token`]); otherwise another tab has moved on;
//! - the new refresh token is stored before anything else ([`Session::renew`]);
//! - a page load to another bundle waits for a refresh on its way, and starts none
//!   ([`Refresher::leave_for`]): it would cut the answer off, and with it the new refresh token.
//!
//! Logging out revokes the refresh token (RFC 7009), which ends the login on the server too.
//!
//! In MVC mode there is nothing to refresh here: the backend-for-frontend renews its own tokens,
//! so no timer is ever set, and logging out is one call to `POST /bff/logout`, after which the
//! server revokes the tokens.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::config::AppMode;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::api::{self, Api, ApiError, Deployment};
use crate::session::{RefreshGrant, Session};

/// Refresh at this share of the access token's lifetime …
const REFRESH_AT_SHARE: f64 = 0.8;
/// … or this long before it expires, whichever is earlier …
const REFRESH_MARGIN_SECS: f64 = 60.0;
/// … but never before half the lifetime (or this), so a very short-lived token cannot cause a
/// stream of refreshes.
const MIN_REFRESH_SECS: f64 = 5.0;
/// When the authorization server could not be reached, try again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(30);
/// A timer may wake a little before the time it was set for.
const EARLY_TOLERANCE_MS: f64 = 1000.0;
/// The Web Locks name every tab of this origin refreshes under.
const LOCK_NAME: &str = "oauth-refresh";
/// A page load waits this long at most for a refresh on its way, then goes anyway.
const LEAVE_WAIT_MS: f64 = 10_000.0;
/// A page that is still here this long after its load began was not replaced (the load was
/// stopped): refreshes resume. Long, because a slow load resumed too early is what the wait
/// is there to prevent.
const LEAVE_ABANDONED_MS: i32 = 60_000;

/// How long after receiving an access token that lives `expires_in` seconds to refresh it.
pub fn refresh_delay(expires_in: u64) -> Duration {
    let lifetime = expires_in as f64;
    let at = (lifetime * REFRESH_AT_SHARE)
        .min(lifetime - REFRESH_MARGIN_SECS)
        .max(lifetime / 2.0)
        .max(MIN_REFRESH_SECS);
    Duration::from_secs_f64(at)
}

/// When the refresh for this grant is due (ms since the epoch, this browser's clock).
pub fn refresh_due_ms(grant: &RefreshGrant) -> f64 {
    grant.received_at_ms + refresh_delay(grant.expires_in).as_secs_f64() * 1000.0
}

/// Schedules refreshes for the session and logs out; provided by the shell.
#[derive(Clone, Copy)]
pub struct Refresher {
    session: Session,
    deployment: StoredValue<Deployment>,
    /// MVC mode: how logging out reaches the server.
    api: StoredValue<Api>,
    /// When the next refresh will run (ms since the epoch, this browser's clock); `None` when
    /// there is no refresh token.
    next: RwSignal<Option<f64>>,
    /// A refresh request is on its way.
    in_flight: RwSignal<bool>,
    /// This page is being replaced: where to, once no refresh is on its way.
    leaving: StoredValue<Option<Departure>>,
    /// A page load is waiting for a refresh on its way.
    waiting: StoredValue<bool>,
    /// How many page loads this page has started (a page the browser restored from its
    /// back/forward cache may start another).
    departures: StoredValue<u32>,
    timer: StoredValue<Option<TimeoutHandle>>,
}

pub fn use_refresher() -> Refresher {
    expect_context::<Refresher>()
}

impl Refresher {
    /// Starts keeping the session fresh: reschedules whenever the access token changes (login,
    /// refresh, logout, expiry). After a reload the schedule comes back from `sessionStorage`;
    /// a refresh that is already due (or a refresh token whose access token the browser has
    /// already dropped) runs at once. In MVC mode it never schedules anything.
    pub fn start(session: Session, deployment: Deployment, api: Api) -> Self {
        let refresher = Self {
            session,
            deployment: StoredValue::new(deployment),
            api: StoredValue::new(api),
            next: RwSignal::new(None),
            in_flight: RwSignal::new(false),
            leaving: StoredValue::new(None),
            waiting: StoredValue::new(false),
            departures: StoredValue::new(0),
            timer: StoredValue::new(None),
        };
        if session.mode() == AppMode::Rest {
            Effect::new(move |_| {
                let _changed = session.token();
                refresher.reschedule();
            });
        }
        refresher
    }

    /// When the next refresh will run (reactive).
    pub fn next_refresh_ms(&self) -> Option<f64> {
        self.next.get()
    }

    /// Whether a refresh is on its way now (reactive).
    pub fn is_refreshing(&self) -> bool {
        self.in_flight.get()
    }

    /// Replaces this page by a page load (`departure`: a page of another bundle, or this one
    /// again) once no refresh is on its way, and starts none from now on. A page load cuts a
    /// refresh's answer off, and with it the rotated refresh token the server has already
    /// issued: the next page would present the spent one, which the server takes as theft and
    /// answers by ending the login (RFC 9700 §4.14.2). A refresh on its way is waited for, for
    /// [`LEAVE_WAIT_MS`] at most; calls made meanwhile change where to (the last one wins).
    pub fn leave_for(self, departure: Departure) {
        self.leaving.set_value(Some(departure));
        self.cancel_timer();
        if self.waiting.get_value() {
            // The page load already waiting goes to this departure.
            return;
        }
        self.waiting.set_value(true);
        let number = self.departures.get_value() + 1;
        self.departures.set_value(number);
        spawn_local(async move {
            let in_flight = self.in_flight;
            wait_while(move || in_flight.get_untracked(), LEAVE_WAIT_MS).await;
            self.waiting.set_value(false);
            if let Some(departure) = self.leaving.get_value() {
                let _ = departure.go();
            }
            // Normally this page is gone long before (or in the back/forward cache, where
            // time stands still).
            sleep_ms(LEAVE_ABANDONED_MS).await;
            if self.departures.get_value() == number {
                self.leaving.set_value(None);
                self.reschedule();
            }
        });
    }

    /// Whether this page is being replaced (a page load is waiting or under way).
    pub fn is_leaving(self) -> bool {
        self.leaving.with_value(Option::is_some)
    }

    /// Ends the session here at once, then revokes the refresh token, best effort: an
    /// unreachable server must not keep anyone logged in, and the tokens are gone from the
    /// browser either way.
    ///
    /// MVC mode: asks the server to end the session (it revokes the tokens), then forgets the
    /// session here whatever the answer.
    pub fn log_out(self) {
        if self.session.mode() == AppMode::Mvc {
            let (session, api) = (self.session, self.api.get_value());
            spawn_local(async move {
                let ended = api.end_server_session().await;
                session.log_out();
                // A 401 means the session had already ended on the server.
                if let Err(e) = ended
                    && !matches!(e, ApiError::Unauthorized(_))
                {
                    session.set_flash(format!(
                        "You are logged out here, but the server could not end the session ({e}); \
                         it ends by itself when it expires."
                    ));
                }
            });
            return;
        }
        let refresh_token = self.session.log_out();
        let Deployment { config, server } = self.deployment.get_value();
        if let (Some(token), Ok(server)) = (refresh_token, server) {
            spawn_local(async move {
                let _ = api::revoke(&server, &config.client_id, &token).await;
            });
        }
        // A sender-constrained login's key goes with it: the next login makes a new one.
        spawn_local(crate::dpop::forget());
    }

    fn reschedule(self) {
        match self.session.refresh_grant() {
            Some(grant) => self.schedule_at(refresh_due_ms(&grant)),
            None => {
                self.cancel_timer();
                self.next.set(None);
            }
        }
    }

    fn schedule_at(self, due_ms: f64) {
        self.cancel_timer();
        self.next.set(Some(due_ms));
        // setTimeout takes at most 2^31 - 1 ms; a later refresh just rearms when it wakes up.
        let delay_ms = (due_ms - js_sys::Date::now()).clamp(0.0, f64::from(i32::MAX));
        let handle = set_timeout_with_handle(
            move || spawn_local(self.refresh()),
            Duration::from_millis(delay_ms.ceil() as u64),
        );
        self.timer.set_value(handle.ok());
    }

    fn cancel_timer(self) {
        if let Some(handle) = self.timer.get_value() {
            handle.clear();
        }
        self.timer.set_value(None);
    }

    /// For a call the API refused as expired: renews the access token, or waits for the renewal
    /// already on its way (several calls refused at once renew once). The caller then compares
    /// the session's token with the one that was refused.
    pub async fn renew(self) {
        // A call refused while this page is being replaced waits for the next page (which
        // renews when it needs to): given up here, the refusal would end the session.
        wait_while(move || self.is_leaving(), f64::INFINITY).await;
        if self.in_flight.get_untracked() {
            let in_flight = self.in_flight;
            wait_while(move || in_flight.get_untracked(), f64::INFINITY).await;
            return;
        }
        self.refresh_when(true).await;
    }

    /// Refreshes now, due or not (the labs' "Refresh now"). Returns the refresh token it spent,
    /// when it did rotate.
    pub async fn refresh_now(self) -> Option<String> {
        let before = self.session.refresh_grant()?.refresh_token;
        self.refresh_when(true).await;
        let after = self.session.refresh_grant()?.refresh_token;
        (after != before).then_some(before)
    }

    async fn refresh(self) {
        self.refresh_when(false).await;
    }

    /// Refreshes when due, or at once when `now`.
    async fn refresh_when(self, now: bool) {
        // Two timers (or a timer and a retry) that fire together must not both present the
        // same refresh token; and none starts while the page is being replaced.
        if self.in_flight.get_untracked() || self.is_leaving() {
            return;
        }
        self.in_flight.set(true);
        exclusively(LOCK_NAME, async move { self.refresh_once(now).await }).await;
        self.in_flight.set(false);
    }

    async fn refresh_once(self, now: bool) {
        // Waiting for another tab's turn can outlast a page load's wait: checked again.
        if self.is_leaving() {
            return;
        }
        let Some(grant) = self.session.refresh_grant() else {
            return;
        };
        if let Some(current) = self.session.cookie_token()
            && current != grant.access_token
        {
            self.session.follow_other_tab(current);
            return;
        }
        if !now && refresh_due_ms(&grant) > js_sys::Date::now() + EARLY_TOLERANCE_MS {
            // Not due: a stale timer (the grant was replaced since it was set).
            self.reschedule();
            return;
        }
        let Deployment { config, server } = self.deployment.get_value();
        let Ok(server) = server else {
            // No metadata, no token endpoint: the session lasts as long as its access token.
            return;
        };
        let bound_to = crate::dpop::jkt_of(&grant.access_token);
        match api::refresh(
            &server,
            &config.client_id,
            &grant.refresh_token,
            bound_to.as_deref(),
        )
        .await
        {
            Ok(response) => {
                let still_ours = self
                    .session
                    .refresh_grant()
                    .is_some_and(|now| now.refresh_token == grant.refresh_token);
                if !still_ours {
                    // Logged out while the request was on its way: the new tokens must not log
                    // the user back in, and the login they belong to is ended on the server too.
                    if let Some(token) = response.refresh_token {
                        let _ = api::revoke(&server, &config.client_id, &token).await;
                    }
                    return;
                }
                if let Err(why) = self.session.renew(&response, grant.refresh_token) {
                    self.session.expire(why);
                }
            }
            // RFC 6749 §5.2: `invalid_grant` (expired, revoked or already used) or any other
            // refusal: this login cannot go on.
            Err(
                error @ ApiError::Rejected {
                    status: 400..=499, ..
                },
            )
            | Err(error @ ApiError::BadResponse(_)) => {
                self.session.expire(api::session_ended(&error.to_string()));
            }
            // No answer, or a server error: nothing was spent as far as this tab can know. If
            // the server did rotate and the answer was lost, the retry is refused as a reuse and
            // ends a login that was lost anyway.
            Err(_) => self.schedule_at(js_sys::Date::now() + RETRY_AFTER.as_secs_f64() * 1000.0),
        }
    }
}

/// A page load that replaces this page ([`Refresher::leave_for`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Departure {
    /// To `path`; `replace`: in place of the current history entry.
    To { path: String, replace: bool },
    /// This page again.
    Reload,
}

impl Departure {
    /// Starts the page load now.
    fn go(&self) -> Result<(), JsValue> {
        let location = window().location();
        match self {
            Departure::To {
                path,
                replace: true,
            } => location.replace(path),
            Departure::To { path, .. } => location.assign(path),
            Departure::Reload => location.reload(),
        }
    }

    /// Starts the page load through `refresher` when there is one ([`Refresher::leave_for`]),
    /// else now.
    pub fn go_through(self, refresher: Option<Refresher>) -> Result<(), JsValue> {
        match refresher {
            Some(refresher) => {
                refresher.leave_for(self);
                Ok(())
            }
            None => self.go(),
        }
    }
}

/// Resolves once `busy` is false, checked every 50 ms, or after `at_most_ms`.
async fn wait_while(busy: impl Fn() -> bool, at_most_ms: f64) {
    let deadline = js_sys::Date::now() + at_most_ms;
    while busy() && js_sys::Date::now() < deadline {
        sleep_ms(50).await;
    }
}

/// Resolves after `ms` milliseconds (a `setTimeout`).
async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Runs `task` while holding the Web Locks API lock `name`, so that tabs of this origin take turns
/// (a duplicated tab starts with a copy of `sessionStorage`, refresh token included). Browsers
/// without the API run it directly.
async fn exclusively(name: &str, task: impl Future<Output = ()> + 'static) {
    let task = Rc::new(Cell::new(Some(task)));
    if let Some(locks) = lock_manager() {
        let queued = Rc::clone(&task);
        let callback = Closure::once(move |_lock: JsValue| {
            future_to_promise(async move {
                if let Some(task) = queued.take() {
                    task.await;
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        if let Ok(released) = locks.request(name, callback.as_ref().unchecked_ref()) {
            // The lock is released when the callback's promise settles.
            let _ = JsFuture::from(released).await;
            return;
        }
    }
    if let Some(task) = task.take() {
        task.await;
    }
}

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it only behind `web_sys_unstable_apis`).
    type LockManager;

    #[wasm_bindgen(method, catch)]
    fn request(
        this: &LockManager,
        name: &str,
        callback: &js_sys::Function,
    ) -> Result<js_sys::Promise, JsValue>;
}

fn lock_manager() -> Option<LockManager> {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    locks.is_object().then(|| locks.unchecked_into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_at_80_percent_or_a_minute_before_expiry() {
        // 15 min: 80 % (12 min) comes before 14 min.
        assert_eq!(refresh_delay(900), Duration::from_secs(720));
        // 1 h: 80 % (48 min) comes before a minute before (59 min).
        assert_eq!(refresh_delay(3600), Duration::from_secs(2880));
        // 4 min: 80 % is 192 s, a minute before is 180 s.
        assert_eq!(refresh_delay(240), Duration::from_secs(180));
    }

    #[test]
    fn short_lifetimes_do_not_refresh_in_a_loop() {
        assert_eq!(refresh_delay(60), Duration::from_secs(30));
        assert_eq!(refresh_delay(0), Duration::from_secs(5));
    }

    #[test]
    fn due_time_counts_from_receipt() {
        let grant = RefreshGrant {
            refresh_token: "r".into(),
            access_token: "a".into(),
            received_at_ms: 1_000_000.0,
            expires_in: 900,
        };
        assert_eq!(refresh_due_ms(&grant), 1_000_000.0 + 720_000.0);
    }
}
