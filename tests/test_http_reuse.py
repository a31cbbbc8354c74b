"""Connections go back to the pool, one retry rule holds on every path, nothing is sent early.

Each test runs against its own FaultServer (a real HTTP/1.1 server on
127.0.0.1), so its count of accepted connections belongs to that test alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import allm
from allm.providers import Anthropic, OpenAI
from support.fault_server import FaultServer, Reply
from support.pools import pool_busy
from support.wire import anthropic_sse, openai_chat_sse, sse

pytestmark = pytest.mark.http

KEY = "sk-reuse-test-0123456789"
FAST = {"base_delay": 0.001, "max_delay": 0.005}
REQ = allm.request([allm.user("hi")])
CALLS = 20


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def engine_for(adapter: type, server: FaultServer, name: str) -> allm.Engine:
    suffix = "/v1" if adapter is OpenAI else ""
    return allm.Engine(
        adapter=adapter,
        model="m",
        retry=FAST,
        adapter_opts={"api_key": KEY, "base_url": server.url(name, suffix)},
    )


def text_of(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "text_delta")


@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_sequential_calls_reuse_one_connection(backend, server, mode) -> None:
    server.script("s", [Reply.sse(openai_chat_sse(["re", "used"]))])
    engine = engine_for(OpenAI, server, "s")
    for _ in range(CALLS):
        if mode == "generate":
            assert allm.generate(engine, REQ).output_text == "reused"
        else:
            assert text_of(list(allm.stream_generate(engine, REQ))) == "reused"
    assert len(server.requests_for("s")) == CALLS
    assert server.total_connections == 1
    engine.close()


@pytest.mark.parametrize("mode", ["generate", "stream"])
async def test_sequential_async_calls_reuse_one_connection(backend, server, mode) -> None:
    server.script("s", [Reply.sse(anthropic_sse(["re", "used"]))])
    engine = engine_for(Anthropic, server, "s")
    for _ in range(CALLS):
        if mode == "generate":
            assert (await allm.agenerate(engine, REQ)).output_text == "reused"
        else:
            assert text_of([e async for e in allm.astream_generate(engine, REQ)]) == "reused"
    assert len(server.requests_for("s")) == CALLS
    assert server.total_connections == 1
    await engine.aclose()


def test_a_retried_error_status_keeps_the_connection(backend, server) -> None:
    busy = Reply.json(429, {"error": {"message": "later", "type": "rate_limit_error"}})
    server.script("s", [busy, Reply.sse(openai_chat_sse(["ok"]))])
    engine = engine_for(OpenAI, server, "s")
    assert allm.generate(engine, REQ).output_text == "ok"
    assert len(server.requests_for("s")) == 2 and server.total_connections == 1
    engine.close()


def test_a_stream_closed_early_gives_its_connection_up(backend, server) -> None:
    server.script("s", [Reply.sse(openai_chat_sse([f"w{i} " for i in range(100)]), delay=0.001)])
    engine = engine_for(OpenAI, server, "s")
    with allm.stream_generate(engine, REQ) as stream:
        next(iter(stream))
    assert pool_busy(engine) == 0
    assert allm.generate(engine, REQ).finish_reason == "stop"
    engine.close()
    assert server.wait_closed() == 0


# -- one retry rule: nothing the user can see yet -------------------------------------

USAGE_THEN_OVERLOADED = sse(
    [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "model": "claude-x",
                    "usage": {"input_tokens": 9, "output_tokens": 1},
                },
            },
        ),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
)


def usage_then_overloaded(server: FaultServer) -> allm.Engine:
    server.script("s", [Reply.sse(USAGE_THEN_OVERLOADED), Reply.sse(anthropic_sse(["second"]))])
    return engine_for(Anthropic, server, "s")


def test_generate_retries_an_overload_after_only_message_start_and_usage(backend, server) -> None:
    response = allm.generate(usage_then_overloaded(server), REQ)
    assert (response.output_text, response.error) == ("second", None)
    assert len(server.requests_for("s")) == 2


def test_stream_generate_retries_an_overload_after_only_message_start_and_usage(backend, server) -> None:
    events = list(allm.stream_generate(usage_then_overloaded(server), REQ))
    assert text_of(events) == "second" and events[-1].type == "message_completed"
    assert [e.type for e in events].count("message_started") == 1  # the failed attempt leaked nothing
    assert len(server.requests_for("s")) == 2


async def test_agenerate_retries_an_overload_after_only_message_start_and_usage(backend, server) -> None:
    response = await allm.agenerate(usage_then_overloaded(server), REQ)
    assert (response.output_text, response.error) == ("second", None)
    assert len(server.requests_for("s")) == 2


async def test_astream_generate_retries_an_overload_after_only_message_start_and_usage(
    backend, server
) -> None:
    events = [e async for e in allm.astream_generate(usage_then_overloaded(server), REQ)]
    assert text_of(events) == "second" and events[-1].type == "message_completed"
    assert [e.type for e in events].count("message_started") == 1
    assert len(server.requests_for("s")) == 2


@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_an_overload_after_visible_text_is_never_retried(backend, server, mode) -> None:
    body = anthropic_sse(["seen"]).split(b"event: content_block_stop")[0] + sse(
        [("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    )
    server.script("s", [Reply.sse(body), Reply.sse(anthropic_sse(["second"]))])
    engine = engine_for(Anthropic, server, "s")
    if mode == "generate":
        response = allm.generate(engine, REQ)
    else:
        stream = allm.stream_generate(engine, REQ)
        assert list(stream)[-1].type == "error"
        response = stream.get_final_response()
    assert (response.output_text, response.error.reason) == ("seen", "provider_unavailable")
    assert len(server.requests_for("s")) == 1


# -- nothing is sent before the first pull ----------------------------------------------


def test_nothing_is_sent_until_the_first_event_is_pulled(backend, server) -> None:
    server.script("s", [Reply.sse(openai_chat_sse(["late"]))])
    engine = engine_for(OpenAI, server, "s")
    stream = allm.stream_generate(engine, REQ)
    assert server.requests_for("s") == [] and server.total_connections == 0
    next(iter(stream))
    assert len(server.requests_for("s")) == 1
    stream.close()
    engine.close()


async def test_async_faults_leave_no_connection_checked_out_before_aclose(backend, server) -> None:
    server.script("busy", [Reply.json(429, {"error": {"message": "later"}}, {"retry-after-ms": "5"})])
    server.script(
        "ok", [Reply.json(429, {"error": {"message": "later"}}), Reply.sse(anthropic_sse(["fine"]))]
    )
    body = anthropic_sse(["partial"])
    server.script("stall", [Reply(chunks=[body[: body.index(b"content_block_stop")]], stall=6.0)])
    server.script("drop", [Reply(chunks=[body[:80], body[80:]], drop_after=1)])
    engines = {
        "busy": engine_for(Anthropic, server, "busy"),
        "ok": engine_for(Anthropic, server, "ok"),
        "stall": allm.Engine(
            adapter=Anthropic,
            model="m",
            retry=False,
            adapter_opts={"api_key": KEY, "base_url": server.url("stall"), "idle_timeout": 0.3},
        ),
        "drop": engine_for(Anthropic, server, "drop"),
    }
    reasons = {name: (await allm.agenerate(engine, REQ)).finish_reason for name, engine in engines.items()}
    assert reasons == {"busy": "error", "ok": "stop", "stall": "error", "drop": "error"}
    for engine in engines.values():
        assert pool_busy(engine, asynchronous=True) == 0  # checked while the pool is still open
    for engine in engines.values():
        await engine.aclose()


# -- the async read loop ----------------------------------------------------------------


async def test_async_keepalive_pings_do_not_reset_the_idle_deadline(backend, server) -> None:
    start = anthropic_sse(["x"]).split(b"event: ping")[0]
    pings = [b": keep-alive\n\n", b'event: ping\ndata: {"type":"ping"}\n\n'] * 80
    server.script("s", [Reply(chunks=[start, *pings], delay=0.05)])
    engine = allm.Engine(
        adapter=Anthropic,
        model="m",
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": server.url("s"), "idle_timeout": 0.4},
    )
    events = [e async for e in allm.astream_generate(engine, REQ)]
    assert events[-1].type == "error" and events[-1].error.reason == "timeout"
    assert len(server.requests_for("s")) == 1
    await engine.aclose()


@pytest.fixture
def body_iterators(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, bool]]:
    """Records, for every ``aiter_bytes`` iterator httpx hands out, whether it was closed."""
    records: list[dict[str, bool]] = []
    original = httpx.Response.aiter_bytes

    async def tracked(self: httpx.Response, chunk_size: int | None = None) -> Any:
        record = {"closed": False}
        records.append(record)
        try:
            async for chunk in original(self, chunk_size):
                yield chunk
        finally:
            record["closed"] = True

    monkeypatch.setattr(httpx.Response, "aiter_bytes", tracked)
    return records


def released(engine: allm.Engine, iterators: list[dict[str, bool]]) -> bool:
    """Whether the call's one response was released: over httpx, its body iterator was
    closed; over the native transport, no response is left in flight."""
    if engine.instance.clients.transport == "native":
        return iterators == [] and pool_busy(engine, asynchronous=True) == 0
    return iterators == [{"closed": True}]


async def test_the_async_body_iterator_is_closed_after_a_whole_stream(
    backend, server, body_iterators
) -> None:
    server.script("s", [Reply.sse(anthropic_sse(["whole"]))])
    engine = engine_for(Anthropic, server, "s")
    assert (await allm.agenerate(engine, REQ)).output_text == "whole"
    assert released(engine, body_iterators)
    await engine.aclose()


async def test_the_async_body_iterator_is_closed_when_the_consumer_stops_early(
    backend, server, body_iterators
) -> None:
    server.script("s", [Reply.sse(openai_chat_sse([f"w{i} " for i in range(100)]), delay=0.001)])
    engine = engine_for(OpenAI, server, "s")
    async with allm.astream_generate(engine, REQ) as stream:
        async for event in stream:
            if event.type == "text_delta":
                break
    assert released(engine, body_iterators)
    await engine.aclose()


async def test_the_async_body_iterator_is_closed_on_idle_timeout(backend, server, body_iterators) -> None:
    body = anthropic_sse(["partial"])
    server.script("s", [Reply(chunks=[body[: body.index(b"content_block_stop")]], stall=6.0)])
    engine = allm.Engine(
        adapter=Anthropic,
        model="m",
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": server.url("s"), "idle_timeout": 0.3},
    )
    assert (await allm.agenerate(engine, REQ)).error.reason == "timeout"
    assert released(engine, body_iterators)
    await engine.aclose()


def _trickle(server: FaultServer, name: str) -> allm.Engine:
    body = openai_chat_sse(["x" * 40] * 40)  # ~9 KB, 16 bytes every 10 ms: about six seconds
    server.script(name, [Reply(chunks=[body[i : i + 16] for i in range(0, len(body), 16)], delay=0.01)])
    return allm.Engine(
        adapter=OpenAI,
        model="gpt-4o-mini",
        retry=False,
        adapter_opts={"api_key": "test-key-0123456789", "base_url": server.url(name, "/v1"), "deadline": 0.5},
    )


def test_a_trickle_does_not_outlive_the_deadline(backend: object) -> None:
    with FaultServer() as server:
        engine = _trickle(server, "trickle")
        response = allm.generate(engine, allm.request([allm.user("hi")]))
        engine.close()
    assert response.finish_reason == "error"
    assert response.error.reason == "timeout" and "deadline" in response.error.message
    assert 0 < len(response.output_text) < 40 * 40


def test_an_async_trickle_does_not_outlive_the_deadline(backend: object) -> None:
    async def run(server: FaultServer) -> allm.Response:
        engine = _trickle(server, "atrickle")
        try:
            return await allm.agenerate(engine, allm.request([allm.user("hi")]))
        finally:
            await engine.aclose()

    with FaultServer() as server:
        response = asyncio.run(run(server))
    assert response.error is not None and response.error.reason == "timeout"
    assert "deadline" in response.error.message


def test_the_deadline_must_be_positive() -> None:
    with pytest.raises(allm.errors.ValidationError):
        allm.Engine(adapter=OpenAI, adapter_opts={"api_key": "k", "deadline": 0})


COMPLETION = {
    "id": "chatcmpl-json",
    "object": "chat.completion",
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "whole answer"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
}


def _json_server_engine(server: FaultServer, name: str, body: dict[str, Any] = COMPLETION) -> allm.Engine:
    server.script(name, [Reply.json(200, body), Reply.json(200, body)])
    return allm.Engine(
        adapter=OpenAI,
        model="gpt-4o-mini",
        retry=False,
        adapter_opts={"api_key": "test-key-0123456789", "base_url": server.url(name, "/v1")},
    )


def test_a_json_reply_to_a_stream_request_is_an_answer(backend: object) -> None:
    with FaultServer() as server:
        engine = _json_server_engine(server, "json")
        response = allm.generate(engine, allm.request([allm.user("hi")]))
        with allm.stream_generate(engine, allm.request([allm.user("hi")])) as stream:
            events = list(stream)
            streamed = stream.get_final_response()
        engine.close()
    assert (response.output_text, response.finish_reason) == ("whole answer", "stop")
    assert response.usage is not None and response.usage.input_tokens == 5
    assert response.metadata["non_streaming"] is True
    assert [e.type for e in events] == [
        "message_started",
        "text_delta",
        "text_completed",
        "raw_chunk",  # usage, which every stream keeps
        "message_completed",
    ]
    assert streamed.output_text == response.output_text and streamed.id == "chatcmpl-json"


def test_a_json_reply_keeps_its_reasoning_as_a_part_in_both_paths(backend: object) -> None:
    message = {"role": "assistant", "content": "whole answer", "reasoning_content": "Think first."}
    body = {**COMPLETION, "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    with FaultServer() as server:
        engine = _json_server_engine(server, "json-reasoning", body)
        response = allm.generate(engine, allm.request([allm.user("hi")]))
        with allm.stream_generate(engine, allm.request([allm.user("hi")])) as stream:
            kinds = [e.kind for e in stream if e.type == "raw_chunk"]
            streamed = stream.get_final_response()
        engine.close()
    parts = (allm.ReasoningPart("Think first.", provider="openai"), allm.TextPart("whole answer"))
    assert response.message.content == parts and streamed.message.content == parts
    assert kinds == ["reasoning", "usage"]
