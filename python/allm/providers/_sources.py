"""Thin sync and async drivers of :class:`~._attempts.Attempts`, over either transport.

One :class:`HttpSource` / :class:`AsyncHttpSource` is one model call. Nothing
is sent until the first batch is pulled. The sources run the attempt loop of
:mod:`._attempts`; an *exchange* does the I/O of one transport (send a
request, take one read step, release the response) and every decision stays
with the state machine. The transports differ where the I/O does, and only there:

* native (``allm._native.HttpClient``): bytes are read and de-chunked in Rust
  with the GIL released; a read returns every frame ready at one wake-up, and
  on the ``generate`` path (:attr:`Attempts.pumping`) the body is fed straight
  into the decoder without returning to Python per frame. Its clocks (idle
  timeout, deadline, read timeout) are kept natively, so pings never reset the
  idle clock; async calls run on the native runtime and complete on the event
  loop through :mod:`._completions`, and cancelling one aborts the native call;
* httpx: the sync exchange relies on the socket read timeout
  (``min(read, idle_timeout)``) plus the state's check after each chunk that
  carried no event; the async exchange keeps one deadline per stream
  (:class:`_IdleWatch`), because asyncio can interrupt a pending read and a
  socket timeout cannot see pings. It closes its ``aiter_bytes`` iterator on
  every exit path, and a garbage-collected async source schedules the close
  on its loop (``close_now``), since nothing can be awaited there.

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
from types import ModuleType
from typing import Any, ClassVar, Protocol, cast

import httpx

from .._results import Response
from .._source import AsyncSource, Source
from ..events import Event
from ._attempts import Attempts
from ._clients import Clients
from ._completions import LoopCompletions, for_running_loop

__all__ = ["AsyncHttpSource", "HttpSource"]

_log = logging.getLogger("allm.http")


class HttpSource(Source):
    """A synchronous provider call."""

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._state = state
        self._exchange: _Exchange = (
            _NativeExchange(clients, state) if clients.transport == "native" else _HttpxExchange(clients)
        )
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
        self._exchange.release()

    def _run(self) -> Generator[list[Event], None, None]:
        if self._started:
            return
        self._started = True
        state, exchange = self._state, self._exchange
        try:
            while state.begin():
                batch = exchange.send(state)
                while True:
                    if batch:
                        yield batch
                    if not state.reading:
                        break
                    batch = exchange.step(state)
                exchange.release()
                if state.delay is not None:
                    time.sleep(state.delay)
        finally:
            exchange.release()


class AsyncHttpSource(AsyncSource):
    """An asynchronous provider call (asyncio)."""

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._state = state
        self._exchange: _AsyncExchange = (
            _AsyncNativeExchange(clients, state)
            if clients.transport == "native"
            else _AsyncHttpxExchange(clients, state)
        )
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
        await self._exchange.release()

    def close_now(self) -> None:
        self._started = True
        self._exchange.close_now()

    async def _run(self) -> AsyncGenerator[list[Event], None]:
        if self._started:
            return
        self._started = True
        state, exchange = self._state, self._exchange
        try:
            while state.begin():
                batch = await exchange.send(state)
                try:
                    while True:
                        if batch:
                            yield batch
                        if not state.reading:
                            break
                        batch = await exchange.step(state)
                finally:
                    await exchange.release()
                if state.delay is not None:
                    await asyncio.sleep(state.delay)
        finally:
            exchange.stop()
            await exchange.release()


class _Exchange(Protocol):
    """The I/O of one transport for a sync source: one response at a time."""

    def send(self, state: Attempts) -> list[Event]:
        """Send the attempt's request; a batch when sending failed (else the state reads the body)."""
        ...

    def step(self, state: Attempts) -> list[Event]:
        """Read once and hand what was read to the state; the batch it returns."""
        ...

    def release(self) -> None:
        """Close the response (back to the pool if its body was read to the end)."""
        ...


