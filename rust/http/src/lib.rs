//! allm's native HTTP transport, free of PyO3 (docs/internals.md §8).
//!
//! A pooled [`reqwest`] client on tokio: rustls with the platform's roots
//! (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured) and webpki's, HTTP/2 where the
//! server offers it over TLS, proxies from the environment (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`), gzip, and redirects never followed.
//!
//! It only moves bytes: [`Client::send`] posts a request and returns the
//! status, the headers and the [`Body`]; [`Body::read`] returns every frame that
//! is ready at one wake-up, and [`Body::pump`] feeds frames into a [`Sink`] (the
//! binding's stream decoder) until it is done, the body ends, or the idle
//! clock, the deadline or the read timeout runs out. Every decision above that
//! (retries, error bodies, the tail) stays with the caller.
//!
//! Two runtimes: blocking calls run on [`blocking_runtime`], a current-thread
//! runtime that the calling thread drives itself inside `block_on` (the socket
//! is read on the caller's thread, with no hand-off per frame; threads that
//! call at once take turns driving it); async calls run on [`async_runtime`],
//! a multi-thread runtime. A [`Client`] serves one of the two: its pooled
//! connections live on the runtime that opened them.

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::runtime::{Builder, Runtime};
use tokio::time::{sleep_until, timeout_at, Instant};

/// Bytes joined into one [`Read::Data`] at most: a fast sender cannot make one read unbounded.
pub const MAX_JOINED_BYTES: usize = 256 * 1024;

/// Forks seen so far ([`forked`]): a runtime or pool made before the last one
/// belongs to the parent process.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// To be called in a forked child before it makes a call: the parent's runtimes
/// and pools (threads the child does not have, an epoll instance and sockets it
/// shares with the parent) are left alone, never used or dropped, and new ones
/// are made on first use.
pub fn forked() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// The number of forks seen; a value kept with a runtime or pool tells whether it is this process's.
pub fn generation() -> u64 {
    FORKS.load(Ordering::Acquire)
}

/// A value that belongs to one process: made on first use, and made again in a
/// forked child, where the parent's is forgotten (never used, never dropped: a
/// runtime's threads are gone, and its epoll instance and a pool's sockets are
/// the parent's too).
pub struct PerProcess<T>(Mutex<Option<(u64, T)>>);

impl<T: Clone> PerProcess<T> {
    pub const fn new() -> Self {
        PerProcess(Mutex::new(None))
    }

    /// This process's value, made by `make` if there is none yet.
    pub fn get_or_try_make<E>(&self, make: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let now = generation();
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some((made, value)) if made == now => {
                *slot = Some((made, value.clone()));
                return Ok(value);
            }
            Some((_, parents)) => std::mem::forget(parents),
            None => {}
        }
        Ok(slot.insert((now, make()?)).1.clone())
    }

    /// This process's value, if it was made.
    pub fn get(&self) -> Option<T> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().filter(|(made, _)| *made == generation()).map(|(_, value)| value.clone())
    }

    /// Drops this process's value (a later use makes a new one).
    pub fn clear(&self) {
        let taken = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        match taken {
            Some((made, value)) if made == generation() => drop(value),
            other => std::mem::forget(other),
        }
    }
}

impl<T: Clone> Default for PerProcess<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn runtime_in(slot: &PerProcess<&'static Runtime>, build: fn() -> Runtime) -> &'static Runtime {
    let Ok(runtime) = slot.get_or_try_make(|| Ok::<_, Infallible>(&*Box::leak(Box::new(build()))));
    runtime
}

/// The current-thread runtime of blocking calls (see the crate docs).
pub fn blocking_runtime() -> &'static Runtime {
    static RUNTIME: PerProcess<&'static Runtime> = PerProcess::new();
    runtime_in(&RUNTIME, || {
        Builder::new_current_thread()
            .enable_all()
            .thread_name("allm-http")
            .build()
            .expect("the tokio runtime of allm's blocking HTTP calls could not start")
    })
}

/// The multi-thread runtime of async calls (its workers read the sockets and
/// decode; results reach Python through the binding's completion queue).
pub fn async_runtime() -> &'static Runtime {
    static RUNTIME: PerProcess<&'static Runtime> = PerProcess::new();
    runtime_in(&RUNTIME, || {
        Builder::new_multi_thread()
            .enable_all()
            .thread_name("allm-http-async")
            .build()
            .expect("the tokio runtime of allm's async HTTP calls could not start")
    })
}

/// Runs `future` to completion on [`blocking_runtime`] from the calling thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    blocking_runtime().block_on(future)
}

