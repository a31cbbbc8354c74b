"""Sans-IO pipelines for callers who already hold the bytes.

``StreamDecoder(wire, **stream_options)`` turns raw network chunks of one
provider stream into allm events (``feed`` / ``close``); ``collect(wire,
chunks)`` folds a whole stream into a Response without building per-event
Python objects. ``wire`` is "openai-chat", "openai-responses", "anthropic"
or "gemini". Both use the active backend.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _backend
from ._results import Response
from .limits import check_limits

__all__ = ["WIRES", "StreamDecoder", "collect"]

WIRES = ("openai-chat", "openai-responses", "anthropic", "gemini")


def StreamDecoder(wire: str, **options: Any) -> Any:
    """A decoder for one stream of ``wire``; options: emit_text_deltas, emit_tool_deltas,
    include_raw_chunks, max_line_bytes, max_event_bytes, max_argument_bytes."""
    check_limits(options)
    return _backend.backend.StreamDecoder(wire, **options)


def collect(wire: str, chunks: Iterable[bytes], **limits: Any) -> Response:
    """Fold raw chunks of one ``wire`` stream into its Response."""
    check_limits(limits)
    return _backend.backend.collect(wire, chunks, **limits)
