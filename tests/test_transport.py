"""The HTTP transport: which one an adapter uses, and what only the native one does.

Everything the two transports share (retries, timeouts, limits, error reasons,
redaction, telemetry) is tested over both by the ``http``-marked modules; this
module pins the choice itself, and the native transport's own promises:
cancellation aborts the request, waiting releases the GIL, many concurrent
streams need no thread each.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import select
import signal
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

import allm
from allm import _backend
from allm.errors import ValidationError
from allm.providers import Anthropic, OpenAI
from allm.providers._clients import TRANSPORT_ENV
from allm.providers._completions import for_running_loop
from support.fault_server import FaultServer, Reply
from support.pools import pool_busy
from support.wire import anthropic_sse, openai_chat_sse

KEY = "sk-transport-test-0123456789"
REQ = allm.request([allm.user("hi")])


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def engine_for(server: FaultServer, name: str, **opts: Any) -> allm.Engine:
    return allm.Engine(
        adapter=OpenAI,
        model="gpt-4o-mini",
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": server.url(name, "/v1"), **opts},
    )


def transport_of(**opts: Any) -> str:
    adapter = OpenAI(api_key=KEY, base_url="http://127.0.0.1:9/v1", **opts)
    return adapter.transport


@pytest.fixture
def native_backend(native: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The native backend, active, with its default (native) transport."""
    monkeypatch.setattr(_backend, "backend", native)
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    return native


# -- the choice ---------------------------------------------------------------------------


