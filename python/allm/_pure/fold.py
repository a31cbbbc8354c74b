"""The message-level collector fold, in Python (twin of the native ``Fold``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _build
from .._messages import ReasoningPart
from .._results import Response
from .._usage import Usage
from ..errors import AllmError
from ..events import Event

__all__ = ["Fold"]


class _Call:
    __slots__ = ("arguments", "metadata", "name", "raw")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.raw = ""
        self.arguments: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}


class Fold:
    """Folds message-level events into the state behind a Response."""

    __slots__ = (
        "_chars",
        "_handlers",
        "_pieces",
        "calls",
        "error",
        "finish_reason",
        "id",
        "metadata",
        "model",
        "raw_finish_reason",
        "reasoning",
        "usage",
    )

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._chars = 0
        self.reasoning: list[tuple[int, ReasoningPart]] = []
        self.calls: dict[str, _Call] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.raw_finish_reason: str | None = None
        self.error: AllmError | None = None
        self.metadata: dict[str, Any] = {}
        self.id: str | None = None
        self.model: str | None = None
        self._handlers = {
            "message_started": self._message_started,
            "text_delta": self._text_delta,
            "text_completed": self._text_completed,
            "tool_call_started": self._tool_call_started,
            "tool_call_delta": self._tool_call_delta,
            "tool_call_completed": self._tool_call_completed,
            "message_completed": self._message_completed,
            "raw_chunk": self._raw_chunk,
            "error": self._error,
        }

    def apply(self, event: Event) -> None:
        """Fold one event; events outside the message level change nothing."""
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(event)

    def apply_many(self, events: Iterable[Event]) -> None:
        """Fold a batch of events in order."""
        handlers = self._handlers
        for event in events:
            handler = handlers.get(event.type)
            if handler is not None:
                handler(event)

    def response(self) -> Response:
        """The Response the events folded so far describe."""
        return _build.response(
            self.id,
            self.model,
            "".join(self._pieces),
            [(cid, c.name, c.arguments, c.raw, c.metadata) for cid, c in self.calls.items()],
            self.finish_reason,
            self.raw_finish_reason,
            self.usage,
            self.metadata,
            self.error,
            self.reasoning,
        )

    def _message_started(self, event: Any) -> None:
        if event.id is not None:
            self.id = event.id
        if event.model is not None:
            self.model = event.model

    def _text_delta(self, event: Any) -> None:
        self._pieces.append(event.delta)
        self._chars += len(event.delta)

    def _text_completed(self, event: Any) -> None:
        self._pieces = [event.text]
        self._chars = len(event.text)

    def _call(self, call_id: str) -> _Call:
        call = self.calls.get(call_id)
        if call is None:
            call = self.calls[call_id] = _Call()
        return call

    def _tool_call_started(self, event: Any) -> None:
        call = self._call(event.id)
        if not call.name:
            call.name = event.name

    def _tool_call_delta(self, event: Any) -> None:
        self._call(event.id).raw += event.arguments_delta

    def _tool_call_completed(self, event: Any) -> None:
        call = self._call(event.id)
        call.name = event.name
        call.arguments = event.arguments
        call.raw = event.raw_arguments
        call.metadata = event.metadata

    def _message_completed(self, event: Any) -> None:
        if event.finish_reason is not None and self.error is None:
            self.finish_reason = event.finish_reason
            self.raw_finish_reason = event.raw_finish_reason
        self.metadata.update(event.metadata)

    def _raw_chunk(self, event: Any) -> None:
        if event.kind == "usage":
            self.usage = event.data
        elif event.kind == "reasoning":
            self.reasoning.append((self._chars, event.data))

    def _error(self, event: Any) -> None:
        self.error = event.error
        self.finish_reason = "error"
