"""Stateless tool-calling execution (Layer C): step, stream_step, chat, stream and async twins.

A *step* is one model call: the assistant message (with its tool calls) is appended
to the thread and, when the model asked for tools and the mode is ``"auto"``, the
tools run and their results are appended as tool messages in the order the model
asked for them. A step stream ends with exactly one ``step_completed`` event.

A *chat* runs steps until a terminal condition and ends with one
``chat_completed`` event. Per step, the first of these that holds ends the loop
(the ChatResult's ``halted_reason``):

1. ``ask_user``: a handler asked the human a question;
2. ``tool_error``: a tool failed under ``on_tool_error="halt"`` (or the callable said halt);
3. a custom reason from a handler's ``allm.halt(reason, result)``;
4. ``manual_tool_calls``: tool calls were held back (``mode="manual"`` or ``Tool.manual``);
5. ``completed``: finish reason stop, length or content_filter;
6. ``error``: finish reason error (a mid-stream failure, or a later step's pre-flight error);
7. ``halt_when``: ``halt_when(step_result)`` returned true;
8. ``max_turns``: that many steps ran (default 8; a non-positive value raises);
9. ``completed``: the step gave the model nothing new to read (no tool results).

Otherwise the loop continues with the next step.

``step`` is the fold of ``stream_step`` and ``chat`` the fold of ``stream``, through
one code path: the stream's :class:`~allm.StreamCollector` folds every event it
produces (before filtering), and the results travel in ``step_completed`` /
``chat_completed``. The streams are :class:`~allm.EventStream` /
:class:`~allm.AsyncEventStream` objects (iterators and context managers that close
the model call on ``break``, ``close()`` or garbage collection) with one more
method, ``get_final_result()``.

Options (keywords of every function here):

* request fields: ``model``, ``tools`` (added to the engine's; same name replaces),
  ``tool_choice``, ``temperature``, ``max_tokens``, ``response_format``;
* loop: ``mode`` (``"auto"``/``"manual"``), ``max_turns``, ``halt_when``,
  ``on_tool_error``, ``tool_timeout``, ``structured_finalize``,
  ``structured_finalize_nudge``, ``session_id``, ``context``;
* stream: ``emit_text_deltas``, ``emit_tool_deltas``, ``include_raw_chunks``,
  ``on_event``, ``request_id`` (one id for every model call and tool of the chat);
* anything else goes to the adapter.

Structured output: with ``response_format=allm.json_schema(...)`` and tools,
``structured_finalize=True`` (automatic when the adapter declares it needs it)
runs the tool loop without the schema, then, if that loop ended ``completed``,
``max_turns`` or ``halt_when``, one tool-free call with the schema after a nudge
user message (``structured_finalize_nudge``; empty skips it). The final call does
not count against ``max_turns``; its steps are part of the result.

Telemetry: spans ``chat`` ⊃ ``step`` ⊃ ``generate`` and ``tool`` (see
:mod:`allm.telemetry`), all carrying the chat's request id.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import telemetry
from ._collector import StreamCollector
from ._constructors import user
from ._engine import Engine
from ._execution import astream_generate, stream_generate
from ._messages import Message, Thread, ToolCall
from ._options import StreamOptions
from ._request import Request
from ._results import ChatResult, Response, StepResult
from ._source import AsyncSource, Source
from ._stream import AsyncEventStream, EventStream
from ._tool import Tool
from ._tool_runner import DEFAULT_TOOL_TIMEOUT, ToolRunner, check_on_tool_error, check_timeout
from .errors import AllmError, ValidationError
from .events import ChatCompleted, ErrorEvent, Event, StepCompleted

__all__ = [
    "AsyncChatStream",
    "ChatStream",
    "achat",
    "astep",
    "astream",
    "astream_step",
    "chat",
    "step",
    "stream",
    "stream_step",
]

DEFAULT_MAX_TURNS = 8
DEFAULT_NUDGE = "Now provide your final structured response."
_COMPLETED_FINISHES = frozenset({"stop", "length", "content_filter"})
_FINALIZE_AFTER = frozenset({"completed", "max_turns", "halt_when"})
_REQUEST_FIELDS = ("model", "tool_choice", "temperature", "max_tokens", "response_format")


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatOptions:
    """The parsed options of one step or chat call."""

    stream: StreamOptions
    request_fields: dict[str, Any]
    tools: tuple[Tool, ...]
    mode: str = "auto"
    max_turns: int = DEFAULT_MAX_TURNS
    halt_when: Callable[[StepResult], Any] | None = None
    on_tool_error: Any = "continue"
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT
    structured_finalize: bool | None = None
    nudge: str = DEFAULT_NUDGE
    session_id: str | None = None
    context: Mapping[str, Any] | None = None
    adapter_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, opts: dict[str, Any]) -> ChatOptions:
        """Split and check call options; raise ValidationError for unusable values."""
        stream_options, rest = StreamOptions.parse(opts)
        fields = {name: rest.pop(name) for name in _REQUEST_FIELDS if name in rest}
        values: dict[str, Any] = {
            "mode": rest.pop("mode", "auto"),
            "max_turns": rest.pop("max_turns", DEFAULT_MAX_TURNS),
            "halt_when": rest.pop("halt_when", None),
            "on_tool_error": check_on_tool_error(rest.pop("on_tool_error", "continue")),
            "tool_timeout": check_timeout(rest.pop("tool_timeout", DEFAULT_TOOL_TIMEOUT)),
            "structured_finalize": rest.pop("structured_finalize", None),
            "nudge": rest.pop("structured_finalize_nudge", DEFAULT_NUDGE),
            "session_id": rest.pop("session_id", None),
            "context": rest.pop("context", None),
        }
        tools = tuple(rest.pop("tools", ()) or ())
        _check(values, tools)
        return cls(stream=stream_options, request_fields=fields, tools=tools, adapter_options=rest, **values)


def _check(values: dict[str, Any], tools: tuple[Any, ...]) -> None:
    errors = []
    if values["mode"] not in ("auto", "manual"):
        errors.append(("mode", "must be 'auto' or 'manual'"))
    turns = values["max_turns"]
    if isinstance(turns, bool) or not isinstance(turns, int) or turns <= 0:
        errors.append(("max_turns", "must be a positive integer"))
    if values["halt_when"] is not None and not callable(values["halt_when"]):
        errors.append(("halt_when", "must be callable (step_result) -> bool"))
    if values["structured_finalize"] not in (None, True, False):
        errors.append(("structured_finalize", "must be a bool"))
    if not isinstance(values["nudge"], str):
        errors.append(("structured_finalize_nudge", "must be a string"))
    if values["context"] is not None and not isinstance(values["context"], Mapping):
        errors.append(("context", "must be a mapping"))
    if any(not isinstance(t, Tool) for t in tools):
        errors.append(("tools", "must be allm.Tool values"))
    if errors:
        raise ValidationError("invalid_options", errors=errors)


def _resolve_tools(engine: Engine, extra: tuple[Tool, ...]) -> tuple[Tool, ...]:
    """The engine's tools with call tools added; a call tool replaces an engine tool of its name."""
    by_name = {t.name: t for t in extra}
    resolved = [by_name.pop(t.name, t) for t in engine.tools]
    return (*resolved, *(t for t in extra if t.name in by_name))


