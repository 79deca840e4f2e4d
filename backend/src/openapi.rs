//! The OpenAPI 3.1 document of the API origin (`GET /openapi.json`), generated from the
//! handlers' `#[utoipa::path]` annotations and the wire types' schemas, and a documentation page
//! (`GET /docs`: Swagger UI, bundled in the binary, no CDN) where a user can authorize with
//! OAuth and call the API.
//!
//! What every operation of a kind can answer is added here once, as the code does it once: every
//! protected operation may answer 400, 401 and 403 (the `AccessToken` extractor and
//! `AccessToken::require`), every operation with a body 400 and 413 (the body extractors), and
//! every operation 503 when the database is away (the error types' `From<storage::Error>`) and
//! 431 to oversized headers (`limit_headers`).

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder,
    OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::server::Server;
use utoipa::openapi::{Components, OpenApi as Document, RefOr};
use utoipa::{OpenApi, ToSchema};

use crate::config::Config;
use crate::demo;
use crate::state::AppState;

/// The security schemes, by the names the annotations use.
pub const OAUTH2: &str = "oauth2";
pub const BEARER: &str = "bearer";
pub const API_TOKEN: &str = "apiToken";
pub const CLIENT_BASIC: &str = "clientBasic";
pub const INITIAL_ACCESS_TOKEN: &str = "initialAccessToken";
pub const REGISTRATION_ACCESS_TOKEN: &str = "registrationAccessToken";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "API access management",
        description = "An OAuth 2.0 / OpenID Connect authorization server and the REST API it protects. \
            **Authorize** with OAuth (the authorization code flow with PKCE logs a user in; client \
            credentials act as a service), with a Bearer access token, or with an API token, then \
            **Try it out**. Error bodies are RFC 6749 §5.2's `{\"error\", \"error_description\"}`; \
            the API's 401 and 403 carry RFC 6750 `WWW-Authenticate` challenges."
    ),
    paths(
        crate::api::hello::hello,
        crate::api::whoami::whoami,
        crate::api::me::me,
        crate::api::refusals::list,
        crate::api::grants::list,
        crate::api::debug::check,
        crate::cors::list,
        crate::labs::clock::show,
        crate::labs::clock::set,
        crate::labs::keys::list,
        crate::labs::keys::rotate,
        crate::labs::api_tokens::list,
        crate::labs::api_tokens::create,
        crate::labs::api_tokens::revoke,
        crate::api::products::list,
        crate::api::orders::list,
        crate::api::orders::create,
        crate::oauth::discovery::metadata,
        crate::oauth::discovery::jwks,
        crate::oauth::token::token,
        crate::oauth::par::par,
        crate::oauth::registration::register,
        crate::oauth::registration::read,
        crate::oauth::registration::update,
        crate::oauth::registration::delete,
        crate::oauth::device::device_authorization,
        crate::oauth::device::verification,
        crate::oauth::device::verify,
        crate::oauth::revoke::revoke,
        crate::oauth::introspect::introspect,
        crate::oauth::userinfo::userinfo,
        crate::oauth::authorize::authorize,
        crate::oauth::authorize::login,
        crate::oauth::authorize::consent,
        crate::oauth::authorize::server_authorize,
        crate::oauth::authorize::server_login,
        crate::oauth::authorize::server_consent,
        crate::oauth::logout::end_session,
        crate::oauth::logout::end_session_post,
        crate::oauth::logout::server_end_session,
        crate::oauth::logout::server_end_session_post,
        crate::oauth::userinfo::server_userinfo,
        crate::oauth::discovery::server_openid_configuration,
        crate::admin::users::list,
        crate::admin::users::create,
        crate::admin::users::update,
        crate::admin::users::reset_password,
        crate::admin::clients::list,
        crate::admin::clients::create,
        crate::admin::clients::update,
        crate::admin::clients::delete,
        crate::admin::clients::rotate_secret,
        crate::admin::scopes::list,
        crate::admin::scopes::create,
        crate::admin::scopes::update,
        crate::admin::scopes::delete,
        crate::admin::tokens::list,
        crate::admin::registration_tokens::list,
        crate::admin::registration_tokens::create,
        crate::admin::registration_tokens::delete,
        crate::admin::tokens::create,
        crate::admin::tokens::revoke,
        crate::admin::servers::list,
        crate::admin::servers::create,
        crate::admin::servers::update,
        crate::admin::servers::delete,
        crate::admin::issuers::list,
        crate::admin::issuers::create,
        crate::admin::issuers::replace,
        crate::admin::issuers::delete,
        crate::admin::issuers::reread,
        crate::admin::policies::list,
        crate::admin::policies::put,
        crate::admin::claims::list,
        crate::admin::claims::put,
        crate::admin::server_scopes::list,
        crate::admin::server_scopes::put,
        crate::admin::preview::run,
        crate::oauth::discovery::server_metadata,
        crate::oauth::discovery::server_metadata_rfc8414,
        crate::oauth::discovery::server_jwks,
        crate::oauth::token::server_token,
        crate::oauth::par::server_par,
        crate::oauth::device::server_device_authorization,
        crate::oauth::device::server_verification,
        crate::oauth::device::server_verify,
        crate::oauth::introspect::server_introspect,
        crate::oauth::revoke::server_revoke,
        crate::admin::keys::list,
        crate::admin::keys::rotate_handler,
        crate::admin::events::list,
        crate::health::healthz,
        crate::health::readyz,
        crate::protected_resource::api,
        crate::protected_resource::api_below,
        crate::protected_resource::admin,
        crate::protected_resource::admin_below,
    ),
    components(responses(
        Unauthorized,
        Forbidden,
        BadRequest,
        TooLarge,
        HeadersTooLarge,
        Unavailable,
        InvalidClient,
        Throttled,
        PageUnavailable
    )),
    tags(
        (name = "API", description = "The resource server: Bearer access tokens or `Token` API tokens"),
        (name = "OAuth", description = "The authorization server (RFC 6749, 7009, 7636, 7662, 8414, 9068, 9126; OpenID Connect)"),
        (name = "Authorization servers", description = "Custom authorization servers, each with its own issuer `{issuer}/oauth2/{id}`, audience, signing algorithm and keys, in Okta's layout (`{issuer}/v1/token`, `/v1/keys`, …): client credentials, introspection, revocation"),
        (name = "Admin", description = "The admin API: an administrator's token with the `admin` scope"),
        (name = "Health", description = "Probes for load balancers and orchestrators"),
    )
)]
struct ApiDoc;

