//! The session: its cookie, its row, the tokens sealed in it, and the CSRF check.
//!
//! The cookie holds 256 random bits. From them the server derives, each with its own label, the
//! row's key (a SHA-256, so the database never holds the cookie), the key that seals the tokens
//! in the row (so a copy of the database opens nothing without the browser's cookie), and the
//! CSRF token the app echoes in a header.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::bff::{CSRF_HEADER, Exchange, MAX_EXCHANGES};

use super::{Bff, BffError};
use crate::config::Config;
use crate::crypto;
use crate::refusals::Why;
use crate::storage::BffSessionRow;
use crate::web;

/// The session cookie's name over http and over https (see [`cookie_name`]).
const COOKIE: (&str, &str) = ("session", "__Host-session");

/// Set on every "no session" answer: whichever name the browser holds is dropped.
pub const CLEARED_COOKIES: [&str; 2] = [
    "session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
    "__Host-session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0",
];

/// A session's requests touch `last_seen_at` at most this often: the idle timeout is that
/// much less exact, and a page of API calls costs one write, not one each.
const TOUCH_EVERY_SECS: i64 = 15;

/// The secret in the session cookie.
pub struct SessionKey(String);

/// What a session row seals.
#[derive(Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl SessionKey {
    pub fn generate() -> Self {
        Self(crypto::random_token(32))
    }

    /// The cookie's value, if it has the shape of one this server set (43 base64url
    /// characters): anything else is not looked up.
    fn parse(value: &str) -> Option<Self> {
        (value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(value.to_owned()))
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(label.as_bytes());
        hash.update([0]);
        hash.update(self.0.as_bytes());
        hash.finalize().into()
    }

    /// The row's primary key.
    pub fn id_hash(&self) -> String {
        crypto::sha256_hex(&self.0)
    }

    pub fn csrf_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.derive("bff csrf token"))
    }

    /// ChaCha20-Poly1305 with a random nonce, bound to the row by its key as associated data.
    pub fn seal(&self, tokens: &Tokens) -> Result<Vec<u8>, BffError> {
        let plaintext = serde_json::to_vec(tokens).map_err(|_| BffError::Internal)?;
        self.seal_bytes(&plaintext)
    }

    pub fn open(&self, sealed: &[u8]) -> Option<Tokens> {
        serde_json::from_slice(&self.open_bytes(sealed)?).ok()
    }

    pub fn seal_bytes(&self, plaintext: &[u8]) -> Result<Vec<u8>, BffError> {
        let nonce = crypto::random_bytes::<12>();
        let sealed = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: self.id_hash().as_bytes(),
                },
            )
            .map_err(|_| BffError::Internal)?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    pub fn open_bytes(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        let (nonce, ciphertext) = sealed.split_at_checked(12)?;
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: self.id_hash().as_bytes(),
                },
            )
            .ok()
    }

    /// The cookie's value.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// A session key from a value this server made (a sealed `replaces`).
    pub fn from_secret(secret: &[u8]) -> Option<Self> {
        std::str::from_utf8(secret).ok().and_then(Self::parse)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.derive("bff token seal").into())
    }

    /// `Set-Cookie` for this session: `HttpOnly` (no script reads it), `SameSite=Strict` (no
    /// other site's page sends it), `Path=/` and no `Domain` (this host only); over https also
    /// `Secure` with the `__Host-` prefix, which makes the browser enforce all three.
    pub fn set_cookie(&self, config: &Config) -> HeaderValue {
        let (name, secure) = cookie_name(config, COOKIE);
        let value = format!(
            "{name}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            self.0, config.session_lifetime
        );
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The session key the request's cookie carries, if any. Two cookies of the name are
    /// refused rather than one picked: over plain http another port of the same host (cookies
    /// ignore ports) could set its own `session` with a longer `Path`, which browsers send
    /// first, and so fix the session this browser uses.
    pub fn from_request(config: &Config, headers: &HeaderMap) -> Option<Self> {
        let (name, _) = cookie_name(config, COOKIE);
        let mut values = web::cookies(headers, name);
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        Self::parse(value)
    }
}

