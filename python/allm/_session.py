"""Sessions (Layer D): an immutable, serializable conversation that can be resumed anywhere.

Every operation returns a new session (and a result); the old one is untouched::

    session, result = allm.Session().start(engine, [allm.user("Book me a table")])
    if session.status == "awaiting_user":
        session, result = session.reply(engine, "Tomorrow at 8")
    text = allm.to_json(session)            # later, maybe in another process:
    session = allm.from_json(text)
    session, result = session.continue_(engine)

A session holds the thread, a status and what it is waiting for; never keys,
clients or tool handlers (the engine supplies tools at call time), so a session
saved with :func:`allm.to_json` and loaded in a fresh process continues exactly
where it stopped.

Statuses and the operations legal in each (anything else raises
``SessionError("invalid_status_for_operation")``; every operation on a session in
``error`` raises ``SessionError("session_in_error_state")``):

============== ==========================================================
idle           start (only while the thread is empty), reply, continue_, step
awaiting_user  reply (answers the pending question)
awaiting_tools submit_tool_result (once per pending call; then idle)
completed      reply, continue_, step
error          none
============== ==========================================================

Statuses after a chat: ``ask_user`` → awaiting_user; ``manual_tool_calls`` →
awaiting_tools; ``error`` and ``tool_error`` → error (the error in
``metadata["error"]``); anything else → completed. After a single step the same,
except that a step the loop would continue from leaves the session idle. A stream
closed early (``cancelled``) leaves the session as it was.

Each operation has a streaming twin (``stream_start``, ``stream_reply``,
``stream_continue``, ``stream_step``) returning a :class:`SessionStream`; the plain
operation is that stream's result. A :class:`SessionReducer` folds the events of
such a stream by hand to the same ``(new session, result)``. Async twins:
``astart``, ``areply``, ``acontinue``, ``astep`` and ``astream_*``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Generic, Literal, cast

from . import _spans
from ._chat import AsyncChatStream, ChatStream, R, astream, astream_step, stream, stream_step
from ._collector import StepHalt, StreamCollector, held_calls
from ._constructors import user
from ._engine import Engine
from ._messages import Message, Thread, ToolCall
from ._options import new_request_id
from ._results import ChatResult, Spend, StepResult
from ._serialization import register
from ._tool_runner import encode_result
from ._usage import Usage
from .errors import SessionError, ValidationError
from .events import Event

__all__ = ["SCHEMA_VERSION", "AsyncSessionStream", "Session", "SessionReducer", "SessionStream", "Status"]

SCHEMA_VERSION = 1
"""The version of the session's serialized shape; a session of another version is refused."""

Status = Literal["idle", "awaiting_user", "awaiting_tools", "completed", "error"]
_STATUSES = ("idle", "awaiting_user", "awaiting_tools", "completed", "error")

_LEGAL: dict[str, frozenset[str]] = {
    "start": frozenset({"idle"}),
    "reply": frozenset({"idle", "completed", "awaiting_user"}),
    "continue": frozenset({"idle", "completed"}),
    "step": frozenset({"idle", "completed"}),
    "submit_tool_result": frozenset({"awaiting_tools"}),
}
_HINTS = {
    "awaiting_user": "it is waiting for the answer to {question!r}: call reply(engine, text)",
    "awaiting_tools": "it is waiting for the results of tool calls {ids}: call submit_tool_result("
    "tool_call_id, content) for each, then continue_(engine)",
    "idle": "no tool calls are pending",
    "completed": "no tool calls are pending",
}


def _new_id() -> str:
    return new_request_id()


