//! Sender-constrained tokens (DPoP, RFC 9449) in the browser: REST mode's "sender-constrained"
//! option.
//!
//! The app makes an ECDSA P-256 key pair with WebCrypto, the private half **non-extractable**:
//! no script, this app's included, can read it, only ask the browser to sign with it. The key
//! is kept in IndexedDB (which stores the key object itself, not its bytes), so it outlives a
//! reload as the access-token cookie does. Every token request and every API call then carries
//! a proof in the `DPoP` header: a JWT signed with the key, naming its public half (`jwk`), the
//! request's method and URL (`htm`, `htu`), when (`iat`), a unique `jti`, at the API the hash of
//! the access token (`ath`), and the server's nonce when it asks for one (§8, §9). The token
//! endpoint binds the tokens to the key (`cnf.jkt`, `token_type: DPoP`), and the API takes the
//! access token only as `Authorization: DPoP …` with a fresh proof by the same key: a token
//! copied out of the cookie is worth nothing elsewhere.

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CryptoKey, IdbDatabase, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode,
};

/// The request header a proof travels in (§4.1), and the response header of a server nonce
/// (§8.1).
pub const HEADER: &str = "DPoP";
pub const NONCE_HEADER: &str = "dpop-nonce";
/// The `typ` of a proof (§4.2).
const TYP: &str = "dpop+jwt";
/// Where the choice is kept (`localStorage`: it is the user's, for every tab).
const CHOICE_KEY: &str = "oauth.dpop";
const DB_NAME: &str = "oauth-shop";
const STORE: &str = "dpop-keys";
const KEY_ID: &str = "current";

