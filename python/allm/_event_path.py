"""The one place events pass on their way to a consumer.

Sources (providers, the Fake) yield every event they produce, unfiltered, one
list per network chunk or script entry, and fold every one of them themselves
(that fold is the call's Response). Between a source and the consumer, each
batch goes through one :class:`EventPath`, which

1. stamps a terminal error with the call's request id,
2. shows every event to ``on_event`` (before any filter),
3. drops what the consumer's filters exclude (``emit_text_deltas``,
   ``emit_tool_deltas``, ``include_raw_chunks``; usage raw chunks always pass).

Filtering changes what the consumer sees, never what is folded. The chat loop
uses the same path for the events of its steps and tool runs.

Thread safety: an EventPath holds no mutable state; it may be shared.
"""

from __future__ import annotations

from . import _backend
from ._options import StreamOptions
from .errors import AllmError
from .events import Event

__all__ = ["EventPath", "stamp"]


def stamp(error: AllmError, request_id: str) -> None:
    """Record ``request_id`` on ``error`` unless it carries one already."""
    error.metadata.setdefault("request_id", request_id)


class EventPath:
    """Stamp, observe and filter one batch of events for one consumer."""

    __slots__ = ("_filters", "_on_event", "_request_id")

    def __init__(self, options: StreamOptions) -> None:
        self._request_id = options.request_id
        self._on_event = options.on_event
        self._filters = None if options.passes_everything else options.filters

    def __call__(self, batch: list[Event]) -> list[Event]:
        """The part of ``batch`` the consumer sees (the batch itself when nothing is dropped)."""
        if not batch:
            return batch
        last = batch[-1]
        if last.type == "error":  # an error is terminal, so always last
            stamp(last.error, self._request_id)
        if self._on_event is not None:
            for event in batch:
                self._on_event(event)
        if self._filters is None:
            return batch
        kept: list[Event] = _backend.backend.filter_events(batch, *self._filters)
        return kept
