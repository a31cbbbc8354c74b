"""Per-provider translation of structured-output schemas.

OpenAI (``strict``) and Gemini (``responseJsonSchema``) take the strict schema
as allm derives it. Anthropic's native structured output refuses numeric,
string-length and most array-size constraints; like Anthropic's own SDK, allm
moves them into the schema's ``description`` so the model still sees them
(the Response is validated against the full output type either way).
"""

from __future__ import annotations

import json
from typing import Any

from .._schema import map_subschemas

__all__ = ["anthropic_schema"]

_ANTHROPIC_UNSUPPORTED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)


def _move_constraints(schema: dict[str, Any]) -> dict[str, Any]:
    moved = {k: schema[k] for k in _ANTHROPIC_UNSUPPORTED if k in schema}
    min_items = schema.get("minItems")
    if isinstance(min_items, int) and min_items > 1:
        moved["minItems"] = min_items
    if not moved:
        return schema
    out = {k: v for k, v in schema.items() if k not in moved}
    note = "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in moved.items()) + "}"
    description = out.get("description")
    out["description"] = f"{description} {note}" if isinstance(description, str) and description else note
    return out


def anthropic_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as Anthropic's ``output_config.format`` accepts it."""
    return map_subschemas(schema, _move_constraints)
