"""Every stream of ``../shared/fixtures/public-recordings`` against the official SDKs' results.

Each recorded body is decoded on both backends, fed whole, line by line and in
seeded random pieces; the Response must give the recorded text, tool calls
(name and parsed arguments), usage and normalized finish reason (``index.json``
``expected``). Reasoning is checked where the stream carries it: against
``expected["reasoning"]`` where the SDK computed it, and for Chat Completions
(whose SDK ignores it) against the ``delta.reasoning_content`` /
``delta.reasoning`` text and thinking parts of choice 0. The reasoning is the
text of the Response's ``ReasoningPart``s (``response.reasoning``), also when
the stream ends in an error.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import SHARED_FIXTURES

RECORDINGS = "public-recordings"
INDEX = SHARED_FIXTURES / RECORDINGS / "index.json"
ENTRIES: list[dict[str, Any]] = json.loads(INDEX.read_text()) if INDEX.is_file() else []
FEEDS = ("whole", "lines", "pieces")


def _pieces(body: bytes, feed: str, seed: str) -> Iterator[bytes]:
    if feed == "whole":
        yield body
    elif feed == "lines":
        yield from body.splitlines(keepends=True)
    else:
        rng = random.Random(seed)
        at = 0
        while at < len(body):
            size = rng.randint(1, 64)
            yield body[at : at + size]
            at += size


def _thinking_parts(content: Any) -> list[str]:
    parts = content if isinstance(content, list) else []
    thinking = [p["thinking"] for p in parts if p.get("type") == "thinking"]
    return [t if isinstance(t, str) else "".join(x["text"] for x in t) for t in thinking]


def _chat_reasoning(body: bytes) -> str:
    """The reasoning text of choice 0 in a Chat Completions body."""
    pieces: list[str] = []
    for line in body.decode().splitlines():
        if not line.startswith("data:") or line[5:].strip() == "[DONE]":
            continue
        choices = json.loads(line[5:]).get("choices") or []
        choice = next((c for c in choices if c.get("index", 0) == 0), None)
        delta = (choice or {}).get("delta") or {}
        pieces.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
        pieces.extend(_thinking_parts(delta.get("content")))
    return "".join(pieces)


def _usage(usage: Any) -> dict[str, Any] | None:
    if usage is None:
        return None
    fields = {k: getattr(usage, k) for k in ("input_tokens", "output_tokens", "total_tokens")}
    fields |= {
        k: getattr(usage, k) for k in ("cached_input_tokens", "cache_write_input_tokens", "reasoning_tokens")
    }
    fields |= {f"extra.{k}": v for k, v in usage.extra.items()}
    return fields


def _observed(backend: ModuleType, wire: str, body: bytes, feed: str, seed: str) -> dict[str, Any]:
    decoder = backend.StreamDecoder(wire)
    for piece in _pieces(body, feed, seed):
        decoder.feed(piece)
    decoder.close()
    response = decoder.response()
    return {
        "text": response.output_text,
        "tool_calls": [(c.name, c.arguments) for c in response.tool_calls],
        "usage": _usage(response.usage),
        "finish": response.finish_reason,
        "reasoning": response.reasoning or None,
    }


def _wanted(entry: dict[str, Any], body: bytes, usage: dict[str, Any] | None) -> dict[str, Any]:
    expected = entry["expected"]
    reasoning = expected.get("reasoning")
    if entry["wire"] == "openai-chat":
        reasoning = _chat_reasoning(body) or None
    wanted_usage = expected["usage"]
    if wanted_usage is not None and usage is not None:
        wanted_usage = usage | wanted_usage  # fields the SDK does not report are not compared
    return {
        "text": expected["text"],
        "tool_calls": [(c["name"], c["arguments"]) for c in expected["tool_calls"]],
        "usage": wanted_usage,
        "finish": expected["finish"],
        "reasoning": reasoning,
    }


@pytest.mark.parametrize("feed", FEEDS)
@pytest.mark.parametrize("name", [e["name"] for e in ENTRIES] or ["absent"])
def test_recorded_stream_gives_the_sdk_result(
    backend: ModuleType, shared_fixtures: Path, name: str, feed: str
) -> None:
    entry = next((e for e in ENTRIES if e["name"] == name), None)
    if entry is None:
        pytest.skip(f"{RECORDINGS} is not present")
    body = (shared_fixtures / RECORDINGS / entry["file"]).read_bytes()
    observed = _observed(backend, entry["wire"], body, feed, name)
    assert observed == _wanted(entry, body, observed["usage"])
