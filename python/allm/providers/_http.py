"""Decoder-backed sources over httpx streaming responses (sync and async).

One :class:`HttpSource` / :class:`AsyncHttpSource` is one model call. Nothing
is sent until the first batch is pulled. Every network chunk goes to the
active backend's ``StreamDecoder`` in one call (``feed`` when the caller
streams, ``feed_quiet`` on the ``generate`` path, which builds no per-event
Python objects). The decoder runs unfiltered so that every real event resets
the idle timer; the caller's filters are applied to the events it returns.

Failure handling, per attempt:

* the request cannot be sent (connect error, timeout before the response):
  retried while the policy allows, else an ``error`` event
  (``AdapterError`` ``network_error`` / ``timeout``);
* a redirect: never followed (credentials must not travel to another
  origin); an ``error`` event (``network_error``, with the status);
* an error status: the body is read first (bounded), classified
  (:mod:`._errors`), retried for 408/409/429/5xx unless ``x-should-retry``
  says otherwise, honouring ``retry-after-ms`` / ``Retry-After`` up to the
  policy's ``max_retry_after``;
* a 2xx that is not an event stream (JSON or HTML): an ``error`` event from
  the body (``malformed_response`` unless the body is a provider error);
* mid-stream: a dropped connection or an httpx error becomes
  ``decoder.fail(AdapterError("network_error"))``; no real event for
  ``idle_timeout`` seconds (keep-alive pings and SSE comments do not count)
  becomes ``decoder.fail(AdapterError("timeout"))``. Partial content is kept.
  A connection lost before the body produced any event is retried;
* a provider overload / rate-limit error arriving before any content is
  retried like an error status. Nothing is retried once content exists: the
  source holds back a batch made only of ``message_started`` until the next
  batch shows whether the attempt failed.

Idle timing: the per-request read timeout is ``min(read, idle_timeout)``, so a
silent connection fails after ``idle_timeout``; a connection that only sends
keep-alives is caught at the first keep-alive after ``idle_timeout`` (sync) or
exactly at ``idle_timeout`` (async, which waits with ``asyncio.timeout``).
Async sources need asyncio (not trio).

The httpx response is released exactly once on every path: end of stream,
``break`` (generator close), an exception, task cancellation, ``close()`` and
garbage collection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from .. import _backend, telemetry
from .._aio import within
from .._version import __version__
from ..errors import AdapterError, AllmError, ValidationError
from ..events import Event
from ..limits import LIMIT_OPTIONS, check_limits
from ..request import Request
from ..results import Response
from ..retry import RetryPolicy, parse_retry_after, status_is_retryable
from ._errors import from_body_error, from_exception, from_status, html_page_error, request_id_of
from ._keys import Secret, resolve_key
from ._redact import redact
from ._urls import BaseURL, check_base_url
from .base import Adapter, AsyncSource, Call, Filters, Source

__all__ = ["AsyncHttpSource", "HttpAdapter", "HttpSource", "Prepared"]

_log = logging.getLogger("allm.http")

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
ERROR_BODY_LIMIT = 1 << 20
_COMMON_OPTIONS = (
    "api_key",
    "base_url",
    "timeout",
    "idle_timeout",
    "http_client",
    "max_retries",
    *LIMIT_OPTIONS,
)
_RETRY_FIRST_EVENT = frozenset({"rate_limited", "provider_unavailable"})
_NOT_A_STREAM = ("application/json", "text/html", "text/plain")


@dataclass(frozen=True, slots=True)
class Prepared:
    """One call's request, translated and ready to send (the key is added at send time)."""

    url: str
    body: bytes
    wire: str
    headers: dict[str, str] = field(default_factory=dict)
    secret: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class _Retry:
    delay: float
    error: AdapterError


