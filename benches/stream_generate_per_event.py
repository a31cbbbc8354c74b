"""``allm.stream_generate`` per event over a mock transport, sync and async (plus ``generate``).

Prints the best time per event (ns) over a few rounds for each wire's 20,000-event
stream, cut into the benches' 1-4 KiB network chunks and served by
``httpx.MockTransport`` (no sockets). Run it against two checkouts to compare them::

    PYTHONPATH=python python benches/stream_generate_per_event.py
    PYTHONPATH=/other/checkout/python python benches/stream_generate_per_event.py

Nothing here is asserted; ratios between runs on the same machine are what count.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

import allm
from streams import stream

SIZE = 20_000
ROUNDS = 7
WIRES = ("openai-chat", "openai-responses", "anthropic")


def serve(chunks: tuple[bytes, ...]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream; charset=utf-8"}
        return httpx.Response(200, headers=headers, content=iter(chunks))

    return handler


async def aserve_body(chunks: tuple[bytes, ...]) -> Any:
    for chunk in chunks:
        yield chunk


def engine(wire: str, client: httpx.Client | httpx.AsyncClient) -> allm.Engine:
    opts: dict[str, Any] = {"api_key": "sk-bench", "http_client": client, "max_retries": 0}
    if wire == "anthropic":
        opts["base_url"] = "https://api.anthropic.test"
        return allm.Engine(adapter=allm.providers.Anthropic, model="claude-x", adapter_opts=opts)
    opts["base_url"] = "https://api.openai.test/v1"
    opts["endpoint"] = "responses" if wire == "openai-responses" else "chat"
    return allm.Engine(adapter=allm.providers.OpenAI, model="gpt-4o", adapter_opts=opts)


def best(
    fn: Callable[[str, tuple[bytes, ...]], int], wire: str, chunks: tuple[bytes, ...]
) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        count = fn(wire, chunks)
        times.append(time.perf_counter() - start)
    return min(times), count


REQ = allm.request([allm.user("hi")])


def sync_stream(wire: str, chunks: tuple[bytes, ...]) -> int:
    eng = engine(wire, httpx.Client(transport=httpx.MockTransport(serve(chunks))))
    return sum(1 for _ in allm.stream_generate(eng, REQ, include_raw_chunks=True))


def sync_generate(wire: str, chunks: tuple[bytes, ...]) -> int:
    eng = engine(wire, httpx.Client(transport=httpx.MockTransport(serve(chunks))))
    allm.generate(eng, REQ)
    return SIZE


def async_stream(wire: str, chunks: tuple[bytes, ...]) -> int:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, content=aserve_body(chunks))

    async def run() -> int:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        n = 0
        async for _ in allm.astream_generate(engine(wire, client), REQ, include_raw_chunks=True):
            n += 1
        await client.aclose()
        return n

    return asyncio.run(run())


def main() -> None:
    print(f"allm from {Path(allm.__file__).parent}, backend {allm.backend_info().name}")
    for wire in WIRES:
        chunks = tuple(stream(wire, SIZE).chunks)
        for fn in (sync_stream, async_stream, sync_generate):
            seconds, events = best(fn, wire, chunks)
            print(f"{wire:17s} {fn.__name__:14s} {seconds / events * 1e9:8.0f} ns/event ({events} events)")


if __name__ == "__main__":
    main()
