"""openai-chat stream decoding (docs/internals.md §4, §6), on both backends."""

from __future__ import annotations

import json
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
    TextCompleted,
    TextDelta,
    ToolCallCompleted,
    ToolCallDelta,
    ToolCallStarted,
)
from support.decoding import decode, sse

WIRE = "openai-chat"
OWN = Path(__file__).parent / "fixtures" / WIRE


def run(backend: ModuleType, data: bytes, **options):
    return decode(backend, WIRE, data, **options)


def chunk(delta=None, finish=None, **extra):
    return {
        "id": "c1",
        "model": "m",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
        **extra,
    }


def test_text_deltas_then_text_completed_and_finish(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "openai/synthesized/happy_text_stream.sse").read_bytes()
    )
    assert events == [
        MessageStarted("chatcmpl-stream-1", "gpt-4o-mini"),
        TextDelta("hel"),
        TextDelta("lo"),
        TextCompleted("hello"),
        MessageCompleted("stop", "stop", {}),
    ]
    assert (response.output_text, response.finish_reason, response.id) == (
        "hello",
        "stop",
        "chatcmpl-stream-1",
    )


def test_non_ascii_text_crlf_stream_with_length_finish(backend) -> None:
    events, response = run(backend, (OWN / "text_usage_crlf.sse").read_bytes())
    assert [e for e in events if e.type == "text_delta"] == [TextDelta("Grüß "), TextDelta("dich 👋")]
    assert (response.output_text, response.finish_reason, response.raw_finish_reason) == (
        "Grüß dich 👋",
        "length",
        "length",
    )


def test_usage_with_cache_write_and_reasoning_tokens(backend) -> None:
    _, response = run(backend, (OWN / "text_usage_crlf.sse").read_bytes())
    assert response.usage == Usage(
        input_tokens=100,
        output_tokens=40,
        total_tokens=140,
        cached_input_tokens=64,
        cache_write_input_tokens=8,
        reasoning_tokens=16,
    )


def test_usage_is_one_raw_chunk_just_before_message_completed(backend) -> None:
    events, _ = run(backend, (OWN / "text_usage_crlf.sse").read_bytes())
    assert [e.type for e in events[-3:]] == ["text_completed", "raw_chunk", "message_completed"]
    assert sum(e.type == "raw_chunk" for e in events) == 1


def test_usage_only_chunk_with_empty_choices(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / "openai/synthesized/usage_chunk.sse").read_bytes())
    assert response.usage == Usage(input_tokens=12, output_tokens=3, total_tokens=15)
    assert response.output_text == "hi"


def test_cached_tokens_in_recorded_stream_with_unknown_fields(backend, shared_fixtures) -> None:
    path = shared_fixtures / "openai/chat_completions/recorded/prompt_cache_stream.sse"
    _, response = run(backend, path.read_bytes())
    assert (response.output_text, response.finish_reason) == ("ok", "stop")
    assert response.usage == Usage(
        input_tokens=6263, output_tokens=4, total_tokens=6267, cached_input_tokens=5888
    )


def test_cache_write_tokens_from_synthesized_stream(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "openai/synthesized/cache_usage_chat_stream.sse").read_bytes()
    )
    assert response.usage == Usage(
        input_tokens=2048,
        output_tokens=20,
        total_tokens=2068,
        cached_input_tokens=1536,
        cache_write_input_tokens=256,
    )


def test_tool_call_fragments_split_mid_key_assemble(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "openai/synthesized/tool_call_deltas.sse").read_bytes()
    )
    assert events[1:] == [
        ToolCallStarted("call_abc123", "get_weather"),
        ToolCallDelta("call_abc123", '{"ci'),
        ToolCallDelta("call_abc123", 'ty":"Boston"}'),
        ToolCallCompleted("call_abc123", "get_weather", {"city": "Boston"}, '{"city":"Boston"}', {}),
        MessageCompleted("tool_calls", "tool_calls", {}),
    ]
    assert response.tool_calls[0].arguments == {"city": "Boston"}