def _is_json_schema(response_format: Any) -> bool:
    return isinstance(response_format, Mapping) and response_format.get("type") == "json_schema"


# ---------------------------------------------------------------------------
# One run: the state both the sync and async drivers share
# ---------------------------------------------------------------------------


class _Run:
    """The state of one step or chat call: options, collector, tools and the decisions."""

    def __init__(self, engine: Engine, thread: Thread, options: ChatOptions) -> None:
        self.engine = engine
        self.options = options
        self.request_id = options.stream.request_id
        self.collector = StreamCollector(thread)
        self.tools = _resolve_tools(engine, options.tools)
        self.tools_by_name = {t.name: t for t in self.tools}
        self.context = dict(options.context if options.context is not None else engine.context or {})
        self.finalize = self._wants_finalize(thread)
        self.pass_1_halted: str | None = None
        self.failure: AllmError | None = None
        self.inner: Any = None  # the model stream in progress
        self.last_request: Request | None = None
        self.result: StepResult | ChatResult | None = None

    # -- requests ----------------------------------------------------------

    def request(self, thread: Thread, *, final: bool = False) -> Request:
        """The request of the next model call (``final``: the tool-free structured call)."""
        fields = dict(self.options.request_fields)
        if self.finalize and not final:
            fields["response_format"] = None
        if final:
            return Request(messages=thread.messages, **{**fields, "tool_choice": None})
        return Request(messages=thread.messages, tools=self.tools, **fields)

    def _wants_finalize(self, thread: Thread) -> bool:
        chosen = self.options.structured_finalize
        response_format = self.options.request_fields.get("response_format")
        if chosen and not _is_json_schema(response_format):
            raise ValidationError(
                "invalid_options",
                errors=[("structured_finalize", "needs response_format=allm.json_schema(...)")],
            )
        if chosen is not None:
            return chosen
        if not (self.tools and _is_json_schema(response_format)):
            return False
        probe = Request(messages=thread.messages, tools=self.tools, **self.options.request_fields)
        return bool(self.engine.instance.requires_structured_finalize(probe))

    def model_opts(self) -> dict[str, Any]:
        """Options for ``stream_generate``: every event, the shared request id, adapter options."""
        return {
            "emit_text_deltas": True,
            "emit_tool_deltas": True,
            "include_raw_chunks": True,
            "request_id": self.request_id,
            **self.options.adapter_options,
        }

    def open_model(self, thread: Thread, *, final: bool = False) -> EventStream:
        """Open the next model call (pre-flight errors raise here)."""
        request = self.request(thread, final=final)
        engine = _without_tools(self.engine) if final else self.engine
        self.inner = stream_generate(engine, request, **self.model_opts())
        self.last_request = request
        return self.inner

    def aopen_model(self, thread: Thread, *, final: bool = False) -> AsyncEventStream:
        """Async twin of :meth:`open_model`."""
        request = self.request(thread, final=final)
        engine = _without_tools(self.engine) if final else self.engine
        self.inner = astream_generate(engine, request, **self.model_opts())
        self.last_request = request
        return self.inner

    # -- folding -----------------------------------------------------------

    def fold(self, batch: list[Event]) -> list[Event]:
        """Fold a batch into the run's collector (every event, before any filter)."""
        self.collector.apply_many(batch)
        return batch

    def span_meta(self) -> dict[str, Any]:
        """Metadata of every telemetry span of this run."""
        return {
            "request_id": self.request_id,
            "engine": self.engine.adapter.__name__ if self.engine.adapter else None,
            "model": self.options.request_fields.get("model") or self.engine.model,
            "session_id": self.options.session_id,
        }

    # -- tools -------------------------------------------------------------

    def plan(self, response: Response, *, final: bool) -> tuple[tuple[ToolCall, ...], tuple[ToolCall, ...]]:
        """Split the response's tool calls into (run now, hold back for the caller)."""
        if final or response.finish_reason != "tool_calls" or not response.tool_calls:
            return (), ()
        if self.options.mode == "manual":
            return (), response.tool_calls
        auto: list[ToolCall] = []
        manual: list[ToolCall] = []
        for call in response.tool_calls:
            tool = self.tools_by_name.get(call.name)
            held = tool is not None and (tool.manual or tool.handler is None)
            (manual if held else auto).append(call)
        return tuple(auto), tuple(manual)

    def runner(self) -> ToolRunner:
        """A tool runner for this run's tools and policies."""
        return ToolRunner(
            self.tools_by_name,
            on_tool_error=self.options.on_tool_error,
            tool_timeout=self.options.tool_timeout,
            request_id=self.request_id,
            session_id=self.options.session_id,
            context=self.context,
            engine=self.engine,
        )

    # -- results -----------------------------------------------------------

    def stamped(self, response: Response) -> Response:
        """``response`` with the chat's request id and the model asked for when the provider gave none."""
        asked = self.last_request.model if self.last_request is not None else None
        return replace(
            response, request_id=self.request_id, model=response.model or asked or self.engine.model
        )

    def last_response(self) -> Response:
        """The Response of the last model call (the current one while a step runs)."""
        steps = self.collector.steps
        if steps and not self.collector.in_step:
            return steps[-1].response
        return self.stamped(self.collector.to_response())

    def step_result(self, manual: tuple[ToolCall, ...]) -> StepResult:
        """The step's result, from the collector's fold of the step's events."""
        response = self.stamped(self.collector.to_response())
        metadata: dict[str, Any] = {"mode": self.options.mode}
        if manual:
            metadata["manual_tool_calls"] = manual
        return self.collector.to_step_result(response=response, metadata=metadata)

    def halted(self, step_result: StepResult, turn: int) -> str | None:
        """Why the chat stops after ``step_result`` (the ``turn``-th step, from 0), or None."""
        meta = step_result.metadata
        if "halted_reason" in meta:
            return str(meta["halted_reason"])
        if meta.get("manual_tool_calls"):
            return "manual_tool_calls"
        finish = step_result.response.finish_reason
        if finish in _COMPLETED_FINISHES:
            return "completed"
        if finish == "error":
            return "error"
        if self.options.halt_when is not None and self.options.halt_when(step_result):
            return "halt_when"
        if turn + 1 >= self.options.max_turns:
            return "max_turns"
        if not step_result.tool_results:
            return "completed"
        return None

    def chat_result(self, reason: str) -> ChatResult:
        """The ChatResult of a chat that stopped for ``reason``."""
        steps = self.collector.steps
        last = steps[-1] if steps else None
        thread = self.collector.thread or Thread()
        meta: dict[str, Any] = {"request_id": self.request_id}
        step_meta = last.metadata if last is not None else {}
        for key in ("ask_user_options", "halt_tool_call_id", "halt_result", "manual_tool_calls"):
            if key in step_meta:
                meta[key] = step_meta[key]
        question = tool_call_id = None
        if reason == "ask_user":
            question, tool_call_id = step_meta["pending_question"], step_meta["pending_tool_call_id"]
            thread = thread.add(
                Message(
                    role="assistant",
                    content=question,
                    metadata={"ask_user": True, "tool_call_id": tool_call_id},
                )
            )
        error = self.failure or (last.response.error if last is not None else None)
        if reason == "tool_error":
            error = step_meta.get("halt_result")
        if error is not None and reason in ("error", "tool_error"):
            meta["error"] = error
        if reason == "max_turns":
            meta["max_turns"] = self.options.max_turns
        if self.pass_1_halted is not None:
            meta["structured_finalize"] = {"pass_1_halted": self.pass_1_halted}
        return ChatResult(
            thread=thread,
            final_response=last.response if last is not None else None,
            steps=steps,
            halted_reason=reason,
            pending_question=question,
            pending_tool_call_id=tool_call_id,
            metadata=meta,
        )

    def final_reason(self, step_result: StepResult | None) -> str:
        """The halted reason after the structured-finalize call."""
        if step_result is None or step_result.response.finish_reason == "error":
            return "error"
        return "completed"

    def add_nudge(self) -> None:
        """Append the structured-finalize nudge to the thread (unless it is empty)."""
        if self.options.nudge:
            self.collector.with_thread((self.collector.thread or Thread()).add(user(self.options.nudge)))


