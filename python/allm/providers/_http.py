"""What every HTTP provider shares: options, keys, clients and sources.

The machinery is split by concern:

* :mod:`._clients`: the validated options, the transport choice and the pooled clients;
* :mod:`._attempts`: the I/O-free state of one call (attempts, the retry
  rule, decoding, the idle clock, bounded error bodies and tails);
* :mod:`._sources`: the thin sync and async drivers of that state, over the
  native transport or httpx.

Redirects are never followed (the key must not travel to another origin).
Thread safety: an adapter may be shared across threads and event loops.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import httpx

from .._request import Request
from .._results import Response
from .._retry import RetryPolicy
from .._source import AsyncSource, Call, Source
from ._attempts import AttemptConfig, Attempts
from ._clients import Clients, HttpOptions, Prepared
from ._keys import Secret, resolve_key
from ._params import apply_common_params, merge_options
from ._sources import AsyncHttpSource, HttpSource
from .base import Adapter

__all__ = ["HttpAdapter"]


class HttpAdapter(Adapter):
    """The base of the HTTP providers.

    Subclasses set ``provider``, ``default_base_url``, ``env_var`` (and
    ``extra_options``) and implement :meth:`prepare` (request translation)
    and :meth:`auth_headers`.
    """

    provider: ClassVar[str] = "http"
    default_base_url: ClassVar[str] = ""
    env_var: ClassVar[str] = ""
    extra_options: ClassVar[tuple[str, ...]] = ()
    drops_unsupported_params: ClassVar[bool] = True

    def __init__(self, *, retry: Any = "default", **opts: Any) -> None:
        super().__init__(retry=retry)
        self.options = self.parse_options(retry, opts)
        self.clients = Clients(self.options)
        self.config = AttemptConfig(
            provider=self.provider,
            policy=self.options.policy,
            idle=self.options.idle,
            deadline=self.options.deadline,
            parse_body=self.parse_body,
            limits=self.options.limits,
            timeout=self.options.request_timeout(),
            auth_headers=self.auth_headers,
        )

    @classmethod
    def parse_options(cls, retry: Any, opts: dict[str, Any]) -> HttpOptions:
        """The validated common options (subclasses also check their ``extra_options``)."""
        return HttpOptions.parse(cls.__name__, cls.default_base_url, cls.extra_options, retry, opts)

    @classmethod
    def check_options(cls, retry: Any, opts: dict[str, Any]) -> None:
        """Refuse bad options without building the adapter."""
        cls.parse_options(retry, opts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, transport={self.transport!r})"

    @abstractmethod
    def prepare(self, request: Request, call: Call, secret: Secret | None) -> Prepared:
        """Translate ``request`` into a Prepared call (pre-flight errors raise here)."""

    def settle(self, body: dict[str, Any], request: Request, *, wire: str, owned: frozenset[str]) -> None:
        """Finish ``body`` for ``wire``: the request's common parameters translated (or refused),
        then its ``options`` deep-merged, never over what the wire owns."""
        drop = self.options.drop_unsupported_params
        apply_common_params(body, request, wire=wire, provider=self.provider, drop_unsupported=drop)
        merge_options(body, request.options, owned=owned, provider=self.provider)

    @abstractmethod
    def auth_headers(self, key: str) -> dict[str, str]:
        """The credential header(s) for ``key``."""

    @abstractmethod
    def parse_body(self, body: dict[str, Any]) -> Response:
        """The wire's non-streaming parser (a server may answer a stream request with JSON)."""

    @property
    def base_url(self) -> str:
        """The base URL calls go to."""
        return self.options.base.url

    @property
    def transport(self) -> str:
        """The HTTP transport of every call: "native" or "httpx"."""
        return self.options.transport

    @property
    def policy(self) -> RetryPolicy:
        """The retry policy of every call."""
        return self.options.policy

    def request_timeout(self) -> httpx.Timeout:
        """The per-request timeout: the read timeout never exceeds the idle timeout."""
        return self.config.timeout

    def _attempts(self, request: Request, call: Call) -> Attempts:
        base = self.options.base
        secret = resolve_key(
            provider=self.provider,
            explicit=self.options.key,
            env_var=self.env_var,
            default_host=base.default,
            loopback=base.loopback,
        )
        return Attempts(self.config, self.prepare(request, call, secret), call.request_id, call.trace)

    def open(self, request: Request, call: Call) -> Source:
        """Resolve the key and translate the request; nothing is sent yet."""
        return HttpSource(self.clients, self._attempts(request, call))

    def aopen(self, request: Request, call: Call) -> AsyncSource:
        """Async twin of :meth:`open`."""
        return AsyncHttpSource(self.clients, self._attempts(request, call))

    def close(self) -> None:
        """Close the clients this adapter created (never the user's)."""
        self.clients.close()

    async def aclose(self) -> None:
        """Close the clients this adapter created, async one included."""
        await self.clients.aclose()
