"""Provider error objects inside a stream → AdapterError (docs/internals.md §5, §6.3)."""

from __future__ import annotations

from typing import Any

from ...errors import AdapterError
from ._base import dicts
from ._redact import redact_known

__all__ = ["provider_error", "status_reason"]

_REASONS = {
    "rate_limit_error": "rate_limited",
    "rate_limit_exceeded": "rate_limited",
    "RESOURCE_EXHAUSTED": "rate_limited",
    "overloaded_error": "provider_unavailable",
    "api_error": "provider_unavailable",
    "server_error": "provider_unavailable",
    "UNAVAILABLE": "provider_unavailable",
    "INTERNAL": "provider_unavailable",
    "authentication_error": "authentication_failed",
    "invalid_api_key": "authentication_failed",
    "permission_error": "authentication_failed",
    "API_KEY_INVALID": "authentication_failed",
    "invalid_request_error": "invalid_request",
    "context_length_exceeded": "context_length_exceeded",
}


def status_reason(status: int) -> str | None:
    """The reason for an HTTP status (400 to 599), as the HTTP path maps statuses."""
    if status in (401, 403):
        return "authentication_failed"
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status == 409 or 500 <= status <= 599:
        return "provider_unavailable"
    if 400 <= status <= 499:
        return "invalid_request"
    return None


def _numeric_code(value: Any) -> int | None:
    """A JSON integer code, or a string of one to three ASCII digits."""
    if type(value) is int:
        return value
    if isinstance(value, str) and 0 < len(value) <= 3 and value.isascii() and value.isdigit():
        return int(value)
    return None


def _detail_reason(obj: dict[str, Any]) -> str | None:
    for detail in dicts(obj.get("details")):
        reason = detail.get("reason")
        if isinstance(reason, str) and reason in _REASONS:
            return _REASONS[reason]
    return None


def _reason(obj: dict[str, Any]) -> str:
    reason = _detail_reason(obj)
    if reason is not None:
        return reason
    for key in ("code", "type", "status"):
        value = obj.get(key)
        if isinstance(value, str) and value in _REASONS:
            return _REASONS[value]
    code = _numeric_code(obj.get("code"))
    return (status_reason(code) if code is not None else None) or "unknown"


def provider_error(obj: dict[str, Any], provider: str) -> AdapterError:
    """Map a provider error object: a ``details[].reason`` in the table, then its ``code``,
    ``type``, ``status`` (strings in the table), then a numeric ``code`` as an HTTP status.
    The message is redacted of key material."""
    message = obj.get("message")
    text = redact_known(message) if isinstance(message, str) else None
    return AdapterError(_reason(obj), text, provider=provider)
