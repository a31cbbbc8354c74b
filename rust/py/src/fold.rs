//! `Fold`: the message-level collector fold over Python event objects.

use allm_core::event::{RawKind, Types};
use allm_core::fold::FinishReason;
use allm_core::{Event, Fold};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::cache::{cache, Cache};
use crate::errors::guard;

/// Payload types for folding Python event objects.
pub(crate) struct PyT;

/// Accumulated text: its pieces and their length in characters.
#[derive(Default)]
pub(crate) struct PyText {
    pieces: Vec<Py<PyAny>>,
    chars: usize,
}

fn char_len(piece: &Py<PyAny>) -> usize {
    Python::attach(|py| piece.bind(py).len().unwrap_or(0))
}

/// A Python tool-call id with its dict key.
pub(crate) struct PyId {
    key: String,
    obj: Py<PyAny>,
}

impl Types for PyT {
    type Str = Py<PyAny>;
    type Id = PyId;
    type Args = Py<PyAny>;
    type Meta = Py<PyAny>;
    type Raw = RawKind<Py<PyAny>, Py<PyAny>>;
    type Usage = Py<PyAny>;
    type Error = Py<PyAny>;
    type Part = Py<PyAny>;
    type Text = PyText;
    type MetaAcc = Vec<Py<PyAny>>;

    fn key(id: &PyId) -> &str {
        &id.key
    }
    fn text_push(acc: &mut PyText, piece: Py<PyAny>) {
        acc.chars += char_len(&piece);
        acc.pieces.push(piece);
    }
    fn text_set(acc: &mut PyText, text: Py<PyAny>) {
        acc.chars = char_len(&text);
        acc.pieces.clear();
        acc.pieces.push(text);
    }
    fn is_empty(s: &Py<PyAny>) -> bool {
        Python::attach(|py| !s.bind(py).is_truthy().unwrap_or(true))
    }
    fn meta_update(acc: &mut Vec<Py<PyAny>>, meta: Py<PyAny>) {
        acc.push(meta);
    }
    fn raw_kind(raw: RawKind<Py<PyAny>, Py<PyAny>>) -> RawKind<Py<PyAny>, Py<PyAny>> {
        raw
    }
    fn anchor(_part: &Py<PyAny>, text: &PyText) -> usize {
        text.chars
    }
}

pub(crate) fn py_id(obj: Bound<'_, PyAny>) -> PyResult<PyId> {
    let key = match obj.cast::<PyString>().ok().and_then(|s| s.to_str().ok()) {
        Some(s) => s.to_owned(),
        None => format!("\0{}", obj.repr()?),
    };
    Ok(PyId { key, obj: obj.unbind() })
}

pub(crate) fn some_unless_none(obj: Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    if obj.is_none() {
        None
    } else {
        Some(obj.unbind())
    }
}

/// Which event an object is: exact class first, else its `type` attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    MessageStarted,
    TextDelta,
    TextCompleted,
    ToolCallStarted,
    ToolCallDelta,
    ToolCallCompleted,
    MessageCompleted,
    RawChunk,
    /// A partial object of a structured answer (built in Python; filtered like text deltas).
    PartialOutput,
    Error,
    Other,
}

