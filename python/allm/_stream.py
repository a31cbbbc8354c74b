"""EventStream and AsyncEventStream: what ``stream_generate`` returns.

A stream is an iterator over normalized events and a context manager that
closes the underlying call. Nothing is sent until the first event is pulled.
Resources are released exactly once: on exhaustion, on ``close()``, on leaving
a ``with`` block, on an exception while iterating, or on garbage collection.
``get_final_response()`` consumes the rest and returns the folded Response,
the same value ``generate`` returns.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from dataclasses import replace
from itertools import chain
from types import TracebackType
from typing import Any

from . import _backend
from ._options import StreamOptions
from ._request import Request
from ._results import Response
from .events import ErrorEvent, Event
from .providers.base import AsyncSource, Filters, Source

__all__ = ["AsyncEventStream", "EventStream"]


class _Common:
    """What both stream flavours share: option handling and the final Response."""

    _source: Source | AsyncSource

    def __init__(self, source: Source | AsyncSource, options: StreamOptions, request: Request) -> None:
        self._source = source
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

    def _source_filters(self) -> Filters | None:
        return _source_filters(self._options)

    def _observe(self, batch: list[Event]) -> list[Event]:
        return _observe(batch, self._options)

    def _final(self) -> Response:
        response = self._source.response()
        if response.error is not None:
            _stamp(response.error, self._options.request_id)
        return replace(
            response, request_id=self._options.request_id, model=response.model or self._request.model
        )


def _source_filters(options: StreamOptions) -> Filters | None:
    # With an observer the source must yield every event; we filter after it has seen them.
    return None if options.on_event is not None else options.filters


def _observe(batch: list[Event], options: StreamOptions) -> list[Event]:
    """Stamp a terminal error with the request id, show the batch to on_event, then filter it."""
    if batch and batch[-1].type == "error":  # an error is terminal, so always last
        _stamp(batch[-1].error, options.request_id)
    if options.on_event is not None:
        for event in batch:
            options.on_event(event)
        if not options.passes_everything:
            batch = _backend.backend.filter_events(batch, *options.filters)
    return batch


def _stamp(error: Any, request_id: str) -> None:
    error.metadata.setdefault("request_id", request_id)


class _Release:
    """Closes a source exactly once, whoever asks first."""

    __slots__ = ("done", "source")

    def __init__(self, source: Source) -> None:
        self.source = source
        self.done = False

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self.source.close()


class _Batches:
    """The source's batches as the consumer sees them; releases the source when they
    end, fail, are closed, or are dropped.

    It holds no reference to the stream: a ``for`` loop keeps only this object
    (inside its ``chain``), so leaving the loop early drops it and releases the
    call at once, even when the stream object itself is long gone.
    """

    __slots__ = ("_inner", "_options", "_release")

    def __init__(self, source: Source, options: StreamOptions, release: _Release) -> None:
        self._inner = source.batches(_source_filters(options))
        self._options = options
        self._release = release

    def __iter__(self) -> _Batches:
        return self

    def __next__(self) -> list[Event]:
        try:
            return _observe(next(self._inner), self._options)
        except BaseException:  # exhaustion (StopIteration) included
            self.close()
            raise

    def close(self) -> None:
        """Stop the source's batches and release the call (idempotent)."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
        self._release()

    def __del__(self) -> None:
        if hasattr(self, "_release"):
            self.close()


class EventStream(_Common):
    """A synchronous stream of events for one model call.

    Iterating it walks the events of each network chunk at C speed
    (``itertools.chain`` over per-chunk batches); ``next(stream)`` and ``for``
    share that one iterator.
    """

    _source: Source

    def __init__(self, source: Source, options: StreamOptions, request: Request) -> None:
        super().__init__(source, options, request)
        self._release = _Release(source)
        self._batches: _Batches | None = None
        self._events: Iterator[Event] | None = None

    def _iterator(self) -> Iterator[Event]:
        if self._events is None:
            if self._release.done:
                return iter(())
            self._batches = _Batches(self._source, self._options, self._release)
            self._events = chain.from_iterable(self._batches)
        return self._events

    def __iter__(self) -> Iterator[Event]:
        return self._iterator()

    def __next__(self) -> Event:
        return next(self._iterator())

    def _raw_batches(self) -> Generator[list[Event], None, None]:
        """The call's per-chunk batches, every event, a terminal error stamped (for the chat loop)."""
        try:
            if not self._release.done:
                for batch in self._source.batches(None):
                    if batch and isinstance(batch[-1], ErrorEvent):
                        _stamp(batch[-1].error, self._options.request_id)
                    yield batch
        finally:
            self.close()

    def get_final_response(self) -> Response:
        """Consume what is left and return the folded Response."""
        try:
            if not self._release.done:
                if self._batches is not None:
                    for _ in self._batches:
                        pass
                elif self._options.on_event is not None:
                    for _ in self._iterator():
                        pass
                else:
                    self._source.drain()
        finally:
            self.close()
        return self._final()

    def close(self) -> None:
        """Release the call's resources (idempotent)."""
        if self._batches is not None:
            self._batches.close()
        self._release()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # Once iterated, the _Batches object owns the release: a for loop may still
        # hold it after this object is gone.
        release = getattr(self, "_release", None)
        if release is not None and getattr(self, "_batches", None) is None:
            release()


class AsyncEventStream(_Common):
    """An asynchronous stream of events for one model call."""

    _source: AsyncSource

    def __init__(self, source: AsyncSource, options: StreamOptions, request: Request) -> None:
        super().__init__(source, options, request)
        self._batches: AsyncIterator[list[Event]] | None = None
        self._pending: list[Event] = []
        self._position = 0
        self._closed = False

    def __aiter__(self) -> AsyncEventStream:
        return self

    async def __anext__(self) -> Event:
        while self._position >= len(self._pending):
            if self._closed:
                raise StopAsyncIteration
            if self._batches is None:
                self._batches = self._source.batches(self._source_filters())
            try:
                batch = await self._batches.__anext__()
            except BaseException:
                await self.aclose()
                raise
            self._pending = self._observe(batch)
            self._position = 0
        event = self._pending[self._position]
        self._position += 1
        return event

    async def _araw_batches(self) -> AsyncGenerator[list[Event], None]:
        """Async twin of :meth:`EventStream._raw_batches`."""
        try:
            if not self._closed:
                async for batch in self._source.batches(None):
                    if batch and isinstance(batch[-1], ErrorEvent):
                        _stamp(batch[-1].error, self._options.request_id)
                    yield batch
        finally:
            await self.aclose()

    async def get_final_response(self) -> Response:
        """Consume what is left and return the folded Response."""
        self._pending, self._position = [], 0
        try:
            if not self._closed:
                if self._options.on_event is not None:
                    async for _ in self:
                        pass
                elif self._batches is None:
                    await self._source.drain()
                else:
                    async for _ in self._batches:
                        pass
        finally:
            await self.aclose()
        return self._final()

    async def aclose(self) -> None:
        """Release the call's resources (idempotent)."""
        if not self._closed:
            self._closed = True
            if self._batches is not None and hasattr(self._batches, "aclose"):
                await self._batches.aclose()  # type: ignore[attr-defined]
            await self._source.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._source.close_now()
