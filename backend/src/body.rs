//! A request body's bytes, read under the route's size limit. A body that cannot be read is
//! answered in the error type `E` of the boundary that reads it (the OAuth endpoints' RFC 6749
//! JSON, the API's JSON, an error page), never axum's plain-text line.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;

/// Why a body could not be read.
#[derive(Debug)]
pub enum Unread {
    /// Over the route's limit (413).
    TooLarge,
    /// Cut off, or otherwise unreadable (400); what axum said.
    Unreadable(String),
}

/// The bytes of a request body; fails with `E::from(Unread)`.
pub struct BodyBytes<E>(Bytes, PhantomData<fn() -> E>);

impl<E> Deref for BodyBytes<E> {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl<S, E> FromRequest<S> for BodyBytes<E>
where
    S: Send + Sync,
    E: From<Unread> + IntoResponse,
{
    type Rejection = E;

    async fn from_request(request: Request, state: &S) -> Result<Self, E> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Self(bytes, PhantomData)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Unread::TooLarge.into())
            }
            Err(rejection) => Err(Unread::Unreadable(rejection.to_string()).into()),
        }
    }
}
