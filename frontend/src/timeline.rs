//! The exchange timeline: every HTTP exchange of this login, in order, as this tab made or
//! caused it: the authorize redirect, the callback, the token requests, every API call, the
//! refreshes and the revocation at logout. The `/timeline` page shows it and exports it as a
//! HAR file (HTTP Archive 1.2, which a browser's DevTools can import).
//!
//! It lives in `sessionStorage` (key [`KEY`]): it must survive the round trip through the
//! authorization server, it belongs to this tab and it goes when the tab closes. A login starts
//! a new one. It holds credentials this tab holds anyway (the access token, spent codes and
//! verifiers, the CSRF token); the page masks them until asked, and the HAR export leaves them
//! out unless asked. Refresh tokens, passwords, secrets the server shows only once and tokens
//! pasted into the debugger are never kept ([`NEVER_KEPT`]).
//!
//! The page sees only what the Fetch standard lets scripts see: the response headers the API
//! exposes (CORS), never cookies, never the preflights (the server's record of those is
//! shown beside, see `GET /api/cors/preflights`). In MVC mode the server's own exchanges with
//! the authorization server come from its session (`GET /bff/session`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where the timeline is kept in `sessionStorage`.
pub const KEY: &str = "oauth.timeline";
/// The oldest entries go beyond this many.
pub const MAX_ENTRIES: usize = 60;
/// Bodies are kept up to this many bytes (a product list is a few KB).
pub const MAX_BODY: usize = 8 * 1024;

/// The parameters, headers and body members that are credentials: masked until asked.
const SECRETS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "token",
    "authorization",
    "x-csrf-token",
    "csrf_token",
];

/// Values that are never kept, not even in this tab, wherever they appear (a JSON member at any
/// depth, a form field): secrets the server shows once (a new client secret, a new API token),
/// passwords an administrator types, a token pasted into the debugger (which promises to store
/// nothing), and refresh tokens (a refresh token outlives the session that held it when the
/// session ends without a logout; only its first characters are kept, to see it rotate).
const NEVER_KEPT: &[&str] = &[
    "client_secret",
    "token",
    "password",
    "new_password",
    "refresh_token",
];

/// What replaces a [`NEVER_KEPT`] value.
pub const NOT_KEPT: &str = "(not kept by the timeline)";

/// What an exchange was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The browser navigates to the authorization endpoint (RFC 6749 §4.1.1).
    Authorize,
    /// The authorization server sends the browser back with `code`, `state`, `iss` (§4.1.2).
    Callback,
    /// The code (with the PKCE verifier) for tokens (§4.1.3).
    Token,
    /// A refresh token for new tokens (§6).
    Refresh,
    /// RFC 7009 revocation at logout.
    Revoke,
    /// A call to the protected API (REST: with `Authorization: Bearer`).
    Api,
    /// MVC: the browser navigates to the server's `/bff/login`, which does the authorize step.
    ServerLogin,
    /// MVC: a call to the app's own server, which adds the token (or ends the session).
    Server,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Self::Authorize => "authorize",
            Self::Callback => "callback",
            Self::Token => "token",
            Self::Refresh => "refresh",
            Self::Revoke => "revoke",
            Self::Api => "API call",
            Self::ServerLogin => "server login",
            Self::Server => "app server",
        }
    }
}

/// One labelled value shown with an entry: an explanation, a check, a computation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub label: String,
    pub value: String,
    /// Masked until asked.
    #[serde(default)]
    pub secret: bool,
}

impl Note {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            value: value.into(),
            secret: false,
        }
    }

    pub fn secret(label: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            secret: true,
            ..Self::new(label, value)
        }
    }
}

/// One exchange.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it started: milliseconds since the epoch and ISO 8601 (this browser's clock).
    pub at_ms: f64,
    pub started: String,
    /// How long until the answer was read (0 for a navigation).
    pub ms: f64,
    pub step: Step,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<String>,
    /// `None`: a navigation whose answer this page does not see, or no answer at all.
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
    pub notes: Vec<Note>,
}

