"""StreamCollector: folds any event stream into a Response, StepResult or ChatResult.

Message-level events (text, tool calls, usage, finish, errors) are folded by the
active backend's ``Fold`` (native when available). Step- and chat-level events
(tool results, halts, step_completed, chat_completed) are folded here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _backend
from .events import Event
from .messages import Message, Thread
from .results import ChatResult, Response, StepResult

__all__ = ["StreamCollector"]

AWAITING_USER = "<awaiting user response>"


class StreamCollector:
    """Folds events, one at a time or in batches, into results.

    ``to_response()`` works on any stream; ``to_step_result()`` and
    ``to_chat_result()`` need the thread the call started from.
    """

    def __init__(self, thread: Thread | None = None) -> None:
        self.thread = thread
        self._fold = _backend.backend.Fold()
        self._tool_messages: list[Message] = []
        self._halt: dict[str, Any] | None = None
        self._steps: list[StepResult] = []
        self._chat_result: ChatResult | None = None
        self._step_thread: Thread | None = None
        self._error_seen = False

    def apply(self, event: Event) -> StreamCollector:
        """Fold one event; returns the collector for chaining."""
        kind = event.type
        if kind == "tool_result_encoded":
            self._tool_messages.append(Message(role="tool", content=event.content, tool_call_id=event.id))
        elif kind == "ask_user_requested":
            self._halt_once(
                {"halted_reason": "ask_user", "pending_tool_call_id": event.tool_call_id,
                 "pending_question": event.question, "ask_user_options": dict(event.options)},
                event.tool_call_id, AWAITING_USER,
            )
        elif kind == "tool_halt":
            self._halt_once(
                {"halted_reason": event.reason, "halt_tool_call_id": event.tool_call_id,
                 "halt_result": event.result},
                event.tool_call_id, event.content,
            )
        elif kind == "step_completed":
            self._complete_step(event.result)
        elif kind == "chat_completed":
            self._chat_result = event.result
        else:
            if kind == "error":
                self._error_seen = True
            self._fold.apply(event)
        return self

    def apply_many(self, events: Iterable[Event]) -> StreamCollector:
        """Fold a batch of events in order."""
        for event in events:
            self.apply(event)
        return self

    def _halt_once(self, halt: dict[str, Any], tool_call_id: str, content: str) -> None:
        if self._halt is None:
            self._halt = halt
            self._tool_messages.append(Message(role="tool", content=content, tool_call_id=tool_call_id))

    def _complete_step(self, result: StepResult) -> None:
        self._steps.append(result)
        self.thread = result.thread
        self._fold = _backend.backend.Fold()
        self._tool_messages = []
        self._halt = None

    def to_response(self) -> Response:
        """The Response of the current (or only) model message."""
        return self._fold.response()

    def to_step_result(self) -> StepResult:
        """The step result: the last step_completed's, else one built from the fold."""
        if self._steps and not self._tool_messages and self._halt is None:
            return self._steps[-1]
        response = self.to_response()
        thread = self.thread or Thread()
        thread = thread.add(response.message, *self._tool_messages)
        metadata = dict(self._halt or {})
        done = self._halt is not None or response.finish_reason in {"stop", "length", "content_filter", "error"}
        return StepResult(thread=thread, response=response, tool_results=tuple(self._tool_messages),
                          done=done, metadata=metadata)

    def to_chat_result(self) -> ChatResult:
        """The chat result: chat_completed's if seen, else a cancelled (or error) result."""
        if self._chat_result is not None:
            return self._chat_result
        last = self._steps[-1].response if self._steps else None
        errored = self._error_seen
        return ChatResult(
            thread=self.thread or Thread(),
            final_response=last,
            steps=tuple(self._steps),
            halted_reason="error" if errored else "cancelled",
            metadata={},
        )

    def with_thread(self, thread: Thread) -> StreamCollector:
        """Set the thread results are built on."""
        self.thread = thread
        return self

