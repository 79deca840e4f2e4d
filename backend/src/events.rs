//! The security event log: logins, failed logins, tokens issued, refresh-token reuse,
//! revocations, throttling, key rotations and every change an administrator makes, kept in the
//! database and read with `backend events` or `GET /admin/events`.
//!
//! Handlers hand events to a writer task that stores them in batches, one transaction each:
//! logging never adds an fsync to a request. The channel is bounded, so under a flood requests
//! wait for the log rather than events being dropped.

use std::net::IpAddr;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::storage::{Db, EventRow, now};

const QUEUE: usize = 4096;
const BATCH: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    ConsentGranted,
    ConsentDenied,
    TokenIssued,
    RefreshReused,
    GrantRevoked,
    TokenRevoked,
    ClientAuthFailed,
    ClientAuthThrottled,
    KeyCreated,
    KeyActivated,
    KeyRetired,
    KeyRemoved,
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserUpdated,
    PasswordReset,
    ClientCreated,
    ClientUpdated,
    ClientSecretRotated,
    ClientDeleted,
    ScopeCreated,
    ScopeUpdated,
    ScopeDeleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentDenied => "consent_denied",
            Self::TokenIssued => "token_issued",
            Self::RefreshReused => "refresh_token_reused",
            Self::GrantRevoked => "grant_revoked",
            Self::TokenRevoked => "token_revoked",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::ClientAuthThrottled => "client_auth_throttled",
            Self::KeyCreated => "key_created",
            Self::KeyActivated => "key_activated",
            Self::KeyRetired => "key_retired",
            Self::KeyRemoved => "key_removed",
            Self::ApiTokenCreated => "api_token_created",
            Self::ApiTokenRevoked => "api_token_revoked",
            Self::UserCreated => "user_created",
            Self::UserUpdated => "user_updated",
            Self::PasswordReset => "password_reset",
            Self::ClientCreated => "client_created",
            Self::ClientUpdated => "client_updated",
            Self::ClientSecretRotated => "client_secret_rotated",
            Self::ClientDeleted => "client_deleted",
            Self::ScopeCreated => "scope_created",
            Self::ScopeUpdated => "scope_updated",
            Self::ScopeDeleted => "scope_deleted",
        }
    }
}

/// One event, built up with the parts it has.
#[derive(Clone, Debug)]
pub struct Event(EventRow);

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self(EventRow {
            id: 0,
            at: now(),
            kind: kind.as_str().to_owned(),
            client_id: None,
            user_id: None,
            address: None,
            detail: String::new(),
        })
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.0.client_id = Some(client_id.to_owned());
        self
    }

    pub fn user(mut self, user: &str) -> Self {
        self.0.user_id = Some(user.to_owned());
        self
    }

    pub fn address(mut self, address: IpAddr) -> Self {
        // An IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d; log it as a.b.c.d.
        self.0.address = Some(address.to_canonical().to_string());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = detail.into();
        self
    }

    pub fn into_row(self) -> EventRow {
        self.0
    }
}

/// The handlers' side of the log; cheap to clone.
#[derive(Clone, Debug)]
pub struct EventLog {
    sender: mpsc::Sender<EventRow>,
}

impl EventLog {
    /// Starts the writer; it ends, after storing everything queued, once every handle is dropped.
    pub fn start(db: Db) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        (Self { sender }, tokio::spawn(write(db, receiver)))
    }

    pub async fn record(&self, event: Event) {
        let row = event.into_row();
        // The database is the record; the process log repeats it only when asked (RUST_LOG=debug),
        // so a token issued costs no formatted log line.
        tracing::debug!(kind = %row.kind, client_id = ?row.client_id, user = ?row.user_id, detail = %row.detail, "security event");
        if self.sender.send(row).await.is_err() {
            tracing::error!("the security event log has stopped; an event was not stored");
        }
    }
}

async fn write(db: Db, mut receiver: mpsc::Receiver<EventRow>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        // One retry: a busy database (another instance writing) is the likely cause.
        if let Err(first) = db.insert_events(&batch).await {
            tracing::warn!(error = %first, "storing security events failed; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            if let Err(e) = db.insert_events(&batch).await {
                tracing::error!(error = %e, lost = batch.len(), "storing security events failed");
            }
        }
        batch.clear();
    }
}
