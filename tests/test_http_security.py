"""Keys, base URLs, options and the retry policy: the rules of issue 4 item 6, plus units."""

from __future__ import annotations

import copy
import logging
import pickle
import random
from typing import Any

import httpx
import pytest

import allm
from allm._retry import RetryPolicy, parse_retry_after, status_is_retryable
from allm.errors import EngineError, ValidationError
from allm.providers import Anthropic, Gemini, OpenAI, Secret
from allm.providers._errors import from_exception, from_status
from allm.providers._redact import redact
from support.fault_server import FaultServer, Reply
from support.wire import anthropic_sse, gemini_sse, openai_chat_sse

pytestmark = pytest.mark.http

CANARY = "sk-CANARY-d41d8cd98f00b204e9800998ecf8427e"
REQ = allm.request([allm.user("hi")])


def test_secret_never_shows_and_refuses_pickling() -> None:
    s = Secret(CANARY)
    assert CANARY not in repr(s) and CANARY not in str(s) and CANARY not in f"{s}"
    assert s.reveal() == CANARY
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        copy.deepcopy(s)
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("adapter", "env"),
    [(OpenAI, "OPENAI_API_KEY"), (Anthropic, "ANTHROPIC_API_KEY"), (Gemini, "GEMINI_API_KEY")],
)
def test_missing_key_raises_at_call_time(backend, monkeypatch, adapter, env) -> None:
    monkeypatch.delenv(env, raising=False)
    engine = allm.Engine(adapter=adapter, model="m")  # building the engine is fine
    with pytest.raises(EngineError) as info:
        allm.stream_generate(engine, REQ)
    assert info.value.reason == "missing_key" and env in info.value.message


def test_env_key_goes_only_to_the_default_host(backend, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=openai_chat_sse(["hi"])
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    engine = allm.Engine(adapter=OpenAI, model="gpt-4o", adapter_opts={"http_client": client})
    assert allm.generate(engine, REQ).output_text == "hi"
    assert seen[-1].url.host == "api.openai.com"
    # another host never receives the environment key
    other = allm.Engine(adapter=OpenAI, model="m", adapter_opts={"base_url": "https://proxy.example.com/v1"})
    with pytest.raises(EngineError) as info:
        allm.stream_generate(other, REQ)
    assert info.value.reason == "missing_key"
    # a loopback server without an explicit key gets no credential at all
    local = allm.Engine(
        adapter=OpenAI, model="m", adapter_opts={"base_url": "http://127.0.0.1:9/v1", "http_client": client}
    )
    allm.generate(local, REQ)
    assert "authorization" not in seen[-1].headers


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/v1", True),
        ("http://localhost:8000/v1", True),
        ("http://127.0.0.5:8000/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://example.com/v1", False),
        ("https://user:pw@example.com/v1", False),
        ("https://example.com/v1?key=abc", False),
        ("https://example.com/v1#frag", False),
        ("ftp://example.com", False),
        ("not a url", False),
    ],
)
def test_base_url_rules(url, ok) -> None:
    if ok:
        assert OpenAI(api_key="k", base_url=url).base_url == url.rstrip("/")
    else:
        with pytest.raises(ValidationError) as info:
            OpenAI(api_key="k", base_url=url)
        assert info.value.reason == "invalid_options"


def test_options_are_checked() -> None:
    for bad in (
        {"nope": 1},
        {"timeout": -1},
        {"idle_timeout": "x"},
        {"http_client": object()},
        {"max_retries": -1},
        {"api_key": 5},
    ):
        with pytest.raises(ValidationError):
            Anthropic(**bad)
    with pytest.raises(ValidationError):
        OpenAI(endpoint="completions")
    with pytest.raises(ValidationError):
        allm.Engine(adapter=Gemini, adapter_opts={"endpoint": "chat"})
    with pytest.raises(ValidationError):
        OpenAI(retry={"max_retries": 1, "bogus": 2})
    timeout = OpenAI(timeout=httpx.Timeout(30.0, connect=2.0), idle_timeout=10).request_timeout()
    assert (timeout.connect, timeout.read) == (2.0, 10.0)
    default = OpenAI().request_timeout()
    assert (default.connect, default.read) == (5.0, 60.0)


def test_endpoint_choice() -> None:
    a = OpenAI(api_key="k")
    assert a.endpoint_for("gpt-5-mini") == "responses" and a.endpoint_for("o3") == "responses"
    assert a.endpoint_for("gpt-4.1") == "chat"
    assert OpenAI(api_key="k", endpoint="chat").endpoint_for("gpt-5") == "chat"
    assert OpenAI(api_key="", base_url="http://localhost:1/v1").endpoint_for("gpt-5") == "chat"


