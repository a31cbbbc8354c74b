"""Stateless tool-calling execution: step, stream_step, chat, stream and async twins.

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
7. ``halt_when``: ``halt_when(step_result)`` returned true, or raised (then
   ``metadata["halt_when_exception"]`` says what it raised);
8. ``budget_exceeded``: the chat's model calls reached ``max_cost`` (USD, from
   :attr:`allm.Response.cost`; a call whose price is unknown adds nothing, and
   ``metadata["budget"]["cost_unknown"]`` says so) or ``max_total_tokens``
   (input plus output tokens); ``metadata["budget"]`` holds the totals;
9. ``max_turns``: that many steps ran (default 8; a non-positive value raises);
10. ``completed``: the step gave the model nothing new to read (no tool results).

Otherwise the loop continues with the next step.

How it runs: one I/O-free state machine (:class:`_Loop`) takes every decision
(the requests, which tools run, why the loop halts, structured finalize, the
results). It is a generator of actions (call the model, run tools, emit a batch)
that receives each action's outcome; two thin drivers, :func:`_drive` and
:func:`_adrive`, perform them. Each step's Response is the model call's own fold
(``get_final_response()`` of its stream; nothing is folded twice), the model's
per-chunk batches pass through unchanged, and every batch the chat stream yields
(model, tools, ``step_completed``, ``chat_completed``) goes through one
:class:`~allm._event_path.EventPath` built from the caller's options.

``step`` is the fold of ``stream_step`` and ``chat`` the fold of ``stream``: the
streams (:class:`ChatStream` / :class:`AsyncChatStream`) are iterators and context
managers that close the model call on ``break``, ``close()`` or garbage collection,
and ``get_final_result()`` returns the StepResult or ChatResult.

Options (keywords of every function here):

* request fields: ``model``, ``tools`` (added to the engine's; same name replaces),
  ``tool_choice``, ``temperature``, ``max_tokens``, ``response_format``;
* loop: ``mode`` (``"auto"``/``"manual"``), ``max_turns``, ``halt_when``,
  ``on_tool_error``, ``tool_timeout``, ``max_tool_concurrency`` (how many tools of
  one step run at once; None, the default, runs them all together), ``max_cost``,
  ``max_total_tokens``, ``structured_finalize``,
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

from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping, Sequence
from contextlib import aclosing, closing, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Any, Generic, TypeVar, cast

from . import _spans
from ._collector import StepHalt, StepTools
from ._constructors import user
from ._engine import Engine
from ._event_path import EventPath, stamp
from ._execution import REQUEST_FIELDS, STREAM_OPTIONS, astream_generate, check_call_options, stream_generate
from ._messages import Message, Thread, ToolCall
from ._options import StreamOptions
from ._request import Request
from ._results import ChatResult, Response, StepResult
from ._stream import AsyncEventStream, EventStream
from ._tool import Tool
from ._tool_runner import (
    DEFAULT_TOOL_TIMEOUT,
    OnToolError,
    ToolRunner,
    check_concurrency,
    check_on_tool_error,
    check_timeout,
)
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
_LOOP_OPTIONS = (
    "tools",
    "mode",
    "max_turns",
    "max_cost",
    "max_total_tokens",
    "halt_when",
    "on_tool_error",
    "tool_timeout",
    "max_tool_concurrency",
    "structured_finalize",
    "structured_finalize_nudge",
    "session_id",
    "context",
)

R = TypeVar("R", bound=StepResult | ChatResult)
"""What a loop stream folds to: a StepResult (one step) or a ChatResult (a chat)."""


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
    halt_when: Callable[[StepResult], object] | None = None
    on_tool_error: OnToolError = "continue"
    tool_timeout: float | None = DEFAULT_TOOL_TIMEOUT
    structured_finalize: bool | None = None
    nudge: str = DEFAULT_NUDGE
    session_id: str | None = None
    context: Mapping[str, Any] | None = None
    max_cost: Decimal | None = None
    max_total_tokens: int | None = None
    max_tool_concurrency: int | None = None
    adapter_options: dict[str, Any] = field(default_factory=dict[str, Any])

    @classmethod
    def parse(cls, opts: dict[str, Any]) -> ChatOptions:
        """Split and check call options; raise ValidationError for unusable values."""
        stream_options, rest = StreamOptions.parse(opts)
        fields = {name: rest.pop(name) for name in REQUEST_FIELDS if name in rest}
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
            "max_cost": rest.pop("max_cost", None),
            "max_total_tokens": rest.pop("max_total_tokens", None),
            "max_tool_concurrency": check_concurrency(rest.pop("max_tool_concurrency", None)),
        }
        tools = tuple(rest.pop("tools", ()) or ())
        _check(values, tools)
        return cls(stream=stream_options, request_fields=fields, tools=tools, adapter_options=rest, **values)


def _check(values: dict[str, Any], tools: tuple[Any, ...]) -> None:
    errors: list[tuple[str, str]] = []
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
    cost = values["max_cost"]
    if cost is not None:
        try:
            values["max_cost"] = Decimal(str(cost))
        except ArithmeticError:
            values["max_cost"] = Decimal("NaN")
        if isinstance(cost, bool) or not values["max_cost"].is_finite() or values["max_cost"] < 0:
            errors.append(("max_cost", "must be a non-negative number of USD"))
    tokens = values["max_total_tokens"]
    if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0):
        errors.append(("max_total_tokens", "must be a positive integer"))
    if any(not isinstance(t, Tool) for t in tools):
        errors.append(("tools", "must be allm.Tool values"))
    if errors:
        raise ValidationError("invalid_options", errors=errors)


def _resolve_tools(engine: Engine, extra: tuple[Tool, ...]) -> tuple[Tool, ...]:
    """The engine's tools with call tools added; a call tool replaces an engine tool of its name."""
    by_name = {t.name: t for t in extra}
    resolved = [by_name.pop(t.name, t) for t in engine.tools]
    return (*resolved, *(t for t in extra if t.name in by_name))


