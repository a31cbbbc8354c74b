//! `StreamDecoder` (bytes of one stream in, events out) and `collect` (bytes to a Response).

use allm_core::{Core, CoreError, CoreEvent, Filter, Fold, Pipeline};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokio::sync::{Mutex, MutexGuard, OwnedMutexGuard};

use crate::cache::cache;
use crate::convert::{core_response, py_event, Bytes, IdCache};
use crate::errors::{concurrent_use, exclusive, guard, parse_wire, shared};
use crate::limits::{limits, ALL_LIMITS};

const NAME: &str = "StreamDecoder";

/// Chunks at least this long are decoded with the GIL released: the decode
/// then costs far more than giving the GIL up and taking it back.
const DETACH_BYTES: usize = 64 * 1024;

/// Feeds one chunk into `pipeline`, the GIL released for a large chunk.
fn feed_chunk(py: Python<'_>, pipeline: &mut Pipeline, chunk: &[u8], out: &mut Vec<CoreEvent>) {
    if chunk.len() >= DETACH_BYTES {
        py.detach(|| pipeline.feed(chunk, out));
    } else {
        pipeline.feed(chunk, out);
    }
}

/// The decoding state of one stream: pipeline, fold and scratch buffer.
///
/// It sits behind a lock so that the native transport can feed it with the
/// GIL released, or from its own runtime (`HttpBody.pump` / `apump`); a
/// decoder call made meanwhile gets `StreamError("concurrent_use")`.
pub(crate) struct Decoding {
    pipeline: Pipeline,
    fold: Fold<Core>,
    buf: Vec<CoreEvent>,
}

impl Decoding {
    fn run(&mut self, py: Python<'_>, step: Step<'_>) {
        self.buf.clear();
        match step {
            Step::Feed(chunk) => feed_chunk(py, &mut self.pipeline, chunk, &mut self.buf),
            Step::Close => self.pipeline.close(&mut self.buf),
            Step::Fail => self.pipeline.fail(CoreError::external(), &mut self.buf),
        }
    }

    fn fold_buffered(&mut self) {
        for e in self.buf.drain(..) {
            self.fold.apply(e);
        }
    }
}

impl allm_http::Sink for Decoding {
    fn feed(&mut self, data: &[u8]) -> bool {
        self.buf.clear();
        self.pipeline.feed(data, &mut self.buf);
        let produced = !self.buf.is_empty();
        self.fold_buffered();
        produced
    }

    fn done(&self) -> bool {
        self.pipeline.done()
    }
}

/// Bytes of one provider stream in, allm events out, one batch per chunk.
///
/// Not for sharing between threads: a call that overlaps another call on the
/// same decoder raises `StreamError("concurrent_use")`.
#[pyclass(module = "allm._native", name = "StreamDecoder")]
pub(crate) struct PyStreamDecoder {
    core: Arc<Mutex<Decoding>>,
    filter: Filter,
    external: Option<Py<PyAny>>,
    ids: IdCache,
}

/// The decoding state behind `core` (a field, so that other fields stay free to borrow).
fn lock<'a>(core: &'a Mutex<Decoding>, py: Python<'_>) -> PyResult<MutexGuard<'a, Decoding>> {
    core.try_lock().map_err(|_| concurrent_use(py, NAME))
}

pub(crate) enum Step<'a> {
    Feed(&'a [u8]),
    Close,
    Fail,
}

impl PyStreamDecoder {
    /// The decoding state for one call; `concurrent_use` while the transport holds it.
    fn core(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Decoding>> {
        lock(&self.core, py)
    }

    /// The decoding state, held by the native transport while it feeds it (GIL released
    /// or on its runtime).
    pub(crate) fn core_owned(&self, py: Python<'_>) -> PyResult<OwnedMutexGuard<Decoding>> {
        self.core.clone().try_lock_owned().map_err(|_| concurrent_use(py, NAME))
    }

    /// Runs one step; builds Python events for the ones that pass the filter
    /// (none when `quiet`). Returns the list (or None) and how many events were produced.
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        step: Step<'_>,
        quiet: bool,
    ) -> PyResult<(Option<Bound<'py, PyList>>, usize)> {
        let mut core = lock(&self.core, py)?;
        core.run(py, step);
        let n = core.buf.len();
        let list = if quiet {
            None
        } else {
            let c = cache(py)?;
            let filter = self.filter;
            // Every event object is built before the list exists: building one can
            // run Python code (a garbage collection among it), which must never
            // see a list with unfilled slots.
            let mut objs = Vec::with_capacity(core.buf.len());
            for e in core.buf.iter().filter(|e| filter.keeps(e)) {
                objs.push(py_event(py, c, e, self.external.as_ref(), &mut self.ids)?);
            }
            Some(PyList::new(py, objs)?)
        };
        core.fold_buffered();
        Ok((list, n))
    }

    fn set_external(&mut self, py: Python<'_>, error: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.core(py)?.pipeline.done() {
            self.external = Some(error.clone().unbind());
        }
        Ok(())
    }
}

