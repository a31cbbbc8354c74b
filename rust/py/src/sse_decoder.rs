//! `SSEDecoder`: the incremental WHATWG server-sent events decoder.

use allm_core::{CoreError, SseDecoder};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cache::cache;
use crate::convert::Bytes;
use crate::errors::{exclusive, guard, py_raise, shared};
use crate::limits::{limits, SSE_LIMITS};

const NAME: &str = "SSEDecoder";

/// Incremental WHATWG server-sent events decoder.
///
/// Not for sharing between threads: a call that overlaps another call on the
/// same decoder raises `StreamError("concurrent_use")`.
#[pyclass(module = "allm._native", name = "SSEDecoder")]
pub(crate) struct PySseDecoder {
    inner: SseDecoder,
}

#[pymethods]
impl PySseDecoder {
    #[new]
    #[pyo3(signature = (**kwargs))]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        guard(py, || {
            let l = limits(py, kwargs, SSE_LIMITS, NAME)?;
            Ok(PySseDecoder { inner: SseDecoder::new(l.max_line_bytes, l.max_event_bytes) })
        })
    }

    /// Decode one chunk; returns the events it completed.
    fn feed<'py>(slf: &Bound<'py, Self>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        guard(py, || {
            let data = Bytes::extract(data)?;
            let mut this = exclusive(slf, NAME)?;
            let c = cache(py)?;
            let cls = c.server_sent_event.bind(py);
            let out = PyList::empty(py);
            let mut failure: Option<PyErr> = None;
            let result = this.inner.feed(data.as_slice(), |e| {
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
    fn close<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        exclusive(slf, NAME)?.inner.close();
        Ok(PyList::empty(slf.py()))
    }

    /// The last event id (updated at each blank line).
    #[getter]
    fn last_event_id(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(shared(slf, NAME)?.inner.last_event_id().to_owned())
    }

    /// The last valid `retry` field, if any.
    #[getter]
    fn retry(slf: &Bound<'_, Self>) -> PyResult<Option<u64>> {
        Ok(shared(slf, NAME)?.inner.retry())
    }
}
