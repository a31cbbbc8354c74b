"""The normalized stream events: the sixteen of the design, and ``PartialOutput``
(the structured answer so far, with an output type).

Each event is a small immutable value with a ``type`` tag equal to its wire
name, keyword or positional construction, equality by type and fields, a
readable repr, and ``__match_args__`` for ``match`` statements.

:data:`Event` is the union of the seventeen classes, discriminated by their
``Literal`` ``type``, so a type checker narrows either way::

    for event in stream:
        if event.type == "text_delta":
            print(event.delta, end="")
        match event:
            case MessageCompleted(finish_reason=r): print("\\n", r)

:class:`BaseEvent` is their common runtime base (for ``isinstance``).

Events are tuple subclasses: fields live at fixed positions (the order of the
annotations below), which the native backend relies on to build and read them
without attribute lookups. Field order is part of the internal contract.
"""

from __future__ import annotations

import inspect
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias

from ._results import ChatResult, StepResult
from .errors import AllmError

if TYPE_CHECKING:
    from typing_extensions import Self, dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        """Runtime no-op: the decorator only tells type checkers about the synthesized constructor."""
        return lambda cls: cls


__all__ = [
    "EVENT_TYPES",
    "AskUserRequested",
    "BaseEvent",
    "ChatCompleted",
    "ErrorEvent",
    "Event",
    "MessageCompleted",
    "MessageStarted",
    "PartialOutput",
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


@dataclass_transform(frozen_default=True)
class _EventMeta(type):
    """Gives every event class ``__slots__ = ()``: no per-instance ``__dict__``, no new attributes."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
        namespace.setdefault("__slots__", ())
        return super().__new__(mcls, name, bases, namespace, **kwargs)


class BaseEvent(tuple[Any, ...], metaclass=_EventMeta):
    """Base of every event class: an immutable tuple with named fields and a type tag."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(n for n in inspect.get_annotations(cls) if n != "type")
        defaults = {n: cls.__dict__[n] for n in names if n in cls.__dict__}
        cls._fields = names
        cls._defaults = defaults
        setattr(cls, "__match_args__", names)  # noqa: B010 - set per class, after the annotations are known
        for index, name in enumerate(names):
            setattr(cls, name, property(itemgetter(index), doc=f"Field {index}: {name}."))

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
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
        return super().__new__(cls, values)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash((type(self), super().__hash__()))

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v!r}" for n, v in zip(self._fields, self, strict=True))
        return f"{type(self).__name__}({body})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def _asdict(self) -> dict[str, Any]:
        """The fields as a dict, in declaration order."""
        return dict(zip(self._fields, self, strict=True))

    def _replace(self, **changes: Any) -> Self:
        """A copy with some fields replaced."""
        return type(self)(**{**self._asdict(), **changes})


class MessageStarted(BaseEvent):
    """A model message began; carries the provider's message id and model."""

    type: ClassVar[Literal["message_started"]] = "message_started"
    id: str | None = None
    model: str | None = None


class TextDelta(BaseEvent):
    """A piece of assistant text."""

    type: ClassVar[Literal["text_delta"]] = "text_delta"
    delta: str
    id: str | None = None


class TextCompleted(BaseEvent):
    """The whole text of the message; replaces what the deltas built."""

    type: ClassVar[Literal["text_completed"]] = "text_completed"
    text: str
    id: str | None = None


class ToolCallStarted(BaseEvent):
    """The model began a tool call whose id and name are now known."""

    type: ClassVar[Literal["tool_call_started"]] = "tool_call_started"
    id: str
    name: str


class ToolCallDelta(BaseEvent):
    """A fragment of a tool call's JSON arguments."""

    type: ClassVar[Literal["tool_call_delta"]] = "tool_call_delta"
    id: str
    arguments_delta: str


class ToolCallCompleted(BaseEvent):
    """A tool call is whole: ``arguments`` parsed (``{}`` if the JSON was bad)."""

    type: ClassVar[Literal["tool_call_completed"]] = "tool_call_completed"
    id: str
    name: str
    arguments: dict[str, Any]
    raw_arguments: str
    metadata: dict[str, Any] = {}


class ToolExecutionStarted(BaseEvent):
    """allm began running a tool handler."""

    type: ClassVar[Literal["tool_execution_started"]] = "tool_execution_started"
    id: str
    name: str
    arguments: dict[str, Any]


class ToolExecutionCompleted(BaseEvent):
    """A tool handler finished; ``result`` is its raw return value or error."""

    type: ClassVar[Literal["tool_execution_completed"]] = "tool_execution_completed"
    id: str
    name: str
    result: Any
    is_error: bool = False


class ToolResultEncoded(BaseEvent):
    """A tool result was encoded as the text the model will see."""

    type: ClassVar[Literal["tool_result_encoded"]] = "tool_result_encoded"
    id: str
    name: str
    content: str


class AskUserRequested(BaseEvent):
    """A tool handler asked the human a question; the loop suspends."""

    type: ClassVar[Literal["ask_user_requested"]] = "ask_user_requested"
    tool_call_id: str
    tool_name: str
    question: str
    options: dict[str, Any] = {}


class ToolHalt(BaseEvent):
    """A tool handler (or the error policy) halted the chat loop."""

    type: ClassVar[Literal["tool_halt"]] = "tool_halt"
    tool_call_id: str
    reason: str
    result: Any = None
    content: str = ""


class MessageCompleted(BaseEvent):
    """The model message ended; terminal for the adapter."""

    type: ClassVar[Literal["message_completed"]] = "message_completed"
    finish_reason: str | None
    raw_finish_reason: str | None = None
    metadata: dict[str, Any] = {}


class StepCompleted(BaseEvent):
    """One step (model call plus tools) ended."""

    type: ClassVar[Literal["step_completed"]] = "step_completed"
    result: StepResult


class ChatCompleted(BaseEvent):
    """The chat loop ended; terminal for ``stream``."""

    type: ClassVar[Literal["chat_completed"]] = "chat_completed"
    result: ChatResult


class RawChunk(BaseEvent):
    """Provider data with no event of its own.

    ``kind == "usage"`` carries Usage; ``"reasoning_delta"`` a piece of reasoning
    text; ``"reasoning"`` a finished ``ReasoningPart`` (usage and reasoning parts
    pass every stream filter).
    """

    type: ClassVar[Literal["raw_chunk"]] = "raw_chunk"
    kind: str
    data: Any = None


class PartialOutput(BaseEvent):
    """The structured answer so far while it streams (requests with an ``output_type``).

    ``value`` is the JSON value so far; ``parsed`` is it validated leniently against
    the output type (None until it validates). Emitted after the text event that
    grew it; filtered with the text deltas (``emit_text_deltas``).
    """

    type: ClassVar[Literal["partial_output"]] = "partial_output"
    value: Any
    parsed: Any = None


class ErrorEvent(BaseEvent):
    """A mid-stream failure; terminal for every adapter."""

    type: ClassVar[Literal["error"]] = "error"
    error: AllmError


Event: TypeAlias = (
    MessageStarted
    | TextDelta
    | TextCompleted
    | ToolCallStarted
    | ToolCallDelta
    | ToolCallCompleted
    | ToolExecutionStarted
    | ToolExecutionCompleted
    | ToolResultEncoded
    | AskUserRequested
    | ToolHalt
    | MessageCompleted
    | StepCompleted
    | ChatCompleted
    | RawChunk
    | PartialOutput
    | ErrorEvent
)
"""Any event: a union discriminated by ``type``."""

EVENT_TYPES: dict[str, type[BaseEvent]] = {
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
        PartialOutput,
        ErrorEvent,
    )
}
