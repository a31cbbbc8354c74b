//! `Completions`: how async native calls finish on an asyncio event loop.
//!
//! An async call (`HttpClient.asend`, `HttpBody.aread`, `HttpBody.apump`)
//! runs as a task on the async runtime under a token the caller chose. When it
//! ends, its outcome is queued here and, if the queue was empty, one byte is
//! written to a socket pair whose read end the event loop watches
//! (`loop.add_reader(completions.fileno(), ...)`). The loop's callback then
//! takes every queued outcome in one `drain()` call and completes its futures.
//! So a worker thread never takes the GIL, and one wake-up of the loop serves
//! every call that ended meanwhile. `cancel(token)` aborts a call's task
//! (dropping its future ends the request or the read).

use std::collections::HashMap;
use std::future::Future;
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use allm_http::{async_runtime, Answer, Error, PumpEnd, Read};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tokio::task::AbortHandle;

use crate::errors::guard;
use crate::transport::{pump_result, raise, read_result, PyHttpBody};

/// What an async call ended with.
pub(crate) enum Outcome {
    Sent(Result<Answer, Error>),
    Read(Result<Read, Error>),
    Pumped(PumpEnd),
}

impl Outcome {
    /// `(ok, value)`: the call's result, or the exception it raised.
    fn into_py(self, py: Python<'_>) -> PyResult<(bool, Py<PyAny>)> {
        let result: PyResult<Py<PyAny>> = match self {
            Outcome::Sent(sent) => match sent {
                Ok(answer) => Ok(Py::new(py, PyHttpBody::new(answer, false))?.into_any()),
                Err(e) => Err(raise(e)),
            },
            Outcome::Read(read) => match read {
                Ok(read) => Ok(read_result(py, read).unwrap_or_else(|| py.None())),
                Err(e) => Err(raise(e)),
            },
            Outcome::Pumped(end) => pump_result(end).and_then(|v| Ok(v.into_pyobject(py)?.into_any().unbind())),
        };
        Ok(match result {
            Ok(value) => (true, value),
            Err(err) => (false, err.into_value(py).into_any()),
        })
    }
}

struct Shared {
    done: Mutex<Vec<(u64, Outcome)>>,
    running: Mutex<HashMap<u64, AbortHandle>>,
    signal: UnixStream,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn finish(&self, token: u64, outcome: Outcome) {
        locked(&self.running).remove(&token);
        let first = {
            let mut done = locked(&self.done);
            done.push((token, outcome));
            done.len() == 1
        };
        if first {
            // Non-blocking: a full socket already holds a wake-up the loop has not read.
            let _ = (&self.signal).write(&[1]);
        }
    }
}

/// The completion queue of one event loop (see the module docs). Thread-safe.
#[pyclass(module = "allm._native", name = "Completions", frozen)]
pub(crate) struct PyCompletions {
    shared: Arc<Shared>,
    wake: UnixStream,
}

impl PyCompletions {
    /// Runs `call` on the async runtime; its outcome is queued under `token`.
    pub(crate) fn submit<F>(&self, token: u64, call: F)
    where
        F: Future<Output = Outcome> + Send + 'static,
    {
        let shared = self.shared.clone();
        // Held across the spawn, so that a call which ends at once removes its handle after this inserts it.
        let mut running = locked(&self.shared.running);
        let task = async_runtime().spawn(async move {
            let outcome = call.await;
            shared.finish(token, outcome);
        });
        running.insert(token, task.abort_handle());
    }
}

#[pymethods]
impl PyCompletions {
    #[new]
    fn new() -> PyResult<Self> {
        let (signal, wake) = UnixStream::pair()?;
        signal.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        let shared = Shared { done: Mutex::new(Vec::new()), running: Mutex::new(HashMap::new()), signal };
        Ok(PyCompletions { shared: Arc::new(shared), wake })
    }

    /// The descriptor the event loop watches for readability.
    fn fileno(&self) -> i32 {
        self.wake.as_raw_fd()
    }

    /// Every outcome queued so far, as `(token, ok, value)` (value: the result, or the exception).
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        guard(py, || {
            let mut sink = [0u8; 256];
            loop {
                match (&self.wake).read(&mut sink) {
                    Ok(n) if n == sink.len() => continue,
                    Ok(_) => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => break, // WouldBlock: nothing more to clear
                }
            }
            let done = std::mem::take(&mut *locked(&self.shared.done));
            done.into_iter()
                .map(|(token, outcome)| {
                    let (ok, value) = outcome.into_py(py)?;
                    PyTuple::new(
                        py,
                        [
                            token.into_pyobject(py)?.into_any(),
                            ok.into_pyobject(py)?.to_owned().into_any(),
                            value.into_bound(py),
                        ],
                    )
                })
                .collect()
        })
    }

    /// Aborts the call of `token` if it is still running (its outcome never arrives).
    fn cancel(&self, token: u64) {
        if let Some(task) = locked(&self.shared.running).remove(&token) {
            task.abort();
        }
    }

    /// Calls still running.
    #[getter]
    fn running(&self) -> usize {
        locked(&self.shared.running).len()
    }
}

impl Drop for PyCompletions {
    fn drop(&mut self) {
        for (_, task) in locked(&self.shared.running).drain() {
            task.abort();
        }
    }
}
