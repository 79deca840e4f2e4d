//! Signing-key rotation: published before it signs, never a failed verification, retired keys
//! removed once their tokens are gone, and the command that does it by hand.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use backend::storage::StoredKey;
use shared::admin::{KeyState, SigningAlg};

use crate::helpers::{TestApp, jwt_part, spawn_app_with};

/// A resource server that caches the JWKS exactly as long as `Cache-Control` allows.
struct CachingVerifier {
    kids: HashSet<String>,
    fetched: Instant,
    max_age: Duration,
}

impl CachingVerifier {
    async fn new(app: &TestApp) -> Self {
        let mut this = Self {
            kids: HashSet::new(),
            fetched: Instant::now(),
            max_age: Duration::ZERO,
        };
        this.fetch(app).await;
        this
    }

    async fn fetch(&mut self, app: &TestApp) {
        let response = app.http.get(app.url("/jwks.json")).send().await.unwrap();
        let cache = response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned();
        let secs: u64 = cache.rsplit("max-age=").next().unwrap().parse().unwrap();
        let jwks: Value = response.json().await.unwrap();
        self.kids = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        self.fetched = Instant::now();
        self.max_age = Duration::from_secs(secs);
    }

    /// Whether the cached JWKS (refetched only when stale) knows the token's key.
    async fn knows(&mut self, app: &TestApp, token: &str) -> bool {
        if self.fetched.elapsed() >= self.max_age {
            self.fetch(app).await;
        }
        self.kids.contains(kid(token).as_str())
    }
}

fn kid(token: &str) -> String {
    jwt_part(token, 0)["kid"].as_str().unwrap().to_owned()
}

async fn signing_kid(app: &TestApp) -> String {
    kid(&app.service_token().await)
}

