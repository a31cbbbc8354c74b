"""A real HTTP/1.1 server on 127.0.0.1 that plays scripted replies and injects faults.

It runs an asyncio loop in a background thread. A test registers a scenario
(a list of :class:`Reply`, one per attempt) and points an adapter's
``base_url`` at ``server.url(name)``; every request under that prefix takes
the scenario's next reply. Faults: any status and headers, bodies sent in
given chunks with delays (drips), a connection dropped after some chunks, a
stall after the headers, a redirect. The server records every request
(method, path, headers, body) and counts open connections, so tests can
check that no connection is left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultServer", "Recorded", "Reply", "rechunk"]


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    delay: float = 0.0  # seconds between chunks
    drop_after: int | None = None  # abort the connection after this many chunks
    stall: float | None = None  # after the chunks sent so far, wait this long, then close
    content_type: str = "text/event-stream"

    @classmethod
    def sse(cls, body: bytes, *, seed: int = 0, **kwargs: Any) -> Reply:
        """An event stream sent in realistic, randomly sized chunks."""
        return cls(chunks=rechunk(body, seed), **kwargs)

    @classmethod
    def json(cls, status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return cls(status=status, headers=headers or {}, chunks=[data], content_type="application/json")


@dataclass
class Recorded:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    target: str = ""
    """The request line's target as sent (absolute when the client went through a proxy)."""

    def json(self) -> Any:
        return json.loads(self.body)


def rechunk(data: bytes, seed: int = 0, low: int = 1, high: int = 48) -> list[bytes]:
    """``data`` cut into random pieces of ``low``..``high`` bytes (deterministic per seed)."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(data):
        n = rng.randint(low, high)
        out.append(data[i : i + n])
        i += n
    return out


class FaultServer:
    """The server; use as a context manager or call :meth:`close`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._scenarios: dict[str, list[Reply]] = {}
        self._responders: dict[str, Callable[[Recorded], Reply]] = {}
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.open_connections = 0
        self.total_connections = 0
        self._writers: set[asyncio.StreamWriter] = set()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(5)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
        )
        ready.set()
        self._loop.run_forever()

    # -- test-facing API -------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, name: str, replies: Iterable[Reply]) -> None:
        with self._lock:
            self._scenarios[name] = list(replies)

    def script_fn(self, name: str, responder: Callable[[Recorded], Reply]) -> None:
        """Answer every request of scenario ``name`` with ``responder(request)``."""
        with self._lock:
            self._responders[name] = responder

    def url(self, name: str, suffix: str = "") -> str:
        """The base URL of scenario ``name`` (``suffix`` e.g. "/v1" for OpenAI)."""
        return f"{self.origin}/s/{name}{suffix}"

    def requests_for(self, name: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(f"/s/{name}/")]

    def wait_closed(self, timeout: float = 3.0) -> int:
        """Wait until no connection is open (or the timeout passes); the number still open."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.open_connections:
            time.sleep(0.01)
        return self.open_connections

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            for w in list(self._writers):
                w.transport.abort()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- serving ---------------------------------------------------------------------

    def _next(self, recorded: Recorded) -> Reply:
        path = recorded.path
        parts = path.split("/")
        name = parts[2] if len(parts) > 2 and parts[1] == "s" else ""
        with self._lock:
            responder = self._responders.get(name)
            if responder is not None:
                return responder(recorded)
            replies = self._scenarios.get(name)
            if not replies:
                return Reply.json(599, {"error": {"message": f"no scripted reply for {path}"}})
            return replies.pop(0) if len(replies) > 1 else replies[0]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        self.total_connections += 1
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                # A proxy's request names the origin (absolute form): route by its path.
                path = "/" + target.split("/", 3)[3] if target.startswith("http://") else target
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                recorded = Recorded(method, path, headers, body, target)
                with self._lock:
                    self.requests.append(recorded)
                keep = await self._reply(reader, writer, self._next(recorded))
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            self.open_connections -= 1
            with contextlib.suppress(Exception):
                writer.close()

    async def _reply(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: Reply) -> bool:
        reason = {
            200: "OK",
            307: "Temporary Redirect",
            429: "Too Many Requests",
            500: "Internal Server Error",
            529: "Overloaded",
        }.get(reply.status, "Status")
        head = [
            f"HTTP/1.1 {reply.status} {reason}",
            f"content-type: {reply.content_type}",
            "transfer-encoding: chunked",
        ]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        for i, chunk in enumerate(reply.chunks):
            if reply.drop_after is not None and i >= reply.drop_after:
                writer.transport.abort()
                return False
            if reply.delay and i:
                await asyncio.sleep(reply.delay)
            if chunk:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
        if reply.drop_after is not None:
            writer.transport.abort()
            return False
        if reply.stall is not None:
            # Stall until the time is up or the client hangs up, whichever comes first.
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(reader.read(1), timeout=reply.stall)
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True
