"""Helpers for the wire-decoder tests: build SSE bodies and decode them on a backend."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any


def decode(backend: ModuleType, wire: str, data: bytes, **options: Any) -> tuple[list[Any], Any]:
    """Decode one whole body on ``backend``: every event (raw chunks included) and the Response."""
    decoder = backend.StreamDecoder(wire, include_raw_chunks=True, **options)
    events = decoder.feed(data) + decoder.close()
    return events, decoder.response()


def sse(*payloads: dict[str, Any] | bytes) -> bytes:
    """Unnamed ``data:`` events (dicts are JSON-encoded, bytes sent as they are)."""
    return b"".join(
        b"data: " + (p if isinstance(p, bytes) else json.dumps(p).encode()) + b"\n\n" for p in payloads
    )


def named(*payloads: dict[str, Any]) -> bytes:
    """Events named after each payload's ``type``."""
    return b"".join(f"event: {p['type']}\ndata: {json.dumps(p)}\n\n".encode() for p in payloads)