async fn wait_for_new_signing_kid(app: &TestApp, old: &str) -> String {
    for _ in 0..100 {
        let now = signing_kid(app).await;
        if now != old {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server kept signing with {old}");
}

#[tokio::test]
async fn rotation_under_load_never_fails_a_request() {
    // A one-second JWKS lifetime keeps the test short; every rule scales with it.
    let app =
        Arc::new(spawn_app_with(&["--jwks-max-age", "1", "--key-rotation-interval", "0"]).await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (app, stop) = (Arc::clone(&app), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut cache = CachingVerifier::new(&app).await;
            let mut issued = Vec::new();
            let mut unknown = 0;
            while !stop.load(Ordering::Relaxed) {
                let token = app.service_token().await;
                if !cache.knows(&app, &token).await {
                    unknown += 1;
                }
                let r = app.get_api("/api/products", Some(&token)).await;
                assert_eq!(r.status(), StatusCode::OK, "a fresh token was refused");
                issued.push(token);
            }
            (issued, unknown)
        }));
    }
    let mut kids = vec![signing_kid(&app).await];
    for _ in 0..3 {
        // The next key has to be published for a whole JWKS lifetime plus one reload first.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let out = app.cli(&["keys", "rotate"]).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let previous = kids.last().unwrap().clone();
        kids.push(wait_for_new_signing_kid(&app, &previous).await);
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for worker in workers {
        let (issued, unknown) = worker.await.unwrap();
        assert_eq!(unknown, 0, "a caching resource server met an unknown kid");
        all.extend(issued);
    }
    let used: HashSet<String> = all.iter().map(|t| kid(t)).collect();
    assert!(used.len() >= 3, "tokens were signed by {} keys", used.len());
    // Every token, from every key, still verifies until its own expiry.
    for token in all
        .iter()
        .step_by((all.len() / 50).max(1))
        .chain(all.last())
    {
        let r = app.get_api("/api/products", Some(token)).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let jwks: Value = app
        .http
        .get(app.url("/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published: HashSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    for kid in &kids {
        assert!(
            published.contains(kid.as_str()),
            "{kid} was unpublished too early"
        );
    }
    // Each algorithm's keys (ES256 and RS256): the first ones, then three rotations; and the
    // first key of the demo's authorization server.
    assert_eq!(app.events("key_activated", 9).await.len(), 9);
    assert_eq!(app.events("key_retired", 6).await.len(), 6);
}

#[tokio::test]
async fn the_command_refuses_to_promote_a_key_caches_may_not_know() {
    let app = spawn_app_with(&["--key-rotation-interval", "0"]).await;
    let before = signing_kid(&app).await;
    let out = app.cli(&["keys", "rotate"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3600 s") && stderr.contains("--force"),
        "{stderr}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(signing_kid(&app).await, before, "nothing changed");

    // --force does it anyway (an emergency: a leaked key).
    let out = app.cli(&["keys", "rotate", "--force"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("key_activated"), "{stdout}");
    let list = app.cli(&["keys", "list"]).await;
    let list = String::from_utf8_lossy(&list.stdout);
    let states: HashMap<&str, usize> = ["current", "next", "retired"]
        .into_iter()
        .map(|s| {
            (
                s,
                list.lines()
                    .filter(|l| l.split_whitespace().nth(2) == Some(s))
                    .count(),
            )
        })
        .collect();
    assert_eq!(
        states,
        // One of each per algorithm: ES256 (access tokens) and RS256 (ID tokens).
        HashMap::from([("current", 2), ("next", 2), ("retired", 2)]),
        "{list}"
    );
    assert!(list.contains(&before));
}

#[tokio::test]
async fn keys_rotate_on_schedule() {
    let app = spawn_app_with(&["--jwks-max-age", "1", "--key-rotation-interval", "2"]).await;
    let old_token = app.service_token().await;
    let old = kid(&old_token);
    let new = wait_for_new_signing_kid(&app, &old).await;
    assert_ne!(old, new);
    let r = app.get_api("/api/products", Some(&old_token)).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "tokens of the retired key still verify"
    );
}

#[tokio::test]
async fn retired_keys_are_removed_once_their_tokens_have_expired() {
    let app = spawn_app_with(&["--jwks-max-age", "1"]).await;
    // A key retired long ago (no token lives longer than a day), and one retired an hour ago
    // (a client may have had day-long tokens then).
    let now = app.clock.now();
    for (kid, retired_at) in [
        ("old-retired", now.plus_secs(-2 * 86_400)),
        ("recent-retired", now.plus_secs(-3600)),
    ] {
        let key = backend::keys::generate(
            "",
            SigningAlg::Es256,
            KeyState::Retired,
            now.plus_secs(-100_000),
        )
        .unwrap();
        let stored = StoredKey {
            kid: kid.into(),
            retired_at: Some(retired_at),
            ..key
        };
        assert!(app.db.insert_signing_key(&stored).await.unwrap());
    }
    let removed = app.events("key_removed", 1).await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].detail, "old-retired");
    let kids: Vec<String> = app
        .db
        .signing_keys("")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.kid)
        .collect();
    assert!(!kids.contains(&"old-retired".to_owned()));
    assert!(kids.contains(&"recent-retired".to_owned()));
    // The running server publishes what is stored once it reloads.
    for _ in 0..50 {
        let jwks = app
            .http
            .get(app.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if jwks.contains("recent-retired") {
            assert!(!jwks.contains("old-retired"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not reload its keys");
}

#[tokio::test]
async fn a_rotation_interval_shorter_than_the_jwks_lifetime_is_refused() {
    let config = <backend::config::Config as clap::Parser>::try_parse_from([
        "backend",
        "--jwks-max-age",
        "600",
        "--key-rotation-interval",
        "60",
    ])
    .unwrap();
    let error = config.check().unwrap_err().to_string();
    assert!(error.contains("--jwks-max-age"), "{error}");
}

/// The key-rotation lab (demo mode): a signed-in user lists the root issuer's keys and rotates
/// them; a rotation that is not yet safe is refused with the reason unless forced; the token
/// issued next is signed by the key that was published as next, already in the JWKS fetched
/// before the rotation.
#[tokio::test]
async fn the_key_lab_rotates_for_a_signed_in_user_of_a_demo_server() {
    let app = crate::helpers::spawn_app().await;
    let tokens = app.user_tokens("openid offline_access products:read").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (app, access) = (&app, &access);
    let get = move |path: &'static str| async move {
        let r = app
            .http
            .get(app.url(path))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        r.json::<Value>().await.unwrap()
    };
    let jwks_before = get("/jwks.json").await;
    let cached: HashSet<String> = jwks_before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    let rotate = |body: Option<&'static str>| {
        let mut request = app
            .http
            .post(app.url("/api/lab/keys/rotate"))
            .bearer_auth(access);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        request.send()
    };
    let lab_keys = move || async move { get("/api/lab/keys").await.as_array().unwrap().clone() };
    let listed = lab_keys().await;
    let in_state = |keys: &[Value], state: &str| -> HashSet<String> {
        keys.iter()
            .filter(|k| k["state"] == state)
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let next = in_state(&listed, "next");
    let current = in_state(&listed, "current");
    assert!(!next.is_empty() && !current.is_empty(), "{listed:?}");

    // Bad bodies change nothing.
    for body in [
        r#"{"force": "yes"}"#,
        r#"{"force": true, "server": "x"}"#,
        "force",
    ] {
        let r = rotate(Some(body)).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    // A next key published a moment ago might not be in every cache yet: refused, with why.
    let r = rotate(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let refusal: Value = r.json().await.unwrap();
    assert!(
        refusal["error_description"]
            .as_str()
            .unwrap()
            .contains("force"),
        "{refusal}"
    );
    let unchanged = lab_keys().await;
    assert_eq!(in_state(&unchanged, "current"), current, "nothing rotated");

    let r = rotate(Some(r#"{"force": true}"#)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Vec<Value> = r.json().await.unwrap();
    assert_eq!(
        in_state(&rotated, "current"),
        next,
        "the next keys sign now"
    );
    assert!(current.is_subset(&in_state(&rotated, "retired")));
    assert!(
        !in_state(&rotated, "next").is_empty(),
        "new next keys are published"
    );

    // The next token is signed by a key the JWKS fetched before the rotation already had.
    let renewed: Value = app
        .refresh(tokens["refresh_token"].as_str().unwrap(), None)
        .await
        .json()
        .await
        .unwrap();
    let kid = jwt_part(renewed["access_token"].as_str().unwrap(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.contains(&kid), "{kid} was the next key");
    assert!(
        cached.contains(&kid),
        "no kid not found for a cache fetched before"
    );

    let r = app
        .http
        .post(app.url("/api/lab/keys/rotate"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}
