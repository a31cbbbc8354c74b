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
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
