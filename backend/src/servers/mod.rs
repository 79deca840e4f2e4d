//! Authorization servers: the root issuer (Okta's *org* authorization server, configured by
//! flags) and the *custom* authorization servers stored as data, each with its own issuer
//! `{ISSUER}/oauth2/{id}`, the audience its access tokens are for, its signing algorithm and its
//! own signing keys and rotation. A token names its issuer in `iss` and is only ever verified
//! with that issuer's keys, for that issuer's audience: a token of one server is refused by
//! every other.
//!
//! Every instance holds the servers it knows in a [`Servers`] registry; it reads the stored
//! ones at start-up and again at every key-maintenance round, so a server created or deleted by
//! another instance (or the command line) is seen within a reload interval (at once on
//! PostgreSQL, where creating or deleting a server changes its keys, which is announced).

pub mod claims;
pub mod policy;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shared::oauth::{AccessTokenClaims, Audience, GrantType};
use shared::scope::{OPENID_SCOPES, ScopeSet};

use self::claims::Carrier;
use crate::access_token::{AccessTokens, MAX_TOKEN_LEN};
use crate::clock::Timestamp;
use crate::config::Config;
use crate::events::{Event, EventKind};
use crate::keys::{KeyRing, Owner, rotation};
use crate::state::AppState;
use crate::storage::{self, Db, ScopeInfo, StoredIssuer, StoredServer, User};

/// One issuer: its identity, its keys and the tokens it signs and verifies.
pub struct AuthServer {
    /// `None` for the root issuer.
    pub stored: Option<StoredServer>,
    pub owner: Owner,
    /// Its `iss`, without a trailing slash.
    pub issuer: String,
    pub keys: Arc<KeyRing>,
    pub tokens: Arc<AccessTokens>,
}

impl std::fmt::Debug for AuthServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthServer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AuthServer {
    /// The root issuer, with the keys and tokens the rest of the server already uses.
    pub fn root(config: &Config, keys: Arc<KeyRing>, tokens: Arc<AccessTokens>) -> Self {
        Self {
            stored: None,
            owner: Owner::root(),
            issuer: config.issuer_str().to_owned(),
            keys,
            tokens,
        }
    }

    /// A custom server's issuer: `{ISSUER}/oauth2/{id}`.
    pub fn issuer_of(config: &Config, id: &str) -> String {
        format!("{}/oauth2/{id}", config.issuer_str())
    }

    /// Its endpoint `path`: `{issuer}{path}` for the root (`/token`), `{issuer}/v1{path}` for a
    /// custom server (`/v1/token`, Okta's layout).
    pub fn endpoint(&self, path: &str) -> String {
        match self.stored {
            None => format!("{}{path}", self.issuer),
            Some(_) => format!("{}/v1{path}", self.issuer),
        }
    }

    /// Whether its authorization endpoint takes only pushed requests (RFC 9126 §5): a flag for
    /// the root issuer, a setting of each custom server.
    pub fn requires_pushed_requests(&self, config: &Config) -> bool {
        match &self.stored {
            Some(stored) => stored.require_pushed_requests,
            None => config.require_pushed_authorization_requests,
        }
    }

    /// The custom server's id, `None` for the root issuer.
    pub fn id(&self) -> Option<&str> {
        self.stored.as_ref().map(|s| s.id.as_str())
    }

    /// Its generation (see `StoredServer::generation`), `None` for the root issuer.
    pub fn generation(&self) -> Option<&str> {
        self.stored.as_ref().map(|s| s.generation.as_str())
    }

    /// Whether a login stored as begun at `server_id` of `generation` (`None`: the root
    /// issuer) is this server's: the same id, and not a server of that id deleted since.
    pub fn owns(&self, server_id: Option<&str>, generation: Option<&str>) -> bool {
        (server_id, generation) == (self.id(), self.generation())
    }

    /// The scopes it offers, with what its consent screen says of each: the root issuer's
    /// catalogue; a custom server's own scopes and OpenID Connect's, described as the root
    /// issuer describes them.
    pub async fn scope_catalogue(&self, db: &Db) -> storage::Result<Vec<ScopeInfo>> {
        let root = db.scope_catalogue().await?;
        let Some(id) = self.id() else {
            return Ok(root);
        };
        let mut offered: Vec<ScopeInfo> = root
            .into_iter()
            .filter(|s| OPENID_SCOPES.contains(&s.name.as_str()))
            .collect();
        offered.extend(db.server_scopes(id).await?);
        offered.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(offered)
    }

