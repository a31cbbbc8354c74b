"""Removing secrets from text that came from a provider or a transport error.

Provider error messages sometimes echo the key ("Incorrect API key provided:
sk-..."); transport errors can carry URLs. :func:`redact` blanks known key
shapes, the call's own key, and credential-bearing query parameters.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_PATTERNS = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{10,}"),
    re.compile(r"ya29\.[0-9A-Za-z_\-.]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{6,}"),
    re.compile(r"(?i)([?&](?:key|api_key|token|access_token)=)[^&\s\"']+"),
)
_MAX = 2000


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with key-like substrings replaced by ``[redacted]``, cut to 2000 characters."""
    if secret:
        text = text.replace(secret, "[redacted]")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    if len(text) > _MAX:
        text = text[:_MAX] + "..."
    return text
