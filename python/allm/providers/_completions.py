"""Awaiting native calls on an asyncio event loop.

An async native call (``asend``, ``aread``, ``apump``) runs on the native
runtime and queues its outcome in the loop's ``allm._native.Completions``;
the loop watches that queue's descriptor (``add_reader``) and, at each
wake-up, completes the futures of every call that ended meanwhile. No worker
thread takes the GIL, and there is no Python thread per call. A future
cancelled while its call runs aborts the call (the request or read ends,
the exchange then closes the body); a response that arrives for a future
already cancelled is closed at once.

Thread safety: one :class:`LoopCompletions` per event loop, used from that
loop's thread only (:func:`for_running_loop`).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import weakref
from collections.abc import Callable
from typing import Any

from .. import _backend  # pyright: ignore[reportPrivateUsage]

__all__ = ["LoopCompletions", "for_running_loop"]

_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopCompletions] = weakref.WeakKeyDictionary()


class LoopCompletions:
    """The completion queue of one event loop and the futures waiting on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.queue: Any = _backend.backend.Completions()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tokens = itertools.count(1)
        self._body_type: type[Any] = sys.modules[type(self.queue).__module__].HttpBody
        loop.add_reader(self.queue.fileno(), self._dispatch)  # the loop holds us, we never hold it

    def __repr__(self) -> str:
        return f"LoopCompletions(pending={len(self._pending)})"

    def call(self, start: Callable[[Any, int], None]) -> asyncio.Future[Any]:
        """Start a native call with ``start(queue, token)``; the future of its outcome."""
        token = next(self._tokens)
        future = asyncio.get_running_loop().create_future()
        start(self.queue, token)  # raises (nothing started) when the call cannot begin
        self._pending[token] = future
        future.add_done_callback(lambda f: self._settled(token, f))
        return future

    def _settled(self, token: int, future: asyncio.Future[Any]) -> None:
        if self._pending.pop(token, None) is not None and future.cancelled():
            self.queue.cancel(token)

    def _dispatch(self) -> None:
        for token, ok, value in self.queue.drain():
            future = self._pending.pop(token, None)
            if future is None or future.done():
                if isinstance(value, self._body_type):
                    value.close()  # a response nobody waits for: its connection closes
            elif ok:
                future.set_result(value)
            else:
                future.set_exception(value)


def for_running_loop() -> LoopCompletions:
    """The completion queue of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    completions = _per_loop.get(loop)
    if completions is None:
        completions = _per_loop[loop] = LoopCompletions(loop)
    return completions
