//! Rate limits on guessing: failed logins per user, login attempts per address, failed client
//! authentications per client and per address (RFC 9700 §4.16 and OWASP's authentication
//! guidance; RFC 6585 §4 gives the 429 answer and its `Retry-After`).
//!
//! Each key has a generic cell rate (GCRA) state: one timestamp saying when its allowance will
//! be full again. `N` events per `S` seconds means a burst of `N`, then one more every `S/N`
//! seconds. A check is a hash-map lookup under a mutex: refusing a guess costs the server far
//! less than making it costs the attacker, and no password or secret is hashed for a refused
//! attempt.
//!
//! The state is per process: behind several instances each enforces its own limit, which
//! multiplies the allowance by the number of instances but never blocks a legitimate user
//! longer.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys beyond this many are not tracked (after forgetting the ones whose allowance is full):
/// bounded memory under a flood of made-up usernames. The per-address limits still apply.
const MAX_KEYS: usize = 100_000;

/// `N/S`: `N` events per `S` seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub period: Duration,
}

impl Rate {
    fn interval(self) -> Duration {
        self.period / self.burst
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("{s:?} is not a rate; write N/S for N events per S seconds, e.g. 5/300");
        let (n, secs) = s.split_once('/').ok_or_else(bad)?;
        let burst: u32 = n.trim().parse().map_err(|_| bad())?;
        let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
        if burst == 0 || secs == 0 || secs > 86_400 {
            return Err(format!(
                "{s:?}: both numbers must be positive, and the period at most a day"
            ));
        }
        Ok(Self {
            burst,
            period: Duration::from_secs(secs),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.burst, self.period.as_secs())
    }
}

/// One limit, over many keys (usernames, addresses, client ids).
#[derive(Debug)]
pub struct Throttle {
    rate: Rate,
    /// When each key's allowance is full again (the GCRA "theoretical arrival time").
    cells: Mutex<HashMap<String, Instant>>,
}

impl Throttle {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` if one more event for `key` now would exceed the rate; changes nothing.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Counts one event for `key` if the rate allows it: `Ok(true)` when this very event used
    /// up the allowance (the moment worth logging, once), `Err(wait)` when refused. Check and
    /// count are one step under the lock, so concurrent requests cannot all pass a check
    /// before any of them is counted.
    pub fn hit(&self, key: &str) -> Result<bool, Duration> {
        self.hit_at(key, Instant::now())
    }

    /// Gives back one event counted by [`Throttle::hit`] (an attempt reserved before the
    /// outcome was known, that turned out not to count: a successful login).
    pub fn refund(&self, key: &str) {
        let now = Instant::now();
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(full_at) = cells.get_mut(key) {
            *full_at = full_at
                .checked_sub(self.rate.interval())
                .map_or(now, |t| t.max(now));
        }
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        match cells.get(key) {
            Some(&full_at) => self.admits(full_at, now),
            None => Ok(()),
        }
    }

    fn hit_at(&self, key: &str, now: Instant) -> Result<bool, Duration> {
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        let full_at = cells.get(key).copied().unwrap_or(now);
        self.admits(full_at, now)?;
        let next = full_at.max(now) + self.rate.interval();
        if cells.len() >= MAX_KEYS && !cells.contains_key(key) {
            cells.retain(|_, full_at| *full_at > now);
            if cells.len() >= MAX_KEYS {
                return Ok(false);
            }
        }
        cells.insert(key.to_owned(), next);
        Ok(self.admits(next, now).is_err())
    }

    /// One more event is allowed while the allowance is at least one interval short of empty.
    fn admits(&self, full_at: Instant, now: Instant) -> Result<(), Duration> {
        let limit = now + self.rate.period - self.rate.interval();
        if full_at > limit {
            Err(full_at - limit)
        } else {
            Ok(())
        }
    }

    /// Forgets keys whose allowance is full again; called now and then to bound memory.
    pub fn prune(&self) {
        let now = Instant::now();
        self.cells
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, full_at| *full_at > now);
    }
}

/// The key for per-address limits: an IPv4 address, or the /64 an IPv6 address is in (one
/// subscriber usually holds a whole /64, and could otherwise take a fresh address per guess).
pub fn address_key(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Whole seconds to wait, rounded up, for `Retry-After` (RFC 9110 §10.2.3).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Every limit the authorization server enforces.
#[derive(Debug)]
pub struct Throttles {
    pub login_per_user: Throttle,
    pub login_per_address: Throttle,
    pub client_auth_per_client: Throttle,
    pub client_auth_per_address: Throttle,
    /// MVC mode: logins the backend-for-frontend starts per address (each stores a row until
    /// its callback, for ten minutes), at the rate of `login_per_address`.
    pub bff_logins_per_address: Throttle,
}

impl Throttles {
    /// The limits `config` sets.
    pub fn new(config: &crate::config::Config) -> Self {
        Self {
            login_per_user: Throttle::new(config.login_failures_per_user),
            login_per_address: Throttle::new(config.login_attempts_per_address),
            client_auth_per_client: Throttle::new(config.client_auth_failures_per_client),
            client_auth_per_address: Throttle::new(config.client_auth_failures_per_address),
            bff_logins_per_address: Throttle::new(config.login_attempts_per_address),
        }
    }

    pub fn prune(&self) {
        for throttle in [
            &self.login_per_user,
            &self.login_per_address,
            &self.client_auth_per_client,
            &self.client_auth_per_address,
            &self.bff_logins_per_address,
        ] {
            throttle.prune();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates() {
        assert_eq!(
            "5/300".parse::<Rate>().unwrap(),
            Rate {
                burst: 5,
                period: Duration::from_secs(300)
            }
        );
        for bad in ["", "5", "0/10", "5/0", "a/b", "5/100000", "-1/5"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn allows_a_burst_then_one_per_interval() {
        let throttle = Throttle::new("3/30".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            throttle.hit_at("k", t0).unwrap();
        }
        let wait = throttle.hit_at("k", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        assert_eq!(throttle.check_at("k", t0), Err(Duration::from_secs(10)));
        // Other keys are unaffected.
        throttle.hit_at("other", t0).unwrap();
        assert_eq!(throttle.hit_at("fresh", t0), Ok(false));
        assert_eq!(throttle.hit_at("fresh", t0), Ok(false));
        assert_eq!(
            throttle.hit_at("fresh", t0),
            Ok(true),
            "the third of three uses it up"
        );
        assert!(throttle.hit_at("fresh", t0).is_err());
        // After one interval, exactly one more.
        let t1 = t0 + Duration::from_secs(10);
        throttle.hit_at("k", t1).unwrap();
        assert!(throttle.hit_at("k", t1).is_err());
        // After the whole period, the full burst again.
        let t2 = t1 + Duration::from_secs(30);
        for _ in 0..3 {
            throttle.hit_at("k", t2).unwrap();
        }
        assert!(throttle.hit_at("k", t2).is_err());
    }

    #[test]
    fn refused_events_do_not_extend_the_wait() {
        let throttle = Throttle::new("2/20".parse().unwrap());
        let t0 = Instant::now();
        throttle.hit_at("k", t0).unwrap();
        throttle.hit_at("k", t0).unwrap();
        for _ in 0..100 {
            assert!(throttle.hit_at("k", t0).is_err());
        }
        throttle.hit_at("k", t0 + Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn a_refund_gives_one_event_back() {
        let throttle = Throttle::new("2/20".parse().unwrap());
        throttle.hit("k").unwrap();
        throttle.hit("k").unwrap();
        assert!(throttle.hit("k").is_err());
        throttle.refund("k");
        throttle.hit("k").unwrap();
        assert!(throttle.hit("k").is_err());
        // Refunding an unknown key, or more than was counted, is harmless.
        throttle.refund("unknown");
        for _ in 0..10 {
            throttle.refund("k");
        }
        throttle.hit("k").unwrap();
        throttle.hit("k").unwrap();
        assert!(throttle.hit("k").is_err());
    }

    #[test]
    fn ipv6_addresses_are_keyed_by_their_64_bit_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(
            address_key("::ffff:192.0.2.7".parse().unwrap()),
            "192.0.2.7"
        );
    }

    #[test]
    fn rounds_retry_after_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(10)), 10);
        assert_eq!(retry_after_secs(Duration::from_millis(10_001)), 11);
    }
}
