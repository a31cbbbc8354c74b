"""Server-sent events: the decoded value and the incremental decoder.

``SSEDecoder`` follows the WHATWG "server-sent events" parsing rules: bytes
may be split anywhere, lines end at CRLF, LF or a lone CR, one leading BOM is
dropped, invalid UTF-8 becomes U+FFFD. It is the active backend's decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_LIMIT", "SSEDecoder", "ServerSentEvent"]

DEFAULT_LIMIT = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event: its type, data, the last event id and retry."""

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


def SSEDecoder(**limits: Any) -> Any:
    """An incremental decoder of the active backend (``max_line_bytes``, ``max_event_bytes``)."""
    from . import _backend
    from .limits import check_limits

    check_limits(limits)
    return _backend.backend.SSEDecoder(**limits)
