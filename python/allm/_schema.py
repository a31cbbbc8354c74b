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

from typing import Any

__all__ = ["strict_schema"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "if", "then", "else")
_REF_PREFIXES = ("#/$defs/", "#/definitions/")


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The strict form of ``schema`` (a new dict; ``schema`` is not changed)."""
    return _strict(schema, schema)


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any] | None:
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            defs = root.get(prefix[2:-1])
            target = defs.get(ref[len(prefix) :]) if isinstance(defs, dict) else None
            return target if isinstance(target, dict) else None  # pyright: ignore[reportUnknownVariableType]
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
        properties = out.get("properties")
        if isinstance(properties, dict):
            out["required"] = list(properties)  # pyright: ignore[reportUnknownArgumentType]
        if out.get("additionalProperties") in (None, True):
            out["additionalProperties"] = False
    return out


def _walk(key: str, value: Any, root: dict[str, Any]) -> Any:
    if key in _SCHEMA_MAPS and isinstance(value, dict):
        return {k: _sub(v, root) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if key in _SCHEMA_LISTS and isinstance(value, list):
        return [_sub(v, root) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if key in _SCHEMA_VALUES:
        return _sub(value, root)
    return value


def _sub(value: Any, root: dict[str, Any]) -> Any:
    return _strict(value, root) if isinstance(value, dict) else value  # pyright: ignore[reportUnknownArgumentType]