def _is_json_schema(response_format: object) -> bool:
    if not isinstance(response_format, Mapping):
        return False
    return cast("Mapping[str, object]", response_format).get("type") == "json_schema"


# ---------------------------------------------------------------------------
# Actions: what the state machine asks its driver to do
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CallModel:
    """Open one model call and stream it; the outcome is its Response (or its pre-flight error)."""

    engine: Engine
    request: Request
    opts: dict[str, Any]

    def open(self) -> EventStream:
        return stream_generate(self.engine, self.request, **self.opts)

    def aopen(self) -> AsyncEventStream:
        return astream_generate(self.engine, self.request, **self.opts)


@dataclass(frozen=True, slots=True)
class _RunTools:
    """Run ``calls``; the driver appends each finished call's batch to ``done`` as it yields it."""

    runner: ToolRunner
    calls: tuple[ToolCall, ...]
    done: list[list[Event]] = field(default_factory=list[list[Event]])


@dataclass(frozen=True, slots=True)
class _Emit:
    """Yield ``batch`` (a loop event, or a later step's pre-flight error)."""

    batch: list[Event]


_Action = _CallModel | _RunTools | _Emit
_Outcome = Response | AllmError | None
_Plan = Generator[_Action, _Outcome, None]
_StepPlan = Generator[_Action, _Outcome, StepResult | None]


def _empty_response() -> Response:
    return Response(message=Message(role="assistant", content=""))


# ---------------------------------------------------------------------------
# The state machine
# ---------------------------------------------------------------------------