impl Entry {
    pub fn new(step: Step, method: &str, url: impl Into<String>) -> Self {
        let at_ms = now_ms();
        Self {
            at_ms,
            started: iso_time(at_ms),
            ms: 0.0,
            step,
            method: method.to_owned(),
            url: url.into(),
            request_headers: Vec::new(),
            request_body: None,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            notes: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.request_headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.request_body = Some(clip(kept(body.into())));
        self
    }

    pub fn note(mut self, note: Note) -> Self {
        self.notes.push(note);
        self
    }

    /// The answer: its status, the headers this page may read, its body.
    pub fn answered(mut self, status: u16, headers: Vec<(String, String)>, body: String) -> Self {
        self.ms = (now_ms() - self.at_ms).max(0.0);
        self.status = Some(status);
        self.response_headers = headers;
        self.response_body = (!body.is_empty()).then(|| clip(kept(body)));
        self
    }

    /// No answer came (network error, CORS refusal): the note says what the browser reported.
    pub fn unanswered(mut self, why: impl Into<String>) -> Self {
        self.ms = (now_ms() - self.at_ms).max(0.0);
        self.notes.push(Note::new("no answer", why));
        self
    }

    /// The JWTs this exchange carried: the `Authorization: Bearer` token and the tokens of a
    /// token response, by name.
    pub fn jwts(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (name, value) in &self.request_headers {
            for scheme in ["Bearer", "DPoP"] {
                if let Some(token) = value.strip_prefix(scheme).and_then(|v| v.strip_prefix(' '))
                    && name.eq_ignore_ascii_case("authorization")
                {
                    found.push((format!("Authorization: {scheme}"), token.to_owned()));
                }
            }
        }
        if let Some(Ok(Value::Object(body))) = self
            .response_body
            .as_deref()
            .map(serde_json::from_str::<Value>)
        {
            for name in ["access_token", "id_token"] {
                if let Some(Value::String(token)) = body.get(name)
                    && token.split('.').count() == 3
                {
                    found.push((name.to_owned(), token.clone()));
                }
            }
        }
        found
    }
}

/// Whether a parameter, header or member of that name is a credential.
pub fn is_secret(name: &str) -> bool {
    SECRETS
        .iter()
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// A credential as the page shows it until asked: its first characters and its length.
pub fn mask(value: &str) -> String {
    let (scheme, credential) = match value.split_once(' ') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("dpop") =>
        {
            (format!("{scheme} "), rest)
        }
        _ => (String::new(), value),
    };
    let length = credential.chars().count();
    format!(
        "{scheme}{}… ({length} characters, hidden)",
        prefix(credential)
    )
}

/// The first characters of a credential that may be shown: six at most, never more than a
/// quarter of it.
fn prefix(credential: &str) -> String {
    let length = credential.chars().count();
    credential.chars().take(6.min(length / 4)).collect()
}

/// A header's value, masked when it is a credential and `secrets` is off.
pub fn header_value(name: &str, value: &str, secrets: bool) -> String {
    if secrets || !is_secret(name) {
        value.to_owned()
    } else {
        mask(value)
    }
}

/// A URL with its credential parameters (a callback's `code`) masked.
pub fn masked_url(url: &str, secrets: bool) -> String {
    match url.split_once('?') {
        Some((base, query)) if !secrets => format!("{base}?{}", masked_form(query)),
        _ => url.to_owned(),
    }
}

/// A body as the page shows it: JSON pretty-printed, credentials masked unless `secrets`.
pub fn body_text(body: &str, secrets: bool) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            if !secrets {
                replace_members(&mut value, is_secret, |_, text| mask(text));
            }
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| body.to_owned())
        }
        Err(_) if !secrets && body.contains('=') && !body.contains(char::is_whitespace) => {
            masked_form(body)
        }
        Err(_) => body.to_owned(),
    }
}

/// `a=1&code=xyz` → `a=1&code=xyz…` with the credentials masked (values stay encoded).
fn masked_form(form: &str) -> String {
    form.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if is_secret(name) => format!("{name}={}…", prefix(value)),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `a=1&b=x%20y` → `[("a", "1"), ("b", "x y")]` (RFC 3986 percent-decoding, `+` as space).
pub fn form_pairs(form: &str) -> Vec<(String, String)> {
    form.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decoded(name), decoded(value))
        })
        .collect()
}

