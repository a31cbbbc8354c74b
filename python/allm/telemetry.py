"""Telemetry callbacks: spans for generate, step, chat and tools, plus point events.

Register a handler with :func:`add_handler`; it receives ``(name, payload)``
where ``name`` is e.g. ``"allm.chat.start"``, ``"allm.chat.stop"``,
``"allm.chat.exception"`` or ``"allm.adapter.retry"``. Stop and exception
payloads carry ``duration_ms``; every payload carries ``request_id``. Payloads
never hold API keys or request bodies. A handler that raises is ignored (and
logged), so telemetry can never break a call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Handler", "add_handler", "emit", "remove_handler", "span"]

Handler = Callable[[str, dict[str, Any]], None]
_handlers: list[Handler] = []
_log = logging.getLogger("allm.telemetry")


def add_handler(handler: Handler) -> None:
    """Start sending telemetry to ``handler``."""
    _handlers.append(handler)


def remove_handler(handler: Handler) -> None:
    """Stop sending telemetry to ``handler`` (no error if it was not registered)."""
    if handler in _handlers:
        _handlers.remove(handler)


def emit(name: str, payload: dict[str, Any]) -> None:
    """Send one telemetry event to every handler."""
    for handler in tuple(_handlers):
        try:
            handler(name, payload)
        except Exception:
            _log.exception("telemetry handler failed for %s", name)


@contextmanager
def span(kind: str, **metadata: Any) -> Iterator[dict[str, Any]]:
    """Emit ``allm.<kind>.start`` now and ``.stop`` or ``.exception`` at the end.

    The yielded dict is merged into the stop payload, so the body can add results.
    """
    if not _handlers:
        yield {}
        return
    emit(f"allm.{kind}.start", dict(metadata))
    started = time.perf_counter()
    extra: dict[str, Any] = {}
    try:
        yield extra
    except BaseException as exc:
        emit(f"allm.{kind}.exception", {**metadata, "duration_ms": _ms(started), "error": repr(exc)})
        raise
    emit(f"allm.{kind}.stop", {**metadata, **extra, "duration_ms": _ms(started)})


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
