"""Token accounting for one response (Layer A)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them.

    ``input_tokens`` includes cached and cache-written input; ``extra`` keeps
    provider fields that have no slot of their own.

    Usages add up (``a + b``, ``sum(usages, Usage())``): every count is summed,
    and so are the integer ``extra`` fields; other extra fields are dropped.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict[str, Any])

    def __add__(self, other: object) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        extra = {
            key: self.extra.get(key, 0) + other.extra.get(key, 0)
            for key in {*self.extra, *other.extra}
            if _is_count(self.extra.get(key, 0)) and _is_count(other.extra.get(key, 0))
        }
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_input_tokens=self.cache_write_input_tokens + other.cache_write_input_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            extra=extra,
        )

    def __radd__(self, other: object) -> Usage:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
