"""Soak: many streams over a local fault-injecting HTTP server; resources must stay flat.

    python benches/soak.py [--streams N] [--concurrency C]

Streams cycle through four wires (Chat Completions, Responses, Anthropic,
Gemini) and every fault the HTTP tests script: 429 then success, 500 500
200, 500s until the retries run out, 529 (then Anthropic's overloaded first
event) then success, a connection dropped mid-stream, one dropped before any
byte, a stall caught by a short idle timeout, keep-alive pings that must not
reset it, a one-byte drip, a malformed line, a cross-origin redirect, and a
consumer that cancels. Batches alternate sync/async and native/pure; inside a
batch C streams run at once (threads, or tasks on one event loop). Every
stream's outcome is checked against what its fault must give.

The server (``tests/support/fault_server.py``) runs in a child process, so
this process holds only the client. At 10% (the end of warm-up), 50% and 100%
of the streams every engine is closed, garbage is collected and the figures
are read: RSS, Python allocated blocks, open file descriptors, threads, and
the connections the server accepted. The run fails if, after warm-up:

* open file descriptors or threads differ at all: with every engine closed
  nothing may stay open, so there is no tolerance;
* the server still holds a connection open;
* connections accepted per request rise by more than 0.05 from one phase to
  the next (a rate, so growth of the count itself is expected);
* RSS grows by more than ``RSS_SLACK`` (8 MiB): the allocator keeps freed
  arenas and the interpreter fills caches, which moves RSS by a few MiB on
  its own; a leak of 10 KiB per stream over 1,000 streams still exceeds it;
* Python allocated blocks grow by more than ``BLOCK_NOISE`` (500) plus
  ``BLOCK_SLACK`` (0.25) per stream after warm-up: caches and dict resizes move
  the count by a few hundred blocks at most; a leak of one object per stream
  exceeds the bound in a run of 1,000 streams or more.

Warm-up is the first 10% of the streams, but at least one whole cycle (every
wire and fault on each of sync/async x native/pure), so every code path has
filled its caches before the first reference figures are read.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import ctypes
import faulthandler
import functools
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import allm  # noqa: E402
from allm import _backend  # noqa: E402  # pyright: ignore[reportPrivateUsage]
from allm.providers import Anthropic, Gemini, OpenAI  # noqa: E402
from support.fault_server import FaultServer, Recorded, Reply  # noqa: E402
from support.wire import (  # noqa: E402
    anthropic_overloaded_first,
    anthropic_sse,
    gemini_sse,
    openai_chat_sse,
    responses_sse,
)

KEY = "sk-soak-0123456789"
PARTS = ["soak ", "mid", " end"]
FULL, PARTIAL = "soak mid end", "soak "
IDLE = 10.0  # seconds: the idle timeout of the engines for streams that must complete
SHORT_IDLE = 0.5  # seconds: the idle timeout of the engines for stall and pings
SHORT = ("stall", "pings")
RSS_SLACK = 8 * 1024 * 1024
BLOCK_NOISE = 500
BLOCK_SLACK = 0.25
RATE_SLACK = 0.05
WATCHDOG_BASE, WATCHDOG_PER_STREAM = 120.0, 0.5  # seconds; the run normally takes ~0.04 s a stream
TAG = re.compile(rb"soak-(\d+)-([a-z0-9_]+)")

# -- the server side (child process) ----------------------------------------------------


def body_for(path: str, parts: list[str]) -> bytes:
    if path.endswith("/chat/completions"):
        return openai_chat_sse(parts)
    if path.endswith("/responses"):
        return responses_sse(parts)
    if path.endswith("/messages"):
        return anthropic_sse(parts, pings=0)
    return gemini_sse(parts)


def head(body: bytes) -> bytes:
    """The complete events before the one carrying "mid" (the partial text is "soak ")."""
    return body[: body.rindex(b"\n\n", 0, body.index(b'"mid"')) + 2]


def replies(fault: str, path: str) -> list[Reply]:
    """The replies of one stream's attempts (the last one repeats)."""
    body = body_for(path, PARTS)
    start, ok = head(body), Reply.sse(body)
    error = {"error": {"message": "try later", "type": "server_error"}}
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    plans: dict[str, Callable[[], list[Reply]]] = {
        "ok": lambda: [ok],
        "rate_then_ok": lambda: [Reply.json(429, error, {"retry-after-ms": "5"}), ok],
        "500_500_ok": lambda: [Reply.json(500, error), Reply.json(500, error), ok],
        "500_exhausted": lambda: [Reply.json(500, error)],
        "529_then_ok": lambda: (
            [Reply.json(529, overloaded)]
            + ([Reply.sse(anthropic_overloaded_first())] if path.endswith("/messages") else [])
            + [ok]
        ),
        "drop_mid": lambda: [Reply(chunks=[start, body[len(start) :]], drop_after=1)],
        "drop_first": lambda: [Reply(chunks=[b""], drop_after=0), ok],
        "stall": lambda: [Reply(chunks=[start], stall=5.0)],
        "pings": lambda: [Reply(chunks=[start] + [b": keep-alive\n\n"] * 100, delay=0.02)],
        "drip": lambda: [Reply(chunks=[body[i : i + 16] for i in range(0, len(body), 16)], delay=0.001)],
        "malformed": lambda: [Reply.sse(start + b"data: {not json\n\n" + body[len(start) :])],
        "redirect": lambda: [Reply(status=307, headers={"location": "http://127.0.0.1:9/elsewhere"})],
        "cancel": lambda: [Reply.sse(body_for(path, PARTS * 20), delay=0.01)],
    }
    return plans[fault]()


