"""JSON serialization of Layer A values through a closed registry of type tags.

    to_json(obj, *, max_depth=64, max_bytes=16 MiB) -> str
    from_json(text, *, max_depth=64, max_bytes=16 MiB) -> object

Every Layer A value (Message, Thread, Tool, Request, Response, StepResult,
ChatResult, the allm.errors classes, ...) and any nesting of them with dicts,
lists, tuples, str, int, float, bool and None round-trips to an equal value.

Format
------
The document is ``{"allm": 1, "value": <value>}``; any other version is refused.

* str, int, float, bool, None and lists are plain JSON.
* A value of a registered class is ``{"__type__": tag, "data": {field: value}}``.
  Dataclasses write every serialized field; on reading, a field with a default
  may be omitted, a field without one is required, and an unknown field is an
  error.
* Tuples held in a dataclass field declared as a tuple (``Message.tool_calls``,
  ``Thread.messages``, ``Request.messages`` / ``tools`` ...) are plain JSON
  lists; the declared field type turns them back into tuples. Anywhere else
  (inside a free-form dict, list or ``Any`` field) a tuple is written as
  ``{"__type__": "tuple", "data": [...]}``, so it comes back as a tuple.
* Object keys of the form ``__name__`` are reserved for the format. A dict that
  holds such a key is written as ``{"__type__": "dict", "data": {...}}``; a bare
  object with a reserved key (``__class__``, ``__reduce__`` ...) is refused.
* ``Tool.handler`` is not serialized: a Tool comes back with ``handler=None``.
* Errors serialize ``reason``, ``message``, ``metadata`` and their public extra
  fields (``provider``, ``status``, ``retry_after_ms``, ``request_id``,
  ``tool_name``, ``tool_call_id``, ``errors``). The ``cause`` exception is never
  serialized; its ``str()`` is written as ``cause`` for readers of the JSON and
  is dropped on reading (the error comes back with ``cause=None``).

Safety
------
Only classes written in this module's registry (plus the few that allm's own
modules add through :func:`register`) are ever built, and only from their
declared fields; nothing is imported or looked up by a name found in the data.
Every problem with the input -- invalid JSON, unknown tags, unknown or missing
fields, wrong shapes or types, illegal literal values (a role that is not
system/user/assistant/tool, ...), NaN / Infinity, duplicate keys, lone
surrogates (``"\\ud800"``), token counts outside ``[0, 2**63 - 1]``, nesting
deeper than ``max_depth``, text larger than ``max_bytes``, integers with more
than 1000 digits -- raises ``ValidationError(reason="invalid_json",
errors=[(path, why), ...])`` and nothing else.

``to_json`` applies the same schema: it refuses (with the same error) anything
that is not Layer A data -- arbitrary objects, functions, engines, subclasses of
str or int, dicts with non-string keys, NaN -- so nothing that is not plain
data (an API key inside a client, say) can leak into a document.

Exact types are required: a ``str`` subclass or an ``IntEnum`` member is
refused, not silently converted. A list given where a dataclass field declares
a tuple (``Message(content=[TextPart(...)])``) is accepted and comes back as a
tuple.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import types
import typing
from collections.abc import Iterable
from typing import Any, TypeAlias, TypeGuard, Union, cast

from ._messages import ImagePart, Message, ReasoningPart, TextPart, Thread, ToolCall
from ._output import StructuredOutput
from ._request import Reasoning, Request
from ._results import ChatResult, Response, Spend, StepResult
from ._tool import Tool
from ._usage import Usage
from .errors import (
    AdapterError,
    AllmError,
    EngineError,
    SessionError,
    StreamError,
    ToolError,
    ValidationError,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "FORMAT_VERSION", "from_json", "to_json"]

FORMAT_VERSION = 1
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_INT_DIGITS = 1000
_MAX_FLOAT_CHARS = 1000
_MAX_ERRORS = 50
_MAX_COUNT = 2**63 - 1

_TAG = "__type__"
_DATA = "data"
_TUPLE_TAG = "tuple"
_DICT_TAG = "dict"
_PSEUDO_TAGS = frozenset({_TUPLE_TAG, _DICT_TAG})

# ---------------------------------------------------------------------------
# The closed registry
# ---------------------------------------------------------------------------

_REGISTRY: dict[str, type[Any]] = {
    "TextPart": TextPart,
    "ImagePart": ImagePart,
    "ReasoningPart": ReasoningPart,
    "ToolCall": ToolCall,
    "Message": Message,
    "Thread": Thread,
    "Usage": Usage,
    "Tool": Tool,
    "Request": Request,
    "Reasoning": Reasoning,
    "Response": Response,
    "StepResult": StepResult,
    "ChatResult": ChatResult,
    "Spend": Spend,
    "AllmError": AllmError,
    "EngineError": EngineError,
    "AdapterError": AdapterError,
    "StreamError": StreamError,
    "ToolError": ToolError,
    "ValidationError": ValidationError,
    "SessionError": SessionError,
    "StructuredOutput": StructuredOutput,
}

# Dataclass fields that are runtime-only and never serialized.
_EXCLUDED: dict[type, frozenset[str]] = {
    Tool: frozenset({"handler"}),
    Request: frozenset({"output_type"}),
    StructuredOutput: frozenset({"value"}),
}

_TAG_OF: dict[type, str] = {cls: tag for tag, cls in _REGISTRY.items()}
_SCHEMAS: dict[type, _ClassSchema] = {}


def register(tag: object, cls: object, *, exclude: Iterable[str] = ()) -> None:
    """Add an allm Layer A class to the registry under ``tag``.

    INTERNAL: for allm's own modules only (``allm.session`` registers its
    Session type this way at import). It is not an extension point and must
    never be driven by data -- a tag or class taken from input would defeat
    the closed registry. ``cls`` must be a frozen dataclass whose field types
    are Layer A types; ``exclude`` names runtime-only fields (they need a
    default and come back with it).
    """
    if not isinstance(tag, str) or not tag or tag in _PSEUDO_TAGS:
        raise ValueError(f"illegal serialization tag {tag!r}")
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"{cls!r} is not a dataclass")
    if _REGISTRY.get(tag, cls) is not cls or _TAG_OF.get(cls, tag) != tag:
        raise ValueError(f"tag {tag!r} or class {cls.__name__} is already registered differently")
    _REGISTRY[tag] = cls
    _TAG_OF[cls] = tag
    if exclude:
        _EXCLUDED[cls] = frozenset(exclude)
    _SCHEMAS.pop(cls, None)


# ---------------------------------------------------------------------------
# Errors and context
# ---------------------------------------------------------------------------


class _Abort(Exception):
    """Internal: too many problems (or a fatal one); stop walking."""


class _Ctx:
    __slots__ = ("errors", "max_depth")

    def __init__(self, max_depth: int) -> None:
        self.errors: list[tuple[str, str]] = []
        self.max_depth = max_depth

    def fail(self, path: _Path, why: str) -> None:
        self.errors.append((_fmt(path), why))
        if len(self.errors) >= _MAX_ERRORS:
            raise _Abort

    def depth(self, path: _Path, depth: int) -> bool:
        """True when ``depth`` is within the limit; records the problem otherwise."""
        if depth > self.max_depth:
            self.errors.append((_fmt(path), f"nesting deeper than {self.max_depth}"))
            raise _Abort
        return True


# A location in the value, built cheaply while walking and formatted (by _fmt)
# only when a problem is recorded: the root "$", or (parent, key or index).
_Path: TypeAlias = "str | tuple[_Path, str | int]"

_BAD: Any = object()


def _is_object(j: object) -> TypeGuard[dict[str, Any]]:
    """A JSON object (parsed JSON has string keys only)."""
    return type(j) is dict


def _is_array(j: object) -> TypeGuard[list[Any]]:
    return type(j) is list  # a sub-value that failed; its problem is already recorded


def _invalid(errors: list[tuple[str, str]]) -> ValidationError:
    return ValidationError("invalid_json", errors=errors)


def _kind(v: Any) -> str:
    return type(v).__name__


# ---------------------------------------------------------------------------
# Field specs: what a dataclass field may hold, derived from its type hints
# ---------------------------------------------------------------------------


class _Spec:
    # JSON types whose values this spec takes as they are (a fast path for decoding).
    plain: frozenset[type] = frozenset()

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        raise NotImplementedError

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        raise NotImplementedError

    def accepts(self, v: Any) -> bool:
        """Cheap runtime-type test used to pick a union branch when encoding."""
        raise NotImplementedError

    def accepts_json(self, j: Any) -> bool:
        """Cheap JSON-shape test used to pick a union branch when decoding."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class _Scalar(_Spec):
    def __init__(self, t: type) -> None:
        self.t = t
        self.json_types: tuple[type, ...] = (float, int) if t is float else (t,)
        self.plain = frozenset(self.json_types)

    def accepts(self, v: Any) -> bool:
        if self.t is float:
            return type(v) in (float, int)
        return type(v) is self.t

    def accepts_json(self, j: Any) -> bool:
        return self.accepts(j)

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts(v):
            ctx.fail(path, f"expected {self.describe()}, got {_kind(v)}")
            return _BAD
        return _check_scalar(v, path, ctx)

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if type(j) not in self.json_types:
            ctx.fail(path, f"expected {self.describe()}, got {_json_kind(j)}")
            return _BAD
        return j

    def describe(self) -> str:
        return {str: "a string", int: "an integer", float: "a number", bool: "a boolean", type(None): "null"}[
            self.t
        ]


