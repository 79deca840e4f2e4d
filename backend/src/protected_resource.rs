//! Protected resource metadata (RFC 9728). Each protected API of this origin describes itself:
//! its identifier, the authorization server whose tokens it accepts, the scopes it checks. Each
//! Bearer challenge it answers says where that description is (§5.1), so a client that meets a
//! 401 can find its way to a token with no prior configuration: challenge → resource metadata
//! → authorization server metadata (RFC 8414) → token → retry.
//!
//! RFC 9728 §3.3 asks a client that found the metadata through a challenge to check that its
//! `resource` is exactly the URL it called. So a challenge names the metadata of the URL that
//! was called (`/api/orders` → `/.well-known/oauth-protected-resource/api/orders`, the suffix
//! inserted before the path as §3.1 builds it), and that document's `resource` is that URL.
//! A URL's query is part of it (§3.1 puts it after the path). Every URL of one API gets the
//! same description otherwise; `{issuer}/api` and `{issuer}/admin` stand for each API as a
//! whole. A URL with a character outside the plain set below (a percent-encoding among them,
//! which would be compared decoded by some clients and not by others) gets no parameter: its
//! challenge stays as RFC 6750 has it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shared::oauth::ResourceMetadata;
use shared::scope::{ADMIN, ORDERS_READ, ORDERS_WRITE, PRODUCTS_READ};

use crate::config::Config;
use crate::state::AppState;

/// RFC 9728 §3: the well-known URI suffix.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The metadata changes only with the configuration, as the authorization server's does.
const CACHE: &str = "public, max-age=300";

/// The longest path and query below an API that is described: longer than any of its URLs.
const MAX_URL: usize = 256;

/// The protected resources of this origin: the shop's REST API, which accepts the tokens of the
/// root issuer and of the authorization servers for its audience, and the admin API, which
/// accepts the root issuer's only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    Api,
    Admin,
}

impl Resource {
    /// Where it lives on this origin: its identifier is the issuer's URL and this path.
    fn path(self) -> &'static str {
        match self {
            Self::Api => "/api",
            Self::Admin => "/admin",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Api => "OAuth Shop API",
            Self::Admin => "Admin API",
        }
    }

    /// The scopes its endpoints check (`Authenticated::require`).
    fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Api => &[PRODUCTS_READ, ORDERS_READ, ORDERS_WRITE, "profile"],
            Self::Admin => &[ADMIN],
        }
    }

    /// The first path segments below the resource that its routes start with (api::router,
    /// admin::router): metadata is served for those URLs only.
    fn sections(self) -> &'static [&'static str] {
        match self {
            Self::Api => &["hello", "whoami", "me", "products", "orders"],
            Self::Admin => &[
                "users", "clients", "scopes", "tokens", "keys", "servers", "events",
            ],
        }
    }

    /// The resource identifier (RFC 9728 §1.2) of the API as a whole: a URL with no query or
    /// fragment.
    fn identifier(self, config: &Config) -> String {
        config.endpoint(self.path())
    }

    /// The identifier of the URL `below` the API (`""` for the API itself, or `/products`),
    /// with its query if it has one, when it is one of its URLs; `None` for anything else.
    fn identifier_of(self, config: &Config, below: &str, query: Option<&str>) -> Option<String> {
        let known = match below.strip_prefix('/') {
            None => below.is_empty(),
            Some(rest) => self
                .sections()
                .contains(&rest.split('/').next().unwrap_or_default()),
        };
        let url = Plain::url(below, query)?;
        known.then(|| format!("{}{url}", self.identifier(config)))
    }

    /// Its metadata for the URL `resource`. The API names the root issuer, the authorization
    /// servers for its audience and the trusted external issuers (`trusted`), which it accepts
    /// tokens of; the admin API only the root issuer.
    fn metadata(self, config: &Config, resource: String, trusted: &[String]) -> ResourceMetadata {
        let strings = |values: &[&str]| values.iter().map(|v| (*v).to_owned()).collect();
        let mut authorization_servers = vec![config.issuer_str().to_owned()];
        if self == Self::Api {
            authorization_servers.extend_from_slice(trusted);
        }
        ResourceMetadata {
            resource,
            authorization_servers,
            scopes_supported: strings(self.scopes()),
            bearer_methods_supported: strings(&["header"]),
            dpop_signing_alg_values_supported: strings(&crate::dpop::alg_names()),
            dpop_bound_access_tokens_required: false,
            resource_name: Some(self.name().to_owned()),
            resource_documentation: Some(config.endpoint("/docs")),
        }
    }
}

