"""The I/O-free part of one HTTP model call: attempts, retries, decoding, the idle clock.

:class:`Attempts` is driven by the sync and async sources (:mod:`._sources`),
which only send requests and read chunks. Both drivers have this shape::

    while state.begin():                      # the first attempt, or a retry that is due
        send; on failure batch = state.send_failed(exc), else state.opened(response)
        while True:
            if batch: yield batch
            if not state.reading: break
            batch = state.chunk(data) | state.ended() | state.failed(exc) | state.idle_expired()
        release the response
        if state.delay is not None: sleep(state.delay)

Each attempt reads one response body in one of three modes: the event stream
(fed to the backend's ``StreamDecoder``: ``feed`` when the caller streams,
``feed_quiet`` on the ``generate`` path), an error body (bounded by
:data:`ERROR_BODY_LIMIT`, then classified), or the tail after the decoder's
terminal event (bounded by :data:`TAIL_LIMIT`), read to the end so that the
connection goes back to the pool.

The retry rule, in one place (:meth:`Attempts._retry`): a failure is retried
while the policy allows another attempt and the attempt has produced nothing
the user can see (text or tool calls; ``message_started`` and usage raw chunks
do not count). Retryable failures: a request that cannot be sent (connect
errors), statuses 408/409/429/5xx (``x-should-retry`` wins; ``Retry-After`` is
honoured up to the policy's cap), a dropped connection, and a provider
overload / rate-limit error in the stream. While nothing visible exists, the
streaming path holds its batches back, so a retried attempt leaks no event.

Thread safety: one Attempts object serves one call, driven by one thread or task.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import httpx

from .. import _backend  # pyright: ignore[reportPrivateUsage]
from .._results import Response
from .._retry import RetryPolicy, parse_retry_after, status_is_retryable
from .._spans import emit
from .._version import __version__
from ..errors import AdapterError, AllmError
from ..events import Event
from ._clients import Prepared

if TYPE_CHECKING:
    from .._call_telemetry import CallTrace
from ._errors import from_body_error, from_exception, from_status, html_page_error, request_id_of
from ._json_reply import reply_events
from ._redact import redact

__all__ = ["ERROR_BODY_LIMIT", "TAIL_LIMIT", "Answer", "AttemptConfig", "Attempts"]

_log = logging.getLogger("allm.http")

ERROR_BODY_LIMIT = 1 << 20
"""Bytes of an error body read before it is classified."""
TAIL_LIMIT = 1 << 16
"""Bytes read after the terminal event to reach the body's end (past it the connection is dropped)."""

_RETRY_IN_STREAM = frozenset({"rate_limited", "provider_unavailable"})
_NOT_A_STREAM = frozenset({"application/json", "text/html", "text/plain"})
_STREAM, _BODY, _TAIL = 0, 1, 2


class Answer(Protocol):
    """A response head: an ``httpx.Response``, or the native transport's."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> httpx.Headers: ...


@dataclass(frozen=True, slots=True)
class AttemptConfig:
    """What the attempts of every call of one adapter share."""

    provider: str
    policy: RetryPolicy
    idle: float | None
    limits: Mapping[str, int | None]
    timeout: httpx.Timeout
    auth_headers: Callable[[str], dict[str, str]]
    deadline: float | None = None
    parse_body: Callable[[dict[str, Any]], Response] | None = None
    """The wire's non-streaming parser, for a server that answers a stream request with JSON."""


