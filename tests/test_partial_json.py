"""Partial JSON (the value so far of a growing JSON text) and the PartialObjects tracker."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allm
import allm._backend as backend_choice
import allm._pure as pure_backend
from allm._partial import PartialObject, PartialObjects, parse_partial_json
from allm._pure.partial_json import parse_partial_json as pure_parse
from allm.errors import ValidationError
from support.partial import extends

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=16,
)
_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_documents = st.lists(_values, max_size=4) | st.dictionaries(st.text(max_size=6), _values, max_size=5)


@st.composite
def _texts(draw: st.DrawFn) -> str:
    """A JSON document in a random layout (ASCII escapes or not, indented or not)."""
    value = draw(_documents)
    ensure_ascii = draw(st.booleans())
    indent = draw(st.sampled_from([None, 0, 2]))
    separators = draw(st.sampled_from([None, (",", ":"), (" , ", " : ")]))
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators)


def _outcome(parse: Any, text: str) -> str:
    try:
        return repr(parse(text))
    except ValidationError as exc:
        return f"error {exc.reason}"


@given(_texts())
@_SETTINGS
def test_every_prefix_parses_the_same_on_both_backends(native: Any, text: str) -> None:
    for end in range(len(text) + 1):
        assert _outcome(native.parse_partial_json, text[:end]) == _outcome(pure_parse, text[:end]), text[:end]


@given(_texts())
@settings(_SETTINGS, max_examples=60)
def test_prefixes_give_growing_values_ending_in_the_document(backend: Any, text: str) -> None:
    values = [parse_partial_json(text[:end]) for end in range(len(text) + 1)]
    assert all(extends(a, b) for a, b in itertools.pairwise(values)), text
    assert values[-1] == json.loads(text)


PARTIAL_VALUES: list[tuple[str, Any]] = [
    ("", None),
    ('{"a": 12', {}),
    ('{"a": 12,', {"a": 12}),
    ("[true, fa", [True]),
    ('{"name": "Ali', {"name": "Ali"}),
    ('{"na', {}),
    ('{"a": "x", "b":', {"a": "x"}),
    ('["caf\\u00', ["caf"]),
    ('["\\ud83d\\ude', [""]),
    ('{"a": [1, {"b": [', {"a": [1, {"b": []}]}),
]


def _track(module: Any, chunks: list[str]) -> list[PartialObject]:
    saved = backend_choice.backend
    backend_choice.backend = module
    try:
        tracker = PartialObjects()
        return [p for chunk in chunks for p in tracker.feed(chunk)] + tracker.finish()
    finally:
        backend_choice.backend = saved


@given(_texts(), st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=20))
@_SETTINGS
def test_tracker_gives_identical_partial_objects_on_both_backends(
    native: Any, text: str, sizes: list[int]
) -> None:
    chunks: list[str] = []
    at = 0
    while at < len(text):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(text[at : at + size])
        at += size
    assert repr(_track(native, chunks)) == repr(_track(pure_backend, chunks))


@pytest.mark.parametrize(("text", "expected"), PARTIAL_VALUES)
def test_partial_values(backend: Any, text: str, expected: Any) -> None:
    assert parse_partial_json(text) == expected


@pytest.mark.parametrize("text", ["[}", '{"a":1,}', "[1,]", '"a\\x', '{"a" 1}', "[" * 300 + "1"])
def test_text_that_is_no_json_prefix_is_an_invalid_output_error(backend: Any, text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_partial_json(text)
    assert info.value.reason == "invalid_output"


def test_nesting_limit_is_the_same_on_both_backends(native: Any) -> None:
    for depth in (199, 200, 201, 202):
        for text in ("[" * depth + "1", '{"a":' * depth + "1", "[" * depth):
            assert _outcome(native.parse_partial_json, text) == _outcome(pure_parse, text), (depth, text[-8:])


def test_tracker_emits_changed_values_only(backend: Any) -> None:
    tracker = PartialObjects()
    seen = [p.value for delta in ['{"a"', ": 1", ",", ' "b": "x', "y", '"}'] for p in tracker.feed(delta)]
    seen += [p.value for p in tracker.finish()]
    assert seen == [{}, {"a": 1}, {"a": 1, "b": "x"}, {"a": 1, "b": "xy"}]


def test_tracker_finish_parses_the_whole_text(backend: Any) -> None:
    tracker = PartialObjects(growth=100.0)
    for char in '{"items": [1, 2, 3]}':
        tracker.feed(char)
    (last,) = tracker.finish()
    assert last.value == {"items": [1, 2, 3]}


def test_tracker_parsing_work_is_linear_in_the_answer(backend: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[int] = []

    def counting_parse(text: str) -> dict[str, Any]:
        parsed.append(len(text))
        return {}

    monkeypatch.setattr(backend, "parse_partial_json", counting_parse)
    text = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(2000)]})
    tracker = PartialObjects()
    for start in range(0, len(text), 4):
        tracker.feed(text[start : start + 4])
    tracker.finish()
    assert sum(parsed) <= 10 * len(text)


def test_tracker_validates_leniently(backend: Any) -> None:
    tracker = PartialObjects(lambda value: {"checked": value} if "a" in value else None)
    first = tracker.feed('{"b": 1, ')
    second = tracker.feed('"a": 2}')
    assert [p.parsed for p in first + second] == [None, {"checked": {"b": 1, "a": 2}}]


def test_tracker_stops_on_text_that_is_not_json(backend: Any) -> None:
    tracker = PartialObjects()
    assert tracker.feed("not json") == [] and tracker.feed(' {"a": 1}') == [] and tracker.finish() == []


def test_tracker_refuses_a_growth_that_is_not_positive() -> None:
    with pytest.raises(ValidationError) as info:
        PartialObjects(growth=0)
    assert info.value.reason == "invalid_options"


def test_tracker_follows_a_stream_of_events(backend: Any) -> None:
    text = '{"name": "Lisbon", "tags": ["sunny", "old"]}'
    script = [("text", text[i : i + 5]) for i in range(0, len(text), 5)] + [("finish", "stop")]
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": script})
    tracker = PartialObjects()
    with allm.stream_generate(engine, allm.request([allm.user("city")])) as events:
        partials = tracker.feed_events(events)
    assert partials[0].value == {} and partials[-1].value == json.loads(text)


def test_tracker_uses_the_completed_text_when_deltas_were_filtered(backend: Any) -> None:
    engine = allm.Engine(
        adapter=allm.providers.Fake, adapter_opts={"script": [("text", "[1, 2]"), ("finish", "stop")]}
    )
    tracker = PartialObjects()
    with allm.stream_generate(engine, allm.request([allm.user("n")]), emit_text_deltas=False) as events:
        assert [p.value for p in tracker.feed_events(events)] == [[1, 2]]
