"""The Fake provider: scripted replies, no network, for tests, demos and examples.

Scripts are given through ``adapter_opts``:

* ``script``: the entries of one call;
* ``scripts``: a list of scripts, one per call, consumed in order;
* ``stream_script``: like ``scripts`` (or one flat script); takes precedence.

Entries::

    ("text", "hello")                          a text delta
    ("tool_call", {"id", "name", "arguments"[, "raw_arguments", "metadata"]})
    ("tool_call_delta", {"id", "arguments_delta"[, "name"]})
    ("usage", {"input_tokens": 3, ...})        a usage raw chunk
    ("raw_chunk", data) or ("raw_chunk", (kind, data))
    ("finish", "stop")                         text_completed + message_completed; ends the call
    ("error", "rate_limited" | exception)      an error event; ends the call
    ("delay", 25)                              sleep 25 ms
    ("preflight_error", "invalid_request")     the call raises AdapterError before streaming

A script without ``finish`` ends with ``message_completed(None)``. Call cursors
belong to the engine: each engine starts at its first script and advances one
script per call; a script that runs dry raises
``AdapterError("no_scripted_response")`` at call time.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any, ClassVar, cast

from .. import _backend  # pyright: ignore[reportPrivateUsage]
from .._request import Request
from .._results import Response
from .._source import AsyncSource, Call, Source
from .._usage import Usage
from ..errors import AdapterError, AllmError, ValidationError
from ..events import (
    ErrorEvent,
    Event,
    MessageCompleted,
    MessageStarted,
    RawChunk,
    TextCompleted,
    TextDelta,
    ToolCallCompleted,
    ToolCallDelta,
    ToolCallStarted,
)
from .base import Adapter

__all__ = ["Fake"]

Entry = tuple[str, Any]
Step = list[Event] | float
"""A batch of events, or a delay in seconds."""

_TAGS = frozenset(
    {
        "text",
        "tool_call",
        "tool_call_delta",
        "usage",
        "raw_chunk",
        "finish",
        "error",
        "delay",
        "preflight_error",
    }
)


def _error_from(value: Any) -> AllmError:
    if isinstance(value, AllmError):
        return value
    if isinstance(value, str) and value in AdapterError.reasons:
        return AdapterError(value, provider="fake")
    if isinstance(value, BaseException):
        return AdapterError("unknown", str(value), provider="fake", cause=value)
    return AdapterError("unknown", repr(value), provider="fake")


def _script_steps(script: Sequence[Entry]) -> list[Step]:
    """Translate a script into batches of events and delays (pure; no I/O)."""
    steps: list[Step] = [[MessageStarted()]]
    text: list[str] = []
    started: set[str] = set()
    for tag, value in script:
        if tag == "text":
            if value:
                text.append(value)
                steps.append([TextDelta(value)])
        elif tag == "tool_call":
            args = dict(value.get("arguments") or {})
            raw = value.get("raw_arguments", json.dumps(args))
            batch: list[Event] = []
            if value["id"] not in started:
                started.add(value["id"])
                batch.append(ToolCallStarted(value["id"], value["name"]))
            batch.append(
                ToolCallCompleted(value["id"], value["name"], args, raw, dict(value.get("metadata") or {}))
            )
            steps.append(batch)
        elif tag == "tool_call_delta":
            batch = []
            if value.get("name") and value["id"] not in started:
                started.add(value["id"])
                batch.append(ToolCallStarted(value["id"], value["name"]))
            batch.append(ToolCallDelta(value["id"], value["arguments_delta"]))
            steps.append(batch)
        elif tag == "usage":
            steps.append([RawChunk("usage", value if isinstance(value, Usage) else Usage(**value))])
        elif tag == "raw_chunk":
            steps.append([_raw_chunk(value)])
        elif tag == "delay":
            steps.append(float(value) / 1000.0)
        elif tag == "error":
            steps.append([ErrorEvent(_error_from(value))])
            return steps
        elif tag == "finish":
            steps.append(_closing(text, value))
            return steps
    steps.append(_closing(text, None))
    return steps


def _raw_chunk(value: Any) -> RawChunk:
    """``(kind, data)`` gives that kind; anything else is raw data of kind "raw"."""
    if isinstance(value, tuple):
        pair = cast("tuple[object, ...]", value)
        if len(pair) == 2:
            return RawChunk(str(pair[0]), pair[1])
    return RawChunk("raw", value)


def _closing(text: list[str], finish: str | None) -> list[Event]:
    batch: list[Event] = [TextCompleted("".join(text))] if text else []
    batch.append(MessageCompleted(finish))
    return batch


def _check(script: object) -> list[Entry]:
    if not isinstance(script, (list, tuple)):
        raise ValidationError(
            "invalid_options", errors=[("script", "must be a list of (tag, value) entries")]
        )
    items: Sequence[object] = cast("Sequence[object]", script)
    entries: list[Entry] = []
    errors: list[tuple[str, str]] = []
    for i, entry in enumerate(items):
        pair: Sequence[Any] = cast("Sequence[Any]", entry) if isinstance(entry, (list, tuple)) else ()
        if len(pair) == 2 and pair[0] in _TAGS:
            entries.append((str(pair[0]), pair[1]))
        else:
            errors.append((f"script[{i}]", f"unknown entry {entry!r}"))
    if errors:
        raise ValidationError("invalid_options", errors=errors)
    for tag, value in entries:
        if tag == "preflight_error":
            raise _error_from(value)
    return entries


class Fake(Adapter):
    """A scripted provider: see the module docstring for the script format."""

    name: ClassVar[str] = "fake"

    def __init__(
        self,
        *,
        retry: Any = "default",
        script: Sequence[Entry] | None = None,
        scripts: Sequence[Sequence[Entry]] | None = None,
        stream_script: Sequence[Any] | None = None,
        structured_finalize: bool = False,
    ) -> None:
        super().__init__(retry=retry)
        if stream_script is not None:
            is_nested = bool(stream_script) and all(
                isinstance(s, (list, tuple)) and (not s or isinstance(s[0], (list, tuple)))
                for s in stream_script
            )
            self._scripts = list(stream_script) if is_nested else [list(stream_script)]
        elif scripts is not None:
            self._scripts = list(scripts)
        elif script is not None:
            self._scripts = [list(script)]
        else:
            self._scripts = []
        self._structured_finalize = structured_finalize
        self._cursor = 0
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    def requires_structured_finalize(self, request: Request) -> bool:
        """True when built with ``structured_finalize=True`` and the request has tools."""
        return self._structured_finalize and bool(request.tools)

    def _next_script(self, request: Request) -> list[Entry]:
        with self._lock:
            if self._cursor >= len(self._scripts):
                raise AdapterError(
                    "no_scripted_response",
                    f"the Fake has {len(self._scripts)} script(s) and all were used",
                    provider="fake",
                )
            script = self._scripts[self._cursor]
            self._cursor += 1
            self.requests.append(request)
        return _check(script)

    def open(self, request: Request, call: Call) -> Source:
        """Take the next script (pre-flight errors raise here)."""
        return _ScriptSource(self._next_script(request))

    def aopen(self, request: Request, call: Call) -> AsyncSource:
        """Async twin of :meth:`open`."""
        return _AsyncScriptSource(self._next_script(request))


class _ScriptState:
    """The steps of one scripted call and the fold of what it has produced."""

    def __init__(self, script: list[Entry]) -> None:
        self.steps = iter(_script_steps(script))
        self.fold = _backend.backend.Fold()

    def folded(self, batch: list[Event]) -> list[Event]:
        """``batch`` after folding it (every event; the stream's EventPath filters)."""
        self.fold.apply_many(batch)
        return batch


class _ScriptSource(Source):
    def __init__(self, script: list[Entry]) -> None:
        self._state = _ScriptState(script)

    def batches(self) -> Generator[list[Event], None, None]:
        for step in self._state.steps:
            if isinstance(step, list):
                yield self._state.folded(step)
            else:
                time.sleep(step)

    def drain(self) -> None:
        for _ in self.batches():
            pass

    def response(self) -> Response:
        response: Response = self._state.fold.response()
        return response

    def close(self) -> None:
        """Nothing to release: a script holds no connection."""


class _AsyncScriptSource(AsyncSource):
    def __init__(self, script: list[Entry]) -> None:
        self._state = _ScriptState(script)

    async def batches(self) -> AsyncGenerator[list[Event], None]:
        for step in self._state.steps:
            if isinstance(step, list):
                yield self._state.folded(step)
            else:
                await asyncio.sleep(step)

    async def drain(self) -> None:
        async for _ in self.batches():
            pass

    def response(self) -> Response:
        response: Response = self._state.fold.response()
        return response

    async def aclose(self) -> None:
        """Nothing to release: a script holds no connection."""

    def close_now(self) -> None:
        """Nothing to release: a script holds no connection."""
