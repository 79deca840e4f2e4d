//! Reading a trusted issuer's metadata and keys over HTTP: its OpenID Connect Discovery
//! document (or RFC 8414 metadata), which must name the issuer configured (the mix-up defence
//! of RFC 9700 §4.4), then the JWKS at its `jwks_uri`. Nothing else is ever fetched, and
//! nothing a token says decides a URL: the issuer is the configured one, the JWKS URL the one
//! its metadata states.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use url::Url;

/// A response larger than this is no metadata or key set (Entra's JWKS is about 10 KiB).
const MAX_DOCUMENT: usize = 256 * 1024;
/// Keys are read while a request waits for its answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Keys are kept at least this long, whatever `Cache-Control` says (`no-store` included): an
/// API must not read its issuer's keys for every request.
pub const MIN_FRESH_SECS: u64 = 60;
/// And at most a day, so that a withdrawn key stops being trusted.
pub const MAX_FRESH_SECS: u64 = 86_400;
/// Without `Cache-Control: max-age`.
pub const DEFAULT_FRESH_SECS: u64 = 3_600;
/// RSA keys shorter than 2048 bits are refused (RFC 8725 §3.5; NIST SP 800-131A).
const MIN_RSA_BYTES: usize = 256;

/// The client that reads issuers' documents: no redirects followed (a document is where the
/// metadata says it is), a timeout, https with the system's CA certificates. Without usable
/// CA certificates here it is built without them (and says so): https issuers then fail with a
/// certificate error when they are added, and the server still starts.
pub fn client() -> reqwest::Result<reqwest::Client> {
    crate::crypto::install_tls_provider();
    let builder = || {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("oauth-shop-api/", env!("CARGO_PKG_VERSION")))
    };
    builder().build().or_else(|e| {
        tracing::warn!(error = %e, "the system's CA certificates could not be read: trusted issuers over https will fail");
        builder().tls_built_in_root_certs(false).build()
    })
}

/// One verification key of an issuer (or of a client, see `oauth::client_keys`).
#[derive(Clone)]
pub struct ExternalKey {
    pub kid: Option<String>,
    /// The `alg` its JWK states, if it states one: then it is the only one it verifies.
    pub alg: Option<Algorithm>,
    pub key: DecodingKey,
}

/// What one reading of an issuer's keys found.
pub struct Fetched {
    pub jwks_uri: String,
    pub keys: Vec<ExternalKey>,
    /// How long they may be kept, from the JWKS response's `Cache-Control`.
    pub fresh_secs: u64,
    /// Keys in the set that were left out, and why (an encryption key, an HMAC key, a short
    /// RSA key, an unknown type): shown in the console.
    pub skipped: Vec<String>,
}

/// Whether `issuer` may be read over plain http: loopback addresses only (a provider on the
/// same machine, as in development and in this project's tests).
pub fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
}

/// Reads `issuer`'s metadata, then its keys.
pub async fn keys_of(http: &reqwest::Client, issuer: &str) -> Result<Fetched, String> {
    let issuer_url = Url::parse(issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
    let jwks_uri = discover(http, issuer, &issuer_url).await?;
    let (body, headers) = get(http, &jwks_uri).await?;
    let (keys, skipped) = parse_jwks(&body).map_err(|e| format!("{jwks_uri}: {e}"))?;
    if keys.is_empty() {
        return Err(format!(
            "{jwks_uri} holds no signature key this API can use{}",
            if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join("; "))
            }
        ));
    }
    Ok(Fetched {
        fresh_secs: freshness(&headers),
        jwks_uri,
        keys,
        skipped,
    })
}

/// Reads the JWK Set at `url` (a client's `jwks_uri`, RFC 7591 §2), with the same limits as an
/// issuer's: no redirects, 5 s, 256 KiB, https unless on loopback.
pub async fn jwks_at(http: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let parsed = Url::parse(url).map_err(|_| format!("{url:?} is not a URL"))?;
    if parsed.scheme() != "https" && !is_loopback_http(&parsed) {
        return Err(format!(
            "{url} is not https (plain http is only read on the loopback interface)"
        ));
    }
    let (body, headers) = get(http, url).await?;
    let (keys, skipped) = parse_jwks(&body).map_err(|e| format!("{url}: {e}"))?;
    Ok(Fetched {
        fresh_secs: freshness(&headers),
        jwks_uri: url.to_owned(),
        keys,
        skipped,
    })
}