    /// The scopes a client may ask for here, within its own: `None` at the root issuer (the
    /// client's registration decides alone); at a custom server, its own and OpenID Connect's.
    pub async fn offered(&self, db: &Db) -> storage::Result<Option<Offered>> {
        let Some(id) = self.id() else {
            return Ok(None);
        };
        let own = db.server_scopes(id).await?;
        Ok(Some(Offered {
            server_id: id.to_owned(),
            scopes: OPENID_SCOPES
                .into_iter()
                .chain(own.iter().map(|s| s.name.as_str()))
                .collect(),
        }))
    }

    /// The path of its endpoint `path` (see [`AuthServer::endpoint`]): where its pages post
    /// their forms, and the path of their cookies.
    pub fn endpoint_path(&self, path: &str) -> String {
        let full = self.endpoint(path);
        url::Url::parse(&full).map_or(full, |url| url.path().to_owned())
    }

    /// What decides a token request at this server: at a custom server, its access policies
    /// (the allowing rule, or the refusal) and the custom claims a token granted `scope`
    /// carries, both read at every request so that a change decides the next one at every
    /// instance; `None` at the root issuer, which has neither. `audience` is what the request
    /// named (`None`: the server's default).
    pub async fn govern(
        &self,
        db: &Db,
        asked: Governing<'_>,
    ) -> storage::Result<Result<Option<Governed>, policy::Refused>> {
        let Some(id) = self.id() else {
            return Ok(Ok(None));
        };
        let policies = db.access_policies(id).await?;
        let default = Audience::one(self.tokens.audience());
        let request = policy::Request {
            server: id,
            client_id: asked.client_id,
            grant_type: asked.grant_type,
            refreshes: asked.refreshes,
            role: asked.user.map(|u| u.role),
            groups: asked.user.map_or(&[], |u| u.groups.0.as_slice()),
            scope: asked.scope,
            audiences: asked.audience.unwrap_or(&default),
        };
        let allowed = match policy::decide(&policies, &request) {
            Ok(allowed) => allowed,
            Err(refused) => return Ok(Err(refused)),
        };
        let stored = db.custom_claims(id).await?;
        let carried = |carrier| claims::carried(&stored, asked.scope, asked.user, carrier);
        Ok(Ok(Some(Governed {
            allowed,
            access: carried(Carrier::Access),
            id: carried(Carrier::Id),
        })))
    }

    /// Prepares a stored server's keys (creating its first ones if it has none yet) and its
    /// tokens; returns the key events to log.
    async fn prepare(
        db: &Db,
        config: &Config,
        stored: StoredServer,
        now: Timestamp,
    ) -> anyhow::Result<(Self, Vec<Event>)> {
        let owner = Owner::of(&stored);
        let (ring, events) = rotation::prepare(db, config, &owner, now).await?;
        Ok((Self::with_keys(config, stored, owner, ring), events))
    }

    /// A stored server with the keys it has stored, as they are: nothing is created, rotated or
    /// logged (for a command that only reads, such as the token preview). The database's
    /// error, or why its keys cannot be used (a server makes them when it first takes the
    /// server in).
    pub async fn stored_as_is(
        db: &Db,
        config: &Config,
        stored: StoredServer,
    ) -> storage::Result<Result<Self, String>> {
        let owner = Owner::of(&stored);
        Ok(KeyRing::as_stored(db, &owner)
            .await?
            .map(|ring| Self::with_keys(config, stored, owner, ring)))
    }

    fn with_keys(config: &Config, stored: StoredServer, owner: Owner, ring: KeyRing) -> Self {
        let keys = Arc::new(ring);
        let issuer = Self::issuer_of(config, &stored.id);
        let audiences: Vec<&str> = stored.audiences().collect();
        let tokens = Arc::new(AccessTokens::of_issuer(&issuer, &audiences, keys.clone()));
        Self {
            stored: Some(stored),
            owner,
            issuer,
            keys,
            tokens,
        }
    }
}

