"""Partial JSON values: whether one grows into another (for the partial-object tests)."""

from __future__ import annotations

from typing import Any


def extends(before: Any, after: Any) -> bool:
    """Whether the partial value ``before`` grows into ``after`` (never shrinks or changes)."""
    if before is None:
        return True
    kind = before.__class__
    if kind is not after.__class__:
        return False
    if kind is str:
        return str(after).startswith(str(before))
    if kind is list:
        return _extends_items(before, after)
    if kind is dict:
        return _extends_entries(before, after)
    return bool(before == after)


def _extends_items(before: list[Any], after: list[Any]) -> bool:
    n = len(before)
    if n == 0:
        return True
    return n <= len(after) and before[:-1] == after[: n - 1] and extends(before[-1], after[n - 1])


def _extends_entries(before: dict[str, Any], after: dict[str, Any]) -> bool:
    keys = list(before)
    if keys != list(after)[: len(keys)]:
        return False
    return all(before[k] == after[k] for k in keys[:-1]) and (
        not keys or extends(before[keys[-1]], after[keys[-1]])
    )