def _without_tools(engine: Engine) -> Engine:
    return engine._derive(tools=())


# ---------------------------------------------------------------------------
# Synchronous drivers
# ---------------------------------------------------------------------------


def _step_events(
    run: _Run, first: EventStream | None = None, *, final: bool = False, in_chat: bool = False
) -> Iterator[list[Event]]:
    """The events of one step, each folded into ``run.collector`` before it is yielded."""
    thread = run.collector.thread or Thread()
    with telemetry.span("step", **run.span_meta()) as step_extra:
        inner = first
        if inner is None:
            try:
                inner = run.open_model(thread, final=final)
            except AllmError as exc:
                if not in_chat:
                    raise
                exc.metadata.setdefault("request_id", run.request_id)
                run.failure = exc
                yield run.fold([ErrorEvent(exc)])
                return
        with telemetry.span("generate", **run.span_meta()) as gen_extra, inner:
            for event in inner:
                yield run.fold([event])
            gen_extra["response"] = run.collector.to_response()
        auto, manual = run.plan(run.collector.to_response(), final=final)
        if auto:
            batches = run.runner().run(auto)
            try:
                for batch in batches:
                    yield run.fold(batch)
            finally:
                batches.close()
        result = run.step_result(manual)
        step_extra["step_result"] = result
    run.result = result
    yield run.fold([StepCompleted(result)])


