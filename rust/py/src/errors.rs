//! The one place core errors and Rust panics become Python objects.

use std::panic::{catch_unwind, AssertUnwindSafe};

use allm_core::event::ErrorClass;
use allm_core::{CoreError, Wire};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::False;
use pyo3::types::{PyDict, PyString};
use pyo3::PyClass;

use crate::cache::cache;

/// A Python error object for a core error (`external` is the object given to `fail`).
pub(crate) fn py_error(py: Python<'_>, err: &CoreError, external: Option<&Py<PyAny>>) -> PyResult<Py<PyAny>> {
    let c = cache(py)?;
    match err.class {
        ErrorClass::Stream => Ok(c.stream_error.call1(py, (err.reason, err.message.as_deref()))?),
        ErrorClass::Adapter { provider } => {
            let kw = PyDict::new(py);
            kw.set_item("provider", provider)?;
            Ok(c.adapter_error.call(py, (err.reason, err.message.as_deref()), Some(&kw))?)
        }
        ErrorClass::External => match external {
            Some(e) => Ok(e.clone_ref(py)),
            None => Ok(c.stream_error.call1(py, ("unknown", "external error missing"))?),
        },
    }
}

/// A Python exception for a core error (raised from `SSEDecoder.feed`).
pub(crate) fn py_raise(py: Python<'_>, err: &CoreError) -> PyErr {
    match py_error(py, err, None) {
        Ok(obj) => PyErr::from_value(obj.into_bound(py)),
        Err(e) => e,
    }
}

/// Runs an entry point; a panic becomes `allm.errors.StreamError("unknown", ...)`.
pub(crate) fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(py_raise(py, &CoreError::stream("unknown", format!("internal error in allm._native: {what}"))))
        }
    }
}

pub(crate) fn parse_wire(wire: &Bound<'_, PyAny>) -> PyResult<Wire> {
    if let Ok(s) = wire.cast::<PyString>() {
        if let Ok(w) = s.to_str()?.parse::<Wire>() {
            return Ok(w);
        }
    }
    Err(PyValueError::new_err(format!(
        "unknown wire {}; expected one of ['anthropic', 'gemini', 'openai-chat', 'openai-responses']",
        wire.repr()?
    )))
}

/// A Python exception from an error object built by a cached `allm` callable.
fn raise_built(py: Python<'_>, built: PyResult<Py<PyAny>>) -> PyErr {
    match built {
        Ok(obj) => PyErr::from_value(obj.into_bound(py)),
        Err(e) => e,
    }
}

/// `ValidationError("invalid_input")` for a chunk that is not bytes, bytearray or memoryview.
pub(crate) fn bad_chunk(obj: &Bound<'_, PyAny>) -> PyErr {
    let py = obj.py();
    raise_built(py, cache(py).and_then(|c| c.bad_chunk.call1(py, (obj,))))
}

/// `StreamError("concurrent_use")`: a call overlapped another call on the same `what`.
pub(crate) fn concurrent_use(py: Python<'_>, what: &str) -> PyErr {
    raise_built(py, cache(py).and_then(|c| c.concurrent_use.call1(py, (what,))))
}

/// Exclusive access to a decoder for one call; an overlapping call (another
/// thread while this one released the GIL, or re-entry from Python code run
/// during the call) gets `StreamError("concurrent_use")`, not PyO3's borrow error.
pub(crate) fn exclusive<'py, T: PyClass<Frozen = False>>(
    slf: &Bound<'py, T>,
    what: &str,
) -> PyResult<PyRefMut<'py, T>> {
    slf.try_borrow_mut().map_err(|_| concurrent_use(slf.py(), what))
}

/// Shared access to a decoder (getters); fails like [`exclusive`] during a call.
pub(crate) fn shared<'py, T: PyClass>(slf: &Bound<'py, T>, what: &str) -> PyResult<PyRef<'py, T>> {
    slf.try_borrow().map_err(|_| concurrent_use(slf.py(), what))
}
