"""The provider-neutral request (Layer A)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ._messages import Message
from ._tool import Tool

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
class Request:
    """What to ask the model.

    ``options`` holds raw provider fields merged last into the request body.
    ``response_format`` is None, ``{"type": "text"}``, ``{"type": "json_object"}``
    or the value of :func:`allm.json_schema`. ``stop`` may be given as one
    string or a list and is kept as a tuple; ``reasoning`` may be given as a
    mapping with ``effort`` and/or ``budget_tokens``.
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

    def __post_init__(self) -> None:
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