/// Lets the blocking runtime run the tasks that are ready (a dropped body's
/// connection then closes now, not at the next blocking call).
pub fn settle_blocking() {
    block_on(async {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    });
}

/// What failed, named after the httpx exception of the same failure (the
/// Python side raises that class, so both transports report alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// No data (or no response head) within the read timeout.
    ReadTimeout,
    /// The connection could not be made (refused, DNS, TLS).
    ConnectError,
    /// The connection failed while the body was read.
    ReadError,
    /// The peer broke HTTP (closed before the response, bad framing).
    RemoteProtocolError,
    /// The body could not be decompressed.
    DecodingError,
    /// The request itself is invalid (a header name or value that HTTP forbids).
    LocalProtocolError,
}

impl ErrorKind {
    /// The httpx exception name of this kind.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ConnectTimeout => "ConnectTimeout",
            ErrorKind::ReadTimeout => "ReadTimeout",
            ErrorKind::ConnectError => "ConnectError",
            ErrorKind::ReadError => "ReadError",
            ErrorKind::RemoteProtocolError => "RemoteProtocolError",
            ErrorKind::DecodingError => "DecodingError",
            ErrorKind::LocalProtocolError => "LocalProtocolError",
        }
    }
}

/// A transport failure: its kind and a message that names no URL and no header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    /// A reqwest failure while sending.
    fn sending(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::ConnectTimeout
        } else if err.is_connect() {
            ErrorKind::ConnectError
        } else if err.is_builder() {
            ErrorKind::LocalProtocolError
        } else {
            ErrorKind::RemoteProtocolError
        };
        Error::new(kind, describe(err))
    }

    /// A reqwest failure while the body was read. reqwest calls every body
    /// failure a decode error (the body passes through its gzip layer), so the
    /// cause decides: HTTP framing broken or cut short, the socket failing, or
    /// bytes that do not decompress.
    fn reading(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() { ErrorKind::ReadTimeout } else { body_failure(&err) };
        Error::new(kind, describe(err))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.message)
    }
}

impl std::error::Error for Error {}

fn body_failure(err: &reqwest::Error) -> ErrorKind {
    let (mut cut_short, mut undecodable) = (false, false);
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        // An io::Error's own source skips the error it wraps: look at that one too.
        let io = cause.downcast_ref::<std::io::Error>();
        let wrapped = io.and_then(|e| e.get_ref()).map(|e| e as &(dyn std::error::Error + 'static));
        for candidate in [Some(cause), wrapped].into_iter().flatten() {
            if let Some(http) = candidate.downcast_ref::<hyper::Error>() {
                cut_short |= http.is_incomplete_message() || http.is_parse();
            }
        }
        match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::UnexpectedEof) => cut_short = true,
            Some(std::io::ErrorKind::InvalidData) => undecodable = true,
            _ => {}
        }
        source = cause.source();
    }
    if cut_short {
        ErrorKind::RemoteProtocolError
    } else if undecodable {
        ErrorKind::DecodingError
    } else {
        ErrorKind::ReadError
    }
}

/// The error and its causes, joined (reqwest's own text is terse; the cause says what happened).
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut parts = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// How a [`Client`] connects.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Time allowed to open a connection (TCP and TLS); None waits as long as the OS does.
    pub connect_timeout: Option<Duration>,
    /// Idle keep-alive connections kept per host.
    pub max_idle_per_host: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions { connect_timeout: Some(Duration::from_secs(5)), max_idle_per_host: 100 }
    }
}

/// One request: POST `body` to `url` with `headers`; the response head must
/// arrive within `head_timeout`.
#[derive(Debug, Clone)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub head_timeout: Option<Duration>,
}

/// A keep-alive connection pool (cheap to clone: clones share the pool).
#[derive(Clone, Debug)]
pub struct Client {
    inner: reqwest::Client,
    in_flight: Arc<AtomicUsize>,
}

impl Client {
    /// A client with its own pool; redirects are never followed.
    pub fn new(options: &ClientOptions) -> Result<Self, Error> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(options.max_idle_per_host)
            .tcp_nodelay(true);
        if let Some(limit) = options.connect_timeout {
            builder = builder.connect_timeout(limit);
        }
        let inner = builder.build().map_err(|e| Error::new(ErrorKind::ConnectError, describe(e)))?;
        Ok(Client { inner, in_flight: Arc::default() })
    }

    /// Responses of this client whose body is neither read to its end nor dropped.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Sends `request`; the status, headers and body once the head arrived.
    pub async fn send(&self, request: Request) -> Result<Answer, Error> {
        let headers = header_map(&request.headers)?;
        let sending = self.inner.post(&request.url).headers(headers).body(request.body).send();
        let result = match request.head_timeout {
            Some(limit) => timeout_at(Instant::now() + limit, sending)
                .await
                .map_err(|_| Error::new(ErrorKind::ReadTimeout, "no response arrived within the read timeout"))?,
            None => sending.await,
        };
        Ok(Answer::new(result.map_err(Error::sending)?, InFlight::new(&self.in_flight)))
    }
}

