//! `HttpClient` and `HttpBody`: the native HTTP transport (allm-http) for Python.
//!
//! Blocking calls release the GIL and drive the blocking runtime from the
//! calling thread; async calls run on the async runtime and report through a
//! [`PyCompletions`] queue (cancelling one aborts its task, which ends the
//! request or the read). A failure raises
//! `HttpError(kind, message)`, `kind` being the name of httpx's exception for
//! the same failure.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use allm_http::{
    block_on, settle_blocking, Answer, Body, Client, ClientOptions, Clock, Error, PerProcess, PumpEnd, Pumped, Read,
    Request,
};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::completions::{Outcome, PyCompletions};
use crate::convert::Bytes;
use crate::errors::{concurrent_use, guard};
use crate::stream_decoder::{Decoding, PyStreamDecoder};

create_exception!(
    _native,
    HttpError,
    PyException,
    "A transport failure: args are (kind, message), kind naming httpx's exception for it."
);

const BODY: &str = "HttpBody";
const DECODER: &str = "StreamDecoder";

pub(crate) fn raise(err: Error) -> PyErr {
    HttpError::new_err((err.kind.name(), err.message))
}

/// Seconds from Python as a duration (None stays None; negative counts as zero).
fn seconds(value: Option<f64>) -> Option<Duration> {
    value.map(|s| Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::MAX))
}

/// A keep-alive connection pool for blocking calls and one for async calls
/// (each created on first use, per process). Safe to share between threads and event loops.
#[pyclass(module = "allm._native", name = "HttpClient", frozen)]
pub(crate) struct PyHttpClient {
    options: ClientOptions,
    blocking: PerProcess<Client>,
    nonblocking: PerProcess<Client>,
}

impl PyHttpClient {
    fn client(&self, slot: &PerProcess<Client>) -> PyResult<Client> {
        slot.get_or_try_make(|| Client::new(&self.options)).map_err(raise)
    }

    fn slots(&self) -> [&PerProcess<Client>; 2] {
        [&self.blocking, &self.nonblocking]
    }
}

/// Called in a forked child (the module registers it with `os.register_at_fork`):
/// runtimes and pools made before the fork are the parent's; new ones are made on first use.
#[pyfunction]
pub(crate) fn _after_fork() {
    allm_http::forked();
}

fn request(
    url: String,
    headers: Vec<(String, String)>,
    body: &Bound<'_, PyAny>,
    head_timeout: Option<f64>,
) -> PyResult<Request> {
    let body = Bytes::extract(body)?;
    Ok(Request { url, headers, body: body.as_slice().to_vec(), head_timeout: seconds(head_timeout) })
}

#[pymethods]
impl PyHttpClient {
    #[new]
    #[pyo3(signature = (*, connect_timeout = None, max_idle_per_host = 100))]
    fn new(connect_timeout: Option<f64>, max_idle_per_host: usize) -> Self {
        PyHttpClient {
            options: ClientOptions { connect_timeout: seconds(connect_timeout), max_idle_per_host },
            blocking: PerProcess::new(),
            nonblocking: PerProcess::new(),
        }
    }

    /// Responses whose body is neither read to its end nor closed, on both pools.
    #[getter]
    fn in_flight(&self) -> usize {
        self.slots().into_iter().filter_map(PerProcess::get).map(|c| c.in_flight()).sum()
    }

    /// Drops both pools: their idle connections close now (a response still in
    /// flight keeps its connection until it is closed). A later call opens new pools.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            for slot in self.slots() {
                slot.clear();
            }
            py.detach(settle_blocking);
            Ok(())
        })
    }

    /// POST `body` to `url`; returns once the response head arrived (GIL released).
    #[pyo3(signature = (url, headers, body, head_timeout = None))]
    fn send(
        &self,
        py: Python<'_>,
        url: String,
        headers: Vec<(String, String)>,
        body: &Bound<'_, PyAny>,
        head_timeout: Option<f64>,
    ) -> PyResult<PyHttpBody> {
        guard(py, || {
            let client = self.client(&self.blocking)?;
            let request = request(url, headers, body, head_timeout)?;
            let answer = py.detach(|| block_on(client.send(request))).map_err(raise)?;
            Ok(PyHttpBody::new(answer, true))
        })
    }

    /// Async twin of `send`: runs on the async runtime; the `HttpBody` (or the
    /// `HttpError`) arrives through `completions` under `token`.
    #[pyo3(signature = (url, headers, body, head_timeout, completions, token))]
    #[allow(clippy::too_many_arguments)]
    fn asend(
        &self,
        py: Python<'_>,
        url: String,
        headers: Vec<(String, String)>,
        body: &Bound<'_, PyAny>,
        head_timeout: Option<f64>,
        completions: &Bound<'_, PyCompletions>,
        token: u64,
    ) -> PyResult<()> {
        guard(py, || {
            let client = self.client(&self.nonblocking)?;
            let request = request(url, headers, body, head_timeout)?;
            completions.get().submit(token, async move { Outcome::Sent(client.send(request).await) });
            Ok(())
        })
    }
}

