//! The OpenAPI document against the real answers: every test server of this suite checks each
//! answer of its API origin against `/openapi.json` as the server generates it (the status must
//! be listed for the operation, a JSON body must match the listed schema, objects may have no
//! property the schema does not name), and replaces an answer that does not match with a 500
//! saying why. So every test of the suite fails on a document that drifted from the code.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::helpers::{spawn_app, spawn_app_checked_against};

/// Routes that are the documentation itself, not described by it.
fn is_documentation(path: &str) -> bool {
    path == "/openapi.json" || path == "/docs" || path.starts_with("/docs/")
}

/// `router` with every answer checked against `document`.
pub fn checked(router: Router, document: Value) -> Router {
    let document = Arc::new(document);
    router.layer(axum::middleware::from_fn(move |request, next| {
        check(document.clone(), request, next)
    }))
}

async fn check(document: Arc<Value>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_ascii_lowercase();
    // A route's catch-all parameter (`{*below}`) is an ordinary path parameter in the document.
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().replace("{*", "{"));
    let response = next.run(request).await;
    let Some(path) = path.filter(|p| !is_documentation(p)) else {
        return response;
    };
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return drift("the body could not be read");
    };
    match violation(
        &document,
        &method,
        &path,
        status.as_u16(),
        content_type.as_deref(),
        &bytes,
    ) {
        Some(why) => drift(&format!(
            "{} {path} → {status}: {why}",
            method.to_uppercase()
        )),
        None => Response::from_parts(parts, axum::body::Body::from(bytes)),
    }
}

fn drift(why: &str) -> Response {
    eprintln!("OpenAPI drift: {why}");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the answer does not match /openapi.json: {why}"),
    )
        .into_response()
}

/// Why an answer of `method path` does not match `document`, if it does not.
pub fn violation(
    document: &Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let Some(item) = document["paths"].get(path) else {
        return Some("the document has no such path".into());
    };
    let Some(operation) = item.get(method) else {
        // The router answers an unrouted method itself (405), and the CORS layer a preflight
        // (OPTIONS): neither is an operation of the API.
        return (status != 405 && method != "options")
            .then(|| format!("the document has no {method} operation"));
    };
    let responses = &operation["responses"];
    let Some(answer) = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))
    else {
        return Some(format!("status {status} is not listed for this operation"));
    };
    let answer = match resolve(document, answer) {
        Ok(answer) => answer,
        Err(why) => return Some(why),
    };
    let Some(content) = answer.get("content").and_then(Value::as_object) else {
        // No body documented: none may be sent.
        return (!body.is_empty()).then(|| {
            format!(
                "the document says this answer has no body, and it has {} bytes",
                body.len()
            )
        });
    };
    let media = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let Some(declared) = content.get(media) else {
        return Some(format!(
            "content type {media:?} is not among {:?}",
            content.keys().collect::<Vec<_>>()
        ));
    };
    let (Some(schema), "application/json") = (declared.get("schema"), media) else {
        return None;
    };
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Some(format!("the body is not JSON: {e}")),
    };
    validate(document, schema, &value, "body").err()
}

/// The component a `$ref` names (a reference to nothing is a fault of the document), or
/// `value` itself.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> Result<&'a Value, String> {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = document
                .pointer(reference.trim_start_matches('#'))
                .ok_or_else(|| format!("the document's reference {reference} names nothing"))?;
            resolve(document, target)
        }
        None => Ok(value),
    }
}

