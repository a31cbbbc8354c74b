"""Token counts out of provider usage objects (docs/internals.md §6.2)."""

from __future__ import annotations

from typing import Any, cast

from ..._usage import Usage

__all__ = ["count", "nested_count", "openai_usage"]

_COUNT_MAX = 2**63 - 1


def count(obj: dict[str, Any], key: str) -> int | None:
    """``obj[key]`` when it is a valid token count (a JSON integer in range), else None."""
    value = obj.get(key)
    if type(value) is int and 0 <= value <= _COUNT_MAX:
        return value
    return None


def nested_count(obj: dict[str, Any], outer: str, key: str) -> int | None:
    """``obj[outer][key]`` as a token count, else None."""
    inner = obj.get(outer)
    return count(cast("dict[str, Any]", inner), key) if isinstance(inner, dict) else None


def openai_usage(obj: dict[str, Any], input_key: str, output_key: str) -> Usage:
    """OpenAI usage (Chat: prompt/completion; Responses: input/output)."""
    details_in = f"{input_key}_details"
    details_out = f"{output_key}_details"
    return Usage(
        input_tokens=count(obj, input_key) or 0,
        output_tokens=count(obj, output_key) or 0,
        total_tokens=count(obj, "total_tokens") or 0,
        cached_input_tokens=nested_count(obj, details_in, "cached_tokens") or 0,
        cache_write_input_tokens=nested_count(obj, details_in, "cache_write_tokens") or 0,
        reasoning_tokens=nested_count(obj, details_out, "reasoning_tokens") or 0,
    )