/// One response: its status and headers, and its body read natively.
///
/// One reader at a time: a read that overlaps another raises
/// `StreamError("concurrent_use")`. Dropping it before the body's end closes
/// the connection; a body read to its end returns it to the pool.
#[pyclass(module = "allm._native", name = "HttpBody", frozen)]
pub(crate) struct PyHttpBody {
    #[pyo3(get)]
    status: u16,
    #[pyo3(get)]
    headers: Vec<(String, String)>,
    body: Arc<Mutex<Body>>,
    /// Signalled by `close`: a read in progress stops and drops the response.
    closing: Arc<Notify>,
    blocking: bool,
}

impl PyHttpBody {
    pub(crate) fn new(answer: Answer, blocking: bool) -> Self {
        PyHttpBody {
            status: answer.status,
            headers: answer.headers,
            body: Arc::new(Mutex::new(answer.body)),
            closing: Arc::new(Notify::new()),
            blocking,
        }
    }

    fn lock(&self, py: Python<'_>) -> PyResult<OwnedMutexGuard<Body>> {
        self.body.clone().try_lock_owned().map_err(|_| concurrent_use(py, BODY))
    }
}

/// Runs `work` unless `closing` is signalled first (then None: the caller closes the body).
async fn unless_closed<F: Future>(closing: &Notify, work: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = closing.notified() => None,
        out = work => Some(out),
    }
}

/// Reads `body` until `closing` is signalled; a body closed meanwhile reads as ended.
async fn read_or_close(body: &mut Body, closing: &Notify, wait: Option<Duration>) -> Result<Read, Error> {
    match unless_closed(closing, body.read(wait)).await {
        Some(read) => read,
        None => {
            body.close();
            Ok(Read::End)
        }
    }
}

/// Pumps `body` until `closing` is signalled; a body closed meanwhile pumps as ended.
async fn pump_or_close(body: &mut Body, sink: &mut Decoding, closing: &Notify, clock: Clock) -> PumpEnd {
    match unless_closed(closing, body.pump(sink, clock)).await {
        Some(end) => end,
        None => {
            body.close();
            PumpEnd { outcome: Ok(Pumped::End), since_event: None }
        }
    }
}

/// What a read returns to Python: the bytes, `b""` at the end, None when the wait ran out.
pub(crate) fn read_result(py: Python<'_>, read: Read) -> Option<Py<PyAny>> {
    match read {
        Read::Data(data) => Some(PyBytes::new(py, &data).into_any().unbind()),
        Read::End => Some(PyBytes::new(py, b"").into_any().unbind()),
        Read::Elapsed => None,
    }
}

/// What a pump returns to Python: the outcome's name and the seconds since the last event.
pub(crate) fn pump_result(end: PumpEnd) -> PyResult<(&'static str, Option<f64>)> {
    let outcome = match end.outcome.map_err(raise)? {
        Pumped::Done => "done",
        Pumped::End => "end",
        Pumped::Idle => "idle",
        Pumped::ReadTimeout => "read_timeout",
    };
    Ok((outcome, end.since_event.map(|d| d.as_secs_f64())))
}

fn clock(idle: Option<f64>, idle_left: Option<f64>, deadline_left: Option<f64>, read_timeout: Option<f64>) -> Clock {
    Clock {
        idle: seconds(idle),
        idle_left: seconds(idle_left),
        deadline_left: seconds(deadline_left),
        read_timeout: seconds(read_timeout),
    }
}

