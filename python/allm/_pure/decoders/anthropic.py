"""anthropic: Messages API streaming events."""

from __future__ import annotations

from typing import Any

from ..._usage import Usage
from ...events import Event
from ._base import ToolCall, WireDecoder, dicts, get_dict, get_str, get_token, utf8_len
from ._errors import provider_error
from ._json import canonical_dumps
from ._usage import count, nested_count

__all__ = ["AnthropicDecoder", "map_stop", "usage_from"]

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_COUNT_MAX = 2**63 - 1  # sums saturate at the largest count (docs/internals.md §6.4)
_COUNTS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def _counts(usage: dict[str, Any]) -> dict[str, int]:
    found = {key: value for key in _COUNTS if (value := count(usage, key)) is not None}
    thinking = nested_count(usage, "output_tokens_details", "thinking_tokens")
    if thinking is not None:
        found["thinking_tokens"] = thinking
    return found


def _usage(c: dict[str, int]) -> Usage:
    uncached = c.get("input_tokens", 0)
    cache_read = c.get("cache_read_input_tokens", 0)
    cache_write = c.get("cache_creation_input_tokens", 0)
    total_input = min(uncached + cache_read + cache_write, _COUNT_MAX)
    output = c.get("output_tokens", 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=output,
        total_tokens=min(total_input + output, _COUNT_MAX),
        cached_input_tokens=cache_read,
        cache_write_input_tokens=cache_write,
        reasoning_tokens=c.get("thinking_tokens", 0),
        extra={"uncached_input_tokens": uncached},
    )


def map_stop(raw: str) -> str:
    """allm's finish reason for a Messages ``stop_reason`` (unknown → "other")."""
    return _STOP.get(raw, "other")


def usage_from(obj: dict[str, Any]) -> Usage:
    """Usage out of one Messages ``usage`` object: input counts cache reads and writes
    (``extra["uncached_input_tokens"]`` keeps the uncached part)."""
    return _usage(_counts(obj))


class AnthropicDecoder(WireDecoder):
    provider = "anthropic"

    def __init__(self, max_argument_bytes: int | None) -> None:
        super().__init__(max_argument_bytes)
        self.counts: dict[str, int] = {}
        self.stop_reason: str | None = None
        self.tool_blocks: dict[int, ToolCall] = {}
        self.thinking_blocks: dict[int, list[str]] = {}
        """Signature pieces of each open ``thinking`` block, by index."""
        self.redacted_blocks: dict[int, str | None] = {}
        self.handlers = {
            "message_start": self.message_start,
            "content_block_start": self.block_start,
            "content_block_delta": self.block_delta,
            "content_block_stop": self.block_stop,
            "message_delta": self.message_delta,
            "message_stop": self.message_stop,
            "error": self.error,
        }

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        message = get_dict(payload, "message")
        if message is None:
            return None, None
        return get_str(message, "id"), get_str(message, "model")

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        kind = get_str(payload, "type")
        handler = self.handlers.get(kind if kind is not None else event)
        if handler is not None:
            handler(payload, out)

    def _merge_usage(self, usage: dict[str, Any] | None) -> None:
        """A count present in the newer usage replaces the older one; never summed."""
        if usage is None:
            return
        self.counts.update(_counts(usage))
        self.usage = _usage(self.counts)

    def message_start(self, payload: dict[str, Any], out: list[Event]) -> None:
        message = get_dict(payload, "message")
        if message is not None:
            self._merge_usage(get_dict(message, "usage"))
            self._whole_turn(message, out)

    def _whole_turn(self, message: dict[str, Any], out: list[Event]) -> None:
        """A turn given whole in ``message_start``: its text, thinking and tool_use
        blocks (each call completed at once), and its stop reason."""
        stop = get_str(message, "stop_reason")
        if stop is not None:
            self.stop_reason = stop
        for block in dicts(message.get("content")):
            kind = block.get("type")
            if kind == "text":
                self.emit_text(block.get("text"), out)
            elif kind == "thinking":
                self.emit_reasoning(block.get("thinking"), out)
                self.flush_reasoning(out, signature=get_token(block, "signature"))
            elif kind == "redacted_thinking":
                self.flush_pending(out)
                self.flush_reasoning(out, redacted=get_token(block, "data"))
            elif kind == "tool_use":
                call = self._tool_use(None, block)
                self.start_call(call, out)
                self.complete_call(call, out)

    def _tool_use(self, index: int | None, block: dict[str, Any]) -> ToolCall:
        """A tool_use call, with its input given whole (the canonical JSON of a
        non-empty ``input`` object; deltas that follow decide instead)."""
        call = self.new_call(index, get_str(block, "id") or "", get_str(block, "name") or "")
        given = block.get("input")
        if isinstance(given, dict) and given:
            call.initial = canonical_dumps(given)
            self.check_arguments(utf8_len(call.initial))
        return call

    def block_start(self, payload: dict[str, Any], out: list[Event]) -> None:
        index = payload.get("index")
        block = get_dict(payload, "content_block")
        if type(index) is not int or block is None:
            return
        kind = block.get("type")
        if kind == "thinking":
            self.emit_reasoning(block.get("thinking"), out)
            signature = get_token(block, "signature")
            self.thinking_blocks[index] = [] if signature is None else [signature]
        elif kind == "redacted_thinking":
            self.redacted_blocks[index] = get_token(block, "data")
        elif kind == "tool_use":
            call = self._tool_use(index, block)
            self.tool_blocks[index] = call
            self.start_call(call, out)

    def block_delta(self, payload: dict[str, Any], out: list[Event]) -> None:
        delta = get_dict(payload, "delta")
        if delta is None:
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self.emit_text(delta.get("text"), out)
        elif kind == "input_json_delta":
            call = self._block_call(payload)
            if call is not None and not call.completed:
                self.add_arguments(call, delta.get("partial_json"), out)
        elif kind == "thinking_delta":
            self.emit_reasoning(delta.get("thinking"), out)
        elif kind == "signature_delta":
            index = payload.get("index")
            pieces = self.thinking_blocks.get(index) if type(index) is int else None
            signature = delta.get("signature")
            if pieces is not None and isinstance(signature, str):
                pieces.append(signature)

    def _block_call(self, payload: dict[str, Any]) -> ToolCall | None:
        index = payload.get("index")
        return self.tool_blocks.get(index) if type(index) is int else None

    def block_stop(self, payload: dict[str, Any], out: list[Event]) -> None:
        index = payload.get("index")
        if type(index) is int and index in self.thinking_blocks:
            signature = "".join(self.thinking_blocks.pop(index))
            self.flush_reasoning(out, signature=signature or None)
        elif type(index) is int and index in self.redacted_blocks:
            self.flush_pending(out)
            self.flush_reasoning(out, redacted=self.redacted_blocks.pop(index))
        call = self._block_call(payload)
        if call is not None and not call.completed:
            self.complete_call(call, out)

    def message_delta(self, payload: dict[str, Any], out: list[Event]) -> None:
        delta = get_dict(payload, "delta")
        if delta is not None:
            stop = get_str(delta, "stop_reason")
            if stop is not None:
                self.stop_reason = stop
        self._merge_usage(get_dict(payload, "usage"))

    def message_stop(self, payload: dict[str, Any], out: list[Event]) -> None:
        stop = self.stop_reason
        self.finish(None if stop is None else map_stop(stop), stop, out)

    def error(self, payload: dict[str, Any], out: list[Event]) -> None:
        self.fail(provider_error(get_dict(payload, "error") or {}, self.provider), out)
