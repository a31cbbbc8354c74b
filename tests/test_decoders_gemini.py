"""gemini stream decoding (docs/internals.md §4, §6), on both backends."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

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
from support.decoding import decode, sse

WIRE = "gemini"
OWN = Path(__file__).parent / "fixtures" / WIRE
SYNTH = "gemini/synthesized"


def run(backend: ModuleType, data: bytes, **options):
    return decode(backend, WIRE, data, **options)


def candidate(parts: list, finish: str | None = None) -> dict:
    body: dict = {"content": {"role": "model", "parts": parts}}
    if finish:
        body["finishReason"] = finish
    return {"candidates": [body]}


def test_text_chunks_then_empty_parts_stop(backend, shared_fixtures) -> None:
    events, _response = run(backend, (shared_fixtures / SYNTH / "happy_text_stream.sse").read_bytes())
    usage = Usage(input_tokens=3, output_tokens=2, total_tokens=5)
    assert events == [
        MessageStarted(None, "gemini-2.5-flash"),
        TextDelta("hel"),
        TextDelta("lo "),
        TextDelta("world"),
        TextCompleted("hello world"),
        RawChunk("usage", usage),
        MessageCompleted("stop", "STOP", {}),
    ]


def test_function_call_is_started_delta_and_completed_at_once(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / SYNTH / "function_call_stream.sse").read_bytes())
    assert events[1:4] == [
        ToolCallStarted("fc_1", "get_weather"),
        ToolCallDelta("fc_1", '{"city":"Boston"}'),
        ToolCallCompleted("fc_1", "get_weather", {"city": "Boston"}, '{"city":"Boston"}', {}),
    ]
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "STOP")


def test_parallel_function_calls_keep_their_order(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / SYNTH / "tool_call_parallel_stream.sse").read_bytes())
    assert [(c.id, c.name) for c in response.tool_calls] == [("fc_a", "get_weather"), ("fc_b", "set_color")]


def test_thought_part_signature_and_generated_call_id(backend) -> None:
    events, response = run(backend, (OWN / "thought_text_call.sse").read_bytes())
    assert events[0] == MessageStarted("gem_own_1", "gemini-own")
    assert RawChunk("reasoning_delta", "Need the weather.") in events
    raw = '{"city":"Paris","days":2,"ratio":0.5,"tags":["é","x"]}'
    assert (
        ToolCallCompleted(
            "call_0",
            "weather",
            {"city": "Paris", "days": 2, "ratio": 0.5, "tags": ["é", "x"]},
            raw,
            {"thought_signature": "sig-1"},
        )
        in events
    )
    assert (response.output_text, response.reasoning, response.finish_reason) == (
        "Let me check.",
        "Need the weather.",
        "tool_calls",
    )


def test_cached_and_thoughts_tokens(backend) -> None:
    _, response = run(backend, (OWN / "thought_text_call.sse").read_bytes())
    assert response.usage == Usage(
        input_tokens=300, output_tokens=20, total_tokens=350, cached_input_tokens=256, reasoning_tokens=30
    )


def test_implicit_cache_hit_usage(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / SYNTH / "cache_usage.sse").read_bytes())
    assert response.usage == Usage(
        input_tokens=5000, output_tokens=30, total_tokens=5030, cached_input_tokens=4096
    )


def test_last_usage_metadata_wins(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / SYNTH / "intermediate_usage_stream.sse").read_bytes())
    assert response.usage == Usage(input_tokens=4, output_tokens=3, total_tokens=7)
    assert sum(e.type == "raw_chunk" for e in events) == 1


def test_response_token_count_when_candidates_count_is_absent(backend) -> None:
    data = sse(
        {
            **candidate([{"text": "x"}], "STOP"),
            "usageMetadata": {"promptTokenCount": 1, "responseTokenCount": 4},
        }
    )
    _, response = run(backend, data)
    assert response.usage == Usage(input_tokens=1, output_tokens=4)


@pytest.mark.parametrize(
    ("raw", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "error"),
        ("UNEXPECTED_TOOL_CALL", "error"),
        ("NO_IMAGE", "other"),
    ],
)
def test_finish_reason_mapping(backend, raw: str, finish: str) -> None:
    events, response = run(backend, sse(candidate([{"text": "t"}], raw)))
    assert events[-1] == MessageCompleted(finish, raw, {})
    assert "error" not in response.metadata


def test_prompt_block_is_a_content_filter_error(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / SYNTH / "prompt_blocked_stream.sse").read_bytes())
    assert events == [
        MessageStarted(None, "gemini-2.5-flash"),
        ErrorEvent(AdapterError("content_filter", "prompt blocked: SAFETY", provider="gemini")),
    ]
    assert response.finish_reason == "error"


def test_error_payload_maps_by_status(backend) -> None:
    events, response = run(backend, (OWN / "error_payload.sse").read_bytes())
    assert events[-1] == ErrorEvent(
        AdapterError("provider_unavailable", "The model is overloaded.", provider="gemini")
    )
    assert response.output_text == "par"


@pytest.mark.parametrize("name", ["equiv_no_finish_reason.sse", "mid_stream_error.sse"])
def test_no_finish_reason_is_incomplete(backend, shared_fixtures, name: str) -> None:
    events, _ = run(backend, (shared_fixtures / SYNTH / name).read_bytes())
    assert events[-1] == ErrorEvent(
        StreamError("incomplete", "stream ended before the provider's terminal event")
    )


EQUIV = {
    "equiv_simple_text.sse": ("ok", "stop", "STOP"),
    "equiv_multi_chunk_text.sse": ("hello there", "stop", "STOP"),
    "equiv_max_tokens.sse": ("truncated", "length", "MAX_TOKENS"),
    "equiv_safety_filter.sse": ("partial", "content_filter", "SAFETY"),
    "equiv_recitation.sse": ("some text", "content_filter", "RECITATION"),
    "equiv_three_chunks.sse": ("a b c", "stop", "STOP"),
    "equiv_intermediate_usage.sse": ("xy", "stop", "STOP"),
    "equiv_function_call.sse": ("", "tool_calls", "STOP"),
    "equiv_text_then_function_call.sse": ("checking weather", "tool_calls", "STOP"),
    "equiv_other_finish.sse": ("text only", "other", "NO_IMAGE"),
    "equiv_long_text.sse": ("The quick brown fox", "stop", "STOP"),
}


@pytest.mark.parametrize("name", sorted(EQUIV))
def test_equivalence_streams(backend, shared_fixtures, name: str) -> None:
    _, response = run(backend, (shared_fixtures / SYNTH / name).read_bytes())
    assert (response.output_text, response.finish_reason, response.raw_finish_reason) == EQUIV[name]


def test_done_marker_is_ignored(backend) -> None:
    events, _ = run(backend, sse(b"[DONE]", candidate([{"text": "a"}], "STOP")))
    assert [e.type for e in events] == [
        "message_started",
        "text_delta",
        "text_completed",
        "message_completed",
    ]


def test_call_without_args_has_empty_object_arguments(backend) -> None:
    events, _ = run(backend, sse(candidate([{"functionCall": {"name": "now"}}], "STOP")))
    assert ToolCallCompleted("call_0", "now", {}, "{}", {}) in events


def test_canonical_argument_json_for_floats_and_escapes(backend) -> None:
    args = {"big": 1e16, "small": 1e-05, "plain": 100.0, "neg": -0.0, "s": 'q"\\\n\x01é'}
    events, _ = run(
        backend, sse(candidate([{"functionCall": {"id": "f", "name": "n", "args": args}}], "STOP"))
    )
    [delta] = [e for e in events if e.type == "tool_call_delta"]
    assert (
        delta.arguments_delta
        == '{"big":1e+16,"small":1e-05,"plain":100.0,"neg":-0.0,"s":"q\\"\\\\\\n\\u0001é"}'
    )


def test_api_key_invalid_in_stream_is_authentication_failed(backend) -> None:
    events, _ = run(backend, (OWN / "api_key_invalid.sse").read_bytes())
    assert events[-1] == ErrorEvent(
        AdapterError(
            "authentication_failed", "API key not valid. Please pass a valid API key.", provider="gemini"
        )
    )


def test_numeric_code_without_a_known_status_maps_like_an_http_status(backend) -> None:
    events, _ = run(backend, sse({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}))
    assert events[-1] == ErrorEvent(AdapterError("invalid_request", "bad", provider="gemini"))


def test_key_echoed_in_an_error_payload_is_redacted(backend) -> None:
    error = {
        "code": 403,
        "message": "key AIzaSyOwn0123456789abcdef is blocked",
        "status": "PERMISSION_DENIED",
    }
    events, _ = run(backend, sse({"error": error}))
    assert events[-1] == ErrorEvent(
        AdapterError("authentication_failed", "key [redacted] is blocked", provider="gemini")
    )
