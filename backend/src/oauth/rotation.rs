//! The signing-key life cycle: **next** (published in the JWKS, not signing) → **current**
//! (signing) → **retired** (published, not signing) → **removed** (deleted, private part
//! included).
//!
//! Why no request ever fails across a rotation (RFC 7517 §5 leaves caching to HTTP; RFC 8725
//! §3.2 asks verifiers to take keys only from the issuer's set):
//! - A key is published for at least the JWKS cache lifetime (`--jwks-max-age`, sent as
//!   `Cache-Control: max-age`) before it signs, so a resource server that caches the JWKS
//!   already has the key of any token it is shown.
//! - Every instance reloads the stored keys at least that often, so it verifies tokens that
//!   another instance signs with a freshly promoted key.
//! - A retired key stays published until every token it signed has expired: the longest
//!   access-token lifetime, plus the clock leeway, plus one reload interval (an instance may
//!   sign with it until it reloads).
//!
//! Rotation happens on a schedule (`--key-rotation-interval`) and by command
//! (`backend keys rotate`). Both are one transaction that checks the keys are still in the
//! states it saw, so instances sharing a database cannot rotate twice.

use std::time::Duration;

use super::keys::{KeyRing, generate};
use crate::config::Config;
use crate::events::{Event, EventKind};
use crate::storage::{Db, StoredKey};

/// Clock skew allowed on `exp` (the same as `access_token::LEEWAY_SECS`).
const LEEWAY_SECS: i64 = 30;
/// Instances reload the keys at least this often, and sooner when the JWKS lifetime is shorter.
const MAX_RELOAD_SECS: u64 = 60;

/// The timing rules, from the configuration and the longest token lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// A current key signs this long before it is replaced; `None`: only by command.
    pub rotation_interval: Option<i64>,
    /// How long a resource server may cache the JWKS; a next key waits this long.
    pub jwks_max_age: i64,
    /// How long a retired key stays published.
    pub retired_for: i64,
}

impl Policy {
    pub fn new(config: &Config, longest_access_token_ttl: u64) -> Self {
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        Self {
            rotation_interval: (config.key_rotation_interval > 0)
                .then(|| secs(config.key_rotation_interval)),
            jwks_max_age: secs(config.jwks_max_age),
            retired_for: secs(longest_access_token_ttl)
                .saturating_add(LEEWAY_SECS)
                .saturating_add(secs(reload_interval(config).as_secs())),
        }
    }
}

/// How often an instance reloads the stored keys (and rotates when a rotation is due).
pub fn reload_interval(config: &Config) -> Duration {
    Duration::from_secs(config.jwks_max_age.clamp(1, MAX_RELOAD_SECS))
}

/// One change to the stored keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    CreateNext,
    Rotate { current: String, next: String },
    Remove(String),
}

/// What the schedule asks for at `now`.
pub fn plan(keys: &[StoredKey], now: i64, policy: &Policy) -> Vec<Step> {
    let mut steps = Vec::new();
    let current = keys.iter().find(|k| k.state == "current");
    let next = keys.iter().find(|k| k.state == "next");
    match (current, next) {
        (_, None) => steps.push(Step::CreateNext),
        (Some(current), Some(next)) => {
            let due = policy.rotation_interval.is_some_and(|interval| {
                current.activated_at.unwrap_or(current.created_at) + interval <= now
            });
            if due && published_long_enough(next, now, policy) {
                steps.push(Step::Rotate {
                    current: current.kid.clone(),
                    next: next.kid.clone(),
                });
            }
        }
        (None, Some(_)) => {}
    }
    for key in keys.iter().filter(|k| k.state == "retired") {
        if key.retired_at.unwrap_or(key.created_at) + policy.retired_for <= now {
            steps.push(Step::Remove(key.kid.clone()));
        }
    }
    steps
}

fn published_long_enough(next: &StoredKey, now: i64, policy: &Policy) -> bool {
    next.created_at + policy.jwks_max_age <= now
}

/// Carries out `steps`; returns the events to log. A step that another instance has already
/// taken is skipped.
pub async fn apply(db: &Db, steps: &[Step], now: i64) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    for step in steps {
        match step {
            Step::CreateNext => {
                let key = generate("next", now)?;
                if db.insert_signing_key(&key).await? {
                    events.push(Event::new(EventKind::KeyCreated).detail(key.kid));
                }
            }
            Step::Rotate { current, next } => {
                let new_next = generate("next", now)?;
                if db
                    .rotate_signing_keys(current, next, &new_next, now)
                    .await?
                {
                    events.push(Event::new(EventKind::KeyRetired).detail(current.clone()));
                    events.push(Event::new(EventKind::KeyActivated).detail(next.clone()));
                    events.push(Event::new(EventKind::KeyCreated).detail(new_next.kid));
                }
            }
            Step::Remove(kid) => {
                if db.remove_retired_key(kid).await? {
                    events.push(Event::new(EventKind::KeyRemoved).detail(kid.clone()));
                }
            }
        }
    }
    Ok(events)
}