def test_interleaved_parallel_tool_calls_are_keyed_by_index(backend, shared_fixtures) -> None:
    path = shared_fixtures / "openai/synthesized/parallel_tool_calls_stream.sse"
    _, response = run(backend, path.read_bytes())
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_a", "get_weather", {"city": "Boston"}),
        ("call_b", "get_time", {"tz": "UTC"}),
    ]


def test_fragments_before_id_and_name_are_emitted_right_after_the_start(backend) -> None:
    events, response = run(backend, (OWN / "interleaved_late_id.sse").read_bytes())
    tool_events = [e for e in events if e.type.startswith("tool_call")]
    assert tool_events == [
        ToolCallStarted("call_x", "search"),
        ToolCallDelta("call_x", '{"q":'),
        ToolCallDelta("call_x", '"cats"}'),
        ToolCallStarted("call_y", "count"),
        ToolCallDelta("call_y", '{"n":'),
        ToolCallDelta("call_y", "3}"),
        ToolCallCompleted("call_x", "search", {"q": "cats"}, '{"q":"cats"}', {}),
        ToolCallCompleted("call_y", "count", {"n": 3}, '{"n":3}', {}),
    ]
    assert [c.id for c in response.tool_calls] == ["call_x", "call_y"]


def test_call_never_given_an_id_is_completed_as_call_index(backend) -> None:
    data = sse(
        chunk({"tool_calls": [{"index": 2, "function": {"arguments": "{}"}}]}, "tool_calls"), b"[DONE]"
    )
    events, _ = run(backend, data)
    assert events[1:4] == [
        ToolCallStarted("call_2", ""),
        ToolCallDelta("call_2", "{}"),
        ToolCallCompleted("call_2", "", {}, "{}", {}),
    ]


def test_invalid_argument_json_gives_empty_arguments_and_keeps_raw(backend) -> None:
    data = sse(
        chunk(
            {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{oops"}}]},
            "tool_calls",
        ),
        b"[DONE]",
    )
    _, response = run(backend, data)
    assert (response.tool_calls[0].arguments, response.tool_calls[0].raw_arguments) == ({}, "{oops")


def test_arguments_that_are_not_an_object_give_empty_arguments(backend) -> None:
    data = sse(
        chunk(
            {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": "[1]"}}]}, "stop"
        ),
        b"[DONE]",
    )
    _, response = run(backend, data)
    assert (response.tool_calls[0].arguments, response.tool_calls[0].raw_arguments) == ({}, "[1]")


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("content_filter", "content_filter"),
        ("function_call", "tool_calls"),
        ("eos", "other"),
    ],
)
def test_finish_reason_mapping(backend, raw: str, finish: str) -> None:
    _, response = run(backend, sse(chunk({"content": "x"}, raw), b"[DONE]"))
    assert (response.finish_reason, response.raw_finish_reason) == (finish, raw)


def test_content_filter_stream(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "openai/synthesized/content_filter_stream.sse").read_bytes()
    )
    assert (response.output_text, response.finish_reason) == ("this is about to be ", "content_filter")


