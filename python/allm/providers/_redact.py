"""Removing secrets from text that came from a provider or a transport error.

Provider error messages sometimes echo the key ("Incorrect API key provided:
sk-..."); transport errors can carry URLs. :func:`redact` blanks the call's
own key, then applies the rules both backends apply to in-stream errors
(known key shapes, bearer tokens, credential-bearing query parameters).
"""

from __future__ import annotations

from .._pure.decoders._redact import redact_known

__all__ = ["redact"]


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with the key and key-like substrings replaced by ``[redacted]``, cut to 2000 characters."""
    if secret:
        text = text.replace(secret, "[redacted]")
    return redact_known(text)