/// Which of this origin's APIs the resource identifier `resource` names, if any: the
/// identifier of the API as a whole (`{ISSUER}/api`) or of one of its URLs (the `resource` of
/// its metadata, a path or query after it). A client that followed a challenge asks for a
/// token with the identifier it found (RFC 8707 §2, RFC 9728 §7.4).
pub fn api_named(config: &Config, resource: &str) -> Option<Resource> {
    [Resource::Api, Resource::Admin].into_iter().find(|api| {
        // What follows is a path or a query below it, plain (no dot segment that would climb
        // out of it, no percent-encoding that a reader would decode first).
        resource
            .strip_prefix(&api.identifier(config))
            .is_some_and(|rest| {
                let path = rest.split('?').next().unwrap_or_default();
                (rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
                    && !rest.contains('%')
                    && !path.split('/').any(|s| s == "." || s == "..")
            })
    })
}

/// The URLs that are described and named in challenges: RFC 3986 unreserved characters and
/// `/` in the path (no dot segments), and `=`, `&` besides in the query; no percent-encoding.
/// Nothing that would need quoting in a challenge or decoding before a comparison. A query is
/// carried only when it holds nothing but the filters the APIs read (`admin::events`,
/// `admin::tokens`): a URL that carries anything else (an `access_token` the API refuses to take
/// from a URL above all) is never copied into another URL or a document.
struct Plain;

/// The query parameters of the two APIs.
const QUERY_NAMES: [&str; 7] = [
    "kind", "user", "client", "since", "limit", "username", "server",
];

impl Plain {
    /// `path?query` when both are plain and short enough.
    fn url(path: &str, query: Option<&str>) -> Option<String> {
        let unreserved =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        let path_ok = path.bytes().all(|b| unreserved(b) || b == b'/')
            && !path
                .split('/')
                .any(|segment| segment == "." || segment == "..");
        let query_ok = query.is_none_or(|q| {
            !q.is_empty()
                && q.bytes().all(|b| unreserved(b) || b == b'=' || b == b'&')
                && q.split('&')
                    .all(|pair| QUERY_NAMES.contains(&pair.split('=').next().unwrap_or(pair)))
        });
        let length = path.len() + query.map_or(0, |q| q.len() + 1);
        (path_ok && query_ok && length <= MAX_URL).then(|| match query {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        })
    }
}

/// Where the metadata of this origin's URLs is (RFC 9728 §3.1): the origin, the well-known
/// suffix, then the URL's path, under the issuer's path if it has one (a proxy in front then
/// maps the one to the other).
pub struct MetadataLocation {
    prefix: String,
}

impl MetadataLocation {
    pub fn new(config: &Config) -> Arc<Self> {
        let origin = config.issuer.origin().ascii_serialization();
        let issuer_path = config.issuer.path().trim_end_matches('/');
        Arc::new(Self {
            prefix: format!("{origin}{WELL_KNOWN}{issuer_path}"),
        })
    }

    /// `, resource_metadata="…"` for the URL with this path and query, or nothing for one that
    /// is not plain (nothing of the caller's reaches a challenge unchecked).
    fn parameter(&self, path: &str, query: Option<&str>) -> Option<String> {
        Plain::url(path, query).map(|url| format!(r#", resource_metadata="{}{url}""#, self.prefix))
    }
}

/// The metadata documents, on the API origin (with CORS: a browser client may read them).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/.well-known/oauth-protected-resource/api", get(api))
        .route(
            "/.well-known/oauth-protected-resource/api/{*below}",
            get(api_below),
        )
        .route("/.well-known/oauth-protected-resource/admin", get(admin))
        .route(
            "/.well-known/oauth-protected-resource/admin/{*below}",
            get(admin_below),
        )
}

#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/api", tag = "API",
    description = "Protected resource metadata (RFC 9728) of the shop's API: where its tokens come from and the scopes it checks. Each of its URLs has the same document at the same place with its own path after `/api` (its `resource` being that URL, as RFC 9728 §3.3 has clients check); the API's Bearer and DPoP challenges name it in `resource_metadata`.",
    responses((status = 200, description = "RFC 9728 §3.2", body = shared::oauth::ResourceMetadata)))]
