"""The pure-Python twin of ``allm._native``: the same internal API, in Python.

See docs/internals.md for the contract both backends implement.
"""

from __future__ import annotations

from .._version import __version__ as VERSION
from .filter import filter_events
from .fold import Fold
from .partial_json import parse_partial_json
from .pipeline import StreamDecoder, collect
from .sse import SSEDecoder

BUILD_PROFILE = "python"

__all__ = [
    "BUILD_PROFILE",
    "VERSION",
    "Fold",
    "SSEDecoder",
    "StreamDecoder",
    "collect",
    "filter_events",
    "parse_partial_json",
]
