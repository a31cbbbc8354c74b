"""What a call cost, in USD, from its usage.

Prices come from ``genai-prices`` (the pydantic team's price database, updated
with each release; ``pip install allm-engine[prices]``), matched by provider
and model. Prices set with :func:`set_price` override the database for that
model. A model with no known price costs ``None``, never 0; so does every call
when neither source knows it (including when genai-prices is not installed).

Token classes priced: input (uncached), cached input reads, cache writes,
output, and reasoning. Reasoning tokens are billed as output: they are already
inside ``output_tokens`` for OpenAI and Anthropic, and added to it for Gemini,
whose ``candidatesTokenCount`` leaves thoughts out.

Thread safety: prices may be set from any thread; a price lookup reads a
snapshot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from ._usage import Usage

__all__ = ["Price", "cost_of", "set_price"]

_MILLION = Decimal(1_000_000)
_REASONING_OUTSIDE_OUTPUT = frozenset({"gemini"})


@dataclass(frozen=True, slots=True)
class Price:
    """A model's price in USD per million tokens.

    ``cached_input`` and ``cache_write`` default to ``input``; ``reasoning`` to ``output``.
    """

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    reasoning: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached_input", "cache_write", "reasoning"):
            value = getattr(self, name)
            if value is not None:
                number = Decimal(str(value))
                if not number.is_finite() or number < 0:
                    raise ValueError(f"Price.{name} must be a finite, non-negative number")
                object.__setattr__(self, name, number)

    def cost(self, usage: Usage, *, reasoning_in_output: bool = True) -> Decimal:
        """The USD cost of ``usage`` at this price."""
        cached = usage.cached_input_tokens
        written = usage.cache_write_input_tokens
        uncached = max(usage.input_tokens - cached - written, 0)
        reasoning = usage.reasoning_tokens
        plain_output = max(usage.output_tokens - reasoning, 0) if reasoning_in_output else usage.output_tokens
        per_token = (
            uncached * self.input
            + cached * _or(self.cached_input, self.input)
            + written * _or(self.cache_write, self.input)
            + plain_output * self.output
            + reasoning * _or(self.reasoning, self.output)
        )
        return per_token / _MILLION


def _or(value: Decimal | None, default: Decimal) -> Decimal:
    return default if value is None else value


_lock = threading.Lock()
_overrides: dict[str, Price] = {}


def set_price(model: str, price: Price | None) -> None:
    """Use ``price`` for ``model`` from now on (``None`` goes back to the database)."""
    if not model:
        raise ValueError("set_price needs a model name")
    with _lock:
        if price is None:
            _overrides.pop(model, None)
        else:
            _overrides[model] = price


def cost_of(usage: Usage | None, model: str | None, provider: str | None = None) -> Decimal | None:
    """The USD cost of ``usage`` on ``model`` (served by ``provider``), or None when unknown."""
    if usage is None or not model:
        return None
    reasoning_in_output = provider not in _REASONING_OUTSIDE_OUTPUT
    override = _overrides.get(model)
    if override is not None:
        return override.cost(usage, reasoning_in_output=reasoning_in_output)
    return _database_cost(usage, model, provider, reasoning_in_output)


def _database_cost(
    usage: Usage, model: str, provider: str | None, reasoning_in_output: bool
) -> Decimal | None:
    database = _price_database()
    found = _find_model(model, provider) if database is not None else None
    if database is None or found is None:
        return None
    found_provider, found_model = found
    output = usage.output_tokens if reasoning_in_output else usage.output_tokens + usage.reasoning_tokens
    priced = found_model.calc_price(
        database.Usage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_input_tokens,
            output_tokens=output,
        ),
        found_provider,
        genai_request_timestamp=datetime.now(tz=timezone.utc),
    )
    return Decimal(priced.total_price)


@lru_cache(maxsize=4096)
def _find_model(model: str, provider: str | None) -> tuple[Any, Any] | None:
    """genai-prices' (provider, model) for a model name, matched once per name (the slow part)."""
    database = _price_database()
    if database is None:
        return None
    try:
        found: tuple[Any, Any] = database.data_snapshot.get_snapshot().find_provider_model(
            model, None, provider, None
        )
    except LookupError:
        return None
    return found


@cache
def _price_database() -> Any:
    """The genai_prices module; None without it (imported on first use)."""
    try:
        import genai_prices
        from genai_prices import data_snapshot
    except ImportError:
        return None
    assert genai_prices.data_snapshot is data_snapshot  # the submodule _find_model uses is loaded
    return genai_prices
