//! Rate limits on guessing: failed logins per user, login attempts per address, failed client
//! authentications per client and per address (RFC 9700 §4.16 and OWASP's authentication
//! guidance; RFC 6585 §4 gives the 429 answer and its `Retry-After`).
//!
//! Each key has a generic cell rate (GCRA) state: one time saying when its allowance will be
//! full again. `N` events per `S` seconds means a burst of `N`, then one more every `S/N`
//! seconds. The state is in the database, and an event is checked and counted in one
//! statement ([`Db::rate_limit_hit`]), so every instance counts against the same allowance:
//! alternating between instances behind a load balancer gains an attacker nothing, and
//! parallel requests cannot all pass a check before any of them is counted. A refused event
//! costs one indexed write and no password or secret hash.

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{Rate, Rates};
use crate::storage::{self, Db, Hit};

/// What a limit says about one more event now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Allowed, and this very event used up the allowance (the moment worth logging, once).
    LastAllowed,
    /// Over the limit: try again after this long.
    Refused(Duration),
}

/// One limit, over many keys (usernames, addresses, client ids).
#[derive(Clone, Debug)]
pub struct Throttle {
    /// Its name in the database.
    name: &'static str,
    rate: Rate,
}

impl Throttle {
    pub fn new(name: &'static str, rate: Rate) -> Self {
        Self { name, rate }
    }

    /// The time one event takes to be forgotten, in the database's microseconds (at least one:
    /// a rate of more than a million events a second limits nothing).
    fn interval_us(&self) -> i64 {
        i64::try_from(self.rate.interval().as_micros())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// How far past now a key's full-again time may be while one more event is allowed.
    fn slack_us(&self) -> i64 {
        let period = i64::try_from(self.rate.period.as_micros()).unwrap_or(i64::MAX);
        period - self.interval_us()
    }

    /// The verdict for a key whose allowance is full again at `full_at_us` (if ever seen).
    fn verdict(&self, full_at_us: Option<i64>, now_us: i64) -> Verdict {
        let limit = now_us + self.slack_us();
        match full_at_us {
            Some(full_at) if full_at > limit => Verdict::Refused(micros(full_at - limit)),
            _ => Verdict::Allowed,
        }
    }

    /// Counts one event for `key` if the rate allows it (see [`Verdict`]). Check and count are
    /// one statement.
    pub async fn hit(&self, db: &Db, key: &str, now_us: i64) -> storage::Result<Verdict> {
        let hit = db
            .rate_limit_hit(self.name, key, now_us, self.interval_us(), self.slack_us())
            .await?;
        Ok(match hit {
            Hit::Counted { full_at_us } => match self.verdict(Some(full_at_us), now_us) {
                Verdict::Refused(_) => Verdict::LastAllowed,
                _ => Verdict::Allowed,
            },
            Hit::Refused { full_at_us } => match self.verdict(Some(full_at_us), now_us) {
                Verdict::Refused(wait) => Verdict::Refused(wait),
                // Freed between the refusal and the read: say "try again now".
                _ => Verdict::Refused(Duration::from_millis(1)),
            },
        })
    }

    /// Gives back one event counted by [`Throttle::hit`] (an attempt reserved before the
    /// outcome was known, that turned out not to count: a successful login).
    pub async fn refund(&self, db: &Db, key: &str, now_us: i64) -> storage::Result<()> {
        db.rate_limit_refund(self.name, key, now_us, self.interval_us())
            .await
    }
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
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

/// Every limit the server enforces.
#[derive(Clone, Debug)]
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
    pub fn new(rates: &Rates) -> Self {
        Self {
            login_per_user: Throttle::new("login_failures_per_user", rates.login_failures_per_user),
            login_per_address: Throttle::new(
                "login_attempts_per_address",
                rates.login_attempts_per_address,
            ),
            client_auth_per_client: Throttle::new(
                "client_auth_failures_per_client",
                rates.client_auth_failures_per_client,
            ),
            client_auth_per_address: Throttle::new(
                "client_auth_failures_per_address",
                rates.client_auth_failures_per_address,
            ),
            bff_logins_per_address: Throttle::new(
                "bff_logins_per_address",
                rates.login_attempts_per_address,
            ),
        }
    }

    /// Whether a client may try to authenticate now, without counting anything: one read of
    /// both of its limits (failures from its address, failures of the client id it claims from
    /// that address).
    pub async fn check_client_auth(
        &self,
        db: &Db,
        address: &str,
        claimed: Option<&str>,
        now_us: i64,
    ) -> storage::Result<Verdict> {
        let by_address = (self.client_auth_per_address.name, address);
        let mut pairs = vec![by_address];
        if let Some(key) = claimed {
            pairs.push((self.client_auth_per_client.name, key));
        }
        let states = db.rate_limit_states(&pairs).await?;
        let limits = [&self.client_auth_per_address, &self.client_auth_per_client];
        for (limit, state) in limits.into_iter().zip(states) {
            if let Verdict::Refused(wait) = limit.verdict(state, now_us) {
                return Ok(Verdict::Refused(wait));
            }
        }
        Ok(Verdict::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Settings;

    async fn db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        (Db::connect(&Settings::new(&url)).await.unwrap(), dir)
    }

    fn throttle(rate: &str) -> Throttle {
        Throttle::new("test", rate.parse().unwrap())
    }

    const T0: i64 = 1_000_000;

    #[tokio::test]
    async fn allows_a_burst_then_one_per_interval() {
        let (db, _dir) = db().await;
        let throttle = throttle("3/30");
        for _ in 0..2 {
            assert_eq!(throttle.hit(&db, "k", T0).await.unwrap(), Verdict::Allowed);
        }
        assert_eq!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::LastAllowed,
            "the third of three uses it up"
        );
        assert_eq!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::Refused(Duration::from_secs(10))
        );
        // Other keys are unaffected.
        assert_eq!(
            throttle.hit(&db, "other", T0).await.unwrap(),
            Verdict::Allowed
        );
        // After one interval, exactly one more.
        let t1 = T0 + 10_000_000;
        assert_ne!(
            throttle.hit(&db, "k", t1).await.unwrap(),
            Verdict::Refused(Duration::ZERO)
        );
        assert!(matches!(
            throttle.hit(&db, "k", t1).await.unwrap(),
            Verdict::Refused(_)
        ));
        // After the whole period, the full burst again.
        let t2 = t1 + 30_000_000;
        for _ in 0..3 {
            assert!(!matches!(
                throttle.hit(&db, "k", t2).await.unwrap(),
                Verdict::Refused(_)
            ));
        }
        assert!(matches!(
            throttle.hit(&db, "k", t2).await.unwrap(),
            Verdict::Refused(_)
        ));
    }