/// At start-up: a first `current` key if there is none (nothing can have cached a JWKS
/// without it, so it may sign at once), then whatever the schedule asks for.
pub async fn prepare(db: &Db, config: &Config, now: i64) -> anyhow::Result<(KeyRing, Vec<Event>)> {
    let mut events = Vec::new();
    if !db
        .signing_keys()
        .await?
        .iter()
        .any(|k| k.state == "current")
    {
        let key = generate("current", now)?;
        if db.insert_signing_key(&key).await? {
            events.push(Event::new(EventKind::KeyCreated).detail(key.kid.clone()));
            events.push(Event::new(EventKind::KeyActivated).detail(key.kid));
        }
    }
    let policy = Policy::new(
        config,
        db.longest_access_token_ttl(config.access_token_ttl).await?,
    );
    events.extend(apply(db, &plan(&db.signing_keys().await?, now, &policy), now).await?);
    let ring = KeyRing::new(super::keys::KeySet::from_stored(&db.signing_keys().await?)?);
    Ok((ring, events))
}

/// One round of the schedule, then a reload of the keys in use if the stored ones changed
/// (here or in another instance).
pub async fn maintain(
    db: &Db,
    config: &Config,
    ring: &KeyRing,
    now: i64,
) -> anyhow::Result<Vec<Event>> {
    let policy = Policy::new(
        config,
        db.longest_access_token_ttl(config.access_token_ttl).await?,
    );
    let events = apply(db, &plan(&db.signing_keys().await?, now, &policy), now).await?;
    if ring.refresh(&db.signing_keys().await?)? {
        tracing::info!(kid = %ring.get().signing().0, "signing keys reloaded");
    }
    Ok(events)
}

/// `backend keys rotate`: promotes the next key now. Refused while the next key is younger than
/// the JWKS cache lifetime (resource servers might not know it yet) unless `force`.
pub async fn rotate_now(
    db: &Db,
    config: &Config,
    force: bool,
    now: i64,
) -> anyhow::Result<Vec<Event>> {
    let keys = db.signing_keys().await?;
    let policy = Policy::new(
        config,
        db.longest_access_token_ttl(config.access_token_ttl).await?,
    );
    let current = keys.iter().find(|k| k.state == "current");
    let next = keys.iter().find(|k| k.state == "next");
    let (Some(current), Some(next)) = (current, next) else {
        apply(db, &[Step::CreateNext], now).await?;
        anyhow::bail!(
            "there was no next key to promote; one has been created and published. Run the \
             rotation again in {} s, once JWKS caches have picked it up",
            policy.jwks_max_age
        );
    };
    if !force && !published_long_enough(next, now, &policy) {
        let wait = next.created_at + policy.jwks_max_age - now;
        anyhow::bail!(
            "the next key {} has been published for {} s, and resource servers may cache the \
             JWKS for {} s: run the rotation again in {wait} s, or pass --force to rotate now \
             (a resource server with an older copy of the JWKS would then refuse new tokens \
             until it refetches it)",
            next.kid,
            now - next.created_at,
            policy.jwks_max_age
        );
    }
    apply(
        db,
        &[Step::Rotate {
            current: current.kid.clone(),
            next: next.kid.clone(),
        }],
        now,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        rotation_interval: Some(1000),
        jwks_max_age: 100,
        retired_for: 500,
    };

    fn key(
        kid: &str,
        state: &str,
        created: i64,
        activated: Option<i64>,
        retired: Option<i64>,
    ) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: "ES256".into(),
            private_der: Vec::new(),
            public_x: String::new(),
            public_y: String::new(),
            state: state.into(),
            created_at: created,
            activated_at: activated,
            retired_at: retired,
        }
    }

    #[test]
    fn creates_a_next_key_when_there_is_none() {
        let keys = [key("a", "current", 0, Some(0), None)];
        assert_eq!(plan(&keys, 10, &POLICY), [Step::CreateNext]);
    }

    #[test]
    fn rotates_when_due_and_the_next_key_is_known_to_caches() {
        let keys = [
            key("a", "current", 0, Some(0), None),
            key("b", "next", 950, None, None),
        ];
        assert_eq!(plan(&keys, 999, &POLICY), []);
        // Due, but "b" has been published for only 50 s of the 100 a cache may keep the JWKS.
        assert_eq!(plan(&keys, 1000, &POLICY), []);
        assert_eq!(
            plan(&keys, 1050, &POLICY),
            [Step::Rotate {
                current: "a".into(),
                next: "b".into()
            }]
        );
        let manual_only = Policy {
            rotation_interval: None,
            ..POLICY
        };
        assert_eq!(plan(&keys, 100_000, &manual_only), []);
    }

    #[test]
    fn removes_retired_keys_once_their_tokens_have_expired() {
        let keys = [
            key("a", "retired", 0, Some(0), Some(1000)),
            key("b", "current", 10, Some(1000), None),
            key("c", "next", 1000, None, None),
        ];
        assert_eq!(plan(&keys, 1499, &POLICY), []);
        assert_eq!(plan(&keys, 1500, &POLICY), [Step::Remove("a".into())]);
    }
}