/// The `jwks_uri` of `issuer`'s metadata: OpenID Connect Discovery 1.0 §4 first
/// (`{issuer}/.well-known/openid-configuration`), RFC 8414 §3 if that is not found. Either must
/// state exactly `issuer` (OpenID Connect Discovery §4.3, RFC 8414 §3.3).
async fn discover(
    http: &reqwest::Client,
    issuer: &str,
    issuer_url: &Url,
) -> Result<String, String> {
    let oidc = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let body = match get(http, &oidc).await {
        Ok((body, _)) => body,
        Err(first) => {
            // RFC 8414 §3.1: the well-known part goes between the host and the issuer's path.
            let mut rfc8414 = issuer_url.clone();
            let path = issuer_url.path().trim_end_matches('/').to_owned();
            rfc8414.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
            match get(http, rfc8414.as_str()).await {
                Ok((body, _)) => body,
                Err(_) => return Err(first),
            }
        }
    };
    #[derive(serde::Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let metadata: Metadata = serde_json::from_slice(&body)
        .map_err(|_| format!("{oidc} is not a metadata document (a JSON object)"))?;
    match metadata.issuer.as_deref() {
        Some(stated) if stated == issuer => {}
        Some(stated) => {
            return Err(format!(
                "the metadata of {issuer} states the issuer {stated:?}: an issuer's metadata \
                 must name exactly that issuer (check the issuer URL, including any trailing \
                 slash)"
            ));
        }
        None => return Err(format!("the metadata of {issuer} states no issuer")),
    }
    let jwks_uri = metadata
        .jwks_uri
        .ok_or_else(|| format!("the metadata of {issuer} has no jwks_uri"))?;
    let parsed =
        Url::parse(&jwks_uri).map_err(|_| format!("its jwks_uri {jwks_uri:?} is not a URL"))?;
    let allowed =
        parsed.scheme() == "https" || (is_loopback_http(issuer_url) && is_loopback_http(&parsed));
    if !allowed {
        return Err(format!(
            "its jwks_uri {jwks_uri:?} is not https (plain http is only read from a loopback \
             issuer)"
        ));
    }
    Ok(jwks_uri)
}

/// GETs `url`: a 200 with a body of at most [`MAX_DOCUMENT`] bytes, or why not.
async fn get(http: &reqwest::Client, url: &str) -> Result<(Vec<u8>, HeaderMap), String> {
    let mut response = http
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            let why = if e.is_timeout() {
                "no answer in time".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                e.to_string()
            };
            format!("{url}: {why}")
        })?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(format!("{url} answered {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(format!("{url} is larger than {MAX_DOCUMENT} bytes"));
    }
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{url}: the answer broke off ({e})"))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!("{url} is larger than {MAX_DOCUMENT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, headers))
}

/// How long keys may be kept after this answer: its `max-age`, within
/// [[`MIN_FRESH_SECS`], [`MAX_FRESH_SECS`]].
pub fn freshness(headers: &HeaderMap) -> u64 {
    let mut max_age = None;
    let mut uncacheable = false;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
            match name.to_ascii_lowercase().as_str() {
                "max-age" => max_age = arg.trim_matches('"').parse::<u64>().ok().or(max_age),
                "no-store" | "no-cache" => uncacheable = true,
                _ => {}
            }
        }
    }
    let secs = if uncacheable {
        MIN_FRESH_SECS
    } else {
        max_age.unwrap_or(DEFAULT_FRESH_SECS)
    };
    secs.clamp(MIN_FRESH_SECS, MAX_FRESH_SECS)
}

