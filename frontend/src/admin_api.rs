//! The admin API (`/admin/*` on the API origin): what the console sends and gets back.
//!
//! Every call goes through [`Api`], so it carries the same `Authorization: Bearer` header (MVC
//! mode: goes through the server's `/bff/admin/…` the same way) and a 401 ends the session the
//! same way. The token needs the `admin` scope and an administrator
//! behind it: without the scope the API answers 403 `insufficient_scope`, for anyone else 403
//! `access_denied`; both arrive here as [`ApiError`]s that say so.

use std::future::Future;

use gloo_net::http::Method;
use leptos::prelude::{GetValue, StoredValue, expect_context};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::admin::{
    AccessPolicies, ApiToken, ApiTokenCreated, AuthorizationServer, Client, ClientCreated,
    ClientUpdate, CustomClaims, Event, KeyRotation, KeysRotated, NewApiToken,
    NewAuthorizationServer, NewClient, NewRegistrationToken, NewScope, NewTrustedIssuer, NewUser,
    PasswordReset, RegistrationToken, RegistrationTokenCreated, Scope, ScopeUpdate, SecretRotated,
    ServerChange, ServerScopes, SigningKey, TokenPreview, TokenPreviewRequest, TrustedIssuer, User,
    UserUpdate,
};

use crate::api::{Api, ApiError};

/// The admin API, as the logged-in administrator. `Copy`, so event handlers can hold it; each
/// call takes what it needs when it is made and returns a future that owns it.
#[derive(Clone, Copy)]
pub struct AdminApi(StoredValue<Api>);

/// The admin API client for the console's pages (owned by the calling component).
pub fn use_admin_api() -> AdminApi {
    AdminApi(StoredValue::new(expect_context::<Api>()))
}

/// An answer still to come.
pub trait Answer<T>: Future<Output = Result<T, ApiError>> + 'static {}
impl<T, F: Future<Output = Result<T, ApiError>> + 'static> Answer<T> for F {}

/// The filters of `GET /admin/events`; empty ones are left out of the query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub kind: String,
    pub user: String,
    pub client: String,
    /// An answer's `X-Request-Id`: what happened in that request.
    pub request_id: String,
    pub since: Option<i64>,
    pub limit: Option<i64>,
}

impl EventFilter {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        for (name, value) in [
            ("kind", &self.kind),
            ("user", &self.user),
            ("client", &self.client),
            ("request_id", &self.request_id),
        ] {
            let value = value.trim();
            if !value.is_empty() {
                query.push((name, value.to_owned()));
            }
        }
        if let Some(since) = self.since {
            query.push(("since", since.to_string()));
        }
        if let Some(limit) = self.limit {
            query.push(("limit", limit.to_string()));
        }
        query
    }
}

/// One path segment: ids, client ids and scope names are the user's own text (`products:read`).
fn segment(value: &str) -> String {
    js_sys::encode_uri_component(value).into()
}

impl AdminApi {
    fn api(self) -> Api {
        self.0.get_value()
    }

    fn get<T: DeserializeOwned + 'static>(
        self,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> impl Answer<T> {
        let api = self.api();
        async move { api.get_with_query(&path, &query).await }
    }

    fn send<B, T>(self, method: Method, path: String, body: Option<B>) -> impl Answer<T>
    where
        B: Serialize + 'static,
        T: DeserializeOwned + 'static,
    {
        let api = self.api();
        async move { api.send_json(method, &path, body.as_ref()).await }
    }

    fn send_no_content<B>(self, method: Method, path: String, body: Option<B>) -> impl Answer<()>
    where
        B: Serialize + 'static,
    {
        let api = self.api();
        async move { api.send_no_content(method, &path, body.as_ref()).await }
    }

    pub fn users(self) -> impl Answer<Vec<User>> {
        self.get("/admin/users".into(), vec![])
    }

    pub fn create_user(self, user: NewUser) -> impl Answer<User> {
        self.send(Method::POST, "/admin/users".into(), Some(user))
    }

    /// Disables, enables, promotes or demotes (only the fields present change).
    pub fn update_user(self, id: &str, update: UserUpdate) -> impl Answer<User> + use<> {
        let path = format!("/admin/users/{}", segment(id));
        self.send(Method::PATCH, path, Some(update))
    }

