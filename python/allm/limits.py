"""Stream size limits: their names, default and one check shared by every entry point.

``max_line_bytes`` and ``max_event_bytes`` bound the SSE decoder; ``max_argument_bytes``
bounds one tool call's argument text. Each is a positive number of bytes, or None
to disable it; the default is :data:`DEFAULT_LIMIT`. A breach ends the stream with
``StreamError("limit_exceeded")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ValidationError
from .sse import DEFAULT_LIMIT

__all__ = ["DEFAULT_LIMIT", "LIMIT_OPTIONS", "check_limits"]

LIMIT_OPTIONS = ("max_line_bytes", "max_event_bytes", "max_argument_bytes")


def check_limits(options: Mapping[str, Any], names: tuple[str, ...] = LIMIT_OPTIONS) -> dict[str, int | None]:
    """The limits among ``options`` (only ``names``), each checked; ValidationError otherwise."""
    limits = {name: options[name] for name in names if name in options}
    bad = [
        (name, "must be a positive number of bytes or None")
        for name, value in limits.items()
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0)
    ]
    if bad:
        raise ValidationError("invalid_options", errors=bad)
    return limits