class Responder:
    """Answers each request after the fault in its tag and the attempt count of that tag."""

    def __init__(self) -> None:
        self.attempts: dict[bytes, int] = {}

    def __call__(self, request: Recorded) -> Reply:
        match = TAG.search(request.body)
        if match is None:
            return Reply.json(400, {"error": {"message": "untagged request"}})
        n = self.attempts.pop(match.group(0), 0)
        self.attempts[match.group(0)] = n + 1
        while len(self.attempts) > 1024:  # keep the last tags only
            del self.attempts[next(iter(self.attempts))]
        plan = replies(match.group(2).decode(), request.path.split("?")[0])
        return plan[min(n, len(plan) - 1)]


def serve() -> None:
    """Child process: serve until stdin closes; answer "stats" lines with JSON."""
    with FaultServer() as server:
        server.script_fn("soak", Responder())
        print(server.port, flush=True)
        for line in sys.stdin:
            if line.strip() == "stats":
                stats = {
                    "accepted": server.total_connections,
                    "open": server.open_connections,
                    "requests": len(server.requests),
                }
                print(json.dumps(stats), flush=True)


class Server:
    """The parent's handle on the server process."""

    def __init__(self) -> None:
        # the server's stderr, shown if the soak fails; it lives as long as the server
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/s/soak"

    def stats(self) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        result: dict[str, int] = json.loads(self.proc.stdout.readline())
        return result

    def wait_closed(self, timeout: float = 5.0) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        stats = self.stats()
        while stats["open"] and time.monotonic() < deadline:
            time.sleep(0.02)
            stats = self.stats()
        return stats

    def close(self) -> str:
        """Stop the server; what it wrote to stderr."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        return text


# -- the client side --------------------------------------------------------------------

FAULTS = (
    "ok",
    "rate_then_ok",
    "500_500_ok",
    "500_exhausted",
    "529_then_ok",
    "drop_mid",
    "drop_first",
    "stall",
    "pings",
    "drip",
    "malformed",
    "redirect",
    "cancel",
)
VARIANTS: tuple[tuple[str, type, dict[str, str]], ...] = (
    ("chat", OpenAI, {}),
    ("responses", OpenAI, {"endpoint": "responses"}),
    ("anthropic", Anthropic, {}),
    ("gemini", Gemini, {}),
)
MODELS: dict[type, str] = {OpenAI: "gpt-4o-mini", Anthropic: "claude-x", Gemini: "gemini-2.5-flash"}
EXPECTED: dict[str, tuple[str, str | tuple[str, ...] | None]] = {
    "ok": (FULL, None),
    "rate_then_ok": (FULL, None),
    "500_500_ok": (FULL, None),
    "500_exhausted": ("", "provider_unavailable"),
    "529_then_ok": (FULL, None),
    "drop_mid": (PARTIAL, ("network_error", "incomplete")),
    "drop_first": (FULL, None),
    "stall": (PARTIAL, "timeout"),
    "pings": (PARTIAL, "timeout"),
    "drip": (FULL, None),
    "malformed": (PARTIAL, "malformed_event"),
    "redirect": ("", "network_error"),
}


@dataclass(frozen=True)
class Job:
    """One stream: its number, wire variant, fault, and whether it streams or generates."""

    n: int
    variant: int
    fault: str

    @property
    def request(self) -> allm.Request:
        return allm.request([allm.user(f"soak-{self.n}-{self.fault}")])

    @property
    def streamed(self) -> bool:
        return self.n % 2 == 1


def problem(job: Job, response: allm.Response) -> str | None:
    """Why ``response`` is not what the job's fault must give, or None."""
    text, reason = EXPECTED[job.fault]
    got = response.error.reason if response.error is not None else None
    wanted = reason if isinstance(reason, tuple) else (reason,)
    if response.output_text != text or got not in wanted:
        return f"{job}: got {response.output_text!r} / {got}, expected {text!r} / {reason}"
    return None


