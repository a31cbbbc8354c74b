"""Hardening benchmarks (issue 9 items 14-16), reported as ratios, never asserted.

    python benches/hardening.py [sse|threads|from_json ...]

* ``sse``: one SSE line of n = 5 MiB and 10n = 50 MiB fed in 64 KiB chunks to each
  backend's ``SSEDecoder``; prints seconds per MiB and the 10n/n cost ratio per byte
  (about 1.0 when buffering is linear; it was about 10 when every feed re-copied the
  partial line).
* ``threads``: native ``collect`` of 8 copies of a 7 MB openai-chat body (256 KiB
  chunks) spread over 1, 2 and 4 threads; prints wall time and the speed-up over one thread
  (the native backend releases the GIL while it decodes chunks of 64 KiB or more), and
  how many times a pure-Python counter thread ran during one native ``collect``.
* ``from_json``: ``allm.from_json`` against ``json.loads`` of the same documents, at n
  and 10n messages; prints both ratios.

Figures are best-of-k wall (or process) times, so noise from other processes shrinks
but does not vanish: compare ratios, not absolute numbers, across machines.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import allm
from allm import _backend, _pure
from allm._messages import Message, TextPart, Thread, ToolCall

MiB = 1024 * 1024


def best(fn: Callable[[], object], k: int = 5, clock: Callable[[], float] = time.perf_counter) -> float:
    """The shortest of ``k`` runs of ``fn``, in seconds."""
    shortest = float("inf")
    for _ in range(k):
        start = clock()
        fn()
        shortest = min(shortest, clock() - start)
    return shortest


def backends() -> dict[str, ModuleType]:
    found = {"pure": _pure}
    try:
        found["native"] = _backend._load_native()
    except ImportError as exc:
        print(f"(native backend unavailable: {exc})")
    return found


def sse() -> None:
    print("SSE: one line of n and 10n bytes in 64 KiB chunks")
    for name, module in backends().items():
        per_mib = {}
        for size in (5 * MiB, 50 * MiB):
            line = b"data: " + b"x" * size + b"\n\n"
            chunks = [line[i : i + 64 * 1024] for i in range(0, len(line), 64 * 1024)]

            def run(chunks: list[bytes] = chunks, module: ModuleType = module) -> None:
                decoder = module.SSEDecoder(max_line_bytes=None, max_event_bytes=None)
                for chunk in chunks:
                    decoder.feed(chunk)

            per_mib[size] = best(run, k=5) / (size / MiB)
        n, ten_n = per_mib[5 * MiB], per_mib[50 * MiB]
        print(
            f"  {name:6}  5 MiB {n * 1e3:7.2f} ms/MiB   50 MiB {ten_n * 1e3:7.2f} ms/MiB   "
            f"10n/n per byte {ten_n / n:.2f}"
        )


def chat_body(events: int) -> bytes:
    piece = b'data: {"choices":[{"index":0,"delta":{"content":"token %d "}}]}\n\n'
    end = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    return b"".join(piece % i for i in range(events)) + end


def threads() -> None:
    body = chat_body(100_000)
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    jobs = 8
    print(f"collect: {jobs} jobs of {len(body) / 1e6:.1f} MB (256 KiB chunks) over 1/2/4 threads")
    for name, module in backends().items():
        if name == "pure":
            continue  # pure Python holds the GIL throughout: nothing to scale

        def spread(workers: int, module: ModuleType = module) -> None:
            def work() -> None:
                for _ in range(jobs // workers):
                    module.collect("openai-chat", chunks)

            pool = [threading.Thread(target=work) for _ in range(workers)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()

        one = best(lambda: spread(1), k=3)
        row = [f"1 thread {one:6.2f} s"]
        for workers in (2, 4):
            took = best(lambda w=workers: spread(w), k=3)
            row.append(f"{workers} threads {took:6.2f} s ({one / took:.2f}x)")
        print(f"  {name:6}  " + "   ".join(row))
    native = backends().get("native")
    if native is not None:
        ticks = 0
        stop = threading.Event()

        def count() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1

        counter = threading.Thread(target=count)
        counter.start()
        native.collect("openai-chat", chunks)
        stop.set()
        counter.join()
        print(f"  a Python thread ran {ticks} loop turns during one native collect (0 if the GIL were held)")


def thread_doc(messages: int) -> str:
    items: list[Message] = []
    for i in range(messages):
        items.append(allm.user(f"question {i} " * 5))
        call = ToolCall(id=f"c{i}", name="f", arguments={"a": i, "b": [1, 2.5, "x", {"k": None}]})
        items.append(Message(role="assistant", content=(TextPart(f"answer {i} " * 10),), tool_calls=(call,)))
    return allm.to_json(Thread(messages=tuple(items)))


def from_json() -> None:
    print("from_json vs json.loads (process time, best of 5)")
    for messages in (300, 3_000):
        text = thread_doc(messages)
        loads = best(lambda text=text: json.loads(text), clock=time.process_time)
        ours = best(lambda text=text: allm.from_json(text), clock=time.process_time)
        print(
            f"  {2 * messages:6} messages ({len(text) / 1e6:5.2f} MB): json.loads {loads * 1e3:7.1f} ms   "
            f"from_json {ours * 1e3:7.1f} ms   ratio {ours / loads:.1f}x"
        )


SUITES = {"sse": sse, "threads": threads, "from_json": from_json}

if __name__ == "__main__":
    for suite in sys.argv[1:] or list(SUITES):
        SUITES[suite]()