class _Count(_Scalar):
    """A token count: an integer in ``[0, 2**63 - 1]`` (the stream JSON rule)."""

    def __init__(self) -> None:
        super().__init__(int)
        self.plain = frozenset()

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if type(j) is int and not 0 <= j <= _MAX_COUNT:
            ctx.fail(path, f"token count {_short(j)} is outside [0, 2**63 - 1]")
            return _BAD
        return super().decode(j, path, depth, ctx)


class _Literal(_Spec):
    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values

    def accepts(self, v: Any) -> bool:
        return any(type(v) is type(x) and v == x for x in self.values)

    def accepts_json(self, j: Any) -> bool:
        return self.accepts(j)

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts(v):
            ctx.fail(path, f"illegal value {_short(v)}; expected {self.describe()}")
            return _BAD
        return v

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts(j):
            ctx.fail(path, f"illegal value {_short(j)}; expected {self.describe()}")
            return _BAD
        return j

    def describe(self) -> str:
        return "one of " + ", ".join(repr(x) for x in self.values)


class _TupleOf(_Spec):
    """A dataclass field declared ``tuple[X, ...]``: a JSON list, read back as a tuple."""

    def __init__(self, item: _Spec) -> None:
        self.item = item

    def accepts(self, v: Any) -> bool:
        return type(v) in (tuple, list)

    def accepts_json(self, j: Any) -> bool:
        return type(j) is list

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts(v):
            ctx.fail(path, f"expected a tuple, got {_kind(v)}")
            return _BAD
        ctx.depth(path, depth + 1)
        return [self.item.encode(x, (path, i), depth + 1, ctx) for i, x in enumerate(v)]

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not _is_array(j):
            ctx.fail(path, f"expected a list, got {_json_kind(j)}")
            return _BAD
        ctx.depth(path, depth + 1)
        decode = self.item.decode
        return tuple([decode(x, (path, i), depth + 1, ctx) for i, x in enumerate(j)])

    def describe(self) -> str:
        return f"a list of {self.item.describe()}"


