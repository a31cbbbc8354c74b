"""StreamDecoder and collect: the sans-IO pipelines (docs/internals.md §1, §6), on both backends."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import allm
import allm.sse
from allm import _backend
from allm._usage import Usage
from allm.errors import AdapterError, StreamError, ValidationError
from allm.events import ErrorEvent, MessageStarted, RawChunk

OWN = Path(__file__).parent / "fixtures"
TOOLS = OWN / "openai-chat" / "interleaved_late_id.sse"
REASONING = OWN / "openai-responses" / "reasoning_tool_usage.sse"


def feed_all(decoder, data: bytes, size: int = 7) -> list:
    events = []
    for i in range(0, len(data), size):
        events.extend(decoder.feed(data[i : i + size]))
    return events + decoder.close()


def test_unknown_wire_is_a_value_error(backend: ModuleType) -> None:
    with pytest.raises(ValueError):
        backend.StreamDecoder("openai-completions")


def test_default_options_drop_only_reasoning_deltas(backend: ModuleType) -> None:
    events = feed_all(backend.StreamDecoder("openai-responses"), REASONING.read_bytes())
    assert {e.kind for e in events if e.type == "raw_chunk"} == {"usage", "reasoning"}
    assert any(e.type == "text_delta" for e in events)


def test_include_raw_chunks_keeps_reasoning_deltas(backend: ModuleType) -> None:
    events = feed_all(
        backend.StreamDecoder("openai-responses", include_raw_chunks=True), REASONING.read_bytes()
    )
    assert RawChunk("reasoning_delta", "Look it ") in events


def test_emit_text_deltas_false_still_gives_text_completed(backend: ModuleType) -> None:
    events = feed_all(
        backend.StreamDecoder("openai-responses", emit_text_deltas=False), REASONING.read_bytes()
    )
    assert not any(e.type == "text_delta" for e in events)
    assert [e.text for e in events if e.type == "text_completed"] == ["Checking…"]


def test_emit_tool_deltas_false_drops_only_tool_deltas(backend: ModuleType) -> None:
    events = feed_all(backend.StreamDecoder("openai-chat", emit_tool_deltas=False), TOOLS.read_bytes())
    kinds = [e.type for e in events]
    assert "tool_call_delta" not in kinds
    assert kinds.count("tool_call_started") == kinds.count("tool_call_completed") == 2


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"emit_text_deltas": False},
        {"emit_tool_deltas": False},
        {"include_raw_chunks": True},
        {"emit_text_deltas": False, "emit_tool_deltas": False, "include_raw_chunks": False},
    ],
)
def test_filtering_never_changes_the_response(backend: ModuleType, options: dict) -> None:
    for path in (TOOLS, REASONING):
        wire = path.parent.name
        plain = backend.StreamDecoder(wire, include_raw_chunks=True)
        filtered = backend.StreamDecoder(wire, **options)
        feed_all(plain, path.read_bytes())
        feed_all(filtered, path.read_bytes())
        assert filtered.response() == plain.response()


def test_feed_quiet_folds_to_the_same_response_as_feed(backend: ModuleType) -> None:
    data = REASONING.read_bytes()
    loud = backend.StreamDecoder("openai-responses", include_raw_chunks=True)
    quiet = backend.StreamDecoder("openai-responses")
    loud_events = feed_all(loud, data, size=5)
    count = sum(quiet.feed_quiet(data[i : i + 5]) for i in range(0, len(data), 5)) + quiet.close_quiet()
    assert quiet.response() == loud.response()
    assert count == len(loud_events)  # quiet counts every event, before filtering


def test_feed_quiet_returns_the_unfiltered_event_count(backend: ModuleType) -> None:
    data = REASONING.read_bytes()
    unfiltered = backend.StreamDecoder("openai-responses", include_raw_chunks=True)
    quiet = backend.StreamDecoder("openai-responses", emit_text_deltas=False)
    assert quiet.feed_quiet(data) == len(unfiltered.feed(data))


def test_fail_after_partial_content_keeps_text_and_usage(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("anthropic")
    decoder.feed(
        (OWN / "anthropic" / "thinking_text_tool_cache.sse")
        .read_bytes()
        .split(b'event: content_block_start\ndata: {"type":"content_block_start","index":2')[0]
    )
    failure = AdapterError("network_error", "connection reset", provider="anthropic")
    events = decoder.fail(failure)
    assert [e.type for e in events] == ["raw_chunk", "error"]
    assert events[-1] == ErrorEvent(failure)
    response = decoder.response()
    assert (response.output_text, response.finish_reason, response.metadata["error"]) == (
        "One moment.",
        "error",
        failure,
    )
    assert response.usage.input_tokens == 1070


def test_fail_before_any_event_gives_only_the_error(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    failure = StreamError("timeout", "idle")
    assert decoder.fail(failure) == [ErrorEvent(failure)]
    assert decoder.done and decoder.started


def test_fail_quiet_counts_its_events(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    assert decoder.fail_quiet(StreamError("timeout")) == 1
    assert decoder.response().finish_reason == "error"


def test_nothing_after_a_terminal_event(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    decoder.feed(b'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\n')
    assert decoder.done
    assert decoder.feed(b'data: {"choices":[{"delta":{"content":"b"}}]}\n\n') == []
    assert decoder.close() == []
    assert decoder.fail(StreamError("timeout")) == []
    assert decoder.feed_quiet(b"data: [DONE]\n\n") == 0
    assert decoder.response().output_text == "a"


def test_started_and_done_track_the_stream(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    assert (decoder.started, decoder.done) == (False, False)
    decoder.feed(b": comment only\n\n")
    assert (decoder.started, decoder.done) == (False, False)
    decoder.feed(b'data: {"id":"x","choices":[]}\n\n')
    assert (decoder.started, decoder.done) == (True, False)
    decoder.feed(b"data: [DONE]\n\n")
    assert (decoder.started, decoder.done) == (True, True)


def test_close_with_nothing_received_is_incomplete_without_message_started(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("gemini")
    assert decoder.close() == [
        ErrorEvent(StreamError("incomplete", "stream ended before the provider's terminal event"))
    ]


def test_sse_line_limit_becomes_an_error_event_after_earlier_events(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat", max_line_bytes=64)
    events = decoder.feed(
        b'data: {"id":"a","choices":[{"delta":{"content":"ok"}}]}\n\ndata: "' + b"x" * 100 + b'"\n\n'
    )
    assert events[0] == MessageStarted("a", None)
    assert events[-1] == ErrorEvent(StreamError("limit_exceeded", "SSE line exceeds max_line_bytes (64)"))
    assert decoder.response().output_text == "ok"


def test_sse_event_limit_becomes_an_error_event(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("gemini", max_event_bytes=10)
    events = decoder.feed(b'data: {"candidates":[]}\n\n')
    assert events[-1].error.reason == "limit_exceeded"


def test_limit_error_after_terminal_event_in_same_chunk_is_not_reported(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat", max_line_bytes=20)
    events = decoder.feed(b"data: [DONE]\n\n" + b"x" * 50)
    assert events[-1].type == "message_completed"


def test_collect_folds_chunks_into_the_response(backend: ModuleType) -> None:
    data = TOOLS.read_bytes()
    response = backend.collect("openai-chat", [data[i : i + 3] for i in range(0, len(data), 3)])
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("call_x", {"q": "cats"}),
        ("call_y", {"n": 3}),
    ]
    assert response.finish_reason == "tool_calls"


def test_collect_of_a_cut_stream_is_incomplete(backend: ModuleType) -> None:
    response = backend.collect("openai-chat", [b'data: {"choices":[{"delta":{"content":"par"}}]}\n\n'])
    assert (response.output_text, response.finish_reason, response.metadata["error"].reason) == (
        "par",
        "error",
        "incomplete",
    )


def test_collect_accepts_limits(backend: ModuleType) -> None:
    response = backend.collect("openai-chat", [TOOLS.read_bytes()], max_argument_bytes=3)
    assert response.metadata["error"].reason == "limit_exceeded"


def test_collect_usage_from_a_generator(backend: ModuleType) -> None:
    data = (OWN / "openai-chat" / "text_usage_crlf.sse").read_bytes()
    response = backend.collect("openai-chat", (bytes([b]) for b in data))
    assert response.usage == Usage(
        input_tokens=100,
        output_tokens=40,
        total_tokens=140,
        cached_input_tokens=64,
        cache_write_input_tokens=8,
        reasoning_tokens=16,
    )


@pytest.mark.parametrize("value", [0, -1, "big", 2.5, True, 2**64, 2**100])
@pytest.mark.parametrize(
    "make",
    [
        lambda m, v: m.StreamDecoder("openai-chat", max_line_bytes=v),
        lambda m, v: m.StreamDecoder("openai-chat", max_response_bytes=v),
        lambda m, v: m.collect("anthropic", [], max_argument_bytes=v),
        lambda m, v: m.collect("anthropic", [], max_response_bytes=v),
        lambda m, v: m.SSEDecoder(max_event_bytes=v),
    ],
    ids=["StreamDecoder", "StreamDecoder-response", "collect", "collect-response", "SSEDecoder"],
)
def test_every_entry_point_rejects_a_bad_limit_with_a_validation_error(backend, make, value) -> None:
    with pytest.raises(ValidationError) as info:
        make(backend, value)
    assert info.value.reason == "invalid_options"


def test_the_largest_limit_is_accepted(backend) -> None:
    decoder = backend.StreamDecoder("openai-chat", max_line_bytes=2**64 - 1, max_response_bytes=2**64 - 1)
    assert decoder.feed(b'data: {"choices":[]}\n\n')[0].type == "message_started"


def test_the_public_names_are_the_active_backends_classes() -> None:
    active = _backend.backend_info().name
    module = {"rust": "allm._native", "python": "allm._pure.pipeline"}[active]
    assert isinstance(allm.StreamDecoder, type) and allm.StreamDecoder.__module__ == module
    assert isinstance(allm.sse.SSEDecoder, type)
    assert allm.sse.SSEDecoder.__module__ == {"rust": "allm._native", "python": "allm._pure.sse"}[active]
