use backend::clock::Clock;
use backend::config::Config;
use backend::keys::rotation;
use backend::storage::{Db, Settings};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{jwt_part, spawn_app, spawn_app_with, test_database_url};

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
            serde_json::json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(meta["revocation_endpoint"], app.url("/revoke"));
        assert_eq!(meta["introspection_endpoint"], app.url("/introspect"));
        assert_eq!(meta["userinfo_endpoint"], app.url("/userinfo"));
        assert_eq!(
            meta["token_endpoint_auth_methods_supported"],
            serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
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

/// Every algorithm end to end: access tokens in the one `--signing-alg` names, verified by the
/// API and published with that `alg`; ID tokens in RS256 whatever it is (OpenID Connect's
/// default), verifiable with the published key.
#[tokio::test]
async fn each_signing_algorithm_signs_access_tokens_and_id_tokens_stay_rs256() {
    for (alg, kty) in [("EdDSA", "OKP"), ("RS256", "RSA"), ("ES256", "EC")] {
        let app = spawn_app_with(&["--signing-alg", alg]).await;
        let meta = app
            .get_json(&app.url("/.well-known/openid-configuration"))
            .await;
        assert_eq!(
            meta["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        let jwks = app.get_json(&app.url("/jwks.json")).await;
        let token = app.service_token().await;
        let header = jwt_part(&token, 0);
        assert_eq!(header["alg"], alg);
        assert_eq!(header["typ"], "at+jwt");
        let published = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .unwrap_or_else(|| panic!("{alg}: the token's key is not in {jwks}"));
        assert_eq!(
            (&published["alg"], &published["kty"]),
            (&json!(alg), &json!(kty))
        );
        if kty == "OKP" {
            assert_eq!(published["crv"], "Ed25519");
        }
        let r = app.get_api("/api/whoami", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::OK, "{alg}");
        assert_eq!(app.introspect(&token).await["active"], true, "{alg}");
        // An independent verifier (jsonwebtoken, given only the published JWK) accepts it.
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(published.clone()).unwrap();
        let mut validation =
            jsonwebtoken::Validation::new(header["alg"].as_str().unwrap().parse().unwrap());
        validation.set_audience(&["api://default"]);
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        // A user's login: the ID token is RS256 and verifies with the published RS256 key.
        let tokens = app.user_tokens("openid profile").await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let id_header = jwt_part(id_token, 0);
        assert_eq!(id_header["alg"], "RS256");
        let id_jwk = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == id_header["kid"])
            .unwrap();
        assert_eq!(id_jwk["alg"], "RS256");
        let id_jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(id_jwk.clone()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["demo-spa"]);
        let claims = jsonwebtoken::decode::<Value>(
            id_token,
            &jsonwebtoken::DecodingKey::from_jwk(&id_jwk).unwrap(),
            &validation,
        )
        .unwrap_or_else(|e| panic!("{alg}: the ID token: {e}"))
        .claims;
        assert_eq!(claims["iss"], app.api.as_str());
        // The ID token is not an access token (its typ is not at+jwt, its aud is the client).
        let r = app.get_api("/api/whoami", Some(id_token)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{alg}");
    }
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database_url(dir.path()).await;
    let config = Config::try_parse_from(["backend"]).unwrap();
    let now = Clock::system().now();
    let first = Db::connect(&Settings::new(&url)).await.unwrap();
    let (a, _) = rotation::prepare(&first, &config, now).await.unwrap();
    first.close().await;
    let second = Db::connect(&Settings::new(&url)).await.unwrap();
    let (b, _) = rotation::prepare(&second, &config, now).await.unwrap();
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