#[pymethods]
impl PyStreamDecoder {
    #[new]
    #[pyo3(signature = (wire, *, emit_text_deltas = None, emit_tool_deltas = None, include_raw_chunks = None, **kwargs))]
    fn new(
        py: Python<'_>,
        wire: &Bound<'_, PyAny>,
        emit_text_deltas: Option<&Bound<'_, PyAny>>,
        emit_tool_deltas: Option<&Bound<'_, PyAny>>,
        include_raw_chunks: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(py, || {
            let l = limits(py, kwargs, ALL_LIMITS, NAME)?;
            let wire = parse_wire(wire)?;
            let truthy = |o: Option<&Bound<'_, PyAny>>, default: bool| o.map_or(Ok(default), |b| b.is_truthy());
            let core = Decoding { pipeline: Pipeline::new(wire, l), fold: Fold::new(), buf: Vec::new() };
            Ok(PyStreamDecoder {
                core: Arc::new(Mutex::new(core)),
                filter: Filter {
                    emit_text_deltas: truthy(emit_text_deltas, true)?,
                    emit_tool_deltas: truthy(emit_tool_deltas, true)?,
                    include_raw_chunks: truthy(include_raw_chunks, false)?,
                },
                external: None,
                ids: IdCache::default(),
            })
        })
    }

    /// Decode one network chunk; returns its events after filtering.
    fn feed<'py>(slf: &Bound<'py, Self>, chunk: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        guard(py, || {
            let bytes = Bytes::extract(chunk)?;
            let mut this = exclusive(slf, NAME)?;
            Ok(this.step(py, Step::Feed(bytes.as_slice()), false)?.0.expect("not quiet"))
        })
    }

    /// End of body; a stream without its terminal event ends in `incomplete`.
    fn close<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        guard(py, || Ok(exclusive(slf, NAME)?.step(py, Step::Close, false)?.0.expect("not quiet")))
    }

    /// A transport failure: the usage so far (if any) and `ErrorEvent(error)`, unless done.
    fn fail<'py>(slf: &Bound<'py, Self>, error: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        guard(py, || {
            let mut this = exclusive(slf, NAME)?;
            this.set_external(py, error)?;
            Ok(this.step(py, Step::Fail, false)?.0.expect("not quiet"))
        })
    }

    /// Like `feed` but only folds; returns how many events were produced.
    fn feed_quiet(slf: &Bound<'_, Self>, chunk: &Bound<'_, PyAny>) -> PyResult<usize> {
        let py = slf.py();
        guard(py, || {
            let bytes = Bytes::extract(chunk)?;
            Ok(exclusive(slf, NAME)?.step(py, Step::Feed(bytes.as_slice()), true)?.1)
        })
    }

    /// Like `close` but only folds; returns how many events were produced.
    fn close_quiet(slf: &Bound<'_, Self>) -> PyResult<usize> {
        let py = slf.py();
        guard(py, || Ok(exclusive(slf, NAME)?.step(py, Step::Close, true)?.1))
    }

    /// Like `fail` but only folds; returns how many events were produced.
    fn fail_quiet(slf: &Bound<'_, Self>, error: &Bound<'_, PyAny>) -> PyResult<usize> {
        let py = slf.py();
        guard(py, || {
            let mut this = exclusive(slf, NAME)?;
            this.set_external(py, error)?;
            Ok(this.step(py, Step::Fail, true)?.1)
        })
    }

    /// The fold of every event so far (unfiltered).
    fn response(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        guard(py, || {
            let this = shared(slf, NAME)?;
            let core = this.core(py)?;
            core_response(py, &core.fold, this.external.as_ref())
        })
    }

    /// A terminal event (`message_completed` or `error`) was produced.
    #[getter]
    fn done(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(shared(slf, NAME)?.core(slf.py())?.pipeline.done())
    }

    /// At least one event was produced.
    #[getter]
    fn started(slf: &Bound<'_, Self>) -> PyResult<bool> {
        Ok(shared(slf, NAME)?.core(slf.py())?.pipeline.started())
    }
}

/// Fold a whole stream of raw network chunks into its Response; large chunks
/// are decoded with the GIL released, so `collect` scales across threads.
#[pyfunction]
#[pyo3(signature = (wire, chunks, **kwargs))]
pub(crate) fn collect(
    py: Python<'_>,
    wire: &Bound<'_, PyAny>,
    chunks: &Bound<'_, PyAny>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    guard(py, || {
        let l = limits(py, kwargs, ALL_LIMITS, "collect")?;
        let wire = parse_wire(wire)?;
        let mut pipeline = Pipeline::new(wire, l).fold_only();
        let mut fold: Fold<Core> = Fold::new();
        let mut buf = Vec::new();
        for chunk in chunks.try_iter()? {
            let chunk = chunk?;
            let bytes = Bytes::extract(&chunk)?;
            let slice = bytes.as_slice();
            let produced = if slice.len() >= DETACH_BYTES {
                py.detach(|| feed_and_fold(&mut pipeline, slice, &mut buf, &mut fold))
            } else {
                feed_and_fold(&mut pipeline, slice, &mut buf, &mut fold)
            };
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

/// Feeds one chunk and folds its events; whether it produced any.
fn feed_and_fold(pipeline: &mut Pipeline, chunk: &[u8], buf: &mut Vec<CoreEvent>, fold: &mut Fold<Core>) -> bool {
    pipeline.feed(chunk, buf);
    let produced = !buf.is_empty();
    for e in buf.drain(..) {
        fold.apply(e);
    }
    produced
}
