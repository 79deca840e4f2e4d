//! The process log as a log collector reads it (`LOG_FORMAT=json`): the real binary, its
//! standard error parsed line by line. Every line is one JSON object; every request has one
//! access line with its id, route template, status, latency, client and subject; the id is the
//! one the answer carried; no token, secret, password, cookie or query string is ever written.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../process/mod.rs"]
mod process;

use std::time::Duration;

use process::{Server, Site, login};
use reqwest::StatusCode;
use serde_json::Value;

const SECRET: &str = "demo-service-secret";
const WRONG_SECRET: &str = "wrong-secret-4e1f7a";

#[tokio::test]
async fn json_lines_with_the_request_id_and_nothing_secret() {
    let mut site = Site::new();
    site.set("LOG_FORMAT", "json");
    // The security events' debug line is written inside the request: it carries the request.
    site.set("RUST_LOG", "info,backend::events=debug");
    let server = Server::start(&site).await;
    backend::crypto::install_tls_provider();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = site.api();

    let token = http
        .post(format!("{api}/token"))
        .basic_auth("demo-service", Some(SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = http
        .post(format!("{api}/token"))
        .basic_auth("demo-service", Some(WRONG_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let refused_id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    // The caller's id is kept, and is the one in the log.
    let whoami = http
        .get(format!("{api}/api/whoami"))
        .bearer_auth(&token)
        .header("x-request-id", "client-trace-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(whoami.status(), StatusCode::OK);
    assert_eq!(whoami.headers()["x-request-id"], "client-trace-0001");
    // A token in the query string is refused, and its query never logged.
    let in_query = http
        .get(format!("{api}/api/products?access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(in_query.status(), StatusCode::BAD_REQUEST);
    // A browser login: a password, a cookie, a code, a verifier, and tokens.
    let tokens = login(
        &http,
        &api,
        "demo-spa",
        &format!("{}/callback", site.app()),
        "openid products:read",
    )
    .await
    .unwrap();
    let user_token = tokens["access_token"].as_str().unwrap().to_owned();

    // The access lines are written as the answers go out; give the writer a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let log = std::fs::read_to_string(site.log_path()).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(line.get(field).is_some(), "no {field}: {line}");
        }
    }
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "access").collect();
    let find = |id: &str| {
        access
            .iter()
            .find(|l| l["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id} in\n{log}"))
    };

    let line = find("client-trace-0001");
    assert_eq!(line["route"], "/api/whoami");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["origin"], "api");
    assert_eq!(line["status"], 200);
    assert_eq!(line["level"], "INFO");
    let latency = line["latency_ms"].as_f64().unwrap();
    assert!(latency > 0.0 && latency < 10_000.0, "{line}");
    assert_eq!(line["client_id"], "demo-service");
    assert_eq!(line["subject"], "demo-service");

    let line = find(&refused_id);
    assert_eq!(line["route"], "/token");
    assert_eq!(line["status"], 401);
    // A line written while the request was answered carries its fields under `span`.
    let inside = lines
        .iter()
        .find(|l| {
            l["target"] == "backend::events" && l["span"]["request_id"] == refused_id.as_str()
        })
        .unwrap_or_else(|| panic!("no event line of {refused_id} in\n{log}"));
    assert_eq!(inside["span"]["route"], "/token");
    assert_eq!(inside["kind"], "client_auth_failed");

    // The login's lines name the user once logged in, and the client.
    let logged_in = access
        .iter()
        .find(|l| l["route"] == "/authorize/login" && l["status"] == 303)
        .unwrap_or_else(|| panic!("no login line in\n{log}"));
    assert_eq!(logged_in["client_id"], "demo-spa");
    assert!(
        logged_in["subject"].as_str().unwrap().starts_with("usr_"),
        "{logged_in}"
    );
    let redeemed = access
        .iter()
        .find(|l| l["route"] == "/token" && l["client_id"] == "demo-spa")
        .unwrap_or_else(|| panic!("no code redemption line in\n{log}"));
    assert_eq!(redeemed["subject"], logged_in["subject"]);
    assert_eq!(
        access
            .iter()
            .filter(|l| l["route"] == "/api/products")
            .count(),
        1
    );

    // The demo's banner names the demo users' passwords on purpose (they are in the README);
    // nothing else may.
    let written: String = log
        .lines()
        .filter(|line| !line.contains(r#""target":"backend::demo""#))
        .collect();
    for secret in [
        SECRET,
        WRONG_SECRET,
        "password0",
        &token,
        &token[token.len() - 20..],
        &user_token[user_token.len() - 20..],
        "access_token",
        "csrf",
        "code_verifier",
    ] {
        assert!(!written.contains(secret), "{secret} in the log:\n{log}");
    }
}
