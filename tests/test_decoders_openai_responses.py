"""openai-responses stream decoding (docs/internals.md §4, §6), on both backends."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

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

WIRE = "openai-responses"
OWN = Path(__file__).parent / "fixtures" / WIRE


def run(backend: ModuleType, data: bytes, **options):
    return decode(backend, WIRE, data, **options)


def test_text_deltas_and_completed_status(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/responses/happy_text.sse").read_bytes())
    assert events == [
        MessageStarted(None, None),
        TextDelta("hel"),
        TextDelta("lo"),
        TextCompleted("hello"),
        MessageCompleted("stop", "completed", {}),
    ]
    assert response.usage is None


def test_usage_with_reasoning_tokens(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / "openai/responses/happy_text_with_usage.sse").read_bytes())
    assert response.usage == Usage(input_tokens=12, output_tokens=7, total_tokens=19, reasoning_tokens=4)


def test_usage_with_cached_and_cache_write_tokens(backend, shared_fixtures) -> None:
    _, response = run(
        backend, (shared_fixtures / "openai/synthesized/cache_usage_responses.sse").read_bytes()
    )
    assert response.usage == Usage(
        input_tokens=3000,
        output_tokens=50,
        total_tokens=3050,
        cached_input_tokens=2048,
        cache_write_input_tokens=512,
        reasoning_tokens=10,
    )


def test_response_created_gives_id_and_model(backend) -> None:
    events, response = run(backend, (OWN / "reasoning_tool_usage.sse").read_bytes())
    assert events[0] == MessageStarted("resp_own_1", "gpt-own-r")
    assert (response.id, response.model) == ("resp_own_1", "gpt-own-r")


def test_function_call_lifecycle_prefers_the_final_arguments(backend) -> None:
    events, response = run(backend, (OWN / "reasoning_tool_usage.sse").read_bytes())
    assert [e for e in events if e.type.startswith("tool_call")] == [
        ToolCallStarted("call_1", "lookup"),
        ToolCallDelta("call_1", '{"k":'),
        ToolCallDelta("call_1", "1}"),
        ToolCallCompleted("call_1", "lookup", {"k": 1}, '{"k": 1}', {}),
    ]
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", "completed")


def test_reasoning_summary_goes_to_raw_chunks_and_the_reasoning_part(backend) -> None:
    events, response = run(backend, (OWN / "reasoning_tool_usage.sse").read_bytes())
    assert [e for e in events if e.type == "raw_chunk" and e.kind == "reasoning_delta"] == [
        RawChunk("reasoning_delta", "Look it "),
        RawChunk("reasoning_delta", "up."),
    ]
    assert (response.reasoning, response.metadata) == ("Look it up.", {})
    assert response.output_text == "Checking…"


def test_legacy_reasoning_summary_delta_name_is_accepted(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / "openai/responses/reasoning_stream.sse").read_bytes())
    assert response.reasoning == "Thinking carefully."
    assert response.output_text == "Final answer."


def test_end_of_message_order(backend) -> None:
    events, _ = run(backend, (OWN / "reasoning_tool_usage.sse").read_bytes())
    assert [e.type for e in events[-4:]] == [
        "tool_call_completed",
        "text_completed",
        "raw_chunk",
        "message_completed",
    ]
    assert events[-2] == RawChunk(
        "usage",
        Usage(
            input_tokens=500,
            output_tokens=90,
            total_tokens=590,
            cached_input_tokens=256,
            cache_write_input_tokens=32,
            reasoning_tokens=60,
        ),
    )


def test_tool_calls_by_single_call(backend, shared_fixtures) -> None:
    _, response = run(backend, (shared_fixtures / "openai/responses/tool_call_deltas.sse").read_bytes())
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        ("call_stream_1", "get_weather", {"city": "Boston"})
    ]


def test_interleaved_parallel_calls_are_keyed_by_item_id(backend, shared_fixtures) -> None:
    events, response = run(
        backend, (shared_fixtures / "openai/responses/parallel_tool_call_deltas.sse").read_bytes()
    )
    assert [e for e in events if e.type == "tool_call_delta"] == [
        ToolCallDelta("call_a", '{"city":'),
        ToolCallDelta("call_b", '{"tz":'),
        ToolCallDelta("call_a", '"Boston"}'),
        ToolCallDelta("call_b", '"UTC"}'),
    ]
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("call_a", {"city": "Boston"}),
        ("call_b", {"tz": "UTC"}),
    ]


def test_incomplete_max_output_tokens_maps_to_length(backend, shared_fixtures) -> None:
    path = shared_fixtures / "openai/responses/incomplete_max_output_tokens.sse"
    _, response = run(backend, path.read_bytes())
    assert (response.finish_reason, response.raw_finish_reason) == ("length", "max_output_tokens")
    assert response.usage == Usage(
        input_tokens=2400, output_tokens=4000, total_tokens=6400, reasoning_tokens=3700
    )
    assert response.output_text == '{"title":"Guacamole","ingredients":['


def test_incomplete_content_filter_and_json_type_wins_over_event_name(backend) -> None:
    _, response = run(backend, (OWN / "incomplete_content_filter.sse").read_bytes())
    assert (response.output_text, response.finish_reason, response.raw_finish_reason) == (
        "Once upon",
        "content_filter",
        "content_filter",
    )


def test_incomplete_with_unknown_reason_is_other(backend) -> None:
    data = named({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "weird"}}})
    _, response = run(backend, data)
    assert (response.finish_reason, response.raw_finish_reason) == ("other", "weird")


def test_failed_emits_usage_then_adapter_error(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/responses/failed.sse").read_bytes())
    assert events[-2:] == [
        RawChunk("usage", Usage(input_tokens=20, output_tokens=1, total_tokens=21)),
        ErrorEvent(
            AdapterError(
                "provider_unavailable", "The server had an error processing your request.", provider="openai"
            )
        ),
    ]
    assert (response.output_text, response.finish_reason) == ("par", "error")


def test_error_event_is_terminal(backend, shared_fixtures) -> None:
    events, response = run(backend, (shared_fixtures / "openai/responses/error_event.sse").read_bytes())
    assert events == [
        MessageStarted(None, None),
        ErrorEvent(AdapterError("rate_limited", "Rate limit reached.", provider="openai")),
    ]
    assert response.finish_reason == "error"


def test_nested_error_object_in_error_event(backend) -> None:
    data = named(
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
                "message": "too long",
            },
        }
    )
    events, _ = run(backend, data)
    assert events[-1] == ErrorEvent(AdapterError("context_length_exceeded", "too long", provider="openai"))


def test_unknown_event_types_are_ignored(backend) -> None:
    data = named(
        {"type": "response.in_progress", "response": {"id": "r", "model": "m"}},
        {"type": "response.future_thing", "x": 1},
        {"type": "response.output_text.delta", "delta": "ok"},
        {"type": "response.completed", "response": {"status": "completed"}},
    )
    events, _ = run(backend, data)
    assert events == [
        MessageStarted("r", "m"),
        TextDelta("ok"),
        TextCompleted("ok"),
        MessageCompleted("stop", "completed", {}),
    ]


def test_close_without_terminal_is_incomplete(backend) -> None:
    events, response = run(backend, named({"type": "response.output_text.delta", "delta": "half"}))
    assert events[-1] == ErrorEvent(
        StreamError("incomplete", "stream ended before the provider's terminal event")
    )
    assert response.output_text == "half"


def test_final_arguments_over_the_limit_are_a_limit_error(backend) -> None:
    data = named(
        {
            "type": "response.output_item.added",
            "item": {"type": "function_call", "id": "fc", "call_id": "c", "name": "f"},
        },
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc",
            "arguments": '{"long": "argument"}',
        },
    )
    events, _ = run(backend, data, max_argument_bytes=8)
    assert events[-1].error.reason == "limit_exceeded"


def test_key_echoed_in_response_failed_is_redacted(backend) -> None:
    events, response = run(backend, (OWN / "failed_key_echo.sse").read_bytes())
    assert events[-1] == ErrorEvent(
        AdapterError(
            "authentication_failed",
            "Incorrect API key [redacted] (sent as Bearer [redacted])",
            provider="openai",
        )
    )
    assert "own0123456789" not in repr(response)


def test_two_function_call_items_sharing_a_call_id_are_reported(backend) -> None:
    item = {"type": "function_call", "call_id": "call_same", "name": "f", "arguments": ""}
    data = named(
        {"type": "response.created", "response": {"id": "r", "model": "m"}},
        {"type": "response.output_item.added", "item": {**item, "id": "fc_1"}},
        {"type": "response.output_item.added", "item": {**item, "id": "fc_2"}},
    )
    events, _ = run(backend, data)
    assert events[-1] == ErrorEvent(
        StreamError("malformed_event", "two tool calls in one message share an id")
    )
