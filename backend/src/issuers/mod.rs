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
    fetching: Arc<tokio::sync::Mutex<()>>,
    /// How many readings have finished, read or failed.
    attempts: AtomicU64,
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

/// Counts a reading when dropped: after its outcome is stored, on every path.
struct Counted<'a>(&'a AtomicU64);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
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
        provider: &Arc<Provider>,
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
            fetching: Arc::new(tokio::sync::Mutex::new(())),
            attempts: AtomicU64::new(0),
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
    ///
    /// One reading at a time, and never more than one per gap, whatever the requests: a set that
    /// is only past its freshness is read again in the background while the requests go on
    /// with it (stale while revalidating), so a slow or silent provider delays no request that
    /// holds a known key; only a request whose key is not held waits for the reading in flight.
    async fn keys(
        self: &Arc<Self>,
        http: &reqwest::Client,
        stored: &StoredIssuer,
        now: Timestamp,
        stale: Option<&Arc<Held>>,
    ) -> Result<Arc<Held>, String> {
        let recently = |at: Option<Timestamp>| {
            at.is_some_and(|at| now.unix() < at.unix().saturating_add(REFETCH_GAP_SECS))
        };
        // The caller learns that reading failed, not why: the reason (an address, a TLS or DNS
        // error) is for the administrator, in the console and the logs.
        let unreadable = || {
            format!(
                "the keys of issuer {} could not be read; an administrator sees why on the \
                 console's Trusted issuers page",
                stored.name
            )
        };
        // A reading under way (a request's, or one behind the requests): waited for by a
        // request it may help, rather than answered with the keys it is about to replace.
        let in_flight = || self.fetching.try_lock().is_err();
        let held = self.held();
        if held.is_none()
            && recently(*lock(&self.last_attempt))
            && lock(&self.last_error).is_some()
            && !in_flight()
        {
            return Err(unreadable());
        }
        if let Some(held) = &held {
            match stale {
                None => {
                    if held.fresh(now) || recently(*lock(&self.last_attempt)) {
                        return Ok(held.clone());
                    }
                    // Past its freshness: read again behind the requests, which go on with it.
                    if let Ok(one) = self.fetching.clone().try_lock_owned()
                        && !recently(*lock(&self.last_attempt))
                    {
                        *lock(&self.last_attempt) = Some(now);
                        let (provider, http, issuer) =
                            (self.clone(), http.clone(), stored.issuer.clone());
                        tokio::spawn(async move {
                            let _one = one;
                            if let Err(why) = provider.fetch(&http, now).await {
                                tracing::warn!(issuer = %issuer, error = %why, "reading a trusted issuer's keys failed; the keys held stay in use");
                            }
                        });
                    }
                    return Ok(held.clone());
                }
                Some(stale) => {
                    if !Arc::ptr_eq(held, stale)
                        || (recently(*lock(&self.last_attempt)) && !in_flight())
                    {
                        return Ok(held.clone());
                    }
                }
            }
        }
        // The readings finished so far: one that finishes while this request waits for the
        // lock answers it too, however long it took (the gap is not measured from a time taken
        // before the wait).
        let seen = self.attempts.load(Ordering::SeqCst);
        let one = self.fetching.clone().lock_owned().await;
        let current = self.held();
        if self.attempts.load(Ordering::SeqCst) != seen {
            return current.ok_or_else(unreadable);
        }
        let changed = match (&held, &current) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, Some(_)) => true,
            _ => false,
        };
        if let Some(current) = current.as_ref().filter(|_| changed) {
            return Ok(current.clone());
        }
        if recently(*lock(&self.last_attempt)) {
            return current.ok_or_else(unreadable);
        }
        // The reading runs as a task of its own, holding the lock: a request that goes away
        // (its client disconnected) does not cancel it halfway, which would leave an attempt
        // with no outcome, and every request for the gap without a reading.
        let (provider, http) = (self.clone(), http.clone());
        let reading = tokio::spawn(async move {
            let _one = one;
            provider.fetch(&http, now).await
        });
        let read = reading
            .await
            .unwrap_or_else(|e| Err(format!("the reading stopped: {e}")));
        match read {
            Ok(fresh) => Ok(fresh),
            Err(why) => match current {
                Some(current) => {
                    tracing::warn!(issuer = %stored.issuer, error = %why, "reading a trusted issuer's keys failed; the keys held stay in use");
                    Ok(current)
                }
                None => Err(unreadable()),
            },
        }
    }

    /// Reads the keys (the caller holds `fetching`).
    async fn fetch(&self, http: &reqwest::Client, now: Timestamp) -> Result<Arc<Held>, String> {
        *lock(&self.last_attempt) = Some(now);
        let read = fetch::keys_of(http, &self.issuer).await;
        // Counted once its outcome is in place, for the requests that waited for it (a reading
        // always runs to its end: it is a task of its own, see `keys`).
        let _counted = Counted(&self.attempts);
        match read {
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

#[cfg(test)]
mod tests {
    //! The cache against a provider that counts what it is asked, and can be made slow or be
    //! down: one reading at a time, at most one per gap, and a slow provider delays no request
    //! that holds a known key.

    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use serde_json::{Value, json};
    use shared::admin::{KeyState, ScopeClaim, SigningAlg};

    use super::*;
    use crate::keys::{self, KeySet, Owner};
    use crate::storage::StoredServer;

    const AUD: &str = "api://shop";

    #[derive(Default)]
    struct Counted {
        base: Mutex<String>,
        jwks: Mutex<Vec<u8>>,
        discoveries: AtomicU64,
        readings: AtomicU64,
        delay_ms: AtomicU64,
        down: AtomicBool,
    }

    async fn answer(counted: &Counted, body: Vec<u8>) -> Response {
        tokio::time::sleep(Duration::from_millis(
            counted.delay_ms.load(Ordering::SeqCst),
        ))
        .await;
        if counted.down.load(Ordering::SeqCst) {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        ([("content-type", "application/json")], body).into_response()
    }

    /// A provider on a free port: its issuer URL and what it counts.
    async fn provider(set: &KeySet) -> (String, Arc<Counted>) {
        let counted = Arc::new(Counted::default());
        *lock(&counted.jwks) = serde_json::to_vec(set.jwks()).unwrap();
        let router = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(|State(c): State<Arc<Counted>>| async move {
                    c.discoveries.fetch_add(1, Ordering::SeqCst);
                    let base = lock(&c.base).clone();
                    let body = json!({"issuer": base, "jwks_uri": format!("{base}/jwks")});
                    answer(&c, serde_json::to_vec(&body).unwrap()).await
                }),
            )
            .route(
                "/jwks",
                get(|State(c): State<Arc<Counted>>| async move {
                    c.readings.fetch_add(1, Ordering::SeqCst);
                    let body = lock(&c.jwks).clone();
                    answer(&c, body).await
                }),
            )
            .with_state(counted.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        *lock(&counted.base) = base.clone();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        (base, counted)
    }

    fn key_set(kid_owner: &str) -> KeySet {
        let now = Timestamp::from_unix(1_700_000_000);
        let stored = keys::generate(kid_owner, SigningAlg::Es256, KeyState::Current, now).unwrap();
        let owner = Owner::of(&StoredServer {
            id: kid_owner.into(),
            name: kid_owner.into(),
            description: String::new(),
            audience: AUD.into(),
            extra_audiences: Default::default(),
            signing_alg: SigningAlg::Es256,
            created_at: now,
            generation: String::new(),
            require_pushed_requests: false,
        });
        KeySet::access_only(&[stored], &owner).unwrap()
    }

    fn trusted(issuer: &str) -> StoredIssuer {
        StoredIssuer {
            id: "idp".into(),
            name: "IdP".into(),
            issuer: issuer.into(),
            audience: AUD.into(),
            algorithms: vec!["ES256".into()],
            scope_claim: ScopeClaim::Scope,
            required_claims: BTreeMap::new(),
            created_at: Timestamp::from_unix(0),
        }
    }

    fn token(set: &KeySet, issuer: &str) -> String {
        let claims = json!({"iss": issuer, "sub": "svc", "aud": AUD, "iat": 1_700_000_000,
            "exp": 1_800_000_000, "client_id": "svc", "jti": "j", "scope": "products:read"});
        set.sign(&claims, Some("at+jwt")).unwrap()
    }

    /// `n` verifications of `token` at once, at `now`.
    async fn at_once(
        issuers: &Arc<TrustedIssuers>,
        stored: &StoredIssuer,
        token: &str,
        now: Timestamp,
        n: usize,
    ) -> Vec<Result<AccessTokenClaims, String>> {
        let calls = (0..n).map(|_| {
            let (issuers, stored, token) = (issuers.clone(), stored.clone(), token.to_owned());
            tokio::spawn(async move {
                issuers
                    .verify(&stored, &token, now)
                    .await
                    .map_err(|(why, _)| why)
            })
        });
        let mut results = Vec::new();
        for call in calls.collect::<Vec<_>>() {
            results.push(call.await.unwrap());
        }
        results
    }

    #[tokio::test]
    async fn one_reading_at_a_time_and_at_most_one_per_gap() {
        crate::crypto::install_tls_provider();
        let set = key_set("idp");
        let (base, counted) = provider(&set).await;
        let stored = trusted(&base);
        let issuers = Arc::new(TrustedIssuers::new().unwrap());
        let t0 = Timestamp::from_unix(1_700_000_100);

        // Twenty requests with no keys held: one reading.
        let good = token(&set, &base);
        assert!(
            at_once(&issuers, &stored, &good, t0, 20)
                .await
                .iter()
                .all(Result::is_ok)
        );
        assert_eq!(counted.readings.load(Ordering::SeqCst), 1);

        // Unknown kids within the gap: no reading; after it, twenty at once make one.
        let forged = token(&key_set("other"), &base);
        let refused = at_once(&issuers, &stored, &forged, t0.plus_secs(1), 20).await;
        assert!(refused.iter().all(Result::is_err));
        assert_eq!(counted.readings.load(Ordering::SeqCst), 1);
        let later = t0.plus_secs(REFETCH_GAP_SECS + 1);
        at_once(&issuers, &stored, &forged, later, 20).await;
        assert_eq!(counted.readings.load(Ordering::SeqCst), 2);
        // The known key still verifies, with no reading.
        assert!(
            at_once(&issuers, &stored, &good, later, 5)
                .await
                .iter()
                .all(Result::is_ok)
        );
        assert_eq!(counted.readings.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_slow_provider_delays_no_request_whose_key_is_held() {
        crate::crypto::install_tls_provider();
        let set = key_set("idp");
        let (base, counted) = provider(&set).await;
        let stored = trusted(&base);
        let issuers = Arc::new(TrustedIssuers::new().unwrap());
        let t0 = Timestamp::from_unix(1_700_000_100);
        let good = token(&set, &base);
        assert!(issuers.verify(&stored, &good, t0).await.is_ok());

        // The provider has rotated in a second key meanwhile.
        let next = key_set("idp-next");
        let mut jwks: Value = serde_json::to_value(set.jwks()).unwrap();
        let more = serde_json::to_value(next.jwks()).unwrap();
        jwks["keys"]
            .as_array_mut()
            .unwrap()
            .extend(more["keys"].as_array().unwrap().iter().cloned());
        *lock(&counted.jwks) = serde_json::to_vec(&jwks).unwrap();

        // Past the keys' freshness (an hour by default), with a provider that takes 1.5 s per
        // answer (3 s for its metadata and keys): the held keys answer at once, and one reading
        // runs behind them.
        counted.delay_ms.store(1500, Ordering::SeqCst);
        let stale = t0.plus_secs(3600 + 10);
        let started = std::time::Instant::now();
        let results = at_once(&issuers, &stored, &good, stale, 20).await;
        assert!(results.iter().all(Result::is_ok));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        // A token of the new key meanwhile waits for that reading, and passes.
        let rotated = token(&next, &base);
        assert!(issuers.verify(&stored, &rotated, stale).await.is_ok());
        assert_eq!(counted.readings.load(Ordering::SeqCst), 2);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while issuers.status(&stored).keys_fetched_at != Some(stale.unix()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the reading never finished"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_provider_that_is_down_is_asked_once_per_gap_and_its_errors_stay_inside() {
        crate::crypto::install_tls_provider();
        let set = key_set("idp");
        let (base, counted) = provider(&set).await;
        counted.down.store(true, Ordering::SeqCst);
        let stored = trusted(&base);
        let issuers = Arc::new(TrustedIssuers::new().unwrap());
        let t0 = Timestamp::from_unix(1_700_000_100);
        let good = token(&set, &base);
        let results = at_once(&issuers, &stored, &good, t0, 10).await;
        let port = base.rsplit(':').next().unwrap();
        for result in &results {
            let why = result.as_ref().unwrap_err();
            assert!(why.contains("could not be read"), "{why}");
            // The caller is not told where the server looked, nor what went wrong there.
            assert!(!why.contains(port) && !why.contains("503"), "{why}");
        }
        assert_eq!(counted.discoveries.load(Ordering::SeqCst), 1);
        assert!(issuers.status(&stored).last_error.unwrap().contains("503"));
        // Up again: read at the next request after the gap, not before.
        counted.down.store(false, Ordering::SeqCst);
        assert!(
            issuers
                .verify(&stored, &good, t0.plus_secs(1))
                .await
                .is_err()
        );
        let later = t0.plus_secs(REFETCH_GAP_SECS + 1);
        assert!(issuers.verify(&stored, &good, later).await.is_ok());
        assert_eq!(counted.discoveries.load(Ordering::SeqCst), 2);
    }
}
