"""Sans-IO pipelines for callers who already hold the bytes (re-exported by :mod:`allm`).

``StreamDecoder(wire, **stream_options)`` turns raw network chunks of one
provider stream into allm events (``feed`` / ``close``); ``collect(wire,
chunks)`` folds a whole stream into a Response without building per-event
Python objects. ``wire`` is "openai-chat", "openai-responses", "anthropic"
or "gemini".

Both are those of the backend chosen at import (``allm._native`` or the pure
twin ``allm._pure``); type checkers see the twin, whose interface is the same.
Each validates its limits (``ValidationError("invalid_options")``) and its
chunks (bytes, bytearray or memoryview; anything else is
``ValidationError("invalid_input")``) the same way on both backends.

Thread safety: a ``StreamDecoder`` holds the state of one stream. Use it from
one thread at a time; a call that overlaps another call on the same decoder
raises ``StreamError("concurrent_use")`` on both backends. ``collect`` shares
no state and may run in many threads at once (the native backend releases
the GIL while it decodes large chunks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._pure.pipeline import StreamDecoder as StreamDecoder
    from ._pure.pipeline import collect as collect
else:
    from ._backend import backend as _active

    StreamDecoder = _active.StreamDecoder
    collect = _active.collect

__all__ = ["StreamDecoder", "collect"]
