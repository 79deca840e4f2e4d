//! Authorization requests pushed to the PAR endpoint (RFC 9126), as the authorization endpoint
//! reads them back: `GET /authorize?client_id=…&request_uri=…` opens one for the browser that
//! sent it (once, §4), and its login form, which carries only those two, reads it again until
//! the login ends.

use std::sync::Arc;

use super::page::PageError;
use super::request::{AuthorizationRequest, Channel, Refusal};
use crate::clock::Timestamp;
use crate::crypto;
use crate::oauth::params::Params;
use crate::servers::AuthServer;
use crate::state::AppState;
use crate::storage::{self, Opening, PushedRequest, Unopened};

/// RFC 9126 §2.2: the `request_uri` is a URN of this registered form.
pub const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// A reference is `crypto::random_token(32)`: 43 characters; anything much longer is not one.
const MAX_REFERENCE_LEN: usize = 128;
/// How long an opened request lasts: as long as the login form's anti-forgery cookie.
pub const OPENED_SECS: u64 = 1800;

/// The hash a `request_uri`'s random part is stored under: a database leak yields no usable
/// `request_uri` (one that has not expired would still need its client).
pub fn uri_hash(reference: &str) -> String {
    crypto::sha256_hex(reference)
}

/// What `params` names: the `request_uri`'s reference and the hashes it is stored under.
struct Named<'a> {
    reference: &'a str,
    client_id: &'a str,
    uri_hash: String,
    csrf_hash: String,
}

impl Named<'_> {
    fn at<'a>(&'a self, server: &'a AuthServer) -> Opening<'a> {
        Opening {
            uri_hash: &self.uri_hash,
            client_id: self.client_id,
            server_id: server.id(),
            server_generation: server.generation(),
            csrf_hash: &self.csrf_hash,
        }
    }
}

/// The client id and the reference of the `request_uri` in `params`, for the browser whose
/// anti-forgery token is `csrf`, or why the page refuses.
fn named<'a>(params: &'a Params, csrf: &str) -> Result<Named<'a>, Refusal> {
    let page = |message: String| Refusal::Page(PageError::bad_request(message));
    let request_uri = params.get("request_uri").unwrap_or_default();
    // RFC 9126 §4: client_id comes with request_uri, so that the request is read as the
    // client's and no one else's.
    let client_id = params.get("client_id").ok_or_else(|| {
        page("The request has a request_uri but no client_id; send both (RFC 9126 §4).".into())
    })?;
    let reference = request_uri
        .strip_prefix(URN_PREFIX)
        .filter(|r| !r.is_empty() && r.len() <= MAX_REFERENCE_LEN)
        .ok_or_else(|| {
            let shown: String = request_uri.chars().take(80).collect();
            page(format!(
                "The request_uri {shown:?} is not one this server's PAR endpoint issued (they \
                 start with {URN_PREFIX}); request objects by reference are not supported \
                 (invalid_request_uri)."
            ))
        })?;
    Ok(Named {
        reference,
        client_id,
        uri_hash: uri_hash(reference),
        csrf_hash: crypto::sha256_hex(csrf),
    })
}

/// The request pushed under the `request_uri` in `params`, opened for the browser whose
/// anti-forgery token is `csrf` (RFC 9126 §4: a `request_uri` is used once; this browser's
/// login form may read it again). Any other parameter of the authorization request is ignored:
/// the pushed request is the whole request.
pub async fn open(
    state: &AppState,
    server: &Arc<AuthServer>,
    params: &Params,
    csrf: &str,
    now: Timestamp,
) -> Result<AuthorizationRequest, Refusal> {
    let named = named(params, csrf)?;
    let client_id = named.client_id;
    let opened = state
        .db
        .open_pushed_request(&named.at(server), now, now.after(OPENED_SECS))
        .await
        .map_err(|e| Refusal::Page(e.into()))?;
    let pushed = opened.map_err(|why| {
        let message = match why {
            Unopened::Unknown => {
                "This request_uri is unknown: it was never issued, or it expired and was \
                 forgotten, or its login already ended. The application must push its request \
                 again (invalid_request_uri)."
                    .to_owned()
            }
            Unopened::OtherClient => format!(
                "This request_uri was not issued to client {client_id:?}: send the client_id \
                 of the client that pushed it (invalid_request_uri)."
            ),
            Unopened::OtherServer => "This request_uri was pushed to another authorization \
                 server: open it at that server's authorization endpoint (invalid_request_uri)."
                .to_owned(),
            Unopened::Expired => format!(
                "This request_uri has expired: it must be used within {} seconds of the push \
                 (RFC 9126 §2.2). The application must push its request again \
                 (invalid_request_uri).",
                state.config.pushed_request_ttl
            ),
            Unopened::Used => "This request_uri was already used: each is used once (RFC 9126 \
                 §4). Go back to the application and log in again (invalid_request_uri)."
                .to_owned(),
        };
        Refusal::Page(PageError::bad_request(message))
    })?;
    read_back(state, server, pushed, named.reference).await
}

/// The request the login form posted names: pushed under its `request_uri` and opened by the
/// browser whose anti-forgery token is `csrf`, while its login form lasts.
pub async fn reopen(
    state: &AppState,
    server: &Arc<AuthServer>,
    params: &Params,
    csrf: &str,
    now: Timestamp,
) -> Result<AuthorizationRequest, Refusal> {
    let named = named(params, csrf)?;
    let pushed = state
        .db
        .opened_pushed_request(&named.at(server), now)
        .await
        .map_err(|e| Refusal::Page(e.into()))?
        .ok_or_else(|| {
            Refusal::Page(PageError::bad_request(
                "This login has ended or expired, or was opened in another browser. Go back to \
                 the application and log in again.",
            ))
        })?;
    read_back(state, server, pushed, named.reference).await
}

/// A stored request, checked again as a whole (RFC 9126 §4: as any other authorization
/// request; the client or the server may have changed since the push).
async fn read_back(
    state: &AppState,
    server: &Arc<AuthServer>,
    pushed: PushedRequest,
    reference: &str,
) -> Result<AuthorizationRequest, Refusal> {
    let params = Params::parse(pushed.params.as_bytes())
        .map_err(|e| Refusal::Page(PageError::internal(format!("a stored pushed request: {e}"))))?;
    let mut request =
        AuthorizationRequest::check(state, server, &pushed.client_id, &params, Channel::Pushed)
            .await?;
    request.pushed = Some(format!("{URN_PREFIX}{reference}"));
    Ok(request)
}

/// Ends the pushed request `request` came from, if it did, for the browser whose anti-forgery
/// token is `csrf`: its login is about to produce a code or a consent ticket, which carries what
/// the login needs from then on. `false` if another post of the same login form ended it first
/// (a double submit, or two posts at two instances): that one alone goes on.
pub async fn finish(
    state: &AppState,
    request: &AuthorizationRequest,
    csrf: &str,
) -> storage::Result<bool> {
    let Some(reference) = request
        .pushed
        .as_deref()
        .and_then(|uri| uri.strip_prefix(URN_PREFIX))
    else {
        return Ok(true);
    };
    state
        .db
        .finish_pushed_request(&uri_hash(reference), &crypto::sha256_hex(csrf))
        .await
}
