"""EventStream and AsyncEventStream: what ``stream_generate`` returns.

A stream is an iterator over normalized events and a context manager that
closes the underlying call. Nothing is sent until the first event is pulled.
Every batch the source yields goes through one :class:`~allm._event_path.EventPath`
(stamp, ``on_event``, filters) and nothing else. ``get_final_response()``
consumes the rest and returns the source's fold, stamped with the request id:
the same value ``generate`` returns.

Resources are released exactly once by one mechanism, the stream's batch
iterator (``_Batches`` / ``_AsyncBatches``): on exhaustion, on ``close()``, on
leaving a ``with`` block, on an exception while iterating, or when it is
garbage collected. It holds no reference to the stream, so a ``for`` loop that
outlives the stream object still releases the call when it ends or is dropped.

Thread safety: a stream is consumed by one thread (or one task) at a time.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from dataclasses import replace
from functools import partial
from itertools import chain
from types import TracebackType

from ._call_telemetry import CallTrace
from ._event_path import EventPath, stamp
from ._options import StreamOptions
from ._request import Request
from ._results import Response
from ._source import AsyncSource, Source
from ._spans import Span
from .events import Event

__all__ = ["AsyncEventStream", "EventStream"]

_Path = Callable[[list[Event]], list[Event]]


def _raw_path(options: StreamOptions) -> EventPath:
    """The path of ``_raw_batches``: stamping only (every event passes, no observer)."""
    return EventPath(
        StreamOptions(
            emit_text_deltas=True,
            emit_tool_deltas=True,
            include_raw_chunks=True,
            request_id=options.request_id,
        )
    )


class _Tracing:
    """The model call's telemetry as the batch iterators see it (a no-op without a trace)."""

    __slots__ = ("_final", "_trace", "completed")

    def __init__(self, trace: CallTrace | None, final: Callable[[], Response]) -> None:
        self._trace = trace
        self._final = final
        self.completed = False

    def begin(self, request_id: str, *, streaming: bool) -> None:
        if self._trace is not None:
            self._trace.begin(request_id, streaming=streaming)

    def observe(self, batch: list[Event]) -> list[Event]:
        if self._trace is not None:
            self._trace.observe(batch)
        return batch

    def end(self) -> None:
        """Finish with the Response when the call completed, else abandon (once)."""
        trace, self._trace = self._trace, None
        if trace is not None:
            trace.end(self._final() if self.completed else None)


class _Batches:
    """The source's batches through one path; owns the release of the source."""

    __slots__ = ("_inner", "_request_id", "_source", "_tracing", "done", "path", "quiet")

    def __init__(self, source: Source, path: _Path, quiet: bool, request_id: str, tracing: _Tracing) -> None:
        self._source = source
        self._inner: Generator[list[Event], None, None] | None = None
        self._request_id = request_id
        self._tracing = tracing
        self.path = path
        self.quiet = quiet  # no observer: an untouched source may drain without building events
        self.done = False

    def __iter__(self) -> _Batches:
        return self

    def __next__(self) -> list[Event]:
        if self._inner is None:
            if self.done:
                raise StopIteration
            self._tracing.begin(self._request_id, streaming=True)
            self._inner = self._source.batches()
        try:
            return self.path(self._tracing.observe(next(self._inner)))
        except StopIteration:
            self._tracing.completed = True
            self.close()
            raise
        except BaseException:
            self.close()
            raise

    def drain(self) -> None:
        """Consume the rest (quietly when nothing was pulled and nobody observes), then release."""
        try:
            if self._inner is None and self.quiet and not self.done:
                self._tracing.begin(self._request_id, streaming=False)
                self._source.drain()
                self._tracing.completed = True
            else:
                for _ in self:
                    pass
        finally:
            self.close()

    def close(self) -> None:
        """Stop the source's batches and release the call (idempotent)."""
        if not self.done:
            self.done = True
            try:
                if self._inner is not None:
                    self._inner.close()
            finally:
                self._source.close()
                self._tracing.end()

    def __del__(self) -> None:
        if hasattr(self, "done"):
            self.close()