/// The request headers; a name or value HTTP forbids is refused without echoing the value.
fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap, Error> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        let bad =
            || Error::new(ErrorKind::LocalProtocolError, format!("the request header {name:?} is not valid HTTP"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(value).map_err(|_| bad())?;
        map.append(name, value);
    }
    Ok(map)
}

/// A response whose head arrived.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Answer {
    fn new(response: reqwest::Response, in_flight: InFlight) -> Self {
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let status = response.status().as_u16();
        let body = Body { response: Some((response, in_flight)), held: BytesMut::new(), after: None };
        Answer { status, headers, body }
    }
}

/// Counts a response in its client's `in_flight` while it lives.
#[derive(Debug)]
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one [`Body::read`] got.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Every frame that was ready, joined (at most [`MAX_JOINED_BYTES`] past the first).
    Data(Bytes),
    /// The body ended (the connection went back to the pool).
    End,
    /// Nothing arrived before the wait ran out.
    Elapsed,
}

/// Where [`Body::pump`] feeds frames: a stream decoder.
pub trait Sink {
    /// Decodes `data`; whether it produced at least one event.
    fn feed(&mut self, data: &[u8]) -> bool;
    /// Whether a terminal event was produced.
    fn done(&self) -> bool;
}

/// The clocks of a pump, as durations from its start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    /// The idle timeout: the longest wait for the next event (pings and comments do not count).
    pub idle: Option<Duration>,
    /// What is left of the idle timeout now.
    pub idle_left: Option<Duration>,
    /// What is left of the call's deadline.
    pub deadline_left: Option<Duration>,
    /// The longest wait for any bytes at all.
    pub read_timeout: Option<Duration>,
}

/// Why a pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// The sink produced its terminal event.
    Done,
    /// The body ended first.
    End,
    /// The idle timeout or the deadline ran out.
    Idle,
    /// No bytes at all arrived within the read timeout.
    ReadTimeout,
}

/// How a pump ended, and how long before that the last event was produced.
#[derive(Debug)]
pub struct PumpEnd {
    pub outcome: Result<Pumped, Error>,
    pub since_event: Option<Duration>,
}

/// A response body being read (dropping it before its end closes the connection).
#[derive(Debug)]
pub struct Body {
    response: Option<(reqwest::Response, InFlight)>,
    /// Frames taken from the connection and not yet returned: a read dropped
    /// while it joined frames (a timer won, a call was cancelled) loses nothing.
    held: BytesMut,
    /// The end or failure met right behind held frames, returned by the next read.
    after: Option<Result<(), Error>>,
}

impl Body {
    /// The next frame, waiting at most `wait`, joined with the frames already behind it.
    pub async fn read(&mut self, wait: Option<Duration>) -> Result<Read, Error> {
        self.read_until(wait.map(|w| Instant::now() + w), true).await
    }

    /// The next frame (with the ones behind it when `join`) before `until`.
    async fn read_until(&mut self, until: Option<Instant>, join: bool) -> Result<Read, Error> {
        if self.held.is_empty() {
            if let Some(after) = self.after.take() {
                return self.ended(after);
            }
            let Some((response, _)) = self.response.as_mut() else {
                return Ok(Read::End);
            };
            let first = match until {
                Some(at) => match timeout_at(at, response.chunk()).await {
                    Ok(result) => result,
                    Err(_) => return Ok(Read::Elapsed),
                },
                None => response.chunk().await,
            };
            match first {
                Ok(Some(first)) => self.held.extend_from_slice(&first),
                Ok(None) => return self.ended(Ok(())),
                Err(e) => return self.ended(Err(Error::reading(e))),
            }
        }
        // The connection task hands over one frame at a time: give it one turn
        // to parse what it already holds before deciding that nothing more is there.
        let mut yielded = false;
        while join && self.after.is_none() && self.held.len() < MAX_JOINED_BYTES {
            match self.next_ready().await {
                Poll::Ready(()) => yielded = false,
                Poll::Pending if !yielded => {
                    tokio::task::yield_now().await;
                    yielded = true;
                }
                Poll::Pending => break,
            }
        }
        Ok(Read::Data(self.held.split().freeze()))
    }

