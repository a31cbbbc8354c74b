//! `parse_partial_json`: the value so far of a growing JSON text (allm_core::partial).

use allm_core::partial::parse_partial;
use jiter::JsonValue;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::guard;

/// The Python value of a parsed JSON value (dict keys: last value wins, first position kept).
fn py_value<'py>(py: Python<'py>, value: &JsonValue<'_>) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        JsonValue::Null => py.None().into_bound(py),
        JsonValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        JsonValue::Int(i) => i.into_pyobject(py)?.into_any(),
        JsonValue::BigInt(big) => py.get_type::<pyo3::types::PyInt>().call1((big.to_string(),))?,
        JsonValue::Float(f) => f.into_pyobject(py)?.into_any(),
        JsonValue::Str(s) => s.as_ref().into_pyobject(py)?.into_any(),
        JsonValue::Array(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(py_value(py, item)?)?;
            }
            list.into_any()
        }
        JsonValue::Object(pairs) => {
            let dict = PyDict::new(py);
            for (key, item) in pairs.iter() {
                dict.set_item(key.as_ref(), py_value(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// The value so far of `text` (a prefix of a JSON document), or None before any value.
///
/// Raises `allm.errors.ValidationError("invalid_output")` when `text` is not a
/// prefix of valid JSON. The parse runs without the GIL.
#[pyfunction]
pub(crate) fn parse_partial_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    guard(py, || {
        let parsed = py.detach(|| parse_partial(text.as_bytes()));
        match parsed {
            Ok(Some(value)) => py_value(py, &value),
            Ok(None) => Ok(py.None().into_bound(py)),
            Err(_) => {
                let class = py.import("allm.errors")?.getattr("ValidationError")?;
                let error = class.call1(("invalid_output", "the output is not a prefix of valid JSON"))?;
                Err(PyErr::from_value(error))
            }
        }
    })
}
