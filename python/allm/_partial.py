"""Partial objects of a structured answer while it streams (I/O-free).

:func:`parse_partial_json` gives the value so far of a growing JSON text (the
native backend reads it with jiter's partial mode; the pure twin gives the
same values). :class:`PartialObjects` is fed the text deltas of one answer and
returns the new partial objects.

Work stays linear in the length of the answer: a partial parse reads the whole
text so far, so the tracker parses again only once the text has grown by a
fixed fraction (``growth``) of what it last parsed. The texts parsed form a
geometric series, so the total is at most ``(1 + 1/growth)`` times the final
length; early on (short texts) every delta is parsed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _backend  # pyright: ignore[reportPrivateUsage]  # read at call time: tests swap backends
from ._output import OutputSpec
from .errors import ValidationError
from .events import Event, PartialOutput

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["PartialEvents", "PartialObject", "PartialObjects", "parse_partial_json"]

DEFAULT_GROWTH = 0.125


def parse_partial_json(text: str) -> Any:
    """The value so far of ``text`` (a prefix of a JSON document), or None before any value.

    Raises ``ValidationError("invalid_output")`` when ``text`` is not a prefix of valid JSON.
    """
    try:
        return _backend.backend.parse_partial_json(text)
    except (ValueError, RecursionError) as exc:  # int() of a number with too many digits
        raise ValidationError("invalid_output", "the output is not a prefix of valid JSON") from exc


@dataclass(frozen=True, slots=True)
class PartialObject:
    """One partial object: the JSON ``value`` so far and, when it validated leniently, ``parsed``."""

    value: Any
    parsed: Any = None
    text_length: int = 0


class PartialObjects:
    """Fed the text deltas of one structured answer; returns new partial objects.

    ``validate`` (optional) validates a partial value leniently and returns the
    typed object, or None when it does not validate yet.
    Thread-safety: one tracker per answer; not safe to share between threads.
    """

    def __init__(
        self,
        validate: Callable[[Any], Any] | None = None,
        *,
        growth: float = DEFAULT_GROWTH,
    ) -> None:
        if not growth > 0:
            raise ValidationError("invalid_options", errors=[("growth", "must be positive")])
        self._validate = validate
        self._growth = growth
        self._chunks: list[str] = []
        self._length = 0
        self._parsed_length = 0
        self._last: Any = None
        self._failed = False

    def feed(self, delta: str) -> list[PartialObject]:
        """Add ``delta``; return the new partial object, if one was parsed and it changed."""
        if not delta or self._failed:
            return []
        self._chunks.append(delta)
        self._length += len(delta)
        if self._length - self._parsed_length < max(1, int(self._parsed_length * self._growth)):
            return []
        return self._parse()

    def feed_events(self, events: Iterable[Any]) -> list[PartialObject]:
        """Feed the ``text_delta`` events of a batch; ``text_completed`` parses the whole text."""
        out: list[PartialObject] = []
        for event in events:
            kind = getattr(event, "type", None)
            if kind == "text_delta":
                out += self.feed(event.delta)
            elif kind == "text_completed":
                out += self.complete(event.text)
        return out

    def complete(self, text: str) -> list[PartialObject]:
        """The whole ``text`` is known (it replaces the deltas if they differ, e.g. when filtered)."""
        if text != self.text:
            self._chunks = [text]
            self._length = len(text)
            self._failed = False
        return self.finish()

    def finish(self) -> list[PartialObject]:
        """The partial object of the whole text, if it was not parsed yet and it changed."""
        if self._failed or self._parsed_length == self._length:
            return []
        return self._parse()

    @property
    def text(self) -> str:
        """The text fed so far."""
        if len(self._chunks) > 1:
            self._chunks = ["".join(self._chunks)]
        return self._chunks[0] if self._chunks else ""

    def _parse(self) -> list[PartialObject]:
        self._parsed_length = self._length
        try:
            value = parse_partial_json(self.text)
        except ValidationError:
            self._failed = True  # not JSON: the final validation reports it
            return []
        if value is None or value == self._last:
            return []
        self._last = value
        parsed = None if self._validate is None else self._validate(value)
        return [PartialObject(value, parsed, self._length)]


class PartialEvents:
    """Adds a ``PartialOutput`` event after each text event that grew the structured answer.

    One per model call with an output type (:meth:`of` gives None without one);
    called with each batch of the call, in order. Thread-safety: as its stream.
    """

    __slots__ = ("_tracker",)

    def __init__(self, validate: Callable[[Any], Any] | None = None) -> None:
        self._tracker = PartialObjects(validate)

    @classmethod
    def of(cls, request: Request[Any]) -> PartialEvents | None:
        """The emitter for ``request``'s output type (lenient validation), or None without one."""
        if request.output_type is None:
            return None
        return cls(OutputSpec.of(request.output_type).validate_partial)

    def __call__(self, batch: list[Event]) -> list[Event]:
        """``batch`` with its partial-object events inserted."""
        out: list[Event] = []
        for event in batch:
            out.append(event)
            if event.type == "text_delta" or event.type == "text_completed":
                out += [PartialOutput(p.value, p.parsed) for p in self._tracker.feed_events((event,))]
        return out
