"""The sixteen normalized stream events.

Each event is a small immutable value with a ``type`` tag equal to its wire
name, keyword or positional construction, equality by type and fields, a
readable repr, and ``__match_args__`` for ``match`` statements::

    match event:
        case TextDelta(delta=d): print(d, end="")
        case MessageCompleted(finish_reason=r): print("\\n", r)

Events are tuple subclasses: fields live at fixed positions (the order of the
annotations below), which the native backend relies on to build and read them
without attribute lookups. Field order is part of the internal contract.
"""

from __future__ import annotations

import inspect
from operator import itemgetter
from typing import Any, ClassVar

from ._results import ChatResult, StepResult
from .errors import AllmError

__all__ = [
    "EVENT_TYPES",
    "AskUserRequested",
    "ChatCompleted",
    "ErrorEvent",
    "Event",
    "MessageCompleted",
    "MessageStarted",
    "RawChunk",
    "StepCompleted",
    "TextCompleted",
    "TextDelta",
    "ToolCallCompleted",
    "ToolCallDelta",
    "ToolCallStarted",
    "ToolExecutionCompleted",
    "ToolExecutionStarted",
    "ToolHalt",
    "ToolResultEncoded",
]

_MISSING = object()


class _EventMeta(type):
    """Gives every event class ``__slots__ = ()``: no per-instance ``__dict__``, no new attributes."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        namespace.setdefault("__slots__", ())
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class Event(tuple, metaclass=_EventMeta):  # type: ignore[type-arg]
    """Base of every event: an immutable tuple with named fields and a type tag."""

    __slots__ = ()
    type: ClassVar[str]
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(n for n in inspect.get_annotations(cls) if n != "type")
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        cls._fields = names
        cls._defaults = defaults
        cls.__match_args__ = names
        for index, name in enumerate(names):
            setattr(cls, name, property(itemgetter(index), doc=f"Field {index}: {name}."))

    def __new__(cls, *args: Any, **kwargs: Any) -> Event:
        fields = cls._fields
        if len(args) > len(fields):
            raise TypeError(f"{cls.__name__} takes {len(fields)} fields, got {len(args)}")
        values = list(args)
        for name in fields[len(args) :]:
            value = kwargs.pop(name, _MISSING)
            if value is _MISSING:
                value = cls._defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{cls.__name__} is missing field {name!r}")
                if isinstance(value, dict):
                    value = {}
            values.append(value)
        if kwargs:
            raise TypeError(f"{cls.__name__} has no field(s) {sorted(kwargs)}")
        return tuple.__new__(cls, values)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and tuple.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((self.type, tuple.__hash__(self)))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({body})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict, in declaration order."""
        return dict(zip(self._fields, self, strict=True))

    def _replace(self, **changes: Any) -> Event:
        """A copy with some fields replaced."""
        return type(self)(**{**self._asdict(), **changes})


class MessageStarted(Event):
    """A model message began; carries the provider's message id and model."""

    type = "message_started"
    id: str | None = None
    model: str | None = None


class TextDelta(Event):
    """A piece of assistant text."""

    type = "text_delta"
    delta: str
    id: str | None = None


class TextCompleted(Event):
    """The whole text of the message; replaces what the deltas built."""

    type = "text_completed"
    text: str
    id: str | None = None


class ToolCallStarted(Event):
    """The model began a tool call whose id and name are now known."""

    type = "tool_call_started"
    id: str
    name: str


class ToolCallDelta(Event):
    """A fragment of a tool call's JSON arguments."""

    type = "tool_call_delta"
    id: str
    arguments_delta: str


class ToolCallCompleted(Event):
    """A tool call is whole: ``arguments`` parsed (``{}`` if the JSON was bad)."""

    type = "tool_call_completed"
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    metadata: dict[str, Any] = {}


class ToolExecutionStarted(Event):
    """allm began running a tool handler."""

    type = "tool_execution_started"
    id: str
    name: str
    arguments: dict[str, Any]


class ToolExecutionCompleted(Event):
    """A tool handler finished; ``result`` is its raw return value or error."""

    type = "tool_execution_completed"
    id: str
    name: str
    result: Any
    is_error: bool = False


class ToolResultEncoded(Event):
    """A tool result was encoded as the text the model will see."""

    type = "tool_result_encoded"
    id: str
    name: str
    content: str


class AskUserRequested(Event):
    """A tool handler asked the human a question; the loop suspends."""

    type = "ask_user_requested"
    tool_call_id: str
    tool_name: str
    question: str
    options: dict[str, Any] = {}


class ToolHalt(Event):
    """A tool handler (or the error policy) halted the chat loop."""

    type = "tool_halt"
    tool_call_id: str
    reason: str
    result: Any = None
    content: str = ""


class MessageCompleted(Event):
    """The model message ended; terminal for the adapter."""

    type = "message_completed"
    finish_reason: str | None
    raw_finish_reason: str | None = None
    metadata: dict[str, Any] = {}


class StepCompleted(Event):
    """One step (model call plus tools) ended."""

    type = "step_completed"
    result: StepResult


class ChatCompleted(Event):
    """The chat loop ended; terminal for ``stream``."""

    type = "chat_completed"
    result: ChatResult


class RawChunk(Event):
    """Provider data with no event of its own.

    ``kind == "usage"`` carries Usage; ``"reasoning_delta"`` a piece of reasoning
    text; ``"reasoning"`` a finished ``ReasoningPart`` (usage and reasoning parts
    pass every stream filter).
    """

    type = "raw_chunk"
    kind: str
    data: Any = None


class ErrorEvent(Event):
    """A mid-stream failure; terminal for every adapter."""

    type = "error"
    error: AllmError


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        MessageStarted,
        TextDelta,
        TextCompleted,
        ToolCallStarted,
        ToolCallDelta,
        ToolCallCompleted,
        ToolExecutionStarted,
        ToolExecutionCompleted,
        ToolResultEncoded,
        AskUserRequested,
        ToolHalt,
        MessageCompleted,
        StepCompleted,
        ChatCompleted,
        RawChunk,
        ErrorEvent,
    )
}