def _chat_events(run: _Run, first: EventStream) -> Iterator[list[Event]]:
    """The events of a whole chat, ending with one chat_completed."""
    with telemetry.span("chat", **run.span_meta()) as chat_extra:
        reason = yield from _loop_events(run, first)
        if run.finalize and reason in _FINALIZE_AFTER:
            run.pass_1_halted = reason
            run.add_nudge()
            yield from _step_events(run, final=True, in_chat=True)
            reason = "error" if run.failure else run.final_reason(run.result)  # type: ignore[arg-type]
        result = run.chat_result(reason)
        chat_extra["chat_result"] = result
    run.result = result
    yield run.fold([ChatCompleted(result)])


def _loop_events(run: _Run, first: EventStream) -> Iterator[list[Event]]:
    turn = 0
    pending: EventStream | None = first
    while True:
        yield from _step_events(run, pending, in_chat=True)
        pending = None
        if run.failure is not None:
            return "error"
        reason = run.halted(run.result, turn)  # type: ignore[arg-type]
        if reason is not None:
            return reason
        turn += 1


class _LoopSource(Source):
    """A Source whose batches are the step or chat events (folded by the run's collector)."""

    def __init__(self, run: _Run, events: Iterator[list[Event]]) -> None:
        self._run = run
        self._events = events

    def batches(self) -> Generator[list[Event], None, None]:
        """Yield every event (the stream's EventPath filters them)."""
        yield from self._events

    def drain(self) -> None:
        """Run to the end, discarding the events (the collector still folds them)."""
        for _ in self._events:
            pass

    def response(self) -> Response:
        """The Response of the last model call."""
        return self._run.last_response()

    def close(self) -> None:
        """Stop the run: close the step/chat generator and the model call in progress."""
        self._events.close()  # type: ignore[attr-defined]
        if self._run.inner is not None:
            self._run.inner.close()


