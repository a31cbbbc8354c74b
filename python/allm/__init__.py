"""allm: provider-neutral LLM execution with streaming as the primitive."""

from ._version import __version__
from ._backend import backend_info

__all__ = ["__version__", "backend_info"]
