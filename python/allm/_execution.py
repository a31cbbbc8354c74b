"""Stateless execution (Layer C): generate and stream_generate, sync and async.

``generate`` is ``stream_generate`` folded, through one code path
(:meth:`EventStream.get_final_response`). Pre-flight failures raise at call
time; mid-stream failures come back as ``finish_reason == "error"``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import telemetry
from ._engine import Engine
from ._options import StreamOptions
from ._request import Request
from ._results import Response
from ._source import Call
from ._stream import AsyncEventStream, EventStream
from ._validation import validate_request

__all__ = ["agenerate", "astream_generate", "generate", "prepare_request", "stream_generate"]

_PARAM_FIELDS = ("temperature", "max_tokens", "tool_choice", "response_format")


def prepare_request(engine: Engine, request: Request) -> Request:
    """Apply the engine's model, tools and params to ``request`` where it is silent."""
    changes: dict[str, Any] = {}
    if request.model is None and engine.model is not None:
        changes["model"] = engine.model
    named = {t.name for t in request.tools}
    extra_tools = tuple(t for t in engine.tools if t.name not in named)
    if extra_tools:
        changes["tools"] = request.tools + extra_tools
    params = dict(engine.params or {})
    for name in _PARAM_FIELDS:
        value = params.pop(name, None)
        if value is not None and getattr(request, name) is None:
            changes[name] = value
    if params:
        changes["options"] = {**params, **request.options}
    return replace(request, **changes) if changes else request


def _open_args(engine: Engine, request: Request, opts: dict[str, Any]) -> tuple[Request, StreamOptions, Call]:
    options, rest = StreamOptions.parse(opts)
    request = prepare_request(engine, request)
    validate_request(request)
    call = Call(request_id=options.request_id, options=rest, context=dict(engine.context or {}))
    return request, options, call


def stream_generate(engine: Engine, request: Request, **opts: Any) -> EventStream:
    """Start one model call and return its event stream (nothing is sent yet).

    Options: ``emit_text_deltas``, ``emit_tool_deltas``, ``include_raw_chunks``,
    ``on_event``, ``request_id``; others go to the adapter.
    """
    request, options, call = _open_args(engine, request, opts)
    source = engine.instance.open(request, call)
    return EventStream(source, options, request)


def _span_meta(engine: Engine, stream: EventStream | AsyncEventStream) -> dict[str, Any]:
    adapter = engine.adapter.name if engine.adapter else None
    return {"request_id": stream.request_id, "adapter": adapter, "model": stream.model}


def generate(engine: Engine, request: Request, **opts: Any) -> Response:
    """Run one model call and return its folded Response."""
    with (
        stream_generate(engine, request, **opts) as stream,
        telemetry.span("generate", **_span_meta(engine, stream)) as extra,
    ):
        response = stream.get_final_response()
        extra["finish_reason"] = response.finish_reason
        return response


def astream_generate(engine: Engine, request: Request, **opts: Any) -> AsyncEventStream:
    """Async twin of :func:`stream_generate` (pre-flight checks still run at call time)."""
    request, options, call = _open_args(engine, request, opts)
    source = engine.instance.aopen(request, call)
    return AsyncEventStream(source, options, request)


async def agenerate(engine: Engine, request: Request, **opts: Any) -> Response:
    """Async twin of :func:`generate`."""
    async with astream_generate(engine, request, **opts) as stream:
        with telemetry.span("generate", **_span_meta(engine, stream)) as extra:
            response = await stream.get_final_response()
            extra["finish_reason"] = response.finish_reason
            return response