def test_done_only_stream_completes_without_finish_reason(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/synthesized/done_only.sse").read_bytes())
    assert events == [MessageStarted(None, None), MessageCompleted(None, None, {})]
    assert response.finish_reason is None


def test_close_after_a_finish_reason_without_done_ends_cleanly(backend) -> None:
    events, response = run(backend, sse(chunk({"content": "hi"}, "stop")))
    assert events[-1] == MessageCompleted("stop", "stop", {})
    assert response.metadata == {}


def test_missing_done_and_finish_is_incomplete(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/synthesized/no_done_marker.sse").read_bytes())
    assert events[-1] == ErrorEvent(
        StreamError("incomplete", "stream ended before the provider's terminal event")
    )
    assert (response.output_text, response.finish_reason) == ("ok", "error")


def test_malformed_json_is_an_error_event_with_partial_text_kept(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/synthesized/malformed_event.sse").read_bytes())
    assert events[-1] == ErrorEvent(StreamError("malformed_event", "event data is not valid JSON"))
    assert (response.output_text, response.finish_reason) == ("hi ", "error")


def test_payload_that_is_not_an_object_is_malformed(backend) -> None:
    events, _ = run(backend, sse(b"[1, 2]"))
    assert events == [ErrorEvent(StreamError("malformed_event", "event data is not a JSON object"))]


def test_error_chunk_maps_to_adapter_error(backend) -> None:
    events, response = run(backend, (OWN / "error_chunk.sse").read_bytes())
    assert events[-1] == ErrorEvent(AdapterError("rate_limited", "Rate limit reached", provider="openai"))
    assert (response.output_text, response.finish_reason) == ("par", "error")


def test_transport_failure_after_partial_text(backend, shared_fixtures) -> None:
    decoder = backend.StreamDecoder(WIRE)
    decoder.feed((shared_fixtures / "openai/synthesized/mid_stream_error.sse").read_bytes())
    failure = AdapterError("provider_unavailable", "HTTP 503", provider="openai", status=503)
    assert decoder.fail(failure) == [ErrorEvent(failure)]
    assert (decoder.response().output_text, decoder.response().metadata["error"]) == ("partial", failure)


def test_events_after_done_are_ignored(backend) -> None:
    events, response = run(backend, sse(chunk({"content": "a"}, "stop"), b"[DONE]", chunk({"content": "b"})))
    assert response.output_text == "a"
    assert events[-1].type == "message_completed"


def test_argument_text_over_max_argument_bytes_is_a_limit_error(backend) -> None:
    data = sse(
        chunk(
            {"tool_calls": [{"index": 0, "id": "c", "function": {"name": "f", "arguments": '{"a":"xyz"}'}}]}
        )
    )
    events, _ = run(backend, data, max_argument_bytes=5)
    assert events[-1] == ErrorEvent(
        StreamError("limit_exceeded", "tool call arguments exceed max_argument_bytes (5)")
    )


def test_wrongly_typed_fields_count_as_absent(backend) -> None:
    data = sse(
        {
            "id": 5,
            "model": None,
            "choices": [{"delta": {"content": 7}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": "9", "completion_tokens": True},
        },
        b"[DONE]",
    )
    events, response = run(backend, data)
    assert events[0] == MessageStarted(None, None)
    assert response.usage is None  # no valid count: usage was never really reported
    assert response.output_text == ""


def arguments_of(backend: ModuleType, raw: str) -> dict:
    item = {"index": 0, "id": "c", "function": {"name": "f", "arguments": raw}}
    _, response = run(backend, sse(chunk({"tool_calls": [item]}, "tool_calls"), b"[DONE]"))
    return response.tool_calls[0].arguments


@pytest.mark.parametrize(
    ("raw", "arguments"),
    [
        ('{"x": NaN}', {}),
        ('{"x": Infinity}', {}),
        ('{"x": "\\ud800"}', {}),
        ('{"x": "\\ud83d\\ude00"}', {"x": "😀"}),
        ('{"x": 1e400}', {}),
        ('{"x": 18446744073709551615}', {"x": 18446744073709551615}),
        ('{"x": 18446744073709551616}', {"x": 1.8446744073709552e19}),
        ('{"x": -0}', {"x": 0}),
        ('{"x": 1, "x": 2}', {"x": 2}),
        ('{"x": "a\tb"}', {}),
        ("  {}  ", {}),
    ],
)
def test_argument_json_follows_the_strict_rules(backend, raw: str, arguments: dict) -> None:
    parsed = arguments_of(backend, raw)
    assert parsed == arguments
    assert [type(v) for v in parsed.values()] == [type(v) for v in arguments.values()]


def test_argument_json_nesting_limit_is_127(backend) -> None:
    assert arguments_of(backend, '{"x":' + "[" * 126 + "]" * 126 + "}") != {}
    assert arguments_of(backend, '{"x":' + "[" * 127 + "]" * 127 + "}") == {}


def own(name: str) -> bytes:
    return (OWN / name).read_bytes()


def test_n3_events_and_response_describe_choice_0(backend) -> None:
    events, response = run(backend, own("n3_choices.sse"))
    assert [e.delta for e in events if e.type == "text_delta"] == ['{"city"', ':"Lima"}']
    assert not [e for e in events if e.type.startswith("tool_call")]
    assert (response.output_text, response.finish_reason, response.tool_calls) == (
        '{"city":"Lima"}',
        "stop",
        (),
    )


def test_n3_other_choices_are_folded_separately(backend) -> None:
    _, response = run(backend, own("n3_choices.sse"))
    call = {
        "id": "call_own_n3",
        "name": "get_weather",
        "arguments": {"city": "Cusco"},
        "raw_arguments": '{"city":"Cusco"}',
    }
    assert response.metadata["choices"] == [
        {
            "index": 1,
            "text": '{"city":"Quito"',
            "reasoning": None,
            "tool_calls": [],
            "finish_reason": "length",
            "raw_finish_reason": "length",
        },
        {
            "index": 2,
            "text": "",
            "reasoning": None,
            "tool_calls": [call],
            "finish_reason": "tool_calls",
            "raw_finish_reason": "tool_calls",
        },
    ]


def test_single_choice_stream_has_no_choices_metadata(backend) -> None:
    _, response = run(backend, own("reasoning_content.sse"))
    assert "choices" not in response.metadata


@pytest.mark.parametrize(
    ("name", "reasoning", "text"),
    [
        ("reasoning_content.sse", "The user greets me; reply kindly.", "Hello!"),
        ("reasoning_field.sse", "Short answer.", "Yes."),
    ],
)
def test_reasoning_deltas_are_surfaced_like_the_other_wires(
    backend, name: str, reasoning: str, text: str
) -> None:
    events, response = run(backend, own(name))
    deltas = [e.data for e in events if e.type == "raw_chunk" and e.kind == "reasoning_delta"]
    assert "".join(deltas) == reasoning
    assert response.message.content == (ReasoningPart(reasoning, provider="openai"), TextPart(text))


def test_content_as_a_list_of_text_and_thinking_parts(backend) -> None:
    events, response = run(backend, own("content_parts.sse"))
    assert [e.delta for e in events if e.type == "text_delta"] == ["Look left, ", "then right."]
    assert response.output_text == "Look left, then right."
    assert response.message.content[0] == ReasoningPart("Look both ways.", provider="openai")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("429", "rate_limited"),
        ("401", "authentication_failed"),
        ("403", "authentication_failed"),
        ("400", "invalid_request"),
        ("408", "timeout"),
        ("500", "provider_unavailable"),
        ("503", "provider_unavailable"),
        (429, "rate_limited"),
        ("200", "unknown"),
        ("4290", "unknown"),
        ("rate_limit_exceeded", "rate_limited"),
        ("invalid_api_key", "authentication_failed"),
    ],
)
def test_numeric_error_codes_map_like_http_statuses(backend, code, reason: str) -> None:
    body = own("numeric_error_code.sse").replace(b'"code": "429"', f'"code": {json.dumps(code)}'.encode())
    events, response = run(backend, body)
    assert events[-1].error.reason == reason
    assert response.output_text == "Par"


def test_key_echoed_in_an_error_chunk_is_redacted(backend) -> None:
    events, response = run(backend, own("key_echo_error.sse"))
    error = events[-1].error
    assert error.reason == "authentication_failed"
    assert error.message.startswith("Incorrect API key provided: [redacted]. You can find")
    assert "own0123456789" not in str(response.metadata["error"])


def test_two_tool_calls_sharing_an_id_are_reported(backend) -> None:
    events, response = run(backend, own("shared_tool_call_id.sse"))
    assert events[-1] == ErrorEvent(
        StreamError("malformed_event", "two tool calls in one message share an id")
    )
    assert response.finish_reason == "error"
    assert [(c.id, c.raw_arguments) for c in response.tool_calls] == [("call_own_dup", '{"city":"Rome"}')]


def test_tool_index_above_2_63_is_a_separate_call(backend) -> None:
    _, response = run(backend, own("huge_tool_index.sse"))
    assert [(c.id, c.raw_arguments) for c in response.tool_calls] == [
        ("call_own_a", '{"n":1}'),
        ("call_18446744073709551615", '{"m":2}'),
    ]
