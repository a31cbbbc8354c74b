"""Integration tests against a real HTTP server on 127.0.0.1 that injects faults.

Each test scripts one scenario on the shared FaultServer and checks the
attempts made, the error reason, the partial content kept, and that no
connection stays checked out of the httpx pool or open on the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

import allm
from allm.providers import Anthropic, Gemini, OpenAI
from support.fault_server import FaultServer, Reply
from support.pools import pool_busy
from support.wire import anthropic_overloaded_first, anthropic_sse, gemini_sse, openai_chat_sse, responses_sse

pytestmark = pytest.mark.http

KEY = "sk-server-test-0123456789"
FAST = {"base_delay": 0.001, "max_delay": 0.005}
REQ = allm.request([allm.system("be brief"), allm.user("hi")])


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


_counter = 0


def scenario(server: FaultServer, replies: list[Reply]) -> str:
    global _counter
    _counter += 1
    name = f"t{_counter}"
    server.script(name, replies)
    return name


def make(adapter: type, server: FaultServer, name: str, retry: Any = None, **opts: Any) -> allm.Engine:
    suffix = "/v1" if adapter is OpenAI else ""
    model = {OpenAI: "gpt-4o-mini", Anthropic: "claude-x", Gemini: "gemini-2.5-flash"}[adapter]
    return allm.Engine(
        adapter=adapter,
        model=model,
        retry=FAST if retry is None else retry,
        adapter_opts={"api_key": KEY, "base_url": server.url(name, suffix), **opts},
    )


def assert_released(engine: allm.Engine, server: FaultServer) -> None:
    assert pool_busy(engine) == 0
    engine.close()
    assert server.wait_closed() == 0


def test_happy_paths_per_provider(backend, server) -> None:
    cases = [
        (
            OpenAI,
            {},
            openai_chat_sse(
                ["Hel", "lo ", "there"], usage={"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
            ),
        ),
        (OpenAI, {"endpoint": "responses"}, responses_sse(["Hel", "lo ", "there"])),
        (Anthropic, {}, anthropic_sse(["Hel", "lo ", "there"])),
        (Gemini, {}, gemini_sse(["Hel", "lo ", "there"])),
    ]
    for i, (adapter, opts, body) in enumerate(cases):
        name = scenario(server, [Reply.sse(body, seed=i)])
        engine = make(adapter, server, name, **opts)
        response = allm.generate(engine, REQ)
        assert response.output_text == "Hello there", adapter
        assert response.finish_reason == "stop"
        assert response.usage is not None and response.usage.output_tokens == 3
        (sent,) = server.requests_for(name)
        body_sent = sent.json()
        if adapter is OpenAI and not opts:
            assert sent.path.endswith("/v1/chat/completions")
            assert sent.headers["authorization"] == f"Bearer {KEY}"
            assert body_sent["stream_options"] == {"include_usage": True}
        elif adapter is OpenAI:
            assert sent.path.endswith("/v1/responses")
        elif adapter is Anthropic:
            assert sent.path.endswith("/v1/messages")
            assert sent.headers["x-api-key"] == KEY and sent.headers["anthropic-version"]
            assert body_sent["system"] == "be brief"
        else:
            assert sent.path.endswith("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
            assert sent.headers["x-goog-api-key"] == KEY and KEY not in sent.path
        assert_released(engine, server)


def test_429_with_retry_after_then_success(backend, server) -> None:
    name = scenario(
        server,
        [
            Reply.json(
                429, {"error": {"message": "slow down", "type": "rate_limit_error"}}, {"retry-after": "0.05"}
            ),
            Reply.sse(openai_chat_sse(["ok"])),
        ],
    )
    engine = make(OpenAI, server, name)
    seen: list[dict[str, Any]] = []
    handler = lambda n, p: seen.append(p) if n == "allm.adapter.retry" else None  # noqa: E731
    allm.telemetry.add_handler(handler)
    try:
        started = time.monotonic()
        response = allm.generate(engine, REQ)
        elapsed = time.monotonic() - started
    finally:
        allm.telemetry.remove_handler(handler)
    assert response.output_text == "ok"
    assert len(server.requests_for(name)) == 2
    assert elapsed >= 0.05  # the Retry-After was honoured
    assert (
        seen
        and seen[0]["delay_ms"] == 50
        and seen[0]["reason"] == "rate_limited"
        and seen[0]["status"] == 429
    )
    assert seen[0]["provider"] == "openai" and seen[0]["request_id"]
    assert_released(engine, server)


def test_500_500_200(backend, server) -> None:
    err = Reply.json(500, {"error": {"message": "boom", "type": "server_error"}})
    name = scenario(server, [err, err, Reply.sse(anthropic_sse(["fine"]))])
    engine = make(Anthropic, server, name)
    response = allm.generate(engine, REQ)
    assert response.output_text == "fine" and response.finish_reason == "stop"
    assert len(server.requests_for(name)) == 3
    assert_released(engine, server)


def test_500_exhausts_the_retries(backend, server) -> None:
    err = Reply.json(500, {"error": {"message": "boom", "type": "server_error"}})
    name = scenario(server, [err])
    engine = make(OpenAI, server, name, retry={**FAST, "max_retries": 3})
    response = allm.generate(engine, REQ)
    assert response.error.reason == "provider_unavailable" and response.error.status == 500
    assert len(server.requests_for(name)) == 4
    name2 = scenario(server, [err])
    engine2 = make(OpenAI, server, name2, retry=False)
    assert allm.generate(engine2, REQ).error.status == 500
    assert len(server.requests_for(name2)) == 1
    engine2.close()
    assert_released(engine, server)


def test_529_then_overloaded_first_event_then_success(backend, server) -> None:
    name = scenario(
        server,
        [
            Reply.json(
                529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            ),
            Reply.sse(anthropic_overloaded_first()),
            Reply.sse(anthropic_sse(["after", " overload"])),
        ],
    )
    engine = make(Anthropic, server, name)
    events = list(allm.stream_generate(engine, REQ))
    assert [e.type for e in events].count("message_started") == 1  # nothing from failed attempts leaked
    assert events[-1].type == "message_completed"
    text = "".join(e.delta for e in events if e.type == "text_delta")
    assert text == "after overload"
    assert len(server.requests_for(name)) == 3
    assert_released(engine, server)


def test_529_exhausted_gives_error(backend, server) -> None:
    name = scenario(
        server, [Reply.json(529, {"type": "error", "error": {"type": "overloaded_error", "message": "x"}})]
    )
    engine = make(Anthropic, server, name, max_retries=1)
    response = allm.generate(engine, REQ)
    assert response.error.reason == "provider_unavailable" and response.error.status == 529
    assert len(server.requests_for(name)) == 2
    assert_released(engine, server)


@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_connection_dropped_mid_stream_keeps_partial_content(backend, server, mode) -> None:
    body = gemini_sse(["part one, ", "part two", " never"])
    cut = body.index(b"never") - 30
    name = scenario(server, [Reply(chunks=[body[:cut], body[cut:]], drop_after=1)])
    engine = make(Gemini, server, name)
    if mode == "generate":
        response = allm.generate(engine, REQ)
    else:
        with allm.stream_generate(engine, REQ) as stream:
            events = list(stream)
        assert events[-1].type == "error"
        response = stream.get_final_response()
    assert response.finish_reason == "error"
    assert response.error.reason in ("network_error", "incomplete")
    assert response.output_text.startswith("part one, ")
    assert len(server.requests_for(name)) == 1  # content was produced: never retried
    assert_released(engine, server)


def test_drop_before_any_byte_is_retried(backend, server) -> None:
    name = scenario(server, [Reply(chunks=[b""], drop_after=0), Reply.sse(openai_chat_sse(["second"]))])
    engine = make(OpenAI, server, name)
    response = allm.generate(engine, REQ)
    assert response.output_text == "second"
    assert len(server.requests_for(name)) == 2
    assert_released(engine, server)


def test_stall_after_headers_hits_the_idle_timeout(backend, server) -> None:
    body = anthropic_sse(["partial"])
    cut = body.index(b"content_block_stop")
    name = scenario(server, [Reply(chunks=[body[:cut]], stall=6.0)])
    engine = make(Anthropic, server, name, idle_timeout=0.3)
    started = time.monotonic()
    response = allm.generate(engine, REQ)
    elapsed = time.monotonic() - started
    assert response.error.reason == "timeout"
    assert response.output_text == "partial"
    assert 0.25 < elapsed < 4.0  # the idle timeout fired long before the 6 s stall ended
    assert len(server.requests_for(name)) == 1
    assert_released(engine, server)


def test_keepalive_pings_do_not_reset_the_idle_timer(backend, server) -> None:
    start = anthropic_sse(["x"]).split(b"event: ping")[0]
    pings = [b": keep-alive\n\n", b'event: ping\ndata: {"type":"ping"}\n\n'] * 80
    name = scenario(server, [Reply(chunks=[start, *pings], delay=0.05)])
    engine = make(Anthropic, server, name, idle_timeout=0.4)
    started = time.monotonic()
    response = allm.generate(engine, REQ)
    elapsed = time.monotonic() - started
    assert response.error.reason == "timeout"
    assert elapsed < 4.0  # 160 pings over 8 s would have kept a socket-read timeout alive
    assert_released(engine, server)


def test_one_byte_every_10ms_drip(backend, server) -> None:
    body = (
        b'data: {"choices":[{"index":0,"delta":{"content":"d"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"rip"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )
    name = scenario(server, [Reply(chunks=[body[i : i + 1] for i in range(len(body))], delay=0.01)])
    engine = make(OpenAI, server, name, idle_timeout=5)
    events = list(allm.stream_generate(engine, REQ))
    assert "".join(e.delta for e in events if e.type == "text_delta") == "drip"
    assert events[-1].type == "message_completed"
    assert_released(engine, server)


def test_malformed_line(backend, server) -> None:
    good = openai_chat_sse(["good "]).split(b"data: [DONE]")[0]
    name = scenario(
        server,
        [
            Reply.sse(
                good.split(b'"finish_reason":"stop"')[0].rsplit(b"data:", 1)[0]
                + b"data: {not json\n\n"
                + openai_chat_sse(["more"])
            )
        ],
    )
    engine = make(OpenAI, server, name)
    response = allm.generate(engine, REQ)
    assert response.error.reason == "malformed_event"
    assert response.output_text == "good "
    assert len(server.requests_for(name)) == 1
    assert_released(engine, server)


def test_cross_origin_redirect_is_not_followed(backend, server) -> None:
    with FaultServer() as other:
        target = other.url("stolen", "/v1/chat/completions")
        other.script("stolen", [Reply.sse(openai_chat_sse(["should not happen"]))])
        name = scenario(server, [Reply(status=307, headers={"location": target}, chunks=[b""])])
        engine = make(OpenAI, server, name)
        response = allm.generate(engine, REQ)
        assert response.error.reason == "network_error" and response.error.status == 307
        assert other.requests == []
        assert len(server.requests_for(name)) == 1
        assert_released(engine, server)


def test_break_and_close_release_the_connection(backend, server) -> None:
    body = openai_chat_sse([f"w{i} " for i in range(200)])
    name = scenario(server, [Reply.sse(body, delay=0.001)])
    engine = make(OpenAI, server, name)
    for _ in range(3):
        stream = allm.stream_generate(engine, REQ)
        for event in stream:
            if event.type == "text_delta":
                break
        stream.close()
    stream = allm.stream_generate(engine, REQ)
    next(iter(stream))
    del stream  # garbage collection closes it
    assert pool_busy(engine) == 0
    assert_released(engine, server)


def test_connect_error_is_retried_then_reported(backend) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    engine = allm.Engine(
        adapter=OpenAI,
        model="m",
        retry={**FAST, "max_retries": 2},
        adapter_opts={"api_key": KEY, "base_url": f"http://127.0.0.1:{port}/v1"},
    )
    seen: list[dict[str, Any]] = []
    handler = lambda n, p: seen.append(p) if n == "allm.adapter.retry" else None  # noqa: E731
    allm.telemetry.add_handler(handler)
    try:
        response = allm.generate(engine, REQ)
    finally:
        allm.telemetry.remove_handler(handler)
    assert response.error.reason == "network_error"
    assert [p["attempt"] for p in seen] == [1, 2]
    engine.close()


async def test_async_faults(backend, server) -> None:
    name = scenario(
        server,
        [
            Reply.json(429, {"error": {"message": "later"}}, {"retry-after-ms": "10"}),
            Reply.sse(anthropic_sse(["async ", "ok"])),
        ],
    )
    engine = make(Anthropic, server, name)
    response = await allm.agenerate(engine, REQ)
    assert response.output_text == "async ok"
    assert len(server.requests_for(name)) == 2
    body = anthropic_sse(["partial"])
    stall = scenario(server, [Reply(chunks=[body[: body.index(b"content_block_stop")]], stall=6.0)])
    engine2 = make(Anthropic, server, stall, idle_timeout=0.3)
    started = time.monotonic()
    response = await allm.agenerate(engine2, REQ)
    assert response.error.reason == "timeout" and response.output_text == "partial"
    assert time.monotonic() - started < 4.0
    # cancellation while reading releases the connection
    slow = scenario(server, [Reply.sse(openai_chat_sse(["a"] * 50), delay=0.05)])
    engine3 = make(OpenAI, server, slow)

    async def consume() -> None:
        async with allm.astream_generate(engine3, REQ) as stream:
            async for _ in stream:
                pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for e in (engine, engine2, engine3):
        assert pool_busy(e, asynchronous=True) == 0  # checked while the pool is still open
        await e.aclose()
    assert await asyncio.to_thread(server.wait_closed) == 0


async def test_200_concurrent_streams(backend, server) -> None:
    def answer(request: Any) -> Reply:
        who = request.json()["messages"][-1]["content"]
        return Reply.sse(openai_chat_sse([f"re: {who}", " done"]), seed=len(who), delay=0.001)

    name = scenario(server, [])
    server.script_fn(name, answer)
    engine = make(OpenAI, server, name)

    async def one(i: int) -> allm.Response:
        return await allm.agenerate(engine, allm.request([allm.user(f"call {i}")]))

    results = await asyncio.gather(*(one(i) for i in range(200)))
    assert [r.output_text for r in results] == [f"re: call {i} done" for i in range(200)]
    assert all(r.finish_reason == "stop" and r.error is None for r in results)
    assert len(server.requests_for(name)) == 200
    assert pool_busy(engine, asynchronous=True) == 0
    await engine.aclose()
    assert await asyncio.to_thread(server.wait_closed) == 0