/// The signature keys of a JWKS (RFC 7517 §5), each read on its own: a key this API cannot
/// use is left out (and said), not a reason to refuse the others.
pub fn parse_jwks(body: &[u8]) -> Result<(Vec<ExternalKey>, Vec<String>), String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body)
        .map_err(|_| "not a JWK set (a JSON object with a keys array)".to_owned())?;
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, value) in set.keys.into_iter().enumerate() {
        let named = |kid: &Option<String>| match kid {
            Some(kid) => format!("key {kid:?}"),
            None => format!("key #{i}"),
        };
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            skipped.push(format!("key #{i}: not a key type this API knows"));
            continue;
        };
        let kid = jwk.common.key_id.clone();
        match usable(&jwk) {
            Ok((alg, key)) => keys.push(ExternalKey { kid, alg, key }),
            Err(why) => skipped.push(format!("{}: {why}", named(&kid))),
        }
    }
    Ok((keys, skipped))
}

/// A JWK as a verification key, or why it is not one.
fn usable(jwk: &Jwk) -> Result<(Option<Algorithm>, DecodingKey), &'static str> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return Err("an encryption key");
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::HS256 | KeyAlgorithm::HS384 | KeyAlgorithm::HS512) => {
            return Err("an HMAC key");
        }
        Some(alg) => Some(
            alg.to_string()
                .parse::<Algorithm>()
                .map_err(|_| "an encryption algorithm")?,
        ),
    };
    match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => return Err("a symmetric (oct) key"),
        AlgorithmParameters::RSA(rsa) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(rsa.n.trim_end_matches('='))
                .map_err(|_| "an RSA key whose modulus is not base64url")?;
            let significant = bytes.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_BYTES {
                return Err("an RSA key shorter than 2048 bits");
            }
        }
        AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::OctetKeyPair(_) => {}
        _ => return Err("a key type this API does not know"),
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "a key whose parameters are invalid")?;
    Ok((alg, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(cache_control: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in cache_control {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn keys_are_kept_as_long_as_cache_control_says_within_bounds() {
        assert_eq!(freshness(&headers(&[])), DEFAULT_FRESH_SECS);
        assert_eq!(freshness(&headers(&["public, max-age=600"])), 600);
        assert_eq!(freshness(&headers(&["max-age=\"900\""])), 900);
        assert_eq!(freshness(&headers(&["max-age=5"])), MIN_FRESH_SECS);
        assert_eq!(freshness(&headers(&["no-store"])), MIN_FRESH_SECS);
        assert_eq!(
            freshness(&headers(&["max-age=600", "no-cache"])),
            MIN_FRESH_SECS
        );
        assert_eq!(freshness(&headers(&["max-age=99999999"])), MAX_FRESH_SECS);
        assert_eq!(freshness(&headers(&["max-age=soon"])), DEFAULT_FRESH_SECS);
    }

    #[test]
    fn only_usable_signature_keys_are_taken() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "ec",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use": "sig", "alg": "ES256"});
        let enc = serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let oct = serde_json::json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
        let short_rsa = serde_json::json!({"kty": "RSA", "kid": "short", "e": "AQAB",
            "n": URL_SAFE_NO_PAD.encode([0xc5u8; 128])});
        let unknown = serde_json::json!({"kty": "XYZ", "kid": "new"});
        let body = serde_json::json!({"keys": [ec, enc, oct, short_rsa, unknown]}).to_string();
        let (keys, skipped) = parse_jwks(body.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("ec"));
        assert_eq!(keys[0].alg, Some(Algorithm::ES256));
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped[0].contains("encryption"));
        assert!(skipped[1].contains("symmetric"));
        assert!(skipped[2].contains("2048"));
        assert!(
            skipped[3].contains("\"new\"") || skipped[3].contains("#4"),
            "{skipped:?}"
        );
        for bad in [&b"[]"[..], b"{}", b"not json", br#"{"keys": {}}"#] {
            assert!(parse_jwks(bad).is_err());
        }
    }

    #[test]
    fn plain_http_is_for_loopback_issuers_only() {
        for (url, loopback) in [
            ("http://127.0.0.1:4000", true),
            ("http://localhost:4000/oidc", true),
            ("http://[::1]:4000", true),
            ("http://idp.example.com", false),
            ("https://127.0.0.1", false),
            ("http://10.0.0.1", false),
        ] {
            assert_eq!(
                is_loopback_http(&Url::parse(url).unwrap()),
                loopback,
                "{url}"
            );
        }
    }
}
