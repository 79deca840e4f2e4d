//! The signing-key life cycle: **next** (published in the JWKS, not signing) → **current**
//! (signing) → **retired** (published, not signing) → **removed** (deleted, private part
//! included).
//!
//! Why no request ever fails across a rotation (RFC 7517 §5 leaves caching to HTTP; RFC 8725
//! §3.2 asks verifiers to take keys only from the issuer's set):
//! - Every instance reloads the stored keys at least every `min(jwks_max_age, 60 s)`.
//! - A key is published for a JWKS cache lifetime (`--jwks-max-age`, sent as
//!   `Cache-Control: max-age`) plus one reload interval before it signs: by then every
//!   instance publishes it, and every copy of the JWKS that a resource server may still use
//!   was fetched after that, so it has the key of any token it is shown.
//! - A retired key stays published until every token it signed has expired: the longest
//!   access-token lifetime any client can be given (a day), plus the clock leeway, plus one
//!   reload interval (an instance may sign with it until it reloads). Using the ceiling rather
//!   than today's settings keeps this true when a client's lifetime is shortened later.
//!
//! Rotation happens on a schedule (`--key-rotation-interval`) and by command
//! (`backend keys rotate`). Both are one transaction that checks the keys are still in the
//! states it saw, so instances sharing a database cannot rotate twice.
//!
//! Each owner (the root issuer, each authorization server: [`Owner`]) has its own keys, and each
//! algorithm it signs with ([`Owner::algs`]) goes through the same life cycle on the same
//! schedule. The algorithms are fixed by the code and the server's stored definition, never by
//! a per-instance flag, so instances sharing a database always agree on them. The first key of
//! an algorithm signs at once (see [`prepare`]).

use std::time::Duration;

use shared::admin::{KeyState, SigningAlg};

use super::{KeyRing, KeySet, Owner, generate};
use crate::access_token::LEEWAY_SECS;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::events::{Event, EventKind};
use crate::storage::{self, Db, Rotation, StoredKey};

/// The longest access-token lifetime the configuration and the client table allow.
const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;
/// Instances reload the keys at least this often, and sooner when the JWKS lifetime is shorter.
const MAX_RELOAD_SECS: u64 = 60;

/// The timing rules, from the configuration and the longest token lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// A current key signs this long before it is replaced; `None`: only by command.
    pub rotation_interval: Option<i64>,
    /// How long a resource server may cache the JWKS.
    pub jwks_max_age: i64,
    /// How long a next key is published before it may sign.
    pub publish_for: i64,
    /// How long a retired key stays published.
    pub retired_for: i64,
}

