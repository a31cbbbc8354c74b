//! `allm._native`: thin PyO3 bindings over allm-core (docs/internals.md §1–§2).
//!
//! Python values are built as the contract says: events with
//! `tuple.__new__(cls, values)` from cached classes, Usage via `Usage(**kw)`,
//! errors from `allm.errors`, Responses via `allm._build.response`. Core errors
//! become Python objects in one place ([`py_error`]); every entry point runs
//! under [`guard`], so a Rust panic surfaces as `StreamError("unknown")`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use allm_core::event::{ErrorClass, Types};
use allm_core::fold::FinishReason;
use allm_core::{Core, CoreError, CoreEvent, Event, Filter, Fold, Limits, Pipeline, RawData, SseDecoder, Usage, Wire};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple, PyType};
use serde_json::{Map, Value};

const DEFAULT_LIMIT: usize = allm_core::DEFAULT_LIMIT;

// ---------------------------------------------------------------------------
// Cached Python objects

struct Cache {
    tuple_new: Py<PyAny>,
    /// The event classes' `tp_alloc`, when building events directly is known
    /// to give exactly what `tuple.__new__(cls, values)` gives (see [`direct_alloc`]).
    alloc: Option<ffi::allocfunc>,
    message_started: Py<PyType>,
    text_delta: Py<PyType>,
    text_completed: Py<PyType>,
    tool_call_started: Py<PyType>,
    tool_call_delta: Py<PyType>,
    tool_call_completed: Py<PyType>,
    message_completed: Py<PyType>,
    raw_chunk: Py<PyType>,
    error_event: Py<PyType>,
    usage: Py<PyAny>,
    stream_error: Py<PyAny>,
    adapter_error: Py<PyAny>,
    build_response: Py<PyAny>,
    server_sent_event: Py<PyAny>,
    s_usage: Py<PyString>,
    s_reasoning_delta: Py<PyString>,
    s_error: Py<PyString>,
    s_empty: Py<PyString>,
}

static CACHE: PyOnceLock<Cache> = PyOnceLock::new();

fn cache(py: Python<'_>) -> PyResult<&Cache> {
    CACHE.get_or_try_init(py, || {
        let events = py.import("allm.events")?;
        let cls = |name: &str| -> PyResult<Py<PyType>> { Ok(events.getattr(name)?.cast_into::<PyType>()?.unbind()) };
        let errors = py.import("allm.errors")?;
        let mut c = Cache {
            tuple_new: py.get_type::<PyTuple>().getattr("__new__")?.unbind(),
            alloc: None,
            message_started: cls("MessageStarted")?,
            text_delta: cls("TextDelta")?,
            text_completed: cls("TextCompleted")?,
            tool_call_started: cls("ToolCallStarted")?,
            tool_call_delta: cls("ToolCallDelta")?,
            tool_call_completed: cls("ToolCallCompleted")?,
            message_completed: cls("MessageCompleted")?,
            raw_chunk: cls("RawChunk")?,
            error_event: cls("ErrorEvent")?,
            usage: py.import("allm._usage")?.getattr("Usage")?.unbind(),
            stream_error: errors.getattr("StreamError")?.unbind(),
            adapter_error: errors.getattr("AdapterError")?.unbind(),
            build_response: py.import("allm._build")?.getattr("response")?.unbind(),
            server_sent_event: py.import("allm.sse")?.getattr("ServerSentEvent")?.unbind(),
            s_usage: PyString::intern(py, "usage").unbind(),
            s_reasoning_delta: PyString::intern(py, "reasoning_delta").unbind(),
            s_error: PyString::intern(py, "error").unbind(),
            s_empty: PyString::intern(py, "").unbind(),
        };
        c.alloc = direct_alloc(py, &c)?;
        Ok(c)
    })
}

