"""Stream size limits: their names, defaults and one check shared by every entry point.

``max_line_bytes`` and ``max_event_bytes`` bound the SSE decoder;
``max_argument_bytes`` bounds one tool call's argument text;
``max_response_bytes`` bounds the whole body of one response. Each is a number
of bytes in ``1 .. 2**64 - 1``, or None to disable it. A breach ends the stream
with ``StreamError("limit_exceeded")``, the partial response kept.

This module imports nothing of allm but the errors, so every layer (the
backends included) can use it without an import circle.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import ValidationError

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_RESPONSE_LIMIT",
    "LIMIT_OPTIONS",
    "MAX_LIMIT",
    "SSE_LIMIT_OPTIONS",
    "check_limits",
]

DEFAULT_LIMIT = 128 * 1024 * 1024
"""The default of ``max_line_bytes``, ``max_event_bytes`` and ``max_argument_bytes``."""

DEFAULT_RESPONSE_LIMIT = 256 * 1024 * 1024
"""The default of ``max_response_bytes``: twice the largest single line allowed."""

MAX_LIMIT = 2**64 - 1
"""The largest limit accepted (a 64-bit byte count)."""

SSE_LIMIT_OPTIONS = ("max_line_bytes", "max_event_bytes")
LIMIT_OPTIONS = (*SSE_LIMIT_OPTIONS, "max_argument_bytes", "max_response_bytes")

_WHY = f"must be a number of bytes from 1 to {MAX_LIMIT}, or None"


def check_limits(
    options: Mapping[str, object], names: tuple[str, ...] = LIMIT_OPTIONS
) -> dict[str, int | None]:
    """The limits among ``options`` (only ``names``), each checked; ValidationError otherwise."""
    limits: dict[str, int | None] = {}
    bad: list[tuple[str, str]] = []
    for name in names:
        if name not in options:
            continue
        value = options[name]
        if value is None or (
            isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_LIMIT
        ):
            limits[name] = value
        else:
            bad.append((name, _WHY))
    if bad:
        raise ValidationError("invalid_options", errors=bad)
    return limits
