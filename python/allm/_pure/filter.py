"""Stream-option filtering of events (twin of the native ``filter_events``)."""

from __future__ import annotations

from ..events import Event

__all__ = ["filter_events", "keeps"]

_ALWAYS = ("usage", "reasoning")
"""Raw-chunk kinds every consumer sees: the final usage and whole reasoning parts."""


def keeps(event: Event, emit_text_deltas: bool, emit_tool_deltas: bool, include_raw_chunks: bool) -> bool:
    """Whether the stream options let ``event`` through (usage and reasoning-part chunks always pass).

    Partial objects follow the text deltas they are built from.
    """
    kind = event.type
    if kind == "text_delta" or kind == "partial_output":
        return emit_text_deltas
    if kind == "tool_call_delta":
        return emit_tool_deltas
    if kind == "raw_chunk":
        return include_raw_chunks or getattr(event, "kind", None) in _ALWAYS
    return True


def filter_events(
    events: list[Event], emit_text_deltas: bool, emit_tool_deltas: bool, include_raw_chunks: bool
) -> list[Event]:
    """The events the stream options let through, in order."""
    if emit_text_deltas and emit_tool_deltas and include_raw_chunks:
        return list(events)
    return [e for e in events if keeps(e, emit_text_deltas, emit_tool_deltas, include_raw_chunks)]
