"""What calls return: Response, StepResult and ChatResult (Layer A)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._messages import Message, Thread, ToolCall
from ._usage import Usage

__all__ = ["FINISH_REASONS", "ChatResult", "FinishReason", "Response", "StepResult"]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
FINISH_REASONS: frozenset[str] = frozenset(
    {"stop", "length", "tool_calls", "content_filter", "error", "other"}
)


@dataclass(frozen=True, slots=True)
class Response:
    """One model reply, folded from its event stream.

    A mid-stream failure gives ``finish_reason == "error"`` with the error in
    ``metadata["error"]``; partial text and usage are kept. A message with tool
    calls finishes ``"tool_calls"`` when the provider said nothing or ``"stop"``
    (``raw_finish_reason`` keeps what it said). The model's reasoning is part of
    ``message.content`` (``ReasoningPart``); ``reasoning`` is its text.
    """

    message: Message
    output_text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason | None = None
    raw_finish_reason: str | None = None
    usage: Usage | None = None
    id: str | None = None
    request_id: str | None = None
    model: str | None = None
    raw: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def reasoning(self) -> str:
        """The reasoning text the model showed: its message's ``ReasoningPart``
        texts joined (``""`` when there were none)."""
        return self.message.reasoning

    @property
    def error(self) -> Any:
        """The error folded from the stream, or None."""
        return self.metadata.get("error")


@dataclass(frozen=True, slots=True)
class StepResult:
    """One model call plus the tools it ran, with the thread after it."""

    thread: Thread
    response: Response
    tool_results: tuple[Message, ...] = ()
    done: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole chat loop: every step, the final response and why it stopped."""

    thread: Thread
    final_response: Response | None = None
    steps: tuple[StepResult, ...] = ()
    halted_reason: str = "completed"
    pending_question: str | None = None
    pending_tool_call_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
