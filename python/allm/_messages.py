"""Conversation values: content parts, tool calls, messages and threads (Layer A)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = ["ImagePart", "Message", "Part", "ReasoningPart", "Role", "TextPart", "Thread", "ToolCall"]

Role = Literal["system", "user", "assistant", "tool"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant", "tool"})


@dataclass(frozen=True, slots=True)
class TextPart:
    """A piece of text inside a multi-part message."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by ``url`` or by base64 ``data`` with its ``media_type``."""

    url: str | None = None
    data: str | None = None
    media_type: str | None = None
    detail: Literal["auto", "low", "high"] = "auto"
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """The model's reasoning, as one part of an assistant message.

    ``text`` is the reasoning the provider showed (a summary on some; ``""``
    when hidden). The other fields are the provider's opaque tokens, kept so the
    part can be sent back unchanged on the next turn: ``signature`` (Anthropic
    thinking signature, Gemini ``thoughtSignature``), ``redacted`` (Anthropic
    ``redacted_thinking`` data), ``id`` and ``encrypted_content`` (an OpenAI
    Responses reasoning item). ``provider`` ("anthropic", "openai", "gemini")
    says whose tokens they are; other providers never receive them.
    """

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    id: str | None = None
    encrypted_content: str | None = None
    provider: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])


Part = TextPart | ImagePart | ReasoningPart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run the tool ``name`` with ``arguments``.

    ``raw_arguments`` is the JSON text as the provider sent it; when it was not
    valid JSON, ``arguments`` is ``{}`` and the text is kept here.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict[str, Any])
    raw_arguments: str = ""
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation.

    ``content`` is a string or a tuple of parts. Assistant messages carry the
    model's ``tool_calls`` (after the content, in the provider's order) and, when
    the model reasoned, ``ReasoningPart``s in the content, where the provider put
    them relative to the text; tool messages carry the ``tool_call_id`` they answer.
    """

    role: Role
    content: str | tuple[Part, ...] = ""
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])

    @property
    def text(self) -> str:
        """The message's text: the string content, or its text parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def reasoning(self) -> str:
        """The text of the message's reasoning parts, joined ("" when it has none)."""
        if isinstance(self.content, str):
            return ""
        return "".join(p.text for p in self.content if isinstance(p, ReasoningPart))


@dataclass(frozen=True, slots=True)
class Thread:
    """An ordered, immutable list of messages."""

    messages: tuple[Message, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])

    @classmethod
    def of(cls, messages: Thread | list[Message] | tuple[Message, ...]) -> Thread:
        """Coerce a thread or a sequence of messages into a thread."""
        return messages if isinstance(messages, Thread) else cls(tuple(messages))

    def add(self, *messages: Message) -> Thread:
        """Return a new thread with ``messages`` appended."""
        return replace(self, messages=self.messages + messages)

    @property
    def last(self) -> Message | None:
        """The last message, or None for an empty thread."""
        return self.messages[-1] if self.messages else None

    def __len__(self) -> int:
        return len(self.messages)
