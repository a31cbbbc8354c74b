"""openai-chat: Chat Completions chunks (also every OpenAI-compatible server)."""

from __future__ import annotations

from typing import Any

from ..._usage import Usage
from ...events import Event
from ._base import ToolCall, WireDecoder, get_dict, get_list, get_str
from ._errors import provider_error
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


class OpenAIChatDecoder(WireDecoder):
    provider = "openai"

    def __init__(self, max_argument_bytes: int | None) -> None:
        super().__init__(max_argument_bytes)
        self.raw_finish: str | None = None
        self.by_index: dict[Any, ToolCall] = {}

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        return get_str(payload, "id"), get_str(payload, "model")

    def done_marker(self, out: list[Event]) -> None:
        if not self.started:
            self.start(out)
        self.end(out)

    def close(self, out: list[Event]) -> None:
        if self.raw_finish is not None:
            self.end(out)  # the usage-only chunk may follow the finish; [DONE] is optional
        else:
            super().close(out)

    def end(self, out: list[Event]) -> None:
        raw = self.raw_finish
        self.finish(None if raw is None else map_finish(raw), raw, out)

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        error = get_dict(payload, "error")
        if error is not None:
            self.fail(provider_error(error, self.provider), out)
            return
        usage = get_dict(payload, "usage")
        if usage is not None:
            self.usage = usage_from(usage)
        choices = get_list(payload, "choices")
        if not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = get_dict(choice, "delta")
        if delta is not None:
            reasoning = delta.get("reasoning_content")
            self.emit_reasoning(
                reasoning if isinstance(reasoning, str) and reasoning else delta.get("reasoning"), out
            )
            self.emit_text(delta.get("content"), out)
            tool_calls = get_list(delta, "tool_calls")
            if tool_calls:
                for position, item in enumerate(tool_calls):
                    if isinstance(item, dict):
                        self.tool_call(item, position, out)
        finish = get_str(choice, "finish_reason")
        if finish:
            self.raw_finish = finish

    def tool_call(self, item: dict[str, Any], position: int, out: list[Event]) -> None:
        index = item.get("index")
        if type(index) is not int:
            index = position
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
