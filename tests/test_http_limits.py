"""Stream size limits are adapter options, enforced on real provider streams."""

from __future__ import annotations

import json

import httpx
import pytest

import allm
from allm.errors import ValidationError
from allm.providers import Anthropic, OpenAI

REQ = allm.request([allm.user("hi")])


def chat_chunk(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()


def tool_chunk(arguments: str) -> bytes:
    call = json.dumps({"index": 0, "id": "c1", "function": {"name": "f", "arguments": arguments}})
    return b'data: {"choices":[{"index":0,"delta":{"tool_calls":[%s]}}]}\n\n' % call.encode()


def engine(body: bytes, **limits: object) -> allm.Engine:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = httpx.Client(transport=httpx.MockTransport(serve))
    return allm.Engine(
        adapter=OpenAI, model="m", adapter_opts={"api_key": "sk-x", "http_client": client, **limits}
    )


def test_a_line_over_max_line_bytes_ends_the_stream_with_partial_text_kept(backend) -> None:
    body = chat_chunk("kept") + chat_chunk("x" * 5000)
    response = allm.generate(engine(body, max_line_bytes=1024), REQ)
    assert (response.finish_reason, response.error.reason) == ("error", "limit_exceeded")
    assert response.output_text == "kept"


def test_an_event_over_max_event_bytes_is_refused(backend) -> None:
    body = chat_chunk("kept") + b"data: " + b"x" * 600 + b"\ndata: " + b"y" * 600 + b"\n\n"
    response = allm.generate(engine(body, max_event_bytes=1000), REQ)
    assert response.error.reason == "limit_exceeded" and response.output_text == "kept"


def test_tool_arguments_over_max_argument_bytes_are_refused(backend) -> None:
    body = b"".join(tool_chunk("a" * 100) for _ in range(20))
    response = allm.generate(engine(body, max_argument_bytes=1000), REQ)
    assert response.error.reason == "limit_exceeded"


def test_limits_default_to_generous_values(backend) -> None:
    body = (
        chat_chunk("x" * 200_000) + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    assert allm.generate(engine(body), REQ).output_text == "x" * 200_000


@pytest.mark.parametrize("value", [0, -1, "big", 1.5, True])
def test_a_bad_limit_value_is_rejected_when_the_engine_is_built(value: object) -> None:
    with pytest.raises(ValidationError):
        allm.Engine(adapter=Anthropic, model="m", adapter_opts={"max_line_bytes": value})


def test_none_disables_a_limit(backend) -> None:
    body = chat_chunk("y" * 5000) + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    response = allm.generate(engine(body, max_line_bytes=None), REQ)
    assert (response.finish_reason, len(response.output_text)) == ("stop", 5000)
