"""Structured output per provider over the local HTTP test server: request bodies and parsed results."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import allm
from allm._output import retry_message
from allm.providers import Anthropic, Gemini, OpenAI
from allm.providers._output_schema import anthropic_schema
from support.fault_server import FaultServer, Reply
from support.output_models import CITY, CITY_JSON, CITY_SCHEMA, City
from support.wire import anthropic_sse, gemini_sse, openai_chat_sse, responses_sse

pytestmark = pytest.mark.http

KEY = "sk-server-test-0123456789"
MODELS: dict[type, str] = {OpenAI: "gpt-4o-mini", Anthropic: "claude-x", Gemini: "gemini-2.5-flash"}
REQUEST = allm.request([allm.user("the capital of France?")], output_type=City)
# (adapter, adapter options, SSE body of an answer, where the format sits in the request body)
Provider = tuple[type, dict[str, Any], Callable[[list[str]], bytes], Callable[[dict[str, Any]], Any]]
PROVIDERS: dict[str, Provider] = {
    "openai-chat": (OpenAI, {}, openai_chat_sse, lambda body: body["response_format"]),
    "openai-responses": (OpenAI, {"endpoint": "responses"}, responses_sse, lambda body: body["text"]),
    "anthropic": (Anthropic, {}, anthropic_sse, lambda body: body["output_config"]),
    "gemini": (Gemini, {}, gemini_sse, lambda body: body["generationConfig"]),
}
EXPECTED_FORMAT = {
    "openai-chat": {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": CITY_SCHEMA, "strict": True},
    },
    "openai-responses": {
        "format": {"type": "json_schema", "name": "City", "schema": CITY_SCHEMA, "strict": True}
    },
    "anthropic": {"format": {"type": "json_schema", "schema": CITY_SCHEMA}},
    "gemini": {"responseMimeType": "application/json", "responseJsonSchema": CITY_SCHEMA},
}
# How each wire ends an answer that was refused or cut off.
ENDINGS: dict[str, dict[str, Callable[[list[str]], bytes]]] = {
    "refused": {
        "openai-chat": lambda parts: openai_chat_sse(parts, finish="content_filter"),
        "anthropic": lambda parts: anthropic_sse(parts, stop="refusal"),
        "gemini": lambda parts: gemini_sse(parts, finish="SAFETY"),
    },
    "truncated": {
        "openai-chat": lambda parts: openai_chat_sse(parts, finish="length"),
        "anthropic": lambda parts: anthropic_sse(parts, stop="max_tokens"),
        "gemini": lambda parts: gemini_sse(parts, finish="MAX_TOKENS"),
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


_counter = 0


def _scripted(server: FaultServer, provider: str, bodies: list[bytes]) -> tuple[allm.Engine, str]:
    """An engine for ``provider`` whose calls get the scripted ``bodies`` in turn, and the script's name."""
    global _counter
    _counter += 1
    name = f"output{_counter}"
    server.script(name, [Reply.sse(body, seed=i) for i, body in enumerate(bodies)])
    adapter, opts, _, _ = PROVIDERS[provider]
    suffix = "/v1" if adapter is OpenAI else ""
    engine = allm.Engine(
        adapter=adapter,
        model=MODELS[adapter],
        adapter_opts={"api_key": KEY, "base_url": server.url(name, suffix), **opts},
    )
    return engine, name


def _call(
    server: FaultServer, provider: str, bodies: list[bytes], request: allm.Request[Any] = REQUEST
) -> tuple[allm.Response[Any], dict[str, Any]]:
    """Run ``request`` against scripted ``bodies``; return the Response and the last request body sent."""
    engine, name = _scripted(server, provider, bodies)
    try:
        response = allm.generate(engine, request)
    finally:
        engine.close()
    return response, server.requests_for(name)[-1].json()


def _halves(text: str) -> list[str]:
    return [text[: len(text) // 2], text[len(text) // 2 :]]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_model_output_type_request_body(backend: Any, server: FaultServer, provider: str) -> None:
    _, body = _call(server, provider, [PROVIDERS[provider][2](_halves(CITY_JSON))])
    assert PROVIDERS[provider][3](body) == EXPECTED_FORMAT[provider]


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_model_output_type_parsed_result(backend: Any, server: FaultServer, provider: str) -> None:
    response, _ = _call(server, provider, [PROVIDERS[provider][2](_halves(CITY_JSON))])
    assert response.parsed == CITY


@pytest.mark.parametrize("provider", sorted(ENDINGS["refused"]))
def test_refusal_is_kept_as_a_parse_error(backend: Any, server: FaultServer, provider: str) -> None:
    response, _ = _call(server, provider, [ENDINGS["refused"][provider](["I cannot ", "help."])])
    assert response.parse_error is not None and response.parse_error.reason == "output_refused"
    assert response.output is not None and response.output.raw == "I cannot help."


@pytest.mark.parametrize("provider", sorted(ENDINGS["truncated"]))
def test_truncated_output_is_kept_as_a_parse_error(backend: Any, server: FaultServer, provider: str) -> None:
    response, _ = _call(server, provider, [ENDINGS["truncated"][provider](['{"name": "Par'])])
    assert response.parse_error is not None and response.parse_error.reason == "output_truncated"
    assert response.output is not None and response.output.raw == '{"name": "Par'


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_invalid_output_retry_round_trip(backend: Any, server: FaultServer, provider: str) -> None:
    wire = PROVIDERS[provider][2]
    first, _ = _call(server, provider, [wire(['{"name": "Paris", "kind": "village"}'])])
    assert first.parse_error is not None
    follow_up = retry_message(first.parse_error)
    assert follow_up is not None
    retry = allm.request([*REQUEST.messages, first.message, follow_up], output_type=City)
    second, body = _call(server, provider, [wire(_halves(CITY_JSON))], retry)
    assert second.parsed == CITY
    assert "kind: Input should be 'capital' or 'town'" in str(body)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_chat_retries_an_invalid_output(backend: Any, server: FaultServer, provider: str) -> None:
    wire = PROVIDERS[provider][2]
    invalid = wire(['{"name": "Paris", "kind": "village"}'])
    engine, name = _scripted(server, provider, [invalid, wire(_halves(CITY_JSON))])
    try:
        result = allm.chat(engine, REQUEST.messages, output_type=City)
    finally:
        engine.close()
    sent = [recorded.json() for recorded in server.requests_for(name)]
    assert result.parsed == CITY and result.metadata["output"] == {"retries": 1, "outcome": "parsed"}
    assert len(sent) == 2 and "kind: Input should be 'capital' or 'town'" in str(sent[1])


def test_anthropic_schema_moves_unsupported_constraints_to_the_description() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1, "description": "count"}},
    }
    assert anthropic_schema(schema)["properties"]["n"] == {
        "type": "integer",
        "description": "count {minimum: 1}",
    }
