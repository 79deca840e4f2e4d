//! The public keys of `private_key_jwt` clients (RFC 7523 §2.2): a JWK Set registered with the
//! client, or the one published at its `jwks_uri`, read with the limits an issuer's keys are
//! read with (`issuers::fetch`) and kept per instance as long as its `Cache-Control` allows
//! (between one minute and a day). An assertion naming a key the kept set lacks makes the set
//! be read again, at most once a minute per URL: a client that rotates its keys is followed
//! without letting a stream of made-up `kid`s turn this server into a fetcher. A reading that
//! fails is remembered for a minute too (the keys read before, if any, still serve), so a
//! client whose key server is down does not make every assertion naming it wait for a fetch.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::Timestamp;
use crate::issuers::fetch::{self, ExternalKey, MIN_FRESH_SECS};
use crate::storage::ClientKeys;

/// URLs kept at once; past this, the stalest is dropped (each is one client's key set).
const MAX_KEPT: usize = 1024;
/// A client's keys are kept at most this long, whatever `Cache-Control` says, and served past
/// a failed reading only this long after they were read: a key the client withdraws stops
/// verifying within 15 minutes at every instance.
const MAX_FRESH_SECS: u64 = 900;

pub struct ClientKeyCache {
    http: reqwest::Client,
    kept: RwLock<HashMap<String, Kept>>,
}

struct Kept {
    keys: Arc<[ExternalKey]>,
    read_at: Timestamp,
    fresh_secs: u64,
    /// When `keys` were read (earlier than `read_at` after a failed reading).
    keys_read_at: Timestamp,
    /// Why the last reading failed, if it did (then `keys` are the ones read before it).
    failed: Option<String>,
}

impl ClientKeyCache {
    pub fn new() -> anyhow::Result<Self> {
        Ok(Self {
            http: fetch::client()?,
            kept: RwLock::default(),
        })
    }

    /// The keys `keys` holds or points to, for an assertion whose header names `kid`, at `now`;
    /// or why they cannot be had.
    pub async fn keys(
        &self,
        keys: &ClientKeys,
        kid: Option<&str>,
        now: Timestamp,
    ) -> Result<Arc<[ExternalKey]>, String> {
        let uri = match keys {
            ClientKeys::Jwks(set) => {
                let (keys, _) = fetch::parse_jwks(set.as_bytes())?;
                return Ok(keys.into());
            }
            ClientKeys::JwksUri(uri) => uri,
        };
        if let Some(kept) = self.fresh(uri, kid, now) {
            return kept;
        }
        let read = fetch::jwks_at(&self.http, uri).await;
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        let (entry, answer) = match read {
            Ok(fetched) => {
                let keys: Arc<[ExternalKey]> = fetched.keys.into();
                let entry = Kept {
                    keys: keys.clone(),
                    read_at: now,
                    fresh_secs: fetched.fresh_secs.min(MAX_FRESH_SECS),
                    keys_read_at: now,
                    failed: None,
                };
                (entry, Ok(keys))
            }
            Err(why) => {
                let recent = kept.get(uri).filter(|k| {
                    u64::try_from(now.secs_since(k.keys_read_at)).unwrap_or(0) < MAX_FRESH_SECS
                });
                let keys_read_at = recent.map_or(now, |k| k.keys_read_at);
                let before = recent.map_or_else(|| Arc::from(Vec::new()), |k| k.keys.clone());
                let answer = if before.is_empty() {
                    Err(why.clone())
                } else {
                    Ok(before.clone())
                };
                let entry = Kept {
                    keys: before,
                    read_at: now,
                    fresh_secs: MIN_FRESH_SECS,
                    keys_read_at,
                    failed: Some(why),
                };
                (entry, answer)
            }
        };
        if kept.len() >= MAX_KEPT && !kept.contains_key(uri) {
            let stalest = kept
                .iter()
                .min_by_key(|(_, k)| k.read_at)
                .map(|(uri, _)| uri.clone());
            if let Some(stalest) = stalest {
                kept.remove(&stalest);
            }
        }
        kept.insert(uri.clone(), entry);
        answer
    }

    /// What is kept for `uri`, if it is still fresh and, when `kid` is named, holds it (or was
    /// read less than a minute ago: then a missing `kid` is the assertion's problem); a reading
    /// that failed less than a minute ago answers with its failure when nothing was read before.
    fn fresh(
        &self,
        uri: &str,
        kid: Option<&str>,
        now: Timestamp,
    ) -> Option<Result<Arc<[ExternalKey]>, String>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let entry = kept.get(uri)?;
        let age = u64::try_from(now.secs_since(entry.read_at)).unwrap_or(0);
        if age >= entry.fresh_secs {
            return None;
        }
        if let Some(why) = entry.failed.as_ref().filter(|_| entry.keys.is_empty()) {
            return Some(Err(format!("{why} (read again in a minute at most)")));
        }
        let has_kid =
            kid.is_none_or(|kid| entry.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        (has_kid || age < MIN_FRESH_SECS).then(|| Ok(entry.keys.clone()))
    }
}