pub async fn api(State(state): State<AppState>, uri: Uri) -> Response {
    document(&state, Resource::Api, &uri).await
}

/// The API's metadata for one of its URLs (see [`api`]).
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/api/{below}", tag = "API",
    description = "The API's metadata (RFC 9728) for its URL `/api/{below}`, whose `resource` it is: where the challenges of that URL point.",
    params(("below" = String, Path, description = "The rest of the URL's path after `/api/`, e.g. `orders`")),
    responses(
        (status = 200, description = "RFC 9728 §3.2", body = shared::oauth::ResourceMetadata),
        (status = 404, description = "Not a URL of the API"),
    ))]
pub async fn api_below(State(state): State<AppState>, uri: Uri) -> Response {
    document(&state, Resource::Api, &uri).await
}

#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/admin", tag = "Admin",
    description = "Protected resource metadata (RFC 9728) of the admin API; each of its URLs has the same document with its own path after `/admin`. The admin API's Bearer and DPoP challenges name it in `resource_metadata`.",
    responses((status = 200, description = "RFC 9728 §3.2", body = shared::oauth::ResourceMetadata)))]
pub async fn admin(State(state): State<AppState>, uri: Uri) -> Response {
    document(&state, Resource::Admin, &uri).await
}

/// The admin API's metadata for one of its URLs (see [`admin`]).
#[utoipa::path(get, path = "/.well-known/oauth-protected-resource/admin/{below}", tag = "Admin",
    description = "The admin API's metadata (RFC 9728) for its URL `/admin/{below}`, whose `resource` it is.",
    params(("below" = String, Path, description = "The rest of the URL's path after `/admin/`, e.g. `users`")),
    responses(
        (status = 200, description = "RFC 9728 §3.2", body = shared::oauth::ResourceMetadata),
        (status = 404, description = "Not a URL of the admin API"),
    ))]
pub async fn admin_below(State(state): State<AppState>, uri: Uri) -> Response {
    document(&state, Resource::Admin, &uri).await
}

/// The document of the URL whose metadata `uri` is: the path after the well-known suffix and
/// the resource's own path, read as it came (not percent-decoded, as the challenge wrote it).
async fn document(state: &AppState, resource: Resource, uri: &Uri) -> Response {
    let config = &state.config;
    let below = uri
        .path()
        .strip_prefix(WELL_KNOWN)
        .and_then(|rest| rest.strip_prefix(resource.path()));
    let Some(identifier) =
        below.and_then(|below| resource.identifier_of(config, below, uri.query()))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The shop's API also takes the tokens of the trusted external issuers.
    let mut trusted = state.servers.issuers_for(&config.audience);
    if resource == Resource::Api {
        match state.db.trusted_issuers().await {
            Ok(external) => trusted.extend(external.into_iter().map(|t| t.issuer)),
            Err(e) => return crate::api::error::ApiError::from(e).into_response(),
        }
    }
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static(CACHE))],
        Json(resource.metadata(config, identifier, &trusted)),
    )
        .into_response()
}

