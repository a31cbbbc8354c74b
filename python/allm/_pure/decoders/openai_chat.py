"""openai-chat: Chat Completions chunks (also every OpenAI-compatible server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._usage import Usage
from ...errors import StreamError
from ...events import Event
from ._base import ToolCall, WireDecoder, as_dict, dicts, get_dict, get_list, get_str, utf8_len
from ._errors import provider_error
from ._json import parse_arguments
from ._usage import openai_usage

__all__ = ["OpenAIChatDecoder", "map_finish", "usage_from"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "function_call": "tool_calls",
}


def map_finish(raw: str) -> str:
    """allm's finish reason for a Chat Completions ``finish_reason`` (unknown → "other")."""
    return _FINISH.get(raw, "other")


def usage_from(obj: dict[str, Any]) -> Usage:
    """Usage out of a Chat Completions ``usage`` object (prompt/completion tokens)."""
    return openai_usage(obj, "prompt_tokens", "completion_tokens")


def _thinking(value: Any) -> list[str]:
    """A thinking part's text: a string, or its ``text`` parts."""
    if isinstance(value, str):
        return [value]
    return [t["text"] for t in dicts(value) if t.get("type") == "text" and isinstance(t.get("text"), str)]


def pieces(delta: dict[str, Any]) -> list[tuple[bool, str]]:
    """A delta's ``(is_reasoning, text)`` pieces in wire order: ``reasoning_content``
    (else ``reasoning``), then ``content`` as a string or as text and thinking parts."""
    out: list[tuple[bool, str]] = []
    reasoning = get_str(delta, "reasoning_content") or get_str(delta, "reasoning")
    if reasoning:
        out.append((True, reasoning))
    content = delta.get("content")
    if isinstance(content, str):
        out.append((False, content))
    else:
        for part in dicts(content):
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                out.append((False, part["text"]))
            elif kind == "thinking":
                out.extend((True, text) for text in _thinking(part.get("thinking")))
    return out


def _index(item: dict[str, Any], position: int) -> int:
    index = item.get("index")
    return index if type(index) is int else position


class _OtherCall:
    __slots__ = ("id", "key", "name", "parts")

    def __init__(self, key: int) -> None:
        self.key = key
        self.id: str | None = None
        self.name: str | None = None
        self.parts: list[str] = []


class _Other:
    """A choice other than 0 (n > 1), folded on its own."""

    __slots__ = ("by_index", "finish", "nbytes", "reasoning", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.by_index: dict[int, _OtherCall] = {}
        self.nbytes: dict[int, int] = {}
        self.finish: str | None = None

    def apply(self, choice: dict[str, Any], check: Callable[[int], None]) -> None:
        delta = get_dict(choice, "delta")
        if delta is not None:
            for is_reasoning, text in pieces(delta):
                (self.reasoning if is_reasoning else self.text).append(text)
            for position, item in enumerate(get_list(delta, "tool_calls") or ()):
                call = as_dict(item)
                if call is not None:
                    self.tool_call(call, position, check)
        finish = get_str(choice, "finish_reason")
        if finish:
            self.finish = finish

    def tool_call(self, item: dict[str, Any], position: int, check: Callable[[int], None]) -> None:
        key = _index(item, position)
        call = self.by_index.get(key)
        if call is None:
            call = self.by_index[key] = _OtherCall(key)
        if call.id is None:
            call.id = get_str(item, "id") or None
        function = get_dict(item, "function")
        if function is None:
            return
        if call.name is None:
            call.name = get_str(function, "name") or None
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self.nbytes[key] = self.nbytes.get(key, 0) + utf8_len(arguments)
            check(self.nbytes[key])
            call.parts.append(arguments)

    def as_dict(self, index: int) -> dict[str, Any]:
        """The choice as ``message_completed.metadata["choices"]`` lists it."""
        calls: list[dict[str, Any]] = []
        for call in self.by_index.values():
            raw = "".join(call.parts)
            calls.append(
                {
                    "id": call.id if call.id is not None else f"call_{call.key}",
                    "name": call.name or "",
                    "arguments": parse_arguments(raw),
                    "raw_arguments": raw,
                }
            )
        return {
            "index": index,
            "text": "".join(self.text),
            "reasoning": "".join(self.reasoning) or None,
            "tool_calls": calls,
            "finish_reason": None if self.finish is None else map_finish(self.finish),
            "raw_finish_reason": self.finish,
        }


class OpenAIChatDecoder(WireDecoder):
    provider = "openai"

    def __init__(self, max_argument_bytes: int | None) -> None:
        super().__init__(max_argument_bytes)
        self.raw_finish: str | None = None
        self.by_index: dict[int, ToolCall] = {}
        self.others: dict[int, _Other] = {}

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        return get_str(payload, "id"), get_str(payload, "model")

    def done_marker(self, out: list[Event]) -> None:
        if not self.started:
            self.start(out)
        self.end(out)

    def close(self, out: list[Event]) -> None:
        if self.raw_finish is None:
            super().close(out)
            return
        try:
            self.end(out)  # the usage-only chunk may follow the finish; [DONE] is optional
        except StreamError as error:  # two tool calls sharing an id
            self.fail(error, out)

    def end(self, out: list[Event]) -> None:
        raw = self.raw_finish
        if self.others:
            self.metadata["choices"] = [self.others[i].as_dict(i) for i in sorted(self.others)]
        self.finish(None if raw is None else map_finish(raw), raw, out)

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        error = get_dict(payload, "error")
        if error is not None:
            self.fail(provider_error(error, self.provider), out)
            return
        usage = get_dict(payload, "usage")
        if usage is not None:
            self.usage = usage_from(usage)
        for position, item in enumerate(get_list(payload, "choices") or ()):
            choice = as_dict(item)
            if choice is None:
                continue
            index = _index(choice, position)
            if index == 0:
                self.choice(choice, out)
            else:
                other = self.others.get(index)
                if other is None:
                    other = self.others[index] = _Other()
                other.apply(choice, self.check_arguments)

    def choice(self, choice: dict[str, Any], out: list[Event]) -> None:
        """Choice 0: the events and the Response describe it."""
        delta = get_dict(choice, "delta")
        if delta is not None:
            for is_reasoning, text in pieces(delta):
                if is_reasoning:
                    self.emit_reasoning(text, out)
                else:
                    self.emit_text(text, out)
            for position, item in enumerate(get_list(delta, "tool_calls") or ()):
                call = as_dict(item)
                if call is not None:
                    self.tool_call(call, position, out)
        finish = get_str(choice, "finish_reason")
        if finish:
            self.raw_finish = finish

    def tool_call(self, item: dict[str, Any], position: int, out: list[Event]) -> None:
        index = _index(item, position)
        call = self.by_index.get(index)
        if call is None:
            call = self.by_index[index] = self.new_call(index)
        call_id = get_str(item, "id")
        if call_id and call.id is None:
            call.id = call_id
        function = get_dict(item, "function")
        if function is not None:
            name = get_str(function, "name")
            if name and call.name is None:
                call.name = name
        if not call.started and call.id is not None and call.name is not None:
            self.start_call(call, out)
        if function is not None:
            self.add_arguments(call, function.get("arguments"), out)
