"""StreamCollector: folding events by hand into Response, StepResult and ChatResult."""

from __future__ import annotations

import allm
from allm._usage import Usage
from allm.errors import AdapterError
from allm.events import (
    ChatCompleted,
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


def collect(*events):
    return allm.StreamCollector().apply_many(events)


def test_text_deltas_append(backend):
    assert collect(TextDelta("a"), TextDelta("b")).to_response().output_text == "ab"


def test_text_completed_replaces_the_text(backend):
    assert collect(TextDelta("a"), TextCompleted("final")).to_response().output_text == "final"


def test_argument_deltas_are_appended_and_completion_parses(backend):
    response = collect(
        ToolCallStarted("c1", "lookup"),
        ToolCallDelta("c1", '{"a":'),
        ToolCallDelta("c1", "1}"),
        ToolCallCompleted("c1", "lookup", {"a": 1}, '{"a":1}'),
    ).to_response()
    call = response.tool_calls[0]
    assert (call.name, call.arguments, call.raw_arguments) == ("lookup", {"a": 1}, '{"a":1}')


def test_interleaved_tool_calls_keep_first_seen_order(backend):
    response = collect(
        ToolCallStarted("b", "x"),
        ToolCallStarted("a", "y"),
        ToolCallDelta("a", "{}"),
        ToolCallDelta("b", "{}"),
    ).to_response()
    assert [c.id for c in response.tool_calls] == ["b", "a"]


def test_a_usage_raw_chunk_replaces_usage(backend):
    response = collect(RawChunk("usage", Usage(1, 1, 2)), RawChunk("usage", Usage(5, 5, 10))).to_response()
    assert response.usage == Usage(5, 5, 10)


def test_other_raw_chunks_do_not_touch_usage(backend):
    assert collect(RawChunk("thinking", "hm")).to_response().usage is None


def test_message_started_sets_id_and_model(backend):
    response = collect(MessageStarted("msg_1", "m-1"), MessageCompleted("stop")).to_response()
    assert (response.id, response.model) == ("msg_1", "m-1")


def test_message_completed_metadata_is_merged(backend):
    response = collect(MessageCompleted("stop", "end_turn", {"reasoning": "because"})).to_response()
    assert (response.raw_finish_reason, response.metadata) == ("end_turn", {"reasoning": "because"})


def test_an_error_sets_finish_error_and_is_kept(backend):
    err = AdapterError("provider_unavailable", "overloaded")
    response = collect(TextDelta("part"), ErrorEvent(err)).to_response()
    assert (response.finish_reason, response.error, response.output_text) == ("error", err, "part")


def test_to_chat_result_without_chat_completed_is_cancelled(backend):
    assert collect(TextDelta("x")).to_chat_result().halted_reason == "cancelled"


def test_to_chat_result_after_an_error_is_error(backend):
    assert collect(ErrorEvent(AdapterError("timeout"))).to_chat_result().halted_reason == "error"


def test_to_chat_result_returns_the_chat_completed_result(backend):
    result = allm.ChatResult(thread=allm.Thread(), halted_reason="completed")
    assert collect(ChatCompleted(result)).to_chat_result() is result


def test_to_step_result_appends_the_reply_to_the_thread(backend):
    thread = allm.Thread((allm.user("hi"),))
    step = (
        allm.StreamCollector(thread)
        .apply_many([TextDelta("hello"), MessageCompleted("stop")])
        .to_step_result()
    )
    assert [m.role for m in step.thread.messages] == ["user", "assistant"]
    assert step.done and step.response.output_text == "hello"


def test_folding_a_stream_equals_generate(backend):
    script = [
        ("text", "a"),
        ("tool_call", {"id": "c", "name": "t", "arguments": {}}),
        ("finish", "tool_calls"),
    ]

    def engine():
        return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": script})

    request = allm.request([allm.user("x")])
    collector = allm.StreamCollector()
    for event in allm.stream_generate(engine(), request):
        collector.apply(event)
    folded = collector.to_response()
    generated = allm.generate(engine(), request)
    assert (folded.output_text, folded.tool_calls, folded.finish_reason) == (
        generated.output_text,
        generated.tool_calls,
        generated.finish_reason,
    )
