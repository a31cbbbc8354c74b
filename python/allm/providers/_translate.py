"""Small helpers the provider request translators share."""

from __future__ import annotations

import json
from typing import Any, cast

from .._messages import ImagePart, Message, Part, ReasoningPart, TextPart, ToolCall
from ..errors import ValidationError

__all__ = [
    "arguments_json",
    "data_url",
    "json_list",
    "json_object",
    "json_text",
    "own_reasoning",
    "parts",
    "split_data_url",
    "tool_choice_name",
]


def json_object(value: object) -> dict[str, Any]:
    """``value`` when it is a JSON object, else ``{}`` (a wrong JSON type counts as absent)."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def json_list(value: object) -> list[Any]:
    """``value`` when it is a JSON array, else ``[]``."""
    return cast("list[object]", value) if isinstance(value, list) else []


def json_text(value: object) -> str:
    """``value`` when it is a string, else ``""``."""
    return value if isinstance(value, str) else ""


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
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to check
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
    fields = json_object(choice)
    name = json_object(fields.get("function")).get("name")
    if isinstance(name, str):
        return name
    name = fields.get("name")
    return name if isinstance(name, str) else None


def tool_results_content(message: Message) -> str:
    """A tool message's content as text."""
    return message.text
