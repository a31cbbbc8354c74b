"""Thin sync and async drivers of :class:`~._attempts.Attempts` over httpx.

One :class:`HttpSource` / :class:`AsyncHttpSource` is one model call. Nothing
is sent until the first batch is pulled. The drivers send requests, read
chunks, release responses and sleep between attempts; every decision is the
state machine's. Both have the same shape (see :mod:`._attempts`). They differ
where the I/O does, and only there:

* idle time: the sync driver relies on the socket read timeout
  (``min(read, idle_timeout)``) plus the state's check after each chunk that
  carried no event (so pings are caught at the first ping past the deadline);
  the async driver keeps one deadline per stream (:class:`_IdleWatch`, a timer
  that re-arms itself from the last-event timestamp), because asyncio can
  interrupt a pending read and a socket timeout cannot see pings;
* release: the async driver also closes its ``aiter_bytes`` iterator on every
  exit path, and a garbage-collected async source schedules the close on its
  loop (``close_now``), since nothing can be awaited there.

A response whose body was read to its end goes back to the connection pool;
anything else (an early close, a failure, a tail past the limit) closes the
connection. Async sources need asyncio (not trio).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any, ClassVar, cast

import httpx

from .._results import Response
from .._source import AsyncSource, Source
from ..events import Event
from ._attempts import Attempts
from ._clients import Clients

__all__ = ["AsyncHttpSource", "HttpSource"]

_log = logging.getLogger("allm.http")


class HttpSource(Source):
    """A synchronous provider call over httpx."""

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._clients = clients
        self._state = state
        self._response: httpx.Response | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"HttpSource({self._state!r})"

    def batches(self) -> Generator[list[Event], None, None]:
        return self._run()

    def drain(self) -> None:
        self._state.quiet = True
        for _ in self._run():
            pass

    def response(self) -> Response:
        return self._state.response()

    def close(self) -> None:
        self._started = True  # a source closed before its first pull never sends
        self._release()

    def _run(self) -> Generator[list[Event], None, None]:
        if self._started:
            return
        self._started = True
        state = self._state
        try:
            while state.begin():
                batch, chunks = self._send(state)
                while True:
                    if batch:
                        yield batch
                    if not state.reading:
                        break
                    try:
                        batch = state.chunk(next(chunks))
                    except StopIteration:
                        batch = state.ended()
                    except Exception as exc:
                        batch = state.failed(exc)
                self._release()
                if state.delay is not None:
                    time.sleep(state.delay)
        finally:
            self._release()

    def _send(self, state: Attempts) -> tuple[list[Event], Iterator[bytes]]:
        client = self._clients.sync_client()
        try:
            self._response = response = client.send(
                state.build_request(client), stream=True, follow_redirects=False
            )
        except Exception as exc:
            return state.send_failed(exc), iter(())
        state.opened(response)
        return [], response.iter_bytes()

    def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            try:
                response.close()
            except Exception:
                _log.debug("closing the %s response failed", self._state.config.provider, exc_info=False)


class AsyncHttpSource(AsyncSource):
    """An asynchronous provider call over httpx (asyncio)."""

    _pending_closes: ClassVar[set[asyncio.Task[Any]]] = set()

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._clients = clients
        self._state = state
        self._response: httpx.Response | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False

    def __repr__(self) -> str:
        return f"AsyncHttpSource({self._state!r})"

    def batches(self) -> AsyncGenerator[list[Event], None]:
        return self._run()

    async def drain(self) -> None:
        self._state.quiet = True
        async for _ in self._run():
            pass

    def response(self) -> Response:
        return self._state.response()

    async def aclose(self) -> None:
        self._started = True
        await self._release()

    def close_now(self) -> None:
        self._started = True
        response, self._response = self._response, None
        loop = self._loop
        if response is None or loop is None or loop.is_closed():
            return

        def schedule() -> None:
            task = loop.create_task(_aclose_quietly(response))
            AsyncHttpSource._pending_closes.add(task)
            task.add_done_callback(AsyncHttpSource._pending_closes.discard)

        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(schedule)

    async def _run(self) -> AsyncGenerator[list[Event], None]:
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        state = self._state
        watch = _IdleWatch(state)
        try:
            while state.begin():
                batch, chunks = await self._send(state)
                try:
                    while True:
                        if batch:
                            yield batch
                        if not state.reading or chunks is None:
                            break
                        try:
                            batch = state.chunk(await watch.read(chunks))
                        except StopAsyncIteration:
                            batch = state.ended()
                        except _IdleExpired:
                            batch = state.idle_expired()
                        except Exception as exc:
                            batch = state.failed(exc)
                finally:
                    if chunks is not None:
                        await chunks.aclose()
                await self._release()
                if state.delay is not None:
                    await asyncio.sleep(state.delay)
        finally:
            watch.stop()
            await self._release()

    async def _send(self, state: Attempts) -> tuple[list[Event], AsyncGenerator[bytes, None] | None]:
        client = self._clients.async_client()
        try:
            self._response = response = await client.send(
                state.build_request(client), stream=True, follow_redirects=False
            )
        except Exception as exc:
            return state.send_failed(exc), None
        state.opened(response)
        # aiter_bytes is an async generator (typed as an iterator): it has aclose().
        return [], cast("AsyncGenerator[bytes, None]", response.aiter_bytes())

    async def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            await _aclose_quietly(response)


class _IdleExpired(Exception):
    """The stream's idle deadline passed during a read."""


class _IdleWatch:
    """One idle deadline per async stream.

    A single timer, armed at the first read, fires at the state's deadline
    (last real event + ``idle_timeout``). If an event arrived meanwhile it
    re-arms itself for the new deadline (a timestamp check); if not, and a
    read is pending, it cancels that read, which :meth:`read` turns into
    :class:`_IdleExpired`. A cancellation from anyone else passes through.
    """

    __slots__ = ("_baseline", "_expired", "_handle", "_reading", "_state", "_task")

    def __init__(self, state: Attempts) -> None:
        self._state = state
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._reading = False
        self._expired = False
        self._baseline = 0

    async def read(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The next chunk; :class:`_IdleExpired` when the deadline passes first."""
        if self._handle is None:
            self._arm()
        self._task = asyncio.current_task()
        self._reading = True
        try:
            return await chunks.__anext__()
        except asyncio.CancelledError:
            if self._expired and _only_our_cancel(self._task, self._baseline):
                self._expired = False
                raise _IdleExpired from None
            raise
        finally:
            self._reading = False

    def _arm(self) -> None:
        left = self._state.idle_left()
        if left is not None:
            self._handle = asyncio.get_running_loop().call_later(left, self._check)

    def _check(self) -> None:
        self._handle = None
        left = self._state.idle_left()
        if left is None:
            return
        if left > 0:
            self._handle = asyncio.get_running_loop().call_later(left, self._check)
        elif self._reading and self._task is not None:
            self._expired = True
            if sys.version_info >= (3, 11):
                self._baseline = self._task.cancelling()
            self._task.cancel()
        # else: no read is pending; the next read re-arms (and expires at once if still idle)

    def stop(self) -> None:
        """Cancel the timer (end of the stream)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _only_our_cancel(task: asyncio.Task[Any] | None, baseline: int) -> bool:
    """Whether the pending cancellation was only the idle watch's (3.11+ counts them; 3.10 cannot)."""
    if sys.version_info >= (3, 11) and task is not None:
        return task.uncancel() <= baseline
    return True


async def _aclose_quietly(response: httpx.Response) -> None:
    with contextlib.suppress(Exception):
        await response.aclose()
