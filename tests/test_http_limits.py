"""Stream size limits are adapter options, enforced on real provider streams."""

from __future__ import annotations

import json

import httpx
import pytest

import allm
from allm.errors import ValidationError
from allm.providers import Anthropic, OpenAI

pytestmark = pytest.mark.http

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
    # 3 MiB in one line and one event: a default of a few MiB would refuse it.
    text = "x" * (3 * 1024 * 1024)
    body = chat_chunk(text) + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    response = allm.generate(engine(body), REQ)
    assert (response.finish_reason, response.output_text == text) == ("stop", True)


def test_a_response_over_max_response_bytes_ends_with_partial_text_kept(backend) -> None:
    body = chat_chunk("kept") + b"".join(chat_chunk("more") for _ in range(100))
    response = allm.generate(engine(body, max_response_bytes=len(chat_chunk("kept")) + 10), REQ)
    assert (response.finish_reason, response.error.reason) == ("error", "limit_exceeded")
    assert response.error.message.startswith("response exceeds max_response_bytes")
    assert response.output_text == "kept"


@pytest.mark.parametrize("name", ["max_line_bytes", "max_response_bytes"])
@pytest.mark.parametrize("value", [0, -1, "big", 1.5, True, 2**64])
def test_a_bad_limit_value_is_rejected_when_the_engine_is_built(backend, name: str, value: object) -> None:
    with pytest.raises(ValidationError) as info:
        allm.Engine(adapter=Anthropic, model="m", adapter_opts={name: value})
    assert info.value.reason == "invalid_options"


def test_none_disables_a_limit(backend) -> None:
    body = chat_chunk("y" * 5000) + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    response = allm.generate(engine(body, max_line_bytes=None), REQ)
    assert (response.finish_reason, len(response.output_text)) == ("stop", 5000)
