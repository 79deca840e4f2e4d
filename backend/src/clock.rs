//! Time, read in one place and passed in: the server state holds a [`Clock`], handlers read it
//! once per request and hand the [`Timestamp`] to the logic that needs it. Expiry, rotation and
//! lifetimes are then testable by moving the clock instead of sleeping or editing rows.

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment, in whole seconds since the Unix epoch: what tokens carry (`exp`, `iat`, RFC 7519
/// §2 NumericDate) and what every stored time is (the storage seam writes it as a 64-bit
/// integer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix(seconds: i64) -> Self {
        Self(seconds)
    }

    /// The whole second a time in microseconds since the epoch falls in.
    pub const fn from_micros(us: i64) -> Self {
        Self(us.div_euclid(1_000_000))
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This moment plus `seconds` (negative goes back), saturating.
    pub fn plus_secs(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds))
    }

    /// This moment plus a lifetime of `seconds` (a configured or issued one), saturating.
    pub fn after(self, seconds: u64) -> Self {
        self.plus_secs(i64::try_from(seconds).unwrap_or(i64::MAX))
    }

    /// `self - earlier` in seconds (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// RFC 3339 in UTC, e.g. `2026-12-01T21:24:52Z`.
    pub fn rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, span: Duration) -> Timestamp {
        self.after(span.as_secs())
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, span: Duration) -> Timestamp {
        self.plus_secs(-i64::try_from(span.as_secs()).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, exact for every `i64` day a timestamp can name).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// Where the server reads the time. Production uses the system's clock; tests (and a later
/// "clock lab") move it forward or freeze it, and every piece of logic sees the same moved
/// time. Cheap to clone; clones share the setting.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Setting>);

#[derive(Debug)]
struct Setting {
    /// `false`: the system clock plus `offset_us`; `true`: standing still at `offset_us`.
    frozen: bool,
    /// Microseconds: added to the system time, or the frozen time itself.
    offset_us: AtomicI64,
    /// Seconds the clock lab (demo mode) moved every instance ahead, on top of the above; set
    /// from the database (see [`crate::labs::clock`]).
    lab_secs: AtomicI64,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(Arc::new(Setting {
            frozen: false,
            offset_us: AtomicI64::new(0),
            lab_secs: AtomicI64::new(0),
        }))
    }

    /// A clock that stands still at `at` until it is moved.
    pub fn frozen(at: Timestamp) -> Self {
        Self(Arc::new(Setting {
            frozen: true,
            offset_us: AtomicI64::new(at.unix().saturating_mul(1_000_000)),
            lab_secs: AtomicI64::new(0),
        }))
    }

    /// Now, to the microsecond (rate limits count in microseconds).
    pub fn now_us(&self) -> i64 {
        self.now_us_with(self.0.lab_secs.load(Ordering::Relaxed))
    }

    /// Now with the clock lab's offset taken as `lab_secs` (read once by the caller).
    fn now_us_with(&self, lab_secs: i64) -> i64 {
        let offset = self.0.offset_us.load(Ordering::Relaxed);
        let lab = lab_secs.saturating_mul(1_000_000);
        if self.0.frozen {
            return offset.saturating_add(lab);
        }
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        system.saturating_add(offset).saturating_add(lab)
    }

    /// Now as if the clock lab had not moved the clock: what purges go by, since what the moved
    /// clock finds expired becomes usable again when the lab resets it (a revoked token must
    /// stay on the revocation list until it would expire by this time).
    pub fn unmoved_now(&self) -> Timestamp {
        Timestamp::from_micros(self.now_us_with(0))
    }

    /// How far the clock lab has moved this clock ahead, in seconds.
    pub fn lab_offset_secs(&self) -> i64 {
        self.0.lab_secs.load(Ordering::Relaxed)
    }

    /// Sets how far the clock lab moves this clock ahead (every clone sees it).
    pub fn set_lab_offset_secs(&self, secs: i64) {
        self.0.lab_secs.store(secs, Ordering::Relaxed);
    }

    /// Now, in whole seconds.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.now_us())
    }

    /// Moves the clock forward by `span` (every clone sees it).
    pub fn advance(&self, span: Duration) {
        let us = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        self.0.offset_us.fetch_add(us, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_in_utc() {
        assert_eq!(Timestamp::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix(1_764_624_292).rfc3339(),
            "2025-12-01T21:24:52Z"
        );
        // A leap day, and the day after.
        assert_eq!(
            Timestamp::from_unix(951_782_400).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix(951_868_800).rfc3339(),
            "2000-03-01T00:00:00Z"
        );
        assert_eq!(Timestamp::from_unix(-1).rfc3339(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = Clock::frozen(Timestamp::from_unix(1000));
        assert_eq!(clock.now(), Timestamp::from_unix(1000));
        let shared = clock.clone();
        shared.advance(Duration::from_secs(61));
        assert_eq!(clock.now(), Timestamp::from_unix(1061));
        assert_eq!(clock.now_us(), 1_061_000_000);
    }

    #[test]
    fn the_lab_offset_adds_to_the_test_offset() {
        let clock = Clock::frozen(Timestamp::from_unix(1000));
        clock.set_lab_offset_secs(900);
        assert_eq!(clock.now(), Timestamp::from_unix(1900));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.lab_offset_secs(), 900);
        assert_eq!(clock.unmoved_now(), Timestamp::from_unix(1001));
        clock.set_lab_offset_secs(0);
        assert_eq!(clock.now(), Timestamp::from_unix(1001));
    }

    #[test]
    fn the_system_clock_can_be_moved_ahead() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now().secs_since(before) >= 3600);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix(i64::MAX - 1);
        assert_eq!(t + Duration::from_secs(10), Timestamp::from_unix(i64::MAX));
        assert_eq!(
            Timestamp::from_unix(10).secs_since(Timestamp::from_unix(4)),
            6
        );
    }
}