/// The `tp_alloc` of the event classes, if events may be built with it directly.
///
/// `tuple.__new__(cls, values)` (CPython's `tuple_subtype_new`, 3.10-3.13) is:
/// `obj = cls->tp_alloc(cls, n)`, then each item is stored with a new reference.
/// Doing exactly that ourselves skips the argument tuples and the call machinery.
/// CPython 3.14 added a cached hash to tuples that `tuple_subtype_new` resets and
/// `tp_alloc` does not, so the direct path is limited to CPython < 3.14, all the
/// event classes must be tuple subclasses with tuple's exact layout (basic and
/// item size) whose `tp_alloc` is `PyType_GenericAlloc`, the build must hold the
/// GIL (not free-threaded), and a self-check (type, equality, hash against
/// `tuple.__new__`) must pass; otherwise the call path is used.
fn direct_alloc(py: Python<'_>, c: &Cache) -> PyResult<Option<ffi::allocfunc>> {
    let sys = py.import("sys")?;
    let cpython = sys.getattr("implementation")?.getattr("name")?.extract::<String>()? == "cpython";
    let (major, minor): (u32, u32) = (py.version_info().major.into(), py.version_info().minor.into());
    if !cpython || major != 3 || !(10..14).contains(&minor) {
        return Ok(None);
    }
    let classes = [
        &c.message_started,
        &c.text_delta,
        &c.text_completed,
        &c.tool_call_started,
        &c.tool_call_delta,
        &c.tool_call_completed,
        &c.message_completed,
        &c.raw_chunk,
        &c.error_event,
    ];
    // A free-threaded interpreter (GIL disabled) lays objects out differently.
    let gil_enabled = match sys.getattr("_is_gil_enabled") {
        Ok(f) => f.call0()?.is_truthy()?,
        Err(_) => true,
    };
    if !gil_enabled {
        return Ok(None);
    }
    let tuple = py.get_type::<PyTuple>();
    let size = |t: &Bound<'_, PyType>| -> PyResult<(isize, isize)> {
        Ok((t.getattr("__basicsize__")?.extract()?, t.getattr("__itemsize__")?.extract()?))
    };
    let tuple_size = size(&tuple)?;
    let mut alloc: Option<ffi::allocfunc> = None;
    for cls in classes {
        let cls_b = cls.bind(py);
        // The layout must be exactly tuple's: a subclass of tuple with no extra
        // per-instance room (empty __slots__, no __dict__, no weakref slot).
        if !cls_b.is_subclass(&tuple)? || size(cls_b)? != tuple_size {
            return Ok(None);
        }
        // SAFETY: `cls` is a live type object (held by the cache); PyType_GetSlot
        // only reads its slot table and returns NULL (mapped to None) if unset.
        let slot = unsafe { ffi::PyType_GetSlot(cls.as_ptr().cast(), ffi::Py_tp_alloc) };
        if slot.is_null() {
            return Ok(None);
        }
        // SAFETY: the Py_tp_alloc slot holds a function of type `allocfunc`.
        let f: ffi::allocfunc = unsafe { std::mem::transmute::<*mut std::ffi::c_void, ffi::allocfunc>(slot) };
        // Only CPython's generic allocator is known to behave as tuple_subtype_new expects.
        if !std::ptr::fn_addr_eq(f, ffi::PyType_GenericAlloc as ffi::allocfunc) {
            return Ok(None);
        }
        match alloc {
            None => alloc = Some(f),
            Some(g) if std::ptr::fn_addr_eq(g, f) => {}
            Some(_) => return Ok(None),
        }
    }
    // Self-check against the contract's construction.
    let Some(f) = alloc else { return Ok(None) };
    let items = [PyString::new(py, "probe").into_any(), py.None().into_bound(py)];
    let direct = build_event(py, Some(f), &c.tuple_new, &c.text_delta, items.clone())?.into_bound(py);
    let slow = c.tuple_new.call1(py, (c.text_delta.bind(py), PyTuple::new(py, items)?))?.into_bound(py);
    let same = direct.get_type().is(slow.get_type())
        && direct.eq(&slow)?
        && direct.hash()? == slow.hash()?
        && direct.len()? == 2;
    Ok(same.then_some(f))
}

// ---------------------------------------------------------------------------
// Errors and panics: the one place core errors become Python objects

