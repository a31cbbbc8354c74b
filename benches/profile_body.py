"""Run one benchmark body in a loop, for a profiler.

    python benches/profile_body.py collect openai-chat 20000 --impl native --seconds 8
    py-spy record --native -r 500 -f raw -o prof.txt -- python benches/profile_body.py collect anthropic 20000
    python benches/profile_body.py fold openai-chat 20000 --impl pure --cprofile   # cProfile, top 25

Suites: collect, stream_events, sse, fold. Impls: native, pure, orjson (collect /
stream_events). The inputs are generated (and cached in memory) before the loop
starts, and the loop prints how many iterations it ran and the mean time of one.
With ``--wait`` it sleeps that many seconds after the inputs are built (time to
attach ``py-spy record --pid``), so the profile holds the benchmark body only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import orjson_collect, orjson_stream
from streams import message_events, stream


def body(suite: str, wire: str, size: int, impl: str):
    chunks = stream(wire, size).chunks
    if impl == "orjson":
        if suite == "collect":
            return lambda: orjson_collect(wire, chunks)
        if suite == "stream_events":
            return lambda: sum(len(b) for b in orjson_stream(chunks))
        raise SystemExit(f"no orjson variant of {suite}")
    if impl == "native":
        from allm import _native as mod
    else:
        from allm import _pure as mod
    if suite == "collect":
        return lambda: mod.collect(wire, chunks)
    if suite == "stream_events":

        def run():
            decoder = mod.StreamDecoder(wire)
            for chunk in chunks:
                decoder.feed(chunk)
            decoder.close()

        return run
    if suite == "sse":

        def run():
            decoder = mod.SSEDecoder()
            for chunk in chunks:
                decoder.feed(chunk)

        return run
    if suite == "fold":
        events = list(message_events(wire, size))

        def run():
            fold = mod.Fold()
            fold.apply_many(events)
            return fold.response()

        return run
    raise SystemExit(f"unknown suite {suite}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=["collect", "stream_events", "sse", "fold"])
    ap.add_argument("wire", choices=["openai-chat", "openai-responses", "anthropic"])
    ap.add_argument("size", type=int)
    ap.add_argument("--impl", default="native", choices=["native", "pure", "orjson"])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--wait", type=float, default=0.0)
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    run = body(args.suite, args.wire, args.size, args.impl)
    run()  # warm-up
    if args.wait:
        print(f"inputs ready; pid {__import__('os').getpid()}; waiting {args.wait}s", flush=True)
        time.sleep(args.wait)
    if args.cprofile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        n = 0
        end = time.perf_counter() + args.seconds
        prof.enable()
        while time.perf_counter() < end:
            run()
            n += 1
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        print(f"{n} iterations")
        return
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        run()
        n += 1
    print(f"{n} iterations, {(time.perf_counter() - start) / n * 1e3:.3f} ms each")


if __name__ == "__main__":
    main()
