"""Running the tool calls of one step: validation, concurrency, timeouts, results, events.

A handler takes the parsed arguments, or the arguments and a :class:`ToolContext`
(the engine's context, the session id, the request id and the ToolCall). It may be
a plain function (run in a daemon thread of its own) or a coroutine function (run
as a task on the caller's loop; in synchronous code, on a private loop inside the
worker thread). Every call of a step runs concurrently, each bounded by
``tool_timeout`` seconds (default 30; ``None`` waits forever). A timed-out
coroutine is cancelled; a timed-out plain function cannot be stopped by Python, so
its thread is abandoned (it is a daemon thread and never blocks interpreter exit)
and its eventual result is ignored.

Before a handler runs, its arguments are checked against the tool's JSON schema
with the ``jsonschema`` library (a required dependency, imported on first use;
a schema's validator is built once and reused).

What a handler returns decides the outcome:

* any value: success, encoded as the tool message's text (strings verbatim,
  everything else as JSON);
* :class:`allm.ToolError` (returned or raised) or any other exception: an error,
  handled by ``on_tool_error``;
* :func:`ask_user` (``allm.ask_user(question, **options)``): suspend the loop and
  ask the human;
* :func:`halt` (``allm.halt(reason, result)``): stop the loop with a custom reason.
  Reasons allm uses itself (:data:`RESERVED_HALT_REASONS`) are rejected as a tool
  error.

``on_tool_error`` is ``"continue"`` (the error goes back to the model as the
tool's result; the default), ``"halt"`` (the loop stops with ``tool_error`` once
the step's other tools are done), or a callable ``(tool_call, error)`` returning
``("continue", value)`` (``value`` becomes the tool's result) or ``"halt"``; a
callable that raises or returns anything else halts.

An unknown tool name is a ``ToolError("not_found")``, handled like any other error,
so by default the model is told and can recover.

Per call, once it finishes, the runner yields one batch of events:
``tool_execution_started``, ``tool_execution_completed`` and one of
``tool_result_encoded`` / ``ask_user_requested`` / ``tool_halt``. Batches come in
completion order; the collector puts the tool messages back in the order the
model asked for them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import inspect
import json
import queue
import reprlib
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from ._aio import within
from ._call_telemetry import record_tool_result, tool_span
from ._messages import ToolCall
from ._spans import Span
from ._tool import Tool
from .errors import ToolError, ValidationError
from .events import (
    AskUserRequested,
    Event,
    ToolExecutionCompleted,
    ToolExecutionStarted,
    ToolHalt,
    ToolResultEncoded,
)

__all__ = [
    "AWAITING_USER",
    "DEFAULT_TOOL_TIMEOUT",
    "RESERVED_HALT_REASONS",
    "AskUser",
    "Halt",
    "ToolContext",
    "ToolRunner",
    "ask_user",
    "check_concurrency",
    "encode_result",
    "halt",
]

DEFAULT_TOOL_TIMEOUT = 30.0
"""Seconds a tool handler may run before it fails with ``ToolError("timeout")``."""

AWAITING_USER = "<awaiting user response>"
"""The tool message content of a call whose handler asked the user a question."""

RESERVED_HALT_REASONS: frozenset[str] = frozenset(
    {
        "ask_user",
        "max_turns",
        "halt_when",
        "tool_error",
        "cancelled",
        "completed",
        "error",
        "manual_tool_calls",
    }
)
"""Halt reasons allm uses itself; a handler's :func:`halt` may not use them."""

OnToolError = str | Callable[[ToolCall, ToolError], Any]


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a two-argument handler receives besides the arguments.

    Thread safety: immutable; handlers of one step run concurrently and each gets its own.
    """

    context: Mapping[str, Any]
    session_id: str | None
    request_id: str
    tool_call: ToolCall
    engine: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class AskUser:
    """A handler's request to suspend the loop and ask the human ``question`` (immutable)."""

    question: str
    options: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class Halt:
    """A handler's request to stop the loop with a custom ``reason`` (immutable)."""

    reason: str
    result: Any = None


