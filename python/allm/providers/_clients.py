"""HTTP adapter options and the clients they configure.

:class:`HttpOptions` is the validated form of an HTTP adapter's ``adapter_opts``
(every refusal is a ``ValidationError`` naming the option); :class:`Clients`
owns the pooled clients of the adapter's transport: the native one (one pool
for sync calls, one for async calls, any event loop), or httpx (the user's, or
ours: one sync client, and one async client per event loop), each created on
first use. :class:`Prepared` is one call translated and ready to send.

The transport (option ``transport``, else the ``ALLM_HTTP_TRANSPORT``
environment variable, else automatic) is ``"native"`` when the native backend
is loaded and no ``http_client`` was given, and ``"httpx"`` otherwise.

Thread safety: ``Clients`` may be shared across threads (a lock guards the
creation and closing of our clients); ``HttpOptions`` and ``Prepared`` are
immutable.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import _backend  # pyright: ignore[reportPrivateUsage]
from .._backend import TRANSPORT_ENV
from .._limits import LIMIT_OPTIONS, check_limits
from .._retry import RetryPolicy
from ..errors import ValidationError
from ._keys import Secret
from ._urls import BaseURL, check_base_url

__all__ = ["DEFAULT_IDLE_TIMEOUT", "TRANSPORT_ENV", "Clients", "HttpOptions", "Prepared", "encode_json"]

TRANSPORTS = ("native", "httpx")

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
DEFAULT_IDLE_TIMEOUT = 60.0
DEFAULT_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)
COMMON_OPTIONS = (
    "api_key",
    "base_url",
    "timeout",
    "idle_timeout",
    "http_client",
    "max_retries",
    "drop_unsupported_params",
    "deadline",
    "transport",
    *LIMIT_OPTIONS,
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One call's request, translated and ready to send (the key is added at send time)."""

    url: str
    body: bytes
    wire: str
    headers: dict[str, str] = field(default_factory=dict[str, str])
    secret: Secret | None = field(default=None, repr=False)


def encode_json(body: Mapping[str, Any]) -> bytes:
    """The request body as compact UTF-8 JSON; ValidationError when it is not JSON-serializable."""
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValidationError("invalid_request", f"the request cannot be encoded as JSON: {exc}") from None


@dataclass(frozen=True, slots=True)
class HttpOptions:
    """The validated options every HTTP adapter shares."""

    key: Secret | None
    base: BaseURL
    timeout: httpx.Timeout
    idle: float | None
    limits: dict[str, int | None]
    policy: RetryPolicy
    client: httpx.Client | httpx.AsyncClient | None = field(repr=False)
    drop_unsupported_params: bool = False
    deadline: float | None = None
    transport: str = "httpx"

    @classmethod
    def parse(
        cls, owner: str, default_base_url: str, extra: tuple[str, ...], retry: Any, opts: Mapping[str, Any]
    ) -> HttpOptions:
        """Check ``opts`` for the adapter class named ``owner``, which also knows ``extra`` options."""
        known = COMMON_OPTIONS + extra
        unknown = sorted(set(opts) - set(known))
        if unknown:
            raise ValidationError(
                "invalid_options",
                errors=[(name, f"unknown option for {owner}; known: {', '.join(known)}") for name in unknown],
            )
        key = opts.get("api_key")
        if key is not None and not isinstance(key, (str, Secret)):
            raise ValidationError("invalid_options", errors=[("api_key", "must be a string")])
        client = opts.get("http_client")
        if client is not None and not isinstance(client, (httpx.Client, httpx.AsyncClient)):
            raise ValidationError(
                "invalid_options", errors=[("http_client", "must be an httpx.Client or httpx.AsyncClient")]
            )
        drop = opts.get("drop_unsupported_params", False)
        if not isinstance(drop, bool):
            raise ValidationError("invalid_options", errors=[("drop_unsupported_params", "must be a bool")])
        return cls(
            drop_unsupported_params=drop,
            deadline=_seconds_option("deadline", opts.get("deadline")),
            key=key if isinstance(key, Secret) or key is None else Secret(key),
            base=check_base_url(opts.get("base_url"), default_base_url),
            timeout=_timeout_option(opts.get("timeout")),
            idle=_seconds_option("idle_timeout", opts.get("idle_timeout", DEFAULT_IDLE_TIMEOUT)),
            limits=check_limits(opts),
            policy=RetryPolicy.from_option(retry, opts.get("max_retries")),
            client=client,
            transport=_transport_option(opts.get("transport"), client),
        )

    def request_timeout(self) -> httpx.Timeout:
        """The per-request timeout: the read timeout never exceeds the idle timeout."""
        t = self.timeout
        read = t.read
        if self.idle is not None:
            read = self.idle if read is None else min(read, self.idle)
        return httpx.Timeout(connect=t.connect, read=read, write=t.write, pool=t.pool)