    /// Also ends the user's sessions.
    pub fn reset_password(self, id: &str, reset: PasswordReset) -> impl Answer<()> + use<> {
        let path = format!("/admin/users/{}/password", segment(id));
        self.send_no_content(Method::POST, path, Some(reset))
    }

    pub fn clients(self) -> impl Answer<Vec<Client>> {
        self.get("/admin/clients".into(), vec![])
    }

    /// A service's secret is in the answer, and never again.
    pub fn create_client(self, client: NewClient) -> impl Answer<ClientCreated> {
        self.send(Method::POST, "/admin/clients".into(), Some(client))
    }

    pub fn update_client(
        self,
        client_id: &str,
        update: ClientUpdate,
    ) -> impl Answer<Client> + use<> {
        let path = format!("/admin/clients/{}", segment(client_id));
        self.send(Method::PATCH, path, Some(update))
    }

    /// The old secret stops working at once.
    pub fn rotate_secret(self, client_id: &str) -> impl Answer<SecretRotated> + use<> {
        let path = format!("/admin/clients/{}/secret", segment(client_id));
        self.send(Method::POST, path, None::<()>)
    }

    pub fn delete_client(self, client_id: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/clients/{}", segment(client_id));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    pub fn scopes(self) -> impl Answer<Vec<Scope>> {
        self.get("/admin/scopes".into(), vec![])
    }

    pub fn create_scope(self, scope: NewScope) -> impl Answer<Scope> {
        self.send(Method::POST, "/admin/scopes".into(), Some(scope))
    }

    pub fn update_scope(self, name: &str, update: ScopeUpdate) -> impl Answer<Scope> + use<> {
        let path = format!("/admin/scopes/{}", segment(name));
        self.send(Method::PATCH, path, Some(update))
    }

