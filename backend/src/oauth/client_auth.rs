//! Client authentication at the token endpoint (RFC 6749 §2.3), and at every endpoint that
//! authenticates clients as it does (revocation, introspection, PAR): a secret (HTTP Basic or
//! in the body), a JWT signed with the client's key (`private_key_jwt`, see
//! [`super::client_assertion`]), or, for a public client, its `client_id` alone.

use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shared::oauth::ErrorCode;

use super::client_assertion;
use super::error::OAuthError;
use super::params::Params;
use crate::crypto;
use crate::events::{Event, EventKind};
use crate::refusals::Why;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::Client;
use crate::throttle::{Verdict, address_key, retry_after_secs};

/// How the client authenticated, as RFC 8414 `token_endpoint_auth_methods_supported` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with one of the client's registered keys.
    PrivateKeyJwt,
    /// A public client identifies itself with `client_id` alone (RFC 6749 §2.1).
    None,
}

/// The methods of the token, revocation and PAR endpoints.
pub const SUPPORTED_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];
/// Introspection's: a public client proves nothing about itself (see `introspect`).
pub const CONFIDENTIAL_METHODS: [&str; 3] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
];

struct Credentials {
    client_id: String,
    secret: Option<String>,
    /// `private_key_jwt`'s `client_assertion`.
    assertion: Option<String>,
    method: AuthMethod,
}

/// Identifies and authenticates the client of a token, revocation or introspection request,
/// under the rate limits on failures per address and per client id (counted in the database,
/// so across every instance). A throttled request is refused before any lookup or hashing; a
/// failure costs two SHA-256 at most (client secrets are high-entropy, see
/// `crypto::sha256_hex`) and a read of the client as stored, and an unknown client costs no
/// hash at all.
pub async fn authenticate(
    state: &AppState,
    server: &AuthServer,
    peer: IpAddr,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Client, AuthMethod), OAuthError> {
    let address = address_key(peer);
    let credentials = credentials(headers, params);
    let client_id = credentials
        .as_ref()
        .ok()
        .filter(|c| c.client_id.len() <= MAX_CLIENT_ID_LEN)
        .map(|c| c.client_id.clone());
    // The per-client limit counts a client id *from one address*: counted per client id
    // alone, anyone who knows a client id could lock that client out with a few wrong secrets.
    let claimed = client_id.as_ref().map(|id| format!("{id} {address}"));
    let throttles = &state.throttles;
    let too_many = |wait| {
        OAuthError::throttled(
            "too many failed client authentications; wait before trying again",
            retry_after_secs(wait),
        )
    };
    let now_us = state.clock.now_us();
    if let Verdict::Refused(wait) = throttles
        .check_client_auth(&state.db, &address, claimed.as_deref(), now_us)
        .await?
    {
        return Err(too_many(wait));
    }
    // Checked, then counted only on failure: a verification is a SHA-256 or two (see
    // `crypto::sha256_hex`), so requests in flight add little, and honest parallel requests
    // never use up the allowance.
    let result = match credentials {
        Ok(credentials) => verify(state, server, &credentials, now_us).await,
        Err(e) => Err(e),
    };
    if let Err(error) = &result
        && error.code == ErrorCode::InvalidClient
    {
        // In a task of its own: a client that hangs up while its failure is being counted
        // cannot cancel the count (nor, on SQLite, the memory's note of it).
        let (state, detail) = (state.clone(), error.description.clone());
        let counted = tokio::spawn(crate::logs::in_request(async move {
            let with_client = |event: Event| match &client_id {
                Some(id) => event.client(id),
                None => event,
            };
            let event = Event::new(EventKind::ClientAuthFailed)
                .address(peer)
                .detail(detail);
            state.events.record(with_client(event)).await;
            let used_up = state
                .throttles
                .client_auth_failed(&state.db, &address, claimed.as_deref(), now_us)
                .await?;
            if used_up {
                let event = Event::new(EventKind::ClientAuthThrottled).address(peer);
                state.events.record(with_client(event)).await;
            }
            Ok::<_, crate::storage::Error>(())
        }));
        counted.await.map_err(OAuthError::server_error)??;
    }
    if let Ok((client, _)) = &result {
        crate::logs::identify(&client.id, None);
    }
    result
}

