"""generate / stream_generate with the Fake provider, on both backends."""

from __future__ import annotations

import pytest

import allm
from allm._usage import Usage
from allm.errors import AdapterError, StreamError, ValidationError
from allm.events import (
    ErrorEvent,
    MessageCompleted,
    MessageStarted,
    RawChunk,
    TextCompleted,
    TextDelta,
    ToolCallCompleted,
    ToolCallDelta,
    ToolCallStarted,
)

HI = [("text", "hi"), ("finish", "stop")]


def engine_for(*scripts, **kwargs):
    opts = {"scripts": list(scripts)} if len(scripts) != 1 else {"script": scripts[0]}
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts=opts, **kwargs)


def req(text="say hi", **fields):
    return allm.request([allm.user(text)], **fields)


def types(events):
    return [e.type for e in events]


def test_the_seed_example(backend):
    engine = allm.Engine(
        adapter=allm.providers.Fake, adapter_opts={"script": [("text", "hi"), ("finish", "stop")]}
    )
    request = allm.request([allm.user("say hi")])
    response = allm.generate(engine, request)
    assert (response.output_text, response.finish_reason) == ("hi", "stop")


def test_generate_sets_a_request_id(backend):
    assert len(allm.generate(engine_for(HI), req()).request_id) == 22


def test_a_given_request_id_is_kept(backend):
    assert allm.generate(engine_for(HI), req(), request_id="r-1").request_id == "r-1"


def test_response_model_falls_back_to_the_engine_model(backend):
    assert allm.generate(engine_for(HI, model="m-1"), req()).model == "m-1"


def test_stream_generate_event_order(backend):
    events = list(allm.stream_generate(engine_for(HI), req()))
    assert events == [MessageStarted(), TextDelta("hi"), TextCompleted("hi"), MessageCompleted("stop")]


def test_the_response_message_is_the_assistant_reply(backend):
    response = allm.generate(engine_for(HI), req())
    assert response.message == allm.Message(role="assistant", content="hi")


def test_tool_calls_are_folded_in_first_seen_order(backend):
    script = [
        ("tool_call", {"id": "b", "name": "second", "arguments": {"x": 1}}),
        ("tool_call", {"id": "a", "name": "first", "arguments": {}}),
        ("finish", "tool_calls"),
    ]
    response = allm.generate(engine_for(script), req())
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("b", "second", {"x": 1}),
        ("a", "first", {}),
    ]
    assert response.finish_reason == "tool_calls"
    assert response.message.tool_calls == response.tool_calls


def test_usage_entry_becomes_the_response_usage(backend):
    script = [
        ("text", "x"),
        ("usage", {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}),
        ("finish", "stop"),
    ]
    assert allm.generate(engine_for(script), req()).usage == Usage(3, 2, 5)


def test_emit_text_deltas_false_hides_deltas_but_not_the_text(backend):
    events = list(allm.stream_generate(engine_for(HI), req(), emit_text_deltas=False))
    assert "text_delta" not in types(events)
    assert TextCompleted("hi") in events
    assert allm.generate(engine_for(HI), req(), emit_text_deltas=False).output_text == "hi"


def test_emit_tool_deltas_false_hides_tool_argument_deltas(backend):
    script = [
        ("tool_call_delta", {"id": "c", "name": "t", "arguments_delta": '{"a"'}),
        ("tool_call_delta", {"id": "c", "arguments_delta": ": 1}"}),
        ("finish", "tool_calls"),
    ]
    events = list(allm.stream_generate(engine_for(script), req(), emit_tool_deltas=False))
    assert "tool_call_delta" not in types(events)
    assert ToolCallStarted("c", "t") in events


def test_raw_chunks_are_hidden_by_default_but_usage_chunks_are_kept(backend):
    script = [("raw_chunk", {"x": 1}), ("usage", {"input_tokens": 1}), ("finish", "stop")]
    events = list(allm.stream_generate(engine_for(script), req()))
    assert [e.kind for e in events if isinstance(e, RawChunk)] == ["usage"]


def test_include_raw_chunks_shows_every_raw_chunk(backend):
    script = [("raw_chunk", {"x": 1}), ("usage", {"input_tokens": 1}), ("finish", "stop")]
    events = list(allm.stream_generate(engine_for(script), req(), include_raw_chunks=True))
    assert [e.kind for e in events if isinstance(e, RawChunk)] == ["raw", "usage"]


