//! Trusted external issuers: OpenID providers the API accepts access tokens from, beside this
//! server's root issuer and its authorization servers (document 001's "JWTs from an OpenID
//! provider configured in the admin interface"; Okta, Keycloak, Entra ID, Auth0, node-oidc-provider
//! or another deployment of this server).
//!
//! An administrator stores each one (issuer URL, the audience this API requires of it, the
//! algorithms it may sign with, where its scopes are, claims it must carry). A token is matched
//! to one by its `iss`, exactly, and only that issuer's keys are tried. Its keys come from the
//! `jwks_uri` of its own metadata, which must name the same issuer ([`fetch`]); each instance
//! keeps them as long as the key set's `Cache-Control` allows (within bounds), reads them again
//! at most once per [`REFETCH_GAP_SECS`] when a token names a `kid` it does not hold (a
//! rotation), and keeps using the keys it has when the issuer cannot be reached. The stored
//! definition is read per token, so a change made at one instance (an issuer removed, an
//! audience changed) applies at every instance from the next request.

pub mod fetch;
pub mod verify;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use shared::admin::IssuerStatus;
use shared::oauth::AccessTokenClaims;

use self::fetch::Fetched;
use crate::clock::Timestamp;
use crate::storage::StoredIssuer;

/// A token naming a `kid` the held keys lack makes an instance read the issuer's keys again,
/// but not sooner than this after the last reading (or attempt): tokens with made-up `kid`s
/// cannot make it hammer the issuer.
pub const REFETCH_GAP_SECS: i64 = 5;

/// At most one `external_token_refused` event per issuer per this many seconds per instance
/// (a flood of bad tokens is counted, not written row by row).
const EVENT_GAP_SECS: i64 = 60;

/// What this instance holds of each trusted issuer, by id.
pub struct TrustedIssuers {
    http: reqwest::Client,
    providers: RwLock<HashMap<String, Arc<Provider>>>,
}

impl TrustedIssuers {
    /// Fails only if no HTTPS client can be built here (no usable CA certificates, say).
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            http: fetch::client()?,
            providers: RwLock::default(),
        })
    }
}

/// One issuer's keys and what happened to its tokens here.
struct Provider {
    /// The definition these keys were read for: a changed issuer URL starts afresh.
    issuer: String,
    keys: RwLock<Option<Arc<Held>>>,
    /// One reading at a time; the others wait for it and use what it read.
    fetching: tokio::sync::Mutex<()>,
    last_attempt: Mutex<Option<Timestamp>>,
    last_error: Mutex<Option<String>>,
    refusals: AtomicU64,
    last_refusal: Mutex<Option<(Timestamp, String)>>,
    /// When the last refusal event was written, and how many refusals were not written since.
    last_event: Mutex<(Option<Timestamp>, u64)>,
}

struct Held {
    fetched: Fetched,
    at: Timestamp,
}

impl Held {
    fn fresh(&self, now: Timestamp) -> bool {
        now < self.at.plus_secs(self.fetched.fresh_secs as i64)
    }
}

/// A refusal to log as an `external_token_refused` event.
pub struct Report {
    pub detail: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TrustedIssuers {
    fn provider(&self, stored: &StoredIssuer) -> Arc<Provider> {
        if let Some(p) = self
            .providers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&stored.id)
            .filter(|p| p.issuer == stored.issuer)
        {
            return p.clone();
        }
        let mut providers = self
            .providers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = providers
            .entry(stored.id.clone())
            .or_insert_with(|| Arc::new(Provider::new(&stored.issuer)));
        if entry.issuer != stored.issuer {
            *entry = Arc::new(Provider::new(&stored.issuer));
        }
        entry.clone()
    }