fn decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'+', _, _) => out.push(b' '),
            (b'%', Some(&high), Some(&low)) if hex(high).is_some() && hex(low).is_some() => {
                let value = hex(high).unwrap_or(0) * 16 + hex(low).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 2;
            }
            (byte, _, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What an authorization request parameter is for (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC).
pub fn explain_param(name: &str) -> Option<&'static str> {
    Some(match name {
        "response_type" => "code: the authorization code flow (RFC 6749 §4.1.1)",
        "client_id" => "which registered client is asking (this app, a public client)",
        "redirect_uri" => {
            "where the code goes: compared exactly with the client's registered URIs \
             (RFC 9700 §2.1)"
        }
        "scope" => "what the token may do; the server may grant less (RFC 6749 §3.3)",
        "state" => {
            "a random value the callback must get back unchanged: ties the answer to this tab \
             (CSRF, RFC 6749 §10.12)"
        }
        "code_challenge" => {
            "BASE64URL(SHA-256(code_verifier)): the verifier stays here until the token request \
             (PKCE, RFC 7636 §4.2)"
        }
        "code_challenge_method" => "S256, the only method this server accepts (RFC 9700 §2.1.1)",
        "code" => "the one-time authorization code, redeemed at once at the token endpoint",
        "iss" => "who issued the code; must be the server this app logs in at (RFC 9207)",
        "nonce" => "OpenID Connect: echoed in the ID token to tie it to this request",
        "return_to" => "the app page to return to after the login (the app's own parameter)",
        "admin" => "a step-up login that also asks for the admin scope",
        _ => return None,
    })
}

/// The timeline as an HTTP Archive (HAR 1.2, <http://www.softwareishard.com/blog/har-12-spec/>),
/// credentials masked unless `secrets`. Navigations the page did not see answered get status 0,
/// as DevTools records requests without an answer.
pub fn har(entries: &[Entry], secrets: bool, creator_version: &str) -> Value {
    let headers = |pairs: &[(String, String)]| -> Vec<Value> {
        pairs
            .iter()
            .map(|(name, value)| json!({"name": name, "value": header_value(name, value, secrets)}))
            .collect()
    };
    let entries: Vec<Value> = entries
        .iter()
        .map(|entry| {
            let url = masked_url(&entry.url, secrets);
            let query: Vec<Value> = url
                .split_once('?')
                .map(|(_, query)| form_pairs(query))
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            let mime = |pairs: &[(String, String)]| {
                pairs
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                    .map_or_else(String::new, |(_, value)| value.clone())
            };
            let mut request = json!({
                "method": entry.method,
                "url": url,
                "httpVersion": "HTTP/1.1",
                "cookies": [],
                "headers": headers(&entry.request_headers),
                "queryString": query,
                "headersSize": -1,
                // What travelled is not known exactly (bodies are kept clipped and masked).
                "bodySize": -1,
            });
            if let Some(body) = &entry.request_body {
                let text = if secrets {
                    body.clone()
                } else {
                    masked_body(body)
                };
                request["postData"] = json!({"mimeType": mime(&entry.request_headers), "text": text});
            }
            let body = entry
                .response_body
                .as_deref()
                .map(|body| {
                    if secrets {
                        body.to_owned()
                    } else {
                        masked_body(body)
                    }
                })
                .unwrap_or_default();
            let comment = entry
                .notes
                .iter()
                .map(|note| {
                    let value = if note.secret && !secrets {
                        mask(&note.value)
                    } else {
                        note.value.clone()
                    };
                    format!("{}: {value}", note.label)
                })
                .collect::<Vec<_>>()
                .join("\n");
            json!({
                "startedDateTime": entry.started,
                "time": entry.ms,
                "request": request,
                "response": {
                    "status": entry.status.unwrap_or(0),
                    "statusText": "",
                    "httpVersion": "HTTP/1.1",
                    "cookies": [],
                    "headers": headers(&entry.response_headers),
                    "content": {"size": body.len(), "mimeType": mime(&entry.response_headers), "text": body},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": -1,
                },
                "cache": {},
                "timings": {"send": 0, "wait": entry.ms, "receive": 0},
                "comment": format!("{}{}{comment}", entry.step.label(), if comment.is_empty() { "" } else { "\n" }),
            })
        })
        .collect();
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "OAuth Shop timeline", "version": creator_version},
            "pages": [],
            "entries": entries,
            "comment": if secrets {
                "Credentials included: treat this file as a secret."
            } else {
                "Credentials masked (access, refresh and ID tokens, codes, verifiers, CSRF tokens)."
            },
        }
    })
}

