"""Spans: one record per allm operation, seen by the callbacks and by OpenTelemetry.

Every operation allm runs is one :class:`Span`: a model call, a chat-loop
step, a whole chat loop, a tool run, a session operation. A span has an id and
its parent's id, and feeds two sinks from the same data:

* the callback handlers of :mod:`allm.telemetry` (``allm.<kind>.start`` /
  ``.stop`` / ``.exception`` payloads carrying ``span_id`` and ``parent_id``);
* OpenTelemetry, when ``opentelemetry-api`` is installed: spans and metrics by
  the GenAI semantic conventions (``chat {model}``, ``execute_tool {name}``, and
  ``allm.chat`` / ``allm.step`` / ``allm.session.<op>`` around them). Without
  it nothing is imported and a span with no callback handler is a shared no-op.

Parents: a span's parent is the allm span current in this context
(:meth:`Span.active`), else OpenTelemetry's current span, so allm spans nest
under the caller's own. Generators never keep a span current across a yield;
the chat loop and streams pass their spans on explicitly and make them current
only around the work they do (opening a call, pulling a chunk, running a tool),
so worker threads and tasks get the right parent too.

Kinds, names and attributes:

| kind | callback names | OTel span | OTel kind | ``gen_ai.operation.name`` |
|---|---|---|---|---|
| ``generate`` | ``allm.generate.*`` | ``chat {model}`` | CLIENT | ``chat`` |
| ``tool`` | ``allm.tool.*`` | ``execute_tool {name}`` | INTERNAL | ``execute_tool`` |
| ``step`` | ``allm.step.*`` | ``allm.step`` | INTERNAL | |
| ``chat`` | ``allm.chat.*`` | ``allm.chat`` | INTERNAL | |
| ``session`` | ``allm.session.*`` | ``allm.session.{op}`` | INTERNAL | |

Custom attributes: ``allm.request_id`` on every span, ``allm.cost_usd`` on a
model call whose price is known (see :mod:`allm._cost`).

Thread safety: a span is owned by the code that started it; starting and
ending spans is safe from any thread.
"""

from __future__ import annotations

import contextvars
import importlib.util
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

__all__ = [
    "Handler",
    "Span",
    "add_handler",
    "capture_content",
    "content_captured",
    "current",
    "emit",
    "enabled",
    "metrics",
    "remove_handler",
    "start",
    "tracing",
]

Handler = Callable[[str, dict[str, Any]], None]
AttributeValue = str | bool | int | float | Sequence[str] | Sequence[int] | Sequence[float]

_log = logging.getLogger("allm.telemetry")
_handlers: list[Handler] = []
_ids = itertools.count(1)
_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("allm_span", default=None)
_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_capture: list[bool] = [os.environ.get(_CAPTURE_ENV, "").strip().lower() in ("1", "true", "yes")]
_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
_SECONDS_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]


# -- callbacks ---------------------------------------------------------------------------


def add_handler(handler: Handler) -> None:
    """Start sending telemetry callbacks to ``handler``."""
    _handlers.append(handler)


def remove_handler(handler: Handler) -> None:
    """Stop sending telemetry callbacks to ``handler`` (no error if it was not registered)."""
    if handler in _handlers:
        _handlers.remove(handler)


def emit(name: str, payload: dict[str, Any]) -> None:
    """Send one callback to every handler; a handler that raises is logged and ignored."""
    for handler in tuple(_handlers):
        try:
            handler(name, payload)
        except Exception:
            _log.exception("telemetry handler failed for %s", name)


def capture_content(enabled: bool) -> None:
    """Record prompts, completions, tool arguments and results on OTel spans (off by default).

    The default comes from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.
    API keys are never recorded, with capture on or off.
    """
    _capture[0] = bool(enabled)


def content_captured() -> bool:
    """Whether message content is recorded on spans."""
    return _capture[0]


# -- OpenTelemetry (imported on first use, only when installed) --------------------------


class _Otel:
    """The OpenTelemetry API objects allm uses: tracer, metric instruments, status helpers."""

    def __init__(self) -> None:
        from opentelemetry import context, metrics, trace

        from ._version import __version__

        self.trace = trace
        self.context = context
        self._meter_provider = metrics.get_meter_provider
        self._tracer_provider = trace.get_tracer_provider
        self.tracer = trace.get_tracer("allm", __version__)
        meter = metrics.get_meter("allm", __version__)
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.first_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            unit="s",
            description="Time to receive the first chunk of a streamed response",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.per_chunk = meter.create_histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            unit="s",
            description="Time per output chunk after the first one",
            explicit_bucket_boundaries_advisory=_SECONDS_BUCKETS,
        )
        self.client_kind = trace.SpanKind.CLIENT
        self.internal_kind = trace.SpanKind.INTERNAL


@cache
def _otel() -> _Otel | None:
    """The OpenTelemetry bridge, or None when opentelemetry-api is not installed."""
    try:
        if importlib.util.find_spec("opentelemetry") is None:
            return None
        return _Otel()
    except (ImportError, ValueError):
        return None


# -- spans -------------------------------------------------------------------------------


