"""Streaming: raw network chunks to Python event objects, one batch per chunk.

native ``StreamDecoder(wire).feed(chunk)`` per chunk (then ``close()``) vs the pure twin
vs the minimal orjson loop, which only splits lines and builds the payload dicts
(no event objects, no fold, no filtering).
"""

from __future__ import annotations

import pytest

from baselines import orjson_stream
from conftest import require
from streams import script, stream


@pytest.mark.parametrize("impl", ["native", "pure", "orjson"])
def test_stream_events(benchmark, measure, backend_for, wire, size, impl):
    chunks = stream(wire, size).chunks
    if impl == "orjson":

        def run():
            n = 0
            for batch in orjson_stream(chunks):
                n += len(batch)
            return n

        def check(n):
            expected = size - 1 if wire == "openai-chat" else size  # [DONE] is not JSON
            if n != expected:
                pytest.fail(f"orjson loop parsed {n} payloads, expected {expected}")

        measure(benchmark, run, suite="stream_events", impl=impl, check=check)
        return

    mod = backend_for(impl)
    require(mod, "StreamDecoder.feed", "StreamDecoder.close", "StreamDecoder.response")
    decoder_cls = mod.StreamDecoder

    def run():
        decoder = decoder_cls(wire)
        n = 0
        for chunk in chunks:
            n += len(decoder.feed(chunk))
        n += len(decoder.close())
        return decoder, n

    def check(result):
        decoder, n = result
        response = decoder.response()
        s = script(wire, size)
        if response.output_text != s.text or len(response.tool_calls) != len(s.calls) or not decoder.done:
            pytest.fail(
                f"{impl} StreamDecoder gave a wrong Response for {wire}/{size}: "
                f"{len(response.output_text)} chars, {len(response.tool_calls)} calls, "
                f"finish={response.finish_reason!r}, {n} events"
            )

    measure(benchmark, run, suite="stream_events", impl=impl, check=check)
