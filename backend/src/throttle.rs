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
//!
//! On SQLite, where this instance is the only one counting, client authentication (on every
//! `/token`, `/revoke` and `/introspect` request) reads its limits from memory instead
//! ([`Throttles::load`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crate::config::{Rate, Rates};
use prometheus_client::metrics::counter::Counter;

use crate::metrics::Metrics;
use crate::storage::{self, Db, Engine, Hit};

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
    /// Its name in the database (and in the metrics).
    name: &'static str,
    rate: Rate,
    /// `rate_limit_rejections_total` of this limit.
    rejected: Counter,
}

impl Throttle {
    pub fn new(name: &'static str, rate: Rate, metrics: &Metrics) -> Self {
        Self {
            name,
            rate,
            rejected: metrics.rate_limit(name),
        }
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
        let verdict = self.count(db, key, now_us).await?.0;
        if let Verdict::Refused(_) = verdict {
            self.rejected.inc();
        }
        Ok(verdict)
    }

    /// [`Throttle::hit`], with the time the key's allowance is full again and the time the
    /// event was counted at (`now_us`, or later if the key's clock was already past it).
    async fn count(&self, db: &Db, key: &str, now_us: i64) -> storage::Result<(Verdict, i64, i64)> {
        let hit = db
            .rate_limit_hit(self.name, key, now_us, self.interval_us(), self.slack_us())
            .await?;
        Ok(match hit {
            Hit::Counted { full_at_us, at_us } => match self.verdict(Some(full_at_us), at_us) {
                Verdict::Refused(_) => (Verdict::LastAllowed, full_at_us, at_us),
                _ => (Verdict::Allowed, full_at_us, at_us),
            },
            Hit::Refused { full_at_us } => {
                match self.verdict(Some(full_at_us), now_us) {
                    Verdict::Refused(wait) => (Verdict::Refused(wait), full_at_us, now_us),
                    // Freed between the refusal and the read: say "try again now".
                    _ => (
                        Verdict::Refused(Duration::from_millis(1)),
                        full_at_us,
                        now_us,
                    ),
                }
            }
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
#[derive(Debug)]
pub struct Throttles {
    pub login_per_user: Throttle,
    pub login_per_address: Throttle,
    client_auth_per_client: Throttle,
    client_auth_per_address: Throttle,
    /// MVC mode: logins the backend-for-frontend starts per address (each stores a row until
    /// its callback, for ten minutes), at the rate of `login_per_address`.
    pub bff_logins_per_address: Throttle,
    /// Authorization requests pushed per address (each stores a row until it is opened or
    /// expires: RFC 9126), at the rate of `login_per_address`: a push precedes a login.
    pub pushes_per_address: Throttle,
    /// Device authorization requests per address (each stores a row until it expires: RFC
    /// 8628 §3.1), at the rate of `login_per_address`: each precedes a login.
    pub device_requests_per_address: Throttle,
    /// User codes tried on the verification page per address (RFC 8628 §5.1: against guessing
    /// a code), at the rate of `login_per_address`.
    pub user_codes_per_address: Throttle,
    /// Dynamic client registrations per address (each stores a client: RFC 7591 §5 warns of
    /// open registration), at the rate of `login_per_address`.
    pub registrations_per_address: Throttle,
    /// The client-authentication keys being refused, where this instance alone counts them.
    refusing: Refusing,
}

/// Limit name → key → when its allowance is full again, in microseconds.
type Known = HashMap<&'static str, HashMap<String, i64>>;

/// The client-authentication keys being refused, kept in memory where this instance is the only
/// one that counts them: on SQLite (several instances need PostgreSQL). Loaded from the
/// database at start ([`Throttles::load`]) and then told every failure this instance counts
/// (with the time the database returned), it holds what the database holds, and a client
/// authenticating reads no limit from the database.
///
/// On PostgreSQL other instances count the same keys, and a copy could only be told of their
/// failures late: there every check reads both limits from the database (one indexed read), so
/// alternating between instances gains a guesser nothing. The same holds past
/// [`KEPT_KEYS_AT_MOST`] refused keys, until the next start. A second server on the same SQLite
/// file is not supported (several instances need PostgreSQL): it would count failures this one
/// never hears of.
#[derive(Debug, Default)]
struct Refusing {
    /// `None` until loaded, and always on PostgreSQL.
    known: RwLock<Option<Known>>,
}

impl Refusing {
    /// `None` when the database is to be read instead.
    fn full_at(&self, limit: &Throttle, key: &str) -> Option<Option<i64>> {
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        let known = known.as_ref()?;
        Some(
            known
                .get(limit.name)
                .and_then(|keys| keys.get(key))
                .copied(),
        )
    }

    /// Notes the time `key`'s allowance under `limit` is full again, as the database returned
    /// it after a failure at `now_us`, if the key is refused now (a key that is not is answered
    /// as one never seen); of two, the later wins (these failures are never refunded). Past
    /// [`KEPT_KEYS_AT_MOST`] keys (guessing from a great many addresses), memory gives way to
    /// the database.
    fn note(&self, limit: &Throttle, key: &str, full_at_us: i64, now_us: i64) {
        if limit.verdict(Some(full_at_us), now_us) == Verdict::Allowed {
            return;
        }
        let mut guard = self.known.write().unwrap_or_else(PoisonError::into_inner);
        let Some(known) = guard.as_mut() else { return };
        if known.values().map(HashMap::len).sum::<usize>() >= KEPT_KEYS_AT_MOST {
            too_many_refused();
            *guard = None;
            return;
        }
        let at = known
            .entry(limit.name)
            .or_default()
            .entry(key.to_owned())
            .or_insert(full_at_us);
        *at = (*at).max(full_at_us);
    }
}

/// The most refused client-authentication keys kept in memory (each costs well under 200 bytes).
const KEPT_KEYS_AT_MOST: usize = 100_000;

fn too_many_refused() {
    tracing::warn!(
        "more than {KEPT_KEYS_AT_MOST} client-authentication keys are being refused; reading \
         them from the database until the next start"
    );
}

impl Throttles {
    /// The limits at `rates`. Until [`Throttles::load`], every check reads the database.
    pub fn new(rates: &Rates, metrics: &Metrics) -> Self {
        let limit = |name, rate| Throttle::new(name, rate, metrics);
        Self {
            refusing: Refusing::default(),
            login_per_user: limit("login_failures_per_user", rates.login_failures_per_user),
            login_per_address: limit(
                "login_attempts_per_address",
                rates.login_attempts_per_address,
            ),
            client_auth_per_client: limit(
                "client_auth_failures_per_client",
                rates.client_auth_failures_per_client,
            ),
            client_auth_per_address: limit(
                "client_auth_failures_per_address",
                rates.client_auth_failures_per_address,
            ),
            bff_logins_per_address: limit(
                "bff_logins_per_address",
                rates.login_attempts_per_address,
            ),
            pushes_per_address: limit("pushes_per_address", rates.login_attempts_per_address),
            device_requests_per_address: limit(
                "device_requests_per_address",
                rates.login_attempts_per_address,
            ),
            user_codes_per_address: limit(
                "user_codes_per_address",
                rates.login_attempts_per_address,
            ),
            registrations_per_address: limit(
                "registrations_per_address",
                rates.login_attempts_per_address,
            ),
        }
    }

    /// The longest period of any limit, in microseconds: a count made now is forgotten by then,
    /// so a key's time never lies further ahead than this.
    pub fn horizon_us(&self) -> i64 {
        [
            &self.login_per_user,
            &self.login_per_address,
            &self.client_auth_per_client,
            &self.client_auth_per_address,
            &self.bff_logins_per_address,
            &self.pushes_per_address,
            &self.device_requests_per_address,
            &self.user_codes_per_address,
            &self.registrations_per_address,
        ]
        .iter()
        .map(|limit| limit.slack_us().saturating_add(limit.interval_us()))
        .max()
        .unwrap_or(0)
    }

    /// The two client-authentication limits, each with the key it counts (failures from the
    /// client's address, failures of the client id it claims from that address).
    fn client_auth_keys<'a>(
        &self,
        address: &'a str,
        claimed: Option<&'a str>,
    ) -> [(&Throttle, Option<&'a str>); 2] {
        [
            (&self.client_auth_per_address, Some(address)),
            (&self.client_auth_per_client, claimed),
        ]
    }

    /// Whether a client may try to authenticate now, without counting anything: both of its
    /// limits, from memory where this instance alone counts them (see [`Refusing`]), else in
    /// one database read.
    pub async fn check_client_auth(
        &self,
        db: &Db,
        address: &str,
        claimed: Option<&str>,
        now_us: i64,
    ) -> storage::Result<Verdict> {
        let keys = self.client_auth_keys(address, claimed);
        let in_memory: Option<Vec<Option<i64>>> = keys
            .iter()
            .map(|(limit, key)| match key {
                Some(key) => self.refusing.full_at(limit, key),
                None => Some(None),
            })
            .collect();
        let states = match in_memory {
            Some(states) => states,
            None => {
                let pairs: Vec<(&str, &str)> = keys
                    .iter()
                    .filter_map(|(limit, key)| key.map(|key| (limit.name, key)))
                    .collect();
                db.rate_limit_states(&pairs).await?
            }
        };
        for ((limit, _), state) in keys.iter().zip(states) {
            if let Verdict::Refused(wait) = limit.verdict(state, now_us) {
                limit.rejected.inc();
                return Ok(Verdict::Refused(wait));
            }
        }
        Ok(Verdict::Allowed)
    }

    /// Counts a failed client authentication against both limits (in the database, and in
    /// memory where they are kept). `true` if this failure used up either allowance.
    pub async fn client_auth_failed(
        &self,
        db: &Db,
        address: &str,
        claimed: Option<&str>,
        now_us: i64,
    ) -> storage::Result<bool> {
        let mut used_up = false;
        for (limit, key) in self.client_auth_keys(address, claimed) {
            let Some(key) = key else { continue };
            let (verdict, full_at_us, at_us) = limit.count(db, key, now_us).await?;
            self.refusing.note(limit, key, full_at_us, at_us);
            used_up |= verdict == Verdict::LastAllowed;
        }
        Ok(used_up)
    }

    /// On SQLite, reads the client-authentication keys being refused now, and from then on
    /// keeps them in memory (see [`Refusing`]); on PostgreSQL, does nothing.
    pub async fn load(&self, db: &Db, now_us: i64) -> storage::Result<()> {
        if db.engine() != Engine::Sqlite {
            return Ok(());
        }
        let limits = [&self.client_auth_per_address, &self.client_auth_per_client];
        // A key is refused once its time is more than the limit's slack away; the others are
        // allowed, as keys never seen are.
        let over = limits.map(|limit| (limit.name, now_us.saturating_add(limit.slack_us())));
        let refused = db.rate_limits_over(&over).await?;
        if refused.len() >= KEPT_KEYS_AT_MOST {
            too_many_refused();
            return Ok(());
        }
        let mut known = Known::new();
        for (name, key, full_at_us) in refused {
            if let Some(limit) = limits.into_iter().find(|limit| limit.name == name) {
                known.entry(limit.name).or_default().insert(key, full_at_us);
            }
        }
        *self
            .refusing
            .known
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(known);
        Ok(())
    }

    /// Forgets the keys kept in memory whose allowance is full again (as the database's
    /// [`Db::purge_rate_limits`] does).
    pub fn forget_expired(&self, now_us: i64) {
        let mut known = self
            .refusing
            .known
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for keys in known.iter_mut().flat_map(HashMap::values_mut) {
            keys.retain(|_, full_at| *full_at > now_us);
        }
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
        Throttle::new("test", rate.parse().unwrap(), &metrics())
    }

    fn metrics() -> Metrics {
        Metrics::new(Engine::Sqlite, crate::metrics::latency_histogram(), false)
    }

    const T0: i64 = 1_000_000;

    /// Two failed client authentications per client (from one address) a minute.
    fn client_auth_rates() -> Rates {
        Rates {
            login_failures_per_user: "5/300".parse().unwrap(),
            login_attempts_per_address: "30/60".parse().unwrap(),
            client_auth_failures_per_client: "2/60".parse().unwrap(),
            client_auth_failures_per_address: "30/60".parse().unwrap(),
        }
    }

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
    async fn events_reaching_the_database_out_of_clock_order_use_it_up_once() {
        let (db, _dir) = db().await;
        let throttle = throttle("5/300");
        // Five requests read the clock a few milliseconds apart and reach the database in
        // another order: the one that read it last is counted first.
        let verdicts = [T0 + 4_000, T0, T0 + 1_000, T0 + 2_000, T0 + 3_000].map(|at| {
            let (db, throttle) = (db.clone(), throttle.clone());
            async move { throttle.hit(&db, "user", at).await.unwrap() }
        });
        let mut seen = Vec::new();
        for verdict in verdicts {
            seen.push(verdict.await);
        }
        let last = seen.iter().filter(|v| **v == Verdict::LastAllowed).count();
        assert_eq!(last, 1, "{seen:?}");
        assert_eq!(seen[4], Verdict::LastAllowed, "{seen:?}");
        assert!(matches!(
            throttle.hit(&db, "user", T0).await.unwrap(),
            Verdict::Refused(_)
        ));
    }

    #[tokio::test]
    async fn the_client_auth_check_reads_both_limits_without_counting() {
        let (db, _dir) = db().await;
        let rates = client_auth_rates();
        let throttles = Throttles::new(&rates, &metrics());
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

    /// On SQLite the refused client keys are kept in memory once loaded: what this instance
    /// counts is refused without a database read, a restart finds what was counted before, and
    /// keys whose allowance is full again are forgotten.
    #[tokio::test]
    async fn on_sqlite_the_refused_client_keys_are_kept_in_memory() {
        let (db, _dir) = db().await;
        let rates = client_auth_rates();
        let (address, key) = ("192.0.2.7", Some("svc 192.0.2.7"));
        let check = async |throttles: &Throttles, now_us| {
            throttles
                .check_client_auth(&db, address, key, now_us)
                .await
                .unwrap()
        };
        let throttles = Throttles::new(&rates, &metrics());
        assert!(
            throttles
                .refusing
                .full_at(&throttles.client_auth_per_client, "k")
                .is_none()
        );
        throttles.load(&db, T0).await.unwrap();
        assert_eq!(
            throttles
                .refusing
                .full_at(&throttles.client_auth_per_client, "k"),
            Some(None),
            "loaded: answered from memory"
        );
        assert_eq!(check(&throttles, T0).await, Verdict::Allowed);
        assert!(
            !throttles
                .client_auth_failed(&db, address, key, T0)
                .await
                .unwrap()
        );
        assert!(
            throttles
                .client_auth_failed(&db, address, key, T0)
                .await
                .unwrap()
        );
        assert!(matches!(check(&throttles, T0).await, Verdict::Refused(_)));
        // The database agrees (it is what a PostgreSQL instance, or one not loaded, reads).
        let unloaded = Throttles::new(&rates, &metrics());
        assert!(matches!(check(&unloaded, T0).await, Verdict::Refused(_)));
        // A restart loads the refused keys, and only those.
        let restarted = Throttles::new(&rates, &metrics());
        restarted.load(&db, T0 + 1).await.unwrap();
        assert!(matches!(
            check(&restarted, T0 + 1).await,
            Verdict::Refused(_)
        ));
        let per_client = restarted.refusing.known.read().unwrap().clone().unwrap();
        assert_eq!(per_client.values().map(HashMap::len).sum::<usize>(), 1);
        // Once the allowance is full again the key is allowed, and then forgotten.
        let later = T0 + 61_000_000;
        assert_eq!(check(&throttles, later).await, Verdict::Allowed);
        throttles.forget_expired(later);
        let kept = throttles.refusing.known.read().unwrap().clone().unwrap();
        assert!(kept.values().all(HashMap::is_empty), "{kept:?}");
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
