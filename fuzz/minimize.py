"""Shrink a failing case while it still fails the same way (options, chunking, then bytes)."""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable

from .harness import Case

__all__ = ["minimize"]

Check = Callable[[Case], bool]


def rebuild(case: Case, data: bytes, cuts: list[int]) -> Case:
    bounds = [0, *cuts, len(data)]
    chunks = tuple(data[a:b] for a, b in itertools.pairwise(bounds))
    return dataclasses.replace(case, chunks=chunks)


def cut_points(case: Case) -> list[int]:
    points: list[int] = []
    at = 0
    for chunk in case.chunks[:-1]:
        at += len(chunk)
        points.append(at)
    return points


def without(case: Case, a: int, b: int) -> Case:
    """``case`` with bytes ``a:b`` removed; chunk boundaries move with the bytes around them."""
    data = case.data
    cuts = [c if c <= a else (a if c < b else c - (b - a)) for c in cut_points(case)]
    return rebuild(case, data[:a] + data[b:], cuts)


def simpler_settings(case: Case, still: Check) -> Case:
    for name in list(case.options):
        trial = dataclasses.replace(case, options={k: v for k, v in case.options.items() if k != name})
        if still(trial):
            case = trial
    for change in ({"peek": False}, {"chunk_type": "bytes"}, {"chunks": (case.data,)}):
        trial = dataclasses.replace(case, **change)
        if trial != case and still(trial):
            case = trial
    return case


def fewer_bytes(case: Case, still: Check, deadline: float) -> Case:
    """Delta-debugging style: remove ever smaller ranges while the case still fails."""
    size = max(1, len(case.data) // 2)
    while time.monotonic() < deadline:
        start = 0
        while start < len(case.data) and time.monotonic() < deadline:
            trial = without(case, start, start + size)
            if still(trial):
                case = trial
            else:
                start += size
        if size == 1:
            break
        size //= 2
    return case


def minimize(case: Case, still: Check, seconds: float = 20.0) -> Case:
    """The smallest variant of ``case`` found within ``seconds`` for which ``still`` holds."""
    deadline = time.monotonic() + seconds
    case = simpler_settings(case, still)
    case = fewer_bytes(case, still, deadline)
    return simpler_settings(case, still)