class _DictField(_Spec):
    """A field declared ``dict[str, Any]``: a free-form dict with string keys."""

    def accepts(self, v: Any) -> bool:
        return type(v) is dict

    def accepts_json(self, j: Any) -> bool:
        return _is_object(j) and (_TAG not in j or j.get(_TAG) == _DICT_TAG)

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if type(v) is not dict:
            ctx.fail(path, f"expected a dict, got {_kind(v)}")
            return _BAD
        return _encode_any(v, path, depth, ctx)

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts_json(j):
            ctx.fail(path, f"expected a plain object, got {_json_desc(j)}")
            return _BAD
        return _decode_any(j, path, depth, ctx)

    def describe(self) -> str:
        return "an object"


class _AnyValue(_Spec):
    def accepts(self, v: Any) -> bool:
        return True

    def accepts_json(self, j: Any) -> bool:
        return True

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        return _encode_any(v, path, depth, ctx)

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        return _decode_any(j, path, depth, ctx)

    def describe(self) -> str:
        return "any value"


class _Instance(_Spec):
    """A field holding one registered class (a tagged object)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def accepts(self, v: Any) -> bool:
        return type(v) is self.cls

    def accepts_json(self, j: Any) -> bool:
        return _is_object(j) and j.get(_TAG) == _TAG_OF.get(self.cls)

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if type(v) is not self.cls:
            ctx.fail(path, f"expected {self.cls.__name__}, got {_kind(v)}")
            return _BAD
        return _encode_registered(v, path, depth, ctx)

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if not self.accepts_json(j):
            ctx.fail(path, f"expected a tagged {_TAG_OF.get(self.cls)}, got {_json_desc(j)}")
            return _BAD
        return _decode_any(j, path, depth, ctx)

    def describe(self) -> str:
        return _TAG_OF.get(self.cls, self.cls.__name__)


class _Union(_Spec):
    def __init__(self, options: list[_Spec]) -> None:
        self.options = options
        # A union of scalars only (``str | None``, ...): a value of one of their
        # JSON types is accepted as it is.
        self.scalar_types: frozenset[type] = (
            frozenset(t for o in options if isinstance(o, _Scalar) for t in o.json_types)
            if all(isinstance(o, _Scalar) for o in options)
            else frozenset()
        )

    def accepts(self, v: Any) -> bool:
        return any(o.accepts(v) for o in self.options)

    def accepts_json(self, j: Any) -> bool:
        return any(o.accepts_json(j) for o in self.options)

    def encode(self, v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        for o in self.options:
            if o.accepts(v):
                return o.encode(v, path, depth, ctx)
        ctx.fail(path, f"expected {self.describe()}, got {_kind(v)}")
        return _BAD

    def decode(self, j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
        if type(j) in self.plain:
            return j
        for o in self.options:
            if o.accepts_json(j):
                return o.decode(j, path, depth, ctx)
        ctx.fail(path, f"expected {self.describe()}, got {_json_desc(j)}")
        return _BAD

    def describe(self) -> str:
        return " or ".join(o.describe() for o in self.options)


def _spec_for(hint: Any) -> _Spec:
    """Turn a resolved type hint into a spec. Unknown hints become free-form values."""
    if hint is Any:
        return _AnyValue()
    if hint is None or hint is type(None):
        return _Scalar(type(None))
    if hint in (str, int, float, bool):
        return _Scalar(hint)
    if isinstance(hint, type) and hint in _TAG_OF:
        return _Instance(hint)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return _Literal(args)
    if origin is Union or origin is types.UnionType:
        options = [_spec_for(a) for a in args]
        # Put null and scalars first so a JSON value picks the narrowest branch.
        return _Union(options)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _TupleOf(_spec_for(args[0]))
        return _AnyValue()
    if origin is dict or hint is dict:
        return _DictField()
    return _AnyValue()


class _ClassSchema:
    def __init__(self, cls: type) -> None:
        hints = typing.get_type_hints(cls)
        excluded = _EXCLUDED.get(cls, frozenset())
        self.cls = cls
        self.fields: dict[str, _Spec] = {}
        self.required: set[str] = set()
        for f in dataclasses.fields(cls):
            if f.name in excluded or not f.init:
                continue
            hint = hints.get(f.name, Any)
            self.fields[f.name] = _Count() if cls is Usage and hint is int else _spec_for(hint)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.required.add(f.name)


def _schema(cls: type) -> _ClassSchema:
    s = _SCHEMAS.get(cls)
    if s is None:
        s = _SCHEMAS[cls] = _ClassSchema(cls)
    return s


# Errors are not dataclasses: their fields are listed here.
_ERROR_STR_OR_NONE = ("provider", "request_id", "tool_name", "tool_call_id")
_ERROR_INT_OR_NONE = ("status", "retry_after_ms")


def _extra_fields(cls: type) -> tuple[str, ...]:
    """The public extra fields an error class declares (``provider``, ``status`` ...)."""
    fields: tuple[str, ...] = getattr(cls, "_extra_fields", ())
    return fields


def _error_fields(cls: type) -> tuple[str, ...]:
    extra = _extra_fields(cls)
    if cls is ValidationError:
        extra += ("errors",)
    return ("reason", "message", "metadata", "cause", *extra)


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _is_reserved(key: str) -> bool:
    return len(key) > 4 and key.startswith("__") and key.endswith("__")


def _check_scalar(v: Any, path: _Path, ctx: _Ctx) -> Any:
    t = type(cast(object, v))
    if t is float and not math.isfinite(v):
        ctx.fail(path, "NaN and Infinity are not allowed")
        return _BAD
    if t is int and (v.bit_length() > 3400 or len(str(abs(v))) > MAX_INT_DIGITS):
        ctx.fail(path, f"integer with more than {MAX_INT_DIGITS} digits")
        return _BAD
    return v


def _encode_any(v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
    t = type(cast(object, v))
    if v is None or t is bool or t is str:
        return v
    if t is int or t is float:
        return _check_scalar(v, path, ctx)
    if t is list or t is tuple:
        inner = depth + (1 if t is list else 2)
        ctx.depth(path, inner)
        items = [_encode_any(x, (path, i), inner, ctx) for i, x in enumerate(v)]
        return items if t is list else {_TAG: _TUPLE_TAG, _DATA: items}
    if t is dict:
        reserved = any(type(k) is str and _is_reserved(k) for k in v)
        inner = depth + (2 if reserved else 1)
        ctx.depth(path, inner)
        out: dict[str, Any] = {}
        for k, x in v.items():
            if type(k) is not str:
                ctx.fail(f"{_fmt(path)}[{_short(k)}]", f"dict keys must be strings, got {_kind(k)}")
                continue
            out[k] = _encode_any(x, (path, k), inner, ctx)
        return {_TAG: _DICT_TAG, _DATA: out} if reserved else out
    if t in _TAG_OF:
        return _encode_registered(v, path, depth, ctx)
    ctx.fail(path, f"{t.__module__}.{t.__qualname__} is not Layer A data and cannot be serialized")
    return _BAD


def _encode_registered(v: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
    cls = type(cast(object, v))
    tag = _TAG_OF[cls]
    ctx.depth(path, depth + 2)
    inner = depth + 2
    data: dict[str, Any] = {}
    if issubclass(cls, AllmError):
        data["reason"] = _Scalar(str).encode(v.reason, (path, "reason"), inner, ctx)
        data["message"] = _Scalar(str).encode(v.message, (path, "message"), inner, ctx)
        data["metadata"] = _DictField().encode(v.metadata, (path, "metadata"), inner, ctx)
        data["cause"] = None if v.cause is None else str(v.cause)
        for name in _extra_fields(cls):
            value = getattr(v, name, None)
            optional = _Union([_Scalar(type(None)), _Scalar(int if name in _ERROR_INT_OR_NONE else str)])
            data[name] = optional.encode(value, (path, name), inner, ctx)
        if cls is ValidationError:
            data["errors"] = _encode_error_list(v.errors, (path, "errors"), inner, ctx)
    else:
        schema = _schema(cls)
        for name, spec in schema.fields.items():
            data[name] = spec.encode(getattr(v, name), (path, name), inner, ctx)
    return {_TAG: tag, _DATA: data}


def _encode_error_list(errors: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
    if not _is_array(errors):
        ctx.fail(path, f"expected a list, got {_kind(errors)}")
        return _BAD
    ctx.depth(path, depth + 2)
    out: list[list[str]] = []
    for i, item in enumerate(errors):
        pair = _string_pair(item, (tuple, list))
        if pair is None:
            ctx.fail((path, i), "expected a (path, reason) pair of strings")
            continue
        out.append(list(pair))
    return out


def _string_pair(item: Any, kinds: tuple[type, ...]) -> tuple[str, str] | None:
    """``item`` as a pair of strings, if it is one (a tuple or list of ``kinds``)."""
    if type(item) not in kinds:
        return None
    pair = tuple(item)
    if len(pair) != 2 or type(pair[0]) is not str or type(pair[1]) is not str:
        return None
    return pair[0], pair[1]


def _fmt(path: _Path) -> str:
    """The text of a path: ``$.messages[0].content``; keys that are not identifiers in brackets."""
    steps: list[str] = []
    while type(path) is tuple:
        path, step = path
        if isinstance(step, int):
            steps.append(f"[{step}]")
        elif step.isidentifier():
            steps.append(f".{step}")
        else:
            steps.append(f"[{_short(step)}]")
    return str(path) + "".join(reversed(steps))


def to_json(
    obj: Any,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
    indent: int | None = None,
) -> str:
    """Serialize a Layer A value to a JSON document ``{"allm": 1, "value": ...}``.

    Raises ``ValidationError(reason="invalid_json")`` for anything that is not
    Layer A data or would not read back: foreign objects, callables, NaN,
    non-string dict keys, lone surrogates, nesting over ``max_depth`` or output
    over ``max_bytes``. Holds no shared state: safe to call from any number of threads.
    """
    ctx = _Ctx(max_depth)
    value: Any = None
    try:
        value = _encode_any(obj, "$", 1, ctx)
    except _Abort:
        pass
    except RecursionError:
        ctx.errors.append(("$", "value is nested too deeply (or contains a cycle)"))
    if ctx.errors:
        raise _invalid(ctx.errors)
    try:
        text = json.dumps(
            {"allm": FORMAT_VERSION, "value": value},
            ensure_ascii=False,
            allow_nan=False,
            indent=indent,
            separators=None if indent is not None else (",", ":"),
        )
    except (ValueError, TypeError, RecursionError) as exc:  # pragma: no cover - guarded above
        raise _invalid([("$", f"cannot encode: {exc}")]) from None
    try:
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _invalid([("$", _LONE_SURROGATE)]) from None
    if size > max_bytes:
        raise _invalid([("$", f"document larger than {max_bytes} bytes")])
    return text


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------


def _json_kind(j: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        type(None): "null",
    }.get(type(j), type(j).__name__)  # pyright: ignore[reportUnknownArgumentType]


def _json_desc(j: Any) -> str:
    if _is_object(j) and _TAG in j:
        return f"tagged {_short(j.get(_TAG))}"
    return _json_kind(j)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _decode_any(j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
    if _is_array(j):
        ctx.depth(path, depth + 1)
        return _decode_items(j, path, depth + 1, ctx)
    if not _is_object(j):
        return j  # scalars were checked by the parser hooks
    ctx.depth(path, depth + 1)
    if _TAG not in j:
        return _decode_plain(j, path, depth + 1, ctx)
    tag = j[_TAG]
    if len(j) != 2 or _DATA not in j:
        extra = sorted(set(j) - {_TAG, _DATA})
        if extra:
            ctx.fail(path, f"a tagged value holds only {_TAG!r} and {_DATA!r}; unexpected {extra}")
        else:
            ctx.fail(path, f"tagged value without {_DATA!r}")
        return _BAD
    data = j[_DATA]
    if type(tag) is not str:
        ctx.fail((path, _TAG), f"tag must be a string, got {_json_kind(tag)}")
        return _BAD
    if tag == _TUPLE_TAG:
        if not _is_array(data):
            ctx.fail(path, f"tuple data must be an array, got {_json_kind(data)}")
            return _BAD
        ctx.depth(path, depth + 2)
        return tuple(_decode_items(data, path, depth + 2, ctx))
    if tag == _DICT_TAG:
        if not _is_object(data):
            ctx.fail(path, f"dict data must be an object, got {_json_kind(data)}")
            return _BAD
        ctx.depth(path, depth + 2)
        return {
            k: x if type(x) in _JSON_SCALARS else _decode_any(x, (path, k), depth + 2, ctx)
            for k, x in data.items()
        }
    cls = _REGISTRY.get(tag)
    if cls is None:
        ctx.fail((path, _TAG), f"unknown type tag {_short(tag)}")
        return _BAD
    if not _is_object(data):
        ctx.fail(path, f"{tag} data must be an object, got {_json_kind(data)}")
        return _BAD
    ctx.depth(path, depth + 2)
    if issubclass(cls, AllmError):
        return _decode_error(cls, tag, data, path, depth + 2, ctx)
    return _decode_dataclass(cls, tag, data, path, depth + 2, ctx)


def _decode_items(items: list[Any], path: _Path, depth: int, ctx: _Ctx) -> list[Any]:
    """The items of a JSON array at ``depth`` (scalars as they are)."""
    return [
        x if type(x) in _JSON_SCALARS else _decode_any(x, (path, i), depth, ctx) for i, x in enumerate(items)
    ]


def _decode_plain(j: dict[str, Any], path: _Path, depth: int, ctx: _Ctx) -> dict[str, Any]:
    """An untagged JSON object at ``depth``: a dict, refusing the reserved ``__name__`` keys."""
    out: dict[str, Any] = {}
    for k, x in j.items():
        if k.startswith("__") and _is_reserved(k):
            ctx.fail((path, k), f"reserved key {_short(k)} outside a tagged value")
            continue
        out[k] = x if type(x) in _JSON_SCALARS else _decode_any(x, (path, k), depth, ctx)
    return out


def _decode_dataclass(cls: type, tag: str, data: dict[str, Any], path: _Path, depth: int, ctx: _Ctx) -> Any:
    schema = _schema(cls)
    fields = schema.fields
    before = len(ctx.errors)
    if not data.keys() <= fields.keys():
        for name in data:
            if name not in fields:
                ctx.fail((path, name), f"unknown field for {tag}")
    if not schema.required <= data.keys():
        for name in fields:
            if name in schema.required and name not in data:
                ctx.fail((path, name), f"missing required field of {tag}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        spec = fields.get(name)
        if spec is not None:
            kwargs[name] = (
                value if type(value) in spec.plain else spec.decode(value, (path, name), depth, ctx)
            )
    if len(ctx.errors) > before:
        return _BAD
    try:
        return cls(**kwargs)
    except Exception as exc:  # a __post_init__ check, say
        ctx.fail(path, f"cannot build {tag}: {exc}")
        return _BAD


def _decode_error(cls: type, tag: str, data: dict[str, Any], path: _Path, depth: int, ctx: _Ctx) -> Any:
    allowed = _error_fields(cls)
    before = len(ctx.errors)
    for name in data:
        if name not in allowed:
            ctx.fail((path, name), f"unknown field for {tag}")
    str_spec, opt_str = _Scalar(str), _Union([_Scalar(type(None)), _Scalar(str)])
    opt_int = _Union([_Scalar(type(None)), _Scalar(int)])
    if "reason" not in data:
        ctx.fail((path, "reason"), f"missing required field of {tag}")
        return _BAD
    reason = str_spec.decode(data["reason"], (path, "reason"), depth, ctx)
    message = opt_str.decode(data.get("message"), (path, "message"), depth, ctx)
    metadata = _DictField().decode(data.get("metadata", {}), (path, "metadata"), depth, ctx)
    opt_str.decode(data.get("cause"), (path, "cause"), depth, ctx)  # checked, then dropped
    kwargs: dict[str, Any] = {}
    for name in _extra_fields(cls):
        spec = opt_int if name in _ERROR_INT_OR_NONE else opt_str
        kwargs[name] = spec.decode(data.get(name), (path, name), depth, ctx)
    if cls is ValidationError:
        kwargs["errors"] = _decode_error_list(data.get("errors", []), (path, "errors"), depth, ctx)
    if len(ctx.errors) > before:
        return _BAD
    if reason not in cls.reasons:  # type: ignore[attr-defined]
        ctx.fail((path, "reason"), f"{tag} has no reason {_short(reason)}")
        return _BAD
    try:
        return cls(reason, message, metadata=metadata, **kwargs)
    except Exception as exc:  # pragma: no cover - every field was checked above
        ctx.fail(path, f"cannot build {tag}: {exc}")
        return _BAD


def _decode_error_list(j: Any, path: _Path, depth: int, ctx: _Ctx) -> Any:
    if not _is_array(j):
        ctx.fail(path, f"expected an array, got {_json_kind(j)}")
        return _BAD
    ctx.depth(path, depth + 2)
    out: list[tuple[str, str]] = []
    for i, item in enumerate(j):
        pair = _string_pair(item, (list,))
        if pair is None:
            ctx.fail((path, i), "expected a [path, reason] pair of strings")
            return _BAD
        out.append(pair)
    return out


# Parser hooks -- each raises _HookError, turned into ValidationError below.


class _HookError(Exception):
    pass


def _parse_int(s: str) -> int:
    if len(s.lstrip("-")) > MAX_INT_DIGITS:
        raise _HookError(f"integer with more than {MAX_INT_DIGITS} digits")
    return int(s)


def _parse_float(s: str) -> float:
    if len(s) > _MAX_FLOAT_CHARS:
        raise _HookError(f"number literal longer than {_MAX_FLOAT_CHARS} characters")
    f = float(s)
    if not math.isfinite(f):
        raise _HookError(f"number {s[:40]} is out of range")
    return f


def _parse_constant(s: str) -> Any:
    raise _HookError(f"{s} is not allowed")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise _HookError(f"duplicate key {_short(k)}")
            seen.add(k)
    return out


_LONE_SURROGATE = "a string holds a lone surrogate (U+D800..U+DFFF), which UTF-8 cannot encode"
# A \u escape of a surrogate; a pair of them is one character once parsed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(doc: Any) -> bool:
    """Whether a parsed document holds a lone surrogate (only run when its text escapes one)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_parse_constant,
    object_pairs_hook=_pairs,
)