/// A Python error object for a core error (`external` is the object given to `fail`).
fn py_error(py: Python<'_>, err: &CoreError, external: Option<&Py<PyAny>>) -> PyResult<Py<PyAny>> {
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
fn py_raise(py: Python<'_>, err: &CoreError) -> PyErr {
    match py_error(py, err, None) {
        Ok(obj) => PyErr::from_value(obj.into_bound(py)),
        Err(e) => e,
    }
}

/// Runs an entry point; a panic becomes `allm.errors.StreamError("unknown", ...)`.
fn guard<T>(py: Python<'_>, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
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

fn parse_wire(wire: &Bound<'_, PyAny>) -> PyResult<Wire> {
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

// ---------------------------------------------------------------------------
// Core values -> Python

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

fn py_dict<'py>(py: Python<'py>, map: &Map<String, Value>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in map {
        d.set_item(k, py_value(py, v)?)?;
    }
    Ok(d)
}

fn py_usage(py: Python<'_>, u: &Usage) -> PyResult<Py<PyAny>> {
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

fn opt_str<'py>(py: Python<'py>, s: Option<&str>) -> Bound<'py, PyAny> {
    match s {
        Some(s) => PyString::new(py, s).into_any(),
        None => py.None().into_bound(py),
    }
}

/// `tuple.__new__(cls, items)`.
#[inline]
fn new_event<'py, const N: usize>(
    py: Python<'py>,
    c: &Cache,
    cls: &Py<PyType>,
    items: [Bound<'py, PyAny>; N],
) -> PyResult<Py<PyAny>> {
    build_event(py, c.alloc, &c.tuple_new, cls, items)
}

/// `tuple.__new__(cls, items)`, directly through `alloc` (the classes' `tp_alloc`,
/// vetted by [`direct_alloc`]) when given.
#[inline]
fn build_event<'py, const N: usize>(
    py: Python<'py>,
    alloc: Option<ffi::allocfunc>,
    tuple_new: &Py<PyAny>,
    cls: &Py<PyType>,
    items: [Bound<'py, PyAny>; N],
) -> PyResult<Py<PyAny>> {
    let Some(alloc) = alloc else {
        return tuple_new.call1(py, (cls.bind(py), PyTuple::new(py, items)?));
    };
    // SAFETY: `cls` is a live tuple-subclass type object and `alloc` its tp_alloc
    // (checked in `direct_alloc`), so this returns a new zero-filled instance with
    // room for N items and refcount 1, or NULL with an exception set.
    let obj = unsafe { alloc(cls.as_ptr().cast(), N as ffi::Py_ssize_t) };
    if obj.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `obj` is a new (owned) reference; Bound takes it over, so it is
    // released on every path below.
    let obj = unsafe { Bound::from_owned_ptr(py, obj) };
    for (i, item) in items.into_iter().enumerate() {
        // SAFETY: `obj` is a tuple (subclass) of size N with refcount 1, as
        // PyTuple_SetItem requires; `i < N`; the item's reference is stolen (also
        // on failure), which `into_ptr` hands over. Every slot is filled before
        // `obj` escapes, as in `tuple_subtype_new`.
        if unsafe { ffi::PyTuple_SetItem(obj.as_ptr(), i as ffi::Py_ssize_t, item.into_ptr()) } != 0 {
            return Err(PyErr::fetch(py));
        }
    }
    Ok(obj.unbind())
}

/// The Python string of the last tool-call id, reused while the id repeats
/// (one object per run of `tool_call_delta`s of a call instead of one per event).
#[derive(Default)]
struct IdCache {
    last: Option<(String, Py<PyString>)>,
}

impl IdCache {
    fn get<'py>(&mut self, py: Python<'py>, id: &str) -> Bound<'py, PyAny> {
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
fn py_event(
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
        Event::Error(err) => new_event(py, c, &c.error_event, [py_error(py, err, external)?.into_bound(py)]),
        Event::Other => Ok(py.None()),
    }
}

/// A Response from the native fold.
fn core_response(py: Python<'_>, f: &Fold<Core>, external: Option<&Py<PyAny>>) -> PyResult<Py<PyAny>> {
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
        ],
    )?;
    c.build_response.call1(py, args)
}

// ---------------------------------------------------------------------------
// SSEDecoder

/// Incremental WHATWG server-sent events decoder.
#[pyclass(module = "allm._native", name = "SSEDecoder")]
struct PySseDecoder {
    inner: SseDecoder,
}

