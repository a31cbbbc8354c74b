"""Stateless execution (Layer C): generate and stream_generate, sync and async.

``generate`` is ``stream_generate`` folded, through one code path
(:meth:`EventStream.get_final_response`). Pre-flight failures raise at call
time; mid-stream failures come back as ``finish_reason == "error"``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import _spans
from ._call_telemetry import CallTrace
from ._engine import Engine
from ._options import StreamOptions
from ._request import Request
from ._results import Response
from ._source import Call
from ._stream import AsyncEventStream, EventStream
from ._validation import validate_request
from .errors import ValidationError

if TYPE_CHECKING:
    from .providers.base import Adapter

__all__ = [
    "REQUEST_FIELDS",
    "STREAM_OPTIONS",
    "agenerate",
    "astream_generate",
    "check_call_options",
    "generate",
    "prepare_request",
    "stream_generate",
]

_PARAM_FIELDS = (
    "temperature",
    "max_tokens",
    "tool_choice",
    "response_format",
    "top_p",
    "stop",
    "seed",
    "parallel_tool_calls",
    "reasoning",
)
REQUEST_FIELDS = ("model", *_PARAM_FIELDS)
"""Request fields every entry point takes as keywords (they override the request's)."""
STREAM_OPTIONS = ("emit_text_deltas", "emit_tool_deltas", "include_raw_chunks", "on_event", "request_id")


def check_call_options(adapter: Adapter, rest: dict[str, Any], *, accepted: tuple[str, ...]) -> None:
    """Refuse keywords nobody takes: not ``accepted`` by the entry point nor the adapter's call options."""
    unknown = sorted(set(rest) - set(adapter.call_options))
    if unknown:
        names = ", ".join((*accepted, *adapter.call_options))
        raise ValidationError(
            "invalid_options", errors=[(name, f"unknown option; accepted: {names}") for name in unknown]
        )


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
    fields = {name: rest.pop(name) for name in REQUEST_FIELDS if name in rest}
    adapter = engine.instance
    check_call_options(adapter, rest, accepted=(*STREAM_OPTIONS, *REQUEST_FIELDS))
    if fields:
        request = replace(request, **fields)
    request = prepare_request(engine, request)
    validate_request(request)
    trace = _trace(adapter, request) if _spans.enabled() else None
    call = Call(request_id=options.request_id, options=rest, context=dict(engine.context or {}), trace=trace)
    return request, options, call


def _provider(adapter: Adapter) -> str:
    return str(getattr(adapter, "provider", adapter.name))


def _trace(adapter: Adapter, request: Request) -> CallTrace:
    base_url = getattr(adapter, "base_url", None)
    return CallTrace(
        provider=_provider(adapter), request=request, base_url=base_url if isinstance(base_url, str) else None
    )


def stream_generate(engine: Engine, request: Request, **opts: Any) -> EventStream:
    """Start one model call and return its event stream (nothing is sent yet).

    Options: ``emit_text_deltas``, ``emit_tool_deltas``, ``include_raw_chunks``,
    ``on_event``, ``request_id``; the request fields of :data:`REQUEST_FIELDS`
    (they override the request's); and the adapter's ``call_options`` (OpenAI:
    ``endpoint``). Anything else is a ``ValidationError`` naming what is accepted.
    """
    request, options, call = _open_args(engine, request, opts)
    adapter = engine.instance
    return EventStream(adapter.open(request, call), options, request, _provider(adapter), call.trace)


def generate(engine: Engine, request: Request, **opts: Any) -> Response:
    """Run one model call and return its folded Response."""
    with stream_generate(engine, request, **opts) as stream:
        return stream.get_final_response()


def astream_generate(engine: Engine, request: Request, **opts: Any) -> AsyncEventStream:
    """Async twin of :func:`stream_generate` (pre-flight checks still run at call time)."""
    request, options, call = _open_args(engine, request, opts)
    adapter = engine.instance
    return AsyncEventStream(adapter.aopen(request, call), options, request, _provider(adapter), call.trace)


async def agenerate(engine: Engine, request: Request, **opts: Any) -> Response:
    """Async twin of :func:`generate`."""
    async with astream_generate(engine, request, **opts) as stream:
        return await stream.get_final_response()
