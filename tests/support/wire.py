"""Builders for provider wire bodies (server-sent events and JSON) used by the HTTP tests."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["anthropic_sse", "gemini_sse", "openai_chat_sse", "responses_sse", "sse"]


def sse(events: list[tuple[str | None, Any]]) -> bytes:
    """Serialize (event name or None, payload) pairs; a str payload is sent verbatim."""
    out = []
    for name, payload in events:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out.append((f"event: {name}\n" if name else "") + f"data: {data}\n\n")
    return "".join(out).encode()


def openai_chat_sse(
    parts: list[str],
    finish: str = "stop",
    usage: dict[str, int] | None = None,
    model: str = "gpt-4o-mini",
    rid: str = "chatcmpl-1",
) -> bytes:
    base = {"id": rid, "object": "chat.completion.chunk", "created": 1, "model": model}
    events: list[tuple[str | None, Any]] = [
        (
            None,
            {
                **base,
                "choices": [
                    {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            },
        )
    ]
    events += [
        (None, {**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]})
        for p in parts
    ]
    events.append((None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    if usage is not None:
        events.append((None, {**base, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return sse(events)


def responses_sse(parts: list[str], model: str = "gpt-5", rid: str = "resp_1") -> bytes:
    events: list[tuple[str | None, Any]] = [
        (
            "response.created",
            {"type": "response.created", "response": {"id": rid, "model": model, "status": "in_progress"}},
        )
    ]
    events += [
        ("response.output_text.delta", {"type": "response.output_text.delta", "delta": p}) for p in parts
    ]
    events.append(
        (
            "response.completed",
            {
                "type": "response.completed",
                "response": {
                    "id": rid,
                    "model": model,
                    "status": "completed",
                    "usage": {"input_tokens": 5, "output_tokens": len(parts), "total_tokens": 5 + len(parts)},
                },
            },
        )
    )
    return sse(events)


def anthropic_sse(
    parts: list[str], stop: str = "end_turn", model: str = "claude-x", rid: str = "msg_1", pings: int = 1
) -> bytes:
    events: list[tuple[str | None, Any]] = [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": rid,
                    "type": "message",
                    "role": "assistant",
                    "content": [],
                    "model": model,
                    "usage": {"input_tokens": 7, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    events += [("ping", {"type": "ping"})] * pings
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in parts
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": len(parts)}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return sse(events)


def anthropic_overloaded_first() -> bytes:
    return sse([("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})])


def gemini_sse(parts: list[str], finish: str = "STOP", model: str = "gemini-2.5-flash") -> bytes:
    events: list[tuple[str | None, Any]] = [
        (
            None,
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": p}]}, "index": 0}],
                "modelVersion": model,
                "responseId": "g1",
            },
        )
        for p in parts
    ]
    events.append(
        (
            None,
            {
                "candidates": [
                    {"content": {"role": "model", "parts": []}, "finishReason": finish, "index": 0}
                ],
                "usageMetadata": {
                    "promptTokenCount": 4,
                    "candidatesTokenCount": len(parts),
                    "totalTokenCount": 4 + len(parts),
                },
                "modelVersion": model,
                "responseId": "g1",
            },
        )
    )
    return sse(events)