/// Checks `value` against the JSON Schema subset utoipa writes: `$ref`, `type` (one or a
/// list), `enum`, `oneOf`/`anyOf`/`allOf`, `properties` (no others allowed unless
/// `additionalProperties` says so), `required`, `additionalProperties`, `items`.
pub fn validate(document: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(document, schema)?;
    if let Some(options) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
        let options = options.as_array().map(Vec::as_slice).unwrap_or_default();
        if !options
            .iter()
            .any(|option| validate(document, option, value, at).is_ok())
        {
            return Err(format!("{at}: {value} matches none of the allowed shapes"));
        }
    }
    for part in schema["allOf"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        validate(document, part, value, at)?;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !types.iter().any(|t| has_type(value, t)) {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Value::Object(object) = value {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema["required"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: the required property {name:?} is missing"));
            }
        }
        for (name, field) in object {
            let at = format!("{at}.{name}");
            match (
                properties.and_then(|p| p.get(name)),
                schema.get("additionalProperties"),
            ) {
                (Some(declared), _) => validate(document, declared, field, &at)?,
                (None, Some(Value::Bool(true))) => {}
                (None, Some(extra @ Value::Object(_))) => validate(document, extra, field, &at)?,
                (None, _) if properties.is_some() => {
                    return Err(format!("{at}: the document does not name this property"));
                }
                (None, _) => {}
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, element) in items.iter().enumerate() {
            validate(document, item, element, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

/// A document small enough to reason about, for the checker's own tests.
fn sample() -> Value {
    json!({
        "paths": {"/things/{id}": {"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "404": {"$ref": "#/components/responses/NotFound"},
            "204": {"description": "nothing"},
            "410": {"$ref": "#/components/responses/Gone"},
        }}}},
        "components": {
            "schemas": {"Thing": {
                "type": "object",
                "required": ["id", "tags"],
                "properties": {
                    "id": {"type": "integer"},
                    "name": {"type": ["string", "null"]},
                    "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                    "owner": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Owner"}]},
                },
            }, "Owner": {"type": "object", "required": ["sub"], "properties": {"sub": {"type": "string"}}}},
            "responses": {"NotFound": {"description": "no", "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}}}}},
        },
    })
}

#[test]
fn the_checker_accepts_what_matches_and_names_what_does_not() {
    let doc = sample();
    let check = |status, ct: &str, body: &str| {
        violation(
            &doc,
            "get",
            "/things/{id}",
            status,
            Some(ct),
            body.as_bytes(),
        )
    };
    let json = "application/json";
    assert_eq!(
        check(200, json, r#"{"id": 1, "tags": ["a"], "name": null}"#),
        None
    );
    assert_eq!(
        check(200, json, r#"{"id": 1, "tags": [], "owner": {"sub": "x"}}"#),
        None
    );
    assert_eq!(
        check(404, "application/json; charset=utf-8", r#"{"error": "x"}"#),
        None
    );
    for (status, ct, body, says) in [
        (200, json, r#"{"tags": []}"#, "\"id\" is missing"),
        (200, json, r#"{"id": "1", "tags": []}"#, "is not of type"),
        (200, json, r#"{"id": 1.5, "tags": []}"#, "is not of type"),
        (200, json, r#"{"id": 1, "tags": ["c"]}"#, "is not one of"),
        (
            200,
            json,
            r#"{"id": 1, "tags": [], "extra": 1}"#,
            "does not name this property",
        ),
        (
            200,
            json,
            r#"{"id": 1, "tags": [], "owner": {"who": 1}}"#,
            "matches none",
        ),
        (200, json, "not json", "not JSON"),
        (200, "text/html", "<p>", "content type"),
        (404, json, r#"{"message": "x"}"#, "missing"),
        (418, json, "{}", "not listed"),
        (204, json, "{}", "no body"),
        (410, json, "{}", "names nothing"),
    ] {
        let why = check(status, ct, body).unwrap_or_else(|| panic!("{body} passed"));
        assert!(why.contains(says), "{body}: {why}");
    }
    assert!(
        violation(&doc, "get", "/other", 200, Some(json), b"{}")
            .unwrap()
            .contains("no such path")
    );
    assert!(
        violation(&doc, "post", "/things/{id}", 200, Some(json), b"{}")
            .unwrap()
            .contains("no post operation")
    );
    assert_eq!(
        violation(&doc, "post", "/things/{id}", 405, None, b""),
        None
    );
    assert_eq!(check(204, json, ""), None);
}

#[tokio::test]
async fn every_test_server_checks_its_answers() {
    // A document that lists no 200 for /api/hello: the real answer is replaced, and says why.
    let app = spawn_app_checked_against(&[], |doc| {
        doc["paths"]["/api/hello"]["get"]["responses"]
            .as_object_mut()
            .unwrap()
            .remove("200");
    })
    .await;
    let r = app.http.get(app.url("/api/hello")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let why = r.text().await.unwrap();
    assert!(
        why.contains("GET /api/hello → 200 OK: status 200 is not listed"),
        "{why}"
    );
}

#[tokio::test]
async fn the_served_document_is_the_one_answers_are_checked_against() {
    let app = spawn_app().await;
    let r = app.http.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let served: Value = r.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["servers"][0]["url"], app.api.as_str());
    let schemes = &served["components"]["securitySchemes"];
    assert_eq!(
        schemes["oauth2"]["flows"]["authorizationCode"]["authorizationUrl"],
        format!("{}/authorize", app.api)
    );
    assert_eq!(
        schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        format!("{}/token", app.api)
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    // Every operation has its own id, and the common answers are there.
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in served["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_owned()), "{id} twice");
            assert!(
                operation["responses"].get("503").is_some(),
                "{method} {path}"
            );
        }
    }
    let products = &served["paths"]["/api/products"]["get"]["responses"];
    for status in ["200", "401", "403", "431", "503"] {
        assert!(products.get(status).is_some(), "{status}");
    }
    // A checked answer that does not match is replaced: shown with a document that lists no
    // 200 for /api/hello.
    let mut narrowed = served.clone();
    narrowed["paths"]["/api/hello"]["get"]["responses"]
        .as_object_mut()
        .unwrap()
        .remove("200");
    let why = violation(
        &narrowed,
        "get",
        "/api/hello",
        200,
        Some("application/json"),
        br#"{"message": "Hello", "authenticated": false}"#,
    );
    assert!(why.unwrap().contains("not listed"));
}