class _Loop:
    """The I/O-free state machine of one step or chat call.

    :meth:`plan_step` and :meth:`plan_chat` yield actions and receive their outcomes;
    everything else here is a decision or a result built from what it has been told.
    """

    def __init__(self, engine: Engine, messages: Thread | Sequence[Message], opts: dict[str, Any]) -> None:
        self.engine = engine
        self.options = ChatOptions.parse(opts)
        self.request_id = self.options.stream.request_id
        self.thread = messages if isinstance(messages, Thread) else Thread(tuple(messages))
        self.tools = _resolve_tools(engine, self.options.tools)
        self.tools_by_name = {t.name: t for t in self.tools}
        self.context = dict(
            self.options.context if self.options.context is not None else engine.context or {}
        )
        self.finalize = self._wants_finalize()
        self.steps: list[StepResult] = []
        self.halt: StepHalt | None = None  # of the last completed step
        self.manual: tuple[ToolCall, ...] = ()  # of the last completed step
        self.failure: AllmError | None = None  # a later step's pre-flight error
        self.halt_when_error: str | None = None
        self.pass_1_halted: str | None = None
        self.tool_batches: list[list[Event]] = []  # of the step in progress
        self.response: Response | None = None  # of the step in progress
        self.current: EventStream | AsyncEventStream | None = None  # the driver's model call
        self.step_done: StepResult | None = None
        self.chat_done: ChatResult | None = None
        self.parent_span = _spans.current()  # the caller's (a session operation, say)
        self.chat_span: _spans.Span | None = None
        self.step_span: _spans.Span | None = None
        accepted = (*STREAM_OPTIONS, *REQUEST_FIELDS, *_LOOP_OPTIONS)
        check_call_options(engine.instance, self.options.adapter_options, accepted=accepted)
        self.first = self._model_call(final=False)  # opened by the stream itself, at call time
        self._first_taken = False

    # -- requests ----------------------------------------------------------

    def _wants_finalize(self) -> bool:
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
        probe = Request(messages=self.thread.messages, tools=self.tools, **self.options.request_fields)
        return bool(self.engine.instance.requires_structured_finalize(probe))

    def _model_call(self, *, final: bool) -> _CallModel:
        """The next model call (``final``: the tool-free structured call)."""
        fields = dict(self.options.request_fields)
        opts = {"request_id": self.request_id, **self.options.adapter_options}
        if final:
            fields["tool_choice"] = None
            request = Request(messages=self.thread.messages, **fields)
            return _CallModel(self.engine._derive(tools=()), request, opts)  # pyright: ignore[reportPrivateUsage]
        if self.finalize:
            fields["response_format"] = None
        return _CallModel(
            self.engine, Request(messages=self.thread.messages, tools=self.tools, **fields), opts
        )

    def span_meta(self) -> dict[str, Any]:
        """Metadata of every telemetry span of this run."""
        return {
            "request_id": self.request_id,
            "engine": self.engine.adapter.__name__ if self.engine.adapter else None,
            "model": self.options.request_fields.get("model") or self.engine.model,
            "session_id": self.options.session_id,
        }

    # -- the plan ----------------------------------------------------------

    def plan_step(self) -> _Plan:
        """One step, ending with its step_completed."""
        yield from self._step(final=False)

    def _span(self, kind: str) -> _spans.Span:
        """Start the chat or step span (under the chat span, else the caller's)."""
        return _spans.start(
            kind,
            f"allm.{kind}",
            parent=self.chat_span or self.parent_span,
            attributes={"allm.request_id": self.request_id},
            **self.span_meta(),
        )

    def plan_chat(self) -> _Plan:
        """Steps until a halt, the structured-finalize call if due, then chat_completed."""
        self.chat_span = self._span("chat")
        with _ending(self.chat_span) as chat_extra:
            reason = yield from self._turns()
            if self.finalize and reason in _FINALIZE_AFTER:
                self.pass_1_halted = reason
                if self.options.nudge:
                    self.thread = self.thread.add(user(self.options.nudge))
                last = yield from self._step(final=True)
                reason = "error" if last is None or last.response.finish_reason == "error" else "completed"
            result = self._chat_result(reason)
            chat_extra["chat_result"] = result
        self.chat_done = result
        yield _Emit([ChatCompleted(result)])

    def _turns(self) -> Generator[_Action, _Outcome, str]:
        turn = 0
        while True:
            last = yield from self._step(final=False)
            reason = "error" if last is None else self._halted(last, turn)
            if reason is not None:
                return reason
            turn += 1

    def _step(self, *, final: bool) -> _StepPlan:
        """One model call, then its tools; None when the call failed before streaming."""
        call = self._model_call(final=final) if self._first_taken else self.first
        self._first_taken = True
        self.tool_batches, self.response = [], None
        self.step_span = self._span("step")
        with _ending(self.step_span) as step_extra:
            try:
                outcome = yield call
                if isinstance(outcome, AllmError):
                    raise outcome
                assert isinstance(outcome, Response)
                self.response = outcome
            except AllmError as exc:
                stamp(exc, self.request_id)
                self.failure = exc
                yield _Emit([ErrorEvent(exc)])
                return None
            auto, manual = self._plan_tools(self.response, final=final)
            if auto:
                yield _RunTools(self._runner(), auto, self.tool_batches)
            result, halt = self._step_result(self.response, manual)
            step_extra["step_result"] = result
        self.steps.append(result)
        self.thread, self.halt, self.manual, self.step_done = result.thread, halt, manual, result
        yield _Emit([StepCompleted(result)])
        return result

    # -- decisions ---------------------------------------------------------

    def _plan_tools(
        self, response: Response, *, final: bool
    ) -> tuple[tuple[ToolCall, ...], tuple[ToolCall, ...]]:
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

    def _runner(self) -> ToolRunner:
        return ToolRunner(
            self.tools_by_name,
            on_tool_error=self.options.on_tool_error,
            tool_timeout=self.options.tool_timeout,
            request_id=self.request_id,
            session_id=self.options.session_id,
            context=self.context,
            engine=self.engine,
            parent=self.step_span,
            max_concurrency=self.options.max_tool_concurrency,
        )

    def _halted(self, last: StepResult, turn: int) -> str | None:
        """Why the chat stops after ``last`` (the ``turn``-th step, from 0), or None."""
        if self.halt is not None:
            return self.halt.reason
        if self.manual:
            return "manual_tool_calls"
        finish = last.response.finish_reason
        if finish in _COMPLETED_FINISHES:
            return "completed"
        if finish == "error":
            return "error"
        if self._halt_when(last):
            return "halt_when"
        if self._over_budget():
            return "budget_exceeded"
        if turn + 1 >= self.options.max_turns:
            return "max_turns"
        if not last.tool_results:
            return "completed"
        return None

    def _spent(self) -> tuple[int, Decimal, bool]:
        """(input + output tokens, known USD cost, whether any cost was unknown) of the steps so far."""
        tokens, cost, unknown = 0, Decimal(0), False
        for step in self.steps:
            usage = step.response.usage
            if usage is None:
                continue
            tokens += usage.input_tokens + usage.output_tokens
            step_cost = step.response.cost
            if step_cost is None:
                unknown = True
            else:
                cost += step_cost
        return tokens, cost, unknown

    def _over_budget(self) -> bool:
        """Whether the chat's model calls reached ``max_cost`` or ``max_total_tokens``."""
        max_cost, max_tokens = self.options.max_cost, self.options.max_total_tokens
        if max_cost is None and max_tokens is None:
            return False
        tokens, cost, _ = self._spent()
        return (max_tokens is not None and tokens >= max_tokens) or (
            max_cost is not None and cost >= max_cost
        )

    def _halt_when(self, last: StepResult) -> bool:
        """``halt_when(last)``; a callback that raises halts too (what it raised is kept)."""
        check = self.options.halt_when
        if check is None:
            return False
        try:
            return bool(check(last))
        except Exception as exc:
            self.halt_when_error = f"{type(exc).__name__}: {exc}"
            return True

    # -- results -----------------------------------------------------------

    def _step_result(
        self, response: Response, manual: tuple[ToolCall, ...]
    ) -> tuple[StepResult, StepHalt | None]:
        """The step's result from its Response and its tools' outcomes, with its typed halt."""
        tools = StepTools()
        for batch in self.tool_batches:
            for event in batch:
                tools.apply(event)
        result = tools.step_result(self.thread, response, {"mode": self.options.mode}, held=manual)
        return result, tools.halt(response)

    def _chat_result(self, reason: str) -> ChatResult:
        """The ChatResult of a chat that stopped for ``reason``."""
        last = self.steps[-1] if self.steps else None
        meta: dict[str, Any] = {"request_id": self.request_id, **self._halt_metadata()}
        halt, thread = self.halt, self.thread
        question = tool_call_id = None
        if reason == "ask_user" and halt is not None:
            question, tool_call_id = halt.question, halt.tool_call_id
            thread = thread.add(halt.question_message())
        error = self.failure or (last.response.error if last is not None else None)
        if reason == "tool_error" and halt is not None:
            error = halt.result
        if error is not None and reason in ("error", "tool_error"):
            meta["error"] = error
        if reason == "max_turns":
            meta["max_turns"] = self.options.max_turns
        if reason == "budget_exceeded":
            tokens, cost, unknown = self._spent()
            meta["budget"] = {"total_tokens": tokens, "cost_usd": str(cost), "cost_unknown": unknown}
        if reason == "halt_when" and self.halt_when_error is not None:
            meta["halt_when_exception"] = self.halt_when_error
        if self.pass_1_halted is not None:
            meta["structured_finalize"] = {"pass_1_halted": self.pass_1_halted}
        return ChatResult(
            thread=thread,
            final_response=last.response if last is not None else None,
            steps=tuple(self.steps),
            halted_reason=reason,
            pending_question=question,
            pending_tool_call_id=tool_call_id,
            metadata=meta,
        )

    def _halt_metadata(self) -> dict[str, Any]:
        """What the last step's halt and held-back calls add to the chat's metadata."""
        meta: dict[str, Any] = {}
        if self.halt is not None and self.halt.reason == "ask_user":
            meta["ask_user_options"] = dict(self.halt.options)
        elif self.halt is not None:
            meta["halt_tool_call_id"], meta["halt_result"] = self.halt.tool_call_id, self.halt.result
        if self.manual:
            meta["manual_tool_calls"] = self.manual
        return meta

    def step_outcome(self, partial: Response | None) -> StepResult:
        """The step's result; after an early close, one built from what was produced."""
        if self.step_done is not None:
            return self.step_done
        response = self.response or partial or _empty_response()
        return self._step_result(response, ())[0]

    def chat_outcome(self, partial: Response | None) -> ChatResult:
        """The chat's result; after an early close, ``cancelled`` (``error`` if one was seen)."""
        if self.chat_done is not None:
            return self.chat_done
        error = self.failure or (partial.error if partial is not None else None)
        return ChatResult(
            thread=self.thread,
            final_response=self.steps[-1].response if self.steps else None,
            steps=tuple(self.steps),
            halted_reason="error" if error is not None else "cancelled",
            metadata={"error": error} if error is not None else {},
        )