def test_retry_policy_and_retry_after_table() -> None:
    assert RetryPolicy.from_option("default") == RetryPolicy(2, 0.5, 8.0, 0.75, 60.0)
    assert RetryPolicy.from_option(False).max_retries == 0
    assert RetryPolicy.from_option("default", max_retries=5).max_retries == 5
    p = RetryPolicy()
    for n, base in [(1, 0.5), (2, 1.0), (3, 2.0), (6, 8.0), (10, 8.0)]:
        for _ in range(50):
            assert 0.75 * base <= p.backoff(n) <= base
    now = 1_700_000_000.0
    table: list[tuple[dict[str, str], float | None]] = [
        ({"retry-after": "1"}, 1.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after": "-10"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "1" * 35}, None),
        ({"retry-after": ""}, None),
        ({}, None),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, 20.0),
        ({"retry-after": "Fri, 31 Dec 100000 00:00:00 GMT"}, None),
        ({"retry-after": "Blursday"}, None),
    ]
    for headers, expected in table:
        got = parse_retry_after(headers, now=now)
        assert got == (None if expected is None else pytest.approx(expected)), headers
    assert status_is_retryable(429, {}) and status_is_retryable(529, {}) and status_is_retryable(408, {})
    assert not status_is_retryable(400, {}) and status_is_retryable(400, {"x-should-retry": "true"})
    assert not status_is_retryable(503, {"x-should-retry": "false"})


def test_backoff_is_jittered_across_the_whole_configured_range() -> None:
    rng = random.Random(7)
    delays = [RetryPolicy(base_delay=1.0, jitter=0.5).backoff(1, rng) for _ in range(400)]
    assert all(0.5 <= d <= 1.0 for d in delays)
    assert min(delays) < 0.55 and max(delays) > 0.95  # the spread covers [jitter * base, base]
    assert len(set(delays)) > 300


def test_a_jitter_of_one_gives_the_exact_exponential_delay() -> None:
    rng = random.Random(7)
    assert {RetryPolicy(base_delay=1.0, jitter=1.0).backoff(3, rng) for _ in range(20)} == {4.0}


def test_redaction_and_classification_units() -> None:
    assert CANARY not in redact(f"Incorrect API key provided: {CANARY}")
    assert "AIzaSyA" not in redact("bad key AIzaSyA1234567890abcdefghij")
    assert "secret" not in redact("GET /x?key=secret&b=1")
    err = from_status(
        "openai",
        401,
        {"x-request-id": "r1"},
        b'{"error":{"message":"Incorrect API key provided: ' + CANARY.encode() + b'","type":"x"}}',
    )
    assert err.reason == "authentication_failed" and CANARY not in err.message and err.request_id == "r1"
    html = from_status("anthropic", 502, {}, b"<html>bad gateway</html>")
    assert html.reason == "provider_unavailable" and html.status == 502
    exc = httpx.ConnectError(f"failed for https://x/?key={CANARY}")
    mapped = from_exception("gemini", exc, phase="connect", secret=CANARY)
    assert mapped.reason == "network_error" and CANARY not in str(mapped) and mapped.cause is None
    assert from_exception("gemini", httpx.ReadTimeout("t"), phase="stream").reason == "timeout"