class Engines:
    """One engine per wire variant and idle timeout, made on first use, closed at each checkpoint."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engines: dict[tuple[int, float], allm.Engine] = {}
        self.lock = threading.Lock()

    def get(self, job: Job) -> allm.Engine:
        key = (job.variant, SHORT_IDLE if job.fault in SHORT else IDLE)
        with self.lock:
            if key not in self.engines:
                _, adapter, opts = VARIANTS[job.variant]
                suffix = "/v1" if adapter is OpenAI else ""
                self.engines[key] = allm.Engine(
                    adapter=adapter,
                    model=MODELS[adapter],
                    retry={"max_retries": 2, "base_delay": 0.001, "max_delay": 0.005},
                    adapter_opts={
                        "api_key": KEY,
                        "base_url": self.url + suffix,
                        "idle_timeout": key[1],
                        **opts,
                    },
                )
            return self.engines[key]

    async def close(self) -> None:
        engines, self.engines = list(self.engines.values()), {}
        for engine in engines:
            await engine.aclose()
            engine.close()


def guarded_sync(engines: Engines, job: Job) -> str | None:
    """``run_sync``, with an exception that escapes allm reported as the job's problem."""
    try:
        return run_sync(engines, job)
    except Exception as exc:
        return f"{job}: raised {exc!r}"


async def guarded_async(engines: Engines, job: Job) -> str | None:
    """``run_async``, with an exception that escapes allm reported as the job's problem."""
    try:
        return await run_async(engines, job)
    except Exception as exc:
        return f"{job}: raised {exc!r}"


def run_sync(engines: Engines, job: Job) -> str | None:
    engine = engines.get(job)
    if job.fault == "cancel":
        with allm.stream_generate(engine, job.request) as stream:
            next(e for e in stream if e.type == "text_delta")
        return None
    if job.streamed:
        with allm.stream_generate(engine, job.request) as stream:
            for _ in stream:
                pass
            return problem(job, stream.get_final_response())
    return problem(job, allm.generate(engine, job.request))


async def consume(engine: allm.Engine, job: Job, first: asyncio.Event) -> None:
    async with allm.astream_generate(engine, job.request) as stream:
        async for event in stream:
            if event.type == "text_delta":
                first.set()


async def run_async(engines: Engines, job: Job) -> str | None:
    engine = engines.get(job)
    if job.fault == "cancel":
        first = asyncio.Event()
        task = asyncio.ensure_future(consume(engine, job, first))
        await asyncio.wait_for(first.wait(), 10)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return None
        return f"{job}: the cancelled stream finished instead"
    if job.streamed:
        async with allm.astream_generate(engine, job.request) as stream:
            async for _ in stream:
                pass
            return problem(job, await stream.get_final_response())
    return problem(job, await allm.agenerate(engine, job.request))


@dataclass
class Figures:
    streams: int
    requests: int
    accepted: int
    open_connections: int
    rss: int
    blocks: int
    fds: int
    threads: int


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc), so RSS tracks live memory, not fragmentation."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.malloc_trim(0)


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def os_threads() -> int:
    with open("/proc/self/status") as status:
        return int(next(x for x in status if x.startswith("Threads:")).split()[1])