class ChatStream(EventStream):
    """The stream of ``stream_step`` / ``stream``: an EventStream with the step or chat result."""

    def __init__(self, source: _LoopSource, options: StreamOptions, request: Request, kind: str) -> None:
        super().__init__(source, options, request)
        self._run = source._run
        self._kind = kind

    def get_final_result(self) -> Any:
        """Consume what is left and return the StepResult (step) or ChatResult (chat).

        After an early ``close()`` a chat result has ``halted_reason == "cancelled"``.
        """
        self.get_final_response()
        if self._kind == "step":
            return self._run.collector.to_step_result()
        return self._run.collector.to_chat_result()


# ---------------------------------------------------------------------------
# Asynchronous drivers (the same steps, awaiting the model and the tools)
# ---------------------------------------------------------------------------


async def _astep_events(
    run: _Run, first: AsyncEventStream | None = None, *, final: bool = False, in_chat: bool = False
) -> AsyncIterator[list[Event]]:
    """Async twin of :func:`_step_events`."""
    thread = run.collector.thread or Thread()
    with telemetry.span("step", **run.span_meta()) as step_extra:
        inner = first
        if inner is None:
            try:
                inner = run.aopen_model(thread, final=final)
            except AllmError as exc:
                if not in_chat:
                    raise
                exc.metadata.setdefault("request_id", run.request_id)
                run.failure = exc
                yield run.fold([ErrorEvent(exc)])
                return
        with telemetry.span("generate", **run.span_meta()) as gen_extra:
            async with inner:
                async for event in inner:
                    yield run.fold([event])
            gen_extra["response"] = run.collector.to_response()
        auto, manual = run.plan(run.collector.to_response(), final=final)
        if auto:
            batches = run.runner().arun(auto)
            try:
                async for batch in batches:
                    yield run.fold(batch)
            finally:
                await batches.aclose()  # type: ignore[attr-defined]
        result = run.step_result(manual)
        step_extra["step_result"] = result
    run.result = result
    yield run.fold([StepCompleted(result)])


async def _achat_events(run: _Run, first: AsyncEventStream) -> AsyncIterator[list[Event]]:
    """Async twin of :func:`_chat_events`."""
    with telemetry.span("chat", **run.span_meta()) as chat_extra:
        turn, reason = 0, None
        pending: AsyncEventStream | None = first
        while reason is None:
            async for batch in _astep_events(run, pending, in_chat=True):
                yield batch
            pending = None
            reason = "error" if run.failure is not None else run.halted(run.result, turn)  # type: ignore[arg-type]
            turn += 1
        if run.finalize and reason in _FINALIZE_AFTER:
            run.pass_1_halted = reason
            run.add_nudge()
            async for batch in _astep_events(run, final=True, in_chat=True):
                yield batch
            reason = "error" if run.failure else run.final_reason(run.result)  # type: ignore[arg-type]
        result = run.chat_result(reason)
        chat_extra["chat_result"] = result
    run.result = result
    yield run.fold([ChatCompleted(result)])


