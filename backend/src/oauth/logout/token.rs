//! The two tokens of a logout: the ID token a client sends back as `id_token_hint` (OpenID
//! Connect RP-Initiated Logout 1.0 §2), and the logout token this server posts to a client's
//! `backchannel_logout_uri` (Back-Channel Logout 1.0 §2.4), which the backend-for-frontend
//! reads too.

use serde::{Deserialize, Serialize};
use shared::oauth::Audience;

use crate::access_token::LEEWAY_SECS;
use crate::clock::Timestamp;
use crate::crypto;
use crate::keys::{KeySet, SigningError};

/// Back-Channel Logout 1.0 §2.4: the `typ` header of a logout token, which no other JWT of
/// this server carries (RFC 8725 §3.11).
pub const LOGOUT_TOKEN_TYP: &str = "logout+jwt";
/// §2.4: the member of `events` that makes a JWT a logout token.
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is good for: it is posted at once, and read at once.
const LOGOUT_TOKEN_LIFETIME_SECS: i64 = 120;

/// The claims of a logout token (§2.4), as this server writes and reads them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogoutClaims {
    pub iss: String,
    /// The user; this server always sends it with `sid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    pub aud: Audience,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub events: serde_json::Map<String, serde_json::Value>,
    /// The login that ended: the `sid` of its ID tokens (a grant here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// §2.4: "prohibited", so that an ID token can never pass as a logout token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<serde_json::Value>,
}

impl LogoutClaims {
    /// The logout token of the login `sid` of `sub` at `client_id`, issued by `issuer` at `now`.
    pub fn new(issuer: &str, client_id: &str, sub: &str, sid: &str, now: Timestamp) -> Self {
        let mut events = serde_json::Map::new();
        events.insert(
            BACKCHANNEL_LOGOUT_EVENT.to_owned(),
            serde_json::Value::Object(serde_json::Map::new()),
        );
        Self {
            iss: issuer.to_owned(),
            sub: Some(sub.to_owned()),
            aud: Audience::one(client_id),
            iat: now.unix(),
            exp: now.unix() + LOGOUT_TOKEN_LIFETIME_SECS,
            jti: crypto::random_token(16),
            events,
            sid: Some(sid.to_owned()),
            nonce: None,
        }
    }

    pub fn sign(&self, keys: &KeySet) -> Result<String, SigningError> {
        keys.sign_as_id_token(self, LOGOUT_TOKEN_TYP)
    }

    /// Back-Channel Logout 1.0 §2.6: what a client checks of a logout token before it ends
    /// anything, as the backend-for-frontend (`client_id`) checks the ones of `issuer`, signed
    /// by `keys`. `Err` says what is wrong, for the 400 answer (§2.8).
    pub fn verify(
        token: &str,
        keys: &KeySet,
        issuer: &str,
        client_id: &str,
        now: Timestamp,
    ) -> Result<Self, String> {
        let (header, claims) = keys
            .verify_signed::<Self>(token)
            .map_err(|why| format!("the logout token is not one of this server's: {why}"))?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(LOGOUT_TOKEN_TYP))
        {
            return Err(format!(
                "the token is not a logout token: its typ header is not {LOGOUT_TOKEN_TYP}"
            ));
        }
        if claims.iss != issuer {
            return Err(format!(
                "the logout token was issued by {:?}, not by {issuer:?}",
                claims.iss.chars().take(100).collect::<String>()
            ));
        }
        if !claims.aud.contains(client_id) {
            return Err(format!(
                "the logout token is not for this client ({client_id})"
            ));
        }
        if claims.iat > now.unix() + LEEWAY_SECS {
            return Err("the logout token was issued in the future (iat)".into());
        }
        if claims.exp + LEEWAY_SECS < now.unix() {
            return Err("the logout token has expired (exp)".into());
        }
        if !claims
            .events
            .get(BACKCHANNEL_LOGOUT_EVENT)
            .is_some_and(serde_json::Value::is_object)
        {
            return Err(format!(
                "the logout token's events claim has no {BACKCHANNEL_LOGOUT_EVENT} object"
            ));
        }
        if claims.nonce.is_some() {
            return Err("the token carries a nonce: it is an ID token, not a logout token".into());
        }
        if claims.sub.is_none() && claims.sid.is_none() {
            return Err("the logout token names neither a user (sub) nor a login (sid)".into());
        }
        if claims.jti.is_empty() {
            return Err("the logout token has an empty jti".into());
        }
        Ok(claims)
    }
}