def from_json(
    text: str | bytes | bytearray,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Read a document written by :func:`to_json` back into Layer A values.

    Raises ``ValidationError(reason="invalid_json", errors=[(path, why), ...])``
    -- and never anything else -- for any input that is not such a document.
    Holds no shared state: safe to call from any number of threads.
    """
    try:
        return _from_json(text, max_depth, max_bytes)
    except ValidationError:
        raise
    except RecursionError:
        raise _invalid([("$", f"nesting deeper than {max_depth}")]) from None
    except Exception as exc:  # a last guard: the contract is ValidationError only
        raise _invalid([("$", f"unreadable document ({type(exc).__name__})")]) from None


def _from_json(text: Any, max_depth: int, max_bytes: int) -> Any:
    if type(text) in (bytes, bytearray):
        if len(text) > max_bytes:
            raise _invalid([("$", f"document larger than {max_bytes} bytes")])
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid([("$", f"not UTF-8: {exc.reason} at byte {exc.start}")]) from None
    elif type(text) is str:
        try:
            size = len(text) if text.isascii() else len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise _invalid([("$", _LONE_SURROGATE)]) from None
        if size > max_bytes:
            raise _invalid([("$", f"document larger than {max_bytes} bytes")])
    else:
        raise _invalid([("$", f"expected str or bytes, got {_kind(text)}")])
    try:
        doc = _DECODER.decode(text)
    except _HookError as exc:
        raise _invalid([("$", str(exc))]) from None
    except RecursionError:
        raise _invalid([("$", f"nesting deeper than {max_depth}")]) from None
    except json.JSONDecodeError as exc:
        raise _invalid([("$", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]) from None
    except ValueError as exc:
        raise _invalid([("$", f"invalid JSON: {exc}")]) from None
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(doc):
        raise _invalid([("$", _LONE_SURROGATE)])
    if not _is_object(doc) or "allm" not in doc or "value" not in doc:
        raise _invalid([("$", 'expected a document {"allm": 1, "value": ...}')])
    extra = sorted(set(doc) - {"allm", "value"})
    if extra:
        raise _invalid([("$", f"unexpected top-level keys {extra}")])
    version = doc["allm"]
    if type(version) is not int or version != FORMAT_VERSION:
        why = f"unsupported format version {_short(version)}; expected {FORMAT_VERSION}"
        raise _invalid([("$.allm", why)])
    ctx = _Ctx(max_depth)
    value = None
    with contextlib.suppress(_Abort):
        value = _decode_any(doc["value"], "$", 1, ctx)
    if ctx.errors:
        raise _invalid(ctx.errors)
    return value