#[pymethods]
impl PySseDecoder {
    #[new]
    #[pyo3(signature = (*, max_line_bytes = Some(DEFAULT_LIMIT), max_event_bytes = Some(DEFAULT_LIMIT)))]
    fn new(max_line_bytes: Option<usize>, max_event_bytes: Option<usize>) -> Self {
        PySseDecoder { inner: SseDecoder::new(max_line_bytes, max_event_bytes) }
    }

    /// Decode one chunk; returns the events it completed.
    fn feed<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        guard(py, || {
            let c = cache(py)?;
            let cls = c.server_sent_event.bind(py);
            let out = PyList::empty(py);
            let mut failure: Option<PyErr> = None;
            let result = self.inner.feed(&data, |e| {
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
    fn close<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyList> {
        self.inner.close();
        PyList::empty(py)
    }

    #[getter]
    fn last_event_id(&self) -> &str {
        self.inner.last_event_id()
    }

    #[getter]
    fn retry(&self) -> Option<u64> {
        self.inner.retry()
    }
}

// ---------------------------------------------------------------------------
// Fold over Python event objects

/// Payload types for folding Python event objects.
struct PyT;

/// A Python tool-call id with its dict key.
struct PyId {
    key: String,
    obj: Py<PyAny>,
}

impl Types for PyT {
    type Str = Py<PyAny>;
    type Id = PyId;
    type Args = Py<PyAny>;
    type Meta = Py<PyAny>;
    type Raw = Option<Py<PyAny>>;
    type Usage = Py<PyAny>;
    type Error = Py<PyAny>;
    type Text = Vec<Py<PyAny>>;
    type MetaAcc = Vec<Py<PyAny>>;

    fn key(id: &PyId) -> &str {
        &id.key
    }
    fn text_push(acc: &mut Vec<Py<PyAny>>, piece: Py<PyAny>) {
        acc.push(piece);
    }
    fn text_set(acc: &mut Vec<Py<PyAny>>, text: Py<PyAny>) {
        acc.clear();
        acc.push(text);
    }
    fn is_empty(s: &Py<PyAny>) -> bool {
        Python::attach(|py| !s.bind(py).is_truthy().unwrap_or(true))
    }
    fn meta_update(acc: &mut Vec<Py<PyAny>>, meta: Py<PyAny>) {
        acc.push(meta);
    }
    fn raw_usage(raw: Option<Py<PyAny>>) -> Option<Py<PyAny>> {
        raw
    }
}

fn py_id(obj: Bound<'_, PyAny>) -> PyResult<PyId> {
    let key = match obj.cast::<PyString>().ok().and_then(|s| s.to_str().ok()) {
        Some(s) => s.to_owned(),
        None => format!("\0{}", obj.repr()?),
    };
    Ok(PyId { key, obj: obj.unbind() })
}

fn some_unless_none(obj: Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    if obj.is_none() {
        None
    } else {
        Some(obj.unbind())
    }
}

/// Which event an object is: exact class first, else its `type` attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    MessageStarted,
    TextDelta,
    TextCompleted,
    ToolCallStarted,
    ToolCallDelta,
    ToolCallCompleted,
    MessageCompleted,
    RawChunk,
    Error,
    Other,
}

fn tag_of(py: Python<'_>, c: &Cache, ev: &Bound<'_, PyAny>) -> PyResult<(Tag, bool)> {
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
        Some("error") => Tag::Error,
        _ => Tag::Other,
    };
    Ok((tag, false))
}

/// Reads field `i` (named `name`) of an event: by index for exact classes.
fn field<'py>(ev: &Bound<'py, PyAny>, exact: bool, i: usize, name: &str) -> PyResult<Bound<'py, PyAny>> {
    if exact {
        // SAFETY-free: exact event classes are tuple subclasses.
        ev.cast::<PyTuple>()?.get_item(i)
    } else {
        ev.getattr(name)
    }
}

fn is_usage_kind(kind: &Bound<'_, PyAny>) -> bool {
    kind.cast::<PyString>().ok().and_then(|s| s.to_str().ok()) == Some("usage")
}

fn py_to_event(py: Python<'_>, c: &Cache, ev: &Bound<'_, PyAny>) -> PyResult<Event<PyT>> {
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
            if is_usage_kind(&kind) {
                Event::RawChunk(Some(f(1, "data")?.unbind()))
            } else {
                Event::Other
            }
        }
        Tag::Error => Event::Error(f(0, "error")?.unbind()),
        Tag::Other => Event::Other,
    })
}