/// The claims of an ID token that matter to a logout.
#[derive(Clone, Debug, Deserialize)]
pub struct HintClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub sid: Option<String>,
}

/// Who an `id_token_hint` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub sub: String,
    pub client_id: String,
    pub sid: Option<String>,
    /// When the ID token was issued: one without `sid` names only the logins made by then.
    pub issued_at: Timestamp,
}

/// RP-Initiated Logout 1.0 §2: an ID token `issuer` issued (signed by `keys`), whose client is
/// `client_id` when one is named. An expired ID token is taken ("the OP SHOULD accept it" when
/// it issued it): logging out is what one does with an old login. `Err` says what to fix.
pub fn read_hint(
    token: &str,
    keys: &KeySet,
    issuer: &str,
    client_id: Option<&str>,
    now: Timestamp,
) -> Result<Hint, String> {
    let (header, claims) = keys
        .verify_signed::<HintClaims>(token)
        .map_err(|why| format!("id_token_hint is not an ID token of this server: {why}"))?;
    if let Some(typ) = header
        .typ
        .as_deref()
        .filter(|t| !t.eq_ignore_ascii_case("JWT"))
    {
        return Err(format!(
            "id_token_hint is a {:?} token, not an ID token: send the ID token the client \
             received with its tokens",
            typ.chars().take(40).collect::<String>()
        ));
    }
    if claims.iss != issuer {
        return Err(format!(
            "id_token_hint was issued by {:?}, not by this server ({issuer}): send the browser to \
             the end_session_endpoint of the server that issued it",
            claims.iss.chars().take(100).collect::<String>()
        ));
    }
    let Some(iat) = claims.iat else {
        return Err("id_token_hint has no iat: it is not an ID token of this server".into());
    };
    if iat > now.unix() + LEEWAY_SECS {
        return Err("id_token_hint was issued in the future (iat)".into());
    }
    let audiences: Vec<&str> = claims.aud.iter().collect();
    let client = match client_id {
        Some(id) if audiences.contains(&id) => id.to_owned(),
        Some(id) => {
            return Err(format!(
                "id_token_hint was issued to another client than client_id {:?}",
                id.chars().take(64).collect::<String>()
            ));
        }
        None => match (audiences.as_slice(), claims.azp) {
            ([one], _) => (*one).to_owned(),
            (_, Some(azp)) if audiences.contains(&azp.as_str()) => azp,
            _ => {
                return Err(
                    "id_token_hint has several audiences and no azp: add client_id to say which \
                     client is logging the user out"
                        .into(),
                );
            }
        },
    };
    Ok(Hint {
        sub: claims.sub,
        client_id: client,
        sid: claims.sid,
        issued_at: Timestamp::from_unix(iat),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Owner, generate};
    use shared::admin::KeyState;

    const ISSUER: &str = "https://as.example";

    fn keys() -> KeySet {
        let owner = Owner::root();
        let stored: Vec<_> = owner
            .algs()
            .into_iter()
            .map(|alg| generate("", alg, KeyState::Current, Timestamp::from_unix(0)).unwrap())
            .collect();
        KeySet::from_stored(&stored, &owner).unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::from_unix(1_700_000_000)
    }

    #[test]
    fn a_logout_token_round_trips_and_names_the_login() {
        let keys = keys();
        let token = LogoutClaims::new(ISSUER, "demo-bff", "usr_1", "grant-1", now())
            .sign(&keys)
            .unwrap();
        let read = LogoutClaims::verify(&token, &keys, ISSUER, "demo-bff", now()).unwrap();
        assert_eq!(read.sid.as_deref(), Some("grant-1"));
        assert_eq!(read.sub.as_deref(), Some("usr_1"));
        assert!(read.nonce.is_none());
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some(LOGOUT_TOKEN_TYP));
    }

    #[test]
    fn a_logout_token_is_refused_for_another_client_issuer_or_time() {
        let keys = keys();
        let token = LogoutClaims::new(ISSUER, "demo-bff", "usr_1", "grant-1", now())
            .sign(&keys)
            .unwrap();
        let refused = |issuer: &str, client: &str, at: Timestamp| {
            LogoutClaims::verify(&token, &keys, issuer, client, at).unwrap_err()
        };
        assert!(refused(ISSUER, "other", now()).contains("not for this client"));
        assert!(refused("https://other.example", "demo-bff", now()).contains("issued by"));
        assert!(refused(ISSUER, "demo-bff", now().plus_secs(600)).contains("expired"));
        assert!(
            refused(ISSUER, "demo-bff", Timestamp::from_unix(1_600_000_000)).contains("future")
        );
        // Another server's keys know nothing of it.
        let other = LogoutClaims::verify(&token, &self::keys(), ISSUER, "demo-bff", now());
        assert!(other.unwrap_err().contains("unknown kid"));
    }

    #[test]
    fn an_id_token_or_a_token_without_the_event_is_no_logout_token() {
        let keys = keys();
        let mut claims = LogoutClaims::new(ISSUER, "demo-bff", "usr_1", "grant-1", now());
        // Signed without the typ header, as an ID token is.
        let untyped = keys.sign_id_token(&claims).unwrap();
        let why = LogoutClaims::verify(&untyped, &keys, ISSUER, "demo-bff", now()).unwrap_err();
        assert!(why.contains("typ"), "{why}");
        claims.events.clear();
        let eventless = claims.sign(&keys).unwrap();
        let why = LogoutClaims::verify(&eventless, &keys, ISSUER, "demo-bff", now()).unwrap_err();
        assert!(why.contains("events"), "{why}");
        claims = LogoutClaims::new(ISSUER, "demo-bff", "usr_1", "grant-1", now());
        claims.nonce = Some(serde_json::json!("n-1"));
        let with_nonce = claims.sign(&keys).unwrap();
        let why = LogoutClaims::verify(&with_nonce, &keys, ISSUER, "demo-bff", now()).unwrap_err();
        assert!(why.contains("nonce"), "{why}");
    }

    #[test]
    fn an_id_token_hint_names_its_user_client_and_login_even_expired() {
        let keys = keys();
        let id_token = keys
            .sign_id_token(&serde_json::json!({
                "iss": ISSUER, "sub": "usr_1", "aud": "demo-spa", "exp": 1, "iat": 0,
                "sid": "grant-1"
            }))
            .unwrap();
        let hint = read_hint(&id_token, &keys, ISSUER, None, now()).unwrap();
        assert_eq!(
            hint,
            Hint {
                sub: "usr_1".into(),
                client_id: "demo-spa".into(),
                sid: Some("grant-1".into()),
                issued_at: Timestamp::from_unix(0),
            }
        );
        assert_eq!(
            read_hint(&id_token, &keys, ISSUER, Some("demo-spa"), now()).unwrap(),
            hint
        );
        let why = read_hint(&id_token, &keys, ISSUER, Some("other"), now()).unwrap_err();
        assert!(why.contains("another client"), "{why}");
        let why = read_hint(&id_token, &keys, "https://b.example", None, now()).unwrap_err();
        assert!(why.contains("not by this server"), "{why}");
    }

    #[test]
    fn an_access_token_or_a_forged_hint_is_refused() {
        let keys = keys();
        let claims =
            serde_json::json!({"iss": ISSUER, "sub": "usr_1", "aud": "demo-spa", "iat": 1});
        let access = keys.sign(&claims, Some("at+jwt")).unwrap();
        let why = read_hint(&access, &keys, ISSUER, None, now()).unwrap_err();
        assert!(why.contains("not an ID token"), "{why}");
        let mut forged = keys.sign_id_token(&claims).unwrap();
        forged.push('A');
        let why = read_hint(&forged, &keys, ISSUER, None, now()).unwrap_err();
        assert!(
            why.contains("signature") || why.contains("malformed"),
            "{why}"
        );
        let why = read_hint("not-a-jwt", &keys, ISSUER, None, now()).unwrap_err();
        assert!(why.contains("not a JWT"), "{why}");
        let several = keys
            .sign_id_token(
                &serde_json::json!({"iss": ISSUER, "sub": "u", "aud": ["a", "b"], "iat": 1}),
            )
            .unwrap();
        let why = read_hint(&several, &keys, ISSUER, None, now()).unwrap_err();
        assert!(why.contains("client_id"), "{why}");
    }
}
