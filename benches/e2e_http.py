"""End-to-end HTTP benchmark: the client process's CPU time per streamed event.

    python benches/e2e_http.py [--quick] [--json PATH] [--wire W] [--frame F] [--mode M]

A local SSE server (``sse_server.py``) runs in a child process, so this process
holds only the client. For each wire (OpenAI Chat Completions, Anthropic Messages)
and framing (one chunked-encoding frame per SSE event; the same, 0.5 ms apart, so that
every client wakes up once per event, as with a real provider's tokens; or 1-4 KiB
frames), every
client streams the same text-only answer, sync (streams one after another) and
async (32 streams in flight on one event loop):

* ``httpx+orjson loop``: ``httpx.Client.stream`` / ``AsyncClient.stream``,
  ``iter_lines`` / ``aiter_lines``, ``orjson.loads`` of each ``data:`` line, text and
  usage accumulated by hand;
* ``allm (httpx)`` / ``allm (native)``: ``allm.generate`` / ``agenerate`` with the
  adapter option ``transport`` set;
* ``allm stream (httpx)`` / ``allm stream (native)``: ``stream_generate`` /
  ``astream_generate``, every event iterated, the text joined from its deltas;
* ``openai SDK helper`` (chat wire): ``chat.completions.stream``, iterated, then
  ``get_final_completion()``; ``anthropic SDK helper`` (Anthropic wire):
  ``messages.stream``, iterated, then ``get_final_message()``.

Each row is warmed up first (2 streams sync; one stream per worker async, which opens
the pool's connections), then streams run for ``--seconds`` (at least 3 sync, at least
one per worker async). The CPU is ``time.process_time()`` of this process (all its
threads, native ones included) over the measured streams, divided by the events
received. The SDK rows are slow, so they stream ``--sdk-events`` events per stream
instead of ``--events``. Every stream's text and output token count is checked against
the script's, so a broken client fails instead of posting a number.

The tables print per (wire, framing): µs CPU per event; the ratio to the httpx loop in
the same mode (row / loop: lower is better); the server's CPU share (server CPU
seconds / wall seconds of the row: 100% would mean the server is the bottleneck); new
connections per stream (connections the server accepted during the measured streams /
streams: 0 when the client reuses its connections). Below each table, the issue's
ratios: how many times less CPU per event the native transport uses than the httpx
loop (target 5x) and than the SDK helper (target 50x). Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import platform
import subprocess
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import asdict, dataclass
from functools import cached_property, partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).parent))

import allm
from allm.errors import ValidationError
from allm.providers import Adapter, Anthropic, OpenAI
from streams import script

HERE = Path(__file__).parent
WIRES = ("openai-chat", "anthropic")
FRAMES = ("event", "4k", "paced")
PACED_EVENTS = 200
"""Events per stream of the paced rows (0.5 ms apart: 0.1 s per stream at least)."""
MODES = ("sync", "async")
KEY = "sk-bench"
PROMPT = "Tell me a long story about streams."
SYNC_WARMUP = 2
SYNC_MIN_STREAMS = 3
LOOP = "httpx+orjson loop"
NOT_AVAILABLE = "n/a (no native transport: the pure-Python backend is active)"

Outcome = tuple[str, int]  # (answer text, output tokens)
SyncRun = Callable[[], Outcome]
AsyncRun = Callable[[], Awaitable[Outcome]]
SyncOpener = Callable[["Target"], contextlib.AbstractContextManager[SyncRun]]
AsyncOpener = Callable[["Target", int], contextlib.AbstractAsyncContextManager[AsyncRun]]  # int: concurrency


class NotAvailable(Exception):
    """This allm has no such client (printed as the row's result instead of a figure)."""


# --------------------------------------------------------------------------------------
# the server


class Server:
    """``sse_server.py`` in a child process, and its counters."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "sse_server.py"), "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self._client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}")

    def stats(self) -> dict[str, float]:
        """The server's counters: accepted, requests, cpu_seconds."""
        reply = self._client.get("/stats")
        reply.raise_for_status()
        figures: dict[str, float] = reply.json()
        return figures

    def close(self) -> None:
        """Stop the server (its stdin reaching end of file stops it)."""
        self._client.close()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class Target:
    """One stream the server serves: wire, events, framing."""

    port: int
    wire: str
    frame: str
    events: int

    @property
    def root(self) -> str:
        """The base URL without the API version (the server reads the stream choice from its path)."""
        return f"http://127.0.0.1:{self.port}/events={self.events}/frame={self.frame}"

    @property
    def base_url(self) -> str:
        """The base URL as each provider's SDK and allm take it (OpenAI's with ``/v1``)."""
        return self.root + "/v1" if self.wire == "openai-chat" else self.root

    @property
    def url(self) -> str:
        """The endpoint the hand-written loop posts to."""
        path = "/v1/chat/completions" if self.wire == "openai-chat" else "/v1/messages"
        return self.root + path

    @cached_property
    def expected(self) -> Outcome:
        """What every client must end with: the script's text and output tokens."""
        s = script(self.wire, self.events, tools=False)
        return s.text, s.output_tokens


# --------------------------------------------------------------------------------------
# the hand-written httpx + orjson loop


class _Fold:
    """Text and output tokens from one stream's ``data:`` lines."""

    def __init__(self, wire: str) -> None:
        self.parts: list[str] = []
        self.output_tokens = 0
        self.apply = self._chat if wire == "openai-chat" else self._anthropic

    def line(self, line: str) -> None:
        if line.startswith("data: ") and line != "data: [DONE]":
            self.apply(orjson.loads(line[6:]))

    def _chat(self, obj: dict[str, Any]) -> None:
        choices = obj["choices"]
        if choices:
            content = choices[0]["delta"].get("content")
            if content:
                self.parts.append(content)
        usage = obj.get("usage")
        if usage:
            self.output_tokens = usage["completion_tokens"]

    def _anthropic(self, obj: dict[str, Any]) -> None:
        kind = obj["type"]
        if kind == "content_block_delta":
            delta = obj["delta"]
            if delta["type"] == "text_delta":
                self.parts.append(delta["text"])
        elif kind == "message_delta":
            self.output_tokens = obj["usage"]["output_tokens"]

    def outcome(self) -> Outcome:
        return "".join(self.parts), self.output_tokens


def _loop_request(t: Target) -> tuple[bytes, dict[str, str]]:
    """The body and headers the loop sends, as the provider's API wants them."""
    messages = [{"role": "user", "content": PROMPT}]
    if t.wire == "openai-chat":
        body = {
            "model": "gpt-4o",
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        headers = {"authorization": f"Bearer {KEY}"}
    else:
        body = {"model": "claude-sonnet-4-6", "max_tokens": 4096, "messages": messages, "stream": True}
        headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
    return orjson.dumps(body), {**headers, "content-type": "application/json"}


@contextlib.contextmanager
def httpx_loop(t: Target) -> Generator[SyncRun, None, None]:
    with httpx.Client() as client:

        def run() -> Outcome:
            body, headers = _loop_request(t)
            fold = _Fold(t.wire)
            with client.stream("POST", t.url, content=body, headers=headers) as reply:
                reply.raise_for_status()
                for line in reply.iter_lines():
                    fold.line(line)
            return fold.outcome()

        yield run


@contextlib.asynccontextmanager
async def ahttpx_loop(t: Target, concurrency: int) -> AsyncGenerator[AsyncRun, None]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=2 * concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def run() -> Outcome:
            body, headers = _loop_request(t)
            fold = _Fold(t.wire)
            async with client.stream("POST", t.url, content=body, headers=headers) as reply:
                reply.raise_for_status()
                async for line in reply.aiter_lines():
                    fold.line(line)
            return fold.outcome()

        yield run


# --------------------------------------------------------------------------------------
# allm


REQUEST = allm.request([allm.user(PROMPT)], max_tokens=4096)
ADAPTERS: dict[str, tuple[type[Adapter], str]] = {
    "openai-chat": (OpenAI, "gpt-4o"),
    "anthropic": (Anthropic, "claude-sonnet-4-6"),
}


def _engine(t: Target, transport: str) -> allm.Engine:
    """An engine for the target over ``transport`` (NotAvailable when this backend lacks it)."""
    opts: dict[str, Any] = {"base_url": t.base_url, "api_key": KEY, "transport": transport}
    adapter, model = ADAPTERS[t.wire]
    try:
        return allm.Engine(adapter=adapter, model=model, adapter_opts=opts)
    except ValidationError as exc:
        if any(path == "transport" for path, _ in exc.errors):
            raise NotAvailable(NOT_AVAILABLE) from None
        raise


def _response_outcome(response: allm.Response) -> Outcome:
    usage = response.usage
    return response.output_text, usage.output_tokens if usage is not None else -1


def _streamed_outcome(parts: list[str], response: allm.Response) -> Outcome:
    """The text joined from the deltas (it must also be the Response's) and the output tokens."""
    text, tokens = _response_outcome(response)
    joined = "".join(parts)
    return (joined if joined == text else f"<deltas differ from the Response: {text!r}>"), tokens


def generate_once(engine: allm.Engine) -> Outcome:
    return _response_outcome(allm.generate(engine, REQUEST))


async def agenerate_once(engine: allm.Engine) -> Outcome:
    return _response_outcome(await allm.agenerate(engine, REQUEST))


def stream_once(engine: allm.Engine) -> Outcome:
    parts: list[str] = []
    with allm.stream_generate(engine, REQUEST) as events:
        for event in events:
            if event.type == "text_delta":
                parts.append(event.delta)
        return _streamed_outcome(parts, events.get_final_response())


async def astream_once(engine: allm.Engine) -> Outcome:
    parts: list[str] = []
    async with allm.astream_generate(engine, REQUEST) as events:
        async for event in events:
            if event.type == "text_delta":
                parts.append(event.delta)
        return _streamed_outcome(parts, await events.get_final_response())


def allm_sync(transport: str, once: Callable[[allm.Engine], Outcome]) -> SyncOpener:
    """Opens an engine over ``transport`` whose every run is ``once(engine)``."""

    @contextlib.contextmanager
    def opened(t: Target) -> Generator[SyncRun, None, None]:
        engine = _engine(t, transport)
        try:
            yield partial(once, engine)
        finally:
            engine.close()

    return opened


def allm_async(transport: str, once: Callable[[allm.Engine], Awaitable[Outcome]]) -> AsyncOpener:
    """The async twin of :func:`allm_sync`."""

    @contextlib.asynccontextmanager
    async def opened(t: Target, concurrency: int) -> AsyncGenerator[AsyncRun, None]:
        engine = _engine(t, transport)
        try:
            yield partial(once, engine)
        finally:
            await engine.aclose()

    return opened


# --------------------------------------------------------------------------------------
# the SDK stream helpers


def _completion_outcome(completion: Any) -> Outcome:
    usage = completion.usage
    return completion.choices[0].message.content or "", usage.completion_tokens if usage else -1


def _message_outcome(message: Any) -> Outcome:
    text = "".join(block.text for block in message.content if block.type == "text")
    return text, message.usage.output_tokens


MESSAGES: list[Any] = [{"role": "user", "content": PROMPT}]


@contextlib.contextmanager
def openai_helper(t: Target) -> Generator[SyncRun, None, None]:
    import openai

    with openai.OpenAI(base_url=t.base_url, api_key=KEY, max_retries=0) as client:

        def run() -> Outcome:
            with client.chat.completions.stream(
                model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
            ) as events:
                for _ in events:
                    pass
                return _completion_outcome(events.get_final_completion())

        yield run


@contextlib.asynccontextmanager
async def aopenai_helper(t: Target, concurrency: int) -> AsyncGenerator[AsyncRun, None]:
    import openai

    async with openai.AsyncOpenAI(base_url=t.base_url, api_key=KEY, max_retries=0) as client:

        async def run() -> Outcome:
            async with client.chat.completions.stream(
                model="gpt-4o", messages=MESSAGES, stream_options={"include_usage": True}
            ) as events:
                async for _ in events:
                    pass
                return _completion_outcome(await events.get_final_completion())

        yield run


@contextlib.contextmanager
def anthropic_helper(t: Target) -> Generator[SyncRun, None, None]:
    import anthropic

    with anthropic.Anthropic(base_url=t.base_url, api_key=KEY, max_retries=0) as client:

        def run() -> Outcome:
            with client.messages.stream(
                model="claude-sonnet-4-6", max_tokens=4096, messages=MESSAGES
            ) as events:
                for _ in events:
                    pass
                return _message_outcome(events.get_final_message())

        yield run


@contextlib.asynccontextmanager
async def aanthropic_helper(t: Target, concurrency: int) -> AsyncGenerator[AsyncRun, None]:
    import anthropic

    async with anthropic.AsyncAnthropic(base_url=t.base_url, api_key=KEY, max_retries=0) as client:

        async def run() -> Outcome:
            async with client.messages.stream(
                model="claude-sonnet-4-6", max_tokens=4096, messages=MESSAGES
            ) as events:
                async for _ in events:
                    pass
                return _message_outcome(await events.get_final_message())

        yield run


# --------------------------------------------------------------------------------------
# rows and measurement


@dataclass(frozen=True)
class Client:
    """One row of the tables: how to open the client, sync and async."""

    name: str
    sync: SyncOpener
    async_: AsyncOpener
    wires: tuple[str, ...] = WIRES
    sdk: bool = False


CLIENTS = (
    Client(LOOP, httpx_loop, ahttpx_loop),
    Client("allm (httpx)", allm_sync("httpx", generate_once), allm_async("httpx", agenerate_once)),
    Client("allm (native)", allm_sync("native", generate_once), allm_async("native", agenerate_once)),
    Client("allm stream (httpx)", allm_sync("httpx", stream_once), allm_async("httpx", astream_once)),
    Client("allm stream (native)", allm_sync("native", stream_once), allm_async("native", astream_once)),
    Client("openai SDK helper", openai_helper, aopenai_helper, ("openai-chat",), sdk=True),
    Client("anthropic SDK helper", anthropic_helper, aanthropic_helper, ("anthropic",), sdk=True),
)


@dataclass
class Result:
    """One measured (or unavailable) row."""

    wire: str
    frame: str
    mode: str
    client: str
    events_per_stream: int
    streams: int = 0
    client_cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    new_connections: int = 0
    note: str = ""

    @property
    def events(self) -> int:
        return self.streams * self.events_per_stream

    @property
    def us_per_event(self) -> float | None:
        return self.client_cpu_seconds / self.events * 1e6 if self.streams else None

    @property
    def server_share(self) -> float | None:
        return self.server_cpu_seconds / self.wall_seconds if self.streams else None

    @property
    def new_connections_per_stream(self) -> float | None:
        return self.new_connections / self.streams if self.streams else None

    def to_json(self) -> dict[str, Any]:
        derived = ("us_per_event", "server_share", "new_connections_per_stream")
        return {**asdict(self), **{name: getattr(self, name) for name in derived}}


class Meter:
    """CPU, wall and server counters around the measured streams."""

    def __init__(self, server: Server, check: Callable[[Outcome], None]) -> None:
        self.server = server
        self.check = check
        self.streams = 0
        self._cpu = self._wall = 0.0
        self._stats: dict[str, float] = {}

    def start(self) -> None:
        gc.collect()
        self._stats = self.server.stats()
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def record(self, outcome: Outcome) -> None:
        self.check(outcome)
        self.streams += 1

    def stop(self, result: Result) -> Result:
        cpu, wall = time.process_time(), time.perf_counter()
        stats = self.server.stats()
        result.streams = self.streams
        result.client_cpu_seconds = cpu - self._cpu
        result.wall_seconds = wall - self._wall
        result.server_cpu_seconds = stats["cpu_seconds"] - self._stats["cpu_seconds"]
        result.new_connections = int(stats["accepted"] - self._stats["accepted"])
        return result


def _checker(t: Target, name: str) -> Callable[[Outcome], None]:
    def check(outcome: Outcome) -> None:
        if outcome != t.expected:
            text, tokens = outcome
            raise AssertionError(
                f"{name} on {t.wire}/{t.frame}: wrong result ({len(text)} characters and {tokens} output "
                f"tokens, expected {len(t.expected[0])} and {t.expected[1]}): {text[:200]!r}"
            )

    return check


def measure_sync(server: Server, client: Client, t: Target, seconds: float, result: Result) -> Result:
    meter = Meter(server, _checker(t, client.name))
    with client.sync(t) as run:
        for _ in range(SYNC_WARMUP):
            meter.check(run())
        meter.start()
        deadline = time.perf_counter() + seconds
        while meter.streams < SYNC_MIN_STREAMS or time.perf_counter() < deadline:
            meter.record(run())
        return meter.stop(result)


async def measure_async(
    server: Server, client: Client, t: Target, seconds: float, concurrency: int, result: Result
) -> Result:
    meter = Meter(server, _checker(t, client.name))
    async with client.async_(t, concurrency) as run:
        for outcome in await asyncio.gather(*(run() for _ in range(concurrency))):
            meter.check(outcome)
        deadline = 0.0

        async def worker() -> None:
            while True:  # at least one stream per worker, then until the deadline
                meter.record(await run())
                if time.perf_counter() >= deadline:
                    return

        meter.start()
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return meter.stop(result)


@dataclass(frozen=True)
class Config:
    events: int
    sdk_events: int
    seconds: float
    concurrency: int
    wires: tuple[str, ...]
    frames: tuple[str, ...]
    modes: tuple[str, ...]


def run_row(server: Server, client: Client, wire: str, frame: str, mode: str, cfg: Config) -> Result:
    events = cfg.sdk_events if client.sdk else cfg.events
    if frame == "paced":
        events = min(events, PACED_EVENTS)
    t = Target(server.port, wire, frame, events)
    result = Result(wire, frame, mode, client.name, events)
    try:
        if mode == "sync":
            return measure_sync(server, client, t, cfg.seconds, result)
        return asyncio.run(measure_async(server, client, t, cfg.seconds, cfg.concurrency, result))
    except NotAvailable as exc:
        result.note = str(exc)
        return result


# --------------------------------------------------------------------------------------
# report


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def _loop_us(rows: list[Result], mode: str) -> float | None:
    return next((r.us_per_event for r in rows if r.mode == mode and r.client == LOOP), None)


def table(rows: list[Result]) -> str:
    """The markdown table of one (wire, framing), then the issue's ratio lines."""
    lines = [
        "| mode | client | streams x events | µs CPU/event | ratio vs httpx loop | server CPU share "
        "| new conns/stream |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.note:
            lines.append(f"| {r.mode} | {r.client} | {r.note} | | | | |")
            continue
        loop = _loop_us(rows, r.mode)
        us = r.us_per_event
        ratio = us / loop if us is not None and loop else None
        share = r.server_share
        lines.append(
            f"| {r.mode} | {r.client} | {r.streams} x {r.events_per_stream} | {_fmt(us, '.2f')} "
            f"| {_fmt(ratio, '.2f', 'x')} | {_fmt(share and share * 100, '.0f', '%')} "
            f"| {_fmt(r.new_connections_per_stream, '.2f')} |"
        )
    return "\n".join([*lines, "", *ratio_lines(rows)])


def ratio_lines(rows: list[Result]) -> list[str]:
    """How many times less CPU per event each native row uses than the loop (5x) and the SDK (50x)."""
    sdk = next((r.client for r in rows if r.client.endswith("SDK helper")), None)
    targets = [(LOOP, 5)] + ([(sdk, 50)] if sdk else [])
    out: list[str] = []
    for native in ("allm (native)", "allm stream (native)"):
        for other, target in targets:
            per_mode: list[str] = []
            for mode in MODES:
                mine = next((r for r in rows if r.mode == mode and r.client == native), None)
                theirs = next((r for r in rows if r.mode == mode and r.client == other), None)
                if mine is None or theirs is None:
                    continue
                a, b = mine.us_per_event, theirs.us_per_event
                per_mode.append(f"{mode} {_fmt(b / a if a and b else None, '.1f', 'x')}")
            if per_mode:
                out.append(
                    f"- {other} / {native}, CPU per event: {', '.join(per_mode)} (target >= {target}x)"
                )
    return out


def environment() -> dict[str, str]:
    info = allm.backend_info()
    versions = {name: version(name) for name in ("httpx", "orjson", "openai", "anthropic")}
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "allm": allm.__version__,
        "allm_backend": f"{info.name} ({info.build_profile})",
        **versions,
    }


# --------------------------------------------------------------------------------------
# command line


def parse(argv: list[str] | None) -> tuple[Config, str | None]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run (under a minute)")
    parser.add_argument("--events", type=int, help="SSE events per stream (default 2000; quick 400)")
    parser.add_argument("--sdk-events", type=int, help="events per stream for the SDK rows (default 200)")
    parser.add_argument("--seconds", type=float, help="measured seconds per row (default 1.5; quick 0.1)")
    parser.add_argument("--concurrency", type=int, default=32, help="async streams in flight (default 32)")
    parser.add_argument("--wire", choices=WIRES, action="append", help="repeatable (default: all)")
    parser.add_argument("--frame", choices=FRAMES, action="append", help="repeatable (default: all)")
    parser.add_argument("--mode", choices=MODES, action="append", help="repeatable (default: all)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    cfg = Config(
        events=args.events or (400 if args.quick else 2_000),
        sdk_events=args.sdk_events or (100 if args.quick else 200),
        seconds=args.seconds if args.seconds is not None else (0.1 if args.quick else 1.5),
        concurrency=args.concurrency,
        wires=tuple(args.wire or WIRES),
        frames=tuple(args.frame or FRAMES),
        modes=tuple(args.mode or MODES),
    )
    return cfg, args.json


def main(argv: list[str] | None = None) -> None:
    cfg, json_path = parse(argv)
    env = environment()
    print(", ".join(f"{k} {v}" for k, v in env.items()))
    server = Server()
    results: list[Result] = []
    try:
        for wire in cfg.wires:
            for frame in cfg.frames:
                rows = [
                    run_row(server, client, wire, frame, mode, cfg)
                    for mode in cfg.modes
                    for client in CLIENTS
                    if wire in client.wires
                ]
                print(f"\n### {wire}, frame={frame}\n")
                print(table(rows), flush=True)
                results.extend(rows)
    finally:
        server.close()
    if json_path:
        document = {"config": asdict(cfg), "environment": env, "rows": [r.to_json() for r in results]}
        Path(json_path).write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
