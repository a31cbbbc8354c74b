"""What every wire decoder shares: the message lifecycle, text, usage, tool calls.

A wire decoder turns ``ServerSentEvent`` values into allm events, appending to
the list it is given (one list per network chunk). Subclasses implement
``ids`` (message id and model of the first payload) and ``payload``; the base
class owns ``message_started``, the end-of-message ordering, terminal errors,
and tool-call accumulation (docs/internals.md §4, §6.3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from ..._messages import ReasoningPart
from ..._usage import Usage
from ...errors import AllmError, StreamError
from ...events import (
    ErrorEvent,
    Event,
    MessageCompleted,
    MessageStarted,
    RawChunk,
    TextCompleted,
    TextDelta,
    ToolCallCompleted,
    ToolCallDelta,
    ToolCallStarted,
)
from ...sse import ServerSentEvent
from ._json import JSONError, loads, parse_arguments

__all__ = [
    "ToolCall",
    "WireDecoder",
    "as_dict",
    "as_list",
    "dicts",
    "get_dict",
    "get_list",
    "get_str",
    "get_token",
    "utf8_len",
]

_new: Callable[[type[Any], tuple[Any, ...]], Any] = tuple[Any, ...].__new__  # an event from its fields


def get_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def get_token(obj: dict[str, Any], key: str) -> str | None:
    """A provider token (signature, id, ...): a non-empty string, else None."""
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def get_dict(obj: dict[str, Any], key: str) -> dict[str, Any] | None:
    return as_dict(obj.get(key))


def get_list(obj: dict[str, Any], key: str) -> list[Any] | None:
    return as_list(obj.get(key))


def as_dict(value: Any) -> dict[str, Any] | None:
    """``value`` if it is a JSON object, else None."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def as_list(value: Any) -> list[Any] | None:
    """``value`` if it is a JSON array, else None."""
    if isinstance(value, list):
        return cast("list[Any]", value)  # type: ignore[redundant-cast]  # pyright reads list[Unknown]
    return None


