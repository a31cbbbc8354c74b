"""Chooses the backend (native Rust or the pure-Python twin) once, at import.

``ALLM_BACKEND=auto`` (the default) uses ``allm._native`` when it imports and
its version matches the package, else ``allm._pure``, recording why.
``ALLM_BACKEND=rust`` raises ImportError instead of falling back;
``ALLM_BACKEND=python`` always uses the twin.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType

from ._version import __version__

__all__ = ["TRANSPORT_ENV", "BackendInfo", "backend", "backend_info", "load"]

TRANSPORT_ENV = "ALLM_HTTP_TRANSPORT"
"""The environment variable that picks every adapter's default transport ("native", "httpx", "auto")."""


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """Which backend is active, its version and build profile, and why."""

    name: str
    version: str
    build_profile: str
    reason: str
    http_transport: str = "httpx"
    """The default HTTP transport of adapters: "native" with the native backend (unless
    ``ALLM_HTTP_TRANSPORT=httpx``), else "httpx"; an adapter's ``transport`` option wins."""


def _load_native() -> ModuleType:
    _native = importlib.import_module("allm._native")
    if __version__ != _native.VERSION:
        raise ImportError(
            f"allm._native is version {_native.VERSION}, the package is {__version__}; "
            "rebuild the native module (make build)"
        )
    return _native


def _transport() -> str:
    """The native backend's default HTTP transport, as the environment leaves it."""
    return "httpx" if os.environ.get(TRANSPORT_ENV, "").strip().lower() == "httpx" else "native"


def load(choice: str) -> tuple[ModuleType, BackendInfo]:
    """Load the backend named by ``choice`` (auto, rust or python)."""
    if choice not in {"auto", "rust", "python"}:
        raise ImportError(f"ALLM_BACKEND must be auto, rust or python, not {choice!r}")
    if choice != "python":
        try:
            module = _load_native()
        except ImportError as exc:
            if choice == "rust":
                raise ImportError(f"ALLM_BACKEND=rust but the native module is unusable: {exc}") from exc
            reason = f"auto: native module unavailable ({exc}); using the pure-Python twin"
        else:
            return module, BackendInfo(
                "rust", module.VERSION, module.BUILD_PROFILE, f"{choice}: native module loaded", _transport()
            )
    else:
        reason = "python: chosen by ALLM_BACKEND"
    from . import _pure

    return _pure, BackendInfo("python", _pure.VERSION, _pure.BUILD_PROFILE, reason)


backend, _info = load(os.environ.get("ALLM_BACKEND", "auto").strip().lower() or "auto")


def backend_info() -> BackendInfo:
    """Report the active backend: name ("rust" or "python"), version, build profile, reason,
    and the default HTTP transport of adapters."""
    return _info
