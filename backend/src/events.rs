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

pub use shared::admin::EventKind;

use crate::clock::{Clock, Timestamp};
use crate::metrics::EventCounters;
use crate::storage::{Db, EventRow, Explained};

const QUEUE: usize = 4096;
const BATCH: usize = 256;

/// One event, built up with the parts it has; the log stamps it with the time it is recorded.
#[derive(Clone, Debug)]
pub struct Event(EventRow);

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self(EventRow {
            id: 0,
            at: Timestamp::from_unix(0),
            kind,
            client_id: None,
            user_id: None,
            address: None,
            detail: String::new(),
            request_id: None,
            explanation: Explained::default(),
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

    /// The id of the request it happened in (else [`EventLog::record`] takes the current one).
    pub fn request(mut self, request_id: &str) -> Self {
        self.0.request_id = Some(request_id.to_owned());
        self
    }

    /// Why a request was refused (a `request_refused` event).
    pub fn explanation(mut self, explanation: shared::api::Explanation) -> Self {
        self.0.explanation = Explained(Some(Box::new(explanation)));
        self
    }

    /// Adds `more` to the end of the detail.
    pub fn append_detail(mut self, more: &str) -> Self {
        self.0.detail.push_str(more);
        self
    }

    /// The row to store, as of `at`.
    pub fn into_row(self, at: Timestamp) -> EventRow {
        EventRow { at, ..self.0 }
    }
}

/// The handlers' side of the log; cheap to clone.
#[derive(Clone, Debug)]
pub struct EventLog {
    sender: mpsc::Sender<EventRow>,
    clock: Clock,
    /// `security_events_total`, by kind.
    counted: EventCounters,
}

impl EventLog {
    /// Starts the writer; it ends, after storing everything queued, once every handle is dropped.
    pub fn start(db: Db, clock: Clock, counted: EventCounters) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let log = Self {
            sender,
            clock,
            counted,
        };
        (log, tokio::spawn(write(db, receiver)))
    }

    /// A log with no writer, for what must record nothing (the command line's preview): an
    /// event recorded anyway is not stored, and says so as an error on standard error.
    pub fn refusing(clock: Clock, counted: EventCounters) -> Self {
        let (sender, _) = mpsc::channel(1);
        Self {
            sender,
            clock,
            counted,
        }
    }

    /// Queues `event` if the queue has room, without waiting: for what may be dropped rather
    /// than hold up an answer (refusals, while the database is away). Whether it was queued.
    pub fn try_record(&self, event: Event) -> bool {
        let row = self.stamped(event);
        let kind = row.kind.as_str();
        let queued = self.sender.try_send(row).is_ok();
        if queued {
            self.counted.count(kind);
        }
        queued
    }

    /// Stores `event`, with the id of the request being answered (if any).
    pub async fn record(&self, event: Event) {
        let row = self.stamped(event);
        self.counted.count(row.kind.as_str());
        if self.sender.send(row).await.is_err() {
            tracing::error!("the security event log has stopped; an event was not stored");
        }
    }

    /// The row of `event`, as of now and with the id of the request being answered (unless it
    /// names one), repeated in the process log only when asked (`RUST_LOG=debug`): the database
    /// is the record, and a token issued costs no formatted log line.
    fn stamped(&self, event: Event) -> EventRow {
        let mut row = event.into_row(self.clock.now());
        if row.request_id.is_none() {
            row.request_id = crate::logs::current_request_id();
        }
        tracing::debug!(kind = %row.kind, client_id = ?row.client_id, user = ?row.user_id, detail = %row.detail, "security event");
        row
    }
}

/// Stores what is queued, a batch at a time. A database that is away (restarting, failing
/// over) is waited for: each batch is retried for up to [`RETRY_FOR`] with growing pauses,
/// while the queue (and then the requests that record events) waits, before it is given up
/// and the loss logged.
async fn write(db: Db, mut receiver: mpsc::Receiver<EventRow>) {
    let mut batch = Vec::with_capacity(BATCH);
    while receiver.recv_many(&mut batch, BATCH).await > 0 {
        let mut pause = std::time::Duration::from_millis(250);
        let mut waited = std::time::Duration::ZERO;
        while let Err(e) = db.insert_events(&batch).await {
            if !e.is_unavailable() {
                // Not the database being away but something about the events: store them one
                // by one, so that one that cannot be stored does not take the others with it.
                for event in &batch {
                    if let Err(e) = db.insert_event(event).await {
                        tracing::error!(error = %e, kind = %event.kind, "storing a security event failed");
                    }
                }
                break;
            }
            if waited >= RETRY_FOR {
                tracing::error!(error = %e, lost = batch.len(), "storing security events failed");
                break;
            }
            tracing::warn!(error = %e, "storing security events failed; retrying");
            tokio::time::sleep(pause).await;
            waited += pause;
            pause = (pause * 2).min(std::time::Duration::from_secs(5));
        }
        batch.clear();
    }
}

/// How long a batch of events is retried while the database is unavailable.
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);
