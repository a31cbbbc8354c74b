"""Short constructors for messages, tools, response formats and requests."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

from ._messages import ImagePart, Message, Part, TextPart, Thread
from ._request import Request
from ._tool import Tool
from ._typed_tool import tool_from_function

T = TypeVar("T")

__all__ = ["assistant", "json_schema", "request", "system", "tool", "tool_result", "user"]


def system(text: str) -> Message:
    """A system message."""
    return Message(role="system", content=text)


def user(content: str | Iterable[str | Part]) -> Message:
    """A user message from text, or from parts (strings become TextParts)."""
    if isinstance(content, str):
        return Message(role="user", content=content)
    parts = tuple(TextPart(p) if isinstance(p, str) else p for p in content)
    return Message(role="user", content=parts)


def assistant(text: str) -> Message:
    """An assistant message."""
    return Message(role="assistant", content=text)


def tool_result(tool_call_id: str, content: str) -> Message:
    """A tool message answering the tool call ``tool_call_id``."""
    return Message(role="tool", content=content, tool_call_id=tool_call_id)


def tool(
    name: str | Callable[..., Any],
    description: str = "",
    schema: dict[str, Any] | None = None,
    handler: Callable[..., Any] | None = None,
    manual: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Tool:
    """A tool the model may call; ``schema`` is the JSON schema of its arguments.

    Used as ``@allm.tool`` on a typed function, derives the name, description
    and schema from it and validates the arguments (see :mod:`allm._typed_tool`).
    """
    if callable(name):
        return tool_from_function(name, description=description or None, manual=manual, metadata=metadata)
    return Tool(
        name=name,
        description=description,
        schema=schema if schema is not None else {"type": "object", "properties": {}},
        handler=handler,
        manual=manual,
        metadata=metadata or {},
    )


def json_schema(name: str, schema: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    """A ``response_format`` asking for JSON that matches ``schema``."""
    return {"type": "json_schema", "name": name, "schema": schema, "strict": strict}


@overload
def request(messages: Thread | Sequence[Message], *, output_type: type[T], **fields: Any) -> Request[T]: ...
@overload
def request(messages: Thread | Sequence[Message], **fields: Any) -> Request[Any]: ...
def request(messages: Thread | Sequence[Message], **fields: Any) -> Request[Any]:
    """A Request for ``messages`` (a thread or a list) with any Request fields.

    ``output_type`` asks for a structured answer: a pydantic model, dataclass,
    TypedDict, ``list[...]`` or any type pydantic's TypeAdapter handles, or a raw
    JSON schema; the Response's ``parsed`` is then typed and validated.
    """
    msgs = messages.messages if isinstance(messages, Thread) else tuple(messages)
    if "tools" in fields:
        fields["tools"] = tuple(fields["tools"])
    return Request(messages=msgs, **fields)


def image(
    url: str | None = None, *, data: str | None = None, media_type: str | None = None, detail: str = "auto"
) -> ImagePart:
    """An image part by URL or base64 data."""
    return ImagePart(url=url, data=data, media_type=media_type, detail=detail)  # type: ignore[arg-type]
