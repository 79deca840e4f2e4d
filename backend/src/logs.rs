//! The process log: plain text for a terminal (the default) or one JSON object per line
//! (`LOG_FORMAT=json`), with a request id on every line written while a request is answered,
//! and one access line per request (target `access`: status, latency, route, client, subject).
//!
//! Every answer of both origins carries its request id in `X-Request-Id`; an incoming
//! `X-Request-Id` is kept when it is well-formed (a load balancer's or a client's id then
//! finds the server's lines), and replaced otherwise. Nothing secret is ever a field: no token,
//! secret, password, cookie or query string; routes are templates, never paths.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_subscriber::EnvFilter;

use crate::client_addr::ClientAddr;
use crate::metrics::{Metrics, Origin, Route};
use crate::refusals::{Caller, Recorder, Refused};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest incoming request id kept (a UUID is 36 characters, a W3C trace id 32).
const MAX_ID_LEN: usize = 64;

/// How the process log is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable lines, for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// Installs the process-wide subscriber: `RUST_LOG` (default: `info`, with the HTTP and SQL
/// libraries at `warn`), in `format`, to standard error through [`Sink`]. Keep the guard until
/// the process ends: dropping it writes out what is queued.
pub fn init(format: Format) -> Flush {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,sqlx=warn"));
    // Colours for a terminal only, not for a file or a pipe.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (sink, flush) = Sink::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(sink);
    match format {
        Format::Text => builder.init(),
        // The request's fields (id, route, client, subject) on every line written within it,
        // under `span`; the access line has them at its top level.
        Format::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    flush
}

/// Lines queued for the writer thread before a logging task waits for room.
const QUEUED_LINES: usize = 8192;

/// Where log lines go: a thread of their own writes them to standard error, in order, so a
/// request's task never waits on a write (a terminal, a pipe to a slow collector) unless the
/// queue is full; nothing is dropped.
#[derive(Clone, Debug)]
pub struct Sink(std::sync::mpsc::SyncSender<Message>);

#[derive(Debug)]
pub enum Message {
    Line(Vec<u8>),
    /// Write out everything before, then say so.
    Flush(std::sync::mpsc::Sender<()>),
}

impl Sink {
    fn start() -> (Self, Flush) {
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUED_LINES);
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(&receiver));
        if let Err(e) = spawned {
            eprintln!(
                "the log writer thread did not start ({e}); logging to standard error directly"
            );
        }
        (Self(sender.clone()), Flush(sender))
    }
}

fn write_lines(receiver: &std::sync::mpsc::Receiver<Message>) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stderr());
    while let Ok(message) = receiver.recv() {
        let mut next = Some(message);
        // Everything already queued, then one flush.
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = receiver.try_recv().ok();
        }
        let _ = out.flush();
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            bytes: Vec::new(),
            sink: self.0.clone(),
        }
    }
}

/// One event's text, queued when the formatter is done with it.
pub struct Line {
    bytes: Vec<u8>,
    sink: std::sync::mpsc::SyncSender<Message>,
}

impl std::io::Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.bytes.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.bytes);
        if let Err(std::sync::mpsc::SendError(Message::Line(line))) =
            self.sink.send(Message::Line(line))
        {
            // No writer thread: write it here.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), &line);
        }
    }
}

/// Writes out the queued lines when dropped (at the end of `main`), waiting at most a second.
#[derive(Debug)]
pub struct Flush(std::sync::mpsc::SyncSender<Message>);

impl Drop for Flush {
    fn drop(&mut self) {
        let (done, written) = std::sync::mpsc::channel();
        if self.0.send(Message::Flush(done)).is_ok() {
            let _ = written.recv_timeout(std::time::Duration::from_secs(1));
        }
    }
}

/// A request's id: the incoming one if well-formed, else this process's prefix and a count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id a request gets: an incoming `X-Request-Id` of 1 to 64 characters out of letters,
    /// digits and `-_.:` is kept (one header only); anything else is replaced.
    pub fn of(request: &Request) -> Self {
        let mut incoming = request.headers().get_all(X_REQUEST_ID).iter();
        match (incoming.next(), incoming.next()) {
            (Some(id), None) if well_formed(id.as_bytes()) => Self(id.clone()),
            _ => Self::new(),
        }
    }

    /// A fresh id: 12 random characters drawn once per process (so instances never collide),
    /// a dot, then a count in hex.
    fn new() -> Self {
        static PREFIX: OnceLock<String> = OnceLock::new();
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let prefix =
            PREFIX.get_or_init(|| URL_SAFE_NO_PAD.encode(crate::crypto::random_bytes::<9>()));
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let id = format!("{prefix}.{n:x}");
        // The id's own bytes, not a copy.
        let id = HeaderValue::from_maybe_shared(axum::body::Bytes::from(id));
        Self(id.unwrap_or(HeaderValue::from_static("unknown")))
    }

    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("")
    }
}

/// Who a request turned out to be for, noted by [`identify`] while it is answered.
#[derive(Debug, Default)]
struct Who {
    client_id: Option<String>,
    subject: Option<String>,
}