def test_the_default_is_native_on_the_native_backend_and_httpx_on_the_pure_one(
    backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    expected = "native" if backend.__name__ == "allm._native" else "httpx"
    assert transport_of() == expected


def test_a_user_http_client_means_httpx(backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    assert transport_of(http_client=httpx.Client()) == "httpx"


def test_an_http_client_wins_over_native_from_the_environment(native_backend, monkeypatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "native")
    assert transport_of(http_client=httpx.Client()) == "httpx"


def test_an_unknown_transport_is_refused_naming_the_option(backend) -> None:
    with pytest.raises(ValidationError) as caught:
        transport_of(transport="curl")
    assert caught.value.errors[0][0] == "transport"


def test_the_environment_chooses_httpx_for_every_adapter(backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "httpx")
    assert transport_of() == "httpx"
    assert Anthropic(api_key=KEY, base_url="http://127.0.0.1:9").transport == "httpx"


def test_the_option_wins_over_the_environment(native_backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TRANSPORT_ENV, "httpx")
    assert transport_of(transport="native") == "native"


def test_the_adapter_repr_names_its_transport(backend) -> None:
    adapter = OpenAI(api_key=KEY, base_url="http://127.0.0.1:9/v1", transport="httpx")
    assert "transport='httpx'" in repr(adapter)
    assert KEY not in repr(adapter)


# -- shared behaviour that only a real server shows ----------------------------------------


@pytest.mark.http
def test_a_gzip_body_is_decompressed(backend, server) -> None:
    server.script(
        "z",
        [
            Reply(
                headers={"content-encoding": "gzip"}, chunks=[gzip.compress(openai_chat_sse(["zip", "ped"]))]
            )
        ],
    )
    response = allm.generate(engine_for(server, "z"), REQ)
    assert (response.output_text, response.error) == ("zipped", None)


@pytest.mark.http
def test_proxies_come_from_the_environment(backend, server, monkeypatch: pytest.MonkeyPatch) -> None:
    server.script("p", [Reply.sse(anthropic_sse(["via proxy"]))])
    monkeypatch.setenv("HTTP_PROXY", server.origin)
    monkeypatch.setenv("NO_PROXY", "")
    engine = allm.Engine(
        adapter=Anthropic,
        model="claude-x",
        retry=False,
        adapter_opts={"api_key": KEY, "base_url": "http://127.0.0.2:9/s/p"},
    )
    assert allm.generate(engine, REQ).output_text == "via proxy"
    (recorded,) = server.requests_for("p")
    assert recorded.target.startswith("http://127.0.0.2:9/s/p/")


# -- the native transport's own promises ----------------------------------------------------


def test_engine_close_closes_the_native_connections(native_backend, server) -> None:
    server.script("c", [Reply.sse(openai_chat_sse(["one"]))])
    engine = engine_for(server, "c")
    assert allm.generate(engine, REQ).output_text == "one"
    assert server.open_connections == 1  # kept alive in the pool
    engine.close()
    assert server.wait_closed() == 0


async def test_cancelling_an_async_call_aborts_the_native_request(native_backend, server) -> None:
    body = openai_chat_sse(["never"])
    server.script("s", [Reply(chunks=[body[:40]], stall=6.0)])
    engine = engine_for(server, "s")
    task = asyncio.create_task(allm.agenerate(engine, REQ))
    while not server.requests_for("s"):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert for_running_loop(native_backend).queue.running == 0  # the native call was aborted, not left behind
    assert pool_busy(engine, asynchronous=True) == 0
    assert await asyncio.to_thread(server.wait_closed) == 0
    await engine.aclose()


async def test_breaking_out_of_an_async_stream_closes_its_connection(native_backend, server) -> None:
    server.script("b", [Reply.sse(openai_chat_sse([f"w{i} " for i in range(200)]), delay=0.002)])
    engine = engine_for(server, "b")
    async with allm.astream_generate(engine, REQ) as stream:
        async for event in stream:
            if event.type == "text_delta":
                break
    assert pool_busy(engine, asynchronous=True) == 0
    assert await asyncio.to_thread(server.wait_closed) == 0
    await engine.aclose()


def test_a_blocked_native_read_lets_other_threads_run(native_backend, server) -> None:
    body = openai_chat_sse(["late"])
    server.script("g", [Reply(chunks=[body[:30], body[30:]], delay=0.3)])
    engine = engine_for(server, "g")
    turns = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        before = turns
        response = allm.generate(engine, REQ)
        during = turns - before
    finally:
        stop.set()
        spinner.join()
    assert response.output_text == "late"
    assert during > 10_000  # the spinner kept the GIL while generate waited 0.3 s on the socket
    engine.close()


async def test_a_thousand_concurrent_streams_need_no_thread_each(native_backend, server) -> None:
    def answer(request: Any) -> Reply:
        who = request.json()["messages"][-1]["content"]
        return Reply.sse(openai_chat_sse([f"re: {who}"]), seed=len(who), delay=0.001)

    server.script_fn("k", answer)
    engine = engine_for(server, "k")
    threads: list[int] = []

    async def one(i: int) -> str:
        response = await allm.agenerate(engine, allm.request([allm.user(f"call {i}")]))
        threads.append(threading.active_count())
        return response.output_text

    texts = await asyncio.gather(*(one(i) for i in range(1000)))
    assert texts == [f"re: call {i}" for i in range(1000)]
    assert max(threads) < 40  # the runtime's few workers, not a thread per stream
    assert pool_busy(engine, asynchronous=True) == 0
    await engine.aclose()


def test_a_native_adapter_keeps_native_decoders_when_the_active_backend_changes(
    native_backend, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allm import _pure

    server.script("m", [Reply.sse(openai_chat_sse(["still", " native"]))] * 2)
    engine = engine_for(server, "m")
    assert engine.instance.transport == "native"
    monkeypatch.setattr(_backend, "backend", _pure)
    assert allm.generate(engine, REQ).output_text == "still native"
    with allm.stream_generate(engine, REQ) as stream:
        assert "".join(e.delta for e in stream if e.type == "text_delta") == "still native"
    engine.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_makes_its_own_runtimes_and_pools(native_backend, server) -> None:
    texts = ["parent", "async parent", "child", "async child"]
    server.script("f", [Reply.sse(openai_chat_sse([t])) for t in texts])
    engine = engine_for(server, "f")
    assert allm.generate(engine, REQ).output_text == "parent"
    assert asyncio.run(allm.agenerate(engine, REQ)).output_text == "async parent"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's runtimes, pools and sockets must not be used
        try:
            got = [
                allm.generate(engine, REQ).output_text,
                asyncio.run(allm.agenerate(engine, REQ)).output_text,
            ]
            os.write(write_end, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 20)
    if not ready:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert ready, "the child hung on the parent's runtime"
    assert json.loads(os.read(read_end, 4096)) == ["child", "async child"]
    os.close(read_end)
    engine.close()


def test_https_uses_the_roots_of_ssl_cert_file_and_http2_when_offered(
    native_backend, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from support.tls_server import TlsServer

    with TlsServer(anthropic_sse(["over h2"]), tmp_path) as tls:
        engine = allm.Engine(
            adapter=Anthropic,
            model="claude-x",
            retry=False,
            adapter_opts={"api_key": KEY, "base_url": tls.origin},
        )
        monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))
        assert allm.generate(engine, REQ).output_text == "over h2"
        assert asyncio.run(allm.agenerate(engine, REQ)).output_text == "over h2"
        engine.close()
    assert tls.versions == ["2", "2"]


def test_https_refuses_a_certificate_no_root_vouches_for(native_backend, tmp_path) -> None:
    from support.tls_server import TlsServer

    with TlsServer(anthropic_sse(["never"]), tmp_path) as tls:
        engine = allm.Engine(
            adapter=Anthropic,
            model="claude-x",
            retry=False,
            adapter_opts={"api_key": KEY, "base_url": tls.origin},
        )
        response = allm.generate(engine, REQ)
        engine.close()
    assert response.error is not None and response.error.reason == "network_error"
    assert tls.versions == []
