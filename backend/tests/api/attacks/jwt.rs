//! JWT access-token validation at the API: every case is sent to `/api/whoami` as
//! `Authorization: Bearer`, and then to `/introspect`, which must call each refused token
//! exactly `{"active": false}` (RFC 7662 §2.2).
//!
//! Sources: RFC 7515 (JWS), RFC 7519 (JWT), RFC 8725 (JWT BCP), RFC 9068 (JWT access tokens),
//! RFC 6750 (Bearer), RFC 9700 (OAuth security BCP) and the OWASP JWT cheat sheet. Most tokens
//! carry a correct signature by the server's own key, so that only the check under test can
//! refuse them; each table starts with positive controls that the same construction passes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{EcKey, RsaKey, assert_api_refusal, assert_no_credentials, b64};
use crate::helpers::*;
use shared::admin::{KeyState, SigningAlg};

/// What the API must answer.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200: a positive control.
    Accepted,
    /// 401 `invalid_token`, the description saying this.
    Invalid(&'static str),
    /// 400 `invalid_request`: not even the RFC 6750 §2.1 syntax.
    Syntax,
}
use Expect::*;

const ALG: &str = "not signed with ES256, RS256 or EdDSA";
const KEY_ALG: &str = "not the algorithm of the key its kid names";
const HEADER: &str = "header is malformed";
const TYP: &str = "typ header is not at+jwt";
const CRIT: &str = "critical header parameters";
const OWN_KEY: &str = "names its own key";
const NO_KID: &str = "has no kid header";
const UNKNOWN_KEY: &str = "signed by an unknown key";
const SIGNATURE: &str = "signature is invalid";
const EXPIRED: &str = "the access token expired";
const NOT_YET: &str = "not valid yet";
const ISSUER: &str = "an issuer this API does not trust";
const AUDIENCE: &str = "another audience";
const MISSING: &str = "lacks a required claim";
const MALFORMED: &str = "the access token is malformed";
const NOT_JWT: &str = "expected three dot-separated parts";
const TOO_LONG: &str = "longer than 4096 bytes";

struct Case {
    rule: &'static str,
    name: String,
    token: String,
    expect: Expect,
}

fn case(rule: &'static str, name: impl Into<String>, token: String, expect: Expect) -> Case {
    Case {
        rule,
        name: name.into(),
        token,
        expect,
    }
}

/// `base` with `changes` applied: a `null` in `changes` removes the member.
fn with(base: &Value, changes: Value) -> Value {
    let mut out = base.clone();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            out.as_object_mut().unwrap().remove(name);
        } else {
            out[name] = value.clone();
        }
    }
    out
}

/// Sends every case to the API and to introspection, and checks that none changed anything
/// stored.
async fn run(app: &TestApp, cases: Vec<Case>) {
    for case in cases {
        let label = format!("{} [{}]", case.name, case.rule);
        let before = storage_fingerprint(app).await;
        let response = app
            .http
            .get(app.url("/api/whoami"))
            .header("authorization", format!("Bearer {}", case.token))
            .send()
            .await
            .unwrap();
        match case.expect {
            Accepted => {
                assert_eq!(response.status(), StatusCode::OK, "{label}");
                assert_eq!(
                    response.json::<Value>().await.unwrap()["auth_scheme"],
                    "Bearer"
                );
            }
            Invalid(why) => {
                assert_api_refusal(
                    &label,
                    response,
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    why,
                )
                .await;
            }
            Syntax => {
                assert_api_refusal(
                    &label,
                    response,
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "RFC 6750 §2.1 does not allow",
                )
                .await;
            }
        }
        let active = app.introspect(&case.token).await;
        match case.expect {
            Accepted => assert_eq!(active["active"], true, "{label}"),
            _ => assert_eq!(active, json!({"active": false}), "introspection: {label}"),
        }
        assert_eq!(storage_fingerprint(app).await, before, "{label}");
    }
}

/// A fresh server, its signing key, the header of its access tokens and valid claims.
async fn setup() -> (TestApp, EcKey, Value, Value) {
    let app = spawn_app().await;
    let key = EcKey::current(&app).await;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid});
    let claims = app.claims("products:read");
    (app, key, header, claims)
}