    /// Forgets what is held of issuer `id` (removed, or changed).
    pub fn forget(&self, id: &str) {
        self.providers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// Reads `stored`'s metadata and keys now, whatever is held: for an administrator who has
    /// just added or changed it (and wants to know at once whether it can be reached).
    pub async fn refresh(&self, stored: &StoredIssuer, now: Timestamp) -> Result<(), String> {
        let provider = self.provider(stored);
        let _one = provider.fetching.lock().await;
        provider.fetch(&self.http, now).await.map(drop)
    }

    /// Reads `issuer`'s metadata and keys without keeping them: whether it can be trusted at
    /// all, before it is stored.
    pub async fn probe(&self, issuer: &str) -> Result<Fetched, String> {
        fetch::keys_of(&self.http, issuer).await
    }

    /// Holds `fetched` (a [`TrustedIssuers::probe`] of `stored.issuer`) as `stored`'s keys,
    /// in place of anything held for its id.
    pub fn install(&self, stored: &StoredIssuer, fetched: Fetched, now: Timestamp) {
        // The same issuer keeps its record of refusals; another one starts afresh.
        let provider = self.provider(stored);
        *lock(&provider.last_attempt) = Some(now);
        *provider
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(Held { fetched, at: now }));
        *lock(&provider.last_error) = None;
    }

    /// What this instance knows of `stored`.
    pub fn status(&self, stored: &StoredIssuer) -> IssuerStatus {
        let provider = self.provider(stored);
        let held = provider.held();
        let last_refusal = lock(&provider.last_refusal).clone();
        IssuerStatus {
            jwks_uri: held.as_ref().map(|h| h.fetched.jwks_uri.clone()),
            keys_fetched_at: held.as_ref().map(|h| h.at.unix()),
            kids: held
                .as_ref()
                .map(|h| {
                    h.fetched
                        .keys
                        .iter()
                        .map(|k| k.kid.clone().unwrap_or_else(|| "(no kid)".into()))
                        .collect()
                })
                .unwrap_or_default(),
            last_error: lock(&provider.last_error).clone(),
            refusals: provider.refusals.load(Ordering::Relaxed),
            last_refusal_at: last_refusal.as_ref().map(|(at, _)| at.unix()),
            last_refusal: last_refusal.map(|(_, why)| why),
        }
    }

    /// Verifies `token`, whose `iss` is `stored.issuer`, as `stored` says. A refusal is counted
    /// for the console, and comes with a [`Report`] to log when one is due.
    pub async fn verify(
        &self,
        stored: &StoredIssuer,
        token: &str,
        now: Timestamp,
    ) -> Result<AccessTokenClaims, (String, Option<Report>)> {
        let provider = self.provider(stored);
        match self.check(&provider, stored, token, now).await {
            Ok(claims) => Ok(claims),
            Err(why) => {
                let report = provider.refused(stored, &why, now);
                Err((why, report))
            }
        }
    }

    async fn check(
        &self,
        provider: &Provider,
        stored: &StoredIssuer,
        token: &str,
        now: Timestamp,
    ) -> Result<AccessTokenClaims, String> {
        let header = verify::header(token, stored)?;
        let held = provider.keys(&self.http, stored, now, None).await?;
        let held = match verify::key_for(&held.fetched.keys, &header) {
            Some(_) => held,
            // A kid not held: read the keys again (a rotation), unless that was just done.
            None => provider.keys(&self.http, stored, now, Some(&held)).await?,
        };
        let Some(key) = verify::key_for(&held.fetched.keys, &header) else {
            return Err(match header.kid.as_deref() {
                Some(kid) => format!(
                    "the access token was signed by a key (kid {:?}) that issuer {} does not \
                     publish at {} for {:?}",
                    verify::clip(kid),
                    stored.name,
                    held.fetched.jwks_uri,
                    header.alg
                ),
                None => format!(
                    "the access token has no kid, and issuer {} publishes no single key for {:?} \
                     at {}",
                    stored.name, header.alg, held.fetched.jwks_uri
                ),
            });
        };
        verify::claims(token, header.alg, key, stored, now)
    }
}

