"""The allm exception tree, defined once and raised by both backends.

    AllmError
    ├── EngineError        the engine is unusable (no adapter, no key, ...)
    ├── AdapterError       the provider said no, or could not be reached
    ├── StreamError        the byte stream could not be decoded or ended early
    ├── ToolError          a tool handler failed
    ├── ValidationError    a value failed validation (carries every problem found)
    └── SessionError       an operation is illegal in the session's state

Every error has a ``reason`` from its class's closed set (an unknown reason
raises ``ValueError`` at construction), a human ``message``, an optional
``cause`` and a ``metadata`` dict. Errors compare equal by class, reason,
message and their public fields, so the two backends can be checked for parity.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AdapterError",
    "AllmError",
    "EngineError",
    "SessionError",
    "StreamError",
    "ToolError",
    "ValidationError",
]


class AllmError(Exception):
    """Base of every error allm raises or reports in an ``error`` event."""

    reasons: ClassVar[frozenset[str]] = frozenset({"unknown"})
    _extra_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        reason: str = "unknown",
        message: str | None = None,
        *,
        cause: BaseException | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if reason not in self.reasons:
            raise ValueError(
                f"{type(self).__name__} has no reason {reason!r}; legal reasons: {sorted(self.reasons)}"
            )
        self.reason = reason
        self.message = message if message is not None else reason.replace("_", " ")
        self.cause = cause
        self.metadata = dict(metadata) if metadata else {}
        super().__init__(self.message)
        if cause is not None:
            self.__cause__ = cause

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"

    def __repr__(self) -> str:
        fields = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in self._extra_fields
            if getattr(self, name) is not None
        )
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r}{fields})"

    def _key(self) -> tuple[Any, ...]:
        return (
            type(self),
            self.reason,
            self.message,
            tuple(getattr(self, name) for name in self._extra_fields),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AllmError):
            return NotImplemented
        return self._key() == other._key() and self.metadata == other.metadata

    def __hash__(self) -> int:
        return hash(self._key())


class EngineError(AllmError):
    """The engine cannot run the call: a missing adapter, key or model."""

    reasons = frozenset(
        {
            "missing_adapter",
            "missing_model",
            "missing_key",
            "unknown_tool",
            "invalid_engine",
            "unsupported_response_format",
            "unknown",
        }
    )
    _extra_fields = ("provider",)

    def __init__(
        self,
        reason: str = "unknown",
        message: str | None = None,
        *,
        provider: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.provider = provider
        super().__init__(reason, message, **kwargs)


class AdapterError(AllmError):
    """The provider refused the call, failed, or could not be reached."""

    reasons = frozenset(
        {
            "authentication_failed",
            "rate_limited",
            "invalid_request",
            "context_length_exceeded",
            "content_filter",
            "provider_unavailable",
            "timeout",
            "network_error",
            "malformed_response",
            "unsupported_feature",
            "no_scripted_response",
            "unknown",
        }
    )
    _extra_fields = ("provider", "status", "retry_after_ms", "request_id")

    def __init__(
        self,
        reason: str = "unknown",
        message: str | None = None,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after_ms: int | None = None,
        request_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.provider = provider
        self.status = status
        self.retry_after_ms = retry_after_ms
        self.request_id = request_id
        super().__init__(reason, message, **kwargs)


class StreamError(AllmError):
    """The stream could not be decoded, broke a limit, or ended early."""

    reasons = frozenset(
        {
            "adapter_error",
            "cancelled",
            "timeout",
            "malformed_event",
            "limit_exceeded",
            "incomplete",
            "concurrent_use",
            "unknown",
        }
    )


class ToolError(AllmError):
    """A tool handler raised, timed out or returned something unusable."""

    reasons = frozenset(
        {
            "handler_raised",
            "timeout",
            "invalid_return",
            "invalid_arguments",
            "not_found",
            "encoding_failed",
            "unknown",
        }
    )
    _extra_fields = ("tool_name", "tool_call_id")

    def __init__(
        self,
        reason: str = "handler_raised",
        message: str | None = None,
        *,
        tool_name: str | None = None,
        tool_call_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.tool_name = tool_name
        self.tool_call_id = tool_call_id
        super().__init__(reason, message, **kwargs)


class ValidationError(AllmError):
    """A value failed validation; ``errors`` lists every (path, reason) found."""

    reasons = frozenset(
        {
            "invalid_request",
            "invalid_message",
            "invalid_tool",
            "invalid_thread",
            "invalid_session",
            "invalid_json",
            "invalid_options",
            "invalid_input",
            "unknown",
        }
    )

    def __init__(
        self,
        reason: str = "invalid_request",
        message: str | None = None,
        *,
        errors: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.errors: list[tuple[str, str]] = list(errors or [])
        if message is None and self.errors:
            message = "; ".join(f"{path}: {why}" for path, why in self.errors)
        super().__init__(reason, message, **kwargs)

    def _key(self) -> tuple[Any, ...]:
        return (*super()._key(), tuple(self.errors))


class SessionError(AllmError):
    """The operation is not legal in the session's current status."""

    reasons = frozenset(
        {
            "session_in_error_state",
            "invalid_status_for_operation",
            "unknown_tool_call_id",
            "unknown",
        }
    )
