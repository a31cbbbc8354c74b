//! Limits given as keyword arguments: checked by `allm._limits.check_limits`
//! (the one rule, and the one `ValidationError`, of both backends), then read
//! as byte counts.

use allm_core::Limits;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::cache::cache;

/// The limits of `SSEDecoder`.
pub(crate) const SSE_LIMITS: &[&str] = &["max_line_bytes", "max_event_bytes"];
/// The limits of `StreamDecoder` and `collect`.
pub(crate) const ALL_LIMITS: &[&str] =
    &["max_line_bytes", "max_event_bytes", "max_argument_bytes", "max_response_bytes"];

/// The limits in `kwargs` over the defaults; only `names` are accepted (others
/// are a TypeError naming `func`); a bad value is `ValidationError("invalid_options")`.
pub(crate) fn limits(
    py: Python<'_>,
    kwargs: Option<&Bound<'_, PyDict>>,
    names: &[&str],
    func: &str,
) -> PyResult<Limits> {
    let mut out = Limits::default();
    let Some(kw) = kwargs else { return Ok(out) };
    let mut unknown: Vec<String> = Vec::new();
    for key in kw.keys() {
        let key: String = key.extract()?;
        if !names.contains(&key.as_str()) {
            unknown.push(key);
        }
    }
    if !unknown.is_empty() {
        unknown.sort();
        return Err(PyTypeError::new_err(format!(
            "{func}() got unexpected keyword argument(s) {}",
            PyList::new(py, &unknown)?.repr()?
        )));
    }
    let checked = cache(py)?.check_limits.call1(py, (kw, PyTuple::new(py, names)?))?;
    for (key, value) in checked.bind(py).cast::<PyDict>()?.iter() {
        // Checked to be None or 1..=2**64-1; a 32-bit usize saturates.
        let value = value.extract::<Option<u64>>()?.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        match key.extract::<String>()?.as_str() {
            "max_line_bytes" => out.max_line_bytes = value,
            "max_event_bytes" => out.max_event_bytes = value,
            "max_argument_bytes" => out.max_argument_bytes = value,
            "max_response_bytes" => out.max_response_bytes = value,
            _ => {}
        }
    }
    Ok(out)
}