impl Policy {
    pub fn new(config: &Config) -> Self {
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        let reload = secs(reload_interval(config).as_secs());
        Self {
            rotation_interval: (config.key_rotation_interval > 0)
                .then(|| secs(config.key_rotation_interval)),
            jwks_max_age: secs(config.jwks_max_age),
            publish_for: secs(config.jwks_max_age).saturating_add(reload),
            retired_for: MAX_ACCESS_TOKEN_TTL
                .max(secs(config.access_token_ttl))
                .saturating_add(LEEWAY_SECS)
                .saturating_add(reload),
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
    CreateNext(SigningAlg),
    /// Promotes the next key of an algorithm that has no current key (stored keys in a state
    /// this server does not create itself), once it has been published long enough.
    Activate(String),
    Rotate {
        alg: SigningAlg,
        current: String,
        next: String,
    },
    Remove(String),
    /// A next key of an algorithm the owner does not sign with (left by a round that raced the
    /// deletion of a server and the creation of another of the same id): it never signed
    /// anything, so it goes at once.
    Discard(String),
}

/// The current and next keys of `alg` among `keys`.
fn pair_of(keys: &[StoredKey], alg: SigningAlg) -> (Option<&StoredKey>, Option<&StoredKey>) {
    let find = |state| keys.iter().find(|k| k.alg == alg && k.state == state);
    (find(KeyState::Current), find(KeyState::Next))
}

/// What the schedule asks for at `now`, for an owner signing with `algs`. Keys of another
/// algorithm are left as they are, but retired ones are removed in time all the same.
pub fn plan(keys: &[StoredKey], algs: &[SigningAlg], now: Timestamp, policy: &Policy) -> Vec<Step> {
    let mut steps = Vec::new();
    for &alg in algs {
        plan_alg(keys, alg, now, policy, &mut steps);
    }
    for key in keys.iter().filter(|k| !algs.contains(&k.alg)) {
        if key.state == KeyState::Next {
            steps.push(Step::Discard(key.kid.clone()));
        }
    }
    for key in keys.iter().filter(|k| k.state == KeyState::Retired) {
        if key
            .retired_at
            .unwrap_or(key.created_at)
            .plus_secs(policy.retired_for)
            <= now
        {
            steps.push(Step::Remove(key.kid.clone()));
        }
    }
    steps
}

/// The schedule of one algorithm's current and next keys.
fn plan_alg(
    keys: &[StoredKey],
    alg: SigningAlg,
    now: Timestamp,
    policy: &Policy,
    steps: &mut Vec<Step>,
) {
    match pair_of(keys, alg) {
        (_, None) => steps.push(Step::CreateNext(alg)),
        (Some(current), Some(next)) => {
            let due = policy.rotation_interval.is_some_and(|interval| {
                current
                    .activated_at
                    .unwrap_or(current.created_at)
                    .plus_secs(interval)
                    <= now
            });
            if due && published_long_enough(next, now, policy) {
                steps.push(Step::Rotate {
                    alg,
                    current: current.kid.clone(),
                    next: next.kid.clone(),
                });
            }
        }
        (None, Some(next)) => {
            if published_long_enough(next, now, policy) {
                steps.push(Step::Activate(next.kid.clone()));
            }
        }
    }
}

fn published_long_enough(next: &StoredKey, now: Timestamp, policy: &Policy) -> bool {
    next.created_at.plus_secs(policy.publish_for) <= now
}

/// A fresh key of `owner`, generated off the async threads (an RSA key takes 50 to 100 ms).
async fn fresh(
    owner: &Owner,
    alg: SigningAlg,
    state: KeyState,
    now: Timestamp,
) -> anyhow::Result<StoredKey> {
    let server_id = owner.server_id.clone();
    tokio::task::spawn_blocking(move || generate(&server_id, alg, state, now)).await?
}

/// Carries out `steps` on `owner`'s keys; returns the events to log. The rotations happen
/// together, in one transaction, and only if every key is still in the state the plan saw;
/// any step another instance has already taken is skipped.
pub async fn apply(
    db: &Db,
    owner: &Owner,
    steps: &[Step],
    now: Timestamp,
) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    let mut rotations = Vec::new();
    for step in steps {
        if let Step::Rotate { alg, current, next } = step {
            rotations.push((
                current,
                next,
                fresh(owner, *alg, KeyState::Next, now).await?,
            ));
        }
    }
    if !rotations.is_empty() {
        let batch: Vec<_> = rotations
            .iter()
            .map(|(current, next, new_next)| Rotation {
                current,
                next,
                new_next,
            })
            .collect();
        if db.rotate_signing_keys(&batch, now).await? {
            for (current, next, new_next) in rotations {
                events.push(Event::new(EventKind::KeyRetired).detail(current.clone()));
                events.push(Event::new(EventKind::KeyActivated).detail(next.clone()));
                events.push(Event::new(EventKind::KeyCreated).detail(new_next.kid));
            }
        }
    }
    for step in steps {
        match step {
            Step::CreateNext(alg) => {
                let key = fresh(owner, *alg, KeyState::Next, now).await?;
                if db.insert_signing_key(&key).await? {
                    events.push(Event::new(EventKind::KeyCreated).detail(key.kid));
                }
            }
            Step::Activate(kid) => {
                if db.activate_signing_key(kid, now).await? {
                    events.push(Event::new(EventKind::KeyActivated).detail(kid.clone()));
                }
            }
            Step::Rotate { .. } => {}
            Step::Remove(kid) => {
                if db.remove_retired_key(kid).await? {
                    events.push(Event::new(EventKind::KeyRemoved).detail(kid.clone()));
                }
            }
            Step::Discard(kid) => {
                if db.discard_next_key(kid).await? {
                    events.push(Event::new(EventKind::KeyRemoved).detail(kid.clone()));
                }
            }
        }
    }
    Ok(events.into_iter().map(|e| owner.label(e)).collect())
}

/// At start-up (and when a server is created): a first `current` key of each algorithm that
/// has none, then whatever the schedule asks for. On a fresh database nothing can have cached a
/// JWKS, so the first keys may sign at once. On a database from before ID tokens were RS256,
/// the first RS256 key signs at once too: a relying party that meets its unknown `kid` fetches
/// the JWKS again (OpenID Connect Core §10.1.1), whereas an ID token in an algorithm it does not
/// expect (RS256 is what a client that registered none expects) cannot be fixed by refetching.
pub async fn prepare(
    db: &Db,
    config: &Config,
    owner: &Owner,
    now: Timestamp,
) -> anyhow::Result<(KeyRing, Vec<Event>)> {
    let mut events = Vec::new();
    let mut keys = db.signing_keys(&owner.server_id).await?;
    let mut created = false;
    for alg in owner.algs() {
        if pair_of(&keys, alg).0.is_none() {
            let key = fresh(owner, alg, KeyState::Current, now).await?;
            if db.insert_signing_key(&key).await? {
                events.push(owner.label(Event::new(EventKind::KeyCreated).detail(key.kid.clone())));
                events.push(owner.label(Event::new(EventKind::KeyActivated).detail(key.kid)));
            }
            created = true;
        }
    }
    if created {
        // Another instance may have stored its own first key instead.
        keys = db.signing_keys(&owner.server_id).await?;
    }
    let (round, keys) = scheduled_round(db, config, owner, keys, now).await;
    events.extend(round?);
    let ring = KeyRing::new(owner.clone(), KeySet::from_stored(&keys?, owner)?);
    Ok((ring, events))
}

/// Carries out what the schedule asks for on `keys` (as just read); returns the events and the
/// stored keys afterwards (read again only if something was attempted).
async fn scheduled_round(
    db: &Db,
    config: &Config,
    owner: &Owner,
    keys: Vec<StoredKey>,
    now: Timestamp,
) -> (anyhow::Result<Vec<Event>>, anyhow::Result<Vec<StoredKey>>) {
    let steps = plan(&keys, &owner.algs(), now, &Policy::new(config));
    if steps.is_empty() {
        return (Ok(Vec::new()), Ok(keys));
    }
    let round = apply(db, owner, &steps, now).await;
    let keys = db.signing_keys(&owner.server_id).await;
    (round, keys.map_err(Into::into))
}

/// One round of the schedule, then a reload of the keys in use if the stored ones changed
/// (here or in another instance). The reload happens even when the round failed: another
/// instance may have rotated, and this one must not keep signing with a retired key.
pub async fn maintain(
    db: &Db,
    config: &Config,
    owner: &Owner,
    ring: &KeyRing,
    now: Timestamp,
) -> anyhow::Result<Vec<Event>> {
    let stored = db.signing_keys(&owner.server_id).await?;
    let (round, keys) = scheduled_round(db, config, owner, stored, now).await;
    if ring.refresh(&keys?)? {
        tracing::info!(server = %owner.server_id, kid = %ring.get().signing_kid(), "signing keys reloaded");
    }
    round
}

/// `backend keys rotate`: promotes the next key of every algorithm `owner` signs with, all or
/// none. Refused while a next key has been published for less than the JWKS cache lifetime
/// plus one reload (resource servers might not know it yet) unless `force`. It reads the same
/// configuration as the server (flags, environment, `.env`), so run it with the server's
/// settings.
pub async fn rotate_now(
    db: &Db,
    config: &Config,
    owner: &Owner,
    force: bool,
    now: Timestamp,
) -> Result<Vec<Event>, RotateError> {
    let keys = db.signing_keys(&owner.server_id).await?;
    let policy = Policy::new(config);
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    let mut waiting = Vec::new();
    for alg in owner.algs() {
        match pair_of(&keys, alg) {
            (current, Some(next)) => {
                if !published_long_enough(next, now, &policy) {
                    waiting.push((alg, next));
                }
                steps.push(match current {
                    Some(current) => Step::Rotate {
                        alg,
                        current: current.kid.clone(),
                        next: next.kid.clone(),
                    },
                    None => Step::Activate(next.kid.clone()),
                });
            }
            (_, None) => missing.push(Step::CreateNext(alg)),
        }
    }
    if !missing.is_empty() {
        let created: Vec<_> = apply(db, owner, &missing, now)
            .await?
            .into_iter()
            .map(|event| event.into_row(now))
            .collect();
        db.insert_events(&created).await?;
        let algs: Vec<_> = missing
            .iter()
            .filter_map(|step| match step {
                Step::CreateNext(alg) => Some(alg.as_str()),
                _ => None,
            })
            .collect();
        return Err(RotateError::Refused(format!(
            "there was no next {} key to promote; one has been created and published. Run the \
             rotation again in {} s, once every JWKS cache has picked it up",
            algs.join(" or "),
            policy.publish_for
        )));
    }
    if !force && let Some((alg, next)) = waiting.first() {
        let wait = next
            .created_at
            .plus_secs(policy.publish_for)
            .secs_since(now);
        return Err(RotateError::Refused(format!(
            "the next {} key {} has been published for {} s; resource servers may cache the \
             JWKS for {} s, and servers reload keys within {} s: run the rotation again in \
             {wait} s, or force it to rotate now (a resource server with an older copy of the \
             JWKS would then refuse new tokens until it refetches it)",
            alg.as_str(),
            next.kid,
            now.secs_since(next.created_at),
            policy.jwks_max_age,
            policy.publish_for - policy.jwks_max_age
        )));
    }
    apply(db, owner, &steps, now)
        .await
        .map_err(RotateError::Failed)
}

/// Why [`rotate_now`] did not rotate.
#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    /// Rotating now would be unsafe, or there was nothing to promote; the text says what to do.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<storage::Error> for RotateError {
    fn from(e: storage::Error) -> Self {
        Self::Failed(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        rotation_interval: Some(1000),
        jwks_max_age: 100,
        publish_for: 110,
        retired_for: 500,
    };

    const ES: &[SigningAlg] = &[SigningAlg::Es256];

    fn key(
        kid: &str,
        state: KeyState,
        created: i64,
        activated: Option<i64>,
        retired: Option<i64>,
    ) -> StoredKey {
        alg_key(SigningAlg::Es256, kid, state, created, activated, retired)
    }

    fn alg_key(
        alg: SigningAlg,
        kid: &str,
        state: KeyState,
        created: i64,
        activated: Option<i64>,
        retired: Option<i64>,
    ) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            server_id: String::new(),
            alg,
            private_der: Vec::new(),
            state,
            created_at: Timestamp::from_unix(created),
            activated_at: activated.map(Timestamp::from_unix),
            retired_at: retired.map(Timestamp::from_unix),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_unix(seconds)
    }

