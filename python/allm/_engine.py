"""The Engine: which adapter to call, with what model, tools and defaults (Layer B)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._tool import Tool
from .errors import EngineError, ValidationError
from .providers.base import Adapter

__all__ = ["Engine"]

_SECRET_KEYS = frozenset({"api_key", "key", "token", "authorization", "headers", "http_client"})


def _redacted(opts: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ("<redacted>" if k.lower() in _SECRET_KEYS else v) for k, v in opts.items()}


@dataclass(frozen=True, eq=False)
class Engine:
    """An adapter plus the defaults every call through it uses.

    Engines are immutable: ``with_model``, ``put_tool``, ``put_param`` and
    ``put_context`` return new engines that share the adapter instance (its
    connection pool and, for the Fake, its call cursor). An unknown keyword
    raises ``TypeError``. ``repr`` never shows secrets from ``adapter_opts``.
    """

    adapter: type[Adapter] | None = None
    adapter_opts: Mapping[str, Any] | None = None
    model: str | None = None
    tools: tuple[Tool, ...] = ()
    params: Mapping[str, Any] | None = None
    context: Mapping[str, Any] | None = None
    retry: Any = "default"
    _instance: Adapter | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapter_opts", dict(self.adapter_opts or {}))
        object.__setattr__(self, "params", dict(self.params or {}))
        object.__setattr__(self, "context", dict(self.context or {}))
        object.__setattr__(self, "tools", tuple(self.tools))
        if self.adapter is not None and not (
            isinstance(self.adapter, type) and issubclass(self.adapter, Adapter)
        ):
            raise ValidationError("invalid_options", errors=[("adapter", "must be an allm adapter class")])
        if self.retry is not False and self.retry != "default" and not isinstance(self.retry, Mapping):
            raise ValidationError(
                "invalid_options", errors=[("retry", "must be 'default', False or a mapping")]
            )
        if self.adapter is not None:
            object.__setattr__(self, "_instance", self.adapter(retry=self.retry, **(self.adapter_opts or {})))

    def __repr__(self) -> str:
        name = self.adapter.__name__ if self.adapter else None
        return (
            f"Engine(adapter={name}, model={self.model!r}, tools={[t.name for t in self.tools]}, "
            f"adapter_opts={_redacted(self.adapter_opts or {})!r})"
        )

    @property
    def instance(self) -> Adapter:
        """The adapter instance, built on first use; EngineError if there is no adapter."""
        if self.adapter is None:
            raise EngineError("missing_adapter", "the engine has no adapter")
        assert self._instance is not None
        return self._instance

    def _derive(self, **changes: Any) -> Engine:
        new = replace(self, **changes)
        object.__setattr__(new, "_instance", self._instance)
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
        """Release the adapter's pooled resources."""
        if self._instance is not None:
            self._instance.close()

    async def aclose(self) -> None:
        """Async twin of :meth:`close`."""
        if self._instance is not None:
            await self._instance.aclose()