class _AsyncBatches:
    """Async mirror of :class:`_Batches`."""

    __slots__ = ("_inner", "_request_id", "_source", "_tracing", "done", "path", "quiet")

    def __init__(
        self, source: AsyncSource, path: _Path, quiet: bool, request_id: str, tracing: _Tracing
    ) -> None:
        self._source = source
        self._inner: AsyncGenerator[list[Event], None] | None = None
        self._request_id = request_id
        self._tracing = tracing
        self.path = path
        self.quiet = quiet
        self.done = False

    def __aiter__(self) -> _AsyncBatches:
        return self

    async def __anext__(self) -> list[Event]:
        if self._inner is None:
            if self.done:
                raise StopAsyncIteration
            self._tracing.begin(self._request_id, streaming=True)
            self._inner = self._source.batches()
        try:
            return self.path(self._tracing.observe(await self._inner.__anext__()))
        except StopAsyncIteration:
            self._tracing.completed = True
            await self.aclose()
            raise
        except BaseException:
            await self.aclose()
            raise

    async def drain(self) -> None:
        """Consume the rest (quietly when nothing was pulled and nobody observes), then release."""
        try:
            if self._inner is None and self.quiet and not self.done:
                self._tracing.begin(self._request_id, streaming=False)
                await self._source.drain()
                self._tracing.completed = True
            else:
                async for _ in self:
                    pass
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop the source's batches and release the call (idempotent)."""
        if not self.done:
            self.done = True
            try:
                if self._inner is not None:
                    await self._inner.aclose()
            finally:
                await self._source.aclose()
                self._tracing.end()

    def close_now(self) -> None:
        """Release without awaiting (garbage collection; idempotent)."""
        if not self.done:
            self.done = True
            self._source.close_now()
            self._tracing.end()

    def __del__(self) -> None:
        if hasattr(self, "done"):
            self.close_now()


def _final_response(
    fold: Callable[[], Response], request_id: str, request: Request, provider: str | None
) -> Response:
    """The source's fold, stamped with the request id, the model asked for and the provider."""
    response = fold()
    if response.error is not None:
        stamp(response.error, request_id)
    return replace(
        response,
        request_id=request_id,
        model=response.model or request.model,
        provider=response.provider or provider,
    )


class _Common:
    """What both stream flavours share: identity and the final Response."""

    def __init__(
        self,
        source: Source | AsyncSource,
        options: StreamOptions,
        request: Request,
        provider: str | None = None,
        trace: CallTrace | None = None,
    ) -> None:
        self._final = partial(_final_response, source.response, options.request_id, request, provider)
        self._tracing = _Tracing(trace, self._final)
        self._trace = trace
        self._options = options
        self._request = request

    @property
    def request_id(self) -> str:
        """The allm request id of this call."""
        return self._options.request_id

    @property
    def model(self) -> str | None:
        """The model the request asks for."""
        return self._request.model

    def _under(self, parent: Span) -> None:
        """Put the model call's span under ``parent`` (before the first pull; the chat loop's step)."""
        if self._trace is not None:
            self._trace.parent = parent


class EventStream(_Common):
    """A synchronous stream of events for one model call.

    Iterating it walks the events of each network chunk at C speed
    (``itertools.chain`` over per-chunk batches); ``next(stream)`` and ``for``
    share that one iterator.
    """

    def __init__(
        self,
        source: Source,
        options: StreamOptions,
        request: Request,
        provider: str | None = None,
        trace: CallTrace | None = None,
    ) -> None:
        super().__init__(source, options, request, provider, trace)
        self._batches = _Batches(
            source, EventPath(options), options.on_event is None, options.request_id, self._tracing
        )
        self._events: Iterator[Event] = chain.from_iterable(self._batches)

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def _raw_batches(self) -> Iterator[list[Event]]:
        """Every batch of the source, stamped only (for the chat loop, which applies its own path)."""
        self._batches.path = _raw_path(self._options)
        self._batches.quiet = False
        return self._batches

    def get_final_response(self) -> Response:
        """Consume what is left and return the folded Response."""
        self._batches.drain()
        return self._final()

    def close(self) -> None:
        """Release the call's resources (idempotent)."""
        self._batches.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncEventStream(_Common):
    """An asynchronous stream of events for one model call."""

    def __init__(
        self,
        source: AsyncSource,
        options: StreamOptions,
        request: Request,
        provider: str | None = None,
        trace: CallTrace | None = None,
    ) -> None:
        super().__init__(source, options, request, provider, trace)
        self._batches = _AsyncBatches(
            source, EventPath(options), options.on_event is None, options.request_id, self._tracing
        )
        self._pending: list[Event] = []
        self._position = 0

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        while self._position >= len(self._pending):
            self._pending = await self._batches.__anext__()
            self._position = 0
        event = self._pending[self._position]
        self._position += 1
        return event

    def _araw_batches(self) -> _AsyncBatches:
        """Async mirror of :meth:`EventStream._raw_batches`."""
        self._batches.path = _raw_path(self._options)
        self._batches.quiet = False
        return self._batches

    async def get_final_response(self) -> Response:
        """Consume what is left and return the folded Response."""
        self._pending, self._position = [], 0
        await self._batches.drain()
        return self._final()

    async def aclose(self) -> None:
        """Release the call's resources (idempotent)."""
        await self._batches.aclose()

    def _close_now(self) -> None:
        """Release without awaiting (for an owner being garbage collected)."""
        self._batches.close_now()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


EventStream.__module__ = "allm"
AsyncEventStream.__module__ = "allm"