/// The answers every operation of a kind may give (see [`document`]): types for their
/// descriptions only, never built.
#[allow(dead_code)]
pub mod answers {
    use shared::oauth::ErrorResponse;
    use utoipa::ToResponse;

    /// 401: no credentials, or a token that is not accepted (RFC 6750 §3.1 `invalid_token`).
    #[derive(ToResponse)]
    #[response(
        description = "No credentials (`unauthorized`), or a token that is not accepted (`invalid_token`: expired, revoked, tampered, another issuer or audience)",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"api\"` and `Token realm=\"api\"`, with `error` and `error_description` when a token was sent (RFC 6750 §3); on the API and the admin API, the `Bearer` challenge names the metadata of the URL called in `resource_metadata` (RFC 9728 §5.1)"))
    )]
    pub struct Unauthorized(ErrorResponse);

    /// 403: the token lacks a scope (`insufficient_scope`) or its user a role (`access_denied`).
    #[derive(ToResponse)]
    #[response(
        description = "The token lacks the scope (`insufficient_scope`, RFC 6750 §3.1) or its user may not do this (`access_denied`)",
        headers(("WWW-Authenticate" = String, description = "With `insufficient_scope`: `error=\"insufficient_scope\"` and the `scope` needed, and on the API and the admin API `resource_metadata` (RFC 9728 §5.1)"))
    )]
    pub struct Forbidden(ErrorResponse);

    /// 400: the request is malformed.
    #[derive(ToResponse)]
    #[response(description = "Malformed: `invalid_request`, with a description of what to fix")]
    pub struct BadRequest(ErrorResponse);

    /// 413: the body is larger than the endpoint takes.
    #[derive(ToResponse)]
    #[response(description = "The body is larger than this endpoint takes")]
    pub struct TooLarge(ErrorResponse);

    /// 401 from the client-authenticated OAuth endpoints (RFC 6749 §5.2).
    #[derive(ToResponse)]
    #[response(
        description = "`invalid_client`: the client did not authenticate",
        headers(("WWW-Authenticate" = String, description = "`Basic realm=\"token\"`"))
    )]
    pub struct InvalidClient(ErrorResponse);

    /// 429 from the client-authenticated OAuth endpoints.
    #[derive(ToResponse)]
    #[response(
        description = "Too many failed client authentications (`temporarily_unavailable`)",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    pub struct Throttled(ErrorResponse);

    /// 503 from the authorization pages, for a person.
    #[derive(ToResponse)]
    #[response(
        description = "An error page: the database did not answer",
        content_type = "text/html",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    pub struct PageUnavailable(String);

    /// 431: the request's headers are larger than 16 KiB (RFC 6585 §5), answered before any
    /// handler runs.
    #[derive(ToResponse)]
    #[response(content_type = "text/plain")]
    pub struct HeadersTooLarge(String);

    /// 503: the database did not answer.
    #[derive(ToResponse)]
    #[response(
        description = "The database did not answer in time (`temporarily_unavailable`); nothing was changed",
        headers(("Retry-After" = u64, description = "Seconds to wait"))
    )]
    pub struct Unavailable(ErrorResponse);
}
pub use answers::{
    BadRequest, Forbidden, HeadersTooLarge, InvalidClient, PageUnavailable, Throttled, TooLarge,
    Unauthorized, Unavailable,
};