@dataclass(frozen=True)
class Session:
    """An immutable conversation with a status; see the module docstring for the rules.

    Thread safety: a session is immutable (every operation returns a new one), so
    one may be shared by any number of threads.
    """

    id: str = field(default_factory=_new_id)
    thread: Thread = field(default_factory=Thread)
    status: Status = "idle"
    pending_tool_calls: tuple[ToolCall, ...] = ()
    pending_question: str | None = None
    pending_tool_call_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict[str, Any])
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    spend: tuple[Spend, ...] = ()
    schema_version: int = SCHEMA_VERSION

    @property
    def usage(self) -> Usage:
        """The token usage of every model call the session made, added up."""
        return sum((s.usage for s in self.spend), Usage())

    @property
    def cost(self) -> Decimal | None:
        """The USD cost of every model call the session made; None when any price is unknown."""
        total: Decimal | None = None
        for spend in self.spend:
            cost = spend.cost
            if cost is None:
                return None
            total = cost if total is None else total + cost
        return total

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValidationError("invalid_session", errors=problems)

    # -- legality ------------------------------------------------------------

    def _require(self, operation: str) -> None:
        if self.status == "error":
            error = self.metadata.get("error")
            raise SessionError(
                "session_in_error_state",
                f"cannot {operation}: the session is in the error state"
                f"{f' ({error})' if error is not None else ''}; start a new Session",
            )
        if operation == "start" and self.thread.messages and self.status in ("idle", "completed"):
            raise SessionError(
                "invalid_status_for_operation",
                f"cannot start a session that already has {len(self.thread)} message(s): "
                "call reply(engine, text) or continue_(engine) instead",
            )
        if self.status not in _LEGAL[operation]:
            hint = _HINTS[self.status].format(
                question=self.pending_question, ids=[c.id for c in self.pending_tool_calls]
            )
            raise SessionError(
                "invalid_status_for_operation", f"cannot {operation} a session that is {self.status}: {hint}"
            )

    def _opts(self, opts: dict[str, Any]) -> dict[str, Any]:
        opts.setdefault("session_id", self.id)
        if self.context and "context" not in opts:
            opts["context"] = dict(self.context)
        return opts

    # -- streaming operations --------------------------------------------------

    def stream_start(
        self, engine: Engine, messages: Thread | Sequence[Message] | str, **opts: Any
    ) -> SessionStream[ChatResult]:
        """Begin the conversation with ``messages``; a stream folding to (session, ChatResult)."""
        self._require("start")
        return self._chat(engine, self.thread.add(*_messages(messages)), opts, "start")

    def stream_reply(self, engine: Engine, text: str | Message, **opts: Any) -> SessionStream[ChatResult]:
        """Append the user's ``text`` (an answer, when awaiting_user) and chat; streaming."""
        self._require("reply")
        return self._chat(engine, self.thread.add(_user_message(text)), opts, "reply")

    def stream_continue(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> SessionStream[ChatResult]:
        """Chat on from the current thread (after ``message``, if given); streaming."""
        self._require("continue")
        return self._chat(engine, self._thread_with(message), opts, "continue")

    def stream_step(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> SessionStream[StepResult]:
        """Run one step from the current thread (after ``message``, if given); streaming."""
        self._require("step")
        span = self._span("step")
        with span.active():
            inner = stream_step(engine, self._thread_with(message), **self._opts(opts))
        return SessionStream(inner, self, _after_step, "step_completed", span)

    def _thread_with(self, message: str | Message | None) -> Thread:
        return self.thread if message is None else self.thread.add(_user_message(message))

    def _chat(
        self, engine: Engine, thread: Thread, opts: dict[str, Any], operation: str
    ) -> SessionStream[ChatResult]:
        span = self._span(operation)
        with span.active():  # the chat loop's spans nest under the operation's
            inner = stream(engine, thread, **self._opts(opts))
        return SessionStream(inner, self, _after_chat, "chat_completed", span)

    def _span(self, operation: str) -> _spans.Span:
        """The telemetry span of one session operation (``allm.session.<operation>``)."""
        return _spans.start(
            "session",
            f"allm.session.{operation}",
            attributes={"allm.session_id": self.id},
            session_id=self.id,
            operation=operation,
        )

    def astream_start(
        self, engine: Engine, messages: Thread | Sequence[Message] | str, **opts: Any
    ) -> AsyncSessionStream[ChatResult]:
        """Async twin of :meth:`stream_start`."""
        self._require("start")
        return self._achat(engine, self.thread.add(*_messages(messages)), opts, "start")

    def astream_reply(
        self, engine: Engine, text: str | Message, **opts: Any
    ) -> AsyncSessionStream[ChatResult]:
        """Async twin of :meth:`stream_reply`."""
        self._require("reply")
        return self._achat(engine, self.thread.add(_user_message(text)), opts, "reply")

    def astream_continue(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> AsyncSessionStream[ChatResult]:
        """Async twin of :meth:`stream_continue`."""
        self._require("continue")
        return self._achat(engine, self._thread_with(message), opts, "continue")

    def astream_step(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> AsyncSessionStream[StepResult]:
        """Async twin of :meth:`stream_step`."""
        self._require("step")
        span = self._span("step")
        with span.active():
            inner = astream_step(engine, self._thread_with(message), **self._opts(opts))
        return AsyncSessionStream(inner, self, _after_step, "step_completed", span)

    def _achat(
        self, engine: Engine, thread: Thread, opts: dict[str, Any], operation: str
    ) -> AsyncSessionStream[ChatResult]:
        span = self._span(operation)
        with span.active():
            inner = astream(engine, thread, **self._opts(opts))
        return AsyncSessionStream(inner, self, _after_chat, "chat_completed", span)

    # -- folded operations -----------------------------------------------------

    def start(
        self, engine: Engine, messages: Thread | Sequence[Message] | str, **opts: Any
    ) -> tuple[Session, ChatResult]:
        """Begin the conversation with ``messages`` and chat: (new session, ChatResult)."""
        with self.stream_start(engine, messages, **opts) as events:
            return events.get_final_result()

    def reply(self, engine: Engine, text: str | Message, **opts: Any) -> tuple[Session, ChatResult]:
        """Append the user's ``text`` and chat: (new session, ChatResult)."""
        with self.stream_reply(engine, text, **opts) as events:
            return events.get_final_result()

    def continue_(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> tuple[Session, ChatResult]:
        """Chat on from the current thread: (new session, ChatResult)."""
        with self.stream_continue(engine, message, **opts) as events:
            return events.get_final_result()

    def step(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> tuple[Session, StepResult]:
        """Run one step: (new session, StepResult)."""
        with self.stream_step(engine, message, **opts) as events:
            return events.get_final_result()

    async def astart(
        self, engine: Engine, messages: Thread | Sequence[Message] | str, **opts: Any
    ) -> tuple[Session, ChatResult]:
        """Async twin of :meth:`start`."""
        async with self.astream_start(engine, messages, **opts) as events:
            return await events.get_final_result()

    async def areply(self, engine: Engine, text: str | Message, **opts: Any) -> tuple[Session, ChatResult]:
        """Async twin of :meth:`reply`."""
        async with self.astream_reply(engine, text, **opts) as events:
            return await events.get_final_result()

    async def acontinue(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> tuple[Session, ChatResult]:
        """Async twin of :meth:`continue_`."""
        async with self.astream_continue(engine, message, **opts) as events:
            return await events.get_final_result()

    async def astep(
        self, engine: Engine, message: str | Message | None = None, **opts: Any
    ) -> tuple[Session, StepResult]:
        """Async twin of :meth:`step`."""
        async with self.astream_step(engine, message, **opts) as events:
            return await events.get_final_result()

    # -- manual tools ----------------------------------------------------------

    def submit_tool_result(self, tool_call_id: str, content: Any) -> Session:
        """Answer one pending tool call; once none is pending the session is idle again.

        ``content`` is encoded like a handler's result (strings verbatim, anything else JSON).
        """
        self._require("submit_tool_result")
        ids = [c.id for c in self.pending_tool_calls]
        if tool_call_id not in ids:
            raise SessionError(
                "unknown_tool_call_id", f"no pending tool call has id {tool_call_id!r}; pending: {ids}"
            )
        index = ids.index(tool_call_id)  # calls sharing an id are answered one at a time, in order
        pending = self.pending_tool_calls[:index] + self.pending_tool_calls[index + 1 :]
        try:
            encoded = encode_result(content)
        except (TypeError, ValueError) as exc:
            raise ValidationError("invalid_message", errors=[("content", str(exc))]) from exc
        message = Message(role="tool", content=encoded, tool_call_id=tool_call_id)
        return replace(
            self,
            thread=self.thread.add(message),
            pending_tool_calls=pending,
            status="awaiting_tools" if pending else "idle",
        )


def _problems(session: Session) -> list[tuple[str, str]]:
    """Why the session's fields are inconsistent (empty when they are fine)."""
    problems: list[tuple[str, str]] = []
    if session.schema_version != SCHEMA_VERSION:
        problems.append(
            (
                "schema_version",
                f"unsupported session schema version {session.schema_version!r}; "
                f"this allm reads version {SCHEMA_VERSION}",
            )
        )
    if session.status not in _STATUSES:
        problems.append(("status", f"must be one of {', '.join(_STATUSES)}"))
    session_id = cast(object, session.id)  # checked: a loaded session may hold anything
    if not isinstance(session_id, str) or not session_id:
        problems.append(("id", "must be a non-empty string"))
    waiting_user = session.pending_question is not None or session.pending_tool_call_id is not None
    if (session.status == "awaiting_user") != waiting_user or (
        session.status == "awaiting_user" and session.pending_tool_call_id is None
    ):
        problems.append(
            (
                "pending_question",
                "a question and its tool call id are pending exactly when the status is awaiting_user",
            )
        )
    if (session.status == "awaiting_tools") != bool(session.pending_tool_calls):
        problems.append(
            ("pending_tool_calls", "tool calls are pending exactly when the status is awaiting_tools")
        )
    return problems


def _messages(messages: Thread | Sequence[Message] | str) -> tuple[Message, ...]:
    if isinstance(messages, str):
        return (user(messages),)
    return messages.messages if isinstance(messages, Thread) else tuple(messages)


def _user_message(text: str | Message) -> Message:
    return text if isinstance(text, Message) else user(text)


# ---------------------------------------------------------------------------
# The session reducer: events -> (new session, result)
# ---------------------------------------------------------------------------


class SessionReducer:
    """Folds the events of one session operation by hand into ``(new session, result)``.

    ``kind`` is ``"chat"`` (start / reply / continue) or ``"step"``. A stream that
    ended without its final event (closed early) leaves the session unchanged.

    Thread safety: a reducer is mutable and unsynchronized; one thread at a time.
    """

    def __init__(self, session: Session, thread: Thread, kind: str = "chat") -> None:
        if kind not in ("chat", "step"):
            raise ValueError("kind must be 'chat' or 'step'")
        self.session = session
        self.kind = kind
        self.collector = StreamCollector(thread)
        self._finished = False

    def apply(self, event: Event) -> SessionReducer:
        """Fold one event."""
        self.collector.apply(event)
        if event.type == ("chat_completed" if self.kind == "chat" else "step_completed"):
            self._finished = True
        return self

    def finalize(self) -> tuple[Session, ChatResult | StepResult]:
        """The new session and the operation's result."""
        if self.kind == "chat":
            result = self.collector.to_chat_result()
            return (_after_chat(self.session, result) if self._finished else self.session), result
        step_result = self.collector.to_step_result()
        return (_after_step(self.session, step_result) if self._finished else self.session), step_result


def _spent(session: Session, steps: Sequence[StepResult]) -> Session:
    """``session`` with the spend of the model calls of ``steps`` added."""
    spends = tuple(s for s in (Spend.of(step.response) for step in steps) if s is not None)
    return replace(session, spend=session.spend + spends) if spends else session


def _settled(session: Session, thread: Thread, halted_reason: str | None) -> Session:
    metadata = {k: v for k, v in session.metadata.items() if k != "error"}
    metadata["halted_reason"] = halted_reason
    return replace(
        session,
        thread=thread,
        status="completed",
        pending_tool_calls=(),
        pending_question=None,
        pending_tool_call_id=None,
        metadata=metadata,
    )


def _after_chat(session: Session, result: ChatResult) -> Session:
    """The session after a chat: its new status, and the chat's spend added."""
    return _spent(_status_after_chat(session, result), result.steps)


def _after_step(session: Session, result: StepResult) -> Session:
    """The session after a step: its new status, and the step's spend added."""
    return _spent(_status_after_step(session, result), (result,))


def _status_after_chat(session: Session, result: ChatResult) -> Session:
    reason = result.halted_reason
    new = _settled(session, result.thread, reason)
    if reason == "ask_user":
        return replace(
            new,
            status="awaiting_user",
            pending_question=result.pending_question,
            pending_tool_call_id=result.pending_tool_call_id,
        )
    if reason == "manual_tool_calls":
        last = result.steps[-1] if result.steps else None
        return replace(new, status="awaiting_tools", pending_tool_calls=held_calls(last) if last else ())
    if reason in ("error", "tool_error"):
        return replace(new, status="error", metadata={**new.metadata, "error": result.metadata.get("error")})
    return new


def _status_after_step(session: Session, result: StepResult) -> Session:
    halt, manual = StepHalt.of(result), held_calls(result)
    if halt is not None and halt.reason == "ask_user":
        return replace(
            _settled(session, result.thread.add(halt.question_message()), halt.reason),
            status="awaiting_user",
            pending_question=halt.question,
            pending_tool_call_id=halt.tool_call_id,
        )
    if halt is not None and halt.reason == "tool_error":
        new = _settled(session, result.thread, halt.reason)
        return replace(new, status="error", metadata={**new.metadata, "error": halt.result})
    if halt is None and result.response.finish_reason == "error":
        new = _settled(session, result.thread, "error")
        return replace(new, status="error", metadata={**new.metadata, "error": result.response.error})
    if halt is None and manual:
        return replace(
            _settled(session, result.thread, "manual_tool_calls"),
            status="awaiting_tools",
            pending_tool_calls=manual,
        )
    new = _settled(session, result.thread, halt.reason if halt else ("completed" if result.done else None))
    return new if result.done else replace(new, status="idle")


# ---------------------------------------------------------------------------
# Streams of session operations
# ---------------------------------------------------------------------------


class _Operation(Generic[R]):
    """What both session stream flavours share: the session, how it settles, the final event."""

    def __init__(
        self,
        request_id: str,
        session: Session,
        settle: Callable[[Session, R], Session],
        last: str,
        span: _spans.Span,
    ) -> None:
        self._request_id = request_id
        self._span = span
        self._session = session
        self._settle: Callable[[Session, R], Session] = settle
        self._last = last
        self._finished = False

    @property
    def request_id(self) -> str:
        """The request id shared by every call of the operation."""
        return self._request_id

    def _seen(self, event: Event) -> Event:
        self._finished = self._finished or event.type == self._last
        return event

    def _settled(self, result: R) -> tuple[Session, R]:
        """The new session (unchanged when the final event never came) and the result."""
        self._span.end()
        return (self._settle(self._session, result) if self._finished else self._session), result


class SessionStream(_Operation[R]):
    """The events of a session operation; ``get_final_result()`` is ``(new session, result)``.

    An iterator and a context manager over the underlying chat or step stream
    (:class:`ChatStream`); the result is that stream's, and the new session follows
    from it. Closed before its final event, the operation leaves the session unchanged.

    Thread safety: a stream is consumed by one thread at a time; it is not locked.
    """

    __module__ = "allm"

    def __init__(
        self,
        inner: ChatStream[R],
        session: Session,
        settle: Callable[[Session, R], Session],
        last: str,
        span: _spans.Span,
    ) -> None:
        super().__init__(inner.request_id, session, settle, last, span)
        self._inner: ChatStream[R] = inner

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        return self._seen(next(self._inner))

    def get_final_result(self) -> tuple[Session, R]:
        """Consume what is left; return the new session and the result."""
        try:
            for _ in self:
                pass
        finally:
            self.close()
        return self._settled(self._inner.get_final_result())

    def close(self) -> None:
        """Close the underlying stream (idempotent)."""
        self._inner.close()
        self._span.end()

    def __enter__(self) -> SessionStream[R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncSessionStream(_Operation[R]):
    """Async twin of :class:`SessionStream`.

    Thread safety: a stream is consumed by one task at a time; it is not locked.
    """

    __module__ = "allm"

    def __init__(
        self,
        inner: AsyncChatStream[R],
        session: Session,
        settle: Callable[[Session, R], Session],
        last: str,
        span: _spans.Span,
    ) -> None:
        super().__init__(inner.request_id, session, settle, last, span)
        self._inner: AsyncChatStream[R] = inner

    def __aiter__(self) -> AsyncSessionStream[R]:
        return self

    async def __anext__(self) -> Event:
        return self._seen(await self._inner.__anext__())

    async def get_final_result(self) -> tuple[Session, R]:
        """Consume what is left; return the new session and the result."""
        try:
            async for _ in self:
                pass
        finally:
            await self.aclose()
        return self._settled(await self._inner.get_final_result())

    async def aclose(self) -> None:
        """Close the underlying stream (idempotent)."""
        await self._inner.aclose()
        self._span.end()

    async def __aenter__(self) -> AsyncSessionStream[R]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


register("Session", Session)
