"""The adapter seam: what a provider implements to run one model call.

An adapter turns a Request into a *source* (:mod:`allm._source`): an object
that yields every event of the call, one batch per network chunk or script
entry, folds every event it produces, and releases its resources exactly
once. Pre-flight checks run in ``open``/``aopen``; nothing is sent until the
first batch is pulled.

Thread safety: an adapter is shared by every engine derived from the one that
built it, across threads; implementations keep per-call state in their sources.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from .._request import Request
from .._source import AsyncSource, Call, Source
from ..errors import ValidationError

__all__ = ["Adapter"]


class Adapter(ABC):
    """A provider: built once per engine, on first use, from its ``adapter_opts``."""

    name: ClassVar[str] = "adapter"
    call_options: ClassVar[tuple[str, ...]] = ()
    """Per-call options (keywords of ``generate`` and friends) this adapter accepts."""
    drops_unsupported_params: ClassVar[bool] = False
    """Whether the adapter takes ``drop_unsupported_params`` (set by ``Engine``)."""

    def __init__(self, *, retry: Any = "default") -> None:
        self.retry = retry

    @classmethod
    def check_options(cls, retry: Any, opts: dict[str, Any]) -> None:
        """Refuse options the adapter would refuse, without building it (``Engine`` construction).

        The default binds them to the constructor's signature (``TypeError`` for
        an unknown keyword); adapters that validate values override it.
        """
        try:
            inspect.signature(cls).bind(retry=retry, **opts)
        except TypeError as exc:
            accepted = [p for p in inspect.signature(cls).parameters if p not in ("retry", "self")]
            raise ValidationError(
                "invalid_options",
                f"{cls.__name__}: {exc}; accepted options: {', '.join(accepted)}",
                errors=[("adapter_opts", f"{exc}; accepted: {', '.join(accepted)}")],
            ) from None

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