fn join(py: Python<'_>, c: &Cache, pieces: &[Py<PyAny>]) -> PyResult<Py<PyAny>> {
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
struct PyFold {
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
                    [call.id.obj.bind(py).clone(), name, args, join(py, c, &call.raw_arguments)?.into_bound(py), meta],
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
            let metadata = PyDict::new(py);
            for m in &f.metadata {
                metadata.call_method1("update", (m.bind(py),))?;
            }
            let args = PyTuple::new(
                py,
                [
                    opt(&f.id),
                    opt(&f.model),
                    join(py, c, &f.text)?.into_bound(py),
                    calls.into_any(),
                    finish,
                    opt(&f.raw_finish_reason),
                    opt(&f.usage),
                    metadata.into_any(),
                    opt(&f.error),
                ],
            )?;
            c.build_response.call1(py, args)
        })
    }
}

// ---------------------------------------------------------------------------
// filter_events

/// The events the stream options let through, in order (usage chunks always pass).
#[pyfunction]
fn filter_events<'py>(
    py: Python<'py>,
    events: &Bound<'py, PyAny>,
    emit_text_deltas: &Bound<'py, PyAny>,
    emit_tool_deltas: &Bound<'py, PyAny>,
    include_raw_chunks: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    guard(py, || {
        let c = cache(py)?;
        let filter = Filter {
            emit_text_deltas: emit_text_deltas.is_truthy()?,
            emit_tool_deltas: emit_tool_deltas.is_truthy()?,
            include_raw_chunks: include_raw_chunks.is_truthy()?,
        };
        let out = PyList::empty(py);
        for ev in events.try_iter()? {
            let ev = ev?;
            if filter.keeps_all() {
                out.append(ev)?;
                continue;
            }
            let (tag, exact) = tag_of(py, c, &ev)?;
            let keep = match tag {
                Tag::TextDelta => filter.emit_text_deltas,
                Tag::ToolCallDelta => filter.emit_tool_deltas,
                Tag::RawChunk => {
                    filter.include_raw_chunks || {
                        let kind = if exact { field(&ev, true, 0, "kind")? } else { ev.get_item(0)? };
                        kind.eq("usage")?
                    }
                }
                _ => true,
            };
            if keep {
                out.append(ev)?;
            }
        }
        Ok(out)
    })
}

// ---------------------------------------------------------------------------
// StreamDecoder and collect

/// Bytes of one provider stream in, allm events out, one batch per chunk.
#[pyclass(module = "allm._native", name = "StreamDecoder")]
struct PyStreamDecoder {
    pipeline: Pipeline,
    fold: Fold<Core>,
    filter: Filter,
    buf: Vec<CoreEvent>,
    external: Option<Py<PyAny>>,
    ids: IdCache,
}

enum Step<'a> {
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

/// Chunk bytes: borrowed from `bytes`, copied from other buffers.
enum Bytes<'py> {
    Borrowed(Bound<'py, PyBytes>),
    Owned(PyBackedBytes),
}

impl<'py> Bytes<'py> {
    fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Bytes::Borrowed(b.clone()));
        }
        if let Ok(b) = obj.extract::<PyBackedBytes>() {
            return Ok(Bytes::Owned(b));
        }
        let mv = obj.py().import("builtins")?.getattr("bytes")?.call1((obj,))?;
        Ok(Bytes::Borrowed(mv.cast_into::<PyBytes>()?))
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Borrowed(b) => b.as_bytes(),
            Bytes::Owned(b) => b,
        }
    }
}

/// Fold a whole stream of raw network chunks into its Response.
#[pyfunction]
#[pyo3(signature = (wire, chunks, **limits))]
fn collect(
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
    m.add_class::<PySseDecoder>()?;
    m.add_class::<PyFold>()?;
    m.add_class::<PyStreamDecoder>()?;
    m.add_function(wrap_pyfunction!(collect, m)?)?;
    m.add_function(wrap_pyfunction!(filter_events, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_direct_event_alloc, m)?)?;
    Ok(())
}