pub(crate) fn tag_of(py: Python<'_>, c: &Cache, ev: &Bound<'_, PyAny>) -> PyResult<(Tag, bool)> {
    let t = ev.get_type();
    let tp = t.as_ptr();
    for (cls, tag) in [
        (&c.text_delta, Tag::TextDelta),
        (&c.tool_call_delta, Tag::ToolCallDelta),
        (&c.raw_chunk, Tag::RawChunk),
        (&c.message_started, Tag::MessageStarted),
        (&c.text_completed, Tag::TextCompleted),
        (&c.tool_call_started, Tag::ToolCallStarted),
        (&c.tool_call_completed, Tag::ToolCallCompleted),
        (&c.message_completed, Tag::MessageCompleted),
        (&c.error_event, Tag::Error),
    ] {
        if std::ptr::eq(cls.as_ptr(), tp) {
            return Ok((tag, true));
        }
    }
    let _ = py;
    let kind = ev.getattr("type")?;
    let tag = match kind.cast::<PyString>().ok().and_then(|s| s.to_str().ok()) {
        Some("message_started") => Tag::MessageStarted,
        Some("text_delta") => Tag::TextDelta,
        Some("text_completed") => Tag::TextCompleted,
        Some("tool_call_started") => Tag::ToolCallStarted,
        Some("tool_call_delta") => Tag::ToolCallDelta,
        Some("tool_call_completed") => Tag::ToolCallCompleted,
        Some("message_completed") => Tag::MessageCompleted,
        Some("raw_chunk") => Tag::RawChunk,
        Some("partial_output") => Tag::PartialOutput,
        Some("error") => Tag::Error,
        _ => Tag::Other,
    };
    Ok((tag, false))
}

/// Reads field `i` (named `name`) of an event: by index for exact classes.
pub(crate) fn field<'py>(ev: &Bound<'py, PyAny>, exact: bool, i: usize, name: &str) -> PyResult<Bound<'py, PyAny>> {
    if exact {
        // SAFETY-free: exact event classes are tuple subclasses.
        ev.cast::<PyTuple>()?.get_item(i)
    } else {
        ev.getattr(name)
    }
}

