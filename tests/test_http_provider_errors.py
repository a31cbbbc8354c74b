"""Provider errors over HTTP, against the local fault server, on both backends.

Gemini's invalid-key answer, an error body sent as an event stream with a 5xx
status, and an HTML page served as ``text/event-stream``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import allm
from allm.providers import Gemini, OpenAI
from support.fault_server import FaultServer, Reply

pytestmark = pytest.mark.http

KEY = "sk-errors-test-0123456789"
HTTP = Path(__file__).parent / "fixtures" / "http"
REQ = allm.request([allm.user("hi")])


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def answer(server: FaultServer, name: str, adapter: type, reply: Reply) -> allm.Response:
    """The Response to one call whose only reply is ``reply`` (no retries)."""
    server.script(name, [reply])
    suffix = "/v1" if adapter is OpenAI else ""
    engine = allm.Engine(
        adapter=adapter,
        model="m",
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": server.url(name, suffix)},
    )
    try:
        return allm.generate(engine, REQ)
    finally:
        engine.close()


def test_gemini_api_key_invalid_over_http_is_authentication_failed(backend, server) -> None:
    body = (HTTP / "gemini" / "api_key_invalid.json").read_bytes()
    response = answer(server, f"gemini-key-{backend.BUILD_PROFILE}", Gemini, Reply.json(400, body))
    error = response.error
    assert (error.reason, error.status) == ("authentication_failed", 400)
    assert error.message == "API key not valid. Please pass a valid API key."


def test_error_body_sent_as_an_event_stream_with_a_5xx_status_gives_its_message(backend, server) -> None:
    body = (HTTP / "openai" / "error_as_sse_5xx.body").read_bytes()
    reply = Reply(status=503, chunks=[body])
    response = answer(server, f"sse-5xx-{backend.BUILD_PROFILE}", OpenAI, reply)
    error = response.error
    assert (error.reason, error.status, error.message) == (
        "provider_unavailable",
        503,
        "Error processing stream start",
    )


def test_html_page_served_as_an_event_stream_is_malformed_response(backend, server) -> None:
    page = (HTTP / "html_as_event_stream.html").read_bytes()
    response = answer(server, f"html-{backend.BUILD_PROFILE}", OpenAI, Reply(chunks=[page]))
    assert (response.error.reason, response.finish_reason) == ("malformed_response", "error")