impl Provider {
    fn new(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            keys: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
            last_attempt: Mutex::new(None),
            last_error: Mutex::new(None),
            refusals: AtomicU64::new(0),
            last_refusal: Mutex::new(None),
            last_event: Mutex::new((None, 0)),
        }
    }

    fn held(&self) -> Option<Arc<Held>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The keys to verify with: those held while fresh, else read again. `stale` is a set that
    /// lacked the token's key: it is read again unless it was read (or tried) less than
    /// [`REFETCH_GAP_SECS`] ago. When reading fails, the keys held go on being used.
    async fn keys(
        &self,
        http: &reqwest::Client,
        stored: &StoredIssuer,
        now: Timestamp,
        stale: Option<&Arc<Held>>,
    ) -> Result<Arc<Held>, String> {
        let recently = |at: Option<Timestamp>| {
            at.is_some_and(|at| now.unix() < at.unix().saturating_add(REFETCH_GAP_SECS))
        };
        let held = self.held();
        if held.is_none()
            && recently(*lock(&self.last_attempt))
            && let Some(why) = lock(&self.last_error).clone()
        {
            return Err(format!(
                "the keys of issuer {} could not be read: {why}",
                stored.name
            ));
        }
        if let Some(held) = &held {
            let wanted = match stale {
                None => !held.fresh(now),
                Some(stale) => Arc::ptr_eq(held, stale),
            };
            if !wanted || recently(*lock(&self.last_attempt)) {
                return Ok(held.clone());
            }
        }
        let _one = self.fetching.lock().await;
        // Another request may have read them while this one waited.
        let current = self.held();
        let changed = match (&held, &current) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, Some(_)) => true,
            _ => false,
        };
        if let Some(current) = current.as_ref().filter(|_| changed) {
            return Ok(current.clone());
        }
        if let Some(current) = &current
            && recently(*lock(&self.last_attempt))
        {
            return Ok(current.clone());
        }
        match self.fetch(http, now).await {
            Ok(fresh) => Ok(fresh),
            Err(why) => match current {
                Some(current) => {
                    tracing::warn!(issuer = %stored.issuer, error = %why, "reading a trusted issuer's keys failed; the keys held stay in use");
                    Ok(current)
                }
                None => Err(format!(
                    "the keys of issuer {} could not be read: {why}",
                    stored.name
                )),
            },
        }
    }

    /// Reads the keys (the caller holds `fetching`).
    async fn fetch(&self, http: &reqwest::Client, now: Timestamp) -> Result<Arc<Held>, String> {
        *lock(&self.last_attempt) = Some(now);
        match fetch::keys_of(http, &self.issuer).await {
            Ok(fetched) => {
                if !fetched.skipped.is_empty() {
                    tracing::info!(issuer = %self.issuer, skipped = ?fetched.skipped, "keys of a trusted issuer left out");
                }
                let held = Arc::new(Held { fetched, at: now });
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(held.clone());
                *lock(&self.last_error) = None;
                Ok(held)
            }
            Err(why) => {
                *lock(&self.last_error) = Some(why.clone());
                Err(why)
            }
        }
    }

    /// Counts a refusal; a [`Report`] when an event is due.
    fn refused(&self, stored: &StoredIssuer, why: &str, now: Timestamp) -> Option<Report> {
        self.refusals.fetch_add(1, Ordering::Relaxed);
        *lock(&self.last_refusal) = Some((now, why.to_owned()));
        let mut last_event = lock(&self.last_event);
        let (at, unreported) = *last_event;
        if at.is_some_and(|at| now.unix() < at.unix().saturating_add(EVENT_GAP_SECS)) {
            last_event.1 = unreported + 1;
            return None;
        }
        *last_event = (Some(now), 0);
        let more = if unreported > 0 {
            format!(" ({unreported} more refused since the last report)")
        } else {
            String::new()
        };
        Some(Report {
            detail: format!(
                "trusted issuer {} ({}): {why}{more}",
                stored.id, stored.issuer
            ),
        })
    }
}