/// A token request as [`AuthServer::govern`] decides it.
#[derive(Clone, Copy, Debug)]
pub struct Governing<'a> {
    pub client_id: &'a str,
    /// The grant being decided.
    pub grant_type: GrantType,
    /// For a refresh, the grant its login came from: the rules for that grant decide it too.
    pub refreshes: Option<crate::storage::LoginOrigin>,
    /// The user, in a grant with one.
    pub user: Option<&'a User>,
    pub scope: &'a ScopeSet,
    pub audience: Option<&'a Audience>,
}

/// The scopes a custom server offers (see [`AuthServer::offered`]).
#[derive(Clone, Debug)]
pub struct Offered {
    pub server_id: String,
    pub scopes: ScopeSet,
}

impl Offered {
    /// Why `asked` cannot be had here, when it holds scopes the server does not offer.
    pub fn refusal(&self, asked: &ScopeSet) -> Option<String> {
        let missing: Vec<&str> = asked.difference(&self.scopes).collect();
        (!missing.is_empty()).then(|| {
            format!(
                "authorization server {:?} does not offer {}; it offers: {}",
                self.server_id,
                missing.join(" "),
                self.scopes
            )
        })
    }
}

/// What a custom server's rules and claims make of an allowed request.
#[derive(Clone, Debug)]
pub struct Governed {
    pub allowed: policy::Allowed,
    /// The custom claims its access token carries.
    pub access: BTreeMap<String, serde_json::Value>,
    /// Those its ID token carries, if it comes with one.
    pub id: BTreeMap<String, serde_json::Value>,
}

/// The custom authorization servers this instance knows, by id.
#[derive(Default)]
pub struct Servers {
    by_id: RwLock<HashMap<String, Arc<AuthServer>>>,
    /// Held while a server is taken in (its row checked, then inserted) and while one is deleted
    /// (its row deleted, then removed), so that a deletion on this instance is never undone by
    /// a round that checked the row just before it.
    changing: tokio::sync::Mutex<()>,
}

impl Servers {
    pub fn get(&self, id: &str) -> Option<Arc<AuthServer>> {
        self.read().get(id).cloned()
    }

