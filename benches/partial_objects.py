"""Partial objects while streaming a 20,000-token JSON answer: native vs pure vs pydantic-ai.

Usage: ``python benches/partial_objects.py [tokens]`` (default 20,000; about 4 characters
per token, fed as 4-character deltas). Prints best-of-3 seconds per implementation and
the ratio to the native tracker (how many times slower each one is):

* ``native`` / ``pure``: allm's ``PartialObjects`` tracker on each backend, with lenient
  pydantic validation of every partial object it emits (``list[Item]``);
* ``native-every-delta``: the native partial parse of the whole text on every delta
  (no throttle), to show the quadratic cost the tracker avoids;
* ``pydantic-ai``: pydantic-ai's partial validation (``ObjectOutputProcessor.validate``
  with ``allow_partial=True``, i.e. pydantic's ``validate_json`` in trailing-strings
  mode) of the whole text on every delta, as its ``stream_output`` does without debounce.
  Skipped when pydantic-ai is not installed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

import allm._backend as backend_choice
from allm._output import OutputSpec
from allm._partial import PartialObjects

CHARS_PER_TOKEN = 4


class Item(BaseModel):
    id: int
    name: str
    tags: list[str]


def answer(tokens: int, key: str) -> str:
    """A JSON answer of about ``tokens`` tokens: ``{key: [items...]}``."""
    items: list[dict[str, Any]] = []
    while len(json.dumps({key: items})) < tokens * CHARS_PER_TOKEN:
        n = len(items)
        items.append({"id": n, "name": f"item number {n}", "tags": ["alpha", "beta", f"t{n % 7}"]})
    return json.dumps({key: items})


def deltas(text: str) -> list[str]:
    return [text[i : i + CHARS_PER_TOKEN] for i in range(0, len(text), CHARS_PER_TOKEN)]


def tracker_run(backend: Any, chunks: list[str]) -> Callable[[], int]:
    spec = OutputSpec.of(list[Item])

    def run() -> int:
        backend_choice.backend = backend
        tracker = PartialObjects(spec.validate_partial)
        emitted = sum(len(tracker.feed(chunk)) for chunk in chunks)
        return emitted + len(tracker.finish())

    return run


def every_delta_run(backend: Any, chunks: list[str]) -> Callable[[], int]:
    def run() -> int:
        text = ""
        for chunk in chunks:
            text += chunk
            backend.parse_partial_json(text)
        return len(chunks)

    return run


def pydantic_ai_run(chunks: list[str]) -> Callable[[], int] | None:
    try:
        from pydantic_ai._output import ObjectOutputProcessor
    except ImportError:
        return None
    processor: Any = ObjectOutputProcessor(output=list[Item])

    def run() -> int:
        text = ""
        valid = 0
        for chunk in chunks:
            text += chunk
            try:  # pydantic-ai skips a partial text that does not validate yet, as here
                processor.validate(text, allow_partial=True)
            except ValidationError:
                continue
            valid += 1
        return valid

    return run


def best_of(run: Callable[[], int], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def main(tokens: int) -> None:
    import allm._native as native_backend
    import allm._pure as pure_backend

    saved = backend_choice.backend
    ours = deltas(answer(tokens, "result"))
    runs: dict[str, Callable[[], int] | None] = {
        "native": tracker_run(native_backend, ours),
        "pure": tracker_run(pure_backend, ours),
        "native-every-delta": every_delta_run(native_backend, ours),
        "pydantic-ai": pydantic_ai_run(deltas(answer(tokens, "response"))),
    }
    print(f"{tokens} tokens, {len(ours)} deltas, {sum(map(len, ours))} characters")
    times: dict[str, float] = {}
    try:
        for name, run in runs.items():
            if run is None:
                print(f"{name:>20}: skipped (not installed)")
                continue
            times[name] = best_of(run, 1 if name in ("pydantic-ai", "native-every-delta") else 3)
            ratio = times[name] / times["native"]
            print(f"{name:>20}: {times[name]:8.3f} s   {ratio:8.1f}x native")
    finally:
        backend_choice.backend = saved


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
