"""Provider adapters: the scripted Fake and the real HTTP providers.

``OpenAI`` (Chat Completions and Responses, and any OpenAI-compatible server
through ``base_url``), ``Anthropic`` (Messages) and ``Gemini``
(generateContent) share their HTTP machinery: see :mod:`allm.providers._http`.
"""

from ._keys import Secret
from .anthropic import Anthropic
from .base import Adapter
from .fake import Fake
from .gemini import Gemini
from .openai import OpenAI

__all__ = ["Adapter", "Anthropic", "Fake", "Gemini", "OpenAI", "Secret"]