thread_local! {
    /// The key, once loaded or made: every proof of this page is signed with it.
    static KEY: RefCell<Option<DpopKey>> = const { RefCell::new(None) };
    /// The last nonce each server gave (§8: `DPoP-Nonce`), by origin: the next proof to that
    /// server carries it.
    static NONCES: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

/// Whether the user chose sender-constrained tokens for their next login.
pub fn chosen() -> bool {
    local_storage()
        .and_then(|storage| storage.get_item(CHOICE_KEY).ok().flatten())
        .is_some_and(|value| value == "on")
}

pub fn choose(on: bool) {
    if let Some(storage) = local_storage() {
        let _ = if on {
            storage.set_item(CHOICE_KEY, "on")
        } else {
            storage.remove_item(CHOICE_KEY)
        };
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Which key a token request or an API call needs.
#[derive(Clone, Copy, Debug)]
pub enum Binding<'a> {
    /// A new login (the code exchange): the key this browser keeps, made on first use.
    NewLogin,
    /// The key a token (or its refresh token's login) is bound to: its `cnf.jkt`. Never made
    /// anew: a key that is not that one can only be refused.
    Key(&'a str),
}

/// The key pair: the private half as the browser's opaque handle, the public half's
/// coordinates (base64url, as in a JWK).
#[derive(Clone)]
pub struct DpopKey {
    private: CryptoKey,
    x: String,
    y: String,
}

impl DpopKey {
    /// The key `binding` needs.
    pub async fn get(binding: Binding<'_>) -> Result<Self, String> {
        let cached = KEY.with(|k| k.borrow().clone());
        match binding {
            Binding::NewLogin => {
                // What is kept, not what this page read before: another tab may have logged
                // out (and forgotten the key) since.
                let key = match stored().await? {
                    Some(key) => key,
                    // Another tab may make one at the same moment: the first kept wins, and
                    // both tabs use that one.
                    None => match add(&generate().await?).await? {
                        true => stored().await?.ok_or("the key just kept is not there")?,
                        false => stored().await?.ok_or("no key could be kept")?,
                    },
                };
                KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
                Ok(key)
            }
            Binding::Key(jkt) => {
                if let Some(key) = cached.filter(|key| key.thumbprint() == jkt) {
                    return Ok(key);
                }
                // Another tab may have logged in again with a new key since this one read it.
                match stored().await? {
                    Some(key) if key.thumbprint() == jkt => {
                        KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
                        Ok(key)
                    }
                    _ => Err(
                        "this browser no longer has the key the token is bound to (logged out \
                         and in again elsewhere?): log in again"
                            .into(),
                    ),
                }
            }
        }
    }

    /// The public key as a JWK (RFC 7517), with only the members RFC 7638 hashes.
    fn jwk(&self) -> Value {
        public_jwk(&self.x, &self.y)
    }

    /// Its RFC 7638 thumbprint: what the server puts in the token's `cnf.jkt`.
    pub fn thumbprint(&self) -> String {
        thumbprint(&self.x, &self.y)
    }

    /// A proof for `method` `url` (without query or fragment, §4.2 `htu`), with the hash of
    /// `access_token` at the API (§4.2 `ath`) and the server's latest nonce for that origin.
    pub async fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String, String> {
        let jti = random_id()?;
        let iat = (js_sys::Date::now() / 1000.0) as i64;
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        let nonce = nonce_for(htu);
        let input = signing_input(
            &self.jwk(),
            &claims(&jti, method, htu, iat, access_token, nonce.as_deref()),
        );
        let signature = sign(&self.private, input.as_bytes()).await?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// Forgets the key (at logout): the next login makes a new one, so two logins of this browser
/// cannot be linked by their key.
pub async fn forget() {
    KEY.with(|k| *k.borrow_mut() = None);
    let Ok(db) = open().await else {
        return;
    };
    if let Ok(tx) = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        && let Ok(Ok(_)) = tx
            .object_store(STORE)
            .map(|s| s.delete(&JsValue::from_str(KEY_ID)))
    {
        let _ = committed(&tx).await;
    }
    db.close();
}

/// The key a token is bound to (its `cnf.jkt`, RFC 9449 §6.1), read from the token itself;
/// `None` for a bearer token.
pub fn jkt_of(access_token: &str) -> Option<String> {
    let decoded = crate::jwt::decode(access_token).ok()?;
    decoded.payload["cnf"]["jkt"].as_str().map(str::to_owned)
}

/// Keeps the nonce a server sent (`DPoP-Nonce`, §8.1) for the next proof to it.
pub fn remember_nonce(url: &str, nonce: &str) {
    let origin = origin_of(url);
    NONCES.with(|nonces| {
        let mut nonces = nonces.borrow_mut();
        match nonces.iter_mut().find(|(o, _)| *o == origin) {
            Some((_, kept)) => nonce.clone_into(kept),
            None => nonces.push((origin, nonce.to_owned())),
        }
    });
}

fn nonce_for(url: &str) -> Option<String> {
    let origin = origin_of(url);
    NONCES.with(|nonces| {
        nonces
            .borrow()
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, nonce)| nonce.clone())
    })
}

/// `scheme://host[:port]` of an absolute URL.
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}

fn public_jwk(x: &str, y: &str) -> Value {
    // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace.
    json!({"crv": "P-256", "kty": "EC", "x": x, "y": y})
}

fn thumbprint(x: &str, y: &str) -> String {
    let canonical = public_jwk(x, y).to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// §4.2: the proof's claims.
fn claims(
    jti: &str,
    method: &str,
    htu: &str,
    iat: i64,
    access_token: Option<&str>,
    nonce: Option<&str>,
) -> Value {
    let mut claims = json!({"jti": jti, "htm": method, "htu": htu, "iat": iat});
    if let Some(token) = access_token {
        claims["ath"] = Value::from(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = Value::from(nonce);
    }
    claims
}

/// `BASE64URL(header) . BASE64URL(claims)`, the header naming the public key (§4.2).
fn signing_input(jwk: &Value, claims: &Value) -> String {
    let header = json!({"typ": TYP, "alg": "ES256", "jwk": jwk});
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).ok())
        .ok_or("this browser has no cryptographic random source")?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn subtle() -> Result<web_sys::SubtleCrypto, String> {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|crypto| crypto.subtle())
        .ok_or_else(|| "this browser has no WebCrypto (window.crypto.subtle)".to_owned())
}

fn object(pairs: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}

fn get(object: &JsValue, name: &str) -> Result<JsValue, String> {
    Reflect::get(object, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .ok_or_else(|| format!("WebCrypto gave no {name}"))
}

fn string(object: &JsValue, name: &str) -> Result<String, String> {
    get(object, name)?
        .as_string()
        .ok_or_else(|| format!("WebCrypto's {name} is not a string"))
}

async fn promise(value: Result<Promise, JsValue>, what: &str) -> Result<JsValue, String> {
    let promise = value.map_err(|_| format!("{what} failed"))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("{what} failed: {}", describe(&e)))
}

fn describe(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// A new ECDSA P-256 key pair whose private half cannot be exported (WebCrypto's
/// `extractable: false`).
async fn generate() -> Result<DpopKey, String> {
    let subtle = subtle()?;
    let algorithm = object(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())]);
    let usages = Array::of1(&JsValue::from_str("sign"));
    let pair = promise(
        subtle.generate_key_with_object(&algorithm, false, &usages),
        "making a key",
    )
    .await?;
    let private: CryptoKey = get(&pair, "privateKey")?.unchecked_into();
    let public: CryptoKey = get(&pair, "publicKey")?.unchecked_into();
    // The public half is always exportable.
    let jwk = promise(
        subtle.export_key("jwk", &public),
        "exporting the public key",
    )
    .await?;
    Ok(DpopKey {
        private,
        x: string(&jwk, "x")?,
        y: string(&jwk, "y")?,
    })
}

/// ECDSA with SHA-256: WebCrypto's signature is `r || s`, 64 bytes, as JWS wants (RFC 7518
/// §3.4).
async fn sign(key: &CryptoKey, data: &[u8]) -> Result<Vec<u8>, String> {
    let algorithm = object(&[("name", "ECDSA".into()), ("hash", "SHA-256".into())]);
    let signature = promise(
        subtle()?.sign_with_object_and_u8_array(&algorithm, key, data),
        "signing a DPoP proof",
    )
    .await?;
    Ok(Uint8Array::new(&signature).to_vec())
}

/// The database, with its one store made on first open.
async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser has no IndexedDB to keep the key in")?;
    let request: IdbOpenDbRequest = factory
        .open_with_u32(DB_NAME, 1)
        .map_err(|_| "IndexedDB could not be opened")?;
    let upgrade = Closure::once_into_js(move |event: web_sys::Event| {
        if let Some(db) = event
            .target()
            .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
            .and_then(|r| r.result().ok())
            .and_then(|db| db.dyn_into::<IdbDatabase>().ok())
        {
            let _ = db.create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    let db = wait(&request).await?;
    db.dyn_into::<IdbDatabase>()
        .map_err(|_| "IndexedDB gave no database".to_owned())
}

async fn stored() -> Result<Option<DpopKey>, String> {
    let db = open().await?;
    let read = async {
        let request = db
            .transaction_with_str(STORE)
            .and_then(|tx| tx.object_store(STORE))
            .and_then(|store| store.get(&JsValue::from_str(KEY_ID)))
            .map_err(|_| "the kept key could not be read")?;
        let kept = wait(&request).await?;
        if kept.is_undefined() || kept.is_null() {
            return Ok(None);
        }
        Ok(Some(DpopKey {
            private: get(&kept, "private")?.unchecked_into(),
            x: string(&kept, "x")?,
            y: string(&kept, "y")?,
        }))
    };
    let kept = read.await;
    db.close();
    kept
}

/// Keeps the key object itself (IndexedDB's structured clone keeps a non-extractable key
/// non-extractable: its bytes never reach this page), unless one is kept already: `false`
/// then (another tab was first). Done once the transaction has committed.
async fn add(key: &DpopKey) -> Result<bool, String> {
    let db = open().await?;
    let value = object(&[
        ("private", key.private.clone().into()),
        ("x", key.x.as_str().into()),
        ("y", key.y.as_str().into()),
    ]);
    let tx = db
        .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)
        .map_err(|_| "the key could not be kept")?;
    let added = match tx
        .object_store(STORE)
        .and_then(|store| store.add_with_key(&value, &JsValue::from_str(KEY_ID)))
    {
        Ok(_) => committed(&tx).await.is_ok(),
        Err(_) => false,
    };
    db.close();
    Ok(added)
}

/// Once `tx` has committed (`complete`); `Err` if it was aborted (a key already kept under
/// that name, a full disk).
async fn committed(tx: &IdbTransaction) -> Result<(), String> {
    let tx = tx.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let complete = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let aborted = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("the transaction failed"));
        });
        tx.set_oncomplete(Some(complete.unchecked_ref()));
        tx.set_onabort(Some(aborted.unchecked_ref()));
    });
    JsFuture::from(promise)
        .await
        .map(drop)
        .map_err(|e| format!("IndexedDB: {}", describe(&e)))
}