def ask_user(question: str, **options: Any) -> AskUser:
    """Return this from a handler to ask the human ``question`` (``options`` travel with it)."""
    return AskUser(question, dict(options))


def halt(reason: str, result: Any = None) -> Halt:
    """Return this from a handler to stop the chat loop with ``reason``; ``result`` is kept."""
    return Halt(reason, result)


def encode_result(value: Any) -> str:
    """The text a model sees for a tool result: strings verbatim, anything else as JSON.

    Raises ``TypeError``/``ValueError`` for values JSON cannot hold (NaN included,
    and values nested too deeply to encode).
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except RecursionError as exc:
        raise ValueError("the value is nested too deeply to encode as JSON") from exc


def encode_error(error: ToolError) -> str:
    """The JSON text a model sees for a failed tool call."""
    return encode_result({"error": {"reason": error.reason, "message": error.message}})


def check_on_tool_error(policy: object) -> OnToolError:
    """Validate an ``on_tool_error`` option; raise ValidationError if it is unusable."""
    if policy == "continue" or policy == "halt":
        return "continue" if policy == "continue" else "halt"
    if callable(policy):
        return policy
    raise ValidationError(
        "invalid_options",
        errors=[("on_tool_error", "must be 'continue', 'halt' or a callable (tool_call, error)")],
    )


def check_timeout(timeout: Any) -> float | None:
    """Validate a ``tool_timeout`` option (seconds, or None for no limit)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValidationError(
            "invalid_options", errors=[("tool_timeout", "must be a positive number of seconds or None")]
        )
    return float(timeout)


# ---------------------------------------------------------------------------
# Handler invocation
# ---------------------------------------------------------------------------


def _arity(handler: Callable[..., Any]) -> int:
    """How many positional arguments to pass: 2 when the handler takes a context, else 1."""
    try:
        params = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return 1
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params) or len(positional) >= 2:
        return 2
    return len(positional)


def _is_async(handler: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object whose __call__ is a coroutine function
    )


def _call_handler(handler: Callable[..., Any], arguments: dict[str, Any], context: ToolContext) -> Any:
    arity = _arity(handler)
    if arity == 2:
        return handler(arguments, context)
    if arity == 1:
        return handler(arguments)
    raise ToolError("invalid_return", "a tool handler must take (arguments) or (arguments, context)")


async def _await(value: Any) -> Any:
    return await value


def _run_in_thread(
    handler: Callable[..., Any], arguments: dict[str, Any], context: ToolContext, timeout: float | None
) -> Any:
    """The body of a worker thread: call the handler, running a returned awaitable to completion."""
    value = _call_handler(handler, arguments, context)
    if inspect.isawaitable(value):
        return asyncio.run(within(_await(value), timeout))
    return value


# ---------------------------------------------------------------------------
# Outcomes: what a finished call turns into
# ---------------------------------------------------------------------------


class _Failure:
    """Marks a handler that raised (kept apart from a handler that returned an exception)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _as_tool_error(error: BaseException, call: ToolCall) -> ToolError:
    if isinstance(error, ToolError):
        return ToolError(
            error.reason,
            error.message,
            tool_name=error.tool_name or call.name,
            tool_call_id=error.tool_call_id or call.id,
            cause=error.cause,
            metadata=error.metadata,
        )
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return ToolError(
            "timeout", f"tool {call.name!r} timed out", tool_name=call.name, tool_call_id=call.id
        )
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return ToolError("handler_raised", message, tool_name=call.name, tool_call_id=call.id, cause=error)


def _timeout_error(call: ToolCall, timeout: float) -> ToolError:
    return ToolError(
        "timeout",
        f"tool {call.name!r} did not finish within {timeout:g} s",
        tool_name=call.name,
        tool_call_id=call.id,
    )


def check_concurrency(value: object) -> int | None:
    """A ``max_tool_concurrency``: a positive int, or None for no cap; ValidationError otherwise."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise ValidationError(
        "invalid_options", errors=[("max_tool_concurrency", "must be a positive integer or None")]
    )


