"""The differential fuzzer's own checks: its corpus is valid, its cases replay, and it
catches what it is there to catch (a disagreement, a foreign exception) on a backend
skewed on purpose."""

from __future__ import annotations

import dataclasses
import re
from types import ModuleType
from typing import Any

import pytest
from fuzz.cases import WIRES, load_corpus, make_case
from fuzz.harness import Case, judge
from fuzz.minimize import minimize
from fuzz.runner import load_allowlist

from allm import _pure
from allm.events import TextDelta

TERMINAL_ERRORS = {None, "rate_limited", "provider_unavailable", "content_filter"}


def skewed(feed: Any) -> ModuleType:
    """The pure backend with ``StreamDecoder.feed`` replaced by ``feed(decoder, chunk)``."""
    module = ModuleType("skewed")
    vars(module).update(vars(_pure))
    setattr(module, "StreamDecoder", type("StreamDecoder", (_pure.StreamDecoder,), {"feed": feed}))  # noqa: B010
    return module


def upper_text(decoder: Any, chunk: bytes) -> list[Any]:
    events = _pure.StreamDecoder.feed(decoder, chunk)
    return [TextDelta(e.delta.upper()) if isinstance(e, TextDelta) else e for e in events]


def raise_key_error(decoder: Any, chunk: bytes) -> list[Any]:
    raise KeyError("choices")


class PanicException(BaseException):
    """Stands for PyO3's panic exception, which is a BaseException."""


def raise_panic(decoder: Any, chunk: bytes) -> list[Any]:
    raise PanicException("index out of bounds")


def text_case() -> Case:
    data = load_corpus()["openai-chat"][-1]
    return Case("openai-chat", "feed", tuple(data[i : i + 9] for i in range(0, len(data), 9)))


@pytest.mark.parametrize("wire", WIRES)
def test_every_seed_stream_ends_with_its_terminal_event_and_both_backends_agree(
    native: ModuleType, wire: str
) -> None:
    seeds = load_corpus()[wire]
    assert len(seeds) >= 5
    for data in seeds:
        case = Case(wire, "collect", (data,))
        assert judge(case, native, _pure) is None
        response = _pure.collect(wire, [data])
        reason = response.error.reason if response.error is not None else None
        assert reason in TERMINAL_ERRORS, (wire, data[:80], response.error)
        assert response.finish_reason is not None


def test_case_i_of_a_seed_is_always_the_same_case() -> None:
    corpus = load_corpus()
    assert [make_case(5, i, corpus) for i in range(50)] == [make_case(5, i, corpus) for i in range(50)]
    assert [make_case(5, i, corpus) for i in range(50)] != [make_case(6, i, corpus) for i in range(50)]


def test_a_case_survives_its_json_form() -> None:
    case = dataclasses.replace(make_case(3, 1, load_corpus()), options={"max_line_bytes": 7}, end="fail")
    assert Case.from_json(case.to_json()) == case


def test_a_disagreement_is_reported_with_both_outputs(native: ModuleType) -> None:
    finding = judge(text_case(), skewed(upper_text), _pure)
    assert finding is not None and finding.kind == "disagreement"
    assert finding.where == "feed.text_delta"
    assert "TextDelta(delta='" in finding.native and finding.native != finding.pure


def test_a_reproducer_shrinks_while_it_still_fails(native: ModuleType) -> None:
    native_skew = skewed(upper_text)
    case = text_case()
    key = ("disagreement", "feed.text_delta")

    def still(trial: Case) -> bool:
        found = judge(trial, native_skew, _pure)
        return found is not None and found.key == key

    small = minimize(case, still, seconds=30)
    assert still(small)
    assert len(small.data) < len(case.data) // 2
    assert len(small.chunks) <= len(case.chunks)


def test_a_foreign_exception_names_the_backend_and_the_call() -> None:
    finding = judge(text_case(), skewed(raise_key_error), _pure)
    assert finding is not None and finding.kind == "foreign"
    assert finding.where == "native.feed.KeyError"


def test_an_escaping_base_exception_is_a_foreign_exception() -> None:
    finding = judge(text_case(), skewed(raise_panic), _pure)
    assert finding is not None and finding.where == "native.feed.PanicException"


def test_agreeing_backends_give_no_finding() -> None:
    assert judge(text_case(), _pure, _pure) is None


def test_every_allowlist_entry_has_a_reason_and_a_valid_pattern() -> None:
    entries = load_allowlist()
    assert len({e.id for e in entries}) == len(entries)
    for entry in entries:
        assert entry.reason.strip()
        patterns = [p for p in (entry.finding, entry.input, entry.options) if p]
        assert patterns, entry.id
        for pattern in patterns:
            re.compile(pattern)
