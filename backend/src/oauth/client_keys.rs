//! The public keys of `private_key_jwt` clients (RFC 7523 §2.2): a JWK Set registered with the
//! client, or the one published at its `jwks_uri`, read with the limits an issuer's keys are
//! read with (`issuers::fetch`) and kept per instance as long as its `Cache-Control` allows
//! (between one minute and a day). An assertion naming a key the kept set lacks makes the set
//! be read again, at most once a minute per URL: a client that rotates its keys is followed
//! without letting a stream of made-up `kid`s turn this server into a fetcher.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::clock::Timestamp;
use crate::issuers::fetch::{self, ExternalKey, MIN_FRESH_SECS};
use crate::storage::ClientKeys;

/// URLs kept at once; past this, the stalest is dropped (each is one client's key set).
const MAX_KEPT: usize = 1024;

pub struct ClientKeyCache {
    http: reqwest::Client,
    kept: RwLock<HashMap<String, Kept>>,
}

struct Kept {
    keys: Arc<[ExternalKey]>,
    read_at: Timestamp,
    fresh_secs: u64,
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
            return Ok(kept);
        }
        let fetched = fetch::jwks_at(&self.http, uri).await?;
        let keys: Arc<[ExternalKey]> = fetched.keys.into();
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_KEPT && !kept.contains_key(uri) {
            let stalest = kept
                .iter()
                .min_by_key(|(_, k)| k.read_at)
                .map(|(uri, _)| uri.clone());
            if let Some(stalest) = stalest {
                kept.remove(&stalest);
            }
        }
        kept.insert(
            uri.clone(),
            Kept {
                keys: keys.clone(),
                read_at: now,
                fresh_secs: fetched.fresh_secs,
            },
        );
        Ok(keys)
    }

    /// The set kept for `uri`, if it is still fresh and, when `kid` is named, holds it (or was
    /// read less than a minute ago: then a missing `kid` is the assertion's problem).
    fn fresh(&self, uri: &str, kid: Option<&str>, now: Timestamp) -> Option<Arc<[ExternalKey]>> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let entry = kept.get(uri)?;
        let age = u64::try_from(now.secs_since(entry.read_at)).unwrap_or(0);
        if age >= entry.fresh_secs {
            return None;
        }
        let has_kid =
            kid.is_none_or(|kid| entry.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        (has_kid || age < MIN_FRESH_SECS).then(|| entry.keys.clone())
    }

    /// Reads `uri` now (for a registration): its usable keys, or why it is not a key set.
    pub async fn probe(&self, uri: &str) -> Result<fetch::Fetched, String> {
        fetch::jwks_at(&self.http, uri).await
    }
}
