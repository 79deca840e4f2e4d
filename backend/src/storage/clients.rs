use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use shared::oauth::GrantType;
use shared::scope::ScopeSet;

use super::revocations::{LONGEST_ACCESS_TOKEN_SECS, RevocationKind, record_revocation};
use super::{Db, Error, Result, Spaced, dispatch, one_row};
use crate::clock::Timestamp;

/// A registered OAuth client.
#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// `None` for a public client (a browser app cannot keep a secret), and for one that
    /// proves itself with its keys instead.
    pub secret_hash: Option<String>,
    /// The public keys of a client that authenticates with `private_key_jwt` (RFC 7523 §2.2).
    pub keys: Option<ClientKeys>,
    pub first_party: bool,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// The most it may be granted.
    pub scopes: ScopeSet,
    /// Compared by exact string equality (RFC 9700 §4.1.3), in the order they were given.
    pub redirect_uris: Vec<String>,
    /// Lifetimes in seconds for this client's tokens, or `None` for the server-wide default.
    pub lifetimes: Lifetimes,
    /// It may start a login only with a request pushed to the PAR endpoint (RFC 9126 §6).
    pub require_pushed_requests: bool,
    /// Its token requests must carry a DPoP proof, so that its tokens are bound to its key
    /// (RFC 9449 §5.2 `dpop_bound_access_tokens`).
    pub dpop_bound_access_tokens: bool,
    /// Where it may send the browser after a logout (OpenID Connect RP-Initiated Logout 1.0
    /// §3.1), compared by exact string equality.
    pub post_logout_redirect_uris: Vec<String>,
    /// Where this server posts a logout token when one of its logins ends (OpenID Connect
    /// Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    pub created_at: Timestamp,
}

/// Where the public keys of a `private_key_jwt` client are: checked when registered (see
/// `admin::clients`), read again when an assertion is verified (see `oauth::client_keys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKeys {
    /// A JWK Set (RFC 7517 §5), as registered.
    Jwks(String),
    /// The URL of its JWK Set (RFC 7591 §2 `jwks_uri`), which it may change without telling.
    JwksUri(String),
}

impl ClientKeys {
    fn columns(keys: Option<&Self>) -> (Option<&str>, Option<&str>) {
        match keys {
            Some(Self::Jwks(set)) => (Some(set), None),
            Some(Self::JwksUri(uri)) => (None, Some(uri)),
            None => (None, None),
        }
    }
}

/// Per-client token lifetimes; `None` means the server-wide setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Lifetimes {
    pub access_token_ttl: Option<i64>,
    pub refresh_token_idle_ttl: Option<i64>,
    pub refresh_token_absolute_ttl: Option<i64>,
}

pub use shared::oauth::REGISTERED_CLIENT_PREFIX as REGISTERED_PREFIX;

impl Client {
    /// Registered by whoever asked at `/register` (RFC 7591), not made by an administrator:
    /// its name and everything it says of itself are its own word (RFC 7591 §5).
    pub fn is_registered(&self) -> bool {
        self.id.starts_with(REGISTERED_PREFIX)
    }

    /// Neither a secret nor keys: it identifies itself with `client_id` alone.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && self.keys.is_none()
    }

    pub fn may_use_grant(&self, grant_type: GrantType) -> bool {
        self.grant_types.contains(&grant_type)
    }

    /// This client's access-token lifetime in seconds, or `default`.
    pub fn access_token_ttl(&self, default: u64) -> u64 {
        self.lifetimes.access(default)
    }

    pub fn refresh_token_idle_ttl(&self, default: u64) -> u64 {
        self.lifetimes.refresh_idle(default)
    }

    pub fn refresh_token_absolute_ttl(&self, default: u64) -> u64 {
        self.lifetimes.refresh_absolute(default)
    }
}

impl Lifetimes {
    /// Each of these that is set, else `fallback`'s.
    pub fn or(self, fallback: Lifetimes) -> Lifetimes {
        Lifetimes {
            access_token_ttl: self.access_token_ttl.or(fallback.access_token_ttl),
            refresh_token_idle_ttl: self
                .refresh_token_idle_ttl
                .or(fallback.refresh_token_idle_ttl),
            refresh_token_absolute_ttl: self
                .refresh_token_absolute_ttl
                .or(fallback.refresh_token_absolute_ttl),
        }
    }

    /// The access-token lifetime in seconds, or `default`.
    pub fn access(&self, default: u64) -> u64 {
        or_default(self.access_token_ttl, default)
    }