@contextmanager
def _ending(span: _spans.Span) -> Generator[dict[str, Any], None, None]:
    """End ``span`` when the block ends: normally, stopped early (cancelled), or failing.

    It never makes the span current: the block may yield (the plans are generators).
    """
    try:
        yield span.extra
    except GeneratorExit:
        span.set_attributes({"allm.cancelled": True})
        span.end()
        raise
    except BaseException as exc:
        span.end(exc)
        raise
    span.end()


# ---------------------------------------------------------------------------
# The drivers: perform the machine's actions, yield every batch through one EventPath
# ---------------------------------------------------------------------------


def _drive(loop: _Loop, plan: _Plan, first: EventStream) -> Generator[list[Event], None, None]:
    """Perform ``plan``'s actions synchronously (``first``: the first model call, already open)."""
    path = EventPath(loop.options.stream)
    pending: EventStream | None = first
    with closing(plan):
        action = next(plan)
        while True:
            outcome: _Outcome = None
            if isinstance(action, _Emit):
                yield path(action.batch)
            elif isinstance(action, _RunTools):
                with closing(action.runner.run(action.calls)) as batches:
                    for batch in batches:
                        action.done.append(batch)
                        yield path(batch)
            else:
                try:
                    inner, pending = pending or action.open(), None
                except AllmError as exc:
                    outcome = exc
                else:
                    loop.current = inner
                    if loop.step_span is not None:
                        inner._under(loop.step_span)  # pyright: ignore[reportPrivateUsage]
                    with inner:  # delegating to map keeps this frame out of the per-chunk path
                        yield from map(path, inner._raw_batches())  # pyright: ignore[reportPrivateUsage]
                    outcome = inner.get_final_response()
            try:
                action = plan.send(outcome)
            except StopIteration:
                return


