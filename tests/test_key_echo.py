"""A key the provider echoes inside the stream never reaches the user, whatever its shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

import allm
from allm.providers import Anthropic, Gemini, OpenAI
from support.fault_server import FaultServer, Reply

pytestmark = pytest.mark.http

# Matches none of the known key shapes, so only the call's own key can find it.
KEY = "plainkey-5f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f"
ECHO = f"Incorrect API key provided: {KEY}"


def _sse(payload: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(payload).encode() + b"\n\n"


CASES = {
    "openai-chat": (OpenAI, {"endpoint": "chat"}, "/v1", _sse({"error": {"message": ECHO, "code": "401"}})),
    "openai-responses": (
        OpenAI,
        {"endpoint": "responses"},
        "/v1",
        _sse({"type": "error", "message": ECHO, "code": "invalid_api_key"}),
    ),
    "anthropic": (
        Anthropic,
        {},
        "",
        _sse({"type": "error", "error": {"type": "authentication_error", "message": ECHO}}, "error"),
    ),
    "gemini": (Gemini, {}, "", _sse({"error": {"code": 400, "message": ECHO, "status": "INVALID_ARGUMENT"}})),
}


@pytest.mark.parametrize("wire", sorted(CASES))
def test_a_key_echoed_in_the_stream_is_redacted_everywhere(backend: object, wire: str) -> None:
    adapter, opts, suffix, body = CASES[wire]
    with FaultServer() as server:
        server.script("p", [Reply.sse(body), Reply.sse(body)])
        engine = allm.Engine(
            adapter=adapter,
            model="m",
            retry=False,
            adapter_opts={"api_key": KEY, "base_url": server.url("p", suffix), **opts},
        )
        response = allm.generate(engine, allm.request([allm.user("hi")]))
        with allm.stream_generate(engine, allm.request([allm.user("hi")])) as stream:
            events = list(stream)
        engine.close()
    error = response.error
    assert error is not None and "[redacted]" in error.message
    texts = [repr(response), str(error), repr(events), str(events[-1].error), allm.to_json(response)]
    assert [t for t in texts if KEY in t] == []
