"""A complete JSON reply to a streaming request, as the events its stream would have given.

Some servers ignore ``stream: true`` and answer ``200 application/json`` with the
whole completion (LiteLLM's mock models, some local servers). The wire's
non-streaming parser turns the body into a Response; :func:`reply_events` gives
the events a stream of that Response would have produced, in the contract's
order, so ``generate`` and streams both work. The Response's metadata says
``non_streaming: True``.
"""

from __future__ import annotations

from .._messages import ReasoningPart, TextPart
from .._results import Response
from ..events import (
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

__all__ = ["reply_events"]


def reply_events(response: Response) -> list[Event]:
    """The events of a stream that folds to ``response`` (text and reasoning parts in
    their order, tool calls, usage, finish)."""
    events: list[Event] = [MessageStarted(response.id, response.model)]
    events += _content_events(response)
    if response.output_text:
        events.append(TextCompleted(response.output_text))
    for call in response.tool_calls:
        events.append(ToolCallStarted(call.id, call.name))
        if call.raw_arguments:
            events.append(ToolCallDelta(call.id, call.raw_arguments))
        events.append(
            ToolCallCompleted(call.id, call.name, call.arguments, call.raw_arguments, call.metadata)
        )
    if response.usage is not None:
        events.append(RawChunk("usage", response.usage))
    metadata = {**response.metadata, "non_streaming": True}
    events.append(MessageCompleted(response.finish_reason, response.raw_finish_reason, metadata))
    return events


def _content_events(response: Response) -> list[Event]:
    """Text deltas and reasoning chunks (its text, then the part) in content order."""
    content = response.message.content
    if isinstance(content, str):
        return [TextDelta(content)] if content else []
    events: list[Event] = []
    for part in content:
        if isinstance(part, TextPart) and part.text:
            events.append(TextDelta(part.text))
        elif isinstance(part, ReasoningPart):
            if part.text:
                events.append(RawChunk("reasoning_delta", part.text))
            events.append(RawChunk("reasoning", part))
    return events
