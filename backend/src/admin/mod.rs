//! The admin API: users, clients, scopes, API tokens, signing keys and the security event log,
//! under `/admin/*` on the API origin.
//!
//! It is a protected API like the others: a Bearer access token (or an API token) with the
//! `admin` scope, held by a user whose role is `admin` — checked again on every request, so a
//! demoted or disabled administrator loses access at once, whatever tokens they still hold.
//! Every change is written to the security event log before the answer goes out.
//!
//! Each file holds one kind of record: the operations, which the command line (`backend users …`
//! and the rest, see [`crate::cli`]) calls too, and the handlers that put them on HTTP.

pub mod claims;
pub mod clients;
pub mod events;
pub mod issuers;
pub mod keys;
pub mod policies;
pub mod preview;
pub mod registration_tokens;
pub mod scopes;
pub mod server_scopes;
pub mod servers;
pub mod tokens;
pub mod users;

use std::net::IpAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, patch, post};
use serde::de::DeserializeOwned;
use shared::scope::ADMIN;

use crate::api::auth::AccessToken;
use crate::api::error::ApiError;
use crate::client_addr::ClientAddr;
use crate::clock::Timestamp;
use crate::config::Config;
use crate::events::{Event, EventKind};
use crate::refusals::Why;
use crate::state::AppState;
use crate::storage::{self, Db, EventRow, User};

/// Bodies here are small forms; larger ones get 413 before they are parsed.
const MAX_BODY: usize = 16 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users::list).post(users::create))
        .route("/admin/users/{id}", patch(users::update))
        .route("/admin/users/{id}/password", post(users::reset_password))
        .route("/admin/clients", get(clients::list).post(clients::create))
        .route(
            "/admin/clients/{id}",
            patch(clients::update).delete(clients::delete),
        )
        .route("/admin/clients/{id}/secret", post(clients::rotate_secret))
        .route("/admin/scopes", get(scopes::list).post(scopes::create))
        .route(
            "/admin/scopes/{name}",
            patch(scopes::update).delete(scopes::delete),
        )
        .route("/admin/tokens", get(tokens::list).post(tokens::create))
        .route(
            "/admin/registration-tokens",
            get(registration_tokens::list).post(registration_tokens::create),
        )
        .route(
            "/admin/registration-tokens/{id}",
            axum::routing::delete(registration_tokens::delete),
        )
        .route("/admin/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/admin/servers", get(servers::list).post(servers::create))
        .route(
            "/admin/servers/{id}",
            axum::routing::put(servers::update).delete(servers::delete),
        )
        .route(
            "/admin/servers/{id}/policies",
            get(policies::list).put(policies::put),
        )
        .route(
            "/admin/servers/{id}/claims",
            get(claims::list).put(claims::put),
        )
        .route(
            "/admin/servers/{id}/scopes",
            get(server_scopes::list).put(server_scopes::put),
        )
        .route("/admin/issuers", get(issuers::list).post(issuers::create))
        .route(
            "/admin/issuers/{id}",
            axum::routing::put(issuers::replace).delete(issuers::delete),
        )
        .route("/admin/issuers/{id}/refresh", post(issuers::reread))
        .route("/admin/preview", post(preview::run))
        .route("/admin/keys", get(keys::list))
        .route("/admin/keys/rotate", post(keys::rotate_handler))
        .route("/admin/events", get(events::list))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// What an operation needs: the database, the configuration, who is acting, and when.
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub actor: Actor,
    pub now: Timestamp,
}

/// Who made a change, as the event log records it.
#[derive(Clone, Debug)]
pub struct Actor {
    user_id: Option<String>,
    address: Option<IpAddr>,
    via: &'static str,
}

impl Actor {
    /// The server's configuration, applied at start.
    pub fn configuration_file() -> Self {
        Self {
            user_id: None,
            address: None,
            via: "configuration file",
        }
    }

    /// A developer registering, changing or deleting their client at `/register` (RFC 7591,
    /// RFC 7592), from `address`.
    pub fn registration(address: IpAddr) -> Self {
        Self {
            user_id: None,
            address: Some(address),
            via: "dynamic registration",
        }
    }

    /// An operator running `backend …` on the server.
    pub fn command_line() -> Self {
        Self {
            user_id: None,
            address: None,
            via: "command line",
        }
    }

    /// Stores the event at `at`, with who made the change: the change is acknowledged only
    /// once its record is kept.
    async fn record_event(
        &self,
        db: &Db,
        event: Event,
        at: Timestamp,
    ) -> Result<EventRow, ApiError> {
        let mut event = event;
        if let Some(user) = &self.user_id {
            event = event.user(user);
        }
        if let Some(address) = self.address {
            event = event.address(address);
        }
        let mut row = event.into_row(at);
        row.detail = format!("{} ({})", row.detail, self.via);
        Ok(db.insert_event(&row).await?)
    }
}

impl Ctx<'_> {
    /// Records a change the acting administrator made (see [`Actor::record_event`]).
    pub(crate) async fn record(
        &self,
        kind: EventKind,
        client_id: Option<&str>,
        detail: String,
    ) -> Result<(), ApiError> {
        let mut event = Event::new(kind).detail(detail);
        if let Some(client_id) = client_id {
            event = event.client(client_id);
        }
        self.actor
            .record_event(self.db, event, self.now)
            .await
            .map(drop)
    }
}

/// A request from an administrator: put it in a handler's arguments to require one.
pub struct Administrator {
    pub user: User,
    ctx_actor: Actor,
}