def test_on_event_sees_every_event_before_filtering(backend):
    seen = []
    events = list(allm.stream_generate(engine_for(HI), req(), emit_text_deltas=False, on_event=seen.append))
    assert TextDelta("hi") in seen and TextDelta("hi") not in events


def test_on_event_runs_in_generate_too(backend):
    seen = []
    allm.generate(engine_for(HI), req(), on_event=seen.append)
    assert types(seen) == ["message_started", "text_delta", "text_completed", "message_completed"]


def test_filtering_never_changes_what_generate_returns(backend):
    script = [
        ("text", "a"),
        ("tool_call_delta", {"id": "c", "name": "t", "arguments_delta": "{}"}),
        ("raw_chunk", 1),
        ("finish", "stop"),
    ]
    plain = allm.generate(engine_for(script), req(), request_id="r")
    filtered = allm.generate(
        engine_for(script),
        req(),
        request_id="r",
        emit_text_deltas=False,
        emit_tool_deltas=False,
        include_raw_chunks=False,
    )
    assert plain == filtered


def test_an_invalid_option_raises_validation_error(backend):
    with pytest.raises(ValidationError):
        allm.generate(engine_for(HI), req(), emit_text_deltas="yes")


def test_an_invalid_request_raises_before_any_call(backend):
    engine = engine_for(HI)
    with pytest.raises(ValidationError):
        allm.generate(engine, allm.request([]))
    assert engine.instance.requests == []


def test_a_preflight_error_entry_raises_at_call_time(backend):
    with pytest.raises(AdapterError) as info:
        allm.stream_generate(engine_for([("preflight_error", "rate_limited")]), req())
    assert info.value.reason == "rate_limited"


def test_a_script_that_runs_dry_raises_no_scripted_response(backend):
    engine = engine_for(HI)
    allm.generate(engine, req())
    with pytest.raises(AdapterError) as info:
        allm.generate(engine, req())
    assert info.value.reason == "no_scripted_response"


def test_two_engines_with_equal_scripts_each_start_at_their_first_call(backend):
    assert allm.generate(engine_for(HI), req()).output_text == "hi"
    assert allm.generate(engine_for(HI), req()).output_text == "hi"


def test_one_engine_reused_advances_through_its_scripts(backend):
    engine = engine_for([("text", "one"), ("finish", "stop")], [("text", "two"), ("finish", "stop")])
    assert [allm.generate(engine, req()).output_text for _ in range(2)] == ["one", "two"]


def test_a_mid_stream_error_keeps_partial_text_and_usage(backend):
    script = [("text", "part"), ("usage", {"output_tokens": 4}), ("error", "provider_unavailable")]
    response = allm.generate(engine_for(script), req(), request_id="r-9")
    assert response.finish_reason == "error"
    assert response.output_text == "part"
    assert response.usage == Usage(output_tokens=4)
    assert response.metadata["error"].reason == "provider_unavailable"
    assert response.metadata["error"].metadata["request_id"] == "r-9"


def test_an_error_entry_ends_the_stream(backend):
    script = [("text", "a"), ("error", "timeout"), ("text", "never"), ("finish", "stop")]
    events = list(allm.stream_generate(engine_for(script), req()))
    assert isinstance(events[-1], ErrorEvent)
    assert "never" not in [getattr(e, "delta", None) for e in events]


def test_an_exception_entry_becomes_an_adapter_error(backend):
    response = allm.generate(engine_for([("error", RuntimeError("boom"))]), req())
    assert (response.error.reason, response.error.message) == ("unknown", "boom")


def test_an_allm_error_entry_is_kept_as_is(backend):
    err = StreamError("malformed_event", "bad bytes")
    assert allm.generate(engine_for([("error", err)]), req()).error == err


def test_a_finish_after_an_error_does_not_clear_it(backend):
    fold = backend.Fold()
    fold.apply_many([ErrorEvent(AdapterError("timeout")), MessageCompleted("stop")])
    assert fold.response().finish_reason == "error"


def test_a_none_finish_never_overwrites_an_earlier_one(backend):
    fold = backend.Fold()
    fold.apply_many([MessageCompleted("length"), MessageCompleted(None)])
    assert fold.response().finish_reason == "length"


def test_a_script_without_finish_ends_with_no_finish_reason(backend):
    assert allm.generate(engine_for([("text", "x")]), req()).finish_reason is None


