"""StreamCollector: folds any event stream into a Response, StepResult or ChatResult.

Message-level events (text, tool calls, usage, finish, errors) are folded by the
active backend's ``Fold`` (native when available). The tool events of a step
(tool results, questions, halts) are folded by :class:`StepTools`, which the chat
loop uses as well, so a StepResult built by the loop and one rebuilt from its
events by hand are the same value. Step- and chat-level events (step_completed,
chat_completed) are folded here.

Tool messages are kept in the order the model asked for the calls, whatever
order the tools finished in (calls that share an id keep every answer, at the
place of the id's first call). When several handlers of one step halt, every
halting call still gets its tool message and the step's halt is the one of
highest precedence (ask_user, then tool_error, then a custom halt), the
earliest in the model's order among equals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _backend  # pyright: ignore[reportPrivateUsage]
from ._messages import Message, Thread, ToolCall
from ._results import ChatResult, Response, StepResult
from ._tool_runner import AWAITING_USER
from .errors import AllmError
from .events import (
    AskUserRequested,
    ChatCompleted,
    ErrorEvent,
    Event,
    StepCompleted,
    ToolHalt,
    ToolResultEncoded,
)

__all__ = ["StepHalt", "StepTools", "StreamCollector", "held_calls"]

_DONE_FINISHES = frozenset({"stop", "length", "content_filter", "error"})


@dataclass(frozen=True, slots=True)
class StepHalt:
    """Why a handler stopped its step (the typed form of a StepResult's halt metadata).

    ``reason`` is ``"ask_user"`` (with ``question`` and ``options``), ``"tool_error"``
    (``result`` is the ToolError) or a handler's own reason (``result`` is its value).
    Immutable, so safe to share.
    """

    reason: str
    tool_call_id: str
    question: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    result: Any = None

    @property
    def rank(self) -> int:
        """Precedence among the halts of one step: lower wins."""
        return 0 if self.reason == "ask_user" else 1 if self.reason == "tool_error" else 2

    def metadata(self) -> dict[str, Any]:
        """The documented StepResult metadata of this halt."""
        if self.reason == "ask_user":
            return {
                "halted_reason": "ask_user",
                "pending_tool_call_id": self.tool_call_id,
                "pending_question": self.question,
                "ask_user_options": dict(self.options),
            }
        return {
            "halted_reason": self.reason,
            "halt_tool_call_id": self.tool_call_id,
            "halt_result": self.result,
        }

    def question_message(self) -> Message:
        """The assistant message that puts an ask_user question to the human."""
        asked = {"ask_user": True, "tool_call_id": self.tool_call_id}
        return Message(role="assistant", content=self.question or "", metadata=asked)

    @classmethod
    def of(cls, result: StepResult) -> StepHalt | None:
        """The halt a StepResult records in its documented metadata (None: no handler halted)."""
        meta = result.metadata
        reason = meta.get("halted_reason")
        if not isinstance(reason, str):
            return None
        if reason == "ask_user":
            options: Mapping[str, Any] = meta.get("ask_user_options") or dict[str, Any]()
            return cls(reason, meta["pending_tool_call_id"], meta["pending_question"], options)
        return cls(reason, meta.get("halt_tool_call_id", ""), result=meta.get("halt_result"))


def held_calls(result: StepResult) -> tuple[ToolCall, ...]:
    """The tool calls a step held back for the caller (its documented ``manual_tool_calls``)."""
    return tuple(result.metadata.get("manual_tool_calls", ()))


class StepTools:
    """The tool events of one step, folded: tool messages and halts (mutable; one thread)."""

    __slots__ = ("halts", "messages")

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.halts: list[StepHalt] = []

    def apply(self, event: Event) -> bool:
        """Fold ``event`` if it is a tool outcome; False for any other event."""
        if isinstance(event, ToolResultEncoded):
            self.messages.append(Message(role="tool", content=event.content, tool_call_id=event.id))
        elif isinstance(event, AskUserRequested):
            halt = StepHalt("ask_user", event.tool_call_id, event.question, dict(event.options))
            self._add_halt(halt, AWAITING_USER)
        elif isinstance(event, ToolHalt):
            self._add_halt(StepHalt(event.reason, event.tool_call_id, result=event.result), event.content)
        else:
            return False
        return True

    def _add_halt(self, halt: StepHalt, content: str) -> None:
        self.halts.append(halt)
        self.messages.append(Message(role="tool", content=content, tool_call_id=halt.tool_call_id))

    def halt(self, response: Response) -> StepHalt | None:
        """The step's halt: the highest-precedence one, earliest in the model's order; or None."""
        if not self.halts:
            return None
        order = _model_order(response)
        return min(self.halts, key=lambda h: (h.rank, order.get(h.tool_call_id, len(order))))

    def step_result(
        self,
        thread: Thread,
        response: Response,
        metadata: Mapping[str, Any] | None = None,
        held: tuple[ToolCall, ...] = (),
    ) -> StepResult:
        """The StepResult of ``response`` and these tool outcomes, on top of ``thread``.

        ``metadata`` is merged into the halt metadata. A step that holds back tool
        calls (``held``, recorded as ``metadata["manual_tool_calls"]``) is done.
        """
        order = _model_order(response)
        tool_messages = tuple(sorted(self.messages, key=lambda m: order.get(m.tool_call_id, len(order))))
        halt = self.halt(response)
        meta = {**(halt.metadata() if halt is not None else {}), **(metadata or {})}
        if held:
            meta["manual_tool_calls"] = held
        done = halt is not None or bool(held) or response.finish_reason in _DONE_FINISHES
        return StepResult(
            thread=thread.add(response.message, *tool_messages),
            response=response,
            tool_results=tool_messages,
            done=done,
            metadata=meta,
        )


def _model_order(response: Response) -> dict[str | None, int]:
    """Each tool call id's position in the model's order (the first call, when ids repeat)."""
    order: dict[str | None, int] = {}
    for index, call in enumerate(response.tool_calls):
        order.setdefault(call.id, index)
    return order


class StreamCollector:
    """Folds events, one at a time or in batches, into results.

    ``to_response()`` works on any stream; ``to_step_result()`` and
    ``to_chat_result()`` need the thread the call started from.

    Thread safety: a collector is mutable and unsynchronized; fold each stream
    with its own collector, from one thread at a time.
    """

    __module__ = "allm"

    def __init__(self, thread: Thread | None = None) -> None:
        self.thread = thread
        self._fold: Any = _backend.backend.Fold()
        self._tools = StepTools()
        self._steps: list[StepResult] = []
        self._chat_result: ChatResult | None = None
        self._error: AllmError | None = None
        self._in_step = False

    def apply(self, event: Event) -> StreamCollector:
        """Fold one event; returns the collector for chaining."""
        self._in_step = True
        if isinstance(event, StepCompleted):
            self._complete_step(event.result)
        elif isinstance(event, ChatCompleted):
            self._chat_result = event.result
            self._in_step = False
        elif not self._tools.apply(event):
            if isinstance(event, ErrorEvent):
                self._error = event.error
            self._fold.apply(event)
        return self

    def apply_many(self, events: Iterable[Event]) -> StreamCollector:
        """Fold a batch of events in order."""
        for event in events:
            self.apply(event)
        return self

    def _complete_step(self, result: StepResult) -> None:
        self._steps.append(result)
        self.thread = result.thread
        self._fold = _backend.backend.Fold()
        self._tools = StepTools()
        self._in_step = False

    @property
    def steps(self) -> tuple[StepResult, ...]:
        """The results of the steps folded so far."""
        return tuple(self._steps)

    @property
    def error(self) -> AllmError | None:
        """The last error folded from an ``error`` event, or None."""
        return self._error

    @property
    def in_step(self) -> bool:
        """Whether events of a step not yet completed have been folded."""
        return self._in_step

    def to_response(self) -> Response:
        """The Response of the current (or only) model message."""
        response: Response = self._fold.response()
        return response

    def to_step_result(
        self, *, response: Response | None = None, metadata: dict[str, Any] | None = None
    ) -> StepResult:
        """The step result: the last step_completed's, else one built from the fold.

        ``response`` replaces the folded Response (the step layer stamps the request
        id and model on it); ``metadata`` is merged into the step's metadata. A step
        that holds back tool calls (``metadata["manual_tool_calls"]``) is done.
        """
        if self._steps and not self.in_step and response is None:
            return self._steps[-1]
        held = tuple((metadata or {}).get("manual_tool_calls", ()))  # the documented key, read at the edge
        return self._tools.step_result(
            self.thread or Thread(), response or self.to_response(), metadata, held
        )

    def to_chat_result(self) -> ChatResult:
        """The chat result: chat_completed's if seen, else a cancelled (or error) result."""
        if self._chat_result is not None:
            return self._chat_result
        last = self._steps[-1].response if self._steps else None
        metadata: dict[str, Any] = {"error": self._error} if self._error is not None else {}
        return ChatResult(
            thread=self.thread or Thread(),
            final_response=last,
            steps=tuple(self._steps),
            halted_reason="error" if self._error is not None else "cancelled",
            metadata=metadata,
        )

    def with_thread(self, thread: Thread) -> StreamCollector:
        """Set the thread results are built on."""
        self.thread = thread
        return self