class Attempts:
    """The state of one call across its attempts (see the module docstring)."""

    def __init__(
        self, config: AttemptConfig, prepared: Prepared, request_id: str, trace: CallTrace | None = None
    ) -> None:
        self.config = config
        self.prepared = prepared
        self.request_id = request_id
        self.trace = trace
        self.started_at: float | None = None  # the first attempt's start: the deadline counts from it
        self._reply_fold: Any = None  # the fold of a complete JSON reply (no stream to decode)
        self.decoder_type: Any = None
        """The StreamDecoder class to use; None: the active backend's (the native transport
        pins its own module's, which it feeds natively)."""
        self.quiet = False
        self.attempt = 0
        self.delay: float | None = None
        self.reading = False
        self.decoder: Any = None
        self.held: list[Event] = []
        self.shown = False
        self.head_checked = False
        self.last_event = time.monotonic()
        self._mode = _STREAM
        self._body = bytearray()
        self._answer: Answer | None = None

    def __repr__(self) -> str:
        return f"Attempts(provider={self.config.provider!r}, attempt={self.attempt})"

    # -- the attempt loop --------------------------------------------------------------

    def begin(self) -> bool:
        """Start the next attempt: the first one, or a retry that was decided; False when done."""
        if self.attempt and self.delay is None:
            return False
        self.attempt += 1
        self.delay = None
        if self.started_at is None:
            self.started_at = time.monotonic()
        decoders = self.decoder_type or _backend.backend.StreamDecoder
        self.decoder = decoders(self.prepared.wire, include_raw_chunks=True, **self.config.limits)
        self.held = []
        self.shown = False
        self.head_checked = False  # whether the body's first bytes were checked for an HTML page
        self._reply_fold = None
        self.reading = True
        self._mode = _STREAM
        self._answer = None
        self.last_event = time.monotonic()
        _log.debug("allm %s POST attempt %d", self.config.provider, self.attempt)
        return True

    def headers(self) -> dict[str, str]:
        """The request headers of this attempt, credential included."""
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "user-agent": f"allm/{__version__}",
            **self.prepared.headers,
        }
        if self.prepared.secret is not None:
            headers.update(self.config.auth_headers(self.prepared.secret.reveal()))
        return headers

    def build_request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        """The httpx request of this attempt."""
        return client.build_request(
            "POST",
            self.prepared.url,
            headers=self.headers(),
            content=self.prepared.body,
            timeout=self.config.timeout,
        )

    def opened(self, response: Answer) -> None:
        """The response head arrived: choose how its body is read."""
        _log.debug("allm %s answered %d", self.config.provider, response.status_code)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code >= 300 or ctype in _NOT_A_STREAM:
            self._answer = response
            self._read_body(_BODY)

    @property
    def pumping(self) -> bool:
        """Whether the rest of the body may be pumped natively (:meth:`pumped`): the
        ``generate`` path, reading the event stream after its first bytes were checked."""
        return self.quiet and self._mode == _STREAM and self.head_checked

    def clocks(self) -> dict[str, float | None]:
        """The clocks a native pump keeps: the idle timeout, what is left of it and of the
        deadline, and the read timeout."""
        return {
            "idle": self.config.idle,
            "idle_left": self._idle_clock_left(),
            "deadline_left": self._deadline_left(),
            "read_timeout": self.config.timeout.read,
        }

    def read_wait(self) -> tuple[float | None, bool]:
        """How long the next read may wait, and whether that limit is the read timeout
        (else it is the idle clock or the deadline)."""
        idle, read = self.idle_left(), self.config.timeout.read
        if read is not None and (idle is None or read < idle):
            return read, True
        return idle, False

    def pumped(self, outcome: str, since_event: float | None) -> list[Event]:
        """A native pump stopped (see :attr:`pumping`); ``outcome`` is "done", "end", "idle"
        or "read_timeout"."""
        if since_event is not None:
            self.last_event = time.monotonic() - since_event
        if outcome == "done":
            return self._decoded([])
        if outcome == "end":
            return self.ended()
        if outcome == "idle":
            return self.idle_expired()
        return self.failed(httpx.ReadTimeout("no data arrived within the read timeout"))

    def chunk(self, data: bytes) -> list[Event]:
        """One network chunk of the body."""
        if self._mode == _STREAM:
            if self._deadline_left() == 0.0:  # a trickle keeps the idle timer quiet, not the deadline
                return self.idle_expired()
            return self._feed(data)
        self._body += data
        limit = TAIL_LIMIT if self._mode == _TAIL else ERROR_BODY_LIMIT
        if len(self._body) >= limit:
            return self._body_done()
        return self._idle_check() if self._mode == _TAIL else []

    def ended(self) -> list[Event]:
        """The body ended."""
        self.reading = False
        if self._mode != _STREAM:
            return self._body_done()
        if self.quiet:
            self.decoder.close_quiet()
            return self._decoded([])
        return self._decoded(self.decoder.close())

    def failed(self, exc: BaseException) -> list[Event]:
        """Reading the body raised ``exc``."""
        if self._mode != _STREAM:
            return self._body_done()
        error = from_exception(self.config.provider, exc, phase="stream", secret=self._secret_text())
        return self._fail(error, isinstance(exc, (httpx.TransportError, OSError)))

    def send_failed(self, exc: BaseException) -> list[Event]:
        """The request could not be sent."""
        error = from_exception(self.config.provider, exc, phase="connect", secret=self._secret_text())
        retryable = isinstance(exc, (httpx.TransportError, OSError)) and not isinstance(
            exc, httpx.UnsupportedProtocol
        )
        return self._fail(error, retryable)

    def idle_expired(self) -> list[Event]:
        """No real event arrived for ``idle`` seconds (pings and comments do not count)."""
        if self._mode != _STREAM:
            return self._body_done()
        deadline = self.config.deadline
        if deadline is not None and self._deadline_left() == 0.0:
            what = f"the call took longer than its {deadline:g} s deadline"
        else:
            what = f"no event arrived for {self.config.idle:g} s (idle_timeout)"
        error = AdapterError("timeout", what, provider=self.config.provider, metadata={"phase": "stream"})
        return self._fail(error, False)

    def idle_left(self) -> float | None:
        """Seconds until the idle timer or the call's deadline runs out (0 when one did), or None."""
        left = self._idle_clock_left()
        deadline = self._deadline_left()
        if deadline is None:
            return left
        return deadline if left is None else min(left, deadline)

    def _idle_clock_left(self) -> float | None:
        idle = self.config.idle
        return None if idle is None else max(0.0, idle - (time.monotonic() - self.last_event))

    def _deadline_left(self) -> float | None:
        deadline = self.config.deadline
        if deadline is None or self.started_at is None:
            return None
        return max(0.0, deadline - (time.monotonic() - self.started_at))

    def response(self) -> Response:
        """The fold of the current attempt (an empty Response before the first)."""
        fold = self._reply_fold or (_backend.backend.Fold() if self.decoder is None else self.decoder)
        response: Response = fold.response()
        self._scrub(response.error)
        return response

    def _scrub(self, error: object) -> None:
        """Blank the call's own key in an in-stream error the provider wrote (it may echo it)."""
        secret = self._secret_text()
        if secret and isinstance(error, AllmError) and secret in error.message:
            error.message = redact(error.message, secret)

    # -- decoding ----------------------------------------------------------------------

    def _feed(self, data: bytes) -> list[Event]:
        if not self.head_checked and data.strip():
            self.head_checked = True
            page = html_page_error(self.config.provider, data)
            if page is not None:
                return self._fail(page, False)
        if self.quiet:
            if not self.decoder.feed_quiet(data):
                return self._idle_check()
            self.last_event = time.monotonic()
            return self._decoded([]) if self.decoder.done else []
        events: list[Event] = self.decoder.feed(data)
        if not events:
            return self._idle_check()
        self.last_event = time.monotonic()
        if self.shown and not self.decoder.done:
            return events
        return self._decoded(events)

    def _decoded(self, events: list[Event]) -> list[Event]:
        """What the consumer may see after a decoder call: held back while nothing is visible."""
        if events and events[-1].type == "error":  # terminal, so always last
            self._scrub(events[-1].error)
        decoder = self.decoder
        if not self.shown:
            self.held += events
            if not self.quiet and self._visible():
                self.shown = True
            elif not decoder.done or self._retry(decoder.response().error):
                return []
            events, self.held = self.held, []
        if decoder.done and self.reading:
            self._read_body(_TAIL)
        return events

    def _idle_check(self) -> list[Event]:
        idle = self.config.idle
        if (idle is not None and time.monotonic() - self.last_event > idle) or self._deadline_left() == 0.0:
            return self.idle_expired()
        return []

    def _read_body(self, mode: int) -> None:
        self._mode = mode
        self._body = bytearray()

    def _body_done(self) -> list[Event]:
        self.reading = False
        answer, body = self._answer, bytes(self._body)
        self._answer, self._body = None, bytearray()  # the body may echo the key: keep none of it
        if self._mode == _TAIL or answer is None:
            return []
        if answer.status_code >= 300:
            return self._status_failed(answer, body)
        return self._not_a_stream(answer, body)

    # -- failures and the retry rule ---------------------------------------------------

    def _visible(self) -> bool:
        """Whether this attempt produced anything the user can see (text, tool calls)."""
        if self.shown:
            return True
        if self.decoder is None or not self.decoder.started:
            return False
        response = self.decoder.response()
        return bool(response.output_text or response.tool_calls)

    def _retry(
        self, error: AllmError | None, retryable: bool | None = None, delay: float | None = None
    ) -> bool:
        """THE retry rule: decide (and schedule) a retry after ``error``."""
        if retryable is None:
            retryable = isinstance(error, AdapterError) and error.reason in _RETRY_IN_STREAM
        if not (retryable and isinstance(error, AdapterError)):
            return False
        if self.attempt > self.config.policy.max_retries or self._visible():
            return False
        self.delay = self.config.policy.backoff(self.attempt) if delay is None else delay
        self.reading = False
        self.held = []
        self._report_retry(error, self.delay)
        return True

    def _fail(self, error: AllmError, retryable: bool, delay: float | None = None) -> list[Event]:
        if self._retry(error, retryable, delay):
            return []
        self.reading = False
        if self.quiet:
            self.decoder.fail_quiet(error)
            return []
        out: list[Event] = self.held + self.decoder.fail(error)
        self.held = []
        return out

    def _status_failed(self, response: Answer, body: bytes) -> list[Event]:
        provider, status, headers = self.config.provider, response.status_code, response.headers
        if 300 <= status < 400:
            error = AdapterError(
                "network_error",
                f"the server answered {status} with a redirect; redirects are not followed so that the "
                "API key never reaches another origin (check base_url)",
                provider=provider,
                status=status,
                request_id=request_id_of(provider, headers),
            )
            return self._fail(error, False)
        error = from_status(provider, status, headers, body, secret=self._secret_text())
        retryable = status_is_retryable(status, headers)
        delay = parse_retry_after(headers)
        if delay is not None and delay > self.config.policy.max_retry_after:
            retryable = False
        return self._fail(error, retryable, delay if delay else None)

    def _not_a_stream(self, response: Answer, body: bytes) -> list[Event]:
        provider = self.config.provider
        error = from_body_error(
            provider, response.status_code, response.headers, body, secret=self._secret_text()
        )
        reply = self._json_reply(response, body) if error is None else None
        if reply is not None:
            return reply
        if error is None:
            ctype = response.headers.get("content-type", "")
            error = AdapterError(
                "malformed_response",
                f"expected an event stream, got {redact(ctype[:100])!r}",
                provider=provider,
                status=response.status_code,
                request_id=request_id_of(provider, response.headers),
            )
        return self._fail(error, error.reason in _RETRY_IN_STREAM)

    def _json_reply(self, response: Answer, body: bytes) -> list[Event] | None:
        """The events of a complete JSON answer to the stream request, or None when it is not one."""
        parse = self.config.parse_body
        if parse is None or not 200 <= response.status_code < 300:
            return None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if not isinstance(document, dict):
            return None
        try:
            parsed = parse(cast("dict[str, Any]", document))
        except (AllmError, LookupError, TypeError, ValueError, AttributeError):
            return None
        if parsed.finish_reason is None and not parsed.output_text and not parsed.tool_calls:
            return None
        events = reply_events(parsed)
        fold = _backend.backend.Fold()
        fold.apply_many(events)
        self._reply_fold = fold
        self.shown = True
        return events

    def _secret_text(self) -> str | None:
        """The key, revealed only for redaction (never stored in plain form)."""
        secret = self.prepared.secret
        return secret.reveal() if secret is not None else None

    def _report_retry(self, error: AdapterError, delay: float) -> None:
        provider = self.config.provider
        payload = {
            "provider": provider,
            "request_id": self.request_id,
            "attempt": self.attempt,
            "delay_ms": int(delay * 1000),
            "reason": error.reason,
            "status": error.status,
            "provider_request_id": error.request_id,
        }
        _log.debug(
            "allm %s retry after attempt %d: %s (status %s), waiting %d ms",
            provider,
            self.attempt,
            error.reason,
            error.status,
            payload["delay_ms"],
        )
        emit("allm.adapter.retry", payload)
        if self.trace is not None:
            self.trace.retry(attempt=self.attempt, delay=delay, reason=error.reason, status=error.status)
