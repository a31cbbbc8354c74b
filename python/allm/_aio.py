"""Small asyncio helpers shared by the HTTP sources and the tool runner."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["within"]

T = TypeVar("T")


async def within(awaitable: Awaitable[T], timeout: float | None) -> T:
    """Await ``awaitable``, raising TimeoutError after ``timeout`` seconds (None: no limit).

    On 3.11+ this uses ``asyncio.timeout``: there ``asyncio.wait_for`` can swallow a
    cancellation of the caller that races with the awaitable finishing.
    """
    if timeout is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout)
