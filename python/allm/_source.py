"""The source seam: what the runtime pulls events from (providers implement it).

A *source* is one model call in progress. It

* yields **every** event it produces, unfiltered, one list per network chunk
  or script entry (:meth:`Source.batches`; filtering, ``on_event`` and
  request-id stamping belong to :class:`allm._event_path.EventPath`);
* folds every event itself: :meth:`Source.response` is the call's single fold
  (over HTTP, the backend ``StreamDecoder``'s fold);
* drains quietly on the ``generate`` path (:meth:`Source.drain`: fold only, no
  per-event Python objects where the source can avoid them);
* sends nothing until its batches are first pulled, and releases its
  resources exactly once, whoever asks (``close`` is idempotent).

Thread safety: a source belongs to one stream and is used by one thread (or
one task) at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._results import Response
from .events import Event

if TYPE_CHECKING:
    from ._call_telemetry import CallTrace

__all__ = ["AsyncSource", "Call", "Source"]


@dataclass(frozen=True, slots=True)
class Call:
    """One call's identity, per-call adapter options, and its telemetry (None when nobody listens)."""

    request_id: str
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    context: dict[str, Any] = field(default_factory=dict[str, Any])
    trace: CallTrace | None = field(default=None, compare=False, repr=False)


class Source(ABC):
    """A synchronous model call in progress."""

    @abstractmethod
    def batches(self) -> Generator[list[Event], None, None]:
        """Yield every event, one list per chunk; the first pull sends the call."""

    @abstractmethod
    def drain(self) -> None:
        """Consume the rest of the call, folding it without building events where possible."""

    @abstractmethod
    def response(self) -> Response:
        """The fold of every event produced so far."""

    @abstractmethod
    def close(self) -> None:
        """Release the call's resources; safe to call more than once."""


class AsyncSource(ABC):
    """An asynchronous model call in progress (the mirror of :class:`Source`)."""

    @abstractmethod
    def batches(self) -> AsyncGenerator[list[Event], None]:
        """Yield every event, one list per chunk; the first pull sends the call."""

    @abstractmethod
    async def drain(self) -> None:
        """Consume the rest of the call, folding it without building events where possible."""

    @abstractmethod
    def response(self) -> Response:
        """The fold of every event produced so far."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the call's resources; safe to call more than once."""

    @abstractmethod
    def close_now(self) -> None:
        """Release without awaiting (garbage collection); safe to call more than once."""