    /// 409 for a builtin scope or one a client may still ask for.
    pub fn delete_scope(self, name: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/scopes/{}", segment(name));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    /// Every API token, or only `username`'s.
    pub fn tokens(self, username: Option<String>) -> impl Answer<Vec<ApiToken>> {
        let query = username
            .map(|username| ("username", username))
            .into_iter()
            .collect();
        self.get("/admin/tokens".into(), query)
    }

    /// The token itself is in the answer, and never again.
    pub fn create_token(self, token: NewApiToken) -> impl Answer<ApiTokenCreated> {
        self.send(Method::POST, "/admin/tokens".into(), Some(token))
    }

    /// The token stays listed, as revoked.
    pub fn revoke_token(self, id: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/tokens/{}", segment(id));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    /// The initial access tokens for dynamic registration (never the tokens themselves).
    pub fn registration_tokens(self) -> impl Answer<Vec<RegistrationToken>> {
        self.get("/admin/registration-tokens".into(), vec![])
    }

    /// The token itself is in the answer, and never again.
    pub fn create_registration_token(
        self,
        new: NewRegistrationToken,
    ) -> impl Answer<RegistrationTokenCreated> {
        self.send(Method::POST, "/admin/registration-tokens".into(), Some(new))
    }

    pub fn delete_registration_token(self, id: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/registration-tokens/{}", segment(id));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    pub fn keys(self) -> impl Answer<Vec<SigningKey>> {
        self.get("/admin/keys".into(), vec![])
    }

    /// 409 while the next key is younger than the JWKS cache lifetime, unless `force`.
    pub fn rotate_keys(self, force: bool) -> impl Answer<KeysRotated> {
        self.send(
            Method::POST,
            "/admin/keys/rotate".into(),
            Some(KeyRotation {
                force,
                server: None,
            }),
        )
    }

    /// The trusted external issuers, with what the answering instance knows of each.
    pub fn issuers(self) -> impl Answer<Vec<TrustedIssuer>> {
        self.get("/admin/issuers".into(), vec![])
    }

    /// Its metadata and keys are read first: an issuer the server cannot read is refused.
    pub fn trust_issuer(self, issuer: NewTrustedIssuer) -> impl Answer<TrustedIssuer> {
        self.send(Method::POST, "/admin/issuers".into(), Some(issuer))
    }

    /// Its tokens are refused from the next request.
    pub fn remove_issuer(self, id: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/issuers/{}", segment(id));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    /// Reads its metadata and keys again now; `status.last_error` says if that failed.
    pub fn refresh_issuer(self, id: &str) -> impl Answer<TrustedIssuer> + use<> {
        let path = format!("/admin/issuers/{}/refresh", segment(id));
        self.send(Method::POST, path, None::<()>)
    }

    pub fn servers(self) -> impl Answer<Vec<AuthorizationServer>> {
        self.get("/admin/servers".into(), vec![])
    }

    /// Serving at once, with its first keys and the default access policy.
    pub fn create_server(self, server: NewAuthorizationServer) -> impl Answer<AuthorizationServer> {
        self.send(Method::POST, "/admin/servers".into(), Some(server))
    }

    /// Its name, description and audiences.
    pub fn update_server(
        self,
        id: &str,
        change: ServerChange,
    ) -> impl Answer<AuthorizationServer> + use<> {
        let path = format!("/admin/servers/{}", segment(id));
        self.send(Method::PUT, path, Some(change))
    }

    /// With its keys and policies: its tokens are refused from then on.
    pub fn delete_server(self, id: &str) -> impl Answer<()> + use<> {
        let path = format!("/admin/servers/{}", segment(id));
        self.send_no_content(Method::DELETE, path, None::<()>)
    }

    /// In evaluation order.
    pub fn policies(self, server: &str) -> impl Answer<AccessPolicies> + use<> {
        self.get(
            format!("/admin/servers/{}/policies", segment(server)),
            vec![],
        )
    }

    /// Replaces them all at once; the server checks them as a whole (422 naming the policy
    /// and rule otherwise).
    pub fn save_policies(
        self,
        server: &str,
        policies: AccessPolicies,
    ) -> impl Answer<AccessPolicies> + use<> {
        let path = format!("/admin/servers/{}/policies", segment(server));
        self.send(Method::PUT, path, Some(policies))
    }

    pub fn claims(self, server: &str) -> impl Answer<CustomClaims> + use<> {
        self.get(format!("/admin/servers/{}/claims", segment(server)), vec![])
    }

    /// Replaces them all at once (422 naming the claim otherwise).
    pub fn save_claims(
        self,
        server: &str,
        claims: CustomClaims,
    ) -> impl Answer<CustomClaims> + use<> {
        let path = format!("/admin/servers/{}/claims", segment(server));
        self.send(Method::PUT, path, Some(claims))
    }

    pub fn server_scopes(self, server: &str) -> impl Answer<ServerScopes> + use<> {
        self.get(format!("/admin/servers/{}/scopes", segment(server)), vec![])
    }

    /// Replaces them all at once (422 naming the scope otherwise).
    pub fn save_server_scopes(
        self,
        server: &str,
        scopes: ServerScopes,
    ) -> impl Answer<ServerScopes> + use<> {
        let path = format!("/admin/servers/{}/scopes", segment(server));
        self.send(Method::PUT, path, Some(scopes))
    }

    /// What the token endpoint would answer; nothing is issued.
    pub fn preview(self, request: TokenPreviewRequest) -> impl Answer<TokenPreview> {
        self.send(Method::POST, "/admin/preview".into(), Some(request))
    }

    /// Newest first.
    pub fn events(self, filter: &EventFilter) -> impl Answer<Vec<Event>> + use<> {
        self.get("/admin/events".into(), filter.query())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_filters_leave_out_what_is_empty() {
        assert!(EventFilter::default().query().is_empty());
        let filter = EventFilter {
            kind: " login_failed ".into(),
            user: String::new(),
            client: "demo-spa".into(),
            request_id: "a1.2f".into(),
            since: None,
            limit: Some(50),
        };
        assert_eq!(
            filter.query(),
            [
                ("kind", "login_failed".to_owned()),
                ("client", "demo-spa".to_owned()),
                ("request_id", "a1.2f".to_owned()),
                ("limit", "50".to_owned()),
            ]
        );
    }
}
