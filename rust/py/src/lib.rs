//! `allm._native`: thin PyO3 bindings over allm-core (docs/internals.md §1–§2).
//!
//! Python values are built as the contract says: events with
//! `tuple.__new__(cls, values)` from cached classes, Usage via `Usage(**kw)`,
//! errors from `allm.errors`, Responses via `allm._build.response`. Core errors
//! become Python objects in one place ([`errors`]); every entry point runs
//! under [`errors::guard`], so a Rust panic surfaces as `StreamError("unknown")`.

mod cache;
mod completions;
mod convert;
mod errors;
mod filter;
mod fold;
mod limits;
mod partial_json;
mod sse_decoder;
mod stream_decoder;
mod transport;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::cache::cache;
use crate::errors::guard;

/// Test hook: panics inside a guarded entry point (checks the panic mapping).
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    guard(py, || panic!("deliberate panic for tests"))
}

/// Whether events are built through the vetted `tp_alloc` fast path (for tests).
#[pyfunction]
fn _direct_event_alloc(py: Python<'_>) -> PyResult<bool> {
    Ok(cache(py)?.alloc.is_some())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("VERSION", allm_core::VERSION)?;
    m.add("BUILD_PROFILE", if cfg!(debug_assertions) { "debug" } else { "release" })?;
    m.add_class::<sse_decoder::PySseDecoder>()?;
    m.add_class::<fold::PyFold>()?;
    m.add_class::<stream_decoder::PyStreamDecoder>()?;
    m.add_function(wrap_pyfunction!(stream_decoder::collect, m)?)?;
    m.add_class::<transport::PyHttpClient>()?;
    m.add_class::<transport::PyHttpBody>()?;
    m.add_class::<completions::PyCompletions>()?;
    let after_fork = wrap_pyfunction!(transport::_after_fork, m)?;
    m.add_function(after_fork.clone())?;
    // The HTTP transport's runtimes and pools are per process: a forked child makes its own.
    let kwargs = PyDict::new(m.py());
    kwargs.set_item("after_in_child", after_fork)?;
    m.py().import("os")?.call_method("register_at_fork", (), Some(&kwargs))?;
    m.add("HttpError", m.py().get_type::<transport::HttpError>())?;
    m.add_function(wrap_pyfunction!(filter::filter_events, m)?)?;
    m.add_function(wrap_pyfunction!(partial_json::parse_partial_json, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_direct_event_alloc, m)?)?;
    Ok(())
}
