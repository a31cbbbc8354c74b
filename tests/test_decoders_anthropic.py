"""anthropic stream decoding (docs/internals.md §4, §6), on both backends."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from allm import ReasoningPart, TextPart
from allm._usage import Usage
from allm.errors import AdapterError, StreamError
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
from support.decoding import decode, named

WIRE = "anthropic"
OWN = Path(__file__).parent / "fixtures" / WIRE


def run(backend: ModuleType, data: bytes, **options):
    return decode(backend, WIRE, data, **options)


def start(usage=None) -> dict:
    return {
        "type": "message_start",
        "message": {"id": "m1", "model": "claude", "usage": usage or {"input_tokens": 1}},
    }


def stop(reason: str) -> list[dict]:
    return [{"type": "message_delta", "delta": {"stop_reason": reason}}, {"type": "message_stop"}]


def test_text_stream_with_ping(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "anthropic/messages/happy_text.sse").read_bytes())
    usage = Usage(input_tokens=10, output_tokens=2, total_tokens=12, extra={"uncached_input_tokens": 10})
    assert events == [
        MessageStarted("msg_stream_1", "claude-sonnet-4-6"),
        TextDelta("hel"),
        TextDelta("lo"),
        TextCompleted("hello"),
        RawChunk("usage", usage),
        MessageCompleted("stop", "end_turn", {}),
    ]
    assert response.usage == usage


def test_tool_use_is_completed_at_its_content_block_stop(backend, shared_fixtures) -> None:
    events, _ = run(backend, (shared_fixtures / "anthropic/messages/tool_use_deltas.sse").read_bytes())
    assert events[1:5] == [
        ToolCallStarted("toolu_abc123", "get_weather"),
        ToolCallDelta("toolu_abc123", '{"ci'),
        ToolCallDelta("toolu_abc123", 'ty":"Boston"}'),
        ToolCallCompleted("toolu_abc123", "get_weather", {"city": "Boston"}, '{"city":"Boston"}', {}),
    ]
    assert events[-1] == MessageCompleted("tool_calls", "tool_use", {})


def test_interleaved_parallel_tool_use_blocks(backend, shared_fixtures) -> None:
    path = shared_fixtures / "anthropic/messages/parallel_tool_use_deltas.sse"
    _, response = run(backend, path.read_bytes())
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("toolu_a", {"city": "Boston"}),
        ("toolu_b", {"city": "Seattle"}),
    ]


def test_thinking_deltas_become_reasoning(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "anthropic/synthesized/thinking_stream.sse").read_bytes()
    )
    assert [e.data for e in events if e.type == "raw_chunk" and e.kind == "reasoning_delta"] == [
        "Let me consider the question. ",
        "The user wants a greeting.",
    ]
    assert response.reasoning == "Let me consider the question. The user wants a greeting."
    assert response.output_text == "hi there"


def test_start_and_delta_usage_merge_without_double_counting(backend, shared_fixtures) -> None:
    expected = Usage(
        input_tokens=4350,
        output_tokens=25,
        total_tokens=4375,
        cached_input_tokens=4000,
        cache_write_input_tokens=300,
        extra={"uncached_input_tokens": 50},
    )
    for name in ("cache_usage_stream.sse", "cache_usage_stream_cumulative.sse"):
        _, response = run(backend, (shared_fixtures / "anthropic/synthesized" / name).read_bytes())
        assert response.usage == expected, name


def test_recorded_cache_read_stream(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "anthropic/messages/recorded/prompt_cache_stream.sse").read_bytes()
    )
    assert response.usage == Usage(
        input_tokens=7311,
        output_tokens=4,
        total_tokens=7315,
        cached_input_tokens=7308,
        extra={"uncached_input_tokens": 3},
    )
    assert (response.output_text, response.finish_reason, response.id) == (
        "ok",
        "stop",
        "msg_011CfUThqvhTAzJ8AQchpYfu",
    )


def test_thinking_text_and_tool_with_thinking_tokens(backend) -> None:
    _events, response = run(backend, (OWN / "thinking_text_tool_cache.sse").read_bytes())
    assert response.usage == Usage(
        input_tokens=1070,
        output_tokens=77,
        total_tokens=1147,
        cached_input_tokens=1000,
        cache_write_input_tokens=50,
        reasoning_tokens=30,
        extra={"uncached_input_tokens": 20},
    )
    assert [(c.id, c.arguments, c.raw_arguments) for c in response.tool_calls] == [
        ("toolu_own", {"city": "Oslo"}, '{"city": "Oslo"}')
    ]
    assert (response.output_text, response.reasoning) == ("One moment.", "User wants weather.")


def test_empty_partial_json_gives_no_delta(backend) -> None:
    events, _ = run(backend, (OWN / "thinking_text_tool_cache.sse").read_bytes())
    assert [e for e in events if e.type == "tool_call_delta"] == [
        ToolCallDelta("toolu_own", '{"city": "Oslo"}')
    ]


def test_tool_block_cut_by_max_tokens_completes_at_message_stop(backend) -> None:
    events, response = run(backend, (OWN / "max_tokens_unclosed_tool.sse").read_bytes())
    assert events[-4:-2] == [
        ToolCallDelta("toolu_cut", '{"text": "unfinis'),
        ToolCallCompleted("toolu_cut", "write", {}, '{"text": "unfinis', {}),
    ]
    assert (response.finish_reason, response.raw_finish_reason) == ("length", "max_tokens")


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "other"),
        ("novel", "other"),
    ],
)
def test_stop_reason_mapping(backend, raw: str, finish: str) -> None:
    _, response = run(backend, named(start(), *stop(raw)))
    assert (response.finish_reason, response.raw_finish_reason) == (finish, raw)


def test_refusal_stream_is_content_filter(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "anthropic/synthesized/content_filter_stream.sse").read_bytes()
    )
    assert (response.output_text, response.finish_reason) == ("I can't", "content_filter")


def test_overloaded_error_event_keeps_text_and_usage(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "anthropic/synthesized/error_event_stream.sse").read_bytes()
    )
    assert events[-1] == ErrorEvent(
        AdapterError("provider_unavailable", "Overloaded — please retry", provider="anthropic")
    )
    assert events[-2].kind == "usage"
    assert (response.output_text, response.finish_reason, response.usage.input_tokens) == (
        "hello",
        "error",
        8,
    )


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("rate_limit_error", "rate_limited"),
        ("authentication_error", "authentication_failed"),
        ("permission_error", "authentication_failed"),
        ("api_error", "provider_unavailable"),
        ("invalid_request_error", "invalid_request"),
        ("request_too_large", "unknown"),
    ],
)
def test_error_type_mapping(backend, kind: str, reason: str) -> None:
    events, _ = run(backend, named({"type": "error", "error": {"type": kind, "message": "m"}}))
    assert events[-1] == ErrorEvent(AdapterError(reason, "m", provider="anthropic"))


def test_malformed_event_keeps_partial_text(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "anthropic/synthesized/malformed_event.sse").read_bytes()
    )
    assert events[-1] == ErrorEvent(StreamError("malformed_event", "event data is not valid JSON"))
    assert (response.output_text, response.finish_reason) == ("hi", "error")


@pytest.mark.parametrize("name", ["mid_stream_error.sse", "mid_stream_overloaded.sse"])
def test_stream_cut_before_message_stop_is_incomplete(backend, shared_fixtures, name: str) -> None:
    events, response = run(backend, (shared_fixtures / "anthropic/synthesized" / name).read_bytes())
    assert events[-1].error.reason == "incomplete"
    assert response.output_text in ("partial", "hi")


def test_final_event_without_blank_line_is_discarded_so_stream_is_incomplete(
    backend, shared_fixtures
) -> None:
    # The file ends "data: {message_stop}\n" with no blank line: WHATWG never dispatches it.
    path = shared_fixtures / "anthropic/synthesized/structured_output_stream.sse"
    events, response = run(backend, path.read_bytes())
    assert events[-1].error.reason == "incomplete"
    assert response.tool_calls[0].arguments == {"name": "Alice", "age": 30}


def test_padded_recorded_json_and_text_only_json_output(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "anthropic/messages/structured_output_stream.sse").read_bytes()
    )
    assert response.output_text == '{"age":30,"name":"Alice"}'
    assert response.usage.output_tokens == 17


def test_tool_input_given_whole_at_block_start_is_kept(backend) -> None:
    events, response = run(backend, (OWN / "tool_input_given_whole.sse").read_bytes())
    raw = '{"city":"Zürich","units":"c","days":2}'
    assert [e for e in events if e.type.startswith("tool_call")] == [
        ToolCallStarted("toolu_own_ptc1", "get_weather"),
        ToolCallDelta("toolu_own_ptc1", raw),
        ToolCallCompleted(
            "toolu_own_ptc1", "get_weather", {"city": "Zürich", "units": "c", "days": 2}, raw, {}
        ),
    ]
    assert response.finish_reason == "tool_calls"


def test_deltas_decide_over_input_given_at_block_start(backend) -> None:
    block = {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}
    data = named(
        start(),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"b":2}'},
        },
        {"type": "content_block_stop", "index": 0},
        *stop("tool_use"),
    )
    _, response = run(backend, data)
    assert (response.tool_calls[0].arguments, response.tool_calls[0].raw_arguments) == ({"b": 2}, '{"b":2}')


def test_whole_turn_inside_message_start(backend) -> None:
    events, response = run(backend, (OWN / "whole_turn_in_message_start.sse").read_bytes())
    assert [e.type for e in events] == [
        "message_started",
        "raw_chunk",
        "raw_chunk",
        "text_delta",
        "tool_call_started",
        "tool_call_delta",
        "tool_call_completed",
        "text_completed",
        "raw_chunk",
        "message_completed",
    ]
    assert response.output_text == "Let me check."
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("toolu_own_whole1", "get_weather", {"city": "Oslo"})
    ]
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "tool_use")
    assert response.message.content == (
        ReasoningPart("Need the weather.", signature="sig-own-1", provider="anthropic"),
        TextPart("Let me check."),
    )


def test_whole_turn_redacted_and_unsigned_thinking_become_parts_in_order(backend) -> None:
    content = [
        {"type": "thinking", "thinking": "First."},
        {"type": "redacted_thinking", "data": "opaque-own-1"},
        {"type": "text", "text": "Done."},
    ]
    message = {"id": "m", "model": "c", "content": content, "stop_reason": "end_turn"}
    _, response = run(backend, named({"type": "message_start", "message": message}, {"type": "message_stop"}))
    assert response.message.content == (
        ReasoningPart("First.", provider="anthropic"),
        ReasoningPart(redacted="opaque-own-1", provider="anthropic"),
        TextPart("Done."),
    )


def test_zero_placeholder_usage_before_a_failure_is_none(backend) -> None:
    events, response = run(backend, (OWN / "placeholder_usage_then_error.sse").read_bytes())
    assert [e.type for e in events] == ["message_started", "error"]
    assert response.usage is None and response.error.reason == "provider_unavailable"


def test_usage_sums_saturate_at_the_largest_count(backend) -> None:
    _, response = run(backend, (OWN / "huge_usage_counts.sse").read_bytes())
    top = 2**63 - 1
    assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.total_tokens) == (
        top,
        top,
        top,
    )
    assert response.usage.extra == {"uncached_input_tokens": top}


def test_block_index_above_2_63_is_an_integer_index(backend) -> None:
    _, response = run(backend, (OWN / "huge_block_index.sse").read_bytes())
    assert [(c.id, c.arguments) for c in response.tool_calls] == [("toolu_own_big", {"a": 1})]


def test_key_echoed_in_an_error_event_is_redacted(backend) -> None:
    error = {"type": "authentication_error", "message": "invalid x-api-key sk-ant-api03-own0123456789"}
    events, response = run(backend, named(start(), {"type": "error", "error": error}))
    assert events[-1] == ErrorEvent(
        AdapterError("authentication_failed", "invalid x-api-key [redacted]", provider="anthropic")
    )
    assert "own0123456789" not in repr(response.metadata["error"])


def test_two_tool_use_blocks_sharing_an_id_are_reported(backend) -> None:
    block = {"type": "tool_use", "id": "same", "name": "f", "input": {}}
    data = named(
        start(),
        {"type": "content_block_start", "index": 0, "content_block": block},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": block},
    )
    events, _ = run(backend, data)
    assert events[-1] == ErrorEvent(
        StreamError("malformed_event", "two tool calls in one message share an id")
    )
