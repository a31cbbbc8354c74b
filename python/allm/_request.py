"""The provider-neutral request (Layer A)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, cast

from ._messages import Message
from ._output import output_format
from ._tool import Tool
from .errors import ValidationError

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    OutT = TypeVar("OutT", default=Any)
else:
    from typing import TypeVar

    OutT = TypeVar("OutT")

__all__ = ["Reasoning", "ReasoningEffort", "Request"]

ReasoningEffort = Literal["minimal", "low", "medium", "high"]
REASONING_EFFORTS: tuple[str, ...] = ("minimal", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Reasoning:
    """How much the model may think: an ``effort`` level and/or a token budget.

    Translated per provider (see the README's parameter table); a part the
    provider cannot express is refused unless ``drop_unsupported_params``.
    """

    effort: ReasoningEffort | None = None
    budget_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Request(Generic[OutT]):
    """What to ask the model.

    ``options`` holds raw provider fields merged last into the request body.
    ``response_format`` is None, ``{"type": "text"}``, ``{"type": "json_object"}``
    or the value of :func:`allm.json_schema`. ``stop`` may be given as one
    string or a list and is kept as a tuple; ``reasoning`` may be given as a
    mapping with ``effort`` and/or ``budget_tokens``. ``output_type``
    (runtime-only, never serialized) asks for a structured answer of that type
    and sets ``response_format`` from it (see :mod:`allm._output`); giving a
    different ``response_format`` too is an error.
    """

    messages: tuple[Message, ...]
    model: str | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str | dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: dict[str, Any] | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    parallel_tool_calls: bool | None = None
    reasoning: Reasoning | None = None
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    output_type: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.output_type is not None:
            derived = output_format(self.output_type)
            if self.response_format is None:
                object.__setattr__(self, "response_format", derived)
            elif self.response_format != derived:
                raise ValidationError(
                    "invalid_request",
                    errors=[("output_type", "give output_type or response_format, not both")],
                )
        stop: Any = self.stop
        if isinstance(stop, str):
            object.__setattr__(self, "stop", (stop,))
        elif isinstance(stop, list):
            object.__setattr__(self, "stop", tuple(cast("list[str]", stop)))
        reasoning: Any = self.reasoning
        if isinstance(reasoning, Mapping):
            parts = cast("Mapping[str, Any]", reasoning)
            if set(parts) <= {"effort", "budget_tokens"}:
                object.__setattr__(self, "reasoning", Reasoning(**parts))
