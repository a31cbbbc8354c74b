//! The one place core errors and Rust panics become Python objects.

use std::panic::{catch_unwind, AssertUnwindSafe};

use allm_core::event::ErrorClass;
use allm_core::{CoreError, Wire};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

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
