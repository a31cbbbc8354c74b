"""Awaiting native calls on an asyncio event loop.

An async native call (``asend``, ``aread``, ``apump``) runs on the native
runtime and queues its outcome in the loop's ``allm._native.Completions``;
the loop watches that queue's descriptor (``add_reader``) and, at each
wake-up, completes the futures of every call that ended meanwhile. No worker
thread takes the GIL, and there is no Python thread per call. A call
cancelled while it runs is aborted (the request or read ends,
the exchange then closes the body); a response that arrives for a future
already cancelled is closed at once.

Thread safety: one :class:`LoopCompletions` per event loop, used from that
loop's thread only (:func:`for_running_loop`).
"""

from __future__ import annotations

import asyncio
import itertools
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["LoopCompletions", "for_running_loop"]

_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopCompletions] = weakref.WeakKeyDictionary()


class LoopCompletions:
    """The completion queue of one event loop and the futures waiting on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, native: ModuleType) -> None:
        self.queue: Any = native.Completions()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._tokens = itertools.count(1)
        self._body_type: type[Any] = native.HttpBody
        loop.add_reader(self.queue.fileno(), self._dispatch)  # the loop holds us, we never hold it

    def __repr__(self) -> str:
        return f"LoopCompletions(pending={len(self._pending)})"

    async def call(self, start: Callable[[Any, int], None]) -> Any:
        """Start a native call with ``start(queue, token)`` and await its outcome; a
        cancellation aborts the call."""
        token = next(self._tokens)
        future = asyncio.get_running_loop().create_future()
        start(self.queue, token)  # raises (nothing started) when the call cannot begin
        self._pending[token] = future
        try:
            return await future
        except asyncio.CancelledError:
            if self._pending.pop(token, None) is not None:
                self.queue.cancel(token)
            raise

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


def for_running_loop(native: ModuleType) -> LoopCompletions:
    """The completion queue of the running event loop for the ``native`` module (created on first use)."""
    loop = asyncio.get_running_loop()
    completions = _per_loop.get(loop)
    if completions is None:
        completions = _per_loop[loop] = LoopCompletions(loop, native)
    return completions
