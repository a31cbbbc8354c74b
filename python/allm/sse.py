"""Server-sent events: the decoded value and the incremental decoder.

``SSEDecoder`` follows the WHATWG "server-sent events" parsing rules: bytes
may be split anywhere, lines end at CRLF, LF or a lone CR, one leading BOM is
dropped, invalid UTF-8 becomes U+FFFD. It is the active backend's decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEDecoder", "ServerSentEvent", "DEFAULT_LIMIT"]

DEFAULT_LIMIT = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type, data, the last event id and retry."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None




def __getattr__(name: str) -> object:
    # Resolved lazily: the backends import this module to build ServerSentEvents.
    if name == "SSEDecoder":
        from . import _backend

        return _backend.backend.SSEDecoder
    raise AttributeError(f"module 'allm.sse' has no attribute {name!r}")
