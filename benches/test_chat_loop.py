"""The streamed chat loop per event against ``stream_generate`` per event, on one Fake script.

The script has no tool calls, so the loop's only extra work over the model call is one
``step_completed`` and one ``chat_completed``: per event, ``allm.stream`` should cost
no more than ``stream_generate`` plus those two events (the model events are folded
once, by the call itself, and pass through in their per-chunk batches).

Under ``make bench`` this runs as pytest-benchmark cases (suite ``chat_loop``).
``python benches/test_chat_loop.py`` prints the per-event table for both backends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import timeit
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import allm
from allm import _backend, _pure  # pyright: ignore[reportPrivateUsage]

TOKENS = (200, 2_000, 20_000)
USER = [allm.user("count")]
REQUEST = allm.request(USER)


def engine(tokens: int) -> allm.Engine:
    script = [("text", "tok ")] * tokens + [("finish", "stop")]
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": script})


def count(events: Any) -> int:
    n = 0
    for _ in events:
        n += 1
    return n


async def acount(events: Any) -> int:
    n = 0
    async for _ in events:
        n += 1
    return n


RUNS: dict[str, Callable[[int], int]] = {
    "stream_generate": lambda tokens: count(allm.stream_generate(engine(tokens), REQUEST)),
    "stream": lambda tokens: count(allm.stream(engine(tokens), USER)),
    "astream_generate": lambda tokens: asyncio.run(acount(allm.astream_generate(engine(tokens), REQUEST))),
    "astream": lambda tokens: asyncio.run(acount(allm.astream(engine(tokens), USER))),
}


@pytest.mark.parametrize("tokens", TOKENS)
@pytest.mark.parametrize("impl", list(RUNS))
def test_chat_loop(benchmark: Any, measure: Any, impl: str, tokens: int) -> None:
    extra = 2 if impl in ("stream", "astream") else 0  # step_completed, chat_completed

    def check(n: int) -> None:
        if n != tokens + 3 + extra:  # message_started, the deltas, text_completed, message_completed
            pytest.fail(f"{impl} yielded {n} events for {tokens} tokens")

    measure(
        benchmark,
        lambda: RUNS[impl](tokens),
        suite="chat_loop",
        impl=impl,
        wire="fake",
        size=tokens,
        backend=_backend.backend_info().name,
        check=check,
    )


def per_event(tokens: int, repeat: int = 21) -> dict[str, float]:
    """Best-of-``repeat`` seconds per event of each path, the paths interleaved (less drift)."""
    events = {impl: run(tokens) for impl, run in RUNS.items()}
    number = max(1, 20_000 // tokens)
    best = dict.fromkeys(RUNS, float("inf"))
    for _ in range(repeat):
        for impl, run in RUNS.items():
            seconds = timeit.timeit(functools.partial(run, tokens), number=number) / number
            best[impl] = min(best[impl], seconds / events[impl])
    return best


def _backends() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {"python": _pure}
    with contextlib.suppress(ImportError):
        found["rust"] = _backend._load_native()  # pyright: ignore[reportPrivateUsage]
    return dict(sorted(found.items(), reverse=True))


def report() -> None:
    """Print, per backend and size, ns per event of each path and the loop's ratios."""
    print("backend  tokens  gen ns/ev  chat ns/ev  chat/gen  agen ns/ev  achat ns/ev  achat/agen")
    for name, module in _backends().items():
        _backend.backend = module
        for tokens in TOKENS:
            ns = {impl: seconds * 1e9 for impl, seconds in per_event(tokens).items()}
            gen, chat, agen, achat = (
                ns["stream_generate"],
                ns["stream"],
                ns["astream_generate"],
                ns["astream"],
            )
            print(
                f"{name:7} {tokens:7,} {gen:10.0f} {chat:11.0f} {chat / gen:9.2f}"
                f" {agen:11.0f} {achat:12.0f} {achat / agen:11.2f}"
            )


if __name__ == "__main__":
    report()
