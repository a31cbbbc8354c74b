"""Strict JSON as both backends read it (docs/internals.md §6.2).

serde_json's defaults are the reference: no NaN/Infinity, no lone surrogate
escapes, integers outside 64 bits become floats, numbers that overflow are
invalid, at most 127 nested containers. orjson agrees except on the depth
limit; the stdlib parser is made to agree through its hooks.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, cast

_orjson: Any
try:  # optional fast path; results are the same
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _orjson = None

__all__ = ["JSONError", "canonical_dumps", "loads", "parse_arguments"]

_MAX_DEPTH = 127
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


class JSONError(ValueError):
    """The text is not JSON under the strict rules."""


def _parse_constant(name: str) -> Any:
    raise JSONError(f"{name} is not JSON")


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise JSONError("number out of range")
    return value


def _parse_int(text: str) -> int | float:
    value = int(text)
    if _INT_MIN <= value <= _INT_MAX:
        return value
    return _parse_float(text)


_decoder = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)


def _has_surrogate(value: Any) -> bool:
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return True
        elif isinstance(item, dict):
            members = cast("dict[object, object]", item)
            stack.extend(members.keys())
            stack.extend(members.values())
        elif isinstance(item, list):
            stack.extend(cast("list[object]", item))
    return False


def _checked_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members, every one checked for lone surrogates (a later duplicate key
    must not hide an earlier value from the check: the native parser sees them all)."""
    for key, value in pairs:
        if _has_surrogate(key) or _has_surrogate(value):
            raise JSONError("lone surrogate escape")
    return dict(pairs)


_checking_decoder = json.JSONDecoder(
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_parse_constant,
    object_pairs_hook=_checked_pairs,
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")


def _text_depth(text: str) -> int:
    """The deepest nesting of containers in JSON ``text`` (strings skipped), in one pass."""
    deepest = level = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def _stdlib_loads(text: str) -> Any:
    escapes = "\\u" in text or "\\U" in text
    try:
        value = (_checking_decoder if escapes else _decoder).decode(text)
    except (ValueError, RecursionError) as exc:
        raise JSONError(str(exc)) from None
    if escapes and _has_surrogate(value):
        raise JSONError("lone surrogate escape")
    return value


def loads(text: str) -> Any:
    """Parse ``text`` strictly; raises ``JSONError``."""
    if _orjson is not None:
        try:
            value = _orjson.loads(text)
        except ValueError:
            value = _stdlib_loads(text)  # the hooks decide (big ints, and to give the same errors)
    else:
        value = _stdlib_loads(text)
    if text.count("[") + text.count("{") > _MAX_DEPTH and _text_depth(text) > _MAX_DEPTH:
        raise JSONError("nesting too deep")
    return value


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments: a JSON object, else ``{}`` (empty text included)."""
    if not raw:
        return {}
    try:
        value = loads(raw)
    except JSONError:
        return {}
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def canonical_dumps(value: Any) -> str:
    """The canonical JSON text of a parsed value (Gemini ``raw_arguments``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
