"""Telemetry of one model call and one tool run, by the OpenTelemetry GenAI conventions.

:class:`ModelCallTelemetry` is what a stream records about its model call: the
``chat {model}`` span (request attributes at the start; response id, model,
finish reasons, usage, cost and ``error.type`` at the end; retries as span
events), the client metrics (token usage, operation duration, time to first
chunk and time per output chunk for streams), and, with content capture on,
the input and output messages. :func:`tool_span` does the same for
``execute_tool {name}``. Both sit on :mod:`allm._spans`, so the callback
handlers see the same spans with the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from . import _spans
from ._messages import ImagePart, Message, TextPart
from ._request import Request
from ._results import Response
from ._spans import Span

__all__ = ["CallTrace", "ModelCallTelemetry", "provider_name", "server_of", "tool_span"]

_PROVIDER_NAMES = {"gemini": "gcp.gemini"}
_CONTENT_EVENTS = frozenset({"text_delta", "tool_call_delta", "tool_call_started", "text_completed"})


def provider_name(provider: str) -> str:
    """The ``gen_ai.provider.name`` of an allm provider."""
    return _PROVIDER_NAMES.get(provider, provider)


def server_of(base_url: str | None) -> tuple[str | None, int | None]:
    """``(server.address, server.port)`` of a base URL."""
    if not base_url:
        return None, None
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return parts.hostname, port


class ModelCallTelemetry:
    """The span and metrics of one model call (``generate``, a stream, a chat step's call)."""

    __slots__ = ("_base", "_first_at", "_last_at", "_metrics", "_request", "_streaming", "span")

    def __init__(
        self,
        *,
        provider: str,
        request: Request,
        request_id: str,
        base_url: str | None,
        streaming: bool,
        parent: Span | None = None,
    ) -> None:
        address, port = server_of(base_url)
        self._base: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_name(provider),
            "gen_ai.request.model": request.model,
            "server.address": address,
            "server.port": port,
        }
        self._request = request
        self._streaming = streaming
        self._metrics = _spans.metrics()
        self._first_at: float | None = None
        self._last_at: float | None = None
        attributes = {
            **self._base,
            "gen_ai.request.temperature": request.temperature,
            "gen_ai.request.max_tokens": request.max_tokens,
            "gen_ai.request.top_p": request.top_p,
            "gen_ai.request.seed": request.seed,
            "gen_ai.request.stop_sequences": list(request.stop) if request.stop else None,
            "allm.request_id": request_id,
        }
        self.span = _spans.start(
            "generate",
            f"chat {request.model}" if request.model else "chat",
            client=True,
            attributes=attributes if _spans.tracing() else None,
            parent=parent,
            request_id=request_id,
            adapter=provider,
            model=request.model,
        )
        if _spans.content_captured() and self.span.recording:
            self.span.set_attributes(_input_content(request.messages))

    def observe(self, batch: Sequence[Any]) -> None:
        """Note a batch of events: the first content event times the first chunk."""
        if not self._streaming or self._metrics is None or not batch:
            return
        if not any(event.type in _CONTENT_EVENTS for event in batch):
            return
        now = self.span.elapsed
        if self._first_at is None:
            self._first_at = now
        elif self._last_at is not None:
            self._metrics.per_chunk.record(now - self._last_at, self._metric_attributes(None))
        self._last_at = now

    def retry(self, *, attempt: int, delay: float, reason: str, status: int | None) -> None:
        """Record a retry as a span event."""
        self.span.add_event(
            "allm.retry",
            {
                "allm.attempt": attempt,
                "allm.delay_s": delay,
                "error.type": reason,
                "http.response.status_code": status,
            },
        )

    def finish(self, response: Response) -> None:
        """Record the response (attributes, metrics, content) and end the span."""
        error = response.error
        self.span.extra["finish_reason"] = response.finish_reason
        self.span.extra["response"] = response
        if self.span.recording:
            self._record_response(response)
        if error is not None:
            self.span.fail(error)
        self._record_metrics(response)
        self.span.end()

    def _record_response(self, response: Response) -> None:
        usage = response.usage
        cost = response.cost
        self.span.set_attributes(
            {
                "gen_ai.response.id": response.id,
                "gen_ai.response.model": response.model,
                "gen_ai.response.finish_reasons": [response.finish_reason]
                if response.finish_reason
                else None,
                "gen_ai.usage.input_tokens": usage.input_tokens if usage else None,
                "gen_ai.usage.output_tokens": usage.output_tokens if usage else None,
                "gen_ai.usage.cache_read.input_tokens": usage.cached_input_tokens if usage else None,
                "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_input_tokens if usage else None,
                "allm.cost_usd": float(cost) if cost is not None else None,
            }
        )
        if _spans.content_captured():
            self.span.set_attributes(_output_content(response))

    def abandon(self) -> None:
        """The consumer stopped early: end the span, marked as cancelled."""
        self.span.set_attributes({"allm.cancelled": True})
        self.span.end()

    def _metric_attributes(self, response: Response | None) -> dict[str, Any]:
        attributes = {k: v for k, v in self._base.items() if v is not None}
        if response is not None:
            if response.model:
                attributes["gen_ai.response.model"] = response.model
            error = response.error
            if error is not None:
                attributes["error.type"] = str(getattr(error, "reason", None) or type(error).__qualname__)
        return attributes

    def _record_metrics(self, response: Response) -> None:
        metrics = self._metrics
        if metrics is None:
            return
        attributes = self._metric_attributes(response)
        metrics.duration.record(self.span.elapsed, attributes)
        usage = response.usage
        if usage is not None:
            metrics.token_usage.record(usage.input_tokens, {**attributes, "gen_ai.token.type": "input"})
            metrics.token_usage.record(usage.output_tokens, {**attributes, "gen_ai.token.type": "output"})
        if self._streaming and self._first_at is not None:
            metrics.first_chunk.record(self._first_at, attributes)