    #[test]
    fn creates_a_next_key_when_there_is_none() {
        let keys = [key("a", KeyState::Current, 0, Some(0), None)];
        assert_eq!(
            plan(&keys, ES, at(10), &POLICY),
            [Step::CreateNext(SigningAlg::Es256)]
        );
    }

    #[test]
    fn rotates_when_due_and_the_next_key_is_known_to_caches() {
        let keys = [
            key("a", KeyState::Current, 0, Some(0), None),
            key("b", KeyState::Next, 950, None, None),
        ];
        assert_eq!(plan(&keys, ES, at(999), &POLICY), []);
        // Due, but "b" has been published for only 50 s of the 110 it needs (a JWKS lifetime
        // of 100 s plus a reload interval).
        assert_eq!(plan(&keys, ES, at(1000), &POLICY), []);
        assert_eq!(plan(&keys, ES, at(1059), &POLICY), []);
        assert_eq!(
            plan(&keys, ES, at(1060), &POLICY),
            [Step::Rotate {
                alg: SigningAlg::Es256,
                current: "a".into(),
                next: "b".into()
            }]
        );
        let manual_only = Policy {
            rotation_interval: None,
            ..POLICY
        };
        assert_eq!(plan(&keys, ES, at(100_000), &manual_only), []);
    }