#[pymethods]
impl PyHttpBody {
    /// Every frame ready at the next wake-up, joined; `b""` at the end; None
    /// when nothing arrived within `wait` seconds (GIL released).
    #[pyo3(signature = (wait = None))]
    fn read(&self, py: Python<'_>, wait: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        guard(py, || {
            let mut body = self.lock(py)?;
            let closing = &self.closing;
            let read = py.detach(|| block_on(read_or_close(&mut body, closing, seconds(wait)))).map_err(raise)?;
            Ok(read_result(py, read))
        })
    }

    /// The frames ready now, joined, without waiting (`b""` at the end; None
    /// when nothing is ready): an async reader takes these without an awaitable.
    fn read_ready(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        guard(py, || {
            let mut body = self.lock(py)?;
            match body.read_ready() {
                Some(read) => Ok(read_result(py, read.map_err(raise)?)),
                None => Ok(None),
            }
        })
    }

    /// Async twin of `read`: the result arrives through `completions` under `token`.
    fn aread(
        &self,
        py: Python<'_>,
        wait: Option<f64>,
        completions: &Bound<'_, PyCompletions>,
        token: u64,
    ) -> PyResult<()> {
        guard(py, || {
            let mut body = self.lock(py)?;
            let closing = self.closing.clone();
            completions
                .get()
                .submit(token, async move { Outcome::Read(read_or_close(&mut body, &closing, seconds(wait)).await) });
            Ok(())
        })
    }

    /// Feeds the body into `decoder` (folding only) until it is done, the body
    /// ends, or a clock runs out, without returning to Python per frame (GIL
    /// released). Returns `(outcome, seconds_since_last_event)`, outcome one of
    /// "done", "end", "idle", "read_timeout".
    #[pyo3(signature = (decoder, *, idle = None, idle_left = None, deadline_left = None, read_timeout = None))]
    fn pump(
        &self,
        py: Python<'_>,
        decoder: &Bound<'_, PyStreamDecoder>,
        idle: Option<f64>,
        idle_left: Option<f64>,
        deadline_left: Option<f64>,
        read_timeout: Option<f64>,
    ) -> PyResult<(&'static str, Option<f64>)> {
        guard(py, || {
            let mut body = self.lock(py)?;
            let mut sink = decoder.try_borrow().map_err(|_| concurrent_use(py, DECODER))?.core_owned(py)?;
            let clock = clock(idle, idle_left, deadline_left, read_timeout);
            let closing = &self.closing;
            pump_result(py.detach(|| block_on(pump_or_close(&mut body, &mut sink, closing, clock))))
        })
    }

    /// Async twin of `pump`: the decoder is fed on the async runtime; the
    /// outcome arrives through `completions` under `token`.
    #[pyo3(signature = (decoder, completions, token, *, idle = None, idle_left = None, deadline_left = None, read_timeout = None))]
    #[allow(clippy::too_many_arguments)]
    fn apump(
        &self,
        py: Python<'_>,
        decoder: &Bound<'_, PyStreamDecoder>,
        completions: &Bound<'_, PyCompletions>,
        token: u64,
        idle: Option<f64>,
        idle_left: Option<f64>,
        deadline_left: Option<f64>,
        read_timeout: Option<f64>,
    ) -> PyResult<()> {
        guard(py, || {
            let mut body = self.lock(py)?;
            let mut sink = decoder.try_borrow().map_err(|_| concurrent_use(py, DECODER))?.core_owned(py)?;
            let clock = clock(idle, idle_left, deadline_left, read_timeout);
            let closing = self.closing.clone();
            completions.get().submit(token, async move {
                Outcome::Pumped(pump_or_close(&mut body, &mut sink, &closing, clock).await)
            });
            Ok(())
        })
    }

    /// Drops the response: its connection closes now unless the body was read
    /// to its end (then it is back in the pool). A read in progress (another
    /// thread's, or an async one being cancelled) stops first.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, || {
            self.closing.notify_one(); // a read in progress stops and gives the body up
            let mut body = py.detach(|| self.body.blocking_lock());
            if body.finished() {
                return Ok(());
            }
            body.close();
            if self.blocking {
                py.detach(settle_blocking);
            }
            Ok(())
        })
    }
}