def test_tool_call_deltas_alone_leave_arguments_empty_and_raw_kept(backend):
    script = [
        ("tool_call_delta", {"id": "c", "arguments_delta": '{"a":'}),
        ("tool_call_delta", {"id": "c", "arguments_delta": "1}"}),
        ("finish", "tool_calls"),
    ]
    call = allm.generate(engine_for(script), req()).tool_calls[0]
    assert (call.id, call.name, call.arguments, call.raw_arguments) == ("c", "", {}, '{"a":1}')


def test_delay_entries_pause_the_stream(backend):
    import time

    started = time.perf_counter()
    allm.generate(engine_for([("delay", 30), ("finish", "stop")]), req())
    assert time.perf_counter() - started >= 0.03


def test_engine_params_fill_request_fields(backend):
    engine = engine_for(HI).put_param("temperature", 0.3).put_param("seed", 7).put_param("top_k", 4)
    allm.generate(engine, req())
    sent = engine.instance.requests[-1]
    assert (sent.temperature, sent.seed, sent.options) == (0.3, 7, {"top_k": 4})


def test_per_call_request_fields_override_the_request(backend):
    engine = engine_for(HI)
    allm.generate(engine, req(), model="other-model", temperature=0.9, stop="END")
    sent = engine.instance.requests[-1]
    assert (sent.model, sent.temperature, sent.stop) == ("other-model", 0.9, ("END",))


@pytest.mark.parametrize("entry", ["generate", "stream_generate"])
def test_an_unknown_keyword_is_refused_naming_the_accepted_ones(backend, entry):
    with pytest.raises(ValidationError) as info:
        getattr(allm, entry)(engine_for(HI), req(), temprature=0.2)
    ((path, why),) = info.value.errors
    assert path == "temprature" and "temperature" in why and "emit_text_deltas" in why


def test_an_unknown_engine_option_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValidationError) as info:
        allm.Engine(adaptor=allm.providers.Fake)  # type: ignore[call-arg]
    ((path, why),) = info.value.errors
    assert path == "adaptor" and "adapter" in why


def test_an_unknown_adapter_option_is_refused_naming_the_accepted_ones():
    with pytest.raises(ValidationError) as info:
        allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scirpt": []})
    assert "script" in info.value.message


def test_engine_drop_unsupported_params_reaches_http_adapters():
    engine = allm.Engine(
        adapter=allm.providers.Anthropic, adapter_opts={"api_key": "k"}, drop_unsupported_params=True
    )
    assert engine.instance.options.drop_unsupported_params is True


def test_tool_call_completed_event_carries_parsed_arguments(backend):
    script = [("tool_call", {"id": "c", "name": "t", "arguments": {"q": "x"}}), ("finish", "tool_calls")]
    events = list(allm.stream_generate(engine_for(script), req()))
    assert ToolCallCompleted("c", "t", {"q": "x"}, '{"q": "x"}') in events
    assert ToolCallDelta not in map(type, events)


async def test_agenerate_matches_generate(backend):
    sync = allm.generate(engine_for(HI), req(), request_id="r")
    async_ = await allm.agenerate(engine_for(HI), req(), request_id="r")
    assert sync == async_


async def test_astream_generate_is_an_async_iterator_and_context_manager(backend):
    async with allm.astream_generate(engine_for(HI), req()) as stream:
        events = [e async for e in stream]
    assert types(events) == ["message_started", "text_delta", "text_completed", "message_completed"]


async def test_astream_generate_runs_preflight_checks_at_call_time(backend):
    with pytest.raises(AdapterError):
        allm.astream_generate(engine_for([("preflight_error", "invalid_request")]), req())


def test_generate_emits_a_telemetry_span_with_the_request_id(backend):
    from allm import telemetry

    seen = []

    def handler(name, payload):
        seen.append((name, payload))

    telemetry.add_handler(handler)
    try:
        allm.generate(engine_for(HI, model="m"), req(), request_id="r-t")
    finally:
        telemetry.remove_handler(handler)
    names = [name for name, _ in seen]
    assert names == ["allm.generate.start", "allm.generate.stop"]
    assert all(p["request_id"] == "r-t" for _, p in seen)
    assert seen[-1][1]["finish_reason"] == "stop" and seen[-1][1]["duration_ms"] >= 0


def test_the_stream_classes_report_the_public_module(backend):
    stream = allm.stream_generate(engine_for([("finish", "stop")]), req())
    assert type(stream) is allm.EventStream and repr(type(stream)) == "<class 'allm.EventStream'>"
    assert allm.AsyncEventStream.__module__ == "allm"
    stream.close()