/// The form of `POST /token` (RFC 6749 §4.1.3, §4.4.2, §6), sent as
/// `application/x-www-form-urlencoded`. Which fields a request needs depends on `grant_type`.
#[derive(Serialize, ToSchema)]
pub struct TokenForm {
    /// `authorization_code`, `client_credentials`, `refresh_token`,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4) or
    /// `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693 §2.1).
    pub grant_type: String,
    /// The device grant: the device authorization response's `device_code`.
    pub device_code: Option<String>,
    /// `authorization_code`: the code from the redirect.
    pub code: Option<String>,
    /// `authorization_code`: the redirect URI of the authorization request, exactly.
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636 §4.5).
    pub code_verifier: Option<String>,
    /// `refresh_token`: the refresh token (single-use: the answer has its successor).
    pub refresh_token: Option<String>,
    /// `client_credentials`, `refresh_token` and token exchange: the scope wanted (at most what
    /// was granted, or what the subject token holds).
    pub scope: Option<String>,
    /// Token exchange: the access token to exchange (of this server, or of a trusted issuer).
    pub subject_token: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token` (or `…:jwt`).
    pub subject_token_type: Option<String>,
    /// Token exchange: a token of the party that acts for the subject (`act.sub` of the new
    /// token); without it, the client acts.
    pub actor_token: Option<String>,
    /// Token exchange, with `actor_token` only: its type, as `subject_token_type`.
    pub actor_token_type: Option<String>,
    /// Token exchange: `urn:ietf:params:oauth:token-type:access_token` (the default) or
    /// `…:jwt`.
    pub requested_token_type: Option<String>,
    /// Token exchange (RFC 8693 §2.1): the audience the new token is for, as `resource`;
    /// repeat it for several where a policy allows.
    pub audience: Option<Vec<String>>,
    /// RFC 8707: the API the access token is for (its audience, or its resource identifier);
    /// repeat it for several where a policy allows. Without it, the server's default audience.
    pub resource: Option<Vec<String>>,
    /// A public client, or `client_secret_post`: the client id.
    pub client_id: Option<String>,
    /// `client_secret_post` only; prefer HTTP Basic (`client_secret_basic`).
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with the client's key, `aud` the issuer, used once.
    pub client_assertion: Option<String>,
}

/// The form of `POST /par` (RFC 9126 §2.1): an authorization request's parameters, with the
/// client's authentication.
#[derive(Serialize, ToSchema)]
pub struct PushedRequestForm {
    /// `code`.
    pub response_type: String,
    /// The client (also in HTTP Basic, for a confidential client: then the same).
    pub client_id: Option<String>,
    /// Exactly as registered.
    pub redirect_uri: String,
    pub scope: String,
    /// Returned unchanged with the code.
    pub state: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)) (RFC 7636).
    pub code_challenge: String,
    /// `S256`.
    pub code_challenge_method: String,
    /// Echoed in the ID token.
    pub nonce: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is bound to; a DPoP proof with the
    /// push binds it to the proof's key.
    pub dpop_jkt: Option<String>,
    /// RFC 8707: an API the access token is for; repeat for several.
    pub resource: Option<Vec<String>>,
    /// `client_secret_post` only; prefer HTTP Basic (`client_secret_basic`).
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with the client's key, `aud` the issuer, used once.
    pub client_assertion: Option<String>,
}

/// The form of `POST /device/authorize` (RFC 8628 §3.1), with the client's authentication.
#[derive(Serialize, ToSchema)]
pub struct DeviceAuthorizationForm {
    /// The client (also in HTTP Basic, for a confidential client: then the same).
    pub client_id: Option<String>,
    /// What the device asks for; without it, the client's registered scopes.
    pub scope: Option<String>,
    /// RFC 8707: an API the access token is for; repeat for several.
    pub resource: Option<Vec<String>>,
    /// `client_secret_post` only; prefer HTTP Basic (`client_secret_basic`).
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with the client's key, `aud` the issuer, used once.
    pub client_assertion: Option<String>,
}

/// The form of `POST /revoke` (RFC 7009 §2.1) and `POST /introspect` (RFC 7662 §2.1).
#[derive(Serialize, ToSchema)]
pub struct TokenHintForm {
    /// The token.
    pub token: String,
    /// `access_token` or `refresh_token`: where to look first.
    pub token_type_hint: Option<String>,
    /// A public client, or `client_secret_post`: the client id.
    pub client_id: Option<String>,
    /// `client_secret_post` only.
    pub client_secret: Option<String>,
    /// `private_key_jwt` (RFC 7523 §2.2): `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// `private_key_jwt`: a JWT signed with the client's key, `aud` the issuer, used once.
    pub client_assertion: Option<String>,
}