def test_request_translation() -> None:
    tool = allm.tool(
        "weather", "Weather by city", {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    call = allm.ToolCall(
        id="call_1", name="weather", arguments={"city": "Oslo"}, raw_arguments='{"city":"Oslo"}'
    )
    msgs = [
        allm.system("sys"),
        allm.user(
            [
                "look",
                allm.image("https://img/x.png", detail="low"),
                allm.image(data="QUJD", media_type="image/jpeg"),
            ]
        ),
        allm.Message(role="assistant", content="", tool_calls=(call,)),
        allm.tool_result("call_1", '{"temp": 3}'),
    ]
    req = allm.request(
        msgs,
        model="m",
        tools=[tool],
        tool_choice="weather",
        temperature=0.2,
        max_tokens=50,
        response_format=allm.json_schema("out", {"type": "object"}),
        options={"seed": 7},
    )
    from allm.providers import anthropic, gemini, openai

    chat = openai.chat_body(req)
    assert chat["messages"][0] == {"role": "system", "content": "sys"}
    assert chat["messages"][1]["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://img/x.png", "detail": "low"},
    }
    assert chat["messages"][1]["content"][2]["image_url"]["url"] == "data:image/jpeg;base64,QUJD"
    assert chat["messages"][2]["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": '{"city":"Oslo"}',
    }
    assert chat["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 3}'}
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert chat["response_format"]["json_schema"]["name"] == "out"
    assert chat["max_completion_tokens"] == 50 and openai.chat_body(req, compatible=True)["max_tokens"] == 50
    resp = openai.responses_body(req)
    assert resp["max_output_tokens"] == 50 and resp["text"]["format"]["type"] == "json_schema"
    assert {"type": "function_call_output", "call_id": "call_1", "output": '{"temp": 3}'} in resp["input"]
    assert resp["tools"][0]["name"] == "weather" and resp["tool_choice"] == {
        "type": "function",
        "name": "weather",
    }
    ant = anthropic.messages_body(req)
    assert ant["system"] == "sys" and ant["max_tokens"] == 50
    assert ant["tool_choice"] == {"type": "tool", "name": "weather"}
    assert ant["tools"][0]["input_schema"]["properties"]["city"]
    assert ant["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert ant["messages"][1]["content"][0] == {
        "type": "tool_use",
        "id": "call_1",
        "name": "weather",
        "input": {"city": "Oslo"},
    }
    assert ant["messages"][2]["content"][0]["type"] == "tool_result"
    assert ant["messages"][0]["content"][2]["source"] == {
        "type": "base64",
        "media_type": "image/jpeg",
        "data": "QUJD",
    }
    gem = gemini.generate_body(req)
    assert gem["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert gem["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
        "temperature": 0.2,
        "maxOutputTokens": 50,
    }
    assert gem["contents"][2]["parts"][0]["functionResponse"] == {"name": "weather", "response": {"temp": 3}}
    assert gem["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["weather"]
    with pytest.raises(EngineError):
        anthropic.messages_body(allm.request([allm.user("x")], response_format={"type": "json_object"}))


def test_options_are_merged_last(backend) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=openai_chat_sse(["x"])
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    engine = allm.Engine(adapter=OpenAI, model="m", adapter_opts={"api_key": "k", "http_client": client})
    allm.generate(
        engine,
        allm.request([allm.user("x")], options={"stream_options": {"include_usage": False}, "seed": 3}),
    )
    import json

    body = json.loads(seen[-1].content)
    assert body["stream_options"] == {"include_usage": False} and body["seed"] == 3


def test_canary_key_never_leaks(backend, caplog) -> None:
    """The key is searched for in reprs, errors, logs, telemetry and to_json output."""
    caplog.set_level(logging.DEBUG)
    payloads: list[Any] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        payloads.append((name, payload))

    allm.telemetry.add_handler(handler)
    texts: list[str] = []
    try:
        with FaultServer() as server:
            echo = {
                "error": {"message": f"Incorrect API key provided: {CANARY}", "type": "invalid_request_error"}
            }
            server.script("o", [Reply.json(500, echo), Reply.json(401, echo)])
            server.script("a", [Reply.sse(anthropic_sse(["fine"]))])
            server.script("g", [Reply(chunks=[gemini_sse(["part"])[:60]], drop_after=1)])
            server.script(
                "r", [Reply(status=307, headers={"location": "http://evil.example/steal"}, chunks=[b""])]
            )
            engines = [
                allm.Engine(
                    adapter=OpenAI,
                    model="m",
                    retry={"base_delay": 0.001},
                    adapter_opts={"api_key": CANARY, "base_url": server.url("o", "/v1")},
                ),
                allm.Engine(
                    adapter=Anthropic,
                    model="m",
                    adapter_opts={"api_key": CANARY, "base_url": server.url("a")},
                ),
                allm.Engine(
                    adapter=Gemini, model="m", adapter_opts={"api_key": CANARY, "base_url": server.url("g")}
                ),
                allm.Engine(
                    adapter=OpenAI,
                    model="m",
                    adapter_opts={"api_key": CANARY, "base_url": server.url("r", "/v1")},
                ),
            ]
            for engine in engines:
                texts += [repr(engine), str(engine), repr(engine.instance), repr(vars(engine.instance))]
                response = allm.generate(engine, REQ)
                with allm.stream_generate(engine, REQ) as stream:
                    events = list(stream)
                texts += [
                    repr(response),
                    repr(events),
                    repr(stream._batches._source),
                    repr(vars(stream._batches._source._state)),
                ]
                if response.error is not None:
                    err = response.error
                    texts += [str(err), repr(err), repr(err.metadata), repr(err.cause), repr(err.__context__)]
                try:
                    texts.append(allm.to_json(response))
                except Exception as exc:
                    texts.append(repr(exc))
                engine.close()
            assert server.requests_for("o")[0].headers["authorization"] == f"Bearer {CANARY}"  # it was sent
    finally:
        allm.telemetry.remove_handler(handler)
    texts += [r.getMessage() for r in caplog.records] + [repr(r.__dict__) for r in caplog.records]
    texts.append(repr(payloads))
    assert any(n == "allm.adapter.retry" for n, _ in payloads)
    leaks = [t for t in texts if CANARY in t]
    assert leaks == []
