"""Sans-IO pipelines: raw stream bytes → events (``StreamDecoder``) or a Response (``collect``).

Twin of the native pipeline (docs/internals.md §1, §4, §6). The internal fold
sees every event unfiltered; ``feed``/``close``/``fail`` return the events the
stream options let through.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._boundary import as_chunk
from .._limits import DEFAULT_LIMIT, DEFAULT_RESPONSE_LIMIT, check_limits
from .._results import Response
from .._sse_event import ServerSentEvent
from ..errors import AllmError, StreamError
from ..events import Event
from ._exclusive import Exclusive
from .decoders import make_decoder
from .filter import filter_events
from .fold import Fold
from .sse import SSEDecoder

__all__ = ["StreamDecoder", "collect"]


class StreamDecoder:
    """Bytes of one provider stream in, allm events out, one batch per chunk.

    Not for sharing between threads: a call that overlaps another call on the
    same decoder raises ``StreamError("concurrent_use")`` (as the native one does).
    """

    __slots__ = (
        "_decoder",
        "_fold",
        "_guard",
        "_max_response",
        "_options",
        "_received",
        "_sse",
        "_started",
        "_unfiltered",
    )

    def __init__(
        self,
        wire: str,
        *,
        emit_text_deltas: bool = True,
        emit_tool_deltas: bool = True,
        include_raw_chunks: bool = False,
        max_line_bytes: int | None = DEFAULT_LIMIT,
        max_event_bytes: int | None = DEFAULT_LIMIT,
        max_argument_bytes: int | None = DEFAULT_LIMIT,
        max_response_bytes: int | None = DEFAULT_RESPONSE_LIMIT,
    ) -> None:
        check_limits(
            {
                "max_line_bytes": max_line_bytes,
                "max_event_bytes": max_event_bytes,
                "max_argument_bytes": max_argument_bytes,
                "max_response_bytes": max_response_bytes,
            }
        )
        self._decoder = make_decoder(wire, max_argument_bytes)
        self._sse = SSEDecoder(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        self._fold = Fold()
        self._options = (bool(emit_text_deltas), bool(emit_tool_deltas), bool(include_raw_chunks))
        self._unfiltered = all(self._options)
        self._max_response = max_response_bytes
        self._received = 0
        self._guard = Exclusive("StreamDecoder")
        self._started = False

    @property
    def started(self) -> bool:
        """At least one event was produced."""
        return self._started

    @property
    def done(self) -> bool:
        """A terminal event (``message_completed`` or ``error``) was produced."""
        return self._decoder.done

    # -- producing events ---------------------------------------------------

    def _produce_feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        chunk = as_chunk(data)
        out: list[Event] = []
        decoder = self._decoder
        if decoder.done:
            return out
        over = self._over_response_limit(len(chunk))
        if over is not None:
            chunk = chunk[: len(chunk) - over]  # only the bytes within the limit are decoded
        sse_events: list[ServerSentEvent] = []
        limit_error = self._sse._feed(chunk, sse_events)  # pyright: ignore[reportPrivateUsage]
        for sse in sse_events:
            decoder.event(sse, out)
            if decoder.done:
                return self._folded(out)
        if limit_error is None and over is not None:
            limit_error = StreamError(
                "limit_exceeded", f"response exceeds max_response_bytes ({self._max_response})"
            )
        if limit_error is not None:
            decoder.fail(limit_error, out)
        return self._folded(out)

    def _over_response_limit(self, size: int) -> int | None:
        """Count ``size`` more bytes; how many of them break ``max_response_bytes`` (None: none)."""
        self._received += size
        limit = self._max_response
        if limit is None or self._received <= limit:
            return None
        return min(size, self._received - limit)

    def _produce_close(self) -> list[Event]:
        out: list[Event] = []
        if not self._decoder.done:
            self._sse.close()
            self._decoder.close(out)
        return self._folded(out)

    def _produce_fail(self, error: AllmError) -> list[Event]:
        out: list[Event] = []
        if not self._decoder.done:
            self._decoder.fail(error, out)
        return self._folded(out)

    def _folded(self, out: list[Event]) -> list[Event]:
        if out:
            self._started = True
            self._fold.apply_many(out)
        return out

    def _filtered(self, events: list[Event]) -> list[Event]:
        if self._unfiltered or not events:
            return events
        return filter_events(events, *self._options)

    # -- the contract -----------------------------------------------------

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Event]:
        """Decode one network chunk; returns its events after filtering."""
        with self._guard:
            return self._filtered(self._produce_feed(chunk))

    def close(self) -> list[Event]:
        """End of body; a stream without its terminal event ends in ``incomplete``."""
        with self._guard:
            return self._filtered(self._produce_close())

    def fail(self, error: AllmError) -> list[Event]:
        """A transport failure: the usage so far (if any) and ``ErrorEvent(error)``, unless done."""
        with self._guard:
            return self._filtered(self._produce_fail(error))

    def feed_quiet(self, chunk: bytes | bytearray | memoryview) -> int:
        """Like ``feed`` but only folds; returns how many events were produced."""
        with self._guard:
            return len(self._produce_feed(chunk))

    def close_quiet(self) -> int:
        """Like ``close`` but only folds; returns how many events were produced."""
        with self._guard:
            return len(self._produce_close())

    def fail_quiet(self, error: AllmError) -> int:
        """Like ``fail`` but only folds; returns how many events were produced."""
        with self._guard:
            return len(self._produce_fail(error))

    def response(self) -> Response:
        """The fold of every event so far (unfiltered)."""
        with self._guard:
            return self._fold.response()


def collect(
    wire: str,
    chunks: Iterable[bytes | bytearray | memoryview],
    *,
    max_line_bytes: int | None = DEFAULT_LIMIT,
    max_event_bytes: int | None = DEFAULT_LIMIT,
    max_argument_bytes: int | None = DEFAULT_LIMIT,
    max_response_bytes: int | None = DEFAULT_RESPONSE_LIMIT,
) -> Response:
    """Fold a whole stream of raw network chunks into its Response."""
    decoder = StreamDecoder(
        wire,
        max_line_bytes=max_line_bytes,
        max_event_bytes=max_event_bytes,
        max_argument_bytes=max_argument_bytes,
        max_response_bytes=max_response_bytes,
    )
    for chunk in chunks:
        if decoder.feed_quiet(chunk) and decoder.done:
            break
    decoder.close_quiet()
    return decoder.response()