    #[test]
    fn keys_wait_for_caches_and_reloads_and_outlive_the_longest_token() {
        let config =
            <Config as clap::Parser>::try_parse_from(["backend", "--jwks-max-age", "600"]).unwrap();
        let policy = Policy::new(&config);
        assert_eq!(policy.publish_for, 660);
        assert_eq!(policy.retired_for, 86_400 + 30 + 60);
        let config =
            <Config as clap::Parser>::try_parse_from(["backend", "--jwks-max-age", "5"]).unwrap();
        assert_eq!(Policy::new(&config).publish_for, 10);
    }

    #[test]
    fn removes_retired_keys_once_their_tokens_have_expired() {
        let keys = [
            key("a", KeyState::Retired, 0, Some(0), Some(1000)),
            key("b", KeyState::Current, 10, Some(1000), None),
            key("c", KeyState::Next, 1000, None, None),
        ];
        assert_eq!(plan(&keys, ES, at(1499), &POLICY), []);
        assert_eq!(
            plan(&keys, ES, at(1500), &POLICY),
            [Step::Remove("a".into())]
        );
    }

    #[test]
    fn each_algorithm_has_its_own_life_cycle() {
        let both = &[SigningAlg::EdDsa, SigningAlg::Rs256];
        let keys = [
            alg_key(SigningAlg::EdDsa, "e1", KeyState::Current, 0, Some(0), None),
            alg_key(SigningAlg::EdDsa, "e2", KeyState::Next, 0, None, None),
            alg_key(
                SigningAlg::Rs256,
                "r1",
                KeyState::Current,
                500,
                Some(500),
                None,
            ),
        ];
        // EdDSA is due; RS256 has no next key yet.
        assert_eq!(
            plan(&keys, both, at(1000), &POLICY),
            [
                Step::Rotate {
                    alg: SigningAlg::EdDsa,
                    current: "e1".into(),
                    next: "e2".into()
                },
                Step::CreateNext(SigningAlg::Rs256)
            ]
        );
    }

    #[test]
    fn an_algorithm_added_later_signs_once_its_key_is_known_to_caches() {
        let keys = [
            alg_key(
                SigningAlg::Es256,
                "a",
                KeyState::Current,
                900,
                Some(900),
                None,
            ),
            alg_key(SigningAlg::Es256, "b", KeyState::Next, 900, None, None),
            alg_key(SigningAlg::Rs256, "r", KeyState::Next, 1000, None, None),
        ];
        let both = &[SigningAlg::Es256, SigningAlg::Rs256];
        assert_eq!(plan(&keys, both, at(1109), &POLICY), []);
        assert_eq!(
            plan(&keys, both, at(1110), &POLICY),
            [Step::Activate("r".into())]
        );
        // Another algorithm's keys are left alone, its retired ones removed in time.
        let other = [
            alg_key(SigningAlg::EdDsa, "e", KeyState::Current, 0, Some(0), None),
            alg_key(
                SigningAlg::EdDsa,
                "old",
                KeyState::Retired,
                0,
                Some(0),
                Some(10),
            ),
        ];
        assert_eq!(
            plan(&other, &[], at(510), &POLICY),
            [Step::Remove("old".into())]
        );
    }
}