class _AsyncExchange(Protocol):
    """The I/O of one transport for an async source."""

    async def send(self, state: Attempts) -> list[Event]: ...

    async def step(self, state: Attempts) -> list[Event]: ...

    async def release(self) -> None: ...

    def close_now(self) -> None:
        """Release without awaiting (the source was garbage-collected)."""
        ...

    def stop(self) -> None:
        """The source is done: stop any timer."""
        ...


# -- native ----------------------------------------------------------------------------


class _NativeAnswer:
    """The head of a native response, shaped like ``httpx.Response`` for :class:`Attempts`."""

    __slots__ = ("headers", "status_code")

    def __init__(self, body: Any) -> None:
        self.status_code: int = body.status
        self.headers = httpx.Headers(body.headers)


def _as_httpx(exc: BaseException) -> BaseException:
    """The httpx exception for a native transport failure (``HttpError(kind, message)``), so
    that both transports classify failures through the same rules."""
    kind, message = exc.args
    cls = getattr(httpx, kind, None)
    return cls(message) if isinstance(cls, type) and issubclass(cls, httpx.RequestError) else exc


def _request_args(state: Attempts) -> tuple[str, list[tuple[str, str]], bytes, float | None]:
    prepared = state.prepared
    return prepared.url, list(state.headers().items()), prepared.body, state.config.timeout.read


def _after_read(state: Attempts, data: bytes | None, by_read: bool) -> list[Event]:
    """Hand one native read to the state: data, the end (``b""``), or a wait that ran out (None)."""
    if data is None:
        if by_read:
            return state.failed(httpx.ReadTimeout("no data arrived within the read timeout"))
        return state.idle_expired()
    return state.chunk(data) if data else state.ended()


