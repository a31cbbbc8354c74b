"""Checking the ``base_url`` adapter option.

An explicit base URL must be ``https`` unless its host is loopback
(``localhost``, 127.0.0.0/8, ``::1``), and may not carry userinfo
(``user:pass@``), a query or a fragment. It is normalised without a trailing
slash.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

from ..errors import ValidationError

__all__ = ["BaseURL", "check_base_url", "is_loopback"]


@dataclass(frozen=True, slots=True)
class BaseURL:
    """A checked base URL and what the key rules need to know about it."""

    url: str
    default: bool
    loopback: bool


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bad(why: str) -> ValidationError:
    return ValidationError("invalid_options", errors=[("base_url", why)])


def check_base_url(value: object, default: str) -> BaseURL:
    """Validate ``value`` (None: the provider's default)."""
    if value is None:
        return BaseURL(default, True, False)
    if not isinstance(value, str) or not value.strip():
        raise _bad("must be a non-empty string")
    try:
        url = httpx.URL(value.strip())
    except Exception:
        raise _bad("is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise _bad("must be an absolute http(s) URL")
    if url.userinfo:
        raise _bad("must not contain credentials (user:password@)")
    if url.query or url.fragment:
        raise _bad("must not contain a query or a fragment")
    loopback = is_loopback(url.host)
    if url.scheme != "https" and not loopback:
        raise _bad("must use https unless the host is loopback")
    text = str(url).rstrip("/")
    return BaseURL(text, text == default.rstrip("/"), loopback)