async def _adrive(loop: _Loop, plan: _Plan, first: AsyncEventStream) -> AsyncGenerator[list[Event], None]:
    """Async twin of :func:`_drive`: the same shape, awaiting the model call and the tools.

    One difference beyond the awaits: the model call's batches are closed with
    ``aclosing``, because an abandoned async generator is not closed at once by
    garbage collection (a sync one is), and the call must be released here.
    """
    path = EventPath(loop.options.stream)
    apending: AsyncEventStream | None = first
    with closing(plan):
        action = next(plan)
        while True:
            outcome: _Outcome = None
            if isinstance(action, _Emit):
                yield path(action.batch)
            elif isinstance(action, _RunTools):
                async with aclosing(action.runner.arun(action.calls)) as batches:
                    async for batch in batches:
                        action.done.append(batch)
                        yield path(batch)
            else:
                try:
                    inner, apending = apending or action.aopen(), None
                except AllmError as exc:
                    outcome = exc
                else:
                    loop.current = inner
                    if loop.step_span is not None:
                        inner._under(loop.step_span)  # pyright: ignore[reportPrivateUsage]
                    async with inner, aclosing(inner._araw_batches()) as batches:  # pyright: ignore[reportPrivateUsage]
                        async for batch in batches:
                            yield path(batch)
                    outcome = await inner.get_final_response()
            try:
                action = plan.send(outcome)
            except StopIteration:
                return