/// An IndexedDB request's result, once it succeeds.
async fn wait(request: &IdbRequest) -> Result<JsValue, String> {
    let request = request.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let done = request.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &done.result().unwrap_or(JsValue::UNDEFINED));
        });
        let failed = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("IndexedDB refused"));
        });
        request.set_onsuccess(Some(ok.unchecked_ref()));
        request.set_onerror(Some(failed.unchecked_ref()));
    });
    JsFuture::from(promise)
        .await
        .map_err(|e| format!("IndexedDB: {}", describe(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        // RFC 7638 hashes exactly {"crv","kty","x","y"} in that order, without spaces.
        let jwk = public_jwk("AQ", "Ag").to_string();
        assert_eq!(jwk, r#"{"crv":"P-256","kty":"EC","x":"AQ","y":"Ag"}"#);
        assert_eq!(
            thumbprint("AQ", "Ag"),
            URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()))
        );
    }

    #[test]
    fn a_proof_names_the_request_and_hashes_the_token() {
        let c = claims(
            "j",
            "GET",
            "https://api.example/api/me",
            7,
            Some("tok"),
            Some("n-1"),
        );
        assert_eq!(c["htm"], "GET");
        assert_eq!(c["htu"], "https://api.example/api/me");
        assert_eq!(c["iat"], 7);
        assert_eq!(
            c["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")).as_str()
        );
        assert_eq!(c["nonce"], "n-1");
        let bare = claims("j", "POST", "https://as.example/token", 7, None, None);
        assert!(bare.get("ath").is_none() && bare.get("nonce").is_none());
        let input = signing_input(&public_jwk("AQ", "Ag"), &bare);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["x"], "AQ");
    }

    #[test]
    fn nonces_are_kept_by_origin() {
        assert_eq!(
            origin_of("http://127.0.0.1:5000/token"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(origin_of("https://api.example"), "https://api.example");
        remember_nonce("https://as.example/token", "n1");
        assert_eq!(nonce_for("https://as.example/x").as_deref(), Some("n1"));
        remember_nonce("https://as.example/api/me", "n2");
        assert_eq!(nonce_for("https://as.example/token").as_deref(), Some("n2"));
        assert_eq!(nonce_for("https://other.example/x"), None);
    }

    #[test]
    fn a_tokens_key_is_read_from_its_cnf() {
        let token = |claims: &str| format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(claims));
        assert_eq!(
            jkt_of(&token(r#"{"cnf":{"jkt":"abc"}}"#)).as_deref(),
            Some("abc")
        );
        assert_eq!(jkt_of(&token(r#"{"sub":"u"}"#)), None);
        assert_eq!(jkt_of("not-a-jwt"), None);
    }
}
