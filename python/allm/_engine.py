"""The Engine: which adapter to call, with what model, tools and defaults."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

from ._tool import Tool
from .errors import EngineError, ValidationError
from .providers._keys import Secret
from .providers.base import Adapter

__all__ = ["Engine"]

_SECRET_KEYS = frozenset({"api_key", "key", "token", "authorization", "headers", "http_client"})


def _redacted(opts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("<redacted>" if k.lower() in _SECRET_KEYS else v) for k, v in opts.items()}


class _AdapterSlot:
    """The adapter instance an engine and every engine derived from it share.

    Built once, on first use, under a lock (engines are shared across threads).
    """

    __slots__ = ("_adapter", "_instance", "_lock", "_opts", "_retry")

    def __init__(self, adapter: type[Adapter], opts: dict[str, Any], retry: Any) -> None:
        self._adapter = adapter
        self._opts = opts
        self._retry = retry
        self._instance: Adapter | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"_AdapterSlot({self._adapter.__name__}, built={self._instance is not None})"

    def get(self) -> Adapter:
        """The instance, built now if this is its first use."""
        instance = self._instance
        if instance is None:
            with self._lock:
                if self._instance is None:
                    self._instance = self._adapter(retry=self._retry, **self._opts)
                instance = self._instance
        return instance

    @property
    def built(self) -> Adapter | None:
        """The instance if it was built, else None."""
        return self._instance


_ENGINE_OPTIONS = (
    "adapter",
    "adapter_opts",
    "model",
    "tools",
    "params",
    "context",
    "retry",
    "drop_unsupported_params",
)


@dataclass(frozen=True, eq=False, init=False)
class Engine:
    """An adapter plus the defaults every call through it uses.

    Engines are immutable: ``with_model``, ``put_tool``, ``put_param`` and
    ``put_context`` return new engines that share the adapter instance (its
    connection pool and, for the Fake, its call cursor). The adapter's options
    are checked at construction; the adapter itself is built on first use. An
    unknown keyword is a ``ValidationError`` naming the accepted ones (type
    checkers flag it too). ``drop_unsupported_params=True`` makes HTTP adapters
    drop a common request parameter their provider cannot express instead of
    refusing the call.

    Secrets: an ``api_key`` in ``adapter_opts`` is held as a ``Secret`` from
    construction on (``repr`` shows asterisks; pickling refuses it), and
    ``repr(engine)`` never shows ``adapter_opts`` values that may carry one.

    Thread safety: an Engine may be shared by threads and tasks.
    """

    adapter: type[Adapter] | None = None
    adapter_opts: Mapping[str, Any] | None = None
    model: str | None = None
    tools: tuple[Tool, ...] = ()
    params: Mapping[str, Any] | None = None
    context: Mapping[str, Any] | None = None
    retry: Any = "default"
    drop_unsupported_params: bool = False
    _slot: _AdapterSlot | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(
        self,
        adapter: type[Adapter] | None = None,
        adapter_opts: Mapping[str, Any] | None = None,
        model: str | None = None,
        tools: tuple[Tool, ...] | list[Tool] = (),
        params: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        retry: Any = "default",
        drop_unsupported_params: bool = False,
        **unknown: NoReturn,
    ) -> None:
        if unknown:
            raise ValidationError(
                "invalid_options",
                errors=[
                    (name, f"unknown Engine option; accepted: {', '.join(_ENGINE_OPTIONS)}")
                    for name in sorted(unknown)
                ],
            )
        values = {
            "adapter": adapter,
            "adapter_opts": adapter_opts,
            "model": model,
            "tools": tools,
            "params": params,
            "context": context,
            "retry": retry,
            "drop_unsupported_params": drop_unsupported_params,
            "_slot": None,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        opts = dict(self.adapter_opts or {})
        key = opts.get("api_key")
        if isinstance(key, str):
            opts["api_key"] = Secret(key)
        object.__setattr__(self, "adapter_opts", opts)
        object.__setattr__(self, "params", dict(self.params or {}))
        object.__setattr__(self, "context", dict(self.context or {}))
        object.__setattr__(self, "tools", tuple(self.tools))
        retry = cast(object, self.retry)
        if retry is not False and retry != "default" and not isinstance(retry, Mapping):
            raise ValidationError(
                "invalid_options", errors=[("retry", "must be 'default', False or a mapping")]
            )
        adapter = cast(object, self.adapter)
        if adapter is None:
            return
        if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
            raise ValidationError("invalid_options", errors=[("adapter", "must be an allm adapter class")])
        if not isinstance(cast(object, self.drop_unsupported_params), bool):
            raise ValidationError("invalid_options", errors=[("drop_unsupported_params", "must be a bool")])
        if self.drop_unsupported_params and adapter.drops_unsupported_params:
            opts.setdefault("drop_unsupported_params", True)
        adapter.check_options(retry, opts)
        object.__setattr__(self, "_slot", _AdapterSlot(adapter, opts, retry))

    def __repr__(self) -> str:
        name = self.adapter.__name__ if self.adapter else None
        return (
            f"Engine(adapter={name}, model={self.model!r}, tools={[t.name for t in self.tools]}, "
            f"adapter_opts={_redacted(self.adapter_opts or {})!r})"
        )

    @property
    def instance(self) -> Adapter:
        """The adapter instance, built on first use; EngineError if there is no adapter."""
        if self._slot is None:
            raise EngineError("missing_adapter", "the engine has no adapter")
        return self._slot.get()

    def _derive(self, **changes: Any) -> Engine:
        """A copy with ``changes`` (already normalized) sharing this engine's adapter slot."""
        new = object.__new__(Engine)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def with_model(self, model: str) -> Engine:
        """A copy using ``model``."""
        return self._derive(model=model)

    def put_tool(self, tool: Tool) -> Engine:
        """A copy with ``tool`` added, replacing a tool of the same name."""
        kept = tuple(t for t in self.tools if t.name != tool.name)
        return self._derive(tools=(*kept, tool))

    def put_param(self, key: str, value: Any) -> Engine:
        """A copy with one default request parameter set."""
        return self._derive(params={**(self.params or {}), key: value})

    def put_context(self, key: str, value: Any) -> Engine:
        """A copy with one context entry (passed to tool handlers) set."""
        return self._derive(context={**(self.context or {}), key: value})

    def close(self) -> None:
        """Release the adapter's pooled resources (nothing when it was never built)."""
        instance = self._slot.built if self._slot is not None else None
        if instance is not None:
            instance.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        instance = self._slot.built if self._slot is not None else None
        if instance is not None:
            await instance.aclose()


Engine.__module__ = "allm"