/// `POST /introspect`'s answer (RFC 7662 §2.2): only `active` when the token is not.
#[derive(Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<shared::oauth::Audience>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
    /// `Bearer` for an access token, `DPoP` for a DPoP-bound one, `refresh_token` for a
    /// refresh token.
    pub token_type: Option<String>,
    /// A DPoP-bound access token's key (RFC 9449 §6.2).
    pub cnf: Option<shared::oauth::Confirmation>,
    /// RFC 8693 §4.1: on a token a token exchange issued, who acts for `sub`.
    pub act: Option<shared::oauth::Actor>,
}

/// `/userinfo`'s answer (OpenID Connect Core §5.3.2): `sub` always, the rest as the token's
/// scope allows (`profile`, `email`).
#[derive(Serialize, ToSchema)]
pub struct UserInfo {
    pub sub: String,
    pub preferred_username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// The document for this deployment: servers, OAuth URLs and the common answers filled in.
pub fn document(config: &Config) -> Document {
    let mut doc = ApiDoc::openapi();
    let issuer = config.issuer_str();
    doc.servers = Some(vec![Server::new(issuer)]);
    let mut components = doc.components.take().unwrap_or_else(Components::new);
    for (name, scheme) in security_schemes(issuer) {
        components.add_security_scheme(name, scheme);
    }
    doc.components = Some(components);
    // One handler answers both discovery documents (RFC 8414 §3, OpenID Connect Discovery §4).
    if let Some(item) = doc
        .paths
        .paths
        .get("/.well-known/oauth-authorization-server")
        .cloned()
    {
        doc.paths
            .paths
            .insert("/.well-known/openid-configuration".into(), item);
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                name_operation(method, path, operation);
                add_common_answers(operation);
            }
        }
    }
    doc
}

fn security_schemes(issuer: &str) -> [(&'static str, SecurityScheme); 6] {
    // The scopes the server and its API give a meaning, as the consent screen describes them.
    let scopes =
        || Scopes::from_iter(demo::SCOPES.map(|(name, description, _)| (name, description)));
    let authorize = format!("{issuer}/authorize");
    let token = format!("{issuer}/token");
    [
        (
            OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::AuthorizationCode(AuthorizationCode::new(
                        authorize,
                        token.clone(),
                        scopes(),
                    )),
                    Flow::ClientCredentials(ClientCredentials::new(token, scopes())),
                ],
                "Authorization code with PKCE (S256) for a user, client credentials for a service",
            )),
        ),
        (
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An RFC 9068 access token from /token (`Authorization: Bearer <token>`)",
                    ))
                    .build(),
            ),
        ),
        (
            API_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "A per-user API token: send `Token amt_…` (the word Token, a space, the token)",
            ))),
        ),
        (
            CLIENT_BASIC,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Client authentication (`client_secret_basic`, RFC 6749 §2.3.1): the client id and secret",
                    ))
                    .build(),
            ),
        ),
        (
            INITIAL_ACCESS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "RFC 7591 §3: an initial access token an administrator made (`REGISTRATION=token`)",
                    ))
                    .build(),
            ),
        ),
        (
            REGISTRATION_ACCESS_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "RFC 7592 §3: the registration access token the registration answered with",
                    ))
                    .build(),
            ),
        ),
    ]
}

/// Names an operation after its method and path (`get_api_orders`, `patch_admin_users_id`):
/// unique, as OpenAPI requires, where the handlers' names (`list`, `create`) are not.
fn name_operation(method: &str, path: &str, operation: &mut Operation) {
    let words = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty());
    let id = std::iter::once(method).chain(words).collect::<Vec<_>>();
    operation.operation_id = Some(id.join("_"));
}