/// The JWKS entry of `kid`, as the server publishes it.
async fn jwks_key(app: &TestApp, kid: &str) -> String {
    let jwks: Value = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter().find(|k| k["kid"] == kid).unwrap().to_string()
}

/// A JWS signed with HMAC, keyed with `secret`.
fn hmac(alg: Algorithm, kid: &str, claims: &Value, secret: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// The public key as a SubjectPublicKeyInfo (DER and PEM): what the classic confusion attack
/// uses as the HMAC secret.
fn public_key_der_and_pem(key: &EcKey) -> (Vec<u8>, String) {
    // RFC 5480 §2: SEQUENCE { id-ecPublicKey, prime256v1 } followed by the uncompressed point.
    let mut der = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    der.extend_from_slice(key.key.verifying_key().to_encoded_point(false).as_bytes());
    let body = STANDARD.encode(&der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    (der, pem)
}

/// The order n of P-256 (FIPS 186-4 D.1.2.3): r = s = n is zero modulo n.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

#[tokio::test]
async fn algorithms_and_signatures() {
    let (app, key, header, claims) = setup().await;
    let good = key.sign(&header, &claims);
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    let payload = signing_input.split('.').nth(1).unwrap();
    let raw_signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let with_signature = |sig: &[u8]| format!("{signing_input}.{}", b64(sig));

    let mut cases = vec![
        case(
            "control",
            "ES256 by the server's key",
            good.clone(),
            Accepted,
        ),
        case(
            "control",
            "typ is a media type: case-insensitive (RFC 7515 §4.1.9)",
            key.sign(&with(&header, json!({"typ": "AT+JWT"})), &claims),
            Accepted,
        ),
        case(
            "control",
            "typ with the application/ prefix (RFC 9068 §2.1)",
            key.sign(
                &with(&header, json!({"typ": "application/at+jwt"})),
                &claims,
            ),
            Accepted,
        ),
    ];
    // RFC 8725 §3.1, OWASP JWT "None hashing algorithm": the algorithm is the server's, never
    // the token's, in any spelling, with or without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = b64(with(&header, json!({"alg": alg})).to_string().as_bytes());
        for (suffix, sig) in [("no signature", ""), ("a signature", "c2ln")] {
            cases.push(case(
                "RFC 8725 §2.1/§3.1",
                format!("alg {alg}, {suffix}"),
                format!("{unsigned}.{payload}.{sig}"),
                Invalid(HEADER),
            ));
        }
    }
    // RFC 8725 §3.1: other algorithms, including another of the same family.
    for (alg, why) in [
        ("ES384", ALG),
        ("RS256", KEY_ALG),
        ("PS256", ALG),
        ("EdDSA", KEY_ALG),
        ("ES512", HEADER),
        ("ES256K", HEADER),
    ] {
        cases.push(case(
            "RFC 8725 §3.1",
            format!("alg {alg} over an ES256 signature"),
            key.sign_raw(
                with(&header, json!({"alg": alg})).to_string().as_bytes(),
                claims.to_string().as_bytes(),
            ),
            Invalid(why),
        ));
    }
    // RFC 8725 §2.1/§3.1 ("each key is used with exactly one algorithm"), OWASP JWT: HMAC
    // keyed with the public key in every form a verifier could mistake for a secret.
    let (der, pem) = public_key_der_and_pem(&key);
    let jwk = key.jwk().to_string();
    let point = key.key.verifying_key().to_encoded_point(false);
    for (alg, form, secret) in [
        (Algorithm::HS256, "PEM", pem.as_bytes()),
        (Algorithm::HS256, "DER", der.as_slice()),
        (Algorithm::HS256, "JWK", jwk.as_bytes()),
        (Algorithm::HS256, "SEC1 point", point.as_bytes()),
        (Algorithm::HS384, "PEM", pem.as_bytes()),
        (Algorithm::HS512, "PEM", pem.as_bytes()),
    ] {
        cases.push(case(
            "RFC 8725 §3.1",
            format!("{alg:?} keyed with the public key ({form})"),
            hmac(alg, &key.kid, &claims, secret),
            Invalid(ALG),
        ));
    }
    // The server also holds RS256 keys (ID tokens): the key a token names decides the algorithm
    // (RFC 8725 §3.1), so an RS256 signature by it verifies, and no other algorithm does.
    let rsa = RsaKey::current(&app).await;
    let rsa_header = json!({"alg": "RS256", "typ": "at+jwt", "kid": rsa.kid});
    cases.push(case(
        "control",
        "RS256 by the server's RS256 key",
        rsa.sign(&rsa_header, &claims),
        Accepted,
    ));
    for alg in ["ES256", "EdDSA"] {
        cases.push(case(
            "RFC 8725 §3.1",
            format!("alg {alg} naming the RS256 key, over its RS256 signature"),
            rsa.sign(&with(&rsa_header, json!({"alg": alg})), &claims),
            Invalid(KEY_ALG),
        ));
    }
    cases.push(case(
        "RFC 8725 §3.1",
        "alg RS256 naming the ES256 key, over the RS256 key's signature",
        rsa.sign(&with(&rsa_header, json!({"kid": key.kid})), &claims),
        Invalid(KEY_ALG),
    ));
    let rsa_der = rsa.public_der();
    let rsa_jwk = jwks_key(&app, &rsa.kid).await;
    for (form, secret) in [("DER", rsa_der.as_slice()), ("JWK", rsa_jwk.as_bytes())] {
        cases.push(case(
            "RFC 8725 §3.1",
            format!("HS256 keyed with the RS256 public key ({form})"),
            hmac(Algorithm::HS256, &rsa.kid, &claims, secret),
            Invalid(ALG),
        ));
    }
    // CVE-2022-21449 ("psychic signatures"), RFC 8725 §3.3, RFC 7518 §3.4: r and s must be in
    // [1, n-1], and the signature is exactly 64 bytes.
    let mut zero_r = raw_signature.clone();
    zero_r[..32].fill(0);
    let mut zero_s = raw_signature.clone();
    zero_s[32..].fill(0);
    let order_twice = [P256_ORDER, P256_ORDER].concat();
    let mut flipped = raw_signature.clone();
    flipped[63] ^= 1;
    for (name, sig) in [
        ("r = s = 0, 64 zero bytes", vec![0u8; 64]),
        ("r = 0", zero_r),
        ("s = 0", zero_s),
        ("r = s = n", order_twice),
        (
            "r = s = 0, DER-encoded",
            vec![0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00],
        ),
        ("32 zero bytes", vec![0u8; 32]),
        ("an empty signature", vec![]),
        ("the last bit flipped", flipped),
    ] {
        cases.push(case(
            "CVE-2022-21449, RFC 8725 §3.3",
            name,
            with_signature(&sig),
            Invalid(SIGNATURE),
        ));
    }
    // RFC 7515 §5.2: the signature covers header and payload, byte for byte.
    let other = app.service_token().await;
    let other_signature = other.rsplit_once('.').unwrap().1;
    cases.push(case(
        "RFC 7515 §5.2",
        "the signature of another token of this server",
        format!("{signing_input}.{other_signature}"),
        Invalid(SIGNATURE),
    ));
    let next = app
        .db
        .signing_keys("")
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.state == KeyState::Next && k.alg == SigningAlg::Es256)
        .expect("a published next key");
    cases.push(case(
        "RFC 7515 §4.1.4",
        "kid of the published next key over the current key's signature",
        key.sign(&with(&header, json!({"kid": next.kid})), &claims),
        Invalid(SIGNATURE),
    ));
    for (name, changed) in [
        (
            "scope widened",
            json!({"scope": "products:read orders:write admin"}),
        ),
        ("sub changed", json!({"sub": "usr_someone_else"})),
        (
            "exp pushed back",
            json!({"exp": claims["exp"].as_i64().unwrap() + 86_400}),
        ),
    ] {
        let tampered = b64(with(&claims, changed).to_string().as_bytes());
        let head = signing_input.split('.').next().unwrap();
        cases.push(case(
            "RFC 7515 §5.2",
            format!("payload tampered: {name}"),
            format!("{head}.{tampered}.{signature}"),
            Invalid(SIGNATURE),
        ));
    }
    let foreign = spawn_app().await.service_token().await;
    cases.push(case(
        "RFC 7515 §5.2",
        "a signature by another server's key",
        format!("{signing_input}.{}", foreign.rsplit_once('.').unwrap().1),
        Invalid(SIGNATURE),
    ));
    // Keys the token brings along (RFC 8725 §3.10: never follow jku/x5u, the SSRF of §2.9;
    // RFC 9068 §4: only the issuer's keys; OWASP JWT): refused on sight, even when the
    // signature is right, and when the token is signed by the attacker's key it names.
    let attacker = EcKey::attacker();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let trap = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    let cert = STANDARD.encode(b"not really a certificate");
    for (name, extra) in [
        ("jwk", json!({"jwk": attacker.jwk()})),
        ("jku", json!({"jku": format!("{trap}/jwks.json")})),
        ("x5u", json!({"x5u": format!("{trap}/cert.pem")})),
        ("x5c", json!({"x5c": [cert]})),
    ] {
        cases.push(case(
            "RFC 8725 §3.10, RFC 9068 §4",
            format!("{name} header, signed by the server's key"),
            key.sign(&with(&header, extra.clone()), &claims),
            Invalid(OWN_KEY),
        ));
        let mut own = with(&header, extra);
        own["kid"] = json!("attacker");
        if name == "jwk" {
            own.as_object_mut().unwrap().remove("kid");
        }
        cases.push(case(
            "RFC 8725 §3.10, RFC 9068 §4",
            format!("{name} header, signed by the key it names"),
            attacker.sign(&own, &claims),
            Invalid(OWN_KEY),
        ));
    }
    cases.push(case(
        "RFC 8725 §3.10",
        "kid is a URL of the attacker's",
        key.sign(
            &with(&header, json!({"kid": format!("{trap}/key")})),
            &claims,
        ),
        Invalid(UNKNOWN_KEY),
    ));
    run(&app, cases).await;

    // The server fetched nothing: the listener saw no connection. It would have counted one.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "the server fetched a key"
    );
    drop(tokio::net::TcpStream::connect(trap.trim_start_matches("http://")).await);
    for _ in 0..50 {
        if connections.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn headers() {
    let (app, key, header, claims) = setup().await;
    let signed = |changes: Value| key.sign(&with(&header, changes), &claims);
    let raw_header = |text: &str| key.sign_raw(text.as_bytes(), claims.to_string().as_bytes());
    let kid = key.kid.clone();

    let mut cases = vec![case(
        "control",
        "the plain header",
        signed(json!({})),
        Accepted,
    )];
    // RFC 9068 §4 (typ must be at+jwt), RFC 8725 §3.11 (explicit typing against cross-JWT
    // confusion).
    for (name, typ) in [
        ("typ missing", Value::Null),
        ("typ JWT", json!("JWT")),
        ("typ jwt", json!("jwt")),
        ("typ application/jwt", json!("application/jwt")),
        ("typ with a trailing space", json!("at+jwt ")),
        ("typ with a parameter", json!("at+jwt; x=1")),
        ("typ of a logout token", json!("logout+jwt")),
        ("typ empty", json!("")),
    ] {
        let token = if typ.is_null() {
            signed(json!({"typ": null}))
        } else {
            signed(json!({ "typ": typ }))
        };
        cases.push(case(
            "RFC 9068 §4, RFC 8725 §3.11",
            name,
            token,
            Invalid(TYP),
        ));
    }
    cases.push(case(
        "RFC 7515 §4.1.9",
        "typ a number",
        raw_header(&format!(r#"{{"alg":"ES256","typ":1,"kid":"{kid}"}}"#)),
        Invalid(HEADER),
    ));
    // RFC 7515 §4.1.11: a critical extension the server does not understand is fatal.
    for (name, extra) in [
        ("crit [exp]", json!({"crit": ["exp"]})),
        (
            "crit [b64] with b64 false (RFC 7797)",
            json!({"crit": ["b64"], "b64": false}),
        ),
        ("crit made up", json!({"crit": ["urn:example:unknown"]})),
        ("crit empty (forbidden by §4.1.11)", json!({"crit": []})),
    ] {
        cases.push(case("RFC 7515 §4.1.11", name, signed(extra), Invalid(CRIT)));
    }
    cases.push(case(
        "RFC 7515 §4.1.11",
        "crit a string",
        signed(json!({"crit": "exp"})),
        Invalid(HEADER),
    ));
    // RFC 8725 §3.10 (kid used for SQL or path lookups), RFC 7515 §4.1.4: the kid only selects
    // one of the server's own keys.
    for (name, value, expect) in [
        (
            "kid path traversal",
            json!("../../../../etc/passwd"),
            UNKNOWN_KEY,
        ),
        ("kid /dev/null", json!("/dev/null"), UNKNOWN_KEY),
        ("kid SQL", json!("' OR '1'='1' --"), UNKNOWN_KEY),
        (
            "kid SQL union",
            json!("x' UNION SELECT private_der FROM signing_keys --"),
            UNKNOWN_KEY,
        ),
        ("kid 2000 characters", json!("k".repeat(2000)), UNKNOWN_KEY),
        ("kid with a NUL", json!(format!("{kid}\u{0}")), UNKNOWN_KEY),
        ("kid upper-cased", json!(kid.to_uppercase()), UNKNOWN_KEY),
        ("kid empty", json!(""), UNKNOWN_KEY),
        ("kid missing", Value::Null, NO_KID),
        ("kid a number", json!(7), HEADER),
        ("kid an array", json!([kid]), HEADER),
        ("kid an object", json!({"kid": kid}), HEADER),
    ] {
        let token = if value.is_null() {
            signed(json!({"kid": null}))
        } else {
            signed(json!({ "kid": value }))
        };
        cases.push(case("RFC 8725 §3.10", name, token, Invalid(expect)));
    }
    cases.push(case(
        "RFC 7515 §4.1.4",
        "kid null",
        raw_header(r#"{"alg":"ES256","typ":"at+jwt","kid":null}"#),
        Invalid(NO_KID),
    ));
    // RFC 7515 §4: a header parameter twice is either refused or read last-wins. Refusing is
    // the only reading no other parser can disagree with (RFC 8725 §2.6); each pair is sent in
    // both orders, so that neither first-wins nor last-wins passes.
    for (name, valid, hostile) in [
        ("alg", "ES256", "HS256"),
        ("typ", "at+jwt", "JWT"),
        ("kid", kid.as_str(), "bogus"),
    ] {
        for (first, second) in [(valid, hostile), (hostile, valid)] {
            let mut members = vec![
                r#""alg":"ES256""#.to_owned(),
                r#""typ":"at+jwt""#.to_owned(),
                format!(r#""kid":"{kid}""#),
            ];
            members.retain(|m| !m.starts_with(&format!(r#""{name}""#)));
            members.push(format!(r#""{name}":"{first}","{name}":"{second}""#));
            cases.push(case(
                "RFC 7515 §4, RFC 8725 §2.6",
                format!("{name} twice: {first} then {second}"),
                raw_header(&format!("{{{}}}", members.join(","))),
                Invalid(HEADER),
            ));
        }
    }
    // RFC 7515 §5.2 step 3: the header must be a JSON object in UTF-8.
    for (name, bytes) in [
        (
            "header not UTF-8",
            b"{\"alg\":\"ES256\",\"typ\":\"at+jwt\xff\"}".to_vec(),
        ),
        ("header a JSON array", b"[\"ES256\"]".to_vec()),
        ("header not JSON", b"alg=ES256".to_vec()),
        ("header empty", Vec::new()),
    ] {
        cases.push(case(
            "RFC 7515 §5.2",
            name,
            key.sign_raw(&bytes, claims.to_string().as_bytes()),
            Invalid(HEADER),
        ));
    }
    run(&app, cases).await;
}

#[tokio::test]
async fn claims() {
    let (app, key, header, base) = setup().await;
    let signed = |changes: Value| key.sign(&header, &with(&base, changes));
    let raw = |text: String| key.sign_raw(header.to_string().as_bytes(), text.as_bytes());
    let now = app.clock.now().unix();
    let iss = app.api.clone();

    let mut cases = vec![
        case("control", "every claim right", signed(json!({})), Accepted),
        // RFC 7519 §4.1.4/§4.1.5's "small leeway": 30 s either way.
        case(
            "RFC 7519 §4.1.4",
            "exp 10 s ago, inside the leeway",
            signed(json!({"exp": now - 10})),
            Accepted,
        ),
        case(
            "RFC 7519 §4.1.5",
            "nbf in 10 s, inside the leeway",
            signed(json!({"nbf": now + 10})),
            Accepted,
        ),
    ];
    // RFC 9068 §4, RFC 8725 §3.8/§3.9: iss, aud and exp are required and must be ours; nbf is
    // honoured. A claim missing or of the wrong type fails the claims type before any check.
    for (name, changes, expect) in [
        ("exp an hour ago", json!({"exp": now - 3600}), EXPIRED),
        (
            "exp 60 s ago, past the leeway",
            json!({"exp": now - 60}),
            EXPIRED,
        ),
        ("exp 0", json!({"exp": 0}), EXPIRED),
        ("nbf in 10 minutes", json!({"nbf": now + 600}), NOT_YET),
        (
            "nbf in 60 s, past the leeway",
            json!({"nbf": now + 60}),
            NOT_YET,
        ),
        (
            "iss another server",
            json!({"iss": "https://evil.example"}),
            ISSUER,
        ),
        (
            "iss with a trailing slash",
            json!({"iss": format!("{iss}/")}),
            ISSUER,
        ),
        (
            "iss upper-cased",
            json!({"iss": iss.to_uppercase()}),
            ISSUER,
        ),
        (
            "iss over https",
            json!({"iss": iss.replace("http://", "https://")}),
            ISSUER,
        ),
        ("iss empty", json!({"iss": ""}), ISSUER),
        ("aud another API", json!({"aud": "api://other"}), AUDIENCE),
        (
            "aud the client (an ID token's)",
            json!({"aud": SPA}),
            AUDIENCE,
        ),
        (
            "aud an array of others",
            json!({"aud": ["api://other", "api://another"]}),
            AUDIENCE,
        ),
        ("aud an empty array", json!({"aud": []}), MALFORMED),
        ("aud upper-cased", json!({"aud": "API://DEFAULT"}), AUDIENCE),
        ("iss missing", json!({"iss": null}), MALFORMED),
        ("aud missing", json!({"aud": null}), MALFORMED),
        ("exp missing", json!({"exp": null}), MALFORMED),
        ("sub missing", json!({"sub": null}), MALFORMED),
        (
            "exp a string",
            json!({"exp": format!("{}", now + 600)}),
            MALFORMED,
        ),
        ("exp negative", json!({"exp": -1}), MISSING),
        (
            "exp a fraction",
            json!({"exp": (now + 600) as f64 + 0.5}),
            MALFORMED,
        ),
        ("exp past i64", json!({"exp": u64::MAX}), MALFORMED),
        ("nbf a string", json!({"nbf": "later"}), MALFORMED),
        ("jti missing", json!({"jti": null}), MALFORMED),
        ("client_id missing", json!({"client_id": null}), MALFORMED),
        ("scope missing", json!({"scope": null}), MALFORMED),
        (
            "scope not a scope list",
            json!({"scope": "products:read \"x"}),
            MALFORMED,
        ),
        (
            "scope an array",
            json!({"scope": ["products:read"]}),
            MALFORMED,
        ),
    ] {
        cases.push(case(
            "RFC 9068 §4, RFC 8725 §3.8-3.9",
            name,
            signed(changes),
            Invalid(expect),
        ));
    }
    // RFC 7519 §4: a claim name twice must be refused or read last-wins; the server refuses,
    // so no two readers of one token can disagree about what it says (RFC 8725 §2.6). Each
    // pair comes in both orders.
    let claim = |name: &str, first: Value, second: Value| {
        let mut object = with(&base, json!({ name: null })).to_string();
        object.pop();
        format!(r#"{object},"{name}":{first},"{name}":{second}}}"#)
    };
    for (name, valid, hostile) in [
        ("aud", json!("api://default"), json!("api://other")),
        ("exp", json!(now + 600), json!(now - 3600)),
        ("iss", json!(iss), json!("https://evil.example")),
        ("sub", json!("usr_test"), json!("usr_admin")),
        (
            "scope",
            json!("products:read"),
            json!("products:read admin"),
        ),
    ] {
        for (first, second) in [(&valid, &hostile), (&hostile, &valid)] {
            cases.push(case(
                "RFC 7519 §4, RFC 8725 §2.6",
                format!("{name} twice: {first} then {second}"),
                raw(claim(name, first.clone(), second.clone())),
                Invalid(MALFORMED),
            ));
        }
    }
    // RFC 7519 §7.2 step 10, RFC 8725 §3.7: the claims must be a JSON object in UTF-8.
    for (name, bytes) in [
        ("claims not UTF-8", {
            let mut text = base.to_string().into_bytes();
            let at = text.iter().position(|b| *b == b't').unwrap();
            text[at] = 0xff;
            text
        }),
        ("claims a JSON array", b"[1,2]".to_vec()),
        ("claims null", b"null".to_vec()),
        ("claims empty", Vec::new()),
    ] {
        cases.push(case(
            "RFC 7519 §7.2, RFC 8725 §3.7",
            name,
            key.sign_raw(header.to_string().as_bytes(), &bytes),
            Invalid(MALFORMED),
        ));
    }
    // An ID token is signed by the same key, but is not an access token: RFC 8725 §2.8
    // (cross-JWT confusion), §3.11-3.12, RFC 9068 §4.
    let tokens = app.user_tokens("openid products:read").await;
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    cases.push(case(
        "RFC 8725 §2.8, RFC 9068 §4",
        "an ID token",
        id_token.clone(),
        Invalid(TYP),
    ));
    let (id_input, id_signature) = id_token.rsplit_once('.').unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let access_head = access.split('.').next().unwrap();
    cases.push(case(
        "RFC 9068 §4, RFC 7515 §5.2",
        "an ID token's payload under an access token's header",
        format!(
            "{access_head}.{}.{id_signature}",
            id_input.split('.').nth(1).unwrap()
        ),
        Invalid(SIGNATURE),
    ));
    run(&app, cases).await;
}

#[tokio::test]
async fn encoding_segments_and_size() {
    let (app, key, header, base) = setup().await;
    let good = key.sign(&header, &base);
    let parts: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    // The longest token within 4096 bytes, and the shortest beyond, by the length of a claim
    // (base64 cannot make every length).
    let padded_token = |n: usize| key.sign(&header, &with(&base, json!({"jti": "j".repeat(n)})));
    let mut n = (4096 - good.len()) * 3 / 4 - 8;
    while padded_token(n + 1).len() <= 4096 {
        n += 1;
    }
    let (longest, too_long) = (padded_token(n), padded_token(n + 1));
    assert!(
        longest.len() >= 4093 && too_long.len() > 4096,
        "{}",
        longest.len()
    );

    // The signature in base64's other alphabet ('+' and '/' for '-' and '_'); a signature
    // without either gets one '+' in their place.
    let standard = if s.contains(['-', '_']) {
        s.replace('-', "+").replace('_', "/")
    } else {
        s.replacen(|c: char| c.is_ascii_alphanumeric(), "+", 1)
    };
    // The last base64url character of a 64-byte signature holds 4 bits of nothing: RFC 4648
    // §3.5 has them zero, and a decoder that ignores them lets one signature be written four
    // ways.
    let mut loose = s.to_owned();
    let last = loose.pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    loose.push(alphabet.as_bytes()[index ^ 1] as char);

    let cases = vec![
        case(
            "control",
            "a token just within 4096 bytes",
            longest,
            Accepted,
        ),
        case(
            "RFC 7515 §7.1",
            "one segment",
            h.to_owned(),
            Invalid(NOT_JWT),
        ),
        case("RFC 7515 §7.1", "a word", "fake".into(), Invalid(NOT_JWT)),
        case(
            "RFC 7515 §7.1",
            "three junk segments",
            "a.b.c".into(),
            Invalid(HEADER),
        ),
        case(
            "RFC 7515 §7.1",
            "two segments",
            format!("{h}.{p}"),
            Invalid(NOT_JWT),
        ),
        case(
            "RFC 7515 §7.1",
            "a trailing dot",
            format!("{good}."),
            Invalid(NOT_JWT),
        ),
        case(
            "RFC 7515 §7.1",
            "a leading dot",
            format!(".{good}"),
            Invalid(NOT_JWT),
        ),
        case(
            "RFC 7516 §9",
            "five segments (a JWE shape)",
            format!("{h}.{p}.{s}.{s}.{s}"),
            Invalid(NOT_JWT),
        ),
        case(
            "RFC 7515 §7.1",
            "empty segments",
            "..".into(),
            Invalid(HEADER),
        ),
        case(
            "RFC 7515 §7.1",
            "an empty payload",
            format!("{h}..{s}"),
            Invalid(SIGNATURE),
        ),
        case(
            "RFC 7515 §2",
            "padding on the signature",
            format!("{h}.{p}.{s}=="),
            Invalid(MALFORMED),
        ),
        case(
            "RFC 7515 §2, RFC 6750 §2.1",
            "padding on the header",
            format!("{h}==.{p}.{s}"),
            Syntax,
        ),
        case(
            "RFC 7515 §2",
            "the standard base64 alphabet",
            format!("{h}.{p}.{standard}"),
            Invalid(MALFORMED),
        ),
        case(
            "RFC 4648 §3.5",
            "non-zero padding bits in the signature",
            format!("{h}.{p}.{loose}"),
            Invalid(MALFORMED),
        ),
        case(
            "RFC 6750 §2.1",
            "a space inside the token",
            format!("{h}. {p}.{s}"),
            Syntax,
        ),
        case(
            "RFC 6750 §2.1",
            "a comma inside",
            format!("{h},{p}.{s}"),
            Syntax,
        ),
        case(
            "RFC 6750 §2.1",
            "percent-encoded",
            good.replace('.', "%2E"),
            Syntax,
        ),
        case(
            "OWASP JWT",
            "just over 4096 bytes",
            too_long,
            Invalid(TOO_LONG),
        ),
        case(
            "OWASP JWT",
            "5000 bytes of junk",
            "A".repeat(5000),
            Invalid(TOO_LONG),
        ),
    ];
    run(&app, cases).await;
}

/// RFC 6750 §2.3 (the query parameter) is not supported (RFC 9700 §4.3.2: it ends up in logs,
/// history and Referer headers), nor is §2.2 (the form body), nor a cookie: only the header.
#[tokio::test]
async fn where_the_token_may_travel() {
    let app = spawn_app().await;
    let token = app.user_token().await;
    let before = storage_fingerprint(&app).await;
    let query = "access token in the query string [RFC 6750 §2.3, RFC 9700 §4.3.2]";
    for path in ["/api/whoami", "/api/orders", "/userinfo", "/admin/users"] {
        let r = app
            .http
            .get(format!("{}?access_token={token}", app.url(path)))
            .send()
            .await
            .unwrap();
        assert_api_refusal(
            &format!("{query}: {path}"),
            r,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "not accepted in the query string",
        )
        .await;
    }
    // Even beside a valid header: RFC 6750 §2 allows one method per request.
    let r = app
        .http
        .get(format!("{}?access_token={token}", app.url("/api/whoami")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_api_refusal(
        &format!("{query}, beside the header [RFC 6750 §2]"),
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not accepted in the query string",
    )
    .await;
    // Percent-encoding the parameter name changes nothing.
    let r = app
        .http
        .get(format!("{}?access%5Ftoken={token}", app.url("/api/whoami")))
        .send()
        .await
        .unwrap();
    assert_api_refusal(
        &format!("{query}: name percent-encoded"),
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not accepted in the query string",
    )
    .await;
    // The form body of a POST (OpenID Connect Core §5.3.1 would allow it at /userinfo).
    for path in ["/userinfo", "/api/orders"] {
        let r = app
            .http
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("access_token={token}"))
            .send()
            .await
            .unwrap();
        let case = format!("access token in the form body of {path} [RFC 6750 §2.2]");
        assert_no_credentials(&case, r).await;
    }
    // A cookie, as the browser app keeps it: never read by the API (no CSRF through cookies).
    for name in ["access_token", "token", "Authorization"] {
        let r = app
            .http
            .get(app.url("/api/whoami"))
            .header("cookie", format!("{name}={token}"))
            .send()
            .await
            .unwrap();
        assert_no_credentials(&format!("cookie {name} [RFC 6750 §2: not a method]"), r).await;
    }
    // Not text: RFC 9110 §5.5 obs-text in the header.
    let value = reqwest::header::HeaderValue::from_bytes(b"Bearer \xe9t\xe9").unwrap();
    let r = app
        .http
        .get(app.url("/api/whoami"))
        .header("authorization", value)
        .send()
        .await
        .unwrap();
    assert_api_refusal(
        "Authorization not UTF-8 [RFC 6750 §2.1]",
        r,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "not valid text",
    )
    .await;
    assert_eq!(storage_fingerprint(&app).await, before);
}