/// Longer client ids are never registered; they are not tracked as keys either.
const MAX_CLIENT_ID_LEN: usize = 256;

async fn verify(
    state: &AppState,
    server: &AuthServer,
    credentials: &Credentials,
    now_us: i64,
) -> Result<(Client, AuthMethod), OAuthError> {
    let db = &state.db;
    if credentials.client_id.len() > MAX_CLIENT_ID_LEN {
        return Err(OAuthError::invalid_client("unknown client_id"));
    }
    let unknown = || {
        OAuthError::invalid_client(format!(
            "unknown client_id {:?}; check the client id you registered",
            credentials.client_id
        ))
    };
    let mut client = db
        .client(&credentials.client_id)
        .await?
        .ok_or_else(unknown)?;
    if let Some(assertion) = &credentials.assertion {
        let now = crate::clock::Timestamp::from_micros(now_us);
        client_assertion::verify(state, server, &client, assertion, now).await?;
        return Ok((client, AuthMethod::PrivateKeyJwt));
    }
    if client.keys.is_some() {
        return Err(OAuthError::invalid_client(format!(
            "client {:?} authenticates with private_key_jwt: send client_assertion_type={} and \
             a client_assertion signed with its key (RFC 7523 §2.2), and no secret",
            client.id,
            client_assertion::JWT_BEARER
        )));
    }
    // A secret that does not match the client as kept in memory may be the one just rotated on
    // another instance: the client as stored decides (a failure costs this one read more), and
    // replaces the copy only if the secret did change.
    let mut verified = false;
    if let (Some(hash), Some(secret)) = (&client.secret_hash, &credentials.secret) {
        verified = crypto::verify_secret(secret, hash);
        if !verified {
            let stored = db
                .stored_client(&credentials.client_id)
                .await?
                .ok_or_else(unknown)?;
            if stored.secret_hash != client.secret_hash {
                db.forget_client(&client.id);
            }
            client = stored;
        }
    }
    match (&client.secret_hash, &credentials.secret) {
        (Some(hash), Some(secret)) => {
            // Checked once: against the copy in memory, or else against the client as stored.
            if !verified && !crypto::verify_secret(secret, hash) {
                return Err(OAuthError::invalid_client(format!(
                    "wrong client secret for client {:?}",
                    client.id
                ))
                .because(
                    Why::check("client_secret")
                        .expected(format!("the secret issued to client {} (kept only as a hash, compared in constant time)", client.id))
                        .got("a secret that does not match it")
                        .remedy("send the client's current secret: it is shown once, when the client is created or its secret rotated")
                        .client(&client.id),
                ));
            }
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_client(format!(
                "client {:?} is confidential: authenticate with HTTP Basic (client_secret_basic) \
                 or with client_secret in the body (client_secret_post)",
                client.id
            )));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_client(format!(
                "client {:?} is public and has no secret; send only client_id",
                client.id
            )));
        }
        (None, None) => {}
    }
    Ok((client, credentials.method))
}

fn credentials(headers: &HeaderMap, params: &Params) -> Result<Credentials, OAuthError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let basic = match (authorizations.next(), authorizations.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "more than one Authorization header",
            ));
        }
        (Some(value), None) => Some(parse_basic(value.as_bytes())?),
    };
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let assertion_type = params.get("client_assertion_type");
    let assertion = params.get("client_assertion");
    if assertion_type.is_some() || assertion.is_some() {
        return assertion_credentials(
            basic.is_some(),
            body_id,
            body_secret,
            assertion_type,
            assertion,
        );
    }
    match basic {
        Some((id, secret)) => {
            // RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "the client authenticated twice (HTTP Basic and client_secret in the body); use one method",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the one in the Authorization header",
                ));
            }
            Ok(Credentials {
                client_id: id,
                secret: Some(secret),
                assertion: None,
                method: AuthMethod::ClientSecretBasic,
            })
        }
        None => {
            let Some(id) = body_id else {
                return Err(OAuthError::invalid_client(
                    "no client authentication: send HTTP Basic credentials, or client_id (and client_secret) in the body",
                ));
            };
            let method = if body_secret.is_some() {
                AuthMethod::ClientSecretPost
            } else {
                AuthMethod::None
            };
            Ok(Credentials {
                client_id: id.to_owned(),
                secret: body_secret.map(str::to_owned),
                assertion: None,
                method,
            })
        }
    }
}