    #[tokio::test]
    async fn refused_events_do_not_extend_the_wait() {
        let (db, _dir) = db().await;
        let throttle = throttle("2/20");
        throttle.hit(&db, "k", T0).await.unwrap();
        throttle.hit(&db, "k", T0).await.unwrap();
        for _ in 0..20 {
            assert!(matches!(
                throttle.hit(&db, "k", T0).await.unwrap(),
                Verdict::Refused(_)
            ));
        }
        assert_ne!(
            throttle.hit(&db, "k", T0 + 10_000_000).await.unwrap(),
            Verdict::Refused(Duration::ZERO)
        );
    }

    #[tokio::test]
    async fn a_refund_gives_one_event_back() {
        let (db, _dir) = db().await;
        let throttle = throttle("2/20");
        throttle.hit(&db, "k", T0).await.unwrap();
        throttle.hit(&db, "k", T0).await.unwrap();
        assert!(matches!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::Refused(_)
        ));
        throttle.refund(&db, "k", T0).await.unwrap();
        assert!(!matches!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::Refused(_)
        ));
        // Refunding an unknown key, or more than was counted, is harmless.
        throttle.refund(&db, "unknown", T0).await.unwrap();
        for _ in 0..10 {
            throttle.refund(&db, "k", T0).await.unwrap();
        }
        for _ in 0..2 {
            assert!(!matches!(
                throttle.hit(&db, "k", T0).await.unwrap(),
                Verdict::Refused(_)
            ));
        }
        assert!(matches!(
            throttle.hit(&db, "k", T0).await.unwrap(),
            Verdict::Refused(_)
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_events_are_each_counted() {
        let (db, _dir) = db().await;
        let throttle = throttle("5/300");
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (db, throttle) = (db.clone(), throttle.clone());
            tasks.spawn(async move { throttle.hit(&db, "user", T0).await.unwrap() });
        }
        let verdicts = tasks.join_all().await;
        let allowed = verdicts
            .iter()
            .filter(|v| !matches!(v, Verdict::Refused(_)))
            .count();
        assert_eq!(allowed, 5, "{verdicts:?}");
    }

    #[tokio::test]
    async fn the_client_auth_check_reads_both_limits_without_counting() {
        let (db, _dir) = db().await;
        let rates = Rates {
            login_failures_per_user: "5/300".parse().unwrap(),
            login_attempts_per_address: "30/60".parse().unwrap(),
            client_auth_failures_per_client: "2/60".parse().unwrap(),
            client_auth_failures_per_address: "30/60".parse().unwrap(),
        };
        let throttles = Throttles::new(&rates);
        let key = "svc 192.0.2.7";
        for _ in 0..3 {
            assert_eq!(
                throttles
                    .check_client_auth(&db, "192.0.2.7", Some(key), T0)
                    .await
                    .unwrap(),
                Verdict::Allowed
            );
        }
        throttles
            .client_auth_per_client
            .hit(&db, key, T0)
            .await
            .unwrap();
        throttles
            .client_auth_per_client
            .hit(&db, key, T0)
            .await
            .unwrap();
        assert!(matches!(
            throttles
                .check_client_auth(&db, "192.0.2.7", Some(key), T0)
                .await
                .unwrap(),
            Verdict::Refused(_)
        ));
        assert_eq!(
            throttles
                .check_client_auth(&db, "192.0.2.7", Some("other 192.0.2.7"), T0)
                .await
                .unwrap(),
            Verdict::Allowed
        );
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
