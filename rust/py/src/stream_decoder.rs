//! `StreamDecoder` (bytes of one stream in, events out) and `collect` (bytes to a Response).

use allm_core::{Core, CoreError, CoreEvent, Filter, Fold, Limits, Pipeline, DEFAULT_LIMIT};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::cache::cache;
use crate::convert::{core_response, py_event, Bytes, IdCache};
use crate::errors::{guard, parse_wire};

/// Bytes of one provider stream in, allm events out, one batch per chunk.
#[pyclass(module = "allm._native", name = "StreamDecoder")]
pub(crate) struct PyStreamDecoder {
    pipeline: Pipeline,
    fold: Fold<Core>,
    filter: Filter,
    buf: Vec<CoreEvent>,
    external: Option<Py<PyAny>>,
    ids: IdCache,
}

pub(crate) enum Step<'a> {
    Feed(&'a [u8]),
    Close,
    Fail,
}

impl PyStreamDecoder {
    /// Runs one step; builds Python events for the ones that pass the filter
    /// (none when `quiet`). Returns the list (or None) and how many events were produced.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        step: Step<'_>,
        quiet: bool,
    ) -> PyResult<(Option<Bound<'py, PyList>>, usize)> {
        self.buf.clear();
        match step {
            Step::Feed(chunk) => self.pipeline.feed(chunk, &mut self.buf),
            Step::Close => self.pipeline.close(&mut self.buf),
            Step::Fail => self.pipeline.fail(CoreError::external(), &mut self.buf),
        }
        let n = self.buf.len();
        let list = if quiet {
            None
        } else {
            let c = cache(py)?;
            let filter = self.filter;
            // Every event object is built before the list exists: building one can
            // run Python code (a garbage collection among it), which must never
            // see a list with unfilled slots.
            let mut objs = Vec::with_capacity(self.buf.len());
            for e in self.buf.iter().filter(|e| filter.keeps(e)) {
                objs.push(py_event(py, c, e, self.external.as_ref(), &mut self.ids)?);
            }
            Some(PyList::new(py, objs)?)
        };
        for e in self.buf.drain(..) {
            self.fold.apply(e);
        }
        Ok((list, n))
    }

    fn set_external(&mut self, error: &Bound<'_, PyAny>) {
        if !self.pipeline.done() {
            self.external = Some(error.clone().unbind());
        }
    }
}

#[pymethods]
impl PyStreamDecoder {
    #[new]
    #[pyo3(signature = (
        wire, *, emit_text_deltas = None, emit_tool_deltas = None, include_raw_chunks = None,
        max_line_bytes = Some(DEFAULT_LIMIT), max_event_bytes = Some(DEFAULT_LIMIT),
        max_argument_bytes = Some(DEFAULT_LIMIT)
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        wire: &Bound<'_, PyAny>,
        emit_text_deltas: Option<&Bound<'_, PyAny>>,
        emit_tool_deltas: Option<&Bound<'_, PyAny>>,
        include_raw_chunks: Option<&Bound<'_, PyAny>>,
        max_line_bytes: Option<usize>,
        max_event_bytes: Option<usize>,
        max_argument_bytes: Option<usize>,
    ) -> PyResult<Self> {
        guard(py, || {
            let wire = parse_wire(wire)?;
            let truthy = |o: Option<&Bound<'_, PyAny>>, default: bool| o.map_or(Ok(default), |b| b.is_truthy());
            Ok(PyStreamDecoder {
                pipeline: Pipeline::new(wire, Limits { max_line_bytes, max_event_bytes, max_argument_bytes }),
                fold: Fold::new(),
                filter: Filter {
                    emit_text_deltas: truthy(emit_text_deltas, true)?,
                    emit_tool_deltas: truthy(emit_tool_deltas, true)?,
                    include_raw_chunks: truthy(include_raw_chunks, false)?,
                },
                buf: Vec::new(),
                external: None,
                ids: IdCache::default(),
            })
        })
    }

    /// Decode one network chunk; returns its events after filtering.
    fn feed<'py>(&mut self, py: Python<'py>, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let bytes = Bytes::extract(chunk)?;
            Ok(self.step(py, Step::Feed(bytes.as_slice()), false)?.0.expect("not quiet"))
        })
    }

    /// End of body; a stream without its terminal event ends in `incomplete`.
    fn close<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || Ok(self.step(py, Step::Close, false)?.0.expect("not quiet")))
    }

    /// A transport failure: the usage so far (if any) and `ErrorEvent(error)`, unless done.
    fn fail<'py>(&mut self, py: Python<'py>, error: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            self.set_external(error);
            Ok(self.step(py, Step::Fail, false)?.0.expect("not quiet"))
        })
    }

    /// Like `feed` but only folds; returns how many events were produced.
    fn feed_quiet(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<usize> {
        guard(py, || {
            let bytes = Bytes::extract(chunk)?;
            Ok(self.step(py, Step::Feed(bytes.as_slice()), true)?.1)
        })
    }

    fn close_quiet(&mut self, py: Python<'_>) -> PyResult<usize> {
        guard(py, || Ok(self.step(py, Step::Close, true)?.1))
    }

    fn fail_quiet(&mut self, py: Python<'_>, error: &Bound<'_, PyAny>) -> PyResult<usize> {
        guard(py, || {
            self.set_external(error);
            Ok(self.step(py, Step::Fail, true)?.1)
        })
    }

    /// The fold of every event so far (unfiltered).
    fn response(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(py, || core_response(py, &self.fold, self.external.as_ref()))
    }

    /// A terminal event (`message_completed` or `error`) was produced.
    #[getter]
    fn done(&self) -> bool {
        self.pipeline.done()
    }

    /// At least one event was produced.
    #[getter]
    fn started(&self) -> bool {
        self.pipeline.started()
    }
}

/// Fold a whole stream of raw network chunks into its Response.
#[pyfunction]
#[pyo3(signature = (wire, chunks, **limits))]
pub(crate) fn collect(
    py: Python<'_>,
    wire: &Bound<'_, PyAny>,
    chunks: &Bound<'_, PyAny>,
    limits: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    guard(py, || {
        let mut l = Limits::default();
        if let Some(kw) = limits {
            let mut unknown = Vec::new();
            for (k, v) in kw.iter() {
                let key: String = k.extract()?;
                let value: Option<usize> = v.extract()?;
                match key.as_str() {
                    "max_line_bytes" => l.max_line_bytes = value,
                    "max_event_bytes" => l.max_event_bytes = value,
                    "max_argument_bytes" => l.max_argument_bytes = value,
                    _ => unknown.push(key),
                }
            }
            if !unknown.is_empty() {
                unknown.sort();
                return Err(PyTypeError::new_err(format!(
                    "collect() got unexpected keyword argument(s) {}",
                    PyList::new(py, &unknown)?.repr()?
                )));
            }
        }
        let wire = parse_wire(wire)?;
        let mut pipeline = Pipeline::new(wire, l).fold_only();
        let mut fold: Fold<Core> = Fold::new();
        let mut buf = Vec::new();
        for chunk in chunks.try_iter()? {
            let chunk = chunk?;
            let bytes = Bytes::extract(&chunk)?;
            pipeline.feed(bytes.as_slice(), &mut buf);
            let produced = !buf.is_empty();
            for e in buf.drain(..) {
                fold.apply(e);
            }
            if produced && pipeline.done() {
                break;
            }
        }
        pipeline.close(&mut buf);
        for e in buf.drain(..) {
            fold.apply(e);
        }
        pipeline.finish_fold(&mut fold);
        core_response(py, &fold, None)
    })
}
