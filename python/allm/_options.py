"""Per-call stream options, parsed once at call time."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ValidationError
from .events import Event

__all__ = ["StreamOptions", "new_request_id"]


def new_request_id() -> str:
    """A fresh 22-character URL-safe request id."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """What the consumer sees: delta and raw-chunk filters, an observer, the request id."""

    emit_text_deltas: bool = True
    emit_tool_deltas: bool = True
    include_raw_chunks: bool = False
    on_event: Callable[[Event], Any] | None = None
    request_id: str = ""

    @property
    def filters(self) -> tuple[bool, bool, bool]:
        """The three filter flags, in the backend's argument order."""
        return (self.emit_text_deltas, self.emit_tool_deltas, self.include_raw_chunks)

    @property
    def passes_everything(self) -> bool:
        """Whether no event is ever filtered out."""
        return self.emit_text_deltas and self.emit_tool_deltas and self.include_raw_chunks

    @classmethod
    def parse(cls, opts: dict[str, Any]) -> tuple[StreamOptions, dict[str, Any]]:
        """Split call options into stream options and the rest (left for the caller)."""
        rest = dict(opts)
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for name in ("emit_text_deltas", "emit_tool_deltas", "include_raw_chunks"):
            if name in rest:
                value = rest.pop(name)
                if not isinstance(value, bool):
                    errors.append((name, "must be a bool"))
                values[name] = value
        on_event = rest.pop("on_event", None)
        if on_event is not None and not callable(on_event):
            errors.append(("on_event", "must be callable"))
        request_id = rest.pop("request_id", None) or new_request_id()
        if not isinstance(request_id, str):
            errors.append(("request_id", "must be a string"))
        if errors:
            raise ValidationError("invalid_options", errors=errors)
        return cls(on_event=on_event, request_id=request_id, **values), rest
