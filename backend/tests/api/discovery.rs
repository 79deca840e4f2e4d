use backend::clock::Clock;
use backend::config::Config;
use backend::keys::{Owner, rotation};
use backend::storage::{Db, Settings};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{jwt_part, spawn_app, test_database_url};

#[tokio::test]
async fn both_metadata_documents_describe_this_server() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let meta: Value = response.json().await.unwrap();
        assert_eq!(meta["issuer"], app.api.as_str());
        assert_eq!(meta["authorization_endpoint"], app.url("/authorize"));
        assert_eq!(meta["token_endpoint"], app.url("/token"));
        assert_eq!(meta["jwks_uri"], app.url("/jwks.json"));
        assert_eq!(
            meta["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            meta["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            meta["grant_types_supported"],
            serde_json::json!([
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        assert_eq!(meta["revocation_endpoint"], app.url("/revoke"));
        assert_eq!(meta["introspection_endpoint"], app.url("/introspect"));
        assert_eq!(meta["userinfo_endpoint"], app.url("/userinfo"));
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(
            meta["pushed_authorization_request_endpoint"],
            app.url("/par")
        );
        let scopes: Vec<&str> = meta["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        for scope in [
            "openid",
            "profile",
            "email",
            "products:read",
            "orders:read",
            "orders:write",
        ] {
            assert!(scopes.contains(&scope), "{scope} missing from {scopes:?}");
        }
        assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    }
}

#[tokio::test]
async fn jwks_publishes_public_keys_only() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The default JWKS cache lifetime: a next key is published this long before it signs.
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    // For each algorithm (ES256 for access tokens, RS256 for ID tokens), the current key and
    // the next one.
    assert_eq!(keys.len(), 4, "{jwks}");
    let mut algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "ES256", "RS256", "RS256"]);
    for key in keys {
        let names: Vec<&str> = key
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        match key["alg"].as_str() {
            Some("ES256") => {
                assert_eq!((&key["kty"], &key["crv"]), (&json!("EC"), &json!("P-256")));
                let mut expected = ["kty", "crv", "x", "y", "kid", "alg", "use"];
                expected.sort_unstable();
                assert_eq!(sorted(names), expected, "{key}");
            }
            _ => {
                assert_eq!(key["kty"], "RSA");
                assert_eq!(key["e"], "AQAB");
                let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
                assert_eq!(n.len(), 256, "2048-bit modulus");
                let mut expected = ["kty", "n", "e", "kid", "alg", "use"];
                expected.sort_unstable();
                assert_eq!(sorted(names), expected, "{key}");
            }
        }
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    }
}

fn sorted(mut names: Vec<&str>) -> Vec<&str> {
    names.sort_unstable();
    names
}

/// ID tokens are RS256 (OpenID Connect's default), verifiable with the published RS256 key by
/// an independent verifier given only that JWK, while access tokens stay ES256.
#[tokio::test]
async fn id_tokens_are_rs256_and_access_tokens_es256() {
    let app = spawn_app().await;
    let meta = app
        .get_json(&app.url("/.well-known/openid-configuration"))
        .await;
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks = app.get_json(&app.url("/jwks.json")).await;
    let published = |kid: &Value| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == *kid)
            .unwrap_or_else(|| panic!("{kid} is not in {jwks}"))
            .clone()
    };
    let tokens = app.user_tokens("openid profile").await;
    let access = jwt_part(tokens["access_token"].as_str().unwrap(), 0);
    assert_eq!(access["alg"], "ES256");
    assert_eq!(published(&access["kid"])["kty"], "EC");
    let id_token = tokens["id_token"].as_str().unwrap();
    let header = jwt_part(id_token, 0);
    assert_eq!(header["alg"], "RS256");
    let jwk = published(&header["kid"]);
    assert_eq!(jwk["alg"], "RS256");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["demo-spa"]);
    let claims = jsonwebtoken::decode::<Value>(
        id_token,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["iss"], app.api.as_str());
    // The ID token is not an access token (its typ is not at+jwt, its aud is the client).
    let r = app.get_api("/api/whoami", Some(id_token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database_url(dir.path()).await;
    let config = Config::try_parse_from(["backend"]).unwrap();
    let now = Clock::system().now();
    let first = Db::connect(&Settings::new(&url)).await.unwrap();
    let (a, _) = rotation::prepare(&first, &config, &Owner::root(), now)
        .await
        .unwrap();
    first.close().await;
    let second = Db::connect(&Settings::new(&url)).await.unwrap();
    let (b, _) = rotation::prepare(&second, &config, &Owner::root(), now)
        .await
        .unwrap();
    let (a, b) = (a.get(), b.get());
    assert_eq!(
        a.signing_kid(),
        b.signing_kid(),
        "the key generated on first start is reused"
    );
    // For each algorithm (ES256, RS256), the current key and the next one, published ahead
    // of its turn.
    assert_eq!(b.jwks().keys.len(), 4);
    assert_eq!(a.jwks().keys, b.jwks().keys);
}
