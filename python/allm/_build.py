"""Builds Layer A values from fold state; the one place both backends call.

Kept apart from the fold so that the native fold never duplicates how a
Response, its Message and its ToolCalls are put together.
"""

from __future__ import annotations

from typing import Any

from ._messages import Message, ToolCall
from ._results import Response
from ._usage import Usage
from .errors import AllmError

ToolCallState = tuple[str, str, dict[str, Any], str, dict[str, Any]]


def response(
    id: str | None,
    model: str | None,
    text: str,
    tool_calls: list[ToolCallState],
    finish_reason: str | None,
    raw_finish_reason: str | None,
    usage: Usage | None,
    metadata: dict[str, Any],
    error: AllmError | None,
) -> Response:
    """Assemble a Response from the collector fold's state."""
    calls = tuple(
        ToolCall(id=cid, name=name, arguments=args, raw_arguments=raw, metadata=meta)
        for cid, name, args, raw, meta in tool_calls
    )
    meta = dict(metadata)
    if error is not None:
        meta["error"] = error
    return Response(
        message=Message(role="assistant", content=text, tool_calls=calls),
        output_text=text,
        tool_calls=calls,
        finish_reason=finish_reason,  # type: ignore[arg-type]
        raw_finish_reason=raw_finish_reason,
        usage=usage,
        id=id,
        model=model,
        metadata=meta,
    )