def _end_all(spans: Mapping[int, Span]) -> None:
    """End the spans of calls that never finished (the run was stopped early); no-op for the rest."""
    for span in spans.values():
        span.end()


class ToolRunner:
    """Runs the tool calls of one step and yields their events as each call finishes.

    Thread safety: the runner itself is read-only once built and may run several
    steps, one ``run``/``arun`` per consumer; the handlers it calls run concurrently
    (each in its own thread or task), so a handler shared by calls must be thread-safe.
    """

    def __init__(
        self,
        tools: Mapping[str, Tool],
        *,
        on_tool_error: OnToolError = "continue",
        tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT,
        request_id: str = "",
        session_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        engine: Any = None,
        parent: Span | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.tools = dict(tools)
        self.max_concurrency = check_concurrency(max_concurrency)
        self.parent = parent
        self.on_tool_error = check_on_tool_error(on_tool_error)
        self.tool_timeout = check_timeout(tool_timeout)
        self.request_id = request_id
        self.session_id = session_id
        self.context = dict(context or {})
        self.engine = engine

    # -- preparation -------------------------------------------------------

    def _context(self, call: ToolCall) -> ToolContext:
        return ToolContext(self.context, self.session_id, self.request_id, call, self.engine)

    def _precheck(self, call: ToolCall) -> ToolError | None:
        """The error that stops ``call`` before its handler runs, if any."""
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools)) or "none"
            return ToolError(
                "not_found",
                f"unknown tool {call.name!r}; available tools: {known}",
                tool_name=call.name,
                tool_call_id=call.id,
            )
        if tool.handler is None:
            return ToolError(
                "not_found", f"tool {call.name!r} has no handler", tool_name=call.name, tool_call_id=call.id
            )
        problem = _argument_problem(tool, call)
        if problem is not None:
            return ToolError("invalid_arguments", problem, tool_name=call.name, tool_call_id=call.id)
        return None

    def _span(self, call: ToolCall) -> Span:
        return tool_span(
            call.name,
            call.id,
            call.arguments,
            request_id=self.request_id,
            parent=self.parent,
            tool_call=call,
            session_id=self.session_id,
        )

    # -- synchronous -------------------------------------------------------

    def run(self, calls: Sequence[ToolCall]) -> Generator[list[Event], None, None]:
        """Run ``calls`` concurrently in threads; yield each call's events as it finishes."""
        done: queue.Queue[tuple[int, Any]] = queue.Queue()
        deadlines: dict[int, float] = {}
        spans: dict[int, Span] = {}
        waiting: collections.deque[int] = collections.deque()
        for index, call in enumerate(calls):
            spans[index] = self._span(call)
            error = self._precheck(call)
            if error is None:
                waiting.append(index)
            else:
                done.put((index, error))
        finished: set[int] = set()

        def launch() -> None:  # start waiting calls while fewer than max_concurrency run
            cap = self.max_concurrency
            while waiting and (cap is None or len(deadlines) - len(finished & deadlines.keys()) < cap):
                index = waiting.popleft()
                deadlines[index] = time.monotonic() + self.tool_timeout if self.tool_timeout else float("inf")
                self._start_thread(index, calls[index], done, spans[index])

        try:
            launch()
            while len(finished) < len(calls):
                index, outcome = self._next_outcome(done, deadlines, finished, calls)
                if index in finished:
                    continue  # a late result of a call that already timed out
                finished.add(index)
                launch()
                yield self._finish(calls[index], outcome, spans[index])
        finally:
            _end_all(spans)

    def _handler(self, call: ToolCall) -> Callable[..., Any]:
        handler = self.tools[call.name].handler
        assert handler is not None  # _precheck turned a missing handler into an error
        return handler

    def _start_thread(
        self, index: int, call: ToolCall, done: queue.Queue[tuple[int, Any]], span: Span
    ) -> None:
        handler = self._handler(call)
        context = self._context(call)

        def work() -> None:
            try:
                with span.attached():  # the handler's own spans nest under execute_tool
                    done.put((index, _run_in_thread(handler, call.arguments, context, self.tool_timeout)))
            except BaseException as exc:
                done.put((index, _Failure(exc)))

        threading.Thread(target=work, name=f"allm-tool-{call.name}", daemon=True).start()

    def _next_outcome(
        self,
        done: queue.Queue[tuple[int, Any]],
        deadlines: dict[int, float],
        finished: set[int],
        calls: Sequence[ToolCall],
    ) -> tuple[int, Any]:
        while True:
            waiting = {i: d for i, d in deadlines.items() if i not in finished}
            nearest = min(waiting.values(), default=float("inf"))
            wait = None if nearest == float("inf") else max(0.0, nearest - time.monotonic())
            try:
                return done.get(timeout=wait)
            except queue.Empty:
                for index, deadline in waiting.items():
                    if deadline <= time.monotonic():
                        return index, _Failure(_timeout_error(calls[index], self.tool_timeout or 0.0))

    # -- asynchronous ------------------------------------------------------

    async def arun(self, calls: Sequence[ToolCall]) -> AsyncGenerator[list[Event], None]:
        """Async twin of :meth:`run`: coroutine handlers as tasks, plain ones in threads."""
        spans = {index: self._span(call) for index, call in enumerate(calls)}
        slots = asyncio.Semaphore(self.max_concurrency or len(calls) or 1)
        tasks: list[asyncio.Future[tuple[int, Any]]] = []
        for index, call in enumerate(calls):
            with spans[index].attached():  # the task (and any thread it starts) copies this context
                tasks.append(asyncio.ensure_future(self._one_async(index, call, slots)))
        try:
            for next_done in asyncio.as_completed(tasks):
                index, outcome = await next_done
                yield self._finish(calls[index], outcome, spans[index])
        finally:
            for task in tasks:
                task.cancel()
            _end_all(spans)

    async def _one_async(self, index: int, call: ToolCall, slots: asyncio.Semaphore) -> tuple[int, Any]:
        async with slots:
            return await self._one_async_now(index, call)

    async def _one_async_now(self, index: int, call: ToolCall) -> tuple[int, Any]:
        error = self._precheck(call)
        if error is not None:
            return index, error
        handler = self._handler(call)
        context = self._context(call)
        try:
            if _is_async(handler):
                value = await within(
                    _await(_call_handler(handler, call.arguments, context)), self.tool_timeout
                )
            else:
                value = await within(self._thread_future(handler, call, context), self.tool_timeout)
        except (asyncio.TimeoutError, TimeoutError):
            return index, _Failure(_timeout_error(call, self.tool_timeout or 0.0))
        except Exception as exc:
            return index, _Failure(exc)
        return index, value

    def _thread_future(
        self, handler: Callable[..., Any], call: ToolCall, context: ToolContext
    ) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(value: Any, error: BaseException | None) -> None:
            if not future.done():
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)

        caller = contextvars.copy_context()  # the task's: its execute_tool span is current there

        def work() -> None:
            try:
                run = _run_in_thread
                value, error = caller.run(run, handler, call.arguments, context, self.tool_timeout), None
            except BaseException as exc:
                value, error = None, exc
            with contextlib.suppress(RuntimeError):  # the loop is gone; nobody is waiting any more
                loop.call_soon_threadsafe(settle, value, error)

        threading.Thread(target=work, name=f"allm-tool-{call.name}", daemon=True).start()
        return future

    # -- outcomes ----------------------------------------------------------

    def _finish(self, call: ToolCall, outcome: Any, span: Span) -> list[Event]:
        """The events of one finished call (and the end of its telemetry span)."""
        raised = isinstance(outcome, (_Failure, ToolError))
        value = outcome.error if isinstance(outcome, _Failure) else outcome
        events = self._events(call, value)
        if raised or isinstance(value, BaseException):
            span.end(_as_tool_error(value, call))
        else:
            span.extra["result"] = value
            record_tool_result(span, value)
            span.end()
        return events

    def _events(self, call: ToolCall, value: Any) -> list[Event]:
        started = ToolExecutionStarted(call.id, call.name, call.arguments)
        if isinstance(value, AskUser):
            return [
                started,
                ToolExecutionCompleted(call.id, call.name, value),
                AskUserRequested(call.id, call.name, value.question, dict(value.options)),
            ]
        if isinstance(value, Halt) and _legal_halt(value):
            return [
                started,
                ToolExecutionCompleted(call.id, call.name, value),
                ToolHalt(call.id, value.reason, value.result, _encode_halt_result(value.result)),
            ]
        if isinstance(value, Halt):
            value = ToolError(
                "invalid_return", f"halt reason {value.reason!r} is reserved or not a non-empty string"
            )
        if not isinstance(value, BaseException):
            try:
                content = encode_result(value)
            except (TypeError, ValueError) as exc:
                value = ToolError(
                    "encoding_failed", f"the result cannot be encoded as JSON: {exc}", cause=exc
                )
            else:
                return [
                    started,
                    ToolExecutionCompleted(call.id, call.name, value),
                    ToolResultEncoded(call.id, call.name, content),
                ]
        error = _as_tool_error(value, call)
        completed = ToolExecutionCompleted(call.id, call.name, error, True)
        return [started, completed, self._on_error(call, error)]

    def _on_error(self, call: ToolCall, error: ToolError) -> Event:
        policy = self.on_tool_error
        content = encode_error(error)
        if policy == "continue":
            return ToolResultEncoded(call.id, call.name, content)
        if not isinstance(policy, str):
            try:
                decision: object = policy(call, error)
            except Exception as exc:
                error.metadata["on_tool_error_exception"] = f"{type(exc).__name__}: {exc}"
                decision = "halt"
            pair = cast("tuple[object, ...]", decision) if isinstance(decision, tuple) else ()
            if len(pair) == 2 and pair[0] == "continue":
                try:
                    return ToolResultEncoded(call.id, call.name, encode_result(pair[1]))
                except (TypeError, ValueError) as exc:
                    error.metadata["on_tool_error_exception"] = f"cannot encode the value: {exc}"
            elif decision != "halt":
                shown = reprlib.repr(decision)  # pyright: ignore[reportUnknownArgumentType]
                error.metadata["on_tool_error_exception"] = f"invalid decision {shown}"
        return ToolHalt(call.id, "tool_error", error, content)


