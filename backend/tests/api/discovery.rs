use backend::clock::Clock;
use backend::config::Config;
use backend::keys::rotation;
use backend::storage::{Db, Settings};
use clap::Parser;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app, test_database_url};

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
async fn jwks_publishes_public_es256_keys_only() {
    let app = spawn_app().await;
    let response = app.http.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The default JWKS cache lifetime: a next key is published this long before it signs.
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "the current key and the next one");
    for key in keys {
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["alg"], "ES256");
        assert_eq!(key["use"], "sig");
        assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
        assert!(
            key.get("d").is_none(),
            "the private part must never be published"
        );
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
    // The current key and the next one, published ahead of its turn.
    assert_eq!(b.jwks().keys.len(), 2);
    assert_eq!(a.jwks().keys, b.jwks().keys);
}
