"""What allm sends back across turns, checked on the exact JSON body of turn 2.

Each test plays a real provider-shaped stream for turn 1 from a local HTTP server,
lets allm continue the conversation, and reads the request body turn 2 sent:
Anthropic thinking blocks with their signatures, Responses reasoning items (with
encrypted content when ``store`` is false), no reasoning to Chat Completions,
Gemini thought signatures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import allm
from allm.providers import Anthropic, Gemini, OpenAI
from support.fault_server import FaultServer, Reply
from support.wire import anthropic_sse, gemini_sse, openai_chat_sse, responses_sse
from test_reasoning import (
    ANTHROPIC_REDACTED,
    ANTHROPIC_SIGNATURE,
    GEMINI_SIGNATURES,
    RESPONSES_ENCRYPTED,
    RESPONSES_SUMMARY,
)

pytestmark = pytest.mark.http

OWN = Path(__file__).parent / "fixtures"
KEY = "sk-reasoning-test-0123456789"
WEATHER = allm.tool(
    "get_weather",
    "current weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    lambda args: "cold",
)
USER = [allm.user("weather in Oslo?")]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


_count = 0


def engine(
    server: FaultServer, adapter: type, model: str, first: bytes, then: bytes, **opts: Any
) -> tuple[allm.Engine, str]:
    """An engine whose server answers turn 1 with ``first`` and turn 2 with ``then``."""
    global _count
    _count += 1
    name = f"reasoning{_count}"
    server.script(name, [Reply.sse(first, seed=_count), Reply.sse(then)])
    suffix = "/v1" if adapter is OpenAI else ""
    built = allm.Engine(
        adapter=adapter,
        model=model,
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": server.url(name, suffix), **opts},
    )
    return built, name


def turn_two(server: FaultServer, name: str) -> dict[str, Any]:
    first, second = server.requests_for(name)
    assert first.json()  # turn 1 was sent too
    body: dict[str, Any] = second.json()
    return body


def test_anthropic_sends_thinking_blocks_back_before_tool_use(backend, server) -> None:
    first = (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes()
    eng, name = engine(server, Anthropic, "claude-sonnet-4-5", first, anthropic_sse(["Cold."]))
    result = allm.chat(eng, USER, tools=[WEATHER])
    assert result.final_response is not None and result.final_response.output_text == "Cold."
    assert turn_two(server, name)["messages"][1] == {
        "role": "assistant",
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
    }
    eng.close()


def test_responses_sends_reasoning_items_back(backend, server) -> None:
    first = (OWN / "openai-responses" / "reasoning_encrypted_tool.sse").read_bytes()
    eng, name = engine(server, OpenAI, "o4-mini", first, responses_sse(["Cold."]), endpoint="responses")
    allm.chat(eng, USER, tools=[WEATHER])
    body = turn_two(server, name)
    assert body["input"][1:3] == [
        {
            "type": "reasoning",
            "id": "rs_68a1b2c3d4e5f6",
            "summary": [{"type": "summary_text", "text": RESPONSES_SUMMARY}],
            "encrypted_content": RESPONSES_ENCRYPTED,
        },
        {
            "type": "function_call",
            "call_id": "call_WeatherOslo",
            "name": "get_weather",
            "arguments": '{"city":"Oslo"}',
        },
    ]
    assert "include" not in body
    eng.close()


def test_responses_without_store_asks_for_and_echoes_encrypted_reasoning(backend, server) -> None:
    first = (OWN / "openai-responses" / "reasoning_encrypted_tool.sse").read_bytes()
    eng, name = engine(server, OpenAI, "o4-mini", first, responses_sse(["Cold."]), endpoint="responses")
    options = {"store": False}
    response = allm.generate(eng, allm.request(USER, tools=[WEATHER], options=options))
    (call,) = response.tool_calls
    thread = [*USER, response.message, allm.tool_result(call.id, "cold")]
    allm.generate(eng, allm.request(thread, tools=[WEATHER], options=options))
    first_body = server.requests_for(name)[0].json()
    body = turn_two(server, name)
    assert (first_body["include"], first_body["store"]) == (["reasoning.encrypted_content"], False)
    assert (body["include"], body["store"]) == (["reasoning.encrypted_content"], False)
    assert body["input"][1]["encrypted_content"] == RESPONSES_ENCRYPTED
    eng.close()


def test_responses_include_option_keeps_its_items_and_gains_encrypted_reasoning(backend, server) -> None:
    eng, name = engine(
        server, OpenAI, "o4-mini", responses_sse(["a"]), responses_sse(["b"]), endpoint="responses"
    )
    options = {"store": False, "include": ["web_search_call.action.sources"]}
    allm.generate(eng, allm.request(USER, options=options))
    assert server.requests_for(name)[0].json()["include"] == [
        "web_search_call.action.sources",
        "reasoning.encrypted_content",
    ]
    eng.close()


def test_chat_completions_never_sends_reasoning_back(backend, server) -> None:
    first = (OWN / "openai-chat" / "reasoning_content_tool.sse").read_bytes()
    eng, name = engine(server, OpenAI, "deepseek-reasoner", first, openai_chat_sse(["Cold."]))
    result = allm.chat(eng, USER, tools=[WEATHER])
    assert result.thread.messages[1].reasoning == "The user wants Oslo weather. Use the tool."
    body = turn_two(server, name)
    assert body["messages"][1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_00_ds",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    assert "reasoning" not in json.dumps(body)
    eng.close()


def test_chat_runs_tool_calls_streamed_without_a_finish_reason(backend, server) -> None:
    first = (OWN / "openai-chat" / "tool_calls_no_finish.sse").read_bytes()
    eng, name = engine(server, OpenAI, "moonshotai/kimi-k2", first, openai_chat_sse(["Cold."]))
    result = allm.chat(eng, USER, tools=[WEATHER])
    assert (result.halted_reason, result.final_response.output_text) == ("completed", "Cold.")  # type: ignore[union-attr]
    assert turn_two(server, name)["messages"][2] == {
        "role": "tool",
        "tool_call_id": "functions.get_weather:0",
        "content": "cold",
    }
    eng.close()


def test_gemini_echoes_the_function_call_signature(backend, server) -> None:
    first = (OWN / "gemini" / "thought_text_call.sse").read_bytes()
    weather = allm.tool("weather", "", {"type": "object"}, lambda args: "cold")
    eng, name = engine(server, Gemini, "gemini-2.5-flash", first, gemini_sse(["Cold."]))
    allm.chat(eng, USER, tools=[weather])
    assert turn_two(server, name)["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Let me check."},
            {
                "functionCall": {
                    "name": "weather",
                    "args": {"city": "Paris", "days": 2, "ratio": 0.5, "tags": ["é", "x"]},
                },
                "thoughtSignature": "sig-1",
            },
        ],
    }
    eng.close()


def test_gemini_echoes_text_signatures_where_they_were(backend, server) -> None:
    first = (OWN / "gemini" / "thought_signature_text.sse").read_bytes()
    eng, name = engine(server, Gemini, "gemini-2.5-flash", first, gemini_sse(["Warmer."]))
    response = allm.generate(eng, allm.request(USER))
    allm.generate(eng, allm.request([*USER, response.message, allm.user("and tomorrow?")]))
    assert turn_two(server, name)["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Oslo is cold today.", "thoughtSignature": GEMINI_SIGNATURES[0]},
            {"text": "", "thoughtSignature": GEMINI_SIGNATURES[1]},
        ],
    }
    eng.close()


def test_reasoning_of_another_provider_is_not_sent(backend, server) -> None:
    first = (OWN / "anthropic" / "thinking_signature_redacted_tool.sse").read_bytes()
    eng, _ = engine(server, Anthropic, "claude-sonnet-4-5", first, gemini_sse(["ok"]))
    response = allm.generate(eng, allm.request(USER))
    eng.close()
    gem, gname = engine(server, Gemini, "gemini-2.5-flash", gemini_sse(["ok"]), gemini_sse(["ok"]))
    allm.generate(gem, allm.request([*USER, response.message, allm.user("more?")]))
    sent = server.requests_for(gname)[0].json()
    call = {"name": "get_weather", "args": {"city": "Oslo"}, "id": "toolu_01Think"}
    assert sent["contents"][1] == {
        "role": "model",
        "parts": [{"text": "Let me check."}, {"functionCall": call}],
    }
    gem.close()
