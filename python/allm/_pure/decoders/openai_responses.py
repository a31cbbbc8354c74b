"""openai-responses: the Responses API's named events."""

from __future__ import annotations

from typing import Any

from ..._messages import ReasoningPart
from ..._usage import Usage
from ...events import Event
from ._base import ToolCall, WireDecoder, dicts, get_dict, get_str, get_token
from ._errors import provider_error
from ._usage import openai_usage

__all__ = ["OpenAIResponsesDecoder", "map_incomplete", "reasoning_part", "usage_from"]

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


def map_incomplete(reason: str | None) -> str:
    """allm's finish reason for an ``incomplete_details.reason`` (unknown or absent → "other")."""
    return _INCOMPLETE.get(reason or "", "other")


def usage_from(obj: dict[str, Any]) -> Usage:
    """Usage out of a Responses ``usage`` object (input/output tokens)."""
    return openai_usage(obj, "input_tokens", "output_tokens")


def summary_text(item: dict[str, Any]) -> str:
    """A reasoning item's ``summary`` texts, joined."""
    return "".join(text for s in dicts(item.get("summary")) if isinstance(text := s.get("text"), str))


def reasoning_part(item: dict[str, Any]) -> ReasoningPart:
    """A whole reasoning item (non-streaming body) as a reasoning part."""
    return ReasoningPart(
        summary_text(item),
        id=get_token(item, "id"),
        encrypted_content=get_token(item, "encrypted_content"),
        provider="openai",
    )


class OpenAIResponsesDecoder(WireDecoder):
    provider = "openai"

    def __init__(self, max_argument_bytes: int | None) -> None:
        super().__init__(max_argument_bytes)
        self.by_item: dict[str, ToolCall] = {}
        self.handlers = {
            "response.output_text.delta": self.text_delta,
            "response.output_item.added": self.item_added,
            "response.function_call_arguments.delta": self.arguments_delta,
            "response.function_call_arguments.done": self.arguments_done,
            "response.output_item.done": self.item_done,
            "response.reasoning_summary_text.delta": self.reasoning_delta,
            "response.reasoning_summary.delta": self.reasoning_delta,
            "response.completed": self.completed,
            "response.incomplete": self.incomplete,
            "response.failed": self.failed,
            "error": self.error,
        }

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        response = get_dict(payload, "response")
        if response is None:
            return None, None
        return get_str(response, "id"), get_str(response, "model")

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        kind = get_str(payload, "type")
        handler = self.handlers.get(kind if kind is not None else event)
        if handler is not None:
            handler(payload, out)

    def text_delta(self, payload: dict[str, Any], out: list[Event]) -> None:
        self.emit_text(payload.get("delta"), out)

    def reasoning_delta(self, payload: dict[str, Any], out: list[Event]) -> None:
        self.emit_reasoning(payload.get("delta"), out)

    def _function_item(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
        item = get_dict(payload, "item")
        if item is None or item.get("type") != "function_call":
            return None
        item_id = get_str(item, "id")
        return None if item_id is None else (item, item_id)

    def _track(self, item: dict[str, Any], item_id: str, out: list[Event]) -> ToolCall:
        call = self.new_call(item_id, get_str(item, "call_id") or item_id, get_str(item, "name") or "")
        self.by_item[item_id] = call
        self.start_call(call, out)
        return call

    def item_added(self, payload: dict[str, Any], out: list[Event]) -> None:
        found = self._function_item(payload)
        if found is not None and found[1] not in self.by_item:
            self._track(*found, out)

    def item_done(self, payload: dict[str, Any], out: list[Event]) -> None:
        item = get_dict(payload, "item")
        if item is not None and item.get("type") == "reasoning":
            self.reasoning_item(item, out)
            return
        found = self._function_item(payload)
        if found is None:
            return
        item, item_id = found
        call = self.by_item.get(item_id) or self._track(item, item_id, out)
        self.set_final_arguments(call, item.get("arguments"))

    def reasoning_item(self, item: dict[str, Any], out: list[Event]) -> None:
        """A finished reasoning item: its summary text (the deltas, else the item's
        ``summary`` texts), id and encrypted content become one reasoning part."""
        self.flush_reasoning(
            out,
            fallback=summary_text(item),
            id=get_token(item, "id"),
            encrypted_content=get_token(item, "encrypted_content"),
        )

    def arguments_delta(self, payload: dict[str, Any], out: list[Event]) -> None:
        call = self.by_item.get(get_str(payload, "item_id"))  # type: ignore[arg-type]
        if call is not None:
            self.add_arguments(call, payload.get("delta"), out)

    def arguments_done(self, payload: dict[str, Any], out: list[Event]) -> None:
        call = self.by_item.get(get_str(payload, "item_id"))  # type: ignore[arg-type]
        if call is not None:
            self.set_final_arguments(call, payload.get("arguments"))

    def _usage(self, response: dict[str, Any]) -> None:
        usage = get_dict(response, "usage")
        if usage is not None:
            self.usage = usage_from(usage)

    def completed(self, payload: dict[str, Any], out: list[Event]) -> None:
        response = get_dict(payload, "response") or {}
        self._usage(response)
        self.finish("tool_calls" if self.calls else "stop", get_str(response, "status"), out)

    def incomplete(self, payload: dict[str, Any], out: list[Event]) -> None:
        response = get_dict(payload, "response") or {}
        self._usage(response)
        details = get_dict(response, "incomplete_details") or {}
        reason = get_str(details, "reason")
        self.finish(map_incomplete(reason), reason, out)

    def failed(self, payload: dict[str, Any], out: list[Event]) -> None:
        response = get_dict(payload, "response") or {}
        self._usage(response)
        self.fail(provider_error(get_dict(response, "error") or {}, self.provider), out)

    def error(self, payload: dict[str, Any], out: list[Event]) -> None:
        error = get_dict(payload, "error")
        self.fail(provider_error(payload if error is None else error, self.provider), out)
