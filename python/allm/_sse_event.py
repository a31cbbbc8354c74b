"""``ServerSentEvent``, the value both SSE decoders build (re-exported by :mod:`allm.sse`).

A leaf module: the backends import it without importing :mod:`allm.sse`,
which itself picks the active backend's decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerSentEvent"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type, data, the last event id and retry (immutable)."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


ServerSentEvent.__module__ = "allm.sse"