/// The raw-chunk kinds the fold keeps ("usage", "reasoning"); any other is None.
pub(crate) fn kept_kind(kind: &Bound<'_, PyAny>) -> Option<&'static str> {
    match kind.cast::<PyString>().ok().and_then(|s| s.to_str().ok()) {
        Some("usage") => Some("usage"),
        Some("reasoning") => Some("reasoning"),
        _ => None,
    }
}

pub(crate) fn py_to_event(py: Python<'_>, c: &Cache, ev: &Bound<'_, PyAny>) -> PyResult<Event<PyT>> {
    let (tag, exact) = tag_of(py, c, ev)?;
    let f = |i: usize, name: &str| field(ev, exact, i, name);
    Ok(match tag {
        Tag::MessageStarted => {
            Event::MessageStarted { id: some_unless_none(f(0, "id")?), model: some_unless_none(f(1, "model")?) }
        }
        Tag::TextDelta => Event::TextDelta { delta: f(0, "delta")?.unbind() },
        Tag::TextCompleted => Event::TextCompleted { text: f(0, "text")?.unbind() },
        Tag::ToolCallStarted => Event::ToolCallStarted { id: py_id(f(0, "id")?)?, name: f(1, "name")?.unbind() },
        Tag::ToolCallDelta => {
            Event::ToolCallDelta { id: py_id(f(0, "id")?)?, delta: f(1, "arguments_delta")?.unbind() }
        }
        Tag::ToolCallCompleted => Event::ToolCallCompleted {
            id: py_id(f(0, "id")?)?,
            name: f(1, "name")?.unbind(),
            arguments: f(2, "arguments")?.unbind(),
            raw_arguments: f(3, "raw_arguments")?.unbind(),
            metadata: f(4, "metadata")?.unbind(),
        },
        Tag::MessageCompleted => Event::MessageCompleted {
            finish_reason: some_unless_none(f(0, "finish_reason")?),
            raw_finish_reason: Some(f(1, "raw_finish_reason")?.unbind()),
            metadata: f(2, "metadata")?.unbind(),
        },
        Tag::RawChunk => {
            let kind = f(0, "kind")?;
            match kept_kind(&kind) {
                Some("usage") => Event::RawChunk(RawKind::Usage(f(1, "data")?.unbind())),
                Some(_) => Event::RawChunk(RawKind::Reasoning(f(1, "data")?.unbind())),
                None => Event::Other,
            }
        }
        Tag::Error => Event::Error(f(0, "error")?.unbind()),
        Tag::PartialOutput | Tag::Other => Event::Other,
    })
}

pub(crate) fn join(py: Python<'_>, c: &Cache, pieces: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
    match pieces {
        [] => Ok(c.s_empty.clone_ref(py).into_any()),
        [one] if one.bind(py).is_exact_instance_of::<PyString>() => Ok(one.clone_ref(py)),
        _ => {
            let list = PyList::new(py, pieces.iter().map(|p| p.bind(py)))?;
            Ok(c.s_empty.bind(py).call_method1("join", (list,))?.unbind())
        }
    }
}

/// The message-level collector fold over Python event objects.
#[pyclass(module = "allm._native", name = "Fold")]
pub(crate) struct PyFold {
    fold: Fold<PyT>,
}

impl PyFold {
    fn apply_one(&mut self, py: Python<'_>, c: &Cache, ev: &Bound<'_, PyAny>) -> PyResult<()> {
        let e = py_to_event(py, c, ev)?;
        self.fold.apply(e);
        Ok(())
    }
}

#[pymethods]
impl PyFold {
    #[new]
    fn new() -> Self {
        PyFold { fold: Fold::new() }
    }

    /// Fold one event; events outside the message level change nothing.
    fn apply(&mut self, py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let c = cache(py)?;
            self.apply_one(py, c, event)
        })
    }

    /// Fold a batch of events in order.
    fn apply_many(&mut self, py: Python<'_>, events: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, || {
            let c = cache(py)?;
            if let Ok(list) = events.cast::<PyList>() {
                for ev in list.iter() {
                    self.apply_one(py, c, &ev)?;
                }
            } else if let Ok(tuple) = events.cast::<PyTuple>() {
                for ev in tuple.iter() {
                    self.apply_one(py, c, &ev)?;
                }
            } else {
                for ev in events.try_iter()? {
                    self.apply_one(py, c, &ev?)?;
                }
            }
            Ok(())
        })
    }

    /// The Response the events folded so far describe.
    fn response(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(py, || {
            let c = cache(py)?;
            let f = &self.fold;
            let calls = PyList::empty(py);
            for call in &f.calls {
                let name = match &call.name {
                    Some(n) => n.bind(py).clone(),
                    None => c.s_empty.bind(py).clone().into_any(),
                };
                let args = match &call.arguments {
                    Some(a) => a.bind(py).clone(),
                    None => PyDict::new(py).into_any(),
                };
                let meta = match &call.metadata {
                    Some(m) => m.bind(py).clone(),
                    None => PyDict::new(py).into_any(),
                };
                calls.append(PyTuple::new(
                    py,
                    [
                        call.id.obj.bind(py).clone(),
                        name,
                        args,
                        join(py, c, &call.raw_arguments.pieces)?.into_bound(py),
                        meta,
                    ],
                )?)?;
            }
            let opt = |o: &Option<Py<PyAny>>| match o {
                Some(v) => v.bind(py).clone(),
                None => py.None().into_bound(py),
            };
            let finish = match &f.finish_reason {
                None => py.None().into_bound(py),
                Some(FinishReason::Error) => c.s_error.bind(py).clone().into_any(),
                Some(FinishReason::Given(s)) => s.bind(py).clone(),
            };
            let reasoning = PyList::empty(py);
            for (at, part) in &f.reasoning {
                reasoning.append((*at, part.bind(py)))?;
            }
            let metadata = PyDict::new(py);
            for m in &f.metadata {
                metadata.call_method1("update", (m.bind(py),))?;
            }
            let args = PyTuple::new(
                py,
                [
                    opt(&f.id),
                    opt(&f.model),
                    join(py, c, &f.text.pieces)?.into_bound(py),
                    calls.into_any(),
                    finish,
                    opt(&f.raw_finish_reason),
                    opt(&f.usage),
                    metadata.into_any(),
                    opt(&f.error),
                    reasoning.into_any(),
                ],
            )?;
            c.build_response.call1(py, args)
        })
    }
}