/// What the task answering a request knows about it beyond the span.
#[derive(Clone, Debug)]
struct Current {
    id: HeaderValue,
    /// For the access line and a refusal's event.
    who: Arc<Mutex<Who>>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Sends the id of the request being answered with `call` (the backend-for-frontend's calls to
/// the authorization server and the API), so one id finds the lines of both hops.
pub fn propagate(call: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match CURRENT.try_with(|current| current.id.clone()) {
        Ok(id) => call.header(X_REQUEST_ID, id),
        Err(_) => call,
    }
}

/// `work`, to be spawned as a task of its own, still in the request being answered: its lines
/// carry the request's fields and its calls the request's id (a spawned task inherits neither).
pub fn in_request<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let current = CURRENT.try_with(Current::clone).ok();
    let work = work.instrument(tracing::Span::current());
    async move {
        match current {
            Some(current) => CURRENT.scope(current, work).await,
            None => work.await,
        }
    }
}

/// The id of the request being answered (`None` outside one: maintenance, the command line).
pub fn current_request_id() -> Option<String> {
    CURRENT
        .try_with(|current| current.id.to_str().ok().map(str::to_owned))
        .ok()
        .flatten()
}

/// Whether `id` is a request id this server keeps: 1 to 64 of letters, digits and `-_.:`.
pub fn well_formed(id: &[u8]) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// What [`trace`] needs: the series to count answers in, which origin it serves, and where
/// refusals are recorded.
#[derive(Clone, Debug)]
pub struct Tracer {
    pub metrics: Arc<Metrics>,
    pub origin: Origin,
    pub refusals: Recorder,
}

/// Middleware, outermost on both origins (inside the client-address resolution): gives the
/// request its id, runs it inside a span holding the id, method and route template (every line
/// written meanwhile carries them), and with the id at hand for [`propagate`]; then counts the
/// answer in the metrics, records a refusal in the security event log (see
/// [`crate::refusals`]), writes the access line, with every field at its top level, and sets
/// `X-Request-Id` on the answer. One layer for all of it: each layer costs every request a
/// clone of the route's service stack.
pub async fn trace(State(tracer): State<Tracer>, request: Request, next: Next) -> Response {
    let Tracer {
        metrics,
        origin,
        refusals,
    } = &tracer;
    let origin = *origin;
    let started = Instant::now();
    let id = RequestId::of(&request);
    let method = request.method().clone();
    let route = Route::of(&request, origin);
    let address = request.extensions().get::<ClientAddr>().map(|a| a.0);
    // Access lines are written when `RUST_LOG` lets the `access` target through (`warn`
    // writes those of 5xx answers, `info` every one).
    let logged = tracing::enabled!(target: "access", tracing::Level::WARN);
    let span = tracing::info_span!(
        "request",
        request_id = id.as_str(),
        origin = origin.as_str(),
        method = %method,
        route = route.as_str(),
        client_id = Empty,
        subject = Empty,
    );
    let current = Current {
        id: id.0.clone(),
        who: Arc::default(),
    };
    let answer = next.run(request).instrument(span);
    let mut response = CURRENT.scope(current.clone(), answer).await;
    let took = started.elapsed();
    metrics.answered(origin, &method, route.clone(), &response, took);
    response.headers_mut().insert(X_REQUEST_ID, id.0.clone());
    if let Some(refused) = response.extensions_mut().remove::<Refused>() {
        let who = current.who.lock().unwrap_or_else(PoisonError::into_inner);
        let caller = Caller {
            client_id: who.client_id.as_deref(),
            subject: who.subject.as_deref(),
            address,
        };
        let status = response.status();
        let queued = refusals.note(
            refused,
            status,
            (&method, route.as_str()),
            id.as_str(),
            caller,
        );
        drop(who);
        if queued {
            response
                .headers_mut()
                .insert(crate::refusals::RECORDED, HeaderValue::from_static("1"));
        }
    }
    if !logged {
        return response;
    }
    let status = response.status().as_u16();
    let latency_ms = took.as_secs_f64() * 1000.0;
    let who = current.who.lock().unwrap_or_else(PoisonError::into_inner);
    let (client_id, subject) = (who.client_id.as_deref(), who.subject.as_deref());
    macro_rules! access {
        ($level:ident) => {
            tracing::$level!(
                target: "access",
                request_id = id.as_str(),
                origin = origin.as_str(),
                method = %method,
                route = route.as_str(),
                status,
                latency_ms,
                client_id,
                subject,
                "answered"
            )
        };
    }
    if status >= 500 {
        access!(warn);
    } else {
        access!(info);
    }
    response
}

/// Notes on the request being answered who it is for: the client, and the user or client the
/// token speaks for (never the token). No-op outside a request.
pub fn identify(client_id: &str, subject: Option<&str>) {
    let span = tracing::Span::current();
    span.record("client_id", client_id);
    if let Some(subject) = subject {
        span.record("subject", subject);
    }
    let _ = CURRENT.try_with(|current| {
        let mut who = current.who.lock().unwrap_or_else(PoisonError::into_inner);
        who.client_id = Some(client_id.to_owned());
        if let Some(subject) = subject {
            who.subject = Some(subject.to_owned());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(ids: &[&str]) -> Request {
        let mut request = Request::new(axum::body::Body::empty());
        for id in ids {
            request
                .headers_mut()
                .append(X_REQUEST_ID, HeaderValue::from_str(id).unwrap());
        }
        request
    }

    #[test]
    fn a_well_formed_incoming_id_is_kept_and_anything_else_replaced() {
        for kept in [
            "abc",
            "0af7651916cd43dd8448eb211c80319c",
            "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
            "lb:1.2_3",
        ] {
            assert_eq!(RequestId::of(&request(&[kept])).as_str(), kept);
        }
        let long = "a".repeat(65);
        for replaced in [
            &[""][..],
            &["a b"],
            &["<script>"],
            &["a\"b"],
            &[&long],
            &["a", "b"],
            &[],
        ] {
            let id = RequestId::of(&request(replaced));
            assert!(!replaced.contains(&id.as_str()), "{replaced:?} kept");
            assert!(well_formed(id.as_str().as_bytes()), "{id:?}");
        }
    }

    #[test]
    fn fresh_ids_differ() {
        let a = RequestId::new();
        let b = RequestId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().split('.').next(), b.as_str().split('.').next());
    }
}
