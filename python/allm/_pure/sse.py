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

from ..errors import StreamError
from ..sse import DEFAULT_LIMIT, ServerSentEvent

__all__ = ["SSEDecoder"]

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_MAX_RETRY = 2**64 - 1


class SSEDecoder:
    """Bytes in, ``ServerSentEvent`` values out; chunks may split anywhere."""

    __slots__ = (
        "_bom_pending",
        "_buf",
        "_data",
        "_data_bytes",
        "_event_retry",
        "_event_type",
        "_has_data",
        "_id_buffer",
        "_skip_lf",
        "last_event_id",
        "max_event_bytes",
        "max_line_bytes",
        "retry",
    )

    def __init__(
        self,
        *,
        max_line_bytes: int | None = DEFAULT_LIMIT,
        max_event_bytes: int | None = DEFAULT_LIMIT,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self.last_event_id = ""
        self.retry: int | None = None
        self._buf = b""
        self._bom_pending = True
        self._skip_lf = False
        self._data: list[bytes] = []
        self._data_bytes = -1  # byte length of the data it would dispatch (-1: none yet)
        self._has_data = False
        self._event_type = b""
        self._id_buffer = ""
        self._event_retry: int | None = None

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode one chunk; returns the events it completed.

        Raises ``StreamError("limit_exceeded")`` when a line or event breaks a limit.
        """
        out: list[ServerSentEvent] = []
        error = self._feed(data, out)
        if error is not None:
            raise error
        return out

    def close(self) -> list[ServerSentEvent]:
        """End of stream: an unterminated event is discarded; always ``[]``."""
        self._buf = b""
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
        buf = self._buf + data if self._buf else bytes(data)
        if self._bom_pending:
            if len(buf) < 3 and _BOM.startswith(buf):
                self._buf = buf
                return None
            self._bom_pending = False
            if buf.startswith(_BOM):
                buf = buf[3:]
        if b"\r" in buf:
            lines = _LINE_END.split(buf)
            if buf[-1] == 0x0D:
                self._skip_lf = True
        else:
            lines = buf.split(b"\n")
        rest = lines.pop()
        self._buf = rest
        max_line = self.max_line_bytes
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
                if self.max_event_bytes is not None and size > self.max_event_bytes:
                    return StreamError(
                        "limit_exceeded", f"SSE event exceeds max_event_bytes ({self.max_event_bytes})"
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
                number = int(value)
                if number <= _MAX_RETRY:
                    self.retry = number
                    self._event_retry = number
        if max_line is not None and len(rest) > max_line:
            return StreamError("limit_exceeded", f"SSE line exceeds max_line_bytes ({max_line})")
        return None

    def _dispatch(self, out: list[ServerSentEvent]) -> None:
        self.last_event_id = self._id_buffer
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
