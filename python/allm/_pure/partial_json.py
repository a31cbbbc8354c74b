"""The pure twin of the native ``parse_partial_json`` (jiter's partial mode).

No pure-Python library reproduces jiter's partial semantics (partial-json-parser,
for one, completes ``tr`` to ``true`` and keeps unfinished numbers), so this
module does the one thing that differs: it scans the text once, finds where the
value so far ends and which brackets are open, and hands the completed text to
the standard ``json`` module, which does the parsing proper.

Rules (identical to ``allm_core::partial``, pinned by the parity tests on every
prefix of random JSON documents):

* a number or literal at the very end of the text (outside a string) is cut,
  since more text could extend it; only whitespace left means no value (None);
* an unfinished string value is kept (an unfinished escape, or a high surrogate
  still waiting for its pair, is dropped); an unfinished key is dropped with
  its entry, as is a key without a value and a trailing comma;
* after a value, anything but a comma or the closing bracket ends the value
  there, and anything after a complete top-level value is ignored;
* a container nested deeper than 200 levels that holds a value is invalid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError

__all__ = ["parse_partial_json"]

_TOKEN_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+-"
_QUOTE_OR_SLASH = re.compile(r'["\\]')
_WS = re.compile(r"[ \t\n\r]*")
_STRING_BODY = re.compile(r'(?:[^"\\\x00-\x1f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_PARTIAL_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{0,3})?\Z")
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_DELIMITERS = frozenset(" \t\n\r,]}:")
_MAX_DEPTH = 200
_CLOSER = {"[": "]", "{": "}"}


def _invalid() -> ValidationError:
    return ValidationError("invalid_output", "the output is not a prefix of valid JSON")


def _ends_in_string(text: str) -> bool:
    """Whether ``text`` ends inside a string (quotes not escaped by a backslash)."""
    inside = False
    skip = -1
    for match in _QUOTE_OR_SLASH.finditer(text):
        at = match.start()
        if at < skip:
            continue
        if text[at] == '"':
            inside = not inside
        else:
            skip = at + 2
    return inside


def _escapes(text: str, at: int) -> bool:
    """Whether the backslash at ``at`` starts an escape (an even run of backslashes precedes it)."""
    run = 0
    while at - run > 0 and text[at - run - 1] == "\\":
        run += 1
    return run % 2 == 0


def settled_prefix(text: str) -> str:
    """``text`` without a trailing number or literal that more text could still extend."""
    if _ends_in_string(text):
        return text
    return text.rstrip(_TOKEN_CHARS)


@dataclass
class _Frame:
    bracket: str
    mark: int  # where to cut when the frame's unfinished tail is dropped
    count: int = 0


class _Scanner:
    """One forward pass: the completed JSON text of the value so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.stack: list[_Frame] = []

    def _ws(self, pos: int) -> int:
        match = _WS.match(self.text, pos)
        return match.end() if match else pos

    def _close(self, cut: int, extra: str = "") -> str:
        closers = "".join(_CLOSER[f.bracket] for f in reversed(self.stack))
        return self.text[:cut] + extra + closers

    def _string(self, pos: int) -> tuple[int, int | None]:
        """(end of the complete part, end after the closing quote or None if unfinished)."""
        body = _STRING_BODY.match(self.text, pos + 1)
        end = body.end() if body else pos + 1
        if end < len(self.text) and self.text[end] == '"':
            return end, end + 1
        if end < len(self.text) and not _PARTIAL_ESCAPE.match(self.text, end):
            raise _invalid()
        start = end - 6
        if start > pos and _HIGH_SURROGATE.match(self.text, start, end) and _escapes(self.text, start):
            return start, None
        return end, None

    def run(self) -> str:
        """The text to hand to ``json.loads``."""
        done, pos = self._value(self._ws(0))
        while done is None:
            done, pos = self._after(pos)
        return done

    def _value(self, pos: int) -> tuple[str | None, int]:
        """Read one value at ``pos`` (opening containers as needed)."""
        text = self.text
        if pos >= len(text):
            return self._close(self.stack[-1].mark), pos
        if self.stack and self.stack[-1].count == 0 and len(self.stack) > _MAX_DEPTH:
            raise _invalid()
        char = text[pos]
        if char == '"':
            complete, end = self._string(pos)
            if end is None:
                return self._close(complete, '"'), pos
            return None, end
        if char in "[{":
            return self._open(char, pos)
        scalar = _SCALAR.match(text, pos)
        if scalar is None or (scalar.end() < len(text) and text[scalar.end()] not in _DELIMITERS):
            raise _invalid()
        return None, scalar.end()

    def _open(self, bracket: str, pos: int) -> tuple[str | None, int]:
        frame = _Frame(bracket, pos + 1)
        self.stack.append(frame)
        pos = self._ws(pos + 1)
        if pos < len(self.text) and self.text[pos] == _CLOSER[bracket]:
            self.stack.pop()
            return None, pos + 1
        if bracket == "[":
            return self._value(pos)
        return self._key(pos, frame)

    def _key(self, pos: int, frame: _Frame) -> tuple[str | None, int]:
        """Read ``"key" :`` then the value; an unfinished entry is dropped."""
        text = self.text
        if pos >= len(text):
            return self._close(frame.mark), pos
        if text[pos] != '"':
            raise _invalid()
        _, end = self._string(pos)
        if end is None:
            return self._close(frame.mark), pos
        pos = self._ws(end)
        if pos >= len(text):
            return self._close(frame.mark), pos
        if text[pos] != ":":
            raise _invalid()
        return self._value(self._ws(pos + 1))

    def _after(self, pos: int) -> tuple[str | None, int]:
        """After a complete value: a comma, closing brackets, or the end of the value so far."""
        text = self.text
        while True:
            if not self.stack:
                return text[:pos], pos
            frame = self.stack[-1]
            frame.mark = pos
            frame.count += 1
            pos = self._ws(pos)
            if pos < len(text) and text[pos] == _CLOSER[frame.bracket]:
                self.stack.pop()
                pos += 1
                continue
            if pos >= len(text) or text[pos] != ",":
                return self._close(frame.mark), pos
            pos = self._ws(pos + 1)
            if frame.bracket == "{":
                return self._key(pos, frame)
            return self._value(pos)


def parse_partial_json(text: str) -> Any:
    """The value so far of ``text`` (a prefix of a JSON document), or None before any value.

    Raises ``ValidationError("invalid_output")`` when ``text`` is not a prefix of
    valid JSON.
    """
    settled = settled_prefix(text)
    if not settled.strip(" \t\n\r"):
        return None
    completed = _Scanner(settled).run()
    try:
        return json.loads(completed)
    except (ValueError, RecursionError) as exc:
        raise _invalid() from exc