/// RFC 7521 §4.2 and RFC 7523 §2.2: `client_assertion_type` and `client_assertion` together,
/// as the only authentication; a `client_id`, if sent, is the assertion's.
fn assertion_credentials(
    basic: bool,
    body_id: Option<&str>,
    body_secret: Option<&str>,
    assertion_type: Option<&str>,
    assertion: Option<&str>,
) -> Result<Credentials, OAuthError> {
    if basic || body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "the client authenticated twice (a client assertion and a secret); use one method \
             (RFC 6749 §2.3)",
        ));
    }
    let (Some(assertion_type), Some(assertion)) = (assertion_type, assertion) else {
        return Err(OAuthError::invalid_request(
            "client_assertion_type and client_assertion go together (RFC 7521 §4.2)",
        ));
    };
    if assertion_type != client_assertion::JWT_BEARER {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion_type {:?} is not supported; use {}",
            crate::issuers::verify::clip(assertion_type),
            client_assertion::JWT_BEARER
        )));
    }
    let client_id = client_assertion::claimed_client(assertion)?;
    if body_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_request(
            "client_id differs from the client the assertion is from (its iss and sub)",
        ));
    }
    Ok(Credentials {
        client_id,
        secret: None,
        assertion: Some(assertion.to_owned()),
        method: AuthMethod::PrivateKeyJwt,
    })
}

/// `Basic base64(urlencode(client_id) ":" urlencode(secret))`: RFC 6749 §2.3.1 form-encodes
/// both parts before the Basic encoding, so a `:` in a client id cannot split it wrongly.
pub fn parse_basic(value: &[u8]) -> Result<(String, String), OAuthError> {
    let malformed = || {
        OAuthError::invalid_client("malformed HTTP Basic credentials in the Authorization header")
    };
    let value = std::str::from_utf8(value).map_err(|_| malformed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(format!(
            "unsupported Authorization scheme {scheme:?} at the token endpoint; use Basic"
        )));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |part: &str| -> Result<String, OAuthError> {
        let plus_as_space = part.replace('+', " ");
        percent_encoding::percent_decode_str(&plus_as_space)
            .decode_utf8()
            .map(|v| v.into_owned())
            .map_err(|_| malformed())
    };
    let (id, secret) = (decode(id)?, decode(secret)?);
    // RFC 6749 Appendix A.1: a client id is printable; a secret has no control characters.
    if id.is_empty() || id.chars().any(char::is_control) || secret.contains('\0') {
        return Err(malformed());
    }
    Ok((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(raw: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(raw)).into_bytes()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("demo-service:demo-service-secret")).unwrap(),
            ("demo-service".into(), "demo-service-secret".into())
        );
        assert_eq!(
            parse_basic(&basic("a%3Ab:p%2Bq+r")).unwrap(),
            ("a:b".into(), "p+q r".into())
        );
    }

    #[test]
    fn malformed_basic_is_refused() {
        for bad in [
            b"Basic".to_vec(),
            b"Basic !!!".to_vec(),
            basic("no-colon"),
            basic(":secret"),
            b"Bearer abc".to_vec(),
        ] {
            assert!(
                parse_basic(&bad).is_err(),
                "{}",
                String::from_utf8_lossy(&bad)
            );
        }
    }
}
