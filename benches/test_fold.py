"""Collector fold of Python event objects: native ``Fold`` vs the pure-Python twin.

Input: the list of ``allm.events`` objects a decoder produces for each generated
stream (``streams.message_events``). Timed: ``Fold()``, ``apply_many(events)``,
``response()``.
"""

from __future__ import annotations

import pytest

from conftest import require
from streams import message_events, script


@pytest.mark.parametrize("impl", ["native", "pure"])
def test_fold(benchmark, measure, backend_for, wire, size, impl):
    mod = backend_for(impl)
    require(mod, "Fold.apply_many", "Fold.response")
    try:
        events = list(message_events(wire, size))
    except Exception as exc:  # allm.events not importable yet
        pytest.skip(f"cannot build allm events: {type(exc).__name__}: {exc}")
    fold_cls = mod.Fold

    def run():
        fold = fold_cls()
        fold.apply_many(events)
        return fold.response()

    def check(response):
        s = script(wire, size)
        if response.output_text != s.text or len(response.tool_calls) != len(s.calls):
            pytest.fail(
                f"{impl} Fold gave a wrong Response for {wire}/{size}: "
                f"{len(response.output_text)} chars, {len(response.tool_calls)} calls"
            )

    measure(benchmark, run, suite="fold", impl=impl, check=check, events=len(events))
