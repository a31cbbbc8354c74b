"""One call at a time per decoder: the pure twin of the native borrow check."""

from __future__ import annotations

from threading import Lock
from types import TracebackType

from .._boundary import concurrent_use

__all__ = ["Exclusive"]


class Exclusive:
    """``with guard:`` around a call; an overlapping call raises ``StreamError("concurrent_use")``."""

    __slots__ = ("_lock", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._lock = Lock()

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise concurrent_use(self._what)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._lock.release()
