"""The provider-neutral request (Layer A)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._messages import Message
from ._tool import Tool

__all__ = ["Request"]


@dataclass(frozen=True, slots=True)
class Request:
    """What to ask the model.

    ``options`` holds raw provider fields merged last into the request body.
    ``response_format`` is None, ``{"type": "text"}``, ``{"type": "json_object"}``
    or the value of :func:`allm.json_schema`.
    """

    messages: tuple[Message, ...]
    model: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