# ---------------------------------------------------------------------------
# The streams
# ---------------------------------------------------------------------------


class _LoopStream(Generic[R]):
    """What both stream flavours share: the state machine, its result and the request id."""

    def __init__(self, loop: _Loop, outcome: Callable[[Response | None], R]) -> None:
        self._loop = loop
        self._outcome: Callable[[Response | None], R] = outcome

    @property
    def request_id(self) -> str:
        """The request id shared by every model call and tool of the run."""
        return self._loop.request_id


class ChatStream(_LoopStream[R]):
    """The events of ``stream_step`` (``ChatStream[StepResult]``) or ``stream`` (``ChatStream[ChatResult]``).

    An iterator over events and a context manager; ``close()``, leaving the ``with``
    block, breaking out of a ``for`` loop over it or dropping it closes the model
    call in progress. ``get_final_result()`` consumes the rest and returns the result.

    Thread safety: a stream is consumed by one thread at a time; it is not locked.
    """

    __module__ = "allm"

    def __init__(self, loop: _Loop, plan: _Plan, outcome: Callable[[Response | None], R]) -> None:
        super().__init__(loop, outcome)
        self._first = loop.first.open()  # pre-flight errors raise here
        self._batches = _drive(loop, plan, self._first)
        self._events = chain.from_iterable(self._batches)

    def __iter__(self) -> Iterator[Event]:
        return self._events

    def __next__(self) -> Event:
        return next(self._events)

    def get_final_result(self) -> R:
        """Consume what is left (``on_event`` still sees it) and return the result.

        After an early ``close()`` a chat result has ``halted_reason == "cancelled"``.
        """
        try:
            for _ in self._batches:
                pass
        finally:
            self.close()
        current = self._loop.current
        return self._outcome(current.get_final_response() if isinstance(current, EventStream) else None)

    def close(self) -> None:
        """Stop the run and close the model call in progress (idempotent)."""
        self._batches.close()
        self._first.close()

    def __enter__(self) -> ChatStream[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncChatStream(_LoopStream[R]):
    """Async twin of :class:`ChatStream` (``async for``, ``async with``, ``await aclose()``).

    Thread safety: a stream is consumed by one task at a time; it is not locked.
    """

    __module__ = "allm"

    def __init__(self, loop: _Loop, plan: _Plan, outcome: Callable[[Response | None], R]) -> None:
        super().__init__(loop, outcome)
        self._first = loop.first.aopen()  # pre-flight errors raise here
        self._batches = _adrive(loop, plan, self._first)
        self._pending: list[Event] = []
        self._position = 0

    def __aiter__(self) -> AsyncChatStream[R]:
        return self

    async def __anext__(self) -> Event:
        while self._position >= len(self._pending):
            self._pending, self._position = await self._batches.__anext__(), 0
        self._position += 1
        return self._pending[self._position - 1]

    async def get_final_result(self) -> R:
        """Consume what is left (``on_event`` still sees it) and return the result."""
        self._pending, self._position = [], 0
        try:
            async for _ in self._batches:
                pass
        finally:
            await self.aclose()
        current = self._loop.current
        partial = await current.get_final_response() if isinstance(current, AsyncEventStream) else None
        return self._outcome(partial)

    async def aclose(self) -> None:
        """Stop the run and close the model call in progress (idempotent)."""
        await self._batches.aclose()
        await self._first.aclose()

    async def __aenter__(self) -> AsyncChatStream[R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def stream_step(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatStream[StepResult]:
    """Start one step and return its event stream; pre-flight errors raise here.

    The stream ends with one ``step_completed``; ``get_final_result()`` returns the StepResult.
    """
    loop = _Loop(engine, messages, opts)
    return ChatStream(loop, loop.plan_step(), loop.step_outcome)


def step(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> StepResult:
    """Run one step (one model call, then its tools in auto mode): the fold of :func:`stream_step`."""
    with stream_step(engine, messages, **opts) as events:
        return events.get_final_result()


def stream(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatStream[ChatResult]:
    """Start a chat loop and return its event stream; the first call's pre-flight errors raise here.

    The stream ends with one ``chat_completed``; ``get_final_result()`` returns the ChatResult.
    """
    loop = _Loop(engine, messages, opts)
    return ChatStream(loop, loop.plan_chat(), loop.chat_outcome)


def chat(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatResult:
    """Run the chat loop to a halt: the fold of :func:`stream`."""
    with stream(engine, messages, **opts) as events:
        return events.get_final_result()


def astream_step(
    engine: Engine, messages: Thread | Sequence[Message], **opts: Any
) -> AsyncChatStream[StepResult]:
    """Async twin of :func:`stream_step` (pre-flight checks still run at call time)."""
    loop = _Loop(engine, messages, opts)
    return AsyncChatStream(loop, loop.plan_step(), loop.step_outcome)


async def astep(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> StepResult:
    """Async twin of :func:`step`."""
    async with astream_step(engine, messages, **opts) as events:
        return await events.get_final_result()


def astream(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> AsyncChatStream[ChatResult]:
    """Async twin of :func:`stream` (the first call's pre-flight checks run at call time)."""
    loop = _Loop(engine, messages, opts)
    return AsyncChatStream(loop, loop.plan_chat(), loop.chat_outcome)


async def achat(engine: Engine, messages: Thread | Sequence[Message], **opts: Any) -> ChatResult:
    """Async twin of :func:`chat`."""
    async with astream(engine, messages, **opts) as events:
        return await events.get_final_result()
