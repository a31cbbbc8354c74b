"""gemini: ``streamGenerateContent?alt=sse`` GenerateContentResponse payloads."""

from __future__ import annotations

from typing import Any

from ..._usage import Usage
from ...errors import AdapterError
from ...events import Event
from ._base import WireDecoder, as_dict, dicts, get_dict, get_list, get_str, get_token
from ._errors import provider_error
from ._json import canonical_dumps
from ._redact import redact_known
from ._usage import count

__all__ = ["GeminiDecoder", "map_finish", "usage_from"]

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
}


def map_finish(raw: str, has_calls: bool = False) -> str:
    """allm's finish reason for a candidate's ``finishReason`` (unknown → "other").

    "STOP" after function calls is "tool_calls".
    """
    reason = _FINISH.get(raw, "other")
    return "tool_calls" if reason == "stop" and has_calls else reason


def usage_from(meta: dict[str, Any]) -> Usage:
    """Usage out of a ``usageMetadata`` object (``responseTokenCount`` when there is no
    ``candidatesTokenCount``)."""
    output = count(meta, "candidatesTokenCount")
    if output is None:
        output = count(meta, "responseTokenCount")
    return Usage(
        input_tokens=count(meta, "promptTokenCount") or 0,
        output_tokens=output or 0,
        total_tokens=count(meta, "totalTokenCount") or 0,
        cached_input_tokens=count(meta, "cachedContentTokenCount") or 0,
        reasoning_tokens=count(meta, "thoughtsTokenCount") or 0,
    )


class GeminiDecoder(WireDecoder):
    provider = "gemini"

    def ids(self, payload: dict[str, Any]) -> tuple[str | None, str | None]:
        return get_str(payload, "responseId"), get_str(payload, "modelVersion")

    def payload(self, payload: dict[str, Any], event: str, out: list[Event]) -> None:
        error = get_dict(payload, "error")
        if error is not None:
            self.fail(provider_error(error, self.provider), out)
            return
        meta = get_dict(payload, "usageMetadata")
        if meta is not None:
            self.usage = usage_from(meta)
        candidates = get_list(payload, "candidates")
        if not candidates:
            feedback = get_dict(payload, "promptFeedback")
            block = get_str(feedback, "blockReason") if feedback is not None else None
            if block is not None:
                message = redact_known(f"prompt blocked: {block}")
                self.fail(AdapterError("content_filter", message, provider=self.provider), out)
            return
        candidate = as_dict(candidates[0])
        if candidate is None:
            return
        content = get_dict(candidate, "content")
        for part in dicts(content.get("parts")) if content is not None else ():
            self.part(part, out)
        finish = get_str(candidate, "finishReason")
        if finish is not None:
            self.finish(map_finish(finish, bool(self.calls)), finish, out)

    def part(self, part: dict[str, Any], out: list[Event]) -> None:
        text = part.get("text")
        signature = get_token(part, "thoughtSignature")
        function = get_dict(part, "functionCall")
        if part.get("thought") is True:
            self.emit_reasoning(text, out)
            if signature is not None:
                self.flush_reasoning(out, signature=signature)
        else:
            if signature is not None and function is None:
                self.flush_pending(out)
                self.flush_reasoning(out, signature=signature)
            self.emit_text(text, out)
        if function is None:
            return
        call_id = get_str(function, "id") or f"call_{len(self.calls)}"
        call = self.new_call(len(self.calls), call_id, get_str(function, "name") or "")
        args = function.get("args")
        if args is None:
            args = {}
        if signature is not None:
            call.metadata = {"thought_signature": signature}
        self.start_call(call, out)
        raw = canonical_dumps(args)
        self.add_arguments(call, raw, out)
        self.complete_call(call, out)
