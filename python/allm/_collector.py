"""StreamCollector: folds any event stream into a Response, StepResult or ChatResult.

Message-level events (text, tool calls, usage, finish, errors) are folded by the
active backend's ``Fold`` (native when available). Step- and chat-level events
(tool results, halts, step_completed, chat_completed) are folded here.

Tool messages are kept in the order the model asked for the calls, whatever
order the tools finished in. When several handlers of one step halt, every
halting call still gets its tool message and the step's halt is the one of
highest precedence (ask_user, then tool_error, then a custom halt), the
earliest in the model's order among equals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _backend
from ._messages import Message, Thread
from ._results import ChatResult, Response, StepResult
from .events import Event

__all__ = ["StreamCollector"]

AWAITING_USER = "<awaiting user response>"
_DONE_FINISHES = frozenset({"stop", "length", "content_filter", "error"})


def _halt_rank(halt: dict[str, Any]) -> int:
    reason = halt["halted_reason"]
    return 0 if reason == "ask_user" else 1 if reason == "tool_error" else 2


class StreamCollector:
    """Folds events, one at a time or in batches, into results.

    ``to_response()`` works on any stream; ``to_step_result()`` and
    ``to_chat_result()`` need the thread the call started from.
    """

    def __init__(self, thread: Thread | None = None) -> None:
        self.thread = thread
        self._fold = _backend.backend.Fold()
        self._tool_messages: list[Message] = []
        self._halts: list[tuple[str, dict[str, Any]]] = []
        self._steps: list[StepResult] = []
        self._chat_result: ChatResult | None = None
        self._error: Any = None
        self._in_step = False

    def apply(self, event: Event) -> StreamCollector:
        """Fold one event; returns the collector for chaining."""
        kind = event.type
        self._in_step = kind not in ("step_completed", "chat_completed")
        if kind == "tool_result_encoded":
            self._tool_messages.append(Message(role="tool", content=event.content, tool_call_id=event.id))
        elif kind == "ask_user_requested":
            self._add_halt(
                {
                    "halted_reason": "ask_user",
                    "pending_tool_call_id": event.tool_call_id,
                    "pending_question": event.question,
                    "ask_user_options": dict(event.options),
                },
                event.tool_call_id,
                AWAITING_USER,
            )
        elif kind == "tool_halt":
            self._add_halt(
                {
                    "halted_reason": event.reason,
                    "halt_tool_call_id": event.tool_call_id,
                    "halt_result": event.result,
                },
                event.tool_call_id,
                event.content,
            )
        elif kind == "step_completed":
            self._complete_step(event.result)
        elif kind == "chat_completed":
            self._chat_result = event.result
        else:
            if kind == "error":
                self._error = event.error
            self._fold.apply(event)
        return self

    def apply_many(self, events: Iterable[Event]) -> StreamCollector:
        """Fold a batch of events in order."""
        for event in events:
            self.apply(event)
        return self

    def _add_halt(self, halt: dict[str, Any], tool_call_id: str, content: str) -> None:
        self._halts.append((tool_call_id, halt))
        self._tool_messages.append(Message(role="tool", content=content, tool_call_id=tool_call_id))

    def _complete_step(self, result: StepResult) -> None:
        self._steps.append(result)
        self.thread = result.thread
        self._fold = _backend.backend.Fold()
        self._tool_messages = []
        self._halts = []
        self._in_step = False

    @property
    def steps(self) -> tuple[StepResult, ...]:
        """The results of the steps folded so far."""
        return tuple(self._steps)

    @property
    def error(self) -> Any:
        """The last error folded from an ``error`` event, or None."""
        return self._error

    @property
    def in_step(self) -> bool:
        """Whether events of a step not yet completed have been folded."""
        return self._in_step

    def to_response(self) -> Response:
        """The Response of the current (or only) model message."""
        return self._fold.response()

    def _model_order(self, response: Response) -> dict[str, int]:
        return {call.id: index for index, call in enumerate(response.tool_calls)}

    def step_halt(self, response: Response | None = None) -> dict[str, Any]:
        """The halt metadata of the current step (empty when no handler halted)."""
        if not self._halts:
            return {}
        order = self._model_order(response or self.to_response())
        ranked = sorted(self._halts, key=lambda h: (_halt_rank(h[1]), order.get(h[0], len(order))))
        return dict(ranked[0][1])

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
        response = response or self.to_response()
        order = self._model_order(response)
        tool_messages = tuple(
            sorted(self._tool_messages, key=lambda m: order.get(m.tool_call_id, len(order)))
        )
        thread = (self.thread or Thread()).add(response.message, *tool_messages)
        meta = {**self.step_halt(response), **(metadata or {})}
        done = (
            "halted_reason" in meta
            or bool(meta.get("manual_tool_calls"))
            or response.finish_reason in _DONE_FINISHES
        )
        return StepResult(
            thread=thread, response=response, tool_results=tool_messages, done=done, metadata=meta
        )

    def to_chat_result(self) -> ChatResult:
        """The chat result: chat_completed's if seen, else a cancelled (or error) result."""
        if self._chat_result is not None:
            return self._chat_result
        last = self._steps[-1].response if self._steps else None
        metadata = {"error": self._error} if self._error is not None else {}
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