class Soak:
    """The run: batches of jobs, checkpoints, and the verdict."""

    def __init__(self, streams: int, concurrency: int) -> None:
        self.streams, self.concurrency = streams, concurrency
        self.server = Server()
        self.engines = Engines(self.server.url())
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self.loop_error)
        self.destroyed_pending = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix="soak")
        self.backends: list[ModuleType] = [_backend.load("rust")[0], _backend.load("python")[0]]
        self.problems: list[str] = []

    def loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Count tasks garbage-collected while pending (an iterator left unclosed); report the rest."""
        if "destroyed but it is pending" in str(context.get("message")):
            self.destroyed_pending += 1
        else:
            loop.default_exception_handler(context)

    def jobs(self, start: int, count: int) -> list[Job]:
        per = len(VARIANTS)
        return [Job(n, n % per, FAULTS[(n // per) % len(FAULTS)]) for n in range(start, start + count)]

    def batch(self, index: int, jobs: list[Job]) -> None:
        _backend.backend = self.backends[(index // 2) % 2]
        if index % 2 == 0:
            found = list(self.pool.map(functools.partial(guarded_sync, self.engines), jobs))
        else:
            found = self.loop.run_until_complete(self.gather(jobs))
        self.problems += [p for p in found if p is not None]

    async def gather(self, jobs: list[Job]) -> list[str | None]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(job: Job) -> str | None:
            async with gate:
                return await guarded_async(self.engines, job)

        return await asyncio.gather(*(one(job) for job in jobs))

    def checkpoint(self, done: int) -> Figures:
        self.loop.run_until_complete(self.engines.close())
        stats = self.server.wait_closed()
        gc.collect()
        release_free_memory()
        return Figures(
            streams=done,
            requests=stats["requests"],
            accepted=stats["accepted"],
            open_connections=stats["open"],
            rss=rss_bytes(),
            blocks=sys.getallocatedblocks(),
            fds=len(os.listdir("/proc/self/fd")),
            threads=os_threads(),
        )

    def run(self) -> list[Figures]:
        size = len(VARIANTS) * len(FAULTS)
        cycle = size * 4  # every wire x fault, on each of sync/async x native/pure
        marks = sorted({max(cycle, round(self.streams * f / size) * size) for f in (0.1, 0.5, 1.0)})
        figures: list[Figures] = []
        done = index = 0
        while done < marks[-1]:
            self.batch(index, self.jobs(done, size))
            done, index = done + size, index + 1
            if done in marks:
                figures.append(self.checkpoint(done))
        return figures

    def close(self) -> str:
        """Release everything; the server's stderr."""
        self.pool.shutdown()
        self.loop.close()
        return self.server.close()


def verdict(figures: list[Figures], problems: list[str]) -> list[str]:
    """Every way the run failed (empty when it passed)."""
    failures = list(problems[:10])
    warm, *rest = figures
    for fig in rest:
        after = fig.streams - warm.streams
        if fig.fds != warm.fds:
            failures.append(f"open file descriptors {warm.fds} -> {fig.fds} at {fig.streams} streams")
        if fig.threads != warm.threads:
            failures.append(f"threads {warm.threads} -> {fig.threads} at {fig.streams} streams")
        if fig.open_connections:
            failures.append(f"{fig.open_connections} connections still open at {fig.streams} streams")
        if fig.rss - warm.rss > RSS_SLACK:
            failures.append(f"RSS grew {(fig.rss - warm.rss) / 2**20:.1f} MiB after warm-up")
        if fig.blocks - warm.blocks > BLOCK_NOISE + BLOCK_SLACK * after:
            failures.append(f"allocated blocks grew {fig.blocks - warm.blocks} over {after} streams")
    rates = [
        (b.accepted - a.accepted) / (b.requests - a.requests) for a, b in zip(figures, rest, strict=False)
    ]
    if len(rates) > 1 and rates[-1] > rates[0] + RATE_SLACK:
        failures.append(f"connections accepted per request rose from {rates[0]:.2f} to {rates[-1]:.2f}")
    return failures


def show(figures: list[Figures], total: int, seconds: float) -> None:
    print(f"soak: {figures[-1].streams} streams in {seconds:.1f} s (sync+async, native+pure, 4 wires)")
    print(
        f"  {'at':>5} {'streams':>7} {'RSS MiB':>8} {'blocks':>8} {'fds':>4} {'threads':>7}"
        f" {'requests':>8} {'accepted':>8}"
    )
    for fig in figures:
        share = f"{100 * fig.streams / total:.0f}%"
        print(
            f"  {share:>5} {fig.streams:>7} {fig.rss / 2**20:>8.1f} {fig.blocks:>8} {fig.fds:>4}"
            f" {fig.threads:>7} {fig.requests:>8} {fig.accepted:>8}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak allm over a local fault-injecting server.")
    parser.add_argument("--streams", type=int, default=int(os.environ.get("SOAK_STREAMS", "2080")))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    started = time.monotonic()
    # a watchdog: a stream that never ends must not hang the run (or CI)
    faulthandler.dump_traceback_later(WATCHDOG_BASE + WATCHDOG_PER_STREAM * args.streams, exit=True)
    soak = Soak(args.streams, args.concurrency)
    try:
        figures = soak.run()
    finally:
        server_log = soak.close()
    faulthandler.cancel_dump_traceback_later()
    show(figures, figures[-1].streams, time.monotonic() - started)
    print(f"  async tasks destroyed while pending: {soak.destroyed_pending}")
    failures = verdict(figures, soak.problems)
    for failure in failures:
        print(f"  FAIL {failure}")
    if failures:
        print(f"  server stderr:\n{server_log}")
    print("  soak passed" if not failures else f"  soak failed ({len(failures)} problems)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
