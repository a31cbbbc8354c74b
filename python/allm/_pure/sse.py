"""Incremental server-sent events decoding (WHATWG rules), in Python.

Twin of the native ``SSEDecoder``; see docs/internals.md §1 and §6.1. The
decoder works on raw bytes: lines are split on the whole buffer at once
(``bytes.split`` or one regex), field names are compared as bytes, and only
field values are decoded (UTF-8 with U+FFFD replacement). Line terminators,
``:`` and the space are ASCII, so decoding per value equals decoding the whole
stream.
"""

from __future__ import annotations

import re

from .._boundary import as_chunk
from .._limits import DEFAULT_LIMIT, SSE_LIMIT_OPTIONS, check_limits
from .._sse_event import ServerSentEvent
from ..errors import StreamError
from ._exclusive import Exclusive

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_MAX_RETRY = 2**64 - 1
_MAX_RETRY_DIGITS = len(str(_MAX_RETRY))


class SSEDecoder:
    """Bytes in, ``ServerSentEvent`` values out; chunks may split anywhere.

    Not for sharing between threads: a ``feed`` that overlaps another call on
    the same decoder raises ``StreamError("concurrent_use")``.
    """

    __slots__ = (
        "_bom_pending",
        "_data",
        "_data_bytes",
        "_event_retry",
        "_event_type",
        "_guard",
        "_has_data",
        "_id_buffer",
        "_last_event_id",
        "_max_event",
        "_max_line",
        "_pending",
        "_pending_bytes",
        "_retry",
        "_skip_lf",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_LIMIT,
        max_event_bytes: int | None = DEFAULT_LIMIT,
    ) -> None:
        check_limits(
            {"max_line_bytes": max_line_bytes, "max_event_bytes": max_event_bytes}, SSE_LIMIT_OPTIONS
        )
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        self._last_event_id = ""
        self._retry: int | None = None
        self._guard = Exclusive("SSEDecoder")
        self._pending: list[bytes] = []  # the partial line, in pieces (joined once it ends)
        self._pending_bytes = 0
        self._bom_pending = True
        self._skip_lf = False
        self._data: list[bytes] = []
        self._data_bytes = -1  # byte length of the data it would dispatch (-1: none yet)
        self._has_data = False
        self._event_type = b""
        self._id_buffer = ""
        self._event_retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event id (updated at each blank line)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The last valid ``retry`` field, if any."""
        return self._retry

    def feed(self, data: bytes | bytearray | memoryview) -> list[ServerSentEvent]:
        """Decode one chunk; returns the events it completed.

        Raises ``StreamError("limit_exceeded")`` when a line or event breaks a limit.
        """
        out: list[ServerSentEvent] = []
        with self._guard:
            error = self._feed(as_chunk(data), out)
        if error is not None:
            raise error
        return out

    def close(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated event is discarded; always ``[]``."""
        with self._guard:
            self._pending = []
            self._pending_bytes = 0
            self._skip_lf = False
            self._reset_event()
        return []

    # -- internals -------------------------------------------------------

    def _feed(self, data: bytes, out: list[ServerSentEvent]) -> StreamError | None:
        """Append the events ``data`` completes to ``out``; return a limit error instead of raising.

        Events dispatched before the breaching line stay in ``out`` (the pipeline
        decodes them before reporting the error).
        """
        if not data:
            return None
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return None
        if self._bom_pending:
            data = self._take_pending() + data  # fewer than three bytes were held
            if len(data) < 3 and _BOM.startswith(data):
                self._hold(data)
                return None
            self._bom_pending = False
            if data.startswith(_BOM):
                data = data[3:]
        if b"\n" not in data and b"\r" not in data:
            # No line ends here: the partial line grows without re-copying it.
            self._hold(data)
            return self._line_error(self._pending_bytes)
        if self._pending:
            self._pending.append(data)
            buf = self._take_pending()  # one copy of the whole line
        else:
            buf = data
        if b"\r" in buf:
            lines = _LINE_END.split(buf)
            if buf[-1] == 0x0D:
                self._skip_lf = True
        else:
            lines = buf.split(b"\n")
        rest = lines.pop()
        self._hold(rest)
        max_line = self._max_line
        for line in lines:
            if max_line is not None and len(line) > max_line:
                return StreamError("limit_exceeded", f"SSE line exceeds max_line_bytes ({max_line})")
            if not line:
                self._dispatch(out)
                continue
            if line[0] == 0x3A:  # ":" comment
                continue
            colon = line.find(b":")
            if colon < 0:
                name, value = line, b""
            else:
                name = line[:colon]
                start = colon + 1
                if line[start : start + 1] == b" ":
                    start += 1
                value = line[start:]
            if name == b"data":
                size = self._data_bytes + 1 + len(value)
                if self._max_event is not None and size > self._max_event:
                    return StreamError(
                        "limit_exceeded", f"SSE event exceeds max_event_bytes ({self._max_event})"
                    )
                self._data_bytes = size
                self._data.append(value)
                self._has_data = True
            elif name == b"event":
                self._event_type = value
            elif name == b"id":
                if b"\x00" not in value:
                    self._id_buffer = value.decode("utf-8", "replace")
            elif name == b"retry" and value and value.isdigit() and value.isascii():
                self._set_retry(value)
        return self._line_error(len(rest))

    def _hold(self, piece: bytes) -> None:
        """Append ``piece`` to the partial line."""
        if piece:
            self._pending.append(piece)
            self._pending_bytes += len(piece)

    def _take_pending(self) -> bytes:
        """The partial line as one bytes object (emptied)."""
        pending = self._pending
        joined = pending[0] if len(pending) == 1 else b"".join(pending)
        self._pending = []
        self._pending_bytes = 0
        return joined

    def _line_error(self, size: int) -> StreamError | None:
        max_line = self._max_line
        if max_line is not None and size > max_line:
            return StreamError("limit_exceeded", f"SSE line exceeds max_line_bytes ({max_line})")
        return None

    def _set_retry(self, digits: bytes) -> None:
        """A valid ``retry`` value (at most 2**64-1; leading zeros allowed) sets retry."""
        significant = digits.lstrip(b"0")
        if len(significant) > _MAX_RETRY_DIGITS:
            return  # too big to be valid, and too long for int() to parse
        number = int(significant or b"0")
        if number <= _MAX_RETRY:
            self._retry = number
            self._event_retry = number

    def _dispatch(self, out: list[ServerSentEvent]) -> None:
        self._last_event_id = self._id_buffer
        if self._has_data:
            data = self._data
            text = (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")
            event_type = self._event_type.decode("utf-8", "replace") if self._event_type else "message"
            out.append(ServerSentEvent(event_type, text, self._id_buffer, self._event_retry))
        self._reset_event()

    def _reset_event(self) -> None:
        self._data = []
        self._data_bytes = -1
        self._has_data = False
        self._event_type = b""
        self._event_retry = None
