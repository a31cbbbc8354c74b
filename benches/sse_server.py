"""A local SSE server for the end-to-end HTTP benchmark (``e2e_http.py``), run in its own process.

    python benches/sse_server.py [--port 0]

It prints its port on the first line of stdout and serves on 127.0.0.1 until its
stdin reaches end of file (so it never outlives the benchmark that started it)
or it is terminated.

HTTP/1.1 with keep-alive, on asyncio streams (no framework). Any POST whose path
ends in ``/chat/completions`` gets an OpenAI Chat Completions stream, one ending in
``/messages`` an Anthropic Messages stream: the text-only streams of ``streams.py``
(``tools=False``: a role chunk, one chunk per text delta, the finish chunk, the
usage chunk and ``data: [DONE]``; or ``message_start``, ``content_block_start``,
the ``text_delta`` events with a keep-alive ping every 500, ``content_block_stop``,
``message_delta`` with usage, ``message_stop``). The request body is read
(``Content-Length``) and ignored.

The stream is chosen by ``key=value`` path segments or query parameters, so that a
client whose base URL cannot carry a query (allm's) can still choose it:
``POST /events=2000/frame=event/v1/chat/completions`` or
``POST /v1/messages?events=2000&frame=4k``.

* ``events``: SSE events per stream (default 2,000).
* ``frame=event`` (default): one chunked-encoding frame per SSE event, each written
  and drained on its own, so frames are separate on the wire as when a provider
  flushes once per token. ``frame=4k``: the body cut into 1-4 KiB frames.
  ``frame=paced``: one frame per event with a 0.5 ms pause after each, so that every
  client, however fast, wakes up once per event (a provider's tokens are further
  apart still); without the pause a client slower than this server reads several
  frames per wake-up and a faster one reads one, which favours the slow.

Frames are rendered once per (wire, events, framing) and cached, so serving costs
the server little CPU. ``GET /stats`` returns JSON: ``accepted`` (connections that
carried at least one stream request), ``requests`` (stream requests served) and
``cpu_seconds`` (this process's ``time.process_time()``), from which the client
computes the server's CPU share and the new connections per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from streams import chunk_body, stream

__all__ = ["FRAMES", "ROUTES", "Choice", "choose", "frames", "main"]

ROUTES = {"/chat/completions": "openai-chat", "/messages": "anthropic"}
FRAMES = ("event", "4k", "paced")
PACE_SECONDS = 0.0005
"""The pause after each frame of ``frame=paced``."""
DEFAULT_EVENTS = 2_000
MIN_EVENTS, MAX_EVENTS = 16, 1_000_000
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache\r\n"
    b"x-request-id: req_bench\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
LAST_FRAME = b"0\r\n\r\n"


@dataclass(frozen=True)
class Choice:
    """What one request asks for."""

    wire: str
    events: int
    frame: str


class BadRequest(Exception):
    """The request names no stream this server has (answered with a 4xx)."""

    def __init__(self, status: str, why: str) -> None:
        super().__init__(why)
        self.status = status


def choose(target: str) -> Choice:
    """The stream a request target asks for (BadRequest when it names none)."""
    parts = urlsplit(target)
    params = dict(parse_qsl(parts.query))
    path: list[str] = []
    for segment in parts.path.split("/"):
        key, eq, value = segment.partition("=")
        if eq:
            params[key] = value
        else:
            path.append(segment)
    route = "/".join(path)
    wire = next((w for suffix, w in ROUTES.items() if route.endswith(suffix)), None)
    if wire is None:
        raise BadRequest("404 Not Found", f"no stream at {parts.path}")
    frame = params.get("frame", "event")
    events = params.get("events", str(DEFAULT_EVENTS))
    if frame not in FRAMES or not events.isdigit() or not MIN_EVENTS <= int(events) <= MAX_EVENTS:
        raise BadRequest(
            "400 Bad Request", f"frame must be one of {FRAMES}, events {MIN_EVENTS}..{MAX_EVENTS}"
        )
    return Choice(wire, int(events), frame)


def _chunked(payload: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(payload), payload)


@cache
def frames(choice: Choice) -> tuple[bytes, ...]:
    """The response body as chunked-encoding frames, the last one included."""
    body = stream(choice.wire, choice.events, tools=False).body
    if choice.frame in ("event", "paced"):
        pieces = [event + b"\n\n" for event in body.split(b"\n\n") if event]
    else:
        pieces = list(chunk_body(body, f"e2e:{choice.wire}:{choice.events}"))
    return (*(_chunked(p) for p in pieces), LAST_FRAME)


class Server:
    """The connection handler and its counters."""

    def __init__(self) -> None:
        self.accepted = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it or asks to."""
        streamed = False
        try:
            while (head := await _read_head(reader)) is not None:
                method, target, headers = head
                if "transfer-encoding" in headers:
                    await _reply(writer, "411 Length Required", b"send a Content-Length\n", close=True)
                    break
                await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET" and urlsplit(target).path == "/stats":
                    await _reply(writer, "200 OK", self.stats(), content_type="application/json")
                elif method != "POST":
                    await _reply(writer, "405 Method Not Allowed", b"POST a request\n")
                else:
                    try:
                        choice = choose(target)
                    except BadRequest as exc:
                        await _reply(writer, exc.status, f"{exc}\n".encode())
                        continue
                    if not streamed:
                        streamed = True
                        self.accepted += 1
                    self.requests += 1
                    await _send_stream(
                        writer, frames(choice), PACE_SECONDS if choice.frame == "paced" else 0.0
                    )
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # the client went away or sent garbage: drop the connection
        finally:
            writer.close()

    def stats(self) -> bytes:
        """The counters and this process's CPU time, as JSON."""
        figures = {"accepted": self.accepted, "requests": self.requests, "cpu_seconds": time.process_time()}
        return json.dumps(figures).encode()


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]] | None:
    """(method, target, lower-cased headers) of the next request; None at a clean end of file."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    request_line, *lines = raw[:-4].decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, target, headers


async def _reply(
    writer: asyncio.StreamWriter,
    status: str,
    body: bytes,
    content_type: str = "text/plain",
    close: bool = False,
) -> None:
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
    if close:
        head += "connection: close\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()


async def _send_stream(writer: asyncio.StreamWriter, body: tuple[bytes, ...], pace: float) -> None:
    """The head, then every frame written and drained on its own (and ``pace`` seconds apart)."""
    writer.write(STREAM_HEAD)
    for frame in body:
        writer.write(frame)
        await writer.drain()
        if pace:
            await asyncio.sleep(pace)


async def serve(port: int) -> None:
    """Serve until stdin reaches end of file; the port goes to stdout's first line."""
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", port)
    print(listener.sockets[0].getsockname()[1], flush=True)
    async with listener:
        await asyncio.to_thread(sys.stdin.buffer.read)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    asyncio.run(serve(parser.parse_args(argv).port))


if __name__ == "__main__":
    main()
