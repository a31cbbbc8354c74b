"""What calls return: Response, StepResult and ChatResult (Layer A).

Thread safety: all three are frozen values; share them freely (a caller that
mutates a ``metadata`` dict in place owns that choice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, cast, overload

from ._cost import cost_of
from ._messages import Message, Thread, ToolCall
from ._output import StructuredOutput, parsed_value, revalidate
from ._usage import Usage
from .errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    OutT = TypeVar("OutT", default=Any)
else:
    from typing import TypeVar

    OutT = TypeVar("OutT")
T = TypeVar("T")

__all__ = [
    "FINISH_REASONS",
    "ChatResult",
    "FinishReason",
    "Response",
    "StepResult",
    "total_cost",
    "total_usage",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error", "other"]
FINISH_REASONS: frozenset[str] = frozenset(
    {"stop", "length", "tool_calls", "content_filter", "error", "other"}
)


@dataclass(frozen=True, slots=True)
class Response(Generic[OutT]):
    """One model reply, folded from its event stream.

    A mid-stream failure gives ``finish_reason == "error"`` with the error in
    ``metadata["error"]``; partial text and usage are kept. A message with tool
    calls finishes ``"tool_calls"`` when the provider said nothing or ``"stop"``
    (``raw_finish_reason`` keeps what it said). The model's reasoning is part of
    ``message.content`` (``ReasoningPart``); ``reasoning`` is its text. With an output type
    (``allm.request(..., output_type=T)``), ``output`` holds the structured
    answer: ``parsed`` is the validated ``T``, ``parse_error`` why it failed.

    ``usage`` is None when the provider reported no usage at all (a failure
    before its usage arrived, an OpenAI-compatible server that sends none, a
    Fake script without a ``usage`` entry). It is not replaced by zeros: zero
    tokens is a different claim from "not reported", so check it first
    (``if response.usage is not None: ...``).
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
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    provider: str | None = None
    output: StructuredOutput | None = field(default=None, repr=False)

    @property
    def reasoning(self) -> str:
        """The reasoning text the model showed: its message's ``ReasoningPart``
        texts joined (``""`` when there were none)."""
        return self.message.reasoning

    @property
    def error(self) -> Any:
        """The error folded from the stream, or None."""
        return self.metadata.get("error")

    @property
    def cost(self) -> Decimal | None:
        """What this call cost in USD, from its usage, model and provider; None when unknown."""
        return cost_of(self.usage, self.model, self.provider)

    @property
    def parsed(self) -> OutT:
        """The validated output object; raises ``parse_error`` when validation failed."""
        return cast(OutT, parsed_value(self.output))

    @property
    def parse_error(self) -> ValidationError | None:
        """Why the output did not validate (raw text kept in ``output.raw``), or None."""
        return None if self.output is None else self.output.error

    @overload
    def validate_output(self, output_type: type[T]) -> Response[T]: ...
    @overload
    def validate_output(self, output_type: Any) -> Response[Any]: ...
    def validate_output(self, output_type: Any) -> Response[Any]:
        """This response with its output validated again against ``output_type`` (after loading)."""
        return replace(self, output=revalidate(self.output, output_type))


@dataclass(frozen=True, slots=True)
class StepResult:
    """One model call plus the tools it ran, with the thread after it."""

    thread: Thread
    response: Response
    tool_results: tuple[Message, ...] = ()
    done: bool = False
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def cost(self) -> Decimal | None:
        """What the step's model call cost in USD; None when unknown."""
        return self.response.cost


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A whole chat loop: every step, the final response and why it stopped."""

    thread: Thread
    final_response: Response | None = None
    steps: tuple[StepResult, ...] = ()
    halted_reason: str = "completed"
    pending_question: str | None = None
    pending_tool_call_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def parsed(self) -> Any:
        """The validated output object of the final response (see :attr:`Response.parsed`)."""
        return parsed_value(None if self.final_response is None else self.final_response.output)

    @property
    def parse_error(self) -> ValidationError | None:
        """Why the final response's output did not validate, or None."""
        return None if self.final_response is None else self.final_response.parse_error

    def validate_output(self, output_type: Any) -> ChatResult:
        """This result with the final response's output validated again against ``output_type``."""
        if self.final_response is None:
            raise ValidationError("invalid_output", "this result has no final response to validate")
        return replace(self, final_response=self.final_response.validate_output(output_type))

    @property
    def usage(self) -> Usage:
        """The token usage of every step's model call, added up."""
        return total_usage(step.response for step in self.steps)

    @property
    def cost(self) -> Decimal | None:
        """The USD cost of every step's model call, added up; None when any is unknown."""
        return total_cost(step.response for step in self.steps)


@dataclass(frozen=True, slots=True)
class Spend:
    """What one model call used: its model, provider and usage (a Session keeps one per call)."""

    model: str | None = None
    provider: str | None = None
    usage: Usage = field(default_factory=Usage)

    @classmethod
    def of(cls, response: Response) -> Spend | None:
        """The spend of ``response`` (None when it reported no usage)."""
        if response.usage is None:
            return None
        return cls(response.model, response.provider, response.usage)

    @property
    def cost(self) -> Decimal | None:
        """The USD cost of this call; None when its price is unknown."""
        return cost_of(self.usage, self.model, self.provider)


def total_usage(responses: Iterable[Response]) -> Usage:
    """The usage of ``responses``, added up (a response without usage adds nothing)."""
    return sum((r.usage for r in responses if r.usage is not None), Usage())


def total_cost(responses: Iterable[Response]) -> Decimal | None:
    """The cost of ``responses``, added up.

    None when none reported usage, or when the cost of any that did is unknown.
    """
    total: Decimal | None = None
    for response in responses:
        if response.usage is None:
            continue
        cost = response.cost
        if cost is None:
            return None
        total = cost if total is None else total + cost
    return total