class Span:
    """One allm operation in flight (see the module docstring)."""

    __slots__ = ("_done", "_otel_span", "_started", "extra", "kind", "metadata", "parent_id", "span_id")

    def __init__(
        self,
        kind: str,
        metadata: dict[str, Any],
        parent: Span | None,
        otel_span: Any,
    ) -> None:
        self.kind = kind
        self.span_id = next(_ids)
        self.parent_id = parent.span_id if parent is not None else None
        self.metadata = metadata
        self.extra: dict[str, Any] = {}
        self._otel_span = otel_span
        self._started = time.perf_counter()
        self._done = False

    @property
    def recording(self) -> bool:
        """Whether an OpenTelemetry span records this operation."""
        return self._otel_span is not None and bool(self._otel_span.is_recording())

    @property
    def elapsed(self) -> float:
        """Seconds since the span started."""
        return time.perf_counter() - self._started

    def set_attributes(self, attributes: Mapping[str, AttributeValue | None]) -> None:
        """Set OTel attributes (None values are skipped)."""
        if self._otel_span is not None:
            self._otel_span.set_attributes({k: v for k, v in attributes.items() if v is not None})

    def add_event(self, name: str, attributes: Mapping[str, AttributeValue | None]) -> None:
        """Record a point event (a retry, say) on the OTel span."""
        if self._otel_span is not None:
            self._otel_span.add_event(name, {k: v for k, v in attributes.items() if v is not None})

    def end(self, error: BaseException | None = None) -> None:
        """End the span once: the stop (or exception) callback, then the OTel span."""
        if self._done:
            return
        self._done = True
        duration_ms = self.elapsed * 1000.0
        if _handlers:
            ids = {"span_id": self.span_id, "parent_id": self.parent_id}
            if error is None:
                emit(
                    f"allm.{self.kind}.stop",
                    {**self.metadata, **self.extra, **ids, "duration_ms": duration_ms},
                )
            else:
                emit(
                    f"allm.{self.kind}.exception",
                    {**self.metadata, **ids, "duration_ms": duration_ms, "error": repr(error)},
                )
        span = self._otel_span
        if span is not None:
            if error is not None:
                self.fail(error)
            span.end()

    def fail(self, error: BaseException) -> None:
        """Mark the OTel span failed with ``error.type`` and an error status."""
        span = self._otel_span
        otel = _otel()
        if span is None or otel is None:
            return
        reason = getattr(error, "reason", None)
        span.set_attribute("error.type", str(reason) if reason else type(error).__qualname__)
        span.set_status(otel.trace.Status(otel.trace.StatusCode.ERROR, _error_text(error)))

    @contextmanager
    def active(self) -> Generator[Span, None, None]:
        """Make this span the parent of spans started inside the block (never across a yield)."""
        previous = _current.get()
        token = _current.set(self)
        try:
            yield self
        finally:
            try:
                _current.reset(token)
            except ValueError:  # closed from another context (a generator finalized elsewhere)
                _current.set(previous)

    @contextmanager
    def attached(self) -> Generator[Span, None, None]:
        """Make this span current for allm and for OpenTelemetry (in a worker thread or task)."""
        otel = _otel()
        context = self.otel_context()
        token = otel.context.attach(context) if otel is not None and context is not None else None
        try:
            with self.active():
                yield self
        finally:
            if token is not None and otel is not None:
                otel.context.detach(token)

    def otel_context(self) -> Any:
        """This span as an OpenTelemetry context (for starting children), or None."""
        otel = _otel()
        if self._otel_span is None or otel is None:
            return None
        return otel.trace.set_span_in_context(self._otel_span)


def _error_text(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return str(message if message is not None else error)[:500]


def enabled() -> bool:
    """Whether anyone listens: a callback handler, a tracer provider or a meter provider.

    Callers skip building telemetry entirely when nobody does.
    """
    return bool(_handlers) or tracing() is not None or metrics() is not None


def current() -> Span | None:
    """The allm span current in this context, if any."""
    return _current.get()


def start(
    kind: str,
    otel_name: str,
    *,
    client: bool = False,
    attributes: Mapping[str, AttributeValue | None] | None = None,
    parent: Span | None = None,
    **metadata: Any,
) -> Span:
    """Start a span of ``kind``; its parent is ``parent``, else the current allm span."""
    parent = parent if parent is not None else _current.get()
    otel = tracing()
    otel_span = None
    if otel is not None:
        context = parent.otel_context() if parent is not None else None
        otel_span = otel.tracer.start_span(
            otel_name,
            context=context,
            kind=otel.client_kind if client else otel.internal_kind,
            attributes={k: v for k, v in (attributes or {}).items() if v is not None},
        )
    span = Span(kind, metadata, parent, otel_span)
    if _handlers:
        emit(f"allm.{kind}.start", {**metadata, "span_id": span.span_id, "parent_id": span.parent_id})
    return span


_NO_METRICS = frozenset({"_ProxyMeterProvider", "NoOpMeterProvider"})
_NO_TRACING = frozenset({"ProxyTracerProvider", "NoOpTracerProvider"})


def _configured(provider: Callable[[], object], placeholders: frozenset[str]) -> _Otel | None:
    otel = _otel()
    if otel is None or type(provider()).__name__ in placeholders:
        return None
    return otel


def tracing() -> _Otel | None:
    """The OpenTelemetry bridge while a tracer provider is set, else None (spans would be no-ops)."""
    otel = _otel()
    return None if otel is None else _configured(otel._tracer_provider, _NO_TRACING)


def metrics() -> _Otel | None:
    """The metric instruments, or None without OpenTelemetry or while no meter provider is set
    (recording into the API's no-op instruments would only cost time)."""
    otel = _otel()
    return None if otel is None else _configured(otel._meter_provider, _NO_METRICS)


def content_json(value: Any) -> str:
    """``value`` as compact JSON for a content attribute (non-JSON values as their repr)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=repr)
