"""Small helpers the provider request translators share."""

from __future__ import annotations

import json
from typing import Any

from .._messages import ImagePart, Message, Part, ReasoningPart, TextPart, ToolCall
from ..errors import ValidationError

__all__ = ["arguments_json", "data_url", "own_reasoning", "parts", "split_data_url", "tool_choice_name"]


def parts(message: Message) -> tuple[Part, ...]:
    """A message's content as parts (a string becomes one TextPart; empty gives none)."""
    if isinstance(message.content, str):
        return (TextPart(message.content),) if message.content else ()
    return tuple(message.content)


def own_reasoning(part: Part, provider: str) -> ReasoningPart | None:
    """``part`` if it is reasoning that ``provider`` produced (whose tokens it can read)."""
    return part if isinstance(part, ReasoningPart) and part.provider == provider else None


def arguments_json(call: ToolCall) -> str:
    """The tool call's arguments as JSON text (the provider's raw text when it parses)."""
    if call.raw_arguments:
        try:
            json.loads(call.raw_arguments)
        except ValueError:
            pass
        else:
            return call.raw_arguments
    return json.dumps(call.arguments, ensure_ascii=False, separators=(",", ":"))


def data_url(image: ImagePart) -> str:
    """The image as a URL: its own URL, or a base64 data URL."""
    if image.url:
        return image.url
    if image.data:
        return f"data:{image.media_type or 'image/png'};base64,{image.data}"
    raise ValidationError("invalid_message", errors=[("content", "an image part needs a url or data")])


def split_data_url(url: str) -> tuple[str, str] | None:
    """(media_type, base64 data) of a ``data:...;base64,`` URL, else None."""
    if not url.startswith("data:") or ";base64," not in url:
        return None
    head, data = url[5:].split(";base64,", 1)
    return (head or "image/png", data)


def tool_choice_name(choice: Any) -> str | None:
    """The forced tool's name in a tool_choice (a bare name or an OpenAI-style dict), else None."""
    if isinstance(choice, str) and choice not in ("auto", "none", "required", "any"):
        return choice
    if isinstance(choice, dict):
        fn = choice.get("function")
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            return fn["name"]
        if isinstance(choice.get("name"), str):
            return choice["name"]
    return None


def tool_results_content(message: Message) -> str:
    """A tool message's content as text."""
    return message.text
