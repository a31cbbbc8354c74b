"""Properties: generate is the fold of stream_generate; async twins agree with sync ones."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allm
from allm.errors import AdapterError
from allm.providers import Anthropic, OpenAI
from support.fault_server import FaultServer, Reply
from support.wire import anthropic_sse, openai_chat_sse

ids = st.sampled_from(["c1", "c2", "c3"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
entries = st.one_of(
    st.tuples(st.just("text"), st.text(max_size=12)),
    st.tuples(
        st.just("tool_call"),
        st.fixed_dictionaries(
            {
                "id": ids,
                "name": st.sampled_from(["lookup", "search"]),
                "arguments": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
            }
        ),
    ),
    st.tuples(
        st.just("tool_call_delta"), st.fixed_dictionaries({"id": ids, "arguments_delta": st.text(max_size=6)})
    ),
    st.tuples(
        st.just("usage"),
        st.fixed_dictionaries(
            {"input_tokens": st.integers(0, 10**6), "output_tokens": st.integers(0, 10**6)}
        ),
    ),
    st.tuples(st.just("raw_chunk"), json_values),
    st.tuples(
        st.just("finish"), st.sampled_from(["stop", "length", "tool_calls", "content_filter", "other"])
    ),
    st.tuples(st.just("error"), st.sampled_from(sorted(AdapterError.reasons - {"no_scripted_response"}))),
)
scripts = st.lists(entries, max_size=12)
filters = st.fixed_dictionaries(
    {
        "emit_text_deltas": st.booleans(),
        "emit_tool_deltas": st.booleans(),
        "include_raw_chunks": st.booleans(),
    }
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def engine_for(script):
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": script})


def request():
    return allm.request([allm.user("go")])


def comparable(response):
    return (
        response.output_text,
        response.tool_calls,
        response.finish_reason,
        response.raw_finish_reason,
        response.usage,
        response.metadata,
    )


@SETTINGS
@given(script=scripts, options=filters)
def test_generate_equals_the_fold_of_stream_generate(backend, script, options):
    generated = allm.generate(engine_for(script), request(), request_id="r", **options)
    collector = allm.StreamCollector()
    for event in allm.stream_generate(engine_for(script), request(), request_id="r", include_raw_chunks=True):
        collector.apply(event)
    assert comparable(generated) == comparable(collector.to_response())


@SETTINGS
@given(script=scripts, options=filters)
def test_agenerate_equals_generate(backend, script, options):
    sync = allm.generate(engine_for(script), request(), request_id="r", **options)
    async_ = asyncio.run(allm.agenerate(engine_for(script), request(), request_id="r", **options))
    assert sync == async_


@SETTINGS
@given(script=scripts, options=filters)
def test_astream_generate_yields_the_same_events_as_stream_generate(backend, script, options):
    sync = list(allm.stream_generate(engine_for(script), request(), request_id="r", **options))

    async def collect():
        return [
            e async for e in allm.astream_generate(engine_for(script), request(), request_id="r", **options)
        ]

    assert asyncio.run(collect()) == sync


# -- the same property over HTTP (a local server), retries included ---------------------

FAILURES = {
    "none": [],
    "429": [Reply.json(429, {"error": {"message": "later", "type": "rate_limit_error"}})],
    "500": [Reply.json(500, {"error": {"message": "boom", "type": "server_error"}})],
    "dropped": [Reply(chunks=[b""], drop_after=0)],
}
http_cases = st.fixed_dictionaries(
    {
        "adapter": st.sampled_from([OpenAI, Anthropic]),
        "parts": st.lists(st.text(min_size=1, max_size=6), max_size=5),
        "failure": st.sampled_from(sorted(FAILURES)),
        "seed": st.integers(0, 1000),
    }
)
_http_counter = itertools.count()


@pytest.fixture(scope="module")
def http_server():
    with FaultServer() as server:
        yield server


def http_engine(server, adapter, replies):
    name = f"p{next(_http_counter)}"
    server.script(name, replies)
    suffix = "/v1" if adapter is OpenAI else ""
    return allm.Engine(
        adapter=adapter,
        model="m",
        retry={"base_delay": 0.001, "max_delay": 0.002},
        adapter_opts={"api_key": "sk-prop", "base_url": server.url(name, suffix)},
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=http_cases, options=filters)
def test_generate_equals_the_fold_of_stream_generate_over_http(backend, http_server, case, options):
    body = openai_chat_sse(case["parts"]) if case["adapter"] is OpenAI else anthropic_sse(case["parts"])
    replies = [*FAILURES[case["failure"]], Reply.sse(body, seed=case["seed"])]
    generate_engine = http_engine(http_server, case["adapter"], replies)
    stream_engine = http_engine(http_server, case["adapter"], replies)
    generated = allm.generate(generate_engine, request(), **options)
    collector = allm.StreamCollector()
    for event in allm.stream_generate(stream_engine, request(), include_raw_chunks=True):
        collector.apply(event)
    generate_engine.close()
    stream_engine.close()
    assert comparable(generated) == comparable(collector.to_response())
    assert generated.output_text == "".join(case["parts"]) and generated.finish_reason == "stop"