/// A cookie's name and `Secure` attribute in this deployment, from its (http, https) names: over
/// https the `__Host-` name with `Secure` (the prefix makes the browser enforce `Secure`,
/// `Path=/` and no `Domain`); over http (local development) a cookie cannot be `Secure`, and so
/// cannot have the prefix either.
pub fn cookie_name(
    config: &Config,
    (http, https): (&'static str, &'static str),
) -> (&'static str, &'static str) {
    if config.app_is_https() {
        (https, "; Secure")
    } else {
        (http, "")
    }
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie(config: &Config) -> HeaderValue {
    HeaderValue::from_static(if config.app_is_https() {
        CLEARED_COOKIES[1]
    } else {
        CLEARED_COOKIES[0]
    })
}

/// A live session with its tokens opened.
pub struct Session {
    pub key: SessionKey,
    pub row: BffSessionRow,
    pub tokens: Tokens,
}

impl Session {
    /// The request's session, or why there is none. Expired and idle sessions are ended here
    /// (their tokens revoked), so they cannot be used even before the periodic purge.
    ///
    /// Only the app's own pages may use a session, reading or writing: a browser labels every
    /// request with `Sec-Fetch-Site`, and anything but `same-origin` is refused, so a page on
    /// another origin of the same site cannot even keep a session alive.
    pub async fn load(bff: &Bff, headers: &HeaderMap) -> Result<Self, BffError> {
        let config = &bff.app.config;
        check_fetch_site(headers)?;
        let key = SessionKey::from_request(config, headers).ok_or(BffError::NotLoggedIn)?;
        let session = Self::load_key(bff, key).await?;
        crate::logs::identify(&bff.app.config.bff_client_id, Some(&session.row.subject));
        let now = bff.app.clock.now();
        if now.secs_since(session.row.last_seen_at) >= TOUCH_EVERY_SECS {
            bff.app
                .db
                .touch_bff_session(&session.row.id_hash, now)
                .await?;
        }
        Ok(session)
    }

    /// Reads the session again (after waiting for another request's refresh).
    pub async fn reload(self, bff: &Bff) -> Result<Self, BffError> {
        Self::load_key(bff, self.key).await
    }

    /// The session as `row` has it (read by this request with this session's key).
    pub fn with_row(self, row: BffSessionRow) -> Result<Self, BffError> {
        let tokens = self.key.open(&row.tokens).ok_or_else(unopened)?;
        Ok(Self {
            key: self.key,
            row,
            tokens,
        })
    }

    async fn load_key(bff: &Bff, key: SessionKey) -> Result<Self, BffError> {
        let config = &bff.app.config;
        let id_hash = key.id_hash();
        let Some(row) = bff.app.db.bff_session(&id_hash).await? else {
            return Err(ended(
                Why::check("session")
                    .expected("a session this server holds for the cookie")
                    .got("none: it was logged out, or ended and removed"),
            ));
        };
        let now = bff.app.clock.now();
        let idle = i64::try_from(config.session_idle_timeout).unwrap_or(i64::MAX);
        let lapsed = if now >= row.expires_at {
            let lifetime = duration(config.session_lifetime);
            Some((
                format!("your session expired ({lifetime} after logging in)"),
                Why::check("session_lifetime")
                    .expected(format!(
                        "a session younger than {lifetime}: the server's clock says {now}"
                    ))
                    .got(format!(
                        "a session begun at {}, which ended at {}",
                        row.created_at, row.expires_at
                    )),
            ))
        } else if now.secs_since(row.last_seen_at) >= idle {
            let timeout = duration(config.session_idle_timeout);
            Some((
                format!("your session expired after {timeout} without use"),
                Why::check("session_idle")
                    .expected(format!(
                        "a request at least every {timeout}: the server's clock says {now}"
                    ))
                    .got(format!(
                        "the session's last request at {}",
                        row.last_seen_at
                    )),
            ))
        } else {
            None
        };
        let Some(tokens) = key.open(&row.tokens) else {
            bff.app.db.delete_bff_session(&id_hash).await?;
            return Err(unopened());
        };
        let session = Self { key, row, tokens };
        if let Some((description, why)) = lapsed {
            let why = why.user(session.row.subject.clone());
            session.end(bff).await;
            return Err(BffError::NoSession(
                description,
                Box::new(why.remedy(LOG_IN_AGAIN)),
            ));
        }
        Ok(session)
    }

    /// Revokes the session's grant at the authorization server (RFC 7009; a refresh token takes
    /// its access tokens with it) and deletes the session. Revocation failures are logged; the
    /// session ends regardless.
    pub async fn end(self, bff: &Bff) {
        match &self.tokens.refresh_token {
            Some(refresh_token) => bff.revoke(refresh_token, "refresh_token").await,
            None => {
                bff.revoke(&self.tokens.access_token, "access_token").await;
            }
        }
        if let Err(e) = bff.app.db.delete_bff_session(&self.row.id_hash).await {
            tracing::error!(error = %e, "deleting a backend-for-frontend session");
        }
    }

    /// The session of a key this server holds (the one a step-up replaces), if it is live.
    pub async fn of_key(bff: &Bff, key: SessionKey) -> Option<Self> {
        Self::load_key(bff, key).await.ok()
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        serde_json::from_str(&self.row.exchanges).unwrap_or_default()
    }
}

/// Appends `exchange` to a session's log, keeping the newest [`MAX_EXCHANGES`].
pub fn with_exchange(mut exchanges: Vec<Exchange>, exchange: Exchange) -> String {
    exchanges.push(exchange);
    let excess = exchanges.len().saturating_sub(MAX_EXCHANGES);
    exchanges.drain(..excess);
    serde_json::to_string(&exchanges).unwrap_or_else(|_| "[]".into())
}

/// Cross-site request forgery defences for calls that change state, each enough on its own
/// against today's browsers; together they also cover older ones and proxies that strip headers.
/// - Fetch metadata: browsers label every request with `Sec-Fetch-Site`; only `same-origin`
///   may change state.
/// - `Origin`: sent with every cross-origin `POST`, `PATCH` and `DELETE`; it must be the app's.
///   `SameSite=Strict` keeps other *sites'* pages from sending the cookie at all, but another
///   origin on the same site (another port of `localhost`, a sibling subdomain) is the same
///   site; these two checks stop it.
/// - The CSRF token: a custom header with a value only the app's own scripts can read (from
///   `/bff/session`). A page elsewhere cannot send a custom header cross-origin without a CORS
///   preflight, which this origin never grants.
pub fn check_csrf(
    config: &Config,
    method: &Method,
    headers: &HeaderMap,
    key: &SessionKey,
) -> Result<(), BffError> {
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    check_fetch_site(headers)?;
    let app = config.app_origin();
    if let Some(origin) = headers.get(header::ORIGIN)
        && origin.as_bytes() != app.as_bytes()
    {
        let origin = origin.to_str().unwrap_or("?");
        return Err(BffError::Forbidden(
            format!("cross-origin request refused: Origin {origin} is not this app's"),
            Box::new(
                Why::check("origin")
                    .expected(app)
                    .got(origin)
                    .remedy("call the app's server only from the app's own pages"),
            ),
        ));
    }
    let csrf = || {
        Why::check("csrf")
            .expected(format!(
                "the {CSRF_HEADER} header of this session (GET /bff/session gives it to the app)"
            ))
            .remedy(format!(
                "send the {CSRF_HEADER} header the app read from /bff/session; after a new \
                 login, read it again"
            ))
    };
    let presented = headers.get(CSRF_HEADER).ok_or_else(|| {
        BffError::Forbidden(
            format!("the request lacks the {CSRF_HEADER} header"),
            Box::new(csrf().got("no such header")),
        )
    })?;
    if !crypto::constant_time_eq(presented.as_bytes(), key.csrf_token().as_bytes()) {
        return Err(BffError::Forbidden(
            format!("the {CSRF_HEADER} header does not match this session"),
            Box::new(csrf().got("another value (never recorded)")),
        ));
    }
    Ok(())
}

/// Fetch metadata: a browser says where a request comes from; only the app's own origin may
/// use the session. (Clients that send no `Sec-Fetch-Site`, like curl, are not browsers a page
/// could drive.)
fn check_fetch_site(headers: &HeaderMap) -> Result<(), BffError> {
    match headers.get("sec-fetch-site") {
        Some(site) if site.as_bytes() != b"same-origin" => {
            let site = site.to_str().unwrap_or("?");
            Err(BffError::Forbidden(
                format!("cross-site request refused (Sec-Fetch-Site: {site})"),
                Box::new(
                    Why::check("sec-fetch-site")
                        .expected("same-origin: a request of the app's own pages")
                        .got(site)
                        .remedy("call the app's server only from the app's own pages"),
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// The remedy for a session that has ended.
pub const LOG_IN_AGAIN: &str = "log in again: the app's server keeps no login past its session";

/// The session has ended, as `why` says: "your session has ended".
pub fn ended(why: Why) -> BffError {
    BffError::NoSession(
        "your session has ended".into(),
        Box::new(why.remedy(LOG_IN_AGAIN)),
    )
}

/// The cookie names a session whose tokens its key does not open: not this cookie's session.
fn unopened() -> BffError {
    ended(
        Why::check("session")
            .expected("a cookie whose key opens its session's tokens")
            .got("a cookie that does not open them (altered, or of another session)"),
    )
}

/// "8 hours", "30 minutes", "90 seconds".
fn duration(secs: u64) -> String {
    match secs {
        s if s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_with_their_cookie() {
        let key = SessionKey::generate();
        let tokens = Tokens {
            access_token: "at".into(),
            refresh_token: Some("a-refresh-token".into()),
        };
        let sealed = key.seal(&tokens).unwrap();
        // A plaintext long enough that random ciphertext never contains it by chance (two
        // letters did, about once in a few hundred runs).
        assert!(!sealed.windows(15).any(|w| w == b"a-refresh-token"));
        let opened = key.open(&sealed).unwrap();
        assert_eq!(opened.access_token, "at");
        assert_eq!(opened.refresh_token.as_deref(), Some("a-refresh-token"));
        assert!(SessionKey::generate().open(&sealed).is_none());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open(&tampered).is_none());
        assert!(key.open(&sealed[..5]).is_none());
    }

    #[test]
    fn over_https_the_cookie_is_secure_and_host_prefixed() {
        use clap::Parser;
        let config = Config::try_parse_from([
            "backend",
            "--app-url",
            "https://shop.example",
            "--session-lifetime",
            "3600",
        ])
        .unwrap();
        let key = SessionKey::generate();
        let cookie = key.set_cookie(&config);
        assert_eq!(
            cookie.to_str().unwrap(),
            format!(
                "__Host-session={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure",
                key.0
            )
        );
        assert_eq!(clear_cookie(&config), CLEARED_COOKIES[1]);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("session={}", key.0)).unwrap(),
        );
        assert!(
            SessionKey::from_request(&config, &headers).is_none(),
            "over https only the __Host- cookie counts"
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("__Host-session={}", key.0)).unwrap(),
        );
        assert!(SessionKey::from_request(&config, &headers).is_some());
    }

    #[test]
    fn derived_values_differ() {
        let key = SessionKey::generate();
        assert_ne!(key.csrf_token(), key.id_hash());
        assert_ne!(key.csrf_token(), key.0);
        assert_eq!(key.csrf_token(), SessionKey(key.0.clone()).csrf_token());
    }

    #[test]
    fn only_well_formed_cookies_are_looked_up() {
        assert!(SessionKey::parse(&crypto::random_token(32)).is_some());
        assert!(SessionKey::parse("short").is_none());
        assert!(SessionKey::parse(&"%".repeat(43)).is_none());
        assert!(SessionKey::parse(&"a".repeat(44)).is_none());
    }

    #[test]
    fn exchange_log_keeps_the_newest() {
        let exchange = |at| Exchange {
            at,
            grant_type: "refresh_token".into(),
            endpoint: "http://a/token".into(),
            client_auth: "client_secret_basic".into(),
            status: 200,
            scope: None,
            expires_in: None,
            access_token_hint: None,
            refresh_token_hint: None,
            error: None,
        };
        let mut log = Vec::new();
        for at in 0..15 {
            log = serde_json::from_str(&with_exchange(log, exchange(at))).unwrap();
        }
        assert_eq!(log.len(), MAX_EXCHANGES);
        assert_eq!(log[0].at, 5);
        assert_eq!(log[9].at, 14);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(28_800), "8 hours");
        assert_eq!(duration(1_800), "30 minutes");
        assert_eq!(duration(60), "1 minute");
        assert_eq!(duration(90), "90 seconds");
    }
}
