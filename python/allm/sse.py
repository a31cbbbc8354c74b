"""Server-sent events: the decoded value and the incremental decoder.

``SSEDecoder`` follows the WHATWG "server-sent events" parsing rules: bytes
may be split anywhere, lines end at CRLF, LF or a lone CR, one leading BOM is
dropped, invalid UTF-8 becomes U+FFFD. It is the class of the backend chosen
at import (``allm._native.SSEDecoder`` or its pure-Python twin); type
checkers see the twin, whose interface is the same.

Thread safety: one decoder holds the state of one stream. Use it from one
thread at a time; a call that overlaps another call on the same decoder
(from a second thread, or re-entrantly) raises ``StreamError("concurrent_use")``
on both backends instead of corrupting the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._limits import DEFAULT_LIMIT
from ._sse_event import ServerSentEvent

if TYPE_CHECKING:
    from ._pure.sse import SSEDecoder as SSEDecoder
else:

    def __getattr__(name: str) -> object:
        # Resolved on first use, not at import: the pure twin's decoders import
        # ServerSentEvent from this module while the backend is being loaded.
        if name == "SSEDecoder":
            from ._backend import backend

            return backend.SSEDecoder
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_LIMIT", "SSEDecoder", "ServerSentEvent"]
