"""API keys: the Secret wrapper and where a call's key comes from.

A key is held in a :class:`Secret` from the moment the adapter sees it; its
``repr``/``str`` never show the value and it refuses pickling and copying, so
it cannot leak through logs, tracebacks, sessions or ``to_json``. The value is
read only when the request headers are built, at send time.

Where the key comes from (:func:`resolve_key`):

* the explicit ``api_key`` adapter option, when given;
* else, only when the call goes to the provider's own host, the provider's
  environment variable (read at call time);
* an explicit non-default ``base_url`` never receives the environment key: it
  needs an explicit ``api_key`` (``api_key=""`` means "send no credential"),
  except on loopback servers, which get no credential when none is given.

A call with no usable key raises ``EngineError("missing_key")`` at call time.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

from ..errors import EngineError, ValidationError

__all__ = ["Secret", "resolve_key"]


class Secret:
    """A secret string that never shows itself."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance] - callers pass anything
            raise ValidationError("invalid_options", errors=[("api_key", "must be a string")])
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The secret value (call only where the header is built)."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def resolve_key(
    *,
    provider: str,
    explicit: Secret | None,
    env_var: str,
    default_host: bool,
    loopback: bool,
) -> Secret | None:
    """The key for one call, or None when no credential should be sent.

    Raises ``EngineError("missing_key")`` when the call needs a key and has none.
    """
    if explicit is not None:
        return explicit if explicit else None
    if default_host:
        value = os.environ.get(env_var, "")
        if value:
            return Secret(value)
        raise EngineError(
            "missing_key",
            f"no API key for {provider}: pass adapter_opts={{'api_key': ...}} or set {env_var}",
            provider=provider,
        )
    if loopback:
        return None
    raise EngineError(
        "missing_key",
        f"an explicit base_url needs an explicit api_key: {env_var} is only sent to {provider}'s own host "
        "(pass api_key='' for a server that needs no key)",
        provider=provider,
    )
