"""Turning HTTP failures into AdapterErrors.

:func:`from_status` classifies an error status and its body (read before the
stream is given up); :func:`from_exception` classifies an httpx exception. The
provider's message is kept with keys redacted; the httpx exception itself is
never attached (its request carries the credential header), only its class
name in ``metadata["exception"]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from .._pure.decoders._base import as_dict, as_list, dicts
from .._pure.decoders._errors import status_reason
from .._retry import parse_retry_after
from ..errors import AdapterError
from ._redact import redact

__all__ = [
    "REQUEST_ID_HEADERS",
    "from_body_error",
    "from_exception",
    "from_status",
    "html_page_error",
    "request_id_of",
]

REQUEST_ID_HEADERS = {
    "openai": ("x-request-id",),
    "anthropic": ("request-id", "x-request-id"),
    "gemini": ("x-request-id", "x-goog-request-id"),
}

_CONTEXT_HINTS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "exceeds the maximum number of tokens",
    "input token count",
)
_TYPE_REASONS = {
    "rate_limit_error": "rate_limited",
    "rate_limit_exceeded": "rate_limited",
    "resource_exhausted": "rate_limited",
    "insufficient_quota": "rate_limited",
    "overloaded_error": "provider_unavailable",
    "api_error": "provider_unavailable",
    "server_error": "provider_unavailable",
    "unavailable": "provider_unavailable",
    "internal": "provider_unavailable",
    "authentication_error": "authentication_failed",
    "invalid_api_key": "authentication_failed",
    "permission_error": "authentication_failed",
    "permission_denied": "authentication_failed",
    "unauthenticated": "authentication_failed",
    "api_key_invalid": "authentication_failed",
    "content_filter": "content_filter",
    "content_policy_violation": "content_filter",
    "deadline_exceeded": "timeout",
    "timeout_error": "timeout",
}


def request_id_of(provider: str, headers: Mapping[str, str]) -> str | None:
    """The provider's request id from the response headers, if any."""
    for name in REQUEST_ID_HEADERS.get(provider, ("x-request-id",)):
        value = headers.get(name)
        if value:
            return value[:200]
    return None


def _first(body: Any) -> dict[str, Any] | None:
    """The body's JSON object, or the first item of a JSON list when it is one."""
    items = as_list(body)
    if items is not None:
        return as_dict(items[0]) if items else None
    return as_dict(body)


def _error_object(body: Any) -> dict[str, Any]:
    obj = _first(body)
    if obj is None:
        return {}
    err = obj.get("error")
    nested = as_dict(err)
    if nested is not None:
        return nested
    if isinstance(err, str):
        return {"message": err}
    if "message" in obj or "detail" in obj:
        return {"message": obj.get("message") or obj.get("detail")}
    return {}


def _by_status(status: int) -> str:
    if status >= 600:
        return "provider_unavailable"
    return status_reason(status) or "unknown"


def _detail_reasons(err: dict[str, Any]) -> list[str]:
    """Lower-cased ``details[].reason`` strings (Gemini: ``API_KEY_INVALID``)."""
    reasons = (d.get("reason") for d in dicts(err.get("details")))
    return [r.lower() for r in reasons if isinstance(r, str)]


def _parse_body(text: str) -> Any:
    """The JSON of an error body; for an event stream, the first ``data:`` payload
    holding an ``error``. ``None`` when neither parses."""
    try:
        return json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):
        pass
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        try:
            payload = json.loads(line[5:])
        except (ValueError, RecursionError):
            continue
        error_payload = as_dict(payload)
        if error_payload is not None and "error" in error_payload:
            return error_payload
    return None


def _reason(status: int, kind: str, code: str, message: str, details: list[str]) -> str:
    lowered = message.lower()
    if code == "context_length_exceeded" or (
        status in (0, 400, 413, 422) and any(h in lowered for h in _CONTEXT_HINTS)
    ):
        return "context_length_exceeded"
    if "content_filter" in (kind, code) or code == "content_policy_violation":
        return "content_filter"
    if status in (401, 403, 429):
        return _by_status(status)
    for key in (*details, kind, code):
        if key in _TYPE_REASONS:
            return _TYPE_REASONS[key]
    return _by_status(status) if status else "unknown"


def from_status(
    provider: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secret: str | None = None,
) -> AdapterError:
    """Classify an HTTP error status with its (already read) body."""
    text = body.decode("utf-8", errors="replace")
    parsed = _parse_body(text)
    err = _error_object(parsed)
    kind = str(err.get("type") or err.get("status") or "").lower()
    code = str(err.get("code") or "").lower() if not isinstance(err.get("code"), int) else ""
    message = err.get("message")
    if not isinstance(message, str) or not message:
        message = text.strip()[:300] if text.strip() and parsed is None else f"HTTP {status}"
    retry_after = parse_retry_after(headers)
    metadata: dict[str, Any] = {}
    if kind:
        metadata["provider_type"] = kind
    if code:
        metadata["provider_code"] = code
    return AdapterError(
        _reason(status, kind, code, message, _detail_reasons(err)),
        redact(message, secret),
        provider=provider,
        status=status,
        retry_after_ms=None if retry_after is None else int(retry_after * 1000),
        request_id=request_id_of(provider, headers),
        metadata=metadata,
    )


def from_body_error(
    provider: str, status: int, headers: Mapping[str, str], body: bytes, *, secret: str | None = None
) -> AdapterError | None:
    """For a 2xx body that is not an event stream: the error it holds, if it is one."""
    try:
        parsed = json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    first = _first(parsed)
    if first is None or "error" not in first:
        return None
    err = _error_object(parsed)
    code = err.get("code")
    effective = code if isinstance(code, int) and 400 <= code < 600 else 0
    error = from_status(provider, effective, headers, body, secret=secret)
    error.status = status
    return error


def html_page_error(provider: str, head: bytes) -> AdapterError | None:
    """For the first bytes of an event-stream body: ``malformed_response`` when they
    are an HTML page (a proxy's error or login page served as ``text/event-stream``)."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start != b"<":
        return None
    return AdapterError("malformed_response", "expected an event stream, got an HTML page", provider=provider)


def from_exception(
    provider: str, exc: BaseException, *, phase: str, secret: str | None = None
) -> AdapterError:
    """Classify a transport failure; ``phase`` is "connect" or "stream" (for the message)."""
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        reason = "timeout"
        what = {
            "ConnectTimeout": "connecting timed out",
            "ReadTimeout": "no data arrived within the read timeout",
            "WriteTimeout": "sending the request timed out",
            "PoolTimeout": "no connection became free in the pool in time",
        }.get(name, "timed out")
    elif isinstance(exc, httpx.DecodingError):
        reason, what = "malformed_response", "the response body could not be decoded"
    elif isinstance(exc, (httpx.TransportError, OSError)):
        reason, what = (
            "network_error",
            (
                "the connection could not be made"
                if phase == "connect"
                else "the connection failed mid-stream"
            ),
        )
    else:
        reason, what = "network_error", "the HTTP request failed"
    detail = redact(str(exc), secret) if str(exc) else ""
    message = f"{what} ({name}{': ' + detail if detail else ''})"
    return AdapterError(reason, message, provider=provider, metadata={"exception": name, "phase": phase})
