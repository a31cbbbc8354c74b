"""Provider adapters: the scripted Fake and the real HTTP providers.

``OpenAI`` (Chat Completions and Responses, and any OpenAI-compatible server
through ``base_url``), ``Anthropic`` (Messages) and ``Gemini``
(generateContent) share their HTTP machinery: see :mod:`allm.providers._http`.
The HTTP providers (and httpx with them) are imported on first use, so that
``import allm`` stays quick for a service or a CLI that starts often.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._keys import Secret
from .base import Adapter
from .fake import Fake

if TYPE_CHECKING:
    from .anthropic import Anthropic
    from .gemini import Gemini
    from .openai import OpenAI

__all__ = ["Adapter", "Anthropic", "Fake", "Gemini", "OpenAI", "Secret"]

_LAZY = {"Anthropic": ".anthropic", "Gemini": ".gemini", "OpenAI": ".openai"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