class CallTrace:
    """The telemetry of one model call from its stream's point of view.

    Built when the call is opened (only when someone listens, see
    :func:`allm._spans.enabled`); the span starts at the first pull (nothing is
    sent before) under ``parent`` (the allm span current at opening, or one the
    chat loop assigns) and ends exactly once: finished with the Response, or
    abandoned when the consumer stops early.
    """

    __slots__ = ("_base_url", "_call", "_provider", "_request", "parent")

    def __init__(self, *, provider: str, request: Request, base_url: str | None) -> None:
        self._provider = provider
        self._request = request
        self._base_url = base_url
        self._call: ModelCallTelemetry | None = None
        self.parent = _spans.current()

    def begin(self, request_id: str, *, streaming: bool) -> None:
        """Start the span (once)."""
        if self._call is None:
            self._call = ModelCallTelemetry(
                provider=self._provider,
                request=self._request,
                request_id=request_id,
                base_url=self._base_url,
                streaming=streaming,
                parent=self.parent,
            )

    def observe(self, batch: Sequence[Any]) -> None:
        """A batch reached the consumer."""
        if self._call is not None:
            self._call.observe(batch)

    def retry(self, *, attempt: int, delay: float, reason: str, status: int | None) -> None:
        """A failed attempt is retried after ``delay`` seconds."""
        if self._call is not None:
            self._call.retry(attempt=attempt, delay=delay, reason=reason, status=status)

    def end(self, response: Response | None) -> None:
        """Finish with ``response``, or abandon (None: the consumer stopped early)."""
        call, self._call = self._call, None
        if call is None:
            return
        if response is None:
            call.abandon()
        else:
            call.finish(response)


def tool_span(
    name: str,
    call_id: str,
    arguments: Mapping[str, Any],
    *,
    request_id: str,
    parent: Span | None,
    **metadata: Any,
) -> Span:
    """Start the ``execute_tool {name}`` span of one tool run (``metadata``: more callback payload)."""
    span = _spans.start(
        "tool",
        f"execute_tool {name}",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.type": "function",
            "allm.request_id": request_id,
        },
        parent=parent,
        request_id=request_id,
        tool=name,
        tool_call_id=call_id,
        **metadata,
    )
    if _spans.content_captured() and span.recording:
        span.set_attributes({"gen_ai.tool.call.arguments": _spans.content_json(dict(arguments))})
    return span


def record_tool_result(span: Span, result: Any) -> None:
    """Record a tool's result on its span when content capture is on."""
    if _spans.content_captured() and span.recording:
        span.set_attributes({"gen_ai.tool.call.result": _spans.content_json(result)})


# -- content (opt-in) ------------------------------------------------------------------


def _parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if isinstance(message.content, str):
        if message.content:
            parts.append({"type": "text", "content": message.content})
    else:
        for part in message.content:
            if isinstance(part, TextPart):
                parts.append({"type": "text", "content": part.text})
            elif isinstance(part, ImagePart):  # pyright: ignore[reportUnnecessaryIsInstance] - parts grow
                parts.append({"type": "uri", "modality": "image", "uri": part.url or "<inline image>"})
    if message.role == "tool":
        return [{"type": "tool_call_response", "id": message.tool_call_id, "response": message.text}]
    for call in message.tool_calls:
        parts.append({"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments})
    return parts


def _input_content(messages: Sequence[Message]) -> dict[str, Any]:
    system = [p for m in messages if m.role == "system" for p in _parts(m)]
    rest = [{"role": m.role, "parts": _parts(m)} for m in messages if m.role != "system"]
    return {
        "gen_ai.system_instructions": _spans.content_json(system) if system else None,
        "gen_ai.input.messages": _spans.content_json(rest),
    }


def _output_content(response: Response) -> dict[str, Any]:
    message = {
        "role": "assistant",
        "parts": _parts(response.message),
        "finish_reason": response.finish_reason,
    }
    return {"gen_ai.output.messages": _spans.content_json([message])}
