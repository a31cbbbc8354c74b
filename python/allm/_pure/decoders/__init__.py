"""The four wire decoders of the pure twin, by wire name (docs/internals.md §4)."""

from __future__ import annotations

from ._base import WireDecoder
from .anthropic import AnthropicDecoder
from .gemini import GeminiDecoder
from .openai_chat import OpenAIChatDecoder
from .openai_responses import OpenAIResponsesDecoder

__all__ = ["WIRES", "WireDecoder", "make_decoder"]

WIRES: dict[str, type[WireDecoder]] = {
    "openai-chat": OpenAIChatDecoder,
    "openai-responses": OpenAIResponsesDecoder,
    "anthropic": AnthropicDecoder,
    "gemini": GeminiDecoder,
}


def make_decoder(wire: str, max_argument_bytes: int | None) -> WireDecoder:
    """A fresh decoder for ``wire``; ``ValueError`` for an unknown wire."""
    try:
        cls = WIRES[wire]
    except (KeyError, TypeError):
        raise ValueError(f"unknown wire {wire!r}; expected one of {sorted(WIRES)}") from None
    return cls(max_argument_bytes)
