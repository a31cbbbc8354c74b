"""SSE bytes to ServerSentEvent objects (framing only, no JSON).

native ``SSEDecoder`` vs the pure twin vs httpx-sse (its public ``EventSource.iter_sse``
over an ``httpx.Response`` streaming the same chunks) vs the openai SDK's
``openai._streaming.SSEDecoder().iter_bytes``.
"""

from __future__ import annotations

import pytest

from conftest import dist_version, require
from streams import stream

IMPLS = ["native", "pure", "httpx_sse", "openai_sdk"]


def _runner(impl, chunks, backend_for):
    if impl in ("native", "pure"):
        mod = backend_for(impl)
        require(mod, "SSEDecoder")
        decoder_cls = mod.SSEDecoder

        def run():
            decoder = decoder_cls()
            n = 0
            for chunk in chunks:
                n += len(decoder.feed(chunk))
            return n + len(decoder.close())

        return run, {}
    if impl == "httpx_sse":
        httpx_sse = pytest.importorskip("httpx_sse")
        import httpx

        def run():
            headers = {"content-type": "text/event-stream"}
            response = httpx.Response(200, headers=headers, content=iter(chunks))
            return sum(1 for _ in httpx_sse.EventSource(response).iter_sse())

        return run, {"version": dist_version("httpx-sse")}
    if impl == "openai_sdk":
        pytest.importorskip("openai")
        from openai._streaming import SSEDecoder

        def run():
            return sum(1 for _ in SSEDecoder().iter_bytes(iter(chunks)))

        return run, {"version": dist_version("openai")}
    raise ValueError(impl)


@pytest.mark.parametrize("impl", IMPLS)
def test_sse(benchmark, measure, backend_for, wire, size, impl):
    chunks = stream(wire, size).chunks
    run, info = _runner(impl, chunks, backend_for)

    def check(n):
        if n != size:
            pytest.fail(f"{impl} decoded {n} events from {wire}/{size}, expected {size}")

    measure(benchmark, run, suite="sse", impl=impl, check=check, **info)
