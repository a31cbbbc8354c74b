"""EventStream and AsyncEventStream: what ``stream_generate`` returns.

A stream is an iterator over normalized events and a context manager that
closes the underlying call. Nothing is sent until the first event is pulled.
Resources are released exactly once: on exhaustion, on ``close()``, on leaving
a ``with`` block, on an exception while iterating, or on garbage collection.
``get_final_response()`` consumes the rest and returns the folded Response,
the same value ``generate`` returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from types import TracebackType
from typing import Any

from . import _backend
from .events import Event
from .options import StreamOptions
from .providers.base import AsyncSource, Filters, Source
from .request import Request
from .results import Response

__all__ = ["AsyncEventStream", "EventStream"]


class _Common:
    """What both stream flavours share: option handling and the final Response."""

    _source: Source | AsyncSource

    def __init__(self, source: Source | AsyncSource, options: StreamOptions, request: Request) -> None:
        self._source = source
        self._options = options
        self._request = request
        self._pending: list[Event] = []
        self._position = 0
        self._closed = False

    @property
    def request_id(self) -> str:
        """The allm request id of this call."""
        return self._options.request_id

    @property
    def model(self) -> str | None:
        """The model the request asks for."""
        return self._request.model

    def _source_filters(self) -> Filters | None:
        # With an observer the source must yield every event; we filter after it has seen them.
        return None if self._options.on_event is not None else self._options.filters

    def _observe(self, batch: list[Event]) -> list[Event]:
        options = self._options
        if batch and batch[-1].type == "error":  # an error is terminal, so always last
            _stamp(batch[-1].error, options.request_id)
        if options.on_event is not None:
            for event in batch:
                options.on_event(event)
            if not options.passes_everything:
                batch = _backend.backend.filter_events(batch, *options.filters)
        return batch

    def _final(self) -> Response:
        response = self._source.response()
        if response.error is not None:
            _stamp(response.error, self._options.request_id)
        return replace(
            response, request_id=self._options.request_id, model=response.model or self._request.model
        )


def _stamp(error: Any, request_id: str) -> None:
    error.metadata.setdefault("request_id", request_id)


class EventStream(_Common):
    """A synchronous stream of events for one model call."""

    _source: Source

    def __init__(self, source: Source, options: StreamOptions, request: Request) -> None:
        super().__init__(source, options, request)
        self._batches: Iterator[list[Event]] | None = None

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> Event:
        while self._position >= len(self._pending):
            if self._closed:
                raise StopIteration
            if self._batches is None:
                self._batches = self._source.batches(self._source_filters())
            try:
                batch = next(self._batches)
            except BaseException:  # exhaustion (StopIteration) included
                self.close()
                raise
            self._pending = self._observe(batch)
            self._position = 0
        event = self._pending[self._position]
        self._position += 1
        return event

    def get_final_response(self) -> Response:
        """Consume what is left and return the folded Response."""
        self._pending, self._position = [], 0
        try:
            if not self._closed:
                if self._options.on_event is not None:
                    for _ in self:
                        pass
                elif self._batches is None:
                    self._source.drain()
                else:
                    for _ in self._batches:
                        pass
        finally:
            self.close()
        return self._final()

    def close(self) -> None:
        """Release the call's resources (idempotent)."""
        if not self._closed:
            self._closed = True
            if self._batches is not None and hasattr(self._batches, "close"):
                self._batches.close()  # type: ignore[attr-defined]
            self._source.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()


class AsyncEventStream(_Common):
    """An asynchronous stream of events for one model call."""

    _source: AsyncSource

    def __init__(self, source: AsyncSource, options: StreamOptions, request: Request) -> None:
        super().__init__(source, options, request)
        self._batches: AsyncIterator[list[Event]] | None = None

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
