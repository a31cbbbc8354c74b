//! Core values to Python objects (events, usage, Responses) and chunk bytes in.

use allm_core::fold::FinishReason;
use allm_core::{Core, CoreEvent, Event, Fold, RawData, Reasoning, Usage};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyList, PyMemoryView, PyString, PyTuple};
use serde_json::{Map, Value};

use crate::cache::{cache, new_event, Cache};
use crate::errors::{bad_chunk, py_error};

fn py_value(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any().unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(py_value(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => py_dict(py, map)?.into_any().unbind(),
    })
}

pub(crate) fn py_dict<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in map {
        d.set_item(k, py_value(py, v)?)?;
    }
    Ok(d)
}

pub(crate) fn py_usage(py: Python<'_>, u: &Usage) -> PyResult<Py<PyAny>> {
    let kw = PyDict::new(py);
    kw.set_item("input_tokens", u.input_tokens)?;
    kw.set_item("output_tokens", u.output_tokens)?;
    kw.set_item("total_tokens", u.total_tokens)?;
    kw.set_item("cached_input_tokens", u.cached_input_tokens)?;
    kw.set_item("cache_write_input_tokens", u.cache_write_input_tokens)?;
    kw.set_item("reasoning_tokens", u.reasoning_tokens)?;
    kw.set_item("extra", py_dict(py, &u.extra)?)?;
    cache(py)?.usage.call(py, (), Some(&kw))
}

pub(crate) fn opt_str<'py>(py: Python<'py>, s: Option<&str>) -> Bound<'py, PyAny> {
    match s {
        Some(s) => PyString::new(py, s).into_any(),
        None => py.None().into_bound(py),
    }
}

/// An `allm.ReasoningPart` for a core reasoning part.
pub(crate) fn py_reasoning<'py>(py: Python<'py>, c: &Cache, r: &Reasoning) -> PyResult<Bound<'py, PyAny>> {
    let args = [
        PyString::new(py, &r.text).into_any(),
        opt_str(py, r.signature.as_deref()),
        opt_str(py, r.redacted.as_deref()),
        opt_str(py, r.id.as_deref()),
        opt_str(py, r.encrypted_content.as_deref()),
        PyString::new(py, r.provider).into_any(),
    ];
    c.reasoning_part.bind(py).call1(PyTuple::new(py, args)?)
}

/// The Python string of the last tool-call id, reused while the id repeats
/// (one object per run of `tool_call_delta`s of a call instead of one per event).
#[derive(Default)]
pub(crate) struct IdCache {
    last: Option<(String, Py<PyString>)>,
}

impl IdCache {
    pub(crate) fn get<'py>(&mut self, py: Python<'py>, id: &str) -> Bound<'py, PyAny> {
        if let Some((key, obj)) = &self.last {
            if key == id {
                return obj.bind(py).clone().into_any();
            }
        }
        let obj = PyString::new(py, id);
        self.last = Some((id.to_owned(), obj.clone().unbind()));
        obj.into_any()
    }
}

/// A Python event object for a core event.
pub(crate) fn py_event(
    py: Python<'_>,
    c: &Cache,
    e: &CoreEvent,
    external: Option<&Py<PyAny>>,
    ids: &mut IdCache,
) -> PyResult<Py<PyAny>> {
    let none = || py.None().into_bound(py);
    let s = |v: &str| PyString::new(py, v).into_any();
    match e {
        Event::MessageStarted { id, model } => {
            new_event(py, c, &c.message_started, [opt_str(py, id.as_deref()), opt_str(py, model.as_deref())])
        }
        Event::TextDelta { delta } => new_event(py, c, &c.text_delta, [s(delta), none()]),
        Event::TextCompleted { text } => new_event(py, c, &c.text_completed, [s(text), none()]),
        Event::ToolCallStarted { id, name } => new_event(py, c, &c.tool_call_started, [ids.get(py, id), s(name)]),
        Event::ToolCallDelta { id, delta } => new_event(py, c, &c.tool_call_delta, [ids.get(py, id), s(delta)]),
        Event::ToolCallCompleted { id, name, arguments, raw_arguments, metadata } => new_event(
            py,
            c,
            &c.tool_call_completed,
            [
                ids.get(py, id),
                s(name),
                py_dict(py, arguments)?.into_any(),
                s(raw_arguments),
                py_dict(py, metadata)?.into_any(),
            ],
        ),
        Event::MessageCompleted { finish_reason, raw_finish_reason, metadata } => new_event(
            py,
            c,
            &c.message_completed,
            [
                opt_str(py, finish_reason.as_deref()),
                opt_str(py, raw_finish_reason.as_deref()),
                py_dict(py, metadata)?.into_any(),
            ],
        ),
        Event::RawChunk(RawData::Usage(u)) => {
            new_event(py, c, &c.raw_chunk, [c.s_usage.bind(py).clone().into_any(), py_usage(py, u)?.into_bound(py)])
        }
        Event::RawChunk(RawData::ReasoningDelta(text)) => {
            new_event(py, c, &c.raw_chunk, [c.s_reasoning_delta.bind(py).clone().into_any(), s(text)])
        }
        Event::RawChunk(RawData::Reasoning(r)) => {
            new_event(py, c, &c.raw_chunk, [c.s_reasoning.bind(py).clone().into_any(), py_reasoning(py, c, r)?])
        }
        Event::Error(err) => new_event(py, c, &c.error_event, [py_error(py, err, external)?.into_bound(py)]),
        Event::Other => Ok(py.None()),
    }
}