def _timeout_option(value: Any) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return httpx.Timeout(float(value), connect=min(float(value), DEFAULT_TIMEOUT.connect or 5.0))
    raise ValidationError(
        "invalid_options", errors=[("timeout", "must be a positive number of seconds or an httpx.Timeout")]
    )


def _idle_option(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf"):
        return float(value)
    raise ValidationError(
        "invalid_options", errors=[("idle_timeout", "must be a positive number of seconds or None")]
    )


def encode_json(body: Mapping[str, Any]) -> bytes:
    """The request body as compact UTF-8 JSON; ValidationError when it is not JSON-serializable."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValidationError("invalid_request", f"the request cannot be encoded as JSON: {exc}") from None


class HttpAdapter(Adapter):
    """What every HTTP provider shares: options, keys, clients, sources.

    Subclasses set ``provider``, ``default_base_url``, ``env_var`` and
    implement :meth:`prepare` (request translation) and :meth:`auth_headers`.
    """

    provider: ClassVar[str] = "http"
    default_base_url: ClassVar[str] = ""
    env_var: ClassVar[str] = ""
    extra_options: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, retry: Any = "default", **opts: Any) -> None:
        super().__init__(retry=retry)
        known = _COMMON_OPTIONS + self.extra_options
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise ValidationError(
                "invalid_options",
                errors=[
                    (name, f"unknown option for {type(self).__name__}; known: {', '.join(known)}")
                    for name in unknown
                ],
            )
        key = opts.get("api_key")
        if key is not None and not isinstance(key, (str, Secret)):
            raise ValidationError("invalid_options", errors=[("api_key", "must be a string")])
        self._key: Secret | None = key if isinstance(key, Secret) or key is None else Secret(key)
        self._base: BaseURL = check_base_url(opts.get("base_url"), self.default_base_url)
        self._timeout = _timeout_option(opts.get("timeout"))
        self._idle = _idle_option(opts.get("idle_timeout", DEFAULT_IDLE_TIMEOUT))
        self.limits = check_limits(opts)
        self.policy = RetryPolicy.from_option(retry, opts.get("max_retries"))
        client = opts.get("http_client")
        if client is not None and not isinstance(client, (httpx.Client, httpx.AsyncClient)):
            raise ValidationError(
                "invalid_options", errors=[("http_client", "must be an httpx.Client or httpx.AsyncClient")]
            )
        self._user_sync = client if isinstance(client, httpx.Client) else None
        self._user_async = client if isinstance(client, httpx.AsyncClient) else None
        self._own_sync: httpx.Client | None = None
        self._own_async: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base.url!r})"

    # -- what subclasses provide -------------------------------------------------------

    @abstractmethod
    def prepare(self, request: Request, call: Call, secret: Secret | None) -> Prepared:
        """Translate ``request`` into a Prepared call (pre-flight errors raise here)."""

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """The credential header(s) for ``key``."""

    # -- the seam ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The base URL calls go to."""
        return self._base.url

    def _secret(self) -> Secret | None:
        return resolve_key(
            provider=self.provider,
            explicit=self._key,
            env_var=self.env_var,
            default_host=self._base.default,
            loopback=self._base.loopback,
        )

    def open(self, request: Request, call: Call) -> Source:
        """Resolve the key and translate the request; nothing is sent yet."""
        return HttpSource(self, self.prepare(request, call, self._secret()), call)

    def aopen(self, request: Request, call: Call) -> AsyncSource:
        """Async twin of :meth:`open`."""
        return AsyncHttpSource(self, self.prepare(request, call, self._secret()), call)

    # -- transport ---------------------------------------------------------------------

    def request_timeout(self) -> httpx.Timeout:
        """The per-request timeout: the read timeout never exceeds the idle timeout."""
        t = self._timeout
        read = t.read
        if self._idle is not None:
            read = self._idle if read is None else min(read, self._idle)
        return httpx.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)

    def sync_client(self) -> httpx.Client:
        """The user's client, or ours (created on first use, then reused)."""
        if self._user_sync is not None:
            return self._user_sync
        with self._lock:
            if self._own_sync is None or self._own_sync.is_closed:
                self._own_sync = httpx.Client(
                    follow_redirects=False, timeout=self._timeout, limits=DEFAULT_LIMITS
                )
            return self._own_sync

    def async_client(self) -> httpx.AsyncClient:
        """The user's async client, or ours for the running event loop."""
        if self._user_async is not None:
            return self._user_async
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._own_async is None or self._own_async[0] is not loop or self._own_async[1].is_closed:
                # A client is bound to the loop it first ran on; a new loop gets a new client.
                self._own_async = (
                    loop,
                    httpx.AsyncClient(follow_redirects=False, timeout=self._timeout, limits=DEFAULT_LIMITS),
                )
            return self._own_async[1]

    def close(self) -> None:
        """Close the clients this adapter created (never the user's)."""
        with self._lock:
            client, self._own_sync = self._own_sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close the clients this adapter created, async one included."""
        self.close()
        with self._lock:
            pair, self._own_async = self._own_async, None
        if pair is not None:
            loop, client = pair
            if loop is asyncio.get_running_loop():
                await client.aclose()


class _Attempts:
    """The I/O-free part of a call: decoder, retry decisions, held-back batches, idle clock."""

    def __init__(self, adapter: HttpAdapter, prepared: Prepared, call: Call) -> None:
        self.adapter = adapter
        self.prepared = prepared
        self.call = call
        self.provider = adapter.provider
        self.policy = adapter.policy
        self.idle = adapter._idle
        self.attempt = 0
        self.decoder: Any = None
        self.filters: Filters | None = None
        self.quiet = False
        self.held: list[Event] = []
        self.committed = False
        self.head_checked = False  # whether the body's first bytes were checked for an HTML page
        self.last_event = time.monotonic()

    @property
    def secret_text(self) -> str | None:
        """The key, revealed only for redaction (never stored in plain form)."""
        return self.prepared.secret.reveal() if self.prepared.secret is not None else None

    # -- per attempt -------------------------------------------------------------------

    def begin(self) -> None:
        self.attempt += 1
        self.decoder = _backend.backend.StreamDecoder(
            self.prepared.wire, include_raw_chunks=True, **self.adapter.limits
        )
        self.held = []
        self.committed = False
        self.head_checked = False
        self.last_event = time.monotonic()

    def build_request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "user-agent": f"allm/{__version__}",
            **self.prepared.headers,
        }
        if self.prepared.secret is not None:
            headers.update(self.adapter.auth_headers(self.prepared.secret.reveal()))
        return client.build_request(
            "POST",
            self.prepared.url,
            headers=headers,
            content=self.prepared.body,
            timeout=self.adapter.request_timeout(),
        )

    def scrub(self, response: httpx.Response) -> None:
        """Drop the credential from the sent request kept on the response."""
        if self.prepared.secret is not None:
            for name in self.adapter.auth_headers("x"):
                response.request.headers.pop(name, None)

    def can_retry(self) -> bool:
        return not self.committed and self.attempt <= self.policy.max_retries

    def retry_or_fail(
        self, error: AdapterError, retryable: bool, delay: float | None = None
    ) -> _Retry | list[Event]:
        if retryable and self.can_retry():
            return _Retry(self.policy.backoff(self.attempt) if delay is None else delay, error)
        return self.fail(error)

    def send_failed(self, exc: BaseException) -> _Retry | list[Event]:
        error = from_exception(self.provider, exc, phase="connect", secret=self.secret_text)
        retryable = isinstance(exc, (httpx.TransportError, OSError)) and not isinstance(
            exc, httpx.UnsupportedProtocol
        )
        return self.retry_or_fail(error, retryable)

    def status_failed(self, response: httpx.Response, body: bytes) -> _Retry | list[Event]:
        status = response.status_code
        headers = response.headers
        if 300 <= status < 400:
            error = AdapterError(
                "network_error",
                f"the server answered {status} with a redirect; redirects are not followed so that the "
                "API key never reaches another origin (check base_url)",
                provider=self.provider,
                status=status,
                request_id=request_id_of(self.provider, headers),
            )
            return self.fail(error)
        error = from_status(self.provider, status, headers, body, secret=self.secret_text)
        retryable = status_is_retryable(status, headers)
        delay = parse_retry_after(headers)
        if delay is not None and delay > self.policy.max_retry_after:
            retryable = False
        return self.retry_or_fail(error, retryable, delay if delay and delay > 0 else None)

    def not_a_stream(self, response: httpx.Response, body: bytes) -> _Retry | list[Event]:
        error = from_body_error(
            self.provider, response.status_code, response.headers, body, secret=self.secret_text
        )
        if error is None:
            ctype = response.headers.get("content-type", "")
            error = AdapterError(
                "malformed_response",
                f"expected an event stream, got {redact(ctype[:100])!r}",
                provider=self.provider,
                status=response.status_code,
                request_id=request_id_of(self.provider, response.headers),
            )
        return self.retry_or_fail(error, error.reason in _RETRY_FIRST_EVENT)

    def stream_failed(self, exc: BaseException) -> _Retry | list[Event]:
        error = from_exception(self.provider, exc, phase="stream", secret=self.secret_text)
        # A connection lost before the body produced any event delivered nothing: retry it.
        nothing_yet = not self.held and not self.decoder.started
        retryable = nothing_yet and isinstance(exc, (httpx.TransportError, OSError))
        return self.retry_or_fail(error, retryable)

    def idle_expired(self) -> list[Event]:
        return self.fail(
            AdapterError(
                "timeout",
                f"no event arrived for {self.idle:g} s (idle_timeout)",
                provider=self.provider,
                metadata={"phase": "stream"},
            )
        )

    def idle_left(self) -> float | None:
        if self.idle is None:
            return None
        return max(0.0, self.idle - (time.monotonic() - self.last_event))

    # -- decoding ----------------------------------------------------------------------

    def feed(self, chunk: bytes) -> _Retry | list[Event]:
        if not self.head_checked and chunk.strip():
            self.head_checked = True
            error = html_page_error(self.provider, chunk)
            if error is not None:
                return self.fail(error)
        if self.quiet:
            produced = self.decoder.feed_quiet(chunk)
            if produced:
                self.last_event = time.monotonic()
                return self._quiet_check()
            return self._idle_check()
        events = self.decoder.feed(chunk)
        if events:
            self.last_event = time.monotonic()
            return self.output(events)
        return self._idle_check()

    def _idle_check(self) -> list[Event]:
        if self.idle is not None and time.monotonic() - self.last_event > self.idle:
            return self.idle_expired()
        return []

    def end(self) -> _Retry | list[Event]:
        if self.quiet:
            self.decoder.close_quiet()
            return self._quiet_check()
        return self.output(self.decoder.close())

    def fail(self, error: AllmError) -> list[Event]:
        if self.quiet:
            self.decoder.fail_quiet(error)
            return []
        out = self._flush(self.held + self.decoder.fail(error))
        self.held = []
        return out

    def _quiet_check(self) -> _Retry | list[Event]:
        if self.decoder.done and self.can_retry():
            response = self.decoder.response()
            error = response.error
            if (
                isinstance(error, AdapterError)
                and error.reason in _RETRY_FIRST_EVENT
                and not response.output_text
                and not response.tool_calls
            ):
                return _Retry(self.policy.backoff(self.attempt), error)
        return []

    def output(self, events: list[Event]) -> _Retry | list[Event]:
        if self.committed:
            return self._flush(events)
        pending = self.held + events
        for event in pending:
            if event.type == "message_started":
                continue
            if (
                event.type == "error"
                and isinstance(event.error, AdapterError)
                and event.error.reason in _RETRY_FIRST_EVENT
                and self.can_retry()
            ):
                return _Retry(self.policy.backoff(self.attempt), event.error)
            self.committed = True
            self.held = []
            return self._flush(pending)
        self.held = pending
        return []

    def _flush(self, events: list[Event]) -> list[Event]:
        if not events or self.filters is None:
            return events
        return _backend.backend.filter_events(events, *self.filters)

    def response(self) -> Response:
        if self.decoder is None:
            return _backend.backend.Fold().response()
        return self.decoder.response()

    def retrying(self, retry: _Retry) -> None:
        error = retry.error
        payload = {
            "provider": self.provider,
            "request_id": self.call.request_id,
            "attempt": self.attempt,
            "delay_ms": int(retry.delay * 1000),
            "reason": error.reason,
            "status": error.status,
            "provider_request_id": error.request_id,
        }
        _log.debug(
            "allm %s retry after attempt %d: %s (status %s), waiting %d ms",
            self.provider,
            self.attempt,
            error.reason,
            error.status,
            payload["delay_ms"],
        )
        telemetry.emit("allm.adapter.retry", payload)


def _content_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


class HttpSource(Source):
    """A synchronous provider call over httpx."""

    def __init__(self, adapter: HttpAdapter, prepared: Prepared, call: Call) -> None:
        self._state = _Attempts(adapter, prepared, call)
        self._adapter = adapter
        self._response: httpx.Response | None = None
        self._running = False
        self._closed = False

    def __repr__(self) -> str:
        return f"HttpSource(provider={self._state.provider!r}, attempt={self._state.attempt})"

    def batches(self, filters: Filters | None) -> Iterator[list[Event]]:
        self._state.filters = filters
        return self._run()

    def drain(self) -> None:
        self._state.quiet = True
        for _ in self._run():
            pass

    def response(self) -> Response:
        return self._state.response()

    def close(self) -> None:
        self._closed = True
        self._release()

    def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            try:
                response.close()
            except Exception:
                _log.debug("closing the %s response failed", self._state.provider, exc_info=False)

    def _run(self) -> Iterator[list[Event]]:
        if self._running or self._closed:
            return
        self._running = True
        state = self._state
        try:
            while True:
                state.begin()
                outcome = yield from self._attempt()
                if outcome is None:
                    return
                state.retrying(outcome)
                time.sleep(outcome.delay)
        finally:
            self._release()

    def _attempt(self) -> Iterator[list[Event]]:  # returns _Retry | None via StopIteration
        state = self._state
        client = self._adapter.sync_client()
        _log.debug("allm %s POST attempt %d", state.provider, state.attempt)
        try:
            request = state.build_request(client)
            self._response = response = client.send(request, stream=True, follow_redirects=False)
        except Exception as exc:
            result = state.send_failed(exc)
            return (yield from _emit(result))
        state.scrub(response)
        _log.debug("allm %s answered %d", state.provider, response.status_code)
        if response.status_code >= 300 or _content_type(response) in _NOT_A_STREAM:
            body = self._read_bounded(response)
            self._release()
            if response.status_code >= 300:
                return (yield from _emit(state.status_failed(response, body)))
            return (yield from _emit(state.not_a_stream(response, body)))
        chunks = response.iter_bytes()
        ended = False
        while not (ended or state.decoder.done):
            try:
                chunk = next(chunks)
            except StopIteration:
                ended = True
                result = state.end()
            except Exception as exc:
                result = state.stream_failed(exc)
            else:
                result = state.feed(chunk)
            if isinstance(result, _Retry):
                self._release()
                return result
            if result:
                yield result
        self._release()
        return None

    @staticmethod
    def _read_bounded(response: httpx.Response) -> bytes:
        buf = bytearray()
        try:
            for chunk in response.iter_bytes():
                buf += chunk
                if len(buf) >= ERROR_BODY_LIMIT:
                    break
        except Exception:
            pass
        return bytes(buf)


def _emit(result: _Retry | list[Event]) -> Iterator[list[Event]]:
    if isinstance(result, _Retry):
        return result  # type: ignore[return-value]
    if result:
        yield result
    return None


class AsyncHttpSource(AsyncSource):
    """An asynchronous provider call over httpx (asyncio)."""

    _pending_closes: ClassVar[set[asyncio.Task[Any]]] = set()

    def __init__(self, adapter: HttpAdapter, prepared: Prepared, call: Call) -> None:
        self._state = _Attempts(adapter, prepared, call)
        self._adapter = adapter
        self._response: httpx.Response | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False
        self._closed = False

    def __repr__(self) -> str:
        return f"AsyncHttpSource(provider={self._state.provider!r}, attempt={self._state.attempt})"

    def batches(self, filters: Filters | None) -> AsyncIterator[list[Event]]:
        self._state.filters = filters
        return self._run()

    async def drain(self) -> None:
        self._state.quiet = True
        async for _ in self._run():
            pass

    def response(self) -> Response:
        return self._state.response()

    async def aclose(self) -> None:
        self._closed = True
        await self._release()

    def close_now(self) -> None:
        self._closed = True
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

    async def _release(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            await _aclose_quietly(response)

    async def _run(self) -> AsyncIterator[list[Event]]:
        if self._running or self._closed:
            return
        self._running = True
        self._loop = asyncio.get_running_loop()
        state = self._state
        try:
            while True:
                state.begin()
                outcome: _Retry | None = None
                attempt = self._attempt()
                try:
                    async for item in attempt:
                        if isinstance(item, _Retry):
                            outcome = item
                            break
                        if item:
                            yield item
                finally:
                    await attempt.aclose()
                if outcome is None:
                    return
                state.retrying(outcome)
                await asyncio.sleep(outcome.delay)
        finally:
            await self._release()

    async def _attempt(self) -> AsyncIterator[list[Event] | _Retry]:
        state = self._state
        client = self._adapter.async_client()
        _log.debug("allm %s POST attempt %d", state.provider, state.attempt)
        try:
            request = state.build_request(client)
            self._response = response = await client.send(request, stream=True, follow_redirects=False)
        except Exception as exc:
            yield _as_item(state.send_failed(exc))
            return
        state.scrub(response)
        _log.debug("allm %s answered %d", state.provider, response.status_code)
        if response.status_code >= 300 or _content_type(response) in _NOT_A_STREAM:
            body = await self._read_bounded(response)
            await self._release()
            if response.status_code >= 300:
                yield _as_item(state.status_failed(response, body))
            else:
                yield _as_item(state.not_a_stream(response, body))
            return
        chunks = response.aiter_bytes().__aiter__()
        ended = False
        try:
            while not (ended or state.decoder.done):
                result: _Retry | list[Event]
                try:
                    chunk = await within(chunks.__anext__(), state.idle_left())
                except StopAsyncIteration:
                    ended = True
                    result = state.end()
                except asyncio.TimeoutError:
                    result = state.idle_expired()
                except Exception as exc:
                    result = state.stream_failed(exc)
                else:
                    result = state.feed(chunk)
                if isinstance(result, _Retry):
                    await self._release()
                    yield result
                    return
                if result:
                    yield result
        finally:
            await self._release()

    @staticmethod
    async def _read_bounded(response: httpx.Response) -> bytes:
        buf = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                buf += chunk
                if len(buf) >= ERROR_BODY_LIMIT:
                    break
        except Exception:
            pass
        return bytes(buf)


def _as_item(result: _Retry | list[Event]) -> _Retry | list[Event]:
    return result


async def _aclose_quietly(response: httpx.Response) -> None:
    with contextlib.suppress(Exception):
        await response.aclose()