impl Administrator {
    fn ctx<'a>(&self, state: &'a AppState) -> Ctx<'a> {
        Ctx {
            db: &state.db,
            config: &state.config,
            actor: self.ctx_actor.clone(),
            now: state.clock.now(),
        }
    }
}

impl<S> FromRequestParts<S> for Administrator
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = AccessToken::from_request_parts(parts, state).await?;
        let state = AppState::from_ref(state);
        token.require_issuer(&state.root.issuer)?;
        token.require(ADMIN)?;
        let user = match state.db.user_by_id(&token.claims.sub).await? {
            Some(user) if user.is_admin() && !user.disabled => user,
            Some(user) => {
                let got = if user.disabled {
                    format!("{}, disabled", user.username)
                } else {
                    format!("{}, role {}", user.username, user.role.as_str())
                };
                return Err(ApiError::Forbidden(format!(
                    "the admin API is for administrators, and {} is not one (or no longer)",
                    user.username
                ))
                .because(
                    Why::check("role")
                        .expected("an enabled user with role admin (read again on every request)")
                        .got(got)
                        .remedy(
                            "sign in as an administrator; an administrator can give a user the \
                             admin role",
                        ),
                ));
            }
            None => {
                return Err(ApiError::Forbidden(
                    "the admin API acts for an administrator; this token speaks for no user".into(),
                ));
            }
        };
        let address = ClientAddr::from_request_parts(parts, &state)
            .await
            .ok()
            .map(|ClientAddr(address)| address);
        Ok(Self {
            ctx_actor: Actor {
                user_id: Some(user.id.clone()),
                address,
                via: "admin API",
            },
            user,
        })
    }
}

/// A JSON object body, parsed into `T` (whose fields are checked strictly). Every failure is a
/// 400 `invalid_request` that says what is wrong, or 413.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let bytes = RawBody::from_request(request, state).await?;
        if !json {
            return Err(ApiError::BadRequest(
                "send the body as JSON with Content-Type: application/json".into(),
            ));
        }
        parse_body(&bytes).map(Body)
    }
}

/// A request body's bytes: the API's JSON answers when they cannot be read (413 past the
/// limit, 400 otherwise).
pub type RawBody = crate::body::BodyBytes<ApiError>;

/// The rules of [`Body`], for bytes already read.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = serde_json::from_slice::<OnceEach>(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?
        .0;
    // Objects only: serde would also read a struct from a JSON array.
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    // No field of this API holds a NUL, and PostgreSQL could not store one.
    if holds_nul(&value) {
        return Err(ApiError::BadRequest(
            "the body contains a NUL character (\\u0000), which no field may hold".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("the body {e}")))
}

/// A JSON value in which no object names a member twice. RFC 8259 §4 leaves the meaning of a
/// repeated name to each reader (serde keeps the last, others the first); a body that a proxy,
/// a log or a second reader could read differently is refused instead.
struct OnceEach(serde_json::Value);

impl<'de> serde::Deserialize<'de> for OnceEach {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OnceEachVisitor).map(OnceEach)
    }
}

struct OnceEachVisitor;

impl<'de> serde::de::Visitor<'de> for OnceEachVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(OnceEach(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let OnceEach(value) = map.next_value()?;
            if members.insert(name.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format_args!(
                    "an object names {name:?} twice; give each member once"
                )));
            }
        }
        Ok(members.into())
    }
}

/// Whether a string anywhere in `value` (keys included) holds a NUL character.
fn holds_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(holds_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// The `{id}` of a path, with a JSON error if it cannot be read.
pub struct Named(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Named {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(name) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::BadRequest("the path is not valid".into()))?;
        // No record's name holds a control character: say so, the same on every database.
        if name.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(
                "the path contains a control character".into(),
            ));
        }
        Ok(Self(name))
    }
}

/// A short text field: trimmed, 1 to `max` characters, no control characters.
fn text(field: &str, value: &str, max: usize, error: &'static str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::Unprocessable {
            error,
            description: format!(
                "the {field} must be 1 to {max} characters, without control characters"
            ),
        });
    }
    Ok(value.to_owned())
}

/// An identifier chosen by a person (a username, a client id): 1 to `max` of `A-Z a-z 0-9 . _ -`
/// (and `@` where `at` allows it), so that it prints and logs unambiguously.
fn identifier(
    field: &str,
    value: &str,
    max: usize,
    at: bool,
    error: &'static str,
) -> Result<String, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b) || (at && b == b'@'));
    if !ok {
        let extra = if at { " @" } else { "" };
        return Err(ApiError::Unprocessable {
            error,
            description: format!(
                "the {field} must be 1 to {max} characters of letters, digits and . _ -{extra}"
            ),
        });
    }
    Ok(value.to_owned())
}

/// The two storage outcomes an administrator's request can cause, answered in words: the
/// record named does not exist (404), or clashes with one that does (409). Any other storage
/// error is answered as [`ApiError`] answers it.
trait Answered<T> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T, ApiError>;
    fn or_conflict(self, what: impl FnOnce() -> String) -> Result<T, ApiError>;
}

impl<T> Answered<T> for storage::Result<T> {
    fn or_not_found(self, what: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            storage::Error::NotFound => ApiError::NotFound(what()),
            e => e.into(),
        })
    }

    fn or_conflict(self, what: impl FnOnce() -> String) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            storage::Error::Conflict(_) => ApiError::Conflict(what()),
            e => e.into(),
        })
    }
}