def dicts(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of ``value`` when it is a list (other items skipped), else ``[]``."""
    return [cast("dict[str, Any]", item) for item in as_list(value) or () if isinstance(item, dict)]


class ToolCall:
    """One tool call being assembled."""

    __slots__ = (
        "completed",
        "final",
        "id",
        "initial",
        "key",
        "metadata",
        "name",
        "nbytes",
        "parts",
        "started",
    )

    def __init__(self, key: Any, id: str | None = None, name: str | None = None) -> None:
        self.key = key
        self.id = id
        self.name = name
        self.parts: list[str] = []
        self.nbytes = 0
        self.final: str | None = None
        self.initial: str | None = None  # arguments given whole at the start; used if no fragment follows
        self.metadata: dict[str, Any] = {}
        self.started = False
        self.completed = False


_COUNTS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
)


def _counted(usage: Usage | None) -> Usage | None:
    """``usage`` if any count is non-zero; an all-zero usage is a placeholder, not a report."""
    if usage is None or not any(getattr(usage, name) for name in _COUNTS):
        return None
    return usage


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class WireDecoder:
    """Base of the four wire decoders."""

    provider: ClassVar[str] = ""

    def __init__(self, max_argument_bytes: int | None) -> None:
        self.max_argument_bytes = max_argument_bytes
        self.started = False
        self.done = False
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.usage: Usage | None = None
        self.calls: list[ToolCall] = []
        self.call_ids: set[str] = set()
        self.metadata: dict[str, Any] = {}  # wire-specific entries of message_completed.metadata

    # -- entry points (the pipeline calls these) -------------------------

    def event(self, sse: ServerSentEvent, out: list[Event]) -> None:
        """Decode one SSE event."""
        data = sse.data
        if data == "[DONE]":
            try:
                self.done_marker(out)
            except StreamError as error:  # two tool calls sharing an id
                self.fail(error, out)
            return
        try:
            payload = as_dict(loads(data))
        except JSONError:
            self.fail(StreamError("malformed_event", "event data is not valid JSON"), out)
            return
        if payload is None:
            self.fail(StreamError("malformed_event", "event data is not a JSON object"), out)
            return
        if not self.started:
            self.start(out, *self.ids(payload))
        try:
            self.payload(payload, sse.event, out)
        except StreamError as error:  # a tool-argument limit, two tool calls sharing an id
            self.fail(error, out)

    def close(self, out: list[Event]) -> None:
        """End of body before a terminal event."""
        self.fail(StreamError("incomplete", "stream ended before the provider's terminal event"), out)

    def fail(self, error: AllmError, out: list[Event]) -> None:
        """Terminal error: the pending reasoning part and the usage so far (if any was
        counted), then the error."""
        self.flush_pending(out)
        usage = _counted(self.usage)
        if usage is not None:
            out.append(_new(RawChunk, ("usage", usage)))
        out.append(_new(ErrorEvent, (error,)))
        self.done = True

    # -- for subclasses ---------------------------------------------------

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        raise NotImplementedError

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        raise NotImplementedError

    def done_marker(self, out: list[Event]) -> None:
        """``data: [DONE]``: ignored unless the wire says otherwise."""

    def start(self, out: list[Event], id: str | None = None, model: str | None = None) -> None:
        out.append(_new(MessageStarted, (id, model)))
        self.started = True

    def emit_text(self, text: Any, out: list[Event]) -> None:
        if isinstance(text, str) and text:
            self.flush_pending(out)
            self.text.append(text)
            out.append(_new(TextDelta, (text, None)))

    def emit_reasoning(self, text: Any, out: list[Event]) -> None:
        if isinstance(text, str) and text:
            self.reasoning.append(text)
            out.append(_new(RawChunk, ("reasoning_delta", text)))

    def flush_reasoning(
        self,
        out: list[Event],
        *,
        fallback: str = "",
        signature: str | None = None,
        redacted: str | None = None,
        id: str | None = None,
        encrypted_content: str | None = None,
    ) -> None:
        """End the current reasoning part: ``RawChunk("reasoning", ReasoningPart)`` with
        the reasoning text since the last part (``fallback`` when there is none)."""
        text = "".join(self.reasoning) or fallback
        self.reasoning = []
        part = ReasoningPart(text, signature, redacted, id, encrypted_content, self.provider)
        out.append(_new(RawChunk, ("reasoning", part)))

    def flush_pending(self, out: list[Event]) -> None:
        """Reasoning text not yet in a part becomes one (text, a tool call or the end follows)."""
        if self.reasoning:
            self.flush_reasoning(out)

    def finish(self, finish_reason: str | None, raw_finish_reason: str | None, out: list[Event]) -> None:
        """End of message: pending reasoning and calls, text_completed, usage, message_completed."""
        self.flush_pending(out)
        for call in self.calls:
            if not call.completed:
                if not call.started:
                    if call.id is None:
                        call.id = f"call_{call.key}"
                    if call.name is None:
                        call.name = ""
                    self.start_call(call, out)
                self.complete_call(call, out)
        if self.text:
            out.append(_new(TextCompleted, ("".join(self.text), None)))
        usage = _counted(self.usage)
        if usage is not None:
            out.append(_new(RawChunk, ("usage", usage)))
        out.append(_new(MessageCompleted, (finish_reason, raw_finish_reason, self.metadata)))
        self.done = True

    # -- tool calls ---------------------------------------------------------

    def new_call(self, key: Any, id: str | None = None, name: str | None = None) -> ToolCall:
        call = ToolCall(key, id, name)
        self.calls.append(call)
        return call

    def start_call(self, call: ToolCall, out: list[Event]) -> None:
        """``tool_call_started``, then the fragments that arrived before it.

        A second call with the id of a started one is an error: the fold keys
        calls by id, so the first would silently lose its answer.
        """
        if call.id in self.call_ids:
            raise StreamError("malformed_event", "two tool calls in one message share an id")
        self.call_ids.add(call.id)  # type: ignore[arg-type]
        self.flush_pending(out)
        call.started = True
        out.append(_new(ToolCallStarted, (call.id, call.name)))
        for part in call.parts:
            out.append(_new(ToolCallDelta, (call.id, part)))

    def add_arguments(self, call: ToolCall, fragment: Any, out: list[Event]) -> None:
        """Append a non-empty fragment (a delta once the call has started)."""
        if not isinstance(fragment, str) or not fragment:
            return
        call.nbytes += utf8_len(fragment)
        self.check_arguments(call.nbytes)
        call.parts.append(fragment)
        if call.started:
            out.append(_new(ToolCallDelta, (call.id, fragment)))

    def set_final_arguments(self, call: ToolCall, text: Any) -> None:
        """The provider's final argument text; preferred over the deltas."""
        if isinstance(text, str):
            self.check_arguments(utf8_len(text))
            call.final = text

    def complete_call(self, call: ToolCall, out: list[Event]) -> None:
        if not call.parts and call.initial is not None:
            out.append(_new(ToolCallDelta, (call.id, call.initial)))
            call.parts.append(call.initial)
        raw = call.final if call.final is not None else "".join(call.parts)
        call.completed = True
        out.append(_new(ToolCallCompleted, (call.id, call.name, parse_arguments(raw), raw, call.metadata)))

    def check_arguments(self, nbytes: int) -> None:
        """``limit_exceeded`` when ``nbytes`` of argument text exceed max_argument_bytes."""
        limit = self.max_argument_bytes
        if limit is not None and nbytes > limit:
            raise StreamError("limit_exceeded", f"tool call arguments exceed max_argument_bytes ({limit})")
