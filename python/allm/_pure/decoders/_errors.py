"""Provider error objects inside a stream → AdapterError (docs/internals.md §5, §6.3)."""

from __future__ import annotations

from typing import Any

from ...errors import AdapterError

__all__ = ["provider_error"]

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
    "invalid_request_error": "invalid_request",
    "context_length_exceeded": "context_length_exceeded",
}


def provider_error(obj: dict[str, Any], provider: str) -> AdapterError:
    """Map a provider error object by its ``code``, then ``type``, then ``status``."""
    reason = "unknown"
    for key in ("code", "type", "status"):
        value = obj.get(key)
        if isinstance(value, str) and value in _REASONS:
            reason = _REASONS[value]
            break
    message = obj.get("message")
    return AdapterError(reason, message if isinstance(message, str) else None, provider=provider)
