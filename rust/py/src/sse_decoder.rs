//! `SSEDecoder`: the incremental WHATWG server-sent events decoder.

use allm_core::{CoreError, SseDecoder, DEFAULT_LIMIT};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyList;

use crate::cache::cache;
use crate::errors::{guard, py_raise};

/// Incremental WHATWG server-sent events decoder.
#[pyclass(module = "allm._native", name = "SSEDecoder")]
pub(crate) struct PySseDecoder {
    inner: SseDecoder,
}

#[pymethods]
impl PySseDecoder {
    #[new]
    #[pyo3(signature = (*, max_line_bytes = Some(DEFAULT_LIMIT), max_event_bytes = Some(DEFAULT_LIMIT)))]
    fn new(max_line_bytes: Option<usize>, max_event_bytes: Option<usize>) -> Self {
        PySseDecoder { inner: SseDecoder::new(max_line_bytes, max_event_bytes) }
    }

    /// Decode one chunk; returns the events it completed.
    fn feed<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let c = cache(py)?;
            let cls = c.server_sent_event.bind(py);
            let out = PyList::empty(py);
            let mut failure: Option<PyErr> = None;
            let result = self.inner.feed(&data, |e| {
                if failure.is_some() {
                    return;
                }
                let made = cls.call1((e.event, e.data, e.id, e.retry)).and_then(|obj| out.append(obj));
                if let Err(err) = made {
                    failure = Some(err);
                }
            });
            if let Some(err) = failure {
                return Err(err);
            }
            if let Err(err) = result {
                return Err(py_raise(py, &CoreError::stream("limit_exceeded", err.to_string())));
            }
            Ok(out)
        })
    }

    /// End of stream: the unterminated event is discarded; always `[]`.
    fn close<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyList> {
        self.inner.close();
        PyList::empty(py)
    }

    #[getter]
    fn last_event_id(&self) -> &str {
        self.inner.last_event_id()
    }

    #[getter]
    fn retry(&self) -> Option<u64> {
        self.inner.retry()
    }
}
