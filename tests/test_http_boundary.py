"""The PyO3 boundary stays coarse: one decoder call per network chunk, and
``generate`` builds no per-event Python objects (it only ever calls ``feed_quiet``)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import httpx
import pytest

import allm
from allm import _backend
from allm.providers import OpenAI

pytestmark = pytest.mark.http

BODY = b"".join(
    b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"w%d "}}]}\n\n' % i
    for i in range(50)
) + (
    b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)
CHUNKS = [BODY[i : i + 300] for i in range(0, len(BODY), 300)]


class SpyDecoder:
    """Wraps the backend's StreamDecoder and counts each method call."""

    def __init__(self, inner: Any, calls: dict[str, int]) -> None:
        self._inner = inner
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any) -> Any:
            self._calls[name] = self._calls.get(name, 0) + 1
            return attr(*args)

        return counted


class Chunked(httpx.SyncByteStream):
    def __iter__(self):  # type: ignore[override]
        yield from CHUNKS


@pytest.fixture
def calls(backend: ModuleType, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts: dict[str, int] = {}
    spy_module = type("SpyBackend", (), {})()
    for name in dir(backend):
        if not name.startswith("__"):
            setattr(spy_module, name, getattr(backend, name))
    spy_module.StreamDecoder = lambda *a, **k: SpyDecoder(backend.StreamDecoder(*a, **k), counts)
    monkeypatch.setattr(_backend, "backend", spy_module)
    return counts


def engine() -> allm.Engine:
    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Chunked())

    client = httpx.Client(transport=httpx.MockTransport(serve))
    return allm.Engine(adapter=OpenAI, model="m", adapter_opts={"api_key": "sk-x", "http_client": client})


REQ = allm.request([allm.user("hi")])


def test_generate_feeds_every_chunk_quietly_and_never_builds_events(calls: dict[str, int]) -> None:
    response = allm.generate(engine(), REQ)
    assert response.output_text.startswith("w0 w1") and response.finish_reason == "stop"
    assert calls.get("feed", 0) == 0
    assert calls["feed_quiet"] == len(CHUNKS)


def test_streaming_makes_one_decoder_call_per_network_chunk(calls: dict[str, int]) -> None:
    events = list(allm.stream_generate(engine(), REQ))
    assert sum(e.type == "text_delta" for e in events) == 50
    assert calls["feed"] == len(CHUNKS)
    assert calls.get("feed_quiet", 0) == 0
