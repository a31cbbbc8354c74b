"""Removing key material from provider-supplied text (twin of the native ``redact``).

Known key shapes, bearer tokens and credential query parameters become
``[redacted]``; the text is cut to 2000 characters. Patterns are ASCII-only
(``re.ASCII``) so that both backends read them alike.
"""

from __future__ import annotations

import re

__all__ = ["redact_known"]

_PATTERNS = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"AIza[0-9A-Za-z_\-]{10,}"),
    re.compile(r"ya29\.[0-9A-Za-z_\-.]{6,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{6,}", re.ASCII),
    re.compile(r"(?i)([?&](?:key|api_key|token|access_token)=)[^&\s\"']+", re.ASCII),
)
_MAX = 2000


def _keep_prefix(match: re.Match[str]) -> str:
    return (match.group(1) if match.groups() else "") + "[redacted]"


def redact_known(text: str) -> str:
    """``text`` with key-like substrings replaced by ``[redacted]``, cut to 2000 characters."""
    for pattern in _PATTERNS:
        text = pattern.sub(_keep_prefix, text)
    if len(text) > _MAX:
        text = text[:_MAX] + "..."
    return text
