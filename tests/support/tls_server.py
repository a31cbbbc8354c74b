"""An HTTPS server on 127.0.0.1 that speaks HTTP/2 (and HTTP/1.1), with its own test CA.

hypercorn serves a small ASGI app in a background thread; trustme issues the
certificate for 127.0.0.1 from a throwaway CA whose PEM file a client can be
pointed at (``SSL_CERT_FILE``). Every request is answered with the same event
stream, and the HTTP version of each request is recorded.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

__all__ = ["TlsServer"]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class TlsServer:
    """Serves ``body`` as ``text/event-stream`` over TLS; ``versions`` lists each request's HTTP version."""

    def __init__(self, body: bytes, folder: Path) -> None:
        self.body = body
        self.versions: list[str] = []
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        self.ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert_file, key_file = folder / "cert.pem", folder / "key.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_file))
        cert.private_key_pem.write_to_path(str(key_file))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._config = Config()
        self._config.bind = [f"127.0.0.1:{self.port}"]
        self._config.certfile, self._config.keyfile = str(cert_file), str(key_file)
        self._config.alpn_protocols = ["h2", "http/1.1"]
        self._config.loglevel = "ERROR"
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def _app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.versions.append(scope["http_version"])
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(serve(self._app, self._config, shutdown_trigger=self._stop.wait))  # type: ignore[arg-type]

    def __enter__(self) -> TlsServer:
        self._thread.start()
        for _ in range(500):  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return self
            except OSError:
                threading.Event().wait(0.01)
        raise RuntimeError("the TLS test server did not start")

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