    pub fn refresh_idle(&self, default: u64) -> u64 {
        or_default(self.refresh_token_idle_ttl, default)
    }

    pub fn refresh_absolute(&self, default: u64) -> u64 {
        or_default(self.refresh_token_absolute_ttl, default)
    }
}

fn or_default(value: Option<i64>, default: u64) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(default)
}

pub struct NewClient<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub secret_hash: Option<&'a str>,
    pub keys: Option<&'a ClientKeys>,
    pub first_party: bool,
    pub grant_types: &'a [GrantType],
    pub scopes: &'a ScopeSet,
    pub redirect_uris: &'a [String],
    pub lifetimes: Lifetimes,
    pub require_pushed_requests: bool,
    pub dpop_bound_access_tokens: bool,
    pub post_logout_redirect_uris: &'a [String],
    pub backchannel_logout_uri: Option<&'a str>,
}

impl NewClient<'_> {
    fn grant_types(&self) -> String {
        GrantType::join(self.grant_types, " ")
    }
}

/// The row as stored: grant types space-separated, scopes as RFC 6749 §3.3 writes them.
#[derive(sqlx::FromRow)]
struct ClientRow {
    id: String,
    name: String,
    secret_hash: Option<String>,
    jwks: Option<String>,
    jwks_uri: Option<String>,
    first_party: bool,
    grant_types: String,
    #[sqlx(try_from = "String")]
    scopes: ScopeSet,
    #[sqlx(flatten)]
    lifetimes: Lifetimes,
    require_pushed_requests: bool,
    dpop_bound_access_tokens: bool,
    #[sqlx(try_from = "String")]
    post_logout_redirect_uris: Spaced,
    backchannel_logout_uri: Option<String>,
    created_at: Timestamp,
}

/// A client's row beside one of its redirect URIs (`None` for a client without any).
#[derive(sqlx::FromRow)]
struct ClientWithUri {
    #[sqlx(flatten)]
    client: ClientRow,
    uri: Option<String>,
}

impl ClientRow {
    fn into_client(self, redirect_uris: Vec<String>) -> Result<Client> {
        let grant_types = self
            .grant_types
            .split(' ')
            .map(|g| g.parse::<GrantType>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Corrupt(format!("client {}: {e}", self.id)))?;
        let keys = match (self.jwks, self.jwks_uri) {
            (None, None) => None,
            (Some(set), None) => Some(ClientKeys::Jwks(set)),
            (None, Some(uri)) => Some(ClientKeys::JwksUri(uri)),
            (Some(_), Some(_)) => {
                return Err(Error::Corrupt(format!(
                    "client {}: both jwks and jwks_uri",
                    self.id
                )));
            }
        };
        Ok(Client {
            id: self.id,
            name: self.name,
            secret_hash: self.secret_hash,
            keys,
            first_party: self.first_party,
            grant_types,
            scopes: self.scopes,
            redirect_uris,
            lifetimes: self.lifetimes,
            require_pushed_requests: self.require_pushed_requests,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            post_logout_redirect_uris: self.post_logout_redirect_uris.0,
            backchannel_logout_uri: self.backchannel_logout_uri,
            created_at: self.created_at,
        })
    }
}

const SELECT: &str =
    "SELECT id, name, secret_hash, jwks, jwks_uri, first_party, grant_types, scopes,
        access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl,
        require_pushed_requests, dpop_bound_access_tokens, post_logout_redirect_uris,
        backchannel_logout_uri, created_at
     FROM clients";

