"""Stream / non-stream equivalence per provider: the non-streaming body's Response equals
the folded stream of the same answer (text, tool calls, finish reason, usage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import allm
from allm.providers import anthropic, gemini, openai

OWN = Path(__file__).resolve().parent / "fixtures" / "http"
GEMINI_PAIRS = [
    "simple_text",
    "multi_chunk_text",
    "max_tokens",
    "safety_filter",
    "recitation",
    "three_chunks",
    "intermediate_usage",
    "function_call",
    "text_then_function_call",
    "no_finish_reason",
    "other_finish",
    "long_text",
]


def summary(r: allm.Response) -> tuple:
    calls = [(c.id, c.name, c.arguments, c.metadata) for c in r.tool_calls]
    return (r.output_text, calls, r.finish_reason, r.raw_finish_reason, r.usage)


def folded(wire: str, data: bytes) -> allm.Response:
    return allm.collect(wire, [data[i : i + 7] for i in range(0, len(data), 7)])


@pytest.mark.parametrize("name", GEMINI_PAIRS)
def test_gemini_equiv_pairs(backend, shared_fixtures, name) -> None:
    base = shared_fixtures / "gemini" / "synthesized"
    body = json.loads((base / f"equiv_{name}.json").read_text())
    stream = folded("gemini", (base / f"equiv_{name}.sse").read_bytes())
    if name == "no_finish_reason":
        # a stream closed without finishReason is "incomplete"; the body simply has no finish
        assert stream.error is not None and stream.error.reason == "incomplete"
        assert gemini.parse_response(body).output_text == stream.output_text
        return
    assert summary(gemini.parse_response(body)) == summary(stream)


@pytest.mark.parametrize(
    ("module", "wire", "name"),
    [
        (openai, "openai-chat", "openai/chat_pair"),
        (openai, "openai-responses", "openai/responses_pair"),
        (anthropic, "anthropic", "anthropic/pair"),
    ],
)
def test_own_pairs(backend, module, wire, name) -> None:
    body = json.loads((OWN / f"{name}.json").read_text())
    stream = folded(wire, (OWN / f"{name}.sse").read_bytes())
    parsed = module.parse_response(body)
    assert summary(parsed) == summary(stream)
    assert (parsed.id, parsed.model) == (stream.id, stream.model)
    assert parsed.tool_calls  # the pair exercises tool calls


@pytest.mark.parametrize(
    ("module", "wire", "json_path", "sse_path"),
    [
        (
            openai,
            "openai-chat",
            "openai/chat_completions/happy_text.json",
            "openai/synthesized/happy_text_stream.sse",
        ),
        (openai, "openai-responses", "openai/responses/happy_text.json", "openai/responses/happy_text.sse"),
        (anthropic, "anthropic", "anthropic/messages/happy_text.json", "anthropic/messages/happy_text.sse"),
        (
            anthropic,
            "anthropic",
            "anthropic/messages/single_tool_use.json",
            "anthropic/messages/tool_use_deltas.sse",
        ),
        (
            anthropic,
            "anthropic",
            "anthropic/messages/parallel_tool_use.json",
            "anthropic/messages/parallel_tool_use_deltas.sse",
        ),
        (
            openai,
            "openai-chat",
            "openai/chat_completions/parallel_tool_calls.json",
            "openai/synthesized/parallel_tool_calls_stream.sse",
        ),
    ],
)
def test_shared_near_pairs_agree_on_shape(
    backend, shared_fixtures, module, wire, json_path, sse_path
) -> None:
    """Upstream's JSON and SSE fixtures of the same case were written apart (ids and counts
    differ), so only the shape is compared: text when both have it, the number of tool
    calls, the finish reason."""
    parsed = module.parse_response(json.loads((shared_fixtures / json_path).read_text()))
    stream = folded(wire, (shared_fixtures / sse_path).read_bytes())
    assert parsed.finish_reason == stream.finish_reason
    assert len(parsed.tool_calls) == len(stream.tool_calls)
    if parsed.output_text and stream.output_text:
        assert parsed.output_text == stream.output_text


def test_non_stream_special_bodies(shared_fixtures) -> None:
    g = shared_fixtures / "gemini"
    blocked = gemini.parse_response(json.loads((g / "synthesized/prompt_blocked.json").read_text()))
    assert blocked.finish_reason == "error" and blocked.error.reason == "content_filter"
    empty = gemini.parse_response(json.loads((g / "synthesized/empty_candidates.json").read_text()))
    assert empty.error.reason == "malformed_response"
    bad_call = gemini.parse_response(json.loads((g / "synthesized/malformed_function_call.json").read_text()))
    assert bad_call.finish_reason == "error"
    cache = gemini.parse_response(
        json.loads((g / "generate_content/recorded/prompt_cache_hit.json").read_text())
    )
    assert cache.finish_reason == "length" and cache.usage.cached_input_tokens > 0
    refusal = anthropic.parse_response(
        json.loads((shared_fixtures / "anthropic/synthesized/refusal.json").read_text())
    )
    assert refusal.finish_reason == "content_filter"
    tools = openai.parse_response(
        json.loads((shared_fixtures / "openai/responses/parallel_tool_calls.json").read_text())
    )
    assert tools.finish_reason == "tool_calls" and len(tools.tool_calls) == 2
