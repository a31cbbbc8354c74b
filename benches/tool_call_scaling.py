"""Tool-call lookup scaling: ``collect`` of a stream with n vs 10n tool calls.

Each stream holds n parallel tool calls whose argument fragments arrive in a
second pass (every call looked up again by its index, item id or block index),
so a linear search per fragment makes the 10n stream about 100 times slower
than the n stream, and a keyed lookup about 10 times. Prints, per wire and
backend, the best-of-three seconds for n and 10n and their ratio (the bound
for linear work is 10).

    PYTHONPATH=python python benches/tool_call_scaling.py [n]   # default n = 5000
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from types import ModuleType

from allm import _pure


def _sse(payloads: list[dict[str, object]]) -> bytes:
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in payloads)


def openai_chat(n: int) -> bytes:
    def chunk(call: dict[str, object], finish: str | None = None) -> dict[str, object]:
        delta = {"tool_calls": [call]} if call else {}
        return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    named = [{"index": i, "id": f"c{i}", "function": {"name": "f", "arguments": ""}} for i in range(n)]
    starts = [chunk(call) for call in named]
    args = [chunk({"index": i, "function": {"arguments": '{"i":1}'}}) for i in range(n)]
    return _sse([*starts, *args, chunk({}, "tool_calls")]) + b"data: [DONE]\n\n"


def openai_responses(n: int) -> bytes:
    items = [{"type": "function_call", "id": f"fc{i}", "call_id": f"c{i}"} for i in range(n)]
    added = [{"type": "response.output_item.added", "item": item} for item in items]
    delta = "response.function_call_arguments.delta"
    deltas = [{"type": delta, "item_id": f"fc{i}", "delta": "{}"} for i in range(n)]
    return _sse([*added, *deltas, {"type": "response.completed", "response": {"status": "completed"}}])


def anthropic(n: int) -> bytes:
    start = {"type": "message_start", "message": {"id": "m", "model": "x", "usage": {"input_tokens": 1}}}
    uses = [{"type": "tool_use", "id": f"t{i}", "name": "f"} for i in range(n)]
    blocks = [{"type": "content_block_start", "index": i, "content_block": use} for i, use in enumerate(uses)]
    fragment = {"type": "input_json_delta", "partial_json": "{}"}
    deltas = [{"type": "content_block_delta", "index": i, "delta": fragment} for i in range(n)]
    stops = [{"type": "content_block_stop", "index": i} for i in range(n)]
    end = [{"type": "message_delta", "delta": {"stop_reason": "tool_use"}}, {"type": "message_stop"}]
    return _sse([start, *blocks, *deltas, *stops, *end])


BODIES: dict[str, Callable[[int], bytes]] = {
    "openai-chat": openai_chat,
    "openai-responses": openai_responses,
    "anthropic": anthropic,
}


def best_of_three(backend: ModuleType, wire: str, body: bytes, calls: int) -> float:
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        response = backend.collect(wire, chunks)
        best = min(best, time.perf_counter() - started)
    if len(response.tool_calls) != calls:
        raise SystemExit(f"{wire}: expected {calls} tool calls, got {len(response.tool_calls)}")
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    backends: dict[str, ModuleType] = {"python": _pure}
    try:
        from allm import _native

        backends["rust"] = _native
    except ImportError:
        print("native backend not built: rust rows skipped")
    print(f"{'wire':<18}{'backend':<9}{'n=' + str(n):>12}{'n=' + str(10 * n):>12}{'ratio':>8}")
    for wire, make in BODIES.items():
        small, large = make(n), make(10 * n)
        for name, backend in backends.items():
            t_small = best_of_three(backend, wire, small, n)
            t_large = best_of_three(backend, wire, large, 10 * n)
            print(f"{wire:<18}{name:<9}{t_small:>11.3f}s{t_large:>11.3f}s{t_large / t_small:>8.1f}")


if __name__ == "__main__":
    main()
