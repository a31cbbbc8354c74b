"""Provider adapters: the scripted Fake and the real HTTP providers."""

from .base import Adapter
from .fake import Fake

__all__ = ["Adapter", "Fake"]