    /// Takes the next frame into `held` if the connection has it now (an end or
    /// a failure goes to `after`); Pending when it has none.
    async fn next_ready(&mut self) -> Poll<()> {
        let Some((response, _)) = self.response.as_mut() else {
            return Poll::Pending;
        };
        match ready(response.chunk()).await {
            Poll::Ready(Ok(Some(more))) => self.held.extend_from_slice(&more),
            Poll::Ready(Ok(None)) => self.after = Some(Ok(())),
            Poll::Ready(Err(e)) => self.after = Some(Err(Error::reading(e))),
            Poll::Pending => return Poll::Pending,
        }
        Poll::Ready(())
    }

    /// The body's end (its connection goes back to the pool) or failure.
    fn ended(&mut self, how: Result<(), Error>) -> Result<Read, Error> {
        if how.is_ok() {
            self.response = None;
        }
        how.map(|()| Read::End)
    }

    /// The frames ready now, joined, without waiting: None when nothing is ready.
    /// (Polls with a no-op waker and never yields: the next waiting read
    /// registers the real waker and gives the connection its turn.)
    pub fn read_ready(&mut self) -> Option<Result<Read, Error>> {
        let mut context = Context::from_waker(Waker::noop());
        while self.after.is_none() && self.held.len() < MAX_JOINED_BYTES {
            let mut next = pin!(self.next_ready());
            match next.as_mut().poll(&mut context) {
                Poll::Ready(Poll::Ready(())) => {}
                _ => break,
            }
        }
        if !self.held.is_empty() {
            return Some(Ok(Read::Data(self.held.split().freeze())));
        }
        self.after.take().map(|after| self.ended(after))
    }

    /// Feeds frames into `sink` until it is done, the body ends, or a clock runs out.
    ///
    /// One timer serves the whole pump: it is re-armed only when it fires
    /// before the clocks (which every frame moves) ran out, so a frame costs no
    /// timer operation.
    pub async fn pump<S: Sink>(&mut self, sink: &mut S, clock: Clock) -> PumpEnd {
        let start = Instant::now();
        let deadline_at = clock.deadline_left.map(|d| start + d);
        let mut idle_at = clock.idle_left.map(|d| start + d);
        let mut read_at = clock.read_timeout.map(|d| start + d);
        let mut last_event: Option<Instant> = None;
        let never = start + Duration::from_secs(365 * 24 * 3600);
        let mut timer = pin!(sleep_until(earliest(earliest(idle_at, deadline_at), read_at).unwrap_or(never)));
        let outcome = loop {
            let read = tokio::select! {
                biased;
                // Frame by frame: the pump feeds each one at once, and joining
                // would cost the runtime an extra turn (an epoll_wait) per frame.
                read = self.read_until(None, false) => read,
                () = &mut timer => {
                    let now = Instant::now();
                    let guard_at = earliest(idle_at, deadline_at);
                    if guard_at.is_some_and(|at| now >= at) {
                        break Ok(Pumped::Idle);
                    }
                    if read_at.is_some_and(|at| now >= at) {
                        break Ok(Pumped::ReadTimeout);
                    }
                    timer.as_mut().reset(earliest(guard_at, read_at).unwrap_or(never));
                    continue;
                }
            };
            let data = match read {
                Err(e) => break Err(e),
                Ok(Read::Data(data)) => data,
                Ok(_) => break Ok(Pumped::End),
            };
            let now = Instant::now();
            read_at = clock.read_timeout.map(|d| now + d);
            if sink.feed(&data) {
                last_event = Some(now);
                idle_at = clock.idle.map(|d| now + d);
            }
            if sink.done() {
                break Ok(Pumped::Done);
            }
            // A trickle of pings keeps the socket busy, not the idle clock.
            if earliest(idle_at, deadline_at).is_some_and(|at| now >= at) {
                break Ok(Pumped::Idle);
            }
        };
        PumpEnd { outcome, since_event: last_event.map(|t| t.elapsed()) }
    }

    /// Drops the response: a body not read to its end closes its connection.
    pub fn close(&mut self) {
        self.response = None;
        self.held.clear();
        self.after = None;
    }

    /// Whether the body was read to its end or closed.
    pub fn finished(&self) -> bool {
        self.response.is_none()
    }
}

/// Polls `future` once: its output if it is ready now.
async fn ready<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