def native_transport_available() -> bool:
    """Whether the active backend carries the native HTTP transport."""
    return hasattr(_backend.backend, "HttpClient")


def _transport_option(value: Any, client: object) -> str:
    """The transport: the option, else the environment's choice, else native where it can be."""
    source = "transport"
    if value is None:
        value = os.environ.get(TRANSPORT_ENV, "").strip().lower() or "auto"
        source = TRANSPORT_ENV
    if value == "auto":
        return "native" if client is None and native_transport_available() else "httpx"
    if value not in TRANSPORTS:
        problem = f"must be one of {', '.join(TRANSPORTS)} (or auto), not {value!r}"
    elif value == "native" and client is not None and source == TRANSPORT_ENV:
        return "httpx"  # the adapter's own client wins over the environment
    elif value == "native" and client is not None:
        problem = "'native' cannot use an http_client (that is an httpx client: use transport 'httpx')"
    elif value == "native" and not native_transport_available():
        problem = "'native' needs the native backend, which is not loaded (see allm.backend_info())"
    else:
        return str(value)
    raise ValidationError("invalid_options", errors=[(source, problem)])


def _timeout_option(value: Any) -> httpx.Timeout:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, httpx.Timeout):
        return value
    if _positive_seconds(value):
        seconds = float(value)
        return httpx.Timeout(seconds, connect=min(seconds, DEFAULT_TIMEOUT.connect or 5.0))
    raise ValidationError(
        "invalid_options", errors=[("timeout", "must be a positive number of seconds or an httpx.Timeout")]
    )


def _seconds_option(name: str, value: Any) -> float | None:
    """An optional positive duration option (``idle_timeout``, ``deadline``)."""
    if value is None:
        return None
    if _positive_seconds(value):
        return float(value)
    raise ValidationError("invalid_options", errors=[(name, "must be a positive number of seconds or None")])


def _positive_seconds(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")


class Clients:
    """The clients of one adapter: native, or httpx (the user's, or ours); made on first use, then reused."""

    def __init__(self, options: HttpOptions) -> None:
        client = options.client
        self.transport = options.transport
        self._timeout = options.timeout
        self._native: Any = None
        # The native module the transport was chosen with (the active backend may change later).
        self._native_module: Any = _backend.backend if options.transport == "native" else None
        self._user_sync = client if isinstance(client, httpx.Client) else None
        self._user_async = client if isinstance(client, httpx.AsyncClient) else None
        self._own_sync: httpx.Client | None = None
        self._own_async: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient] | None = None
        self._lock = threading.Lock()

    def native(self) -> Any:
        """The native client (``allm._native.HttpClient``: its pools live as long as this adapter)."""
        with self._lock:
            if self._native is None:
                self._native = self._native_module.HttpClient(connect_timeout=self._timeout.connect)
            return self._native

    def sync_client(self) -> httpx.Client:
        """The user's client, or ours."""
        if self._user_sync is not None:
            return self._user_sync
        with self._lock:
            if self._own_sync is None or self._own_sync.is_closed:
                self._own_sync = httpx.Client(
                    follow_redirects=False, timeout=self._timeout, limits=DEFAULT_LIMITS
                )
            return self._own_sync

    def async_client(self) -> httpx.AsyncClient:
        """The user's async client, or ours for the running event loop."""
        if self._user_async is not None:
            return self._user_async
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._own_async is None or self._own_async[0] is not loop or self._own_async[1].is_closed:
                # A client is bound to the loop it first ran on; a new loop gets a new client.
                client = httpx.AsyncClient(
                    follow_redirects=False, timeout=self._timeout, limits=DEFAULT_LIMITS
                )
                self._own_async = (loop, client)
            return self._own_async[1]

    @property
    def own_sync(self) -> httpx.Client | None:
        """Our sync client, if one was created."""
        return self._own_sync

    @property
    def own_async(self) -> httpx.AsyncClient | None:
        """Our async client for the last event loop, if one was created."""
        return self._own_async[1] if self._own_async is not None else None

    def close(self) -> None:
        """Close the sync client we created (never the user's) and drop the native pools."""
        with self._lock:
            client, self._own_sync = self._own_sync, None
            native, self._native = self._native, None
        if client is not None:
            client.close()
        if native is not None:
            native.close()

    async def aclose(self) -> None:
        """Close the clients we created; the async one only from its own loop."""
        self.close()
        with self._lock:
            pair, self._own_async = self._own_async, None
        if pair is not None:
            loop, client = pair
            if loop is asyncio.get_running_loop():
                await client.aclose()
