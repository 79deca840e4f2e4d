//! RFC 9728: the API and the admin API describe themselves, and every Bearer challenge they
//! answer says where, so that a client with nothing but the URL it called gets from a 401 to
//! a token. The challenge names the metadata of the URL called, whose `resource` is that URL
//! (§3.3's check).

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// `resource_metadata="…"` out of a `Bearer` challenge.
fn metadata_url(response: &reqwest::Response) -> String {
    let challenge = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("Bearer "))
        .unwrap_or_else(|| panic!("no Bearer challenge: {:?}", response.headers()))
        .to_owned();
    let (_, rest) = challenge
        .split_once(r#"resource_metadata=""#)
        .unwrap_or_else(|| panic!("no resource_metadata in {challenge:?}"));
    rest.split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn from_a_bare_401_to_a_token_with_no_prior_configuration() {
    let app = spawn_app().await;
    let http = &app.http;
    let products = app.url("/api/products");

    // 1. The call without a token: the challenge names the API's metadata.
    let refused = http.get(&products).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let metadata_at = metadata_url(&refused);
    assert_eq!(
        metadata_at,
        app.url("/.well-known/oauth-protected-resource/api/products")
    );

    // 2. The metadata: its resource is the URL called (RFC 9728 §3.3: the client checks it),
    //    and it names the authorization server.
    let metadata = http.get(&metadata_at).send().await.unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    assert_eq!(metadata.headers()["cache-control"], "public, max-age=300");
    let metadata: Value = metadata.json().await.unwrap();
    assert_eq!(metadata["resource"], products);
    assert_eq!(
        metadata["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    let scopes = metadata["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|s| s == "products:read"));
    assert_eq!(metadata["resource_documentation"], app.url("/docs"));
    let issuer = metadata["authorization_servers"][0].as_str().unwrap();

    // 3. The authorization server's metadata (RFC 8414 §3), found from its issuer.
    let server: Value = app
        .get_json(&format!("{issuer}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(server["issuer"], issuer, "RFC 8414 §3.3");
    assert_eq!(server["resource_indicators_supported"], true);
    let token_endpoint = server["token_endpoint"].as_str().unwrap();

    // 4. A token for a scope the resource lists, for the resource (RFC 8707, as a Model
    //    Context Protocol client asks), and the call again.
    let token: Value = http
        .post(token_endpoint)
        .basic_auth(SERVICE, Some(SERVICE_SECRET))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "products:read"),
            ("resource", metadata["resource"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap();
    let retried = http
        .get(&products)
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), StatusCode::OK);
    assert!(retried.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn every_bearer_challenge_of_each_resource_names_its_own_metadata() {
    let app = spawn_app().await;
    let at = |path: &str| {
        format!(
            r#"resource_metadata="{}""#,
            app.url(&format!("/.well-known/oauth-protected-resource{path}"))
        )
    };
    let api = at("/api/whoami");
    let service = app.service_token().await;

    // No credentials: the bare Bearer challenge gains it, the Token challenge does not.
    let r = app.get_api("/api/whoami", None).await;
    let challenges: Vec<String> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        challenges,
        [
            format!(r#"Bearer realm="api", {api}"#),
            r#"Token realm="api""#.to_owned(),
            format!("{DPOP_CHALLENGE}, {api}"),
        ]
    );
    // invalid_token, and a malformed header (400 invalid_request).
    let r = app.get_api("/api/whoami", Some("not-a-jwt")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let bearer = www_authenticate(&r);
    assert!(
        bearer.contains(r#"error="invalid_token""#) && bearer.ends_with(&api),
        "{bearer}"
    );
    let r = app
        .http
        .get(app.url("/api/whoami"))
        .header("authorization", "Bearer a b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        www_authenticate(&r).ends_with(&api),
        "{}",
        www_authenticate(&r)
    );
    // insufficient_scope: the metadata lists the scope the token lacks.
    let r = app.get_api("/api/orders", Some(&service)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let bearer = www_authenticate(&r);
    assert!(
        bearer.contains(r#"scope="orders:read""#) && bearer.ends_with(&at("/api/orders")),
        "{bearer}"
    );

    // The admin API is a resource of its own, with its own scope.
    for token in [None, Some(service.as_str())] {
        let mut request = app.http.get(app.url("/admin/users"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        assert!(r.status() == StatusCode::UNAUTHORIZED || r.status() == StatusCode::FORBIDDEN);
        let admin = at("/admin/users");
        assert!(
            www_authenticate(&r).ends_with(&admin),
            "{}",
            www_authenticate(&r)
        );
    }
    let metadata: Value = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/admin"))
        .await;
    assert_eq!(metadata["resource"], app.url("/admin"));
    assert_eq!(metadata["scopes_supported"], serde_json::json!(["admin"]));
    let users: Value = app
        .get_json(&app.url("/.well-known/oauth-protected-resource/admin/users"))
        .await;
    assert_eq!(users["resource"], app.url("/admin/users"));
    assert_eq!(users["scopes_supported"], metadata["scopes_supported"]);
    assert_eq!(
        metadata["authorization_servers"],
        serde_json::json!([app.api])
    );

    // Userinfo belongs to the authorization server (OpenID Connect), not to either resource.
    let r = app.http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!www_authenticate(&r).contains("resource_metadata"));

    // A success carries no challenge.
    let r = app.get_api("/api/products", Some(&service)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn the_metadata_is_read_only_public_and_refuses_what_it_does_not_serve() {
    let app = spawn_app().await;
    let url = app.url("/.well-known/oauth-protected-resource/api");
    // A browser app on the allowed origin may read it.
    let r = app
        .http
        .get(&url)
        .header("origin", &app.app)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], app.app.as_str());
    // Credentials change nothing; it needs none. A URL's query is part of it (RFC 9728 §3.1).
    let r = app
        .http
        .get(format!("{url}/orders?limit=5"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["resource"], app.url("/api/orders?limit=5"));
    // No other method, no other resource, no metadata at the bare suffix (no resource is the
    // origin itself).
    let r = app.http.post(&url).body("x").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/orders",
        "/.well-known/oauth-protected-resource/api/extra",
        "/.well-known/oauth-protected-resource/api/users",
        "/.well-known/oauth-protected-resource/admin/products",
        // Percent-encoding, which the challenges never name, is not decoded into a match.
        "/.well-known/oauth-protected-resource/api/%6frders",
        "/.well-known/oauth-protected-resource/api/orders%22%3E",
        "/.well-known/oauth-protected-resource/api/orders%FF",
        "/.well-known/oauth-protected-resource/api/orders?a=%20",
        "/.well-known/oauth-protected-resource/api%2Forders",
    ] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn the_url_called_is_named_whole_or_not_at_all() {
    let app = spawn_app().await;
    // With its query: the challenge names that URL's metadata, whose resource is that URL.
    let called = app.url("/admin/events?kind=login_failed");
    let r = app.http.get(&called).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let at = metadata_url(&r);
    assert_eq!(
        at,
        app.url("/.well-known/oauth-protected-resource/admin/events?kind=login_failed")
    );
    let metadata: Value = app.get_json(&at).await;
    assert_eq!(metadata["resource"], called);
    // A URL that is not plain (percent-encoding, which clients compare differently) gets the
    // plain RFC 6750 challenge: no parameter rather than one naming another URL.
    // Nor does a URL whose query holds anything but the APIs' filters: an API token sent in the
    // URL (refused there, RFC 6750 §2.3 is not supported) is never copied into another URL.
    let token = crate::api_tokens::create(&app, "user1", "in-url", "products:read").await;
    assert!(app.url(&format!("/api/whoami?access_token={token}")).len() < 200);
    let in_url = format!("/api/whoami?access_token={token}");
    for path in [
        "/api/orders?note=a%20b",
        "/admin/events?kind=a%20b",
        in_url.as_str(),
    ] {
        let r = app.http.get(app.url(path)).send().await.unwrap();
        let challenge = www_authenticate(&r);
        assert!(
            challenge.starts_with("Bearer realm=\"api\""),
            "{path}: {challenge}"
        );
        assert!(
            !challenge.contains("resource_metadata"),
            "{path}: {challenge}"
        );
    }
}