class _NativeExchange:
    """Sync I/O over the native transport (GIL released while waiting and decoding)."""

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._client = clients.native()
        self._error: type[BaseException] = _pin_decoders(self._client, state).HttpError
        self._body: Any = None

    def send(self, state: Attempts) -> list[Event]:
        try:
            self._body = body = self._client.send(*_request_args(state))
        except self._error as exc:
            return state.send_failed(_as_httpx(exc))
        state.opened(_NativeAnswer(body))
        return []

    def step(self, state: Attempts) -> list[Event]:
        body = self._body
        try:
            if state.pumping:
                return state.pumped(*body.pump(state.decoder, **state.clocks()))
            wait, by_read = state.read_wait()
            data = body.read(wait)
        except self._error as exc:
            return state.failed(_as_httpx(exc))
        return _after_read(state, data, by_read)

    def release(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()


_READY_READS = 16
"""Reads an async native stream takes without awaiting (frames already there) before it
awaits one, which lets the event loop run other tasks."""


class _AsyncNativeExchange:
    """Async I/O over the native transport: calls on its runtime, completed on this loop
    through :mod:`._completions`.

    A read first takes the frames that are already there (no call, no hand-off
    between threads); only when none are does it start one.
    """

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._client = clients.native()
        self._native = _pin_decoders(self._client, state)
        self._error: type[BaseException] = self._native.HttpError
        self._calls: LoopCompletions | None = None
        self._body: Any = None
        self._ready_reads = 0

    async def send(self, state: Attempts) -> list[Event]:
        args = _request_args(state)
        try:
            self._body = body = await self._on_loop().call(lambda q, t: self._client.asend(*args, q, t))
        except self._error as exc:
            return state.send_failed(_as_httpx(exc))
        state.opened(_NativeAnswer(body))
        return []

    async def step(self, state: Attempts) -> list[Event]:
        body = self._body
        try:
            if state.pumping:
                clocks = state.clocks()
                outcome = await self._on_loop().call(lambda q, t: body.apump(state.decoder, q, t, **clocks))
                return state.pumped(*outcome)
            wait, by_read = state.read_wait()
            data = body.read_ready() if self._ready_reads < _READY_READS else None
            if data is None:
                self._ready_reads = 0
                data = await self._on_loop().call(lambda q, t: body.aread(wait, q, t))
            else:
                self._ready_reads += 1
        except self._error as exc:
            return state.failed(_as_httpx(exc))
        return _after_read(state, data, by_read)

    def _on_loop(self) -> LoopCompletions:
        """The completion queue of the loop this call runs on (looked up once)."""
        if self._calls is None:
            self._calls = for_running_loop(self._native)
        return self._calls

    async def release(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def stop(self) -> None:
        """Nothing to stop: the native clocks end with each read."""


def _pin_decoders(client: Any, state: Attempts) -> ModuleType:
    """Pin the state's decoders to the client's native module (the one the body is pumped
    into, whatever backend is active later); that module."""
    module = sys.modules[type(client).__module__]
    state.decoder_type = module.StreamDecoder
    return module


# -- httpx -----------------------------------------------------------------------------


def _forget_key(state: Attempts, response: httpx.Response) -> None:
    """Drop the credential from the request httpx keeps on the response."""
    if state.prepared.secret is not None:
        for name in state.config.auth_headers("x"):
            response.request.headers.pop(name, None)


class _HttpxExchange:
    """Sync I/O over httpx."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._response: httpx.Response | None = None
        self._chunks: Iterator[bytes] = iter(())

    def send(self, state: Attempts) -> list[Event]:
        client = self._clients.sync_client()
        try:
            self._response = response = client.send(
                state.build_request(client), stream=True, follow_redirects=False
            )
        except Exception as exc:
            return state.send_failed(exc)
        _forget_key(state, response)
        state.opened(response)
        self._chunks = response.iter_bytes()
        return []

    def step(self, state: Attempts) -> list[Event]:
        try:
            return state.chunk(next(self._chunks))
        except StopIteration:
            return state.ended()
        except Exception as exc:
            return state.failed(exc)

    def release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            try:
                response.close()
            except Exception:
                _log.debug("closing a response failed", exc_info=False)


class _AsyncHttpxExchange:
    """Async I/O over httpx, with one idle deadline per stream."""

    _pending_closes: ClassVar[set[asyncio.Task[Any]]] = set()

    def __init__(self, clients: Clients, state: Attempts) -> None:
        self._clients = clients
        self._watch = _IdleWatch(state)
        self._response: httpx.Response | None = None
        self._chunks: AsyncGenerator[bytes, None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, state: Attempts) -> list[Event]:
        self._loop = asyncio.get_running_loop()
        client = self._clients.async_client()
        try:
            self._response = response = await client.send(
                state.build_request(client), stream=True, follow_redirects=False
            )
        except Exception as exc:
            return state.send_failed(exc)
        _forget_key(state, response)
        state.opened(response)
        # aiter_bytes is an async generator (typed as an iterator): it has aclose().
        self._chunks = cast("AsyncGenerator[bytes, None]", response.aiter_bytes())
        return []

    async def step(self, state: Attempts) -> list[Event]:
        chunks = self._chunks
        assert chunks is not None, "a failed send ends the attempt before any read"
        try:
            return state.chunk(await self._watch.read(chunks))
        except StopAsyncIteration:
            return state.ended()
        except _IdleExpired:
            return state.idle_expired()
        except Exception as exc:
            return state.failed(exc)

    async def release(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await chunks.aclose()
        response, self._response = self._response, None
        if response is not None:
            await _aclose_quietly(response)

    def close_now(self) -> None:
        response, self._response = self._response, None
        loop = self._loop
        if response is None or loop is None or loop.is_closed():
            return

        def schedule() -> None:
            task = loop.create_task(_aclose_quietly(response))
            _AsyncHttpxExchange._pending_closes.add(task)
            task.add_done_callback(_AsyncHttpxExchange._pending_closes.discard)

        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(schedule)

    def stop(self) -> None:
        self._watch.stop()


class _IdleExpired(Exception):
    """The stream's idle deadline passed during a read."""


class _IdleWatch:
    """One idle deadline per async httpx stream.

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
