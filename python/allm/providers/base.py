"""The adapter seam: what a provider implements to run one model call.

An adapter turns a Request into a *source*: an object that produces batches of
events (one batch per network chunk or script entry), folds every event it
produces, and releases its resources exactly once. Pre-flight checks run in
``open``/``aopen``; nothing is sent until the first batch is pulled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._request import Request
from .._results import Response
from ..events import Event

__all__ = ["Adapter", "AsyncSource", "Call", "Filters", "Source"]

Filters = tuple[bool, bool, bool]
"""(emit_text_deltas, emit_tool_deltas, include_raw_chunks)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One call's identity and per-call adapter options."""

    request_id: str
    options: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)


class Source(ABC):
    """A synchronous model call in progress."""

    @abstractmethod
    def batches(self, filters: Filters | None) -> Iterator[list[Event]]:
        """Yield events per chunk, filtered by ``filters`` (None: every event)."""

    @abstractmethod
    def drain(self) -> None:
        """Consume the rest of the call, folding it without building events where possible."""

    @abstractmethod
    def response(self) -> Response:
        """The fold of every event produced so far, filtered or not."""

    @abstractmethod
    def close(self) -> None:
        """Release the call's resources; safe to call more than once."""


class AsyncSource(ABC):
    """An asynchronous model call in progress."""

    @abstractmethod
    def batches(self, filters: Filters | None) -> AsyncIterator[list[Event]]:
        """Yield events per chunk, filtered by ``filters`` (None: every event)."""

    @abstractmethod
    async def drain(self) -> None:
        """Consume the rest of the call, folding it."""

    @abstractmethod
    def response(self) -> Response:
        """The fold of every event produced so far."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the call's resources; safe to call more than once."""

    def close_now(self) -> None:  # noqa: B027 - an optional hook, a no-op by default
        """Best-effort synchronous release (used when the stream is garbage collected)."""


class Adapter(ABC):
    """A provider: built once per engine from its ``adapter_opts``."""

    name: ClassVar[str] = "adapter"

    def __init__(self, *, retry: Any = "default") -> None:
        self.retry = retry

    def requires_structured_finalize(self, request: Request) -> bool:
        """Whether tools and a JSON schema cannot be combined in one call."""
        return False

    @abstractmethod
    def open(self, request: Request, call: Call) -> Source:
        """Run pre-flight checks and return a source; sends nothing yet."""

    @abstractmethod
    def aopen(self, request: Request, call: Call) -> AsyncSource:
        """Async twin of :meth:`open`."""

    def close(self) -> None:  # noqa: B027 - adapters without pooled resources need nothing
        """Release pooled resources (HTTP clients)."""

    async def aclose(self) -> None:  # noqa: B027 - see close
        """Async twin of :meth:`close`."""