/// Adds to an operation the answers every operation of its kind can give.
fn add_common_answers(operation: &mut Operation) {
    // Protected: not the client-authenticated OAuth endpoints (RFC 6749's codes instead), nor
    // an operation that also takes anonymous calls (`{}`: /api/hello answers 200 whatever the
    // request carries).
    let anonymous = SecurityRequirement::default();
    let client = SecurityRequirement::new(CLIENT_BASIC, Vec::<String>::new());
    let protected = operation
        .security
        .as_ref()
        .is_some_and(|s| !s.is_empty() && !s.contains(&anonymous) && !s.contains(&client));
    let mut add = |status: &str, name: &str| {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(utoipa::openapi::Ref::from_response_name(name)));
    };
    if protected {
        // A malformed Authorization header or query is `invalid_request` (RFC 6750 §3.1).
        add("400", "BadRequest");
        add("401", "Unauthorized");
        add("403", "Forbidden");
    }
    if operation.request_body.is_some() {
        add("400", "BadRequest");
        add("413", "TooLarge");
    }
    add("431", "HeadersTooLarge");
    add("503", "Unavailable");
}

/// `GET /openapi.json` and the documentation page with its assets.
pub fn router(config: &Config, demo_client: Option<&str>) -> Router<AppState> {
    // Built once; each answer shares the bytes.
    let json = Bytes::from(serde_json::to_vec(&document(config)).unwrap_or_default());
    let init = Bytes::from(docs_init(config, demo_client));
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move { asset("application/json", json, "no-cache") }
            }),
        )
        .route("/docs", get(docs_page))
        .route(
            "/docs/init.js",
            get(move || {
                let init = init.clone();
                async move { asset("text/javascript; charset=utf-8", init, "no-cache") }
            }),
        )
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| async { bundled("text/javascript; charset=utf-8", SWAGGER_JS) }),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| async { bundled("text/css; charset=utf-8", SWAGGER_CSS) }),
        )
        .route("/docs/oauth2-redirect.html", get(redirect_page))
        .route(
            "/docs/oauth2-redirect.js",
            get(|| async { bundled("text/javascript; charset=utf-8", REDIRECT_JS) }),
        )
}

// Swagger UI (swagger-ui-dist from npm, Apache-2.0; its LICENSE and NOTICE beside the files),
// in the binary: the page works with no CDN and no file beside the server.
const SWAGGER_JS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_CSS: &[u8] = include_bytes!("../assets/swagger-ui/swagger-ui.css");
const REDIRECT_HTML: &[u8] = include_bytes!("../assets/swagger-ui/oauth2-redirect.html");
const REDIRECT_JS: &[u8] = include_bytes!("../assets/swagger-ui/oauth2-redirect.js");

/// The page: only this origin's scripts and styles (the initializer is a file, not inline), the
/// document and the OAuth endpoints on this origin, no framing.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

const DOCS_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>API access management: API documentation</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"#;

/// Swagger UI's OAuth redirect page: its URL carries an authorization code, so it gets the
/// authorization pages' headers (never stored, framed or sent on as a Referer) and runs
/// nothing but its own script.
async fn redirect_page() -> Response {
    let mut response = bundled("text/html; charset=utf-8", REDIRECT_HTML);
    crate::oauth::authorize::page::protect(&mut response);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

async fn docs_page() -> Response {
    let mut response = asset(
        "text/html; charset=utf-8",
        Bytes::from_static(DOCS_HTML.as_bytes()),
        "no-cache",
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    response
}

/// Swagger UI's start: the document, the OAuth redirect page, and (with the demo data) the
/// demo's documentation client filled in, with PKCE.
fn docs_init(config: &Config, demo_client: Option<&str>) -> String {
    let issuer = config.issuer_str();
    let settings = serde_json::json!({
        "url": format!("{issuer}/openapi.json"),
        "oauth2RedirectUrl": format!("{issuer}/docs/oauth2-redirect.html"),
        "clientId": demo_client.unwrap_or_default(),
    });
    format!(
        "// Generated by the server: Swagger UI's settings for this deployment.\n\
         const settings = {settings};\n\
         window.ui = SwaggerUIBundle({{\n  url: settings.url,\n  dom_id: '#swagger-ui',\n  \
         deepLinking: true,\n  oauth2RedirectUrl: settings.oauth2RedirectUrl,\n}});\n\
         window.ui.initOAuth({{\n  clientId: settings.clientId,\n  \
         usePkceWithAuthorizationCodeGrant: true,\n}});\n"
    )
}

fn asset(content_type: &'static str, body: Bytes, cache: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

/// A bundled file: the same for the life of the binary, so a browser may keep it a day.
fn bundled(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}
