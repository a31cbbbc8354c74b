"""Builds Layer A values from fold state; the one place both backends call.

Kept apart from the fold so that the native fold never duplicates how a
Response, its Message and its ToolCalls are put together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._messages import Message, Part, ReasoningPart, TextPart, ToolCall
from ._results import Response
from ._usage import Usage
from .errors import AllmError

__all__ = ["content", "response"]

ToolCallState = tuple[str, str, dict[str, Any], str, dict[str, Any]]
ReasoningState = tuple[int, ReasoningPart]
"""A reasoning part with its anchor: how many characters of text came before it."""


def content(text: str, reasoning: Sequence[ReasoningState]) -> str | tuple[Part, ...]:
    """The assistant message's content: ``text`` alone, or text and reasoning parts in
    stream order (each part placed at its anchor, clamped to the text's length)."""
    if not reasoning:
        return text
    parts: list[Part] = []
    start = 0
    for anchor, part in reasoning:
        at = min(max(anchor, start), len(text))
        if at > start:
            parts.append(TextPart(text[start:at]))
            start = at
        parts.append(part)
    if start < len(text):
        parts.append(TextPart(text[start:]))
    return tuple(parts)


def _finish(finish_reason: str | None, has_calls: bool) -> str | None:
    """A message with tool calls finishes with "tool_calls" when the provider said
    nothing or "stop" (some servers never send a finish reason)."""
    if has_calls and finish_reason in (None, "stop"):
        return "tool_calls"
    return finish_reason


def response(
    id: str | None,
    model: str | None,
    text: str,
    tool_calls: list[ToolCallState],
    finish_reason: str | None,
    raw_finish_reason: str | None,
    usage: Usage | None,
    metadata: dict[str, Any],
    error: AllmError | None,
    reasoning: Sequence[ReasoningState] = (),
) -> Response:
    """Assemble a Response from the collector fold's state."""
    calls = tuple(
        ToolCall(id=cid, name=name, arguments=args, raw_arguments=raw, metadata=meta)
        for cid, name, args, raw, meta in tool_calls
    )
    meta = dict(metadata)
    if error is not None:
        meta["error"] = error
    return Response(
        message=Message(role="assistant", content=content(text, reasoning), tool_calls=calls),
        output_text=text,
        tool_calls=calls,
        finish_reason=_finish(finish_reason, bool(calls)),  # type: ignore[arg-type]
        raw_finish_reason=raw_finish_reason,
        usage=usage,
        id=id,
        model=model,
        metadata=meta,
    )
