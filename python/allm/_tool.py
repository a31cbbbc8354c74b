"""Tool definitions (Layer A; the handler is runtime-only and never serialized)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tool"]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call.

    ``schema`` is the JSON schema of the arguments. ``handler`` takes the parsed
    arguments (and optionally a context); ``manual=True`` holds the call back for
    the caller instead of running it.

    Thread safety: immutable; one tool may serve any number of concurrent calls,
    so its handler must be safe to call from several threads at once.
    """

    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    handler: Callable[..., Any] | None = field(default=None, compare=False, repr=False)
    manual: bool = False
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