    /// The issuers of the servers that issue tokens for `audience` (their default one or
    /// another), sorted.
    pub fn issuers_for(&self, audience: &str) -> Vec<String> {
        let mut issuers: Vec<String> = self
            .read()
            .values()
            .filter(|s| s.tokens.issues_for(audience))
            .map(|s| s.issuer.clone())
            .collect();
        issuers.sort();
        issuers
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<AuthServer>>> {
        self.by_id.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<AuthServer>>> {
        self.by_id.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Brings the registry in line with the stored servers (new ones prepared, deleted ones
    /// dropped, a changed one prepared again), then runs each server's key schedule and reload.
    /// Returns the events to log; a server whose keys cannot be prepared is left out and
    /// logged, and the others go on.
    pub async fn sync(
        &self,
        db: &Db,
        config: &Config,
        now: Timestamp,
    ) -> storage::Result<Vec<Event>> {
        let stored = db.authorization_servers().await?;
        let mut events = Vec::new();
        let known: Vec<String> = self.read().keys().cloned().collect();
        for id in known {
            if !stored.iter().any(|s| s.id == id) {
                self.write().remove(&id);
                tracing::info!(server = %id, "authorization server deleted");
            }
        }
        for row in stored {
            let current = self.get(&row.id);
            match current {
                Some(server) if server.stored.as_ref() == Some(&row) => {
                    match rotation::maintain(db, config, &server.owner, &server.keys, now).await {
                        Ok(round) => events.extend(round),
                        Err(e) => {
                            tracing::warn!(server = %row.id, error = %e, "signing-key maintenance failed");
                        }
                    }
                }
                _ => match self.take_in(db, config, row.clone(), now).await {
                    Ok(round) => events.extend(round),
                    Err(e) => {
                        // A changed server must not go on with its old audience or keys.
                        self.write().remove(&row.id);
                        tracing::warn!(server = %row.id, error = %e, "preparing an authorization server failed");
                    }
                },
            }
        }
        Ok(events)
    }

    /// Every stored server with its stored keys, as they are (see [`AuthServer::stored_as_is`]);
    /// one whose keys cannot be read is left out with a warning, as [`Servers::sync`] leaves it
    /// out of service.
    pub async fn stored_as_is(db: &Db, config: &Config) -> storage::Result<Self> {
        let servers = Self::default();
        for row in db.authorization_servers().await? {
            let id = row.id.clone();
            match AuthServer::stored_as_is(db, config, row).await? {
                Ok(server) => {
                    servers.write().insert(id, Arc::new(server));
                }
                Err(why) => {
                    tracing::warn!(server = %id, "authorization server left out: {why}");
                }
            }
        }
        Ok(servers)
    }

    /// Takes in a stored server (one just created here, or found by [`Servers::sync`]) with
    /// its keys, so that it answers at once, unless it was deleted meanwhile: a deletion here or
    /// elsewhere is never undone by a maintenance round that read the list before it.
    pub async fn take_in(
        &self,
        db: &Db,
        config: &Config,
        stored: StoredServer,
        now: Timestamp,
    ) -> anyhow::Result<Vec<Event>> {
        let id = stored.id.clone();
        let (server, events) = AuthServer::prepare(db, config, stored, now).await?;
        let _changing = self.changing.lock().await;
        // The same definition still stored (not deleted, nor deleted and created again with
        // another one, nor changed), else this round's preparation is stale: a deleted server
        // goes, and a changed one stays as the registry holds it if that is the stored one (a
        // change made here meanwhile, which took itself in), else goes until the next round.
        let current = db.authorization_server(&id).await?;
        if current.as_ref() == server.stored.as_ref() {
            self.write().insert(id, Arc::new(server));
        } else {
            let held = self.get(&id);
            let held_is_current =
                current.is_some() && held.is_some_and(|h| h.stored.as_ref() == current.as_ref());
            if !held_is_current {
                self.write().remove(&id);
            }
        }
        Ok(events)
    }

    /// Deletes the server `id` with `delete` (which deletes it from the database) and forgets
    /// it here, with no take-in in between.
    pub async fn delete<T, E>(
        &self,
        id: &str,
        delete: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let _changing = self.changing.lock().await;
        let deleted = delete.await?;
        self.write().remove(id);
        Ok(deleted)
    }

    /// Stops serving server `id` here until a round takes it in again (its preparation failed:
    /// it must not go on with an old definition).
    pub async fn forget(&self, id: &str) {
        let _changing = self.changing.lock().await;
        self.write().remove(id);
    }

    /// The server whose issuer is `iss` (`{root}/oauth2/{id}`), if it is one of these.
    pub fn by_issuer(&self, iss: &str, root: &str) -> Option<Arc<AuthServer>> {
        let id = iss.strip_prefix(root)?.strip_prefix("/oauth2/")?;
        self.get(id)
    }
}

/// The `iss` a JWT claims, read without verifying anything: only to choose whose keys verify
/// it. `None` if the token is too long or its payload is not a JSON object with a string `iss`.
pub fn claimed_issuer(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Iss>(&bytes).ok().map(|i| i.iss)
}

/// A Bearer token the API accepted.
pub struct Accepted {
    pub claims: AccessTokenClaims,
    /// The trusted external issuer that issued it (its id), `None` for this server's own.
    pub external: Option<String>,
}

/// What the API does with a Bearer token: the root issuer verifies it (its tokens are the
/// common case, and a token it has seen costs a lookup); if it fails there and names another
/// issuer, that issuer verifies it, provided it is an authorization server whose audience is
/// the API's, or a trusted external issuer (read from the database, so that every instance
/// applies a change at once). Its keys are the only ones tried, so the signature is checked
/// with the key of the issuer the token names, and `iss` and `aud` again by that issuer's
/// checks.
pub async fn verify_for_api(
    state: &AppState,
    token: &str,
    now: Timestamp,
) -> storage::Result<Result<Accepted, String>> {
    let own = |claims| Accepted {
        claims,
        external: None,
    };
    let root = &state.root;
    let audience = root.tokens.audience();
    let why = match root.tokens.verify_live(&state.db, token, now).await? {
        // The root issuer issues for other APIs too: this token must be for this one.
        Ok(claims) if !claims.aud.contains(audience) => {
            return Ok(Err(format!(
                "the access token is for {}, another API this issuer issues tokens for; this \
                 API requires {audience} (ask for it with resource={audience}, RFC 8707)",
                claims.aud
            )));
        }
        Ok(claims) => return Ok(Ok(own(claims))),
        Err(why) => why,
    };
    let Some(iss) = claimed_issuer(token).filter(|iss| *iss != root.issuer) else {
        return Ok(Err(why.to_owned()));
    };
    if let Some(server) = state.servers.by_issuer(&iss, &root.issuer) {
        let id = server.id().unwrap_or_default();
        if !server.tokens.issues_for(audience) {
            return Ok(Err(format!(
                "the access token was issued by authorization server {id}, whose tokens are for \
                 {}; this API requires {audience}",
                server.tokens.audiences().join(", "),
            )));
        }
        let claims = match server.tokens.verify_live(&state.db, token, now).await? {
            Ok(claims) => claims,
            Err(why) => return Ok(Err(why.to_owned())),
        };
        // The server issues for this API's audience among others: this token must be for it.
        if !claims.aud.contains(audience) {
            return Ok(Err(format!(
                "the access token was issued by authorization server {id} for {}; this API \
                 requires {audience} (ask for it with resource={audience}, RFC 8707)",
                claims.aud
            )));
        }
        return Ok(Ok(own(claims)));
    }
    verify_external(state, &iss, token, now).await
}

/// A token that names `iss`, which is neither the root issuer nor one of its authorization
/// servers: verified by the trusted external issuer `iss` is, if it is one (read from the
/// database, so that every instance applies a change at once); its refusal counted in that
/// issuer's statistics.
pub async fn verify_external(
    state: &AppState,
    iss: &str,
    token: &str,
    now: Timestamp,
) -> storage::Result<Result<Accepted, String>> {
    // One read of the (short) list, whether the issuer is on it or not: the refusal of one
    // that is not names those that are.
    let mut listed = state.db.trusted_issuers().await?;
    let Some(at) = listed.iter().position(|t| t.issuer == iss) else {
        return Ok(Err(untrusted(state, iss, listed)));
    };
    let trusted = listed.swap_remove(at);
    match state.issuers.verify(&trusted, token, now).await {
        Ok(claims) => Ok(Ok(Accepted {
            claims,
            external: Some(trusted.id),
        })),
        Err((why, report)) => {
            if let Some(report) = report {
                // A refusal's answer never waits for the log (see `crate::refusals`).
                let event = Event::new(EventKind::ExternalTokenRefused).detail(report.detail);
                if !state.events.try_record(event) {
                    tracing::warn!(
                        "the event log is full; an external token's refusal was not recorded"
                    );
                }
            }
            Ok(Err(why))
        }
    }
}

/// The refusal of a token whose issuer this API does not trust: which issuer it named, and
/// those it trusts.
fn untrusted(state: &AppState, iss: &str, listed: Vec<StoredIssuer>) -> String {
    let mut trusted = vec![state.root.issuer.clone()];
    trusted.extend(state.servers.issuers_for(state.root.tokens.audience()));
    trusted.extend(listed.into_iter().map(|t| t.issuer));
    const SHOWN: usize = 8;
    let more = trusted.len().saturating_sub(SHOWN);
    trusted.truncate(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "the access token was issued by {:?}, an issuer this API does not trust; it trusts {}{more}",
        crate::issuers::verify::clip(iss),
        trusted.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_issuer_is_read_from_well_formed_tokens_only() {
        let b64 = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let token = |payload: &str| format!("{}.{}.sig", b64("{}"), b64(payload));
        assert_eq!(
            claimed_issuer(&token(r#"{"iss":"http://x/oauth2/default","sub":"a"}"#)).as_deref(),
            Some("http://x/oauth2/default")
        );
        for payload in [r#"{"iss":1}"#, "[]", "not json", r#"{"sub":"a"}"#] {
            assert_eq!(claimed_issuer(&token(payload)), None, "{payload}");
        }
        assert_eq!(claimed_issuer("no-dots"), None);
        // A well-formed token over the length limit is not read at all.
        let long = token(&format!(
            r#"{{"iss":"http://x","pad":"{}"}}"#,
            "a".repeat(4096)
        ));
        assert_eq!(claimed_issuer(&long), None);
        let short = token(r#"{"iss":"http://x","pad":"a"}"#);
        assert_eq!(claimed_issuer(&short).as_deref(), Some("http://x"));
    }
}