def _legal_halt(value: Halt) -> bool:
    reason = cast(object, value.reason)  # a handler may have built the Halt with anything
    return isinstance(reason, str) and bool(reason) and reason not in RESERVED_HALT_REASONS


def _encode_halt_result(result: Any) -> str:
    try:
        return encode_result(result)
    except (TypeError, ValueError):
        return reprlib.repr(result)


@lru_cache(maxsize=512)
def _validator(schema_text: str) -> Any:
    """The jsonschema validator of a schema (given as canonical JSON text, so it can be cached)."""
    from jsonschema import validators  # type: ignore[import-untyped,unused-ignore]

    schema = json.loads(schema_text)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _argument_problem(tool: Tool, call: ToolCall) -> str | None:
    """Why ``call``'s arguments are unacceptable for ``tool``, or None."""
    if not call.arguments and call.raw_arguments.strip():
        try:
            parsed = json.loads(call.raw_arguments)
        except RecursionError:
            return "the arguments are nested too deeply"
        except ValueError:
            return f"the arguments are not valid JSON: {call.raw_arguments[:200]!r}"
        if not isinstance(parsed, dict):
            return "the arguments must be a JSON object"
    import jsonschema  # type: ignore[import-untyped,unused-ignore]  # on first use: a fifth of import time

    try:
        validator = _validator(json.dumps(tool.schema, sort_keys=True))
    except jsonschema.SchemaError as exc:
        return f"the tool's schema is invalid: {exc.message}"
    try:
        problems = sorted(validator.iter_errors(call.arguments), key=lambda e: list(map(str, e.path)))
    except RecursionError:
        return "the arguments are nested too deeply to validate"
    if not problems:
        return None
    return "; ".join(f"{'/'.join(map(str, e.path)) or '(arguments)'}: {e.message}" for e in problems[:10])
