//! Cached Python objects (event classes, constructors, interned strings) and
//! the vetted `tp_alloc` fast path for building events.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple, PyType};

pub(crate) struct Cache {
    pub(crate) tuple_new: Py<PyAny>,
    /// The event classes' `tp_alloc`, when building events directly is known
    /// to give exactly what `tuple.__new__(cls, values)` gives (see [`direct_alloc`]).
    pub(crate) alloc: Option<ffi::allocfunc>,
    pub(crate) message_started: Py<PyType>,
    pub(crate) text_delta: Py<PyType>,
    pub(crate) text_completed: Py<PyType>,
    pub(crate) tool_call_started: Py<PyType>,
    pub(crate) tool_call_delta: Py<PyType>,
    pub(crate) tool_call_completed: Py<PyType>,
    pub(crate) message_completed: Py<PyType>,
    pub(crate) raw_chunk: Py<PyType>,
    pub(crate) error_event: Py<PyType>,
    pub(crate) usage: Py<PyAny>,
    pub(crate) stream_error: Py<PyAny>,
    pub(crate) adapter_error: Py<PyAny>,
    pub(crate) build_response: Py<PyAny>,
    pub(crate) reasoning_part: Py<PyAny>,
    pub(crate) server_sent_event: Py<PyAny>,
    /// `allm._limits.check_limits`: one limit rule for both backends.
    pub(crate) check_limits: Py<PyAny>,
    /// `allm._boundary.bad_chunk` / `concurrent_use`: the boundary errors of both backends.
    pub(crate) bad_chunk: Py<PyAny>,
    pub(crate) concurrent_use: Py<PyAny>,
    pub(crate) s_usage: Py<PyString>,
    pub(crate) s_reasoning_delta: Py<PyString>,
    pub(crate) s_reasoning: Py<PyString>,
    pub(crate) s_error: Py<PyString>,
    pub(crate) s_empty: Py<PyString>,
}

static CACHE: PyOnceLock<Cache> = PyOnceLock::new();

pub(crate) fn cache(py: Python<'_>) -> PyResult<&Cache> {
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
            reasoning_part: py.import("allm._messages")?.getattr("ReasoningPart")?.unbind(),
            server_sent_event: py.import("allm._sse_event")?.getattr("ServerSentEvent")?.unbind(),
            check_limits: py.import("allm._limits")?.getattr("check_limits")?.unbind(),
            bad_chunk: py.import("allm._boundary")?.getattr("bad_chunk")?.unbind(),
            concurrent_use: py.import("allm._boundary")?.getattr("concurrent_use")?.unbind(),
            s_usage: PyString::intern(py, "usage").unbind(),
            s_reasoning_delta: PyString::intern(py, "reasoning_delta").unbind(),
            s_reasoning: PyString::intern(py, "reasoning").unbind(),
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

/// `tuple.__new__(cls, items)`.
#[inline]
pub(crate) fn new_event<'py, const N: usize>(
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
pub(crate) fn build_event<'py, const N: usize>(
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
