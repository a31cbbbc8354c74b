"""Reasoning as a part of the assistant message (docs/internals.md §3, §4), on both backends.

Each wire's reasoning becomes ``ReasoningPart``s in ``response.message.content``, in
the order the provider sent them relative to the text, with the provider's opaque
tokens kept for the next turn. Also: the fold's finish normalization for messages
with tool calls, and reasoning parts through sessions' JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

import allm
from allm import ReasoningPart, TextPart
from allm.events import MessageCompleted, RawChunk, TextDelta, ToolCallCompleted, ToolCallStarted
from support.fault_server import rechunk

OWN = Path(__file__).parent / "fixtures"

ANTHROPIC_SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxg8hT0bTJMcm5vdGVzdCIwZmFrZSBzaWduYXR1cmUgZm9yIHRlc3Rz"
ANTHROPIC_REDACTED = (
    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj"
)
RESPONSES_ENCRYPTED = "gAAAAABoTestEncryptedReasoningBlobQ2hlY2tpbmcgdGhlIHdlYXRoZXI="
RESPONSES_SUMMARY = "**Checking the weather**\n\nThe user wants Oslo; call the tool."
GEMINI_SIGNATURES = ("CiQB0e2Kb3Rlc3Qtc2lnbmF0dXJlLW9uZQ==", "CiQB0e2Kb3Rlc3Qtc2lnbmF0dXJlLXR3bw==")


def decode_pieces(backend: ModuleType, wire: str, data: bytes, seed: int) -> allm.Response:
    """The Response of ``data`` fed in random pieces (seed 0 means whole)."""
    decoder = backend.StreamDecoder(wire)
    for piece in [data] if seed == 0 else rechunk(data, seed):
        decoder.feed(piece)
    decoder.close()
    return decoder.response()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_anthropic_thinking_and_redacted_blocks_become_parts_in_order(backend, seed) -> None:
    data = (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes()
    response = decode_pieces(backend, "anthropic", data, seed)
    assert response.message.content == (
        ReasoningPart(
            "The user asks for Oslo weather. I should call get_weather.",
            signature=ANTHROPIC_SIGNATURE,
            provider="anthropic",
        ),
        ReasoningPart(redacted=ANTHROPIC_REDACTED, provider="anthropic"),
        TextPart("Let me check."),
    )
    assert [(c.id, c.arguments) for c in response.tool_calls] == [("toolu_01Think", {"city": "Oslo"})]


def test_anthropic_reasoning_part_event_follows_its_deltas(backend) -> None:
    data = (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes()
    decoder = backend.StreamDecoder("anthropic", include_raw_chunks=True)
    events = decoder.feed(data) + decoder.close()
    kinds = [e.kind for e in events if e.type == "raw_chunk"]
    assert kinds == ["reasoning_delta", "reasoning_delta", "reasoning", "reasoning", "usage"]
    assert events.index(TextDelta("Let me check.")) > max(
        i for i, e in enumerate(events) if e.type == "raw_chunk" and e.kind == "reasoning"
    )


@pytest.mark.parametrize("seed", [0, 3])
def test_responses_reasoning_item_keeps_id_and_encrypted_content(backend, seed) -> None:
    data = (OWN / "openai-responses" / "reasoning_encrypted_tool.sse").read_bytes()
    response = decode_pieces(backend, "openai-responses", data, seed)
    assert response.message.content == (
        ReasoningPart(
            RESPONSES_SUMMARY,
            id="rs_68a1b2c3d4e5f6",
            encrypted_content=RESPONSES_ENCRYPTED,
            provider="openai",
        ),
    )
    assert (response.reasoning, response.output_text, response.finish_reason) == (
        RESPONSES_SUMMARY,
        "",
        "tool_calls",
    )


def test_responses_reasoning_item_without_deltas_takes_its_summary(backend) -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Short."}]}
    body = (
        b'data: {"type":"response.output_item.done","item":'
        + json.dumps(item).encode()
        + b'}\n\ndata: {"type":"response.completed","response":{"status":"completed"}}\n\n'
    )
    response = decode_pieces(backend, "openai-responses", body, 0)
    assert response.message.content == (ReasoningPart("Short.", id="rs_1", provider="openai"),)


@pytest.mark.parametrize("seed", [0, 4])
def test_gemini_thoughts_and_signatures_keep_their_place_in_the_text(backend, seed) -> None:
    data = (OWN / "gemini" / "thought_signature_text.sse").read_bytes()
    response = decode_pieces(backend, "gemini", data, seed)
    assert response.message.content == (
        ReasoningPart("**Weighing the question**\n\nA short answer will do.", provider="gemini"),
        ReasoningPart(signature=GEMINI_SIGNATURES[0], provider="gemini"),
        TextPart("Oslo is cold today."),
        ReasoningPart(signature=GEMINI_SIGNATURES[1], provider="gemini"),
    )
    assert response.output_text == "Oslo is cold today."


def test_gemini_function_call_signature_stays_on_the_call(backend) -> None:
    data = (OWN / "gemini" / "thought_text_call.sse").read_bytes()
    response = decode_pieces(backend, "gemini", data, 0)
    assert response.tool_calls[0].metadata == {"thought_signature": "sig-1"}
    assert response.message.content == (
        ReasoningPart("Need the weather.", provider="gemini"),
        TextPart("Let me check."),
    )


@pytest.mark.parametrize("seed", [0, 5])
def test_reasoning_content_of_compatible_servers_is_a_part(backend, seed) -> None:
    data = (OWN / "openai-chat" / "reasoning_content_tool.sse").read_bytes()
    response = decode_pieces(backend, "openai-chat", data, seed)
    assert response.message.content == (
        ReasoningPart("The user wants Oslo weather. Use the tool.", provider="openai"),
        TextPart("Checking."),
    )
    assert response.usage is not None and response.usage.reasoning_tokens == 12


def test_tool_calls_without_a_finish_reason_finish_tool_calls(backend) -> None:
    data = (OWN / "openai-chat" / "tool_calls_no_finish.sse").read_bytes()
    response = decode_pieces(backend, "openai-chat", data, 0)
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", None)
    assert [(c.id, c.arguments) for c in response.tool_calls] == [
        ("functions.get_weather:0", {"city": "Oslo"})
    ]
    assert response.reasoning == "Need the tool."


@pytest.mark.parametrize("raw", [None, "stop"])
def test_fold_normalizes_finish_to_tool_calls_when_calls_exist(backend, raw) -> None:
    fold = backend.Fold()
    fold.apply_many(
        [
            ToolCallStarted("c1", "f"),
            ToolCallCompleted("c1", "f", {}, "{}"),
            MessageCompleted(None if raw is None else "stop", raw),
        ]
    )
    response = fold.response()
    assert (response.finish_reason, response.raw_finish_reason) == ("tool_calls", raw)


def test_fold_keeps_other_finishes_with_tool_calls(backend) -> None:
    fold = backend.Fold()
    fold.apply_many([ToolCallStarted("c1", "f"), MessageCompleted("length", "max_tokens")])
    assert fold.response().finish_reason == "length"


def test_fold_places_reasoning_parts_between_text_pieces(backend) -> None:
    fold = backend.Fold()
    first, second = (
        ReasoningPart("a", provider="gemini"),
        ReasoningPart("b", signature="s", provider="gemini"),
    )
    fold.apply_many(
        [
            RawChunk("reasoning", first),
            TextDelta("Hé"),
            TextDelta("llo"),
            RawChunk("reasoning", second),
            TextDelta("!"),
        ]
    )
    assert fold.response().message.content == (first, TextPart("Héllo"), second, TextPart("!"))


def test_response_reasoning_is_empty_without_reasoning(backend) -> None:
    fold = backend.Fold()
    fold.apply(TextDelta("hi"))
    response = fold.response()
    assert (response.reasoning, response.message.content) == ("", "hi")


def test_thread_with_reasoning_parts_round_trips_through_json(backend) -> None:
    data = (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes()
    response = decode_pieces(backend, "anthropic", data, 0)
    thread = allm.Thread((allm.user("weather in Oslo?"), response.message))
    restored = allm.from_json(allm.to_json(thread))
    assert restored == thread
    assert isinstance(restored.messages[1].content[1], ReasoningPart)


def test_session_keeps_reasoning_parts_through_json(backend) -> None:
    data = (OWN / "openai-responses" / "reasoning_encrypted_tool.sse").read_bytes()
    response = decode_pieces(backend, "openai-responses", data, 0)
    session = allm.Session(thread=allm.Thread((allm.user("weather in Oslo?"), response.message)))
    restored = allm.from_json(allm.to_json(session))
    assert restored.thread.messages[1].content == response.message.content


def test_signature_mid_text_splits_the_text_where_it_came(backend) -> None:
    payloads = [
        {"candidates": [{"content": {"parts": [{"text": "Hé"}]}}]},
        {
            "candidates": [
                {"content": {"parts": [{"text": "llo", "thoughtSignature": "s"}]}, "finishReason": "STOP"}
            ]
        },
    ]
    data = b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)
    expected = (TextPart("Hé"), ReasoningPart(signature="s", provider="gemini"), TextPart("llo"))
    assert decode_pieces(backend, "gemini", data, 6).message.content == expected
    assert backend.collect("gemini", [data]).message.content == expected


def test_non_streaming_anthropic_body_gives_the_streamed_parts(backend) -> None:
    from allm.providers.anthropic import parse_response

    streamed = decode_pieces(
        backend, "anthropic", (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes(), 0
    )
    body = {
        "id": "msg_think_1",
        "content": [
            {
                "type": "thinking",
                "thinking": "The user asks for Oslo weather. I should call get_weather.",
                "signature": ANTHROPIC_SIGNATURE,
            },
            {"type": "redacted_thinking", "data": ANTHROPIC_REDACTED},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01Think", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
    }
    assert parse_response(body).message.content == streamed.message.content


def test_non_streaming_responses_body_gives_the_streamed_parts(backend) -> None:
    from allm.providers.openai import parse_response

    data = (OWN / "openai-responses" / "reasoning_encrypted_tool.sse").read_bytes()
    streamed = decode_pieces(backend, "openai-responses", data, 0)
    reasoning = {
        "type": "reasoning",
        "id": "rs_68a1b2c3d4e5f6",
        "encrypted_content": RESPONSES_ENCRYPTED,
        "summary": [{"type": "summary_text", "text": RESPONSES_SUMMARY}],
    }
    call = {"type": "function_call", "call_id": "call_WeatherOslo", "name": "get_weather", "arguments": "{}"}
    body = {"object": "response", "status": "completed", "output": [reasoning, call]}
    assert parse_response(body).message.content == streamed.message.content


def test_non_streaming_gemini_body_gives_the_streamed_parts(backend) -> None:
    from allm.providers.gemini import parse_response

    streamed = decode_pieces(
        backend, "gemini", (OWN / "gemini" / "thought_signature_text.sse").read_bytes(), 0
    )
    parts = [
        {"text": "**Weighing the question**\n\nA short answer will do.", "thought": True},
        {"text": "Oslo is cold today.", "thoughtSignature": GEMINI_SIGNATURES[0]},
        {"text": "", "thoughtSignature": GEMINI_SIGNATURES[1]},
    ]
    body = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}
    assert parse_response(body).message.content == streamed.message.content


def test_non_streaming_chat_body_gives_a_reasoning_part(backend) -> None:
    from allm.providers.openai import parse_response

    message = {"role": "assistant", "content": "Hi.", "reasoning_content": "Greet."}
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    assert parse_response(body).message.content == (
        ReasoningPart("Greet.", provider="openai"),
        TextPart("Hi."),
    )