/// Middleware on a resource's routes: the `Bearer` and `DPoP` challenges of each refusal (401,
/// and the 400 and 403 that carry one) gain the `resource_metadata` of the URL called (RFC 9728
/// §5.1, for either scheme). Other challenges (`Token`) are left as they are; a success passes
/// untouched. Every `Bearer` and `DPoP` challenge of these routes is written by `ApiError` as
/// `Bearer realm="api"…` or `DPoP realm="api", algs="…"…`, ending with a quoted string, so one
/// more auth-param after a comma keeps it well-formed (RFC 9110 §11.6.1).
pub async fn point_to_metadata(
    State(location): State<Arc<MetadataLocation>>,
    request: Request,
    next: Next,
) -> Response {
    // A clone of the URI shares its bytes: no copy on the way in.
    let uri: Uri = request.uri().clone();
    let mut response = next.run(request).await;
    if !matches!(
        response.status(),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
    ) {
        return response;
    }
    let headers = response.headers_mut();
    let is_bearer = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        bytes
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
            || bytes
                .get(..5)
                .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop "))
    };
    if !headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .any(is_bearer)
    {
        return response;
    }
    let Some(parameter) = location.parameter(uri.path(), uri.query()) else {
        return response;
    };
    let challenges: Vec<HeaderValue> = headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::WWW_AUTHENTICATE);
    for challenge in challenges {
        let value = if is_bearer(&challenge) {
            let mut bytes = challenge.as_bytes().to_vec();
            bytes.extend_from_slice(parameter.as_bytes());
            HeaderValue::from_bytes(&bytes).unwrap_or(challenge)
        } else {
            challenge
        };
        headers.append(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn config_with(args: &[&str]) -> Config {
        let mut argv = vec!["backend"];
        argv.extend_from_slice(args);
        Config::try_parse_from(argv).unwrap()
    }

    #[test]
    fn a_challenge_names_the_metadata_of_the_url_called_with_the_suffix_before_its_path() {
        let config = config_with(&["--issuer", "https://auth.example.com"]);
        let location = MetadataLocation::new(&config);
        assert_eq!(
            location.parameter("/api/orders", None).as_deref(),
            Some(
                r#", resource_metadata="https://auth.example.com/.well-known/oauth-protected-resource/api/orders""#
            )
        );
        // RFC 9728 §3.1: an issuer below a path keeps it after the suffix; a query follows
        // the path.
        let below = config_with(&["--issuer", "https://example.com/auth/"]);
        assert_eq!(
            MetadataLocation::new(&below)
                .parameter("/admin/users", Some("limit=5"))
                .as_deref(),
            Some(
                r#", resource_metadata="https://example.com/.well-known/oauth-protected-resource/auth/admin/users?limit=5""#
            )
        );
        // Nothing that would need quoting or decoding, and no dot segments.
        for path in [
            "/api/a\"b",
            "/api/../admin",
            "/api/a b",
            "/api/ü",
            "/api/%41",
        ] {
            assert_eq!(location.parameter(path, None), None, "{path}");
        }
        for query in [
            "",
            "kind=%20",
            "kind=\"",
            "kind=a b",
            "access_token=amt_0_x",
            "kind=a&x=1",
        ] {
            assert_eq!(
                location.parameter("/api/orders", Some(query)),
                None,
                "{query}"
            );
        }
        let long = format!("/api/{}", "a".repeat(300));
        assert_eq!(location.parameter(&long, None), None);
    }

    #[test]
    fn each_url_of_an_api_is_described_and_nothing_else() {
        let config = config_with(&["--issuer", "https://auth.example.com"]);
        let api = |below: &str| Resource::Api.identifier_of(&config, below, None);
        assert_eq!(api("").as_deref(), Some("https://auth.example.com/api"));
        assert_eq!(
            api("/orders").as_deref(),
            Some("https://auth.example.com/api/orders")
        );
        for unknown in [
            "/nope",
            "/",
            "//orders",
            "/orders/../../admin",
            "/users",
            "x",
        ] {
            assert_eq!(api(unknown), None, "{unknown}");
        }
        let admin = |below: &str| Resource::Admin.identifier_of(&config, below, None);
        assert_eq!(
            admin("/users/alice/password").as_deref(),
            Some("https://auth.example.com/admin/users/alice/password")
        );
        assert_eq!(admin("/products"), None);
        assert_eq!(
            Resource::Admin
                .identifier_of(&config, "/events", Some("kind=login_failed"))
                .as_deref(),
            Some("https://auth.example.com/admin/events?kind=login_failed")
        );
        assert_eq!(
            Resource::Api.identifier_of(&config, "/orders%41", None),
            None
        );
        let metadata = Resource::Admin.metadata(&config, "x".into(), &["other".into()]);
        assert_eq!(metadata.authorization_servers, ["https://auth.example.com"]);
        assert_eq!(metadata.scopes_supported, [ADMIN]);
        assert_eq!(metadata.bearer_methods_supported, ["header"]);
    }
}