/// A Response from the native fold.
pub(crate) fn core_response(py: Python<'_>, f: &Fold<Core>, external: Option<&Py<PyAny>>) -> PyResult<Py<PyAny>> {
    let c = cache(py)?;
    let calls = PyList::empty(py);
    for call in &f.calls {
        let args = match &call.arguments {
            Some(a) => py_dict(py, a)?,
            None => PyDict::new(py),
        };
        let meta = match &call.metadata {
            Some(m) => py_dict(py, m)?,
            None => PyDict::new(py),
        };
        calls.append(PyTuple::new(
            py,
            [
                PyString::new(py, &call.id).into_any(),
                PyString::new(py, call.name.as_deref().unwrap_or("")).into_any(),
                args.into_any(),
                PyString::new(py, &call.raw_arguments).into_any(),
                meta.into_any(),
            ],
        )?)?;
    }
    let finish = match &f.finish_reason {
        None => py.None().into_bound(py),
        Some(FinishReason::Error) => c.s_error.bind(py).clone().into_any(),
        Some(FinishReason::Given(s)) => PyString::new(py, s).into_any(),
    };
    let usage = match &f.usage {
        Some(u) => py_usage(py, u)?.into_bound(py),
        None => py.None().into_bound(py),
    };
    let error = match &f.error {
        Some(e) => py_error(py, e, external)?.into_bound(py),
        None => py.None().into_bound(py),
    };
    let reasoning = PyList::empty(py);
    for (at, part) in &f.reasoning {
        // Anchors are byte offsets into the text; the builder counts characters.
        let before = f.text.get(..*at).unwrap_or(&f.text);
        reasoning.append((before.chars().count(), py_reasoning(py, c, part)?))?;
    }
    let args = PyTuple::new(
        py,
        [
            opt_str(py, f.id.as_deref()),
            opt_str(py, f.model.as_deref()),
            PyString::new(py, &f.text).into_any(),
            calls.into_any(),
            finish,
            opt_str(py, f.raw_finish_reason.as_deref()),
            usage,
            py_dict(py, &f.metadata)?.into_any(),
            error,
            reasoning.into_any(),
        ],
    )?;
    c.build_response.call1(py, args)
}

/// Chunk bytes: borrowed from `bytes`, copied from `bytearray` and `memoryview`;
/// anything else is `ValidationError("invalid_input")`.
pub(crate) enum Bytes<'py> {
    Borrowed(Bound<'py, PyBytes>),
    Owned(PyBackedBytes),
}

impl<'py> Bytes<'py> {
    pub(crate) fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Bytes::Borrowed(b.clone()));
        }
        if obj.is_instance_of::<PyByteArray>() {
            return Ok(Bytes::Owned(obj.extract::<PyBackedBytes>()?));
        }
        if obj.is_instance_of::<PyMemoryView>() {
            let copy = obj.py().get_type::<PyBytes>().call1((obj,))?;
            return Ok(Bytes::Borrowed(copy.cast_into::<PyBytes>()?));
        }
        Err(bad_chunk(obj))
    }

    /// The chunk's bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b.as_bytes(),
            Bytes::Owned(b) => b,
        }
    }
}
