"""Strict JSON schemas for structured output and tool arguments (pure functions).

:func:`strict_schema` turns a JSON schema (pydantic's, or a hand-written one)
into the strict form the providers' structured-output modes accept: every
object lists all its properties as ``required`` and sets
``additionalProperties: false``; ``default`` keywords are dropped (the model
must give every field; an optional field is one that admits ``null``); a
``$ref`` with sibling keywords is inlined. Property names are never mistaken
for keywords: only the keywords that hold schemas are walked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

__all__ = ["as_dict", "map_subschemas", "strict_schema"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "if", "then", "else")
_REF_PREFIXES = ("#/$defs/", "#/definitions/")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The strict form of ``schema`` (a new dict; ``schema`` is not changed)."""
    return _strict(schema, schema)


def as_dict(value: Any) -> dict[str, Any] | None:
    """``value`` when it is a dict (typed for the checkers), else None."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any] | None:
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            defs = as_dict(root.get(prefix[2:-1]))
            return None if defs is None else as_dict(defs.get(ref[len(prefix) :]))
    return None


def _strict(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        target = _resolve(ref, root)
        if target is not None:
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default":
            continue
        out[key] = _walk(key, value, root)
    if out.get("type") == "object" or "properties" in out:
        properties = as_dict(out.get("properties"))
        if properties is not None:
            out["required"] = list(properties)
        if out.get("additionalProperties") in (None, True):
            out["additionalProperties"] = False
    return out


def _walk(key: str, value: Any, root: dict[str, Any]) -> Any:
    mapping = as_dict(value)
    if key in _SCHEMA_MAPS and mapping is not None:
        return {k: _sub(v, root) for k, v in mapping.items()}
    if key in _SCHEMA_LISTS and isinstance(value, list):
        return [_sub(v, root) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if key in _SCHEMA_VALUES:
        return _sub(value, root)
    return value


def _sub(value: Any, root: dict[str, Any]) -> Any:
    mapping = as_dict(value)
    return value if mapping is None else _strict(mapping, root)


def map_subschemas(
    schema: dict[str, Any], change: Callable[[dict[str, Any]], dict[str, Any]]
) -> dict[str, Any]:
    """``schema`` with ``change`` applied to every (sub)schema, innermost first (a new dict)."""

    def visit(value: Any) -> Any:
        mapping = as_dict(value)
        return value if mapping is None else map_subschemas(mapping, change)

    out: dict[str, Any] = {}
    for key, value in schema.items():
        mapping = as_dict(value)
        if key in _SCHEMA_MAPS and mapping is not None:
            out[key] = {k: visit(v) for k, v in mapping.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [visit(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
        elif key in _SCHEMA_VALUES:
            out[key] = visit(value)
        else:
            out[key] = value
    return change(out)