/// Replaces a client's redirect URIs inside the transaction `$tx`, keeping their order.
macro_rules! replace_redirect_uris {
    ($tx:expr, $client_id:expr, $uris:expr) => {{
        sqlx::query("DELETE FROM client_redirect_uris WHERE client_id = $1")
            .bind($client_id)
            .execute(&mut *$tx)
            .await?;
        for (position, uri) in (0_i64..).zip($uris.iter()) {
            sqlx::query(
                "INSERT INTO client_redirect_uris (client_id, uri, position) VALUES ($1, $2, $3)",
            )
            .bind($client_id)
            .bind(uri)
            .bind(position)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

impl Db {
    /// One client with its redirect URIs. Every `/token` and `/authorize` reads one, so a client
    /// read recently is answered from memory (see [`ClientCache`]): a change made here is seen
    /// at once, one made by another instance or the command line within one
    /// `--revocation-sync-ms`. Only stored clients are kept: unknown ids cost a read each.
    pub async fn client(&self, id: &str) -> Result<Option<Client>> {
        if let Some(client) = self.clients.get(id) {
            return Ok(Some(client));
        }
        let (generation, read_at) = (self.clients.generation(), Instant::now());
        let client = self.stored_client(id).await?;
        if let Some(client) = &client {
            self.clients.keep(client, generation, read_at);
        }
        Ok(client)
    }

    /// Drops client `id` from memory: the next [`Db::client`] reads it from the database.
    pub fn forget_client(&self, id: &str) {
        self.clients.forget(id);
    }

    /// [`Db::client`] as stored now, in one round trip (a row per URI, or one with none): for
    /// a change that starts from the client, which must not start from an older copy.
    pub async fn stored_client(&self, id: &str) -> Result<Option<Client>> {
        let rows: Vec<ClientWithUri> = dispatch!(self, |pool| {
            sqlx::query_as(
            "SELECT c.id, c.name, c.secret_hash, c.jwks, c.jwks_uri, c.first_party, c.grant_types,
                    c.scopes,
                    c.access_token_ttl, c.refresh_token_idle_ttl, c.refresh_token_absolute_ttl,
                    c.require_pushed_requests, c.dpop_bound_access_tokens,
                    c.post_logout_redirect_uris, c.backchannel_logout_uri, c.created_at, u.uri
             FROM clients c LEFT JOIN client_redirect_uris u ON u.client_id = c.id
             WHERE c.id = $1 ORDER BY u.position",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        })?;
        let redirect_uris = rows.iter().filter_map(|r| r.uri.clone()).collect();
        rows.into_iter()
            .next()
            .map(|row| row.client.into_client(redirect_uris))
            .transpose()
    }

    /// Every client, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        let sql = format!("{SELECT} ORDER BY id");
        let (rows, uris): (Vec<ClientRow>, Vec<(String, String)>) = dispatch!(self, |pool| {
            let rows = sqlx::query_as(&sql).fetch_all(pool).await?;
            let uris = sqlx::query_as(
                "SELECT client_id, uri FROM client_redirect_uris ORDER BY client_id, position",
            )
            .fetch_all(pool)
            .await?;
            (rows, uris)
        });
        rows.into_iter()
            .map(|row| {
                let mine = uris
                    .iter()
                    .filter(|(client, _)| *client == row.id)
                    .map(|(_, uri)| uri.clone())
                    .collect();
                row.into_client(mine)
            })
            .collect()
    }

    /// Creates a client with its redirect URIs; [`Error::Conflict`] if the id is taken.
    pub async fn insert_client(&self, client: &NewClient<'_>, now: Timestamp) -> Result<()> {
        self.insert_registered_client(client, None, now).await
    }

    /// [`Db::insert_client`], for a client registered at `/register`: with the SHA-256 of its
    /// registration access token (RFC 7592) and how it was registered (`open`, or the initial
    /// access token's id), in the same statement.
    pub async fn insert_registered_client(
        &self,
        client: &NewClient<'_>,
        registration: Option<(&str, &str)>,
        now: Timestamp,
    ) -> Result<()> {
        if self
            .write_client(client, registration, now, "ON CONFLICT (id) DO NOTHING")
            .await?
        {
            Ok(())
        } else {
            Err(Error::Conflict("clients.id".into()))
        }
    }

    /// Creates the client or brings an existing one with the same id to this definition.
    pub async fn upsert_client(&self, client: &NewClient<'_>, now: Timestamp) -> Result<()> {
        self.write_client(
            client,
            None,
            now,
            "ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                 secret_hash = excluded.secret_hash, jwks = excluded.jwks,
                 jwks_uri = excluded.jwks_uri, first_party = excluded.first_party,
                 grant_types = excluded.grant_types, scopes = excluded.scopes,
                 access_token_ttl = excluded.access_token_ttl,
                 refresh_token_idle_ttl = excluded.refresh_token_idle_ttl,
                 refresh_token_absolute_ttl = excluded.refresh_token_absolute_ttl,
                 require_pushed_requests = excluded.require_pushed_requests,
                 dpop_bound_access_tokens = excluded.dpop_bound_access_tokens,
                 post_logout_redirect_uris = excluded.post_logout_redirect_uris,
                 backchannel_logout_uri = excluded.backchannel_logout_uri",
        )
        .await
        .map(drop)
    }

    /// Inserts `client` with its redirect URIs, in one transaction; `on_conflict` says what a
    /// taken id means. `false` if nothing was written.
    async fn write_client(
        &self,
        client: &NewClient<'_>,
        registration: Option<(&str, &str)>,
        now: Timestamp,
        on_conflict: &str,
    ) -> Result<bool> {
        let (registration_token_hash, registered_with) = registration.unzip();
        let _changing = self.clients.changing(client.id);
        let sql = format!(
            "INSERT INTO clients (id, name, secret_hash, first_party, grant_types, scopes,
                 created_at, access_token_ttl, refresh_token_idle_ttl, refresh_token_absolute_ttl,
                 require_pushed_requests, jwks, jwks_uri, dpop_bound_access_tokens,
                 registration_token_hash, registered_with, post_logout_redirect_uris,
                 backchannel_logout_uri)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18)
             {on_conflict}"
        );
        let (jwks, jwks_uri) = ClientKeys::columns(client.keys);
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(&sql)
                .bind(client.id)
                .bind(client.name)
                .bind(client.secret_hash)
                .bind(client.first_party)
                .bind(client.grant_types())
                .bind(client.scopes.to_string())
                .bind(now)
                .bind(client.lifetimes.access_token_ttl)
                .bind(client.lifetimes.refresh_token_idle_ttl)
                .bind(client.lifetimes.refresh_token_absolute_ttl)
                .bind(client.require_pushed_requests)
                .bind(jwks)
                .bind(jwks_uri)
                .bind(client.dpop_bound_access_tokens)
                .bind(registration_token_hash)
                .bind(registered_with)
                .bind(client.post_logout_redirect_uris.join(" "))
                .bind(client.backchannel_logout_uri)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            replace_redirect_uris!(tx, client.id, client.redirect_uris);
            tx.commit().await?;
            Ok(true)
        })
    }

    /// An administrator's change: rewrites everything but the id, the secret and the creation
    /// time, redirect URIs and keys included, in one transaction, and ends RFC 7592
    /// self-management (the registration access token opens the client no more: an
    /// administrator's change is the last word); [`Error::NotFound`] if there is no such client.
    pub async fn update_client(&self, client: &NewClient<'_>) -> Result<()> {
        self.rewrite_client(client, None).await
    }

    /// A registrant's change (RFC 7592 §2.2), as [`Db::update_client`], made only while the
    /// client's registration access token is still the one whose hash is `used`, which becomes
    /// `next` in the same statement; [`Error::NotFound`] otherwise (another request, or an
    /// administrator, changed it first).
    pub async fn update_registered_client(
        &self,
        client: &NewClient<'_>,
        used: &str,
        next: &str,
    ) -> Result<()> {
        self.rewrite_client(client, Some((used, next))).await
    }

    async fn rewrite_client(
        &self,
        client: &NewClient<'_>,
        registration: Option<(&str, &str)>,
    ) -> Result<()> {
        let _changing = self.clients.changing(client.id);
        let (jwks, jwks_uri) = ClientKeys::columns(client.keys);
        let (used, next) = registration.unzip();
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE clients SET name = $1, first_party = $2, grant_types = $3, scopes = $4,
                     access_token_ttl = $5, refresh_token_idle_ttl = $6,
                     refresh_token_absolute_ttl = $7, require_pushed_requests = $8, jwks = $9,
                     jwks_uri = $10, dpop_bound_access_tokens = $12,
                     registration_token_hash = $13, post_logout_redirect_uris = $15,
                     backchannel_logout_uri = $16
                 WHERE id = $11 AND ($14 IS NULL OR registration_token_hash = $14)",
            )
            .bind(client.name)
            .bind(client.first_party)
            .bind(client.grant_types())
            .bind(client.scopes.to_string())
            .bind(client.lifetimes.access_token_ttl)
            .bind(client.lifetimes.refresh_token_idle_ttl)
            .bind(client.lifetimes.refresh_token_absolute_ttl)
            .bind(client.require_pushed_requests)
            .bind(jwks)
            .bind(jwks_uri)
            .bind(client.id)
            .bind(client.dpop_bound_access_tokens)
            .bind(next)
            .bind(used)
            .bind(client.post_logout_redirect_uris.join(" "))
            .bind(client.backchannel_logout_uri)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::NotFound);
            }
            replace_redirect_uris!(tx, client.id, client.redirect_uris);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Replaces a confidential client's secret hash; [`Error::NotFound`] if there is no such
    /// confidential client.
    pub async fn set_client_secret(&self, id: &str, secret_hash: &str) -> Result<()> {
        let _changing = self.clients.changing(id);
        let done = dispatch!(self, |pool| sqlx::query(
            // An administrator's change: RFC 7592 self-management ends with it.
            "UPDATE clients SET secret_hash = $1, registration_token_hash = NULL
             WHERE id = $2 AND secret_hash IS NOT NULL",
        )
        .bind(secret_hash)
        .bind(id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        one_row(done, Error::NotFound)
    }

    /// Deletes a client and, by cascade, its redirect URIs, codes, grants (with their refresh
    /// tokens) and consents, and puts it on the revocation list: every access token it was
    /// issued until now is refused, even if a client of the same id is created later.
    /// [`Error::NotFound`] if there was no such client.
    pub async fn delete_client(&self, id: &str, now: Timestamp) -> Result<()> {
        self.delete_client_if(id, None, now).await
    }

    /// [`Db::delete_client`] by its registrant (RFC 7592 §2.3): only while its registration
    /// access token is still the one whose hash is `used`; [`Error::NotFound`] otherwise.
    pub async fn delete_registered_client(
        &self,
        id: &str,
        used: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.delete_client_if(id, Some(used), now).await
    }

    async fn delete_client_if(&self, id: &str, used: Option<&str>, now: Timestamp) -> Result<()> {
        let _changing = self.clients.changing(id);
        dispatch!(self, |pool| {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "DELETE FROM clients WHERE id = $1
                 AND ($2 IS NULL OR registration_token_hash = $2)",
            )
            .bind(id)
            .bind(used)
            .execute(&mut *tx)
            .await?;
            one_row(done.rows_affected(), Error::NotFound)?;
            let until = now.plus_secs(LONGEST_ACCESS_TOKEN_SECS);
            record_revocation!(&mut *tx, RevocationKind::Client, id, now, until)?;
            tx.commit().await?;
        });
        self.revoked_here(now).await;
        Ok(())
    }

    /// Every registered scope name, sorted.
    pub async fn scope_names(&self) -> Result<Vec<String>> {
        Ok(dispatch!(self, |pool| sqlx::query_scalar(
            "SELECT name FROM scopes ORDER BY name"
        )
        .fetch_all(pool)
        .await)?)
    }
}

/// Clients read recently, by id, each kept for one `--revocation-sync-ms` after it was read (at
/// most 10 s).
///
/// A change made through this handle ([`ClientCache::changing`]) drops the client before the
/// write and again after it, and bumps a generation: a read that began before the change
/// cannot put the old client back. Another instance's deletion is dropped when the revocation
/// list brings it. What else another instance or the command line changes (a secret, scopes,
/// redirect URIs) is seen once the copy here is older than the interval.
#[derive(Debug)]
pub(super) struct ClientCache {
    kept: RwLock<Kept>,
    keep_for: Duration,
}

#[derive(Debug, Default)]
struct Kept {
    clients: HashMap<String, (Instant, Client)>,
    /// Counts changes; a read keeps its client only if none happened while it ran.
    generation: u64,
}

/// At most this many clients are kept; past it the cache starts over.
const KEEP_AT_MOST: usize = 1024;

/// However long `--revocation-sync-ms` is: a client deleted elsewhere may issue tokens here
/// until this instance reads the deletion, and tokens issued up to `LEEWAY_SECS` (30 s) after
/// a client's deletion are refused with it, so a copy never outlives that.
const KEEP_FOR_AT_MOST: Duration = Duration::from_secs(10);

impl ClientCache {
    /// Clients kept for `revocation_sync`, at most [`KEEP_FOR_AT_MOST`].
    pub(super) fn new(revocation_sync: Duration) -> Self {
        Self {
            kept: RwLock::default(),
            keep_for: revocation_sync.min(KEEP_FOR_AT_MOST),
        }
    }

    fn get(&self, id: &str) -> Option<Client> {
        let kept = self.kept.read().unwrap_or_else(PoisonError::into_inner);
        let (read_at, client) = kept.clients.get(id)?;
        (read_at.elapsed() < self.keep_for).then(|| client.clone())
    }

    fn generation(&self) -> u64 {
        self.kept
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Keeps `client`, read by a read that began at `read_at` in `generation`, unless something
    /// changed since. It counts as read when the read began.
    fn keep(&self, client: &Client, generation: u64, read_at: Instant) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.generation != generation {
            return;
        }
        if kept.clients.len() >= KEEP_AT_MOST {
            kept.clients.clear();
        }
        kept.clients
            .insert(client.id.clone(), (read_at, client.clone()));
    }

    /// Forgets client `id` now and when the returned guard is dropped (after the write).
    pub(super) fn changing<'a>(&'a self, id: &'a str) -> Changing<'a> {
        self.forget(id);
        Changing { cache: self, id }
    }

    pub(super) fn forget(&self, id: &str) {
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        kept.generation += 1;
        kept.clients.remove(id);
    }
}

/// A change to one client in progress; see [`ClientCache::changing`].
pub(super) struct Changing<'a> {
    cache: &'a ClientCache,
    id: &'a str,
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        self.cache.forget(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Settings;

    async fn open(url: &str, keep_ms: u64) -> Db {
        let mut settings = Settings::new(url);
        settings.revocation_sync = Duration::from_millis(keep_ms);
        Db::connect(&settings).await.unwrap()
    }

    fn new_client<'a>(id: &'a str, scopes: &'a ScopeSet) -> NewClient<'a> {
        NewClient {
            id,
            name: "Service",
            secret_hash: Some(H1),
            keys: None,
            first_party: false,
            grant_types: &[GrantType::ClientCredentials],
            scopes,
            redirect_uris: &[],
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
        }
    }

    // Secret hashes are SHA-256 in hex (see `crypto::sha256_hex`).
    const H1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const H2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
    const H3: &str = "3333333333333333333333333333333333333333333333333333333333333333";

    async fn secret_of(db: &Db, id: &str) -> Option<String> {
        db.client(id).await.unwrap().and_then(|c| c.secret_hash)
    }

    /// A client is read from the database once per interval: a change made through the same
    /// handle is seen at once, one made by another instance after the interval, a deletion at
    /// the next read of the revocation list; unknown ids are never kept.
    #[tokio::test]
    async fn clients_are_kept_for_one_interval_and_changes_seen() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let keep = Duration::from_millis(400);
        let here = open(&url, 400).await;
        let there = open(&url, 400).await;
        let now = Timestamp::from_unix(1_000);
        let scopes = ScopeSet::parse("read").unwrap();
        assert_eq!(here.client("svc").await.unwrap().map(|c| c.id), None);
        there
            .insert_client(&new_client("svc", &scopes), now)
            .await
            .unwrap();
        assert_eq!(secret_of(&here, "svc").await.as_deref(), Some(H1));
        let read = Instant::now();

        there.set_client_secret("svc", H2).await.unwrap();
        let seen = secret_of(&here, "svc").await;
        if read.elapsed() < keep {
            assert_eq!(seen.as_deref(), Some(H1), "kept for the interval");
        }
        tokio::time::sleep(keep.saturating_sub(read.elapsed()) + Duration::from_millis(50)).await;
        assert_eq!(secret_of(&here, "svc").await.as_deref(), Some(H2));

        here.set_client_secret("svc", H3).await.unwrap();
        assert_eq!(
            secret_of(&here, "svc").await.as_deref(),
            Some(H3),
            "at once"
        );
        let narrower = ScopeSet::parse("read write").unwrap();
        here.update_client(&new_client("svc", &narrower))
            .await
            .unwrap();
        let client = here.client("svc").await.unwrap().unwrap();
        assert_eq!(client.scopes.to_string(), "read write");

        here.sync_revocations(now).await.unwrap();
        there.delete_client("svc", now).await.unwrap();
        assert!(there.client("svc").await.unwrap().is_none());
        here.sync_revocations(now).await.unwrap();
        assert!(
            here.client("svc").await.unwrap().is_none(),
            "a deletion is dropped with the revocation list"
        );
    }

    /// A read that began before a change cannot put the old client back.
    #[test]
    fn a_read_older_than_a_change_is_not_kept() {
        let cache = ClientCache::new(Duration::from_secs(60));
        let client = Client {
            id: "svc".into(),
            name: "S".into(),
            secret_hash: Some("old".into()),
            keys: None,
            first_party: false,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: ScopeSet::parse("read").unwrap(),
            redirect_uris: Vec::new(),
            lifetimes: Lifetimes::default(),
            require_pushed_requests: false,
            dpop_bound_access_tokens: false,
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            created_at: Timestamp::from_unix(1),
        };
        let generation = cache.generation();
        drop(cache.changing("svc"));
        cache.keep(&client, generation, Instant::now());
        assert!(cache.get("svc").is_none());
        cache.keep(&client, cache.generation(), Instant::now());
        assert!(cache.get("svc").is_some());
    }
}
