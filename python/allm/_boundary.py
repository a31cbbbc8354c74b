"""The errors both backends raise at their public boundary, built in one place.

A leaf module (errors only): ``allm._native`` and ``allm._pure`` both call
these, so a bad chunk or an overlapping call gives the same error, message
included, whichever backend is active.
"""

from __future__ import annotations

from typing import cast

from .errors import StreamError, ValidationError

__all__ = ["as_chunk", "bad_chunk", "concurrent_use"]


def bad_chunk(chunk: object) -> ValidationError:
    """The error for a chunk that is not bytes, bytearray or memoryview."""
    why = f"must be bytes, bytearray or memoryview, not {type(chunk).__name__}"
    return ValidationError("invalid_input", errors=[("chunk", why)])


def as_chunk(chunk: object) -> bytes:
    """``chunk`` as bytes (bytearray and memoryview are copied); ValidationError otherwise."""
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, bytearray):
        return bytes(chunk)
    if isinstance(chunk, memoryview):
        return cast("memoryview[int]", chunk).tobytes()
    raise bad_chunk(chunk)


def concurrent_use(what: str) -> StreamError:
    """The error for a call on ``what`` that overlaps another call on the same object."""
    return StreamError(
        "concurrent_use",
        f"this {what} is already in use by another call; it holds one stream's state "
        "and must be used from one thread at a time",
    )