class _AsyncLoopSource(AsyncSource):
    """Async twin of :class:`_LoopSource`."""

    def __init__(self, run: _Run, events: AsyncIterator[list[Event]]) -> None:
        self._run = run
        self._events = events

    async def batches(self) -> AsyncGenerator[list[Event], None]:
        """Yield every event (the stream's EventPath filters them)."""
        async for batch in self._events:
            yield batch

    async def drain(self) -> None:
        """Run to the end, discarding the events (the collector still folds them)."""
        async for _ in self._events:
            pass

    def response(self) -> Response:
        """The Response of the last model call."""
        return self._run.last_response()

    async def aclose(self) -> None:
        """Stop the run: close the step/chat generator and the model call in progress."""
        await self._events.aclose()  # type: ignore[attr-defined]
        if self._run.inner is not None:
            await self._run.inner.aclose()

    def close_now(self) -> None:
        """Best-effort synchronous release (garbage collection): release the model call."""
        inner = self._run.inner
        if inner is not None:
            inner._close_now()


class AsyncChatStream(AsyncEventStream):
    """Async twin of :class:`ChatStream`."""

    def __init__(self, source: _AsyncLoopSource, options: StreamOptions, request: Request, kind: str) -> None:
        super().__init__(source, options, request)
        self._run = source._run
        self._kind = kind

    async def get_final_result(self) -> Any:
        """Consume what is left and return the StepResult (step) or ChatResult (chat)."""
        await self.get_final_response()
        if self._kind == "step":
            return self._run.collector.to_step_result()
        return self._run.collector.to_chat_result()


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _stream(
    engine: Engine, messages: Thread | Sequence[Message], opts: dict[str, Any], kind: str
) -> ChatStream:
    """Open the first model call (pre-flight errors raise here) and wrap the step or chat loop."""
    run = _Run(engine, Thread.of(messages), ChatOptions.parse(opts))
    first = run.open_model(run.collector.thread or Thread())
    events = _step_events(run, first) if kind == "step" else _chat_events(run, first)
    return ChatStream(_LoopSource(run, events), run.options.stream, run.last_request, kind)


def _astream(
    engine: Engine, messages: Thread | Sequence[Message], opts: dict[str, Any], kind: str
) -> AsyncChatStream:
    """Async twin of :func:`_stream`."""
    run = _Run(engine, Thread.of(messages), ChatOptions.parse(opts))
    first = run.aopen_model(run.collector.thread or Thread())
    events = _astep_events(run, first) if kind == "step" else _achat_events(run, first)
    return AsyncChatStream(_AsyncLoopSource(run, events), run.options.stream, run.last_request, kind)


def stream_step(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatStream:
    """Start one step and return its event stream; pre-flight errors raise here.

    The stream ends with one ``step_completed``; ``get_final_result()`` returns the StepResult.
    """
    return _stream(engine, messages, opts, "step")


def step(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> StepResult:
    """Run one step (one model call, then its tools in auto mode): the fold of :func:`stream_step`."""
    with stream_step(engine, messages, **opts) as events:
        return events.get_final_result()  # type: ignore[no-any-return]


def stream(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatStream:
    """Start a chat loop and return its event stream; the first call's pre-flight errors raise here.

    The stream ends with one ``chat_completed``; ``get_final_result()`` returns the ChatResult.
    """
    return _stream(engine, messages, opts, "chat")


def chat(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatResult:
    """Run the chat loop to a halt: the fold of :func:`stream`."""
    with stream(engine, messages, **opts) as events:
        return events.get_final_result()  # type: ignore[no-any-return]


def astream_step(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> AsyncChatStream:
    """Async twin of :func:`stream_step` (pre-flight checks still run at call time)."""
    return _astream(engine, messages, opts, "step")


async def astep(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> StepResult:
    """Async twin of :func:`step`."""
    async with astream_step(engine, messages, **opts) as events:
        return await events.get_final_result()  # type: ignore[no-any-return]


def astream(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> AsyncChatStream:
    """Async twin of :func:`stream` (the first call's pre-flight checks run at call time)."""
    return _astream(engine, messages, opts, "chat")


async def achat(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatResult:
    """Async twin of :func:`chat`."""
    async with astream(engine, messages, **opts) as events:
        return await events.get_final_result()  # type: ignore[no-any-return]