/// A body for the HAR: JSON (compact) with its credential members masked, a form with its
/// credential values masked, anything else as it is.
fn masked_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut value @ Value::Object(_)) => {
            replace_members(&mut value, is_secret, |_, text| mask(text));
            value.to_string()
        }
        _ => body_text(body, false),
    }
}

/// Replaces, at any depth, the string members whose name `wanted` picks with `by` of them.
fn replace_members(
    value: &mut Value,
    wanted: impl Fn(&str) -> bool + Copy,
    by: impl Fn(&str, &str) -> String + Copy,
) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                match member {
                    Value::String(text) if wanted(name) => *text = by(name, text),
                    other => replace_members(other, wanted, by),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                replace_members(item, wanted, by);
            }
        }
        _ => {}
    }
}

fn never_kept(name: &str) -> bool {
    NEVER_KEPT
        .iter()
        .any(|kept| kept.eq_ignore_ascii_case(name))
}

/// What the timeline keeps of a body: [`NEVER_KEPT`] values replaced (a refresh token by its
/// first characters), in JSON at any depth and in a form; anything else as it is.
fn kept(body: String) -> String {
    let replacement = |name: &str, text: &str| {
        if name.eq_ignore_ascii_case("refresh_token") {
            format!("{}… {NOT_KEPT}", prefix(text))
        } else {
            NOT_KEPT.to_owned()
        }
    };
    if let Ok(mut value) = serde_json::from_str::<Value>(&body) {
        let before = value.clone();
        replace_members(&mut value, never_kept, replacement);
        return if value == before {
            body
        } else {
            value.to_string()
        };
    }
    if !body.contains('=') || body.contains(char::is_whitespace) {
        return body;
    }
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if never_kept(name) => {
                // Still a form: the replacement is encoded the way form values are.
                let text = replacement(name, value)
                    .replace('…', "%E2%80%A6")
                    .replace(' ', "+")
                    .replace('(', "%28")
                    .replace(')', "%29");
                format!("{name}={text}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn clip(mut text: String) -> String {
    if text.len() > MAX_BODY {
        let mut end = MAX_BODY;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("… (cut)");
    }
    text
}

#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(target_arch = "wasm32")]
fn iso_time(ms: f64) -> String {
    crate::format::iso_time_ms(ms)
}

// The unit tests run on the host, where there is no JavaScript clock.
#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    0.0
}

#[cfg(not(target_arch = "wasm32"))]
fn iso_time(_ms: f64) -> String {
    String::new()
}

/// The timeline of this tab, kept current in `sessionStorage` and readable as a signal.
mod store {
    use leptos::prelude::{ArcRwSignal, Get, GetUntracked, Set, Update};

    use super::{Entry, KEY, MAX_ENTRIES};

    thread_local! {
        static ENTRIES: ArcRwSignal<Vec<Entry>> = ArcRwSignal::new(load());
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.session_storage().ok().flatten()
    }

    fn load() -> Vec<Entry> {
        storage()
            .and_then(|storage| storage.get_item(KEY).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    /// Saves as much of the timeline as the storage takes, the newest entries first to stay.
    fn save(entries: &[Entry]) {
        let Some(storage) = storage() else {
            return;
        };
        let mut kept = entries;
        loop {
            let saved =
                serde_json::to_string(kept).is_ok_and(|json| storage.set_item(KEY, &json).is_ok());
            if saved || kept.is_empty() {
                break;
            }
            // Full (the quota is shared with the login's own values): drop the older half.
            kept = &kept[kept.len().div_ceil(2)..];
        }
        if kept.is_empty() {
            let _ = storage.remove_item(KEY);
        }
    }

    /// Adds an exchange to the timeline.
    pub fn record(entry: Entry) {
        ENTRIES.with(|entries| {
            entries.update(|list| {
                list.push(entry);
                let extra = list.len().saturating_sub(MAX_ENTRIES);
                list.drain(..extra);
                save(list);
            });
        });
    }

    /// A login starts a new timeline with its first exchange.
    pub fn begin(entry: Entry) {
        replace(vec![entry]);
    }

    pub fn replace(list: Vec<Entry>) {
        save(&list);
        ENTRIES.with(|entries| entries.set(list));
    }

    /// The entries, oldest first (tracked: a page re-renders as exchanges happen).
    pub fn entries() -> Vec<Entry> {
        ENTRIES.with(ArcRwSignal::get)
    }

    /// The entries, oldest first, without tracking.
    pub fn entries_untracked() -> Vec<Entry> {
        ENTRIES.with(ArcRwSignal::get_untracked)
    }
}

pub use store::{begin, entries, entries_untracked, record, replace};

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(step: Step, method: &str, url: &str) -> Entry {
        Entry {
            at_ms: 1_000.0,
            started: "2026-12-04T10:00:00.000Z".into(),
            ..Entry::new(step, method, url)
        }
    }

    #[test]
    fn credentials_are_masked_until_asked() {
        assert_eq!(
            mask("Bearer eyJhbGciOiJFUzI1NiJ9.e30.x"),
            "Bearer eyJhbG… (26 characters, hidden)"
        );
        assert_eq!(
            header_value("Authorization", "Bearer abcdefgh", false),
            "Bearer ab… (8 characters, hidden)"
        );
        assert_eq!(
            header_value("Authorization", "Bearer abc", true),
            "Bearer abc"
        );
        assert_eq!(
            header_value("content-type", "text/plain", false),
            "text/plain"
        );
        assert_eq!(
            masked_url(
                "http://a/cb?code=abcdefghijklmnopqrstuvwxyz&state=s1",
                false
            ),
            "http://a/cb?code=abcdef…&state=s1"
        );
        assert_eq!(
            masked_url("http://a/cb?code=abc", true),
            "http://a/cb?code=abc"
        );
        let form = "grant_type=refresh_token&refresh_token=0123456789&client_id=demo-spa";
        assert_eq!(
            body_text(form, false),
            "grant_type=refresh_token&refresh_token=01…&client_id=demo-spa"
        );
        let json = r#"{"access_token":"eyJ0eXAiOiJhdCtqd3QifQ","token_type":"Bearer"}"#;
        let shown = body_text(json, false);
        assert!(shown.contains("\"token_type\": \"Bearer\""), "{shown}");
        assert!(!shown.contains("eyJ0eXAiOiJhdCtqd3QifQ"), "{shown}");
        assert!(body_text(json, true).contains("eyJ0eXAiOiJhdCtqd3QifQ"));
        assert_eq!(body_text("not json at all", false), "not json at all");
    }

    #[test]
    fn forms_decode() {
        assert_eq!(
            form_pairs("a=1&redirect_uri=http%3A%2F%2Fx%2Fcb&scope=openid+profile&bad=%zz&end=%4"),
            [
                ("a".into(), "1".into()),
                ("redirect_uri".into(), "http://x/cb".into()),
                ("scope".into(), "openid profile".into()),
                ("bad".into(), "%zz".into()),
                ("end".into(), "%4".into()),
            ]
        );
    }

    #[test]
    fn finds_the_jwts_an_exchange_carried() {
        let api = entry(Step::Api, "GET", "http://api/api/orders")
            .header("Authorization", "Bearer a.b.c");
        assert_eq!(
            api.jwts(),
            [("Authorization: Bearer".to_owned(), "a.b.c".to_owned())]
        );
        let token = entry(Step::Token, "POST", "http://api/token").answered(
            200,
            Vec::new(),
            r#"{"access_token":"h.p.s","refresh_token":"opaque","id_token":"i.d.t"}"#.into(),
        );
        assert_eq!(
            token.jwts(),
            [
                ("access_token".to_owned(), "h.p.s".to_owned()),
                ("id_token".to_owned(), "i.d.t".to_owned())
            ]
        );
    }

    #[test]
    fn exports_a_har_with_credentials_masked() {
        let entries = [
            entry(Step::Authorize, "GET", "http://api/authorize?response_type=code&state=xyz"),
            entry(Step::Token, "POST", "http://api/token")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("grant_type=authorization_code&code=abcdefghijkl&code_verifier=verifierverifier")
                .note(Note::secret("code_verifier", "verifierverifier"))
                .answered(
                    200,
                    vec![("content-type".into(), "application/json".into())],
                    r#"{"access_token":"eyJhbGciOiJFUzI1NiJ9.e30.sig","token_type":"Bearer"}"#.into(),
                ),
        ];
        let har = har(&entries, false, "1.0");
        let text = har.to_string();
        assert!(!text.contains("verifierverifier"), "{text}");
        assert!(!text.contains("abcdefghijkl"), "{text}");
        assert!(!text.contains("eyJhbGciOiJFUzI1NiJ9.e30.sig"), "{text}");
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        let exported = log["entries"].as_array().unwrap();
        assert_eq!(exported.len(), 2);
        assert_eq!(exported[0]["response"]["status"], 0);
        assert_eq!(
            exported[0]["request"]["queryString"][1],
            json!({"name": "state", "value": "xyz"})
        );
        assert_eq!(
            exported[1]["request"]["postData"]["mimeType"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(exported[1]["response"]["status"], 200);
        assert_eq!(
            exported[1]["response"]["content"]["mimeType"],
            "application/json"
        );
        let body: Value =
            serde_json::from_str(exported[1]["response"]["content"]["text"].as_str().unwrap())
                .unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(exported[1]["startedDateTime"], "2026-12-04T10:00:00.000Z");
        let with_secrets = super::har(&entries, true, "1.0").to_string();
        assert!(with_secrets.contains("eyJhbGciOiJFUzI1NiJ9.e30.sig"));
        assert!(with_secrets.contains("verifierverifier"));
    }

    #[test]
    fn secrets_shown_once_are_never_kept() {
        let created = entry(Step::Server, "POST", "http://api/admin/clients").answered(
            201,
            Vec::new(),
            r#"{"client":{"client_id":"c1"},"client_secret":"s3cr3t-value"}"#.into(),
        );
        let body = created.response_body.unwrap();
        assert!(!body.contains("s3cr3t-value"), "{body}");
        assert!(body.contains(NOT_KEPT) && body.contains("c1"), "{body}");
        let pasted = entry(Step::Api, "POST", "http://api/api/debug/token")
            .body(r#"{"token":"eyJ.pasted.token","endpoint":"GET /api/orders"}"#);
        let body = pasted.request_body.unwrap();
        assert!(
            !body.contains("pasted") && body.contains("GET /api/orders"),
            "{body}"
        );
        let form = entry(Step::Revoke, "POST", "http://api/revoke")
            .body("token=0123456789abcdefghij&token_type_hint=refresh_token");
        assert_eq!(
            form.request_body.as_deref(),
            Some("token=%28not+kept+by+the+timeline%29&token_type_hint=refresh_token")
        );
        assert_eq!(
            form_pairs(form.request_body.as_deref().unwrap())[0].1,
            NOT_KEPT
        );
        let refresh = entry(Step::Refresh, "POST", "http://api/token")
            .body("grant_type=refresh_token&refresh_token=0123456789abcdefghij");
        let body = refresh.request_body.unwrap();
        assert!(
            body.ends_with("refresh_token=01234%E2%80%A6+%28not+kept+by+the+timeline%29"),
            "{body}"
        );
        let nested = entry(Step::Server, "POST", "http://api/admin/users").body(
            r#"{"username":"u","password":"hunter2hunter2","more":[{"refresh_token":"0123456789abcdefghij"}]}"#,
        );
        let body = nested.request_body.unwrap();
        assert!(
            !body.contains("hunter2") && !body.contains("56789"),
            "{body}"
        );
        assert!(body.contains(r#""username":"u""#), "{body}");
        // A short secret is never shown whole.
        assert_eq!(mask("abc"), "… (3 characters, hidden)");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character() {
        let body = format!("a{}", "é".repeat(MAX_BODY));
        let kept = clip(body);
        assert!(kept.ends_with("… (cut)"));
        assert!(kept.len() <= MAX_BODY + "… (cut)".len());
    }
}
