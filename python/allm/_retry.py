"""Retry policy for provider calls: which failures are retried, and how long to wait.

The engine's ``retry`` option reaches every adapter:

* ``"default"``: 2 retries (3 attempts), 0.5 s base delay doubling per attempt,
  8 s cap, each delay multiplied by a jitter factor drawn from [0.75, 1];
* ``False``: one attempt, never retried;
* a mapping with any of ``max_retries`` (int >= 0), ``base_delay`` (seconds),
  ``max_delay`` (seconds), ``jitter`` (the lowest jitter factor, in [0, 1]),
  ``max_retry_after`` (seconds; a server-requested wait above it is not waited
  for and the call fails with ``retry_after_ms`` set). Unknown keys raise
  ``ValidationError("invalid_options")``.

Only failures *before the first event reaches the caller* are retried: connect
errors, statuses 408/409/429/5xx (529 included), and a provider overload or
rate-limit error arriving as the first event. ``retry-after-ms`` and
``Retry-After`` (seconds or an HTTP date) are honoured up to ``max_retry_after``;
``x-should-retry: true|false`` overrides the status rule.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from .errors import ValidationError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "parse_retry_after", "status_is_retryable"]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
_KEYS = ("max_retries", "base_delay", "max_delay", "jitter", "max_retry_after")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to wait between attempts."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.75
    max_retry_after: float = 60.0

    @classmethod
    def from_option(cls, retry: Any, max_retries: int | None = None) -> RetryPolicy:
        """Build a policy from the engine's ``retry`` value and the adapter's ``max_retries``."""
        errors: list[tuple[str, str]] = []
        if retry is False:
            policy = cls(max_retries=0)
        elif retry is None or retry == "default" or retry is True:
            policy = cls()
        elif isinstance(retry, Mapping):
            values: dict[str, Any] = {}
            entries: Mapping[str, Any] = cast("Mapping[str, Any]", retry)
            for key, value in entries.items():
                if key not in _KEYS:
                    errors.append((f"retry.{key}", f"unknown key; known keys: {', '.join(_KEYS)}"))
                elif key == "max_retries":
                    if not _is_int(value) or value < 0:
                        errors.append(("retry.max_retries", "must be an int >= 0"))
                    values[key] = value
                elif key == "jitter":
                    if not _is_number(value) or not 0.0 <= value <= 1.0:
                        errors.append(("retry.jitter", "must be a number in [0, 1]"))
                    values[key] = float(value) if _is_number(value) else value
                else:
                    if not _is_number(value) or value < 0:
                        errors.append((f"retry.{key}", "must be a finite number of seconds >= 0"))
                    values[key] = float(value) if _is_number(value) else value
            if errors:
                raise ValidationError("invalid_options", errors=errors)
            policy = cls(**values)
        else:
            raise ValidationError(
                "invalid_options", errors=[("retry", "must be 'default', False or a mapping")]
            )
        if max_retries is not None:
            if not _is_int(max_retries) or max_retries < 0:
                raise ValidationError("invalid_options", errors=[("max_retries", "must be an int >= 0")])
            policy = cls(
                max_retries, policy.base_delay, policy.max_delay, policy.jitter, policy.max_retry_after
            )
        return policy

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The delay in seconds before retry ``retry_number`` (1-based), jitter applied."""
        base = min(self.base_delay * (2.0 ** (retry_number - 1)), self.max_delay)
        factor = 1.0 - (1.0 - self.jitter) * (rng or random).random()
        return base * factor


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait the server asked for, in seconds, or None when absent or unusable.

    Reads ``retry-after-ms`` first, then ``Retry-After`` as seconds (floats
    allowed) or an HTTP date. NaN, infinities, negative values and unparsable
    text give None; zero gives 0.0.
    """
    raw_ms = _header(headers, "retry-after-ms")
    if raw_ms is not None:
        seconds = _number(raw_ms)
        if seconds is not None:
            return seconds / 1000.0
    raw = _header(headers, "retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds
    try:
        parsed = email.utils.parsedate_tz(raw)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if parsed is None:
        return None
    try:
        when = email.utils.mktime_tz(parsed)
    except (OverflowError, ValueError, TypeError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _number(text: str) -> float | None:
    if len(text) > 20:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def status_is_retryable(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with ``status`` may be retried (``x-should-retry`` wins)."""
    should = (_header(headers, "x-should-retry") or "").lower()
    if should == "true":
        return True
    if should == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500
