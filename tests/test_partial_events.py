"""Partial-object events: a stream with an output type emits the structured answer so far."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allm
import allm._backend as backend_choice
import allm._pure as pure_backend
from allm.events import PartialOutput, TextDelta
from support.output_models import CITY, CITY_JSON, City
from support.partial import extends

ANSWER = json.loads(CITY_JSON)


def _script(chunks: list[str]) -> list[tuple[str, Any]]:
    return [*(("text", chunk) for chunk in chunks), ("finish", "stop")]


def _engine(chunks: list[str]) -> allm.Engine:
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": _script(chunks)})


def _partials(chunks: list[str], output_type: Any = City, **opts: Any) -> list[PartialOutput]:
    request = allm.request([allm.user("a city")], output_type=output_type)
    with allm.stream_generate(_engine(chunks), request, **opts) as events:
        return [e for e in events if isinstance(e, PartialOutput)]


def _split(text: str, sizes: list[int]) -> list[str]:
    chunks: list[str] = []
    at = 0
    while at < len(text):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(text[at : at + size])
        at += size
    return chunks


def _partials_on(module: Any, chunks: list[str]) -> list[PartialOutput]:
    saved = backend_choice.backend
    backend_choice.backend = module
    try:
        return _partials(chunks)
    finally:
        backend_choice.backend = saved


@pytest.mark.parametrize("cut", range(1, len(CITY_JSON)))
def test_partial_objects_grow_into_the_answer_at_every_split(backend: Any, cut: int) -> None:
    partials = _partials([CITY_JSON[:cut], CITY_JSON[cut:]])
    values = [p.value for p in partials]
    assert all(extends(a, b) for a, b in itertools.pairwise(values))
    assert values[-1] == ANSWER and partials[-1].parsed == CITY


@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_both_backends_emit_identical_partial_objects(native: Any, sizes: list[int]) -> None:
    chunks = _split(CITY_JSON, sizes)
    assert repr(_partials_on(native, chunks)) == repr(_partials_on(pure_backend, chunks))


def test_partial_object_follows_the_text_delta_that_grew_it(backend: Any) -> None:
    request = allm.request([allm.user("a city")], output_type=City)
    with allm.stream_generate(_engine(['{"name": "Pa', 'ris"']), request) as stream:
        kinds = [type(e).__name__ for e in stream if isinstance(e, TextDelta | PartialOutput)]
    assert kinds == ["TextDelta", "PartialOutput", "TextDelta", "PartialOutput"]


def test_partial_objects_are_filtered_with_the_text_deltas(backend: Any) -> None:
    assert _partials([CITY_JSON[:20], CITY_JSON[20:]], emit_text_deltas=False) == []


def test_no_partial_objects_without_an_output_type(backend: Any) -> None:
    with allm.stream_generate(_engine([CITY_JSON]), allm.request([allm.user("a city")])) as events:
        assert not any(isinstance(e, PartialOutput) for e in events)


def test_partial_object_is_none_until_it_validates_leniently(backend: Any) -> None:
    first = _partials(['{"kind": "capi', 'tal"}'])[0]
    assert first.value == {"kind": "capi"} and first.parsed is None


def test_async_stream_emits_partial_objects(backend: Any) -> None:
    async def run() -> list[PartialOutput]:
        request = allm.request([allm.user("a city")], output_type=City)
        async with allm.astream_generate(_engine([CITY_JSON[:30], CITY_JSON[30:]]), request) as events:
            return [e async for e in events if isinstance(e, PartialOutput)]

    assert asyncio.run(run())[-1].parsed == CITY


def test_chat_stream_emits_partial_objects(backend: Any) -> None:
    with allm.stream(
        _engine([CITY_JSON[:30], CITY_JSON[30:]]), [allm.user("a city")], output_type=City
    ) as events:
        partials = [e for e in events if isinstance(e, PartialOutput)]
    assert partials[-1].parsed == CITY


@pytest.mark.parametrize("emit_text_deltas", [True, False])
def test_both_filters_treat_partial_objects_as_text_deltas(native: Any, emit_text_deltas: bool) -> None:
    events = [PartialOutput({}, None)]
    kept = [module.filter_events(events, emit_text_deltas, False, False) for module in (native, pure_backend)]
    assert kept == [events if emit_text_deltas else []] * 2
