"""The competitors: a minimal orjson loop, and the provider SDKs over an httpx mock transport.

The orjson loop is what a careful user writes by hand: split the bytes into lines,
``orjson.loads`` each ``data:`` payload, fold the dicts into text / tool calls /
usage / finish reason. It assumes ``data: `` with one space and LF line ends
(true of all three providers), which a real SSE decoder may not assume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson

__all__ = [
    "anthropic_client",
    "mock_http_client",
    "openai_client",
    "orjson_collect",
    "orjson_stream",
    "sdk_collect",
    "sdk_http_module",
    "sdk_text_and_calls",
]

loads = orjson.loads


# --------------------------------------------------------------------------------------
# minimal orjson loops


def _lines(chunks: Iterable[bytes]) -> Iterable[list[bytes]]:
    """Complete lines per network chunk (the tail waits for the next chunk)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        lines = buf.split(b"\n")
        buf = lines.pop()
        yield lines
    if buf:
        yield [buf]


def _chat_fold() -> tuple[Callable[[dict[str, Any]], None], Callable[[], dict[str, Any]]]:
    state: dict[str, Any] = {"id": None, "model": None, "usage": None, "finish_reason": None}
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}

    def apply(obj: dict[str, Any]) -> None:
        if state["id"] is None:
            state["id"] = obj.get("id")
            state["model"] = obj.get("model")
        usage = obj.get("usage")
        if usage:
            state["usage"] = usage
        choices = obj.get("choices")
        if not choices:
            return
        choice = choices[0]
        delta = choice.get("delta")
        if delta:
            content = delta.get("content")
            if content:
                text.append(content)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                for tc in tool_calls:
                    entry = calls.get(tc["index"])
                    if entry is None:
                        entry = calls[tc["index"]] = {"id": tc.get("id"), "name": "", "arguments": []}
                    fn = tc.get("function")
                    if fn:
                        if fn.get("name"):
                            entry["name"] = fn["name"]
                        if fn.get("arguments"):
                            entry["arguments"].append(fn["arguments"])
        finish = choice.get("finish_reason")
        if finish:
            state["finish_reason"] = finish

    def result() -> dict[str, Any]:
        return _result(state, text, calls.values())

    return apply, result


def _responses_fold() -> tuple[Callable[[dict[str, Any]], None], Callable[[], dict[str, Any]]]:
    state: dict[str, Any] = {"id": None, "model": None, "usage": None, "finish_reason": None}
    text: list[str] = []
    calls: dict[str, dict[str, Any]] = {}

    def apply(obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "response.output_text.delta":
            text.append(obj["delta"])
        elif kind == "response.function_call_arguments.delta":
            calls[obj["item_id"]]["arguments"].append(obj["delta"])
        elif kind == "response.output_item.added":
            item = obj["item"]
            if item.get("type") == "function_call":
                calls[item["id"]] = {"id": item["call_id"], "name": item["name"], "arguments": []}
        elif kind == "response.function_call_arguments.done":
            calls[obj["item_id"]]["arguments"] = [obj["arguments"]]
        elif kind == "response.created":
            state["id"] = obj["response"]["id"]
            state["model"] = obj["response"]["model"]
        elif kind == "response.completed":
            state["usage"] = obj["response"].get("usage")
            state["finish_reason"] = "tool_calls" if calls else "stop"

    def result() -> dict[str, Any]:
        return _result(state, text, calls.values())

    return apply, result


def _anthropic_fold() -> tuple[Callable[[dict[str, Any]], None], Callable[[], dict[str, Any]]]:
    state: dict[str, Any] = {"id": None, "model": None, "usage": None, "finish_reason": None}
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}

    def apply(obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        if kind == "content_block_delta":
            delta = obj["delta"]
            dt = delta.get("type")
            if dt == "text_delta":
                text.append(delta["text"])
            elif dt == "input_json_delta":
                calls[obj["index"]]["arguments"].append(delta["partial_json"])
        elif kind == "content_block_start":
            block = obj["content_block"]
            if block.get("type") == "tool_use":
                calls[obj["index"]] = {"id": block["id"], "name": block["name"], "arguments": []}
        elif kind == "message_start":
            msg = obj["message"]
            state["id"] = msg["id"]
            state["model"] = msg["model"]
            state["usage"] = dict(msg.get("usage") or {})
        elif kind == "message_delta":
            state["finish_reason"] = obj["delta"].get("stop_reason")
            if obj.get("usage"):
                state["usage"].update(obj["usage"])

    def result() -> dict[str, Any]:
        return _result(state, text, calls.values())

    return apply, result


def _result(state: dict[str, Any], text: list[str], calls: Iterable[dict[str, Any]]) -> dict[str, Any]:
    tool_calls = []
    for c in calls:
        raw = "".join(c["arguments"])
        try:
            args = loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            args = {}
        tool_calls.append({"id": c["id"], "name": c["name"], "arguments": args, "raw_arguments": raw})
    return {**state, "text": "".join(text), "tool_calls": tool_calls}


_FOLDS = {"openai-chat": _chat_fold, "openai-responses": _responses_fold, "anthropic": _anthropic_fold}


def orjson_collect(wire: str, chunks: Iterable[bytes]) -> dict[str, Any]:
    """Raw chunks to a result dict: split lines, orjson.loads, fold dicts."""
    apply, result = _FOLDS[wire]()
    for lines in _lines(chunks):
        for line in lines:
            if line[:6] == b"data: ":
                payload = line[6:]
                if payload == b"[DONE]":
                    continue
                apply(loads(payload))
    return result()


def orjson_stream(chunks: Iterable[bytes]) -> Iterable[list[dict[str, Any]]]:
    """Per network chunk, the list of parsed payload dicts (no fold, no event objects)."""
    for lines in _lines(chunks):
        batch = []
        for line in lines:
            if line[:6] == b"data: ":
                payload = line[6:]
                if payload != b"[DONE]":
                    batch.append(loads(payload))
        yield batch


# --------------------------------------------------------------------------------------
# SDKs over httpx.MockTransport


def sdk_http_module(sdk: Any) -> Any:
    """The HTTP package an SDK is built on: recent openai/anthropic releases use ``httpx2``
    (a fork with the same API) and reject ``httpx`` objects; older ones use ``httpx``."""
    base = getattr(sdk, "_base_client", None)
    return getattr(base, "httpx2", None) or httpx


def mock_http_client(chunks: tuple[bytes, ...], http: Any = httpx) -> Any:
    """A ``http.Client`` whose every request gets a 200 text/event-stream of these chunks."""

    def handler(request: Any) -> Any:
        return http.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_bench"},
            content=iter(chunks),
        )

    return http.Client(transport=http.MockTransport(handler))


def openai_client(chunks: tuple[bytes, ...]) -> Any:
    import openai

    return openai.OpenAI(
        api_key="sk-bench",
        base_url="https://api.openai.test/v1",
        http_client=mock_http_client(chunks, sdk_http_module(openai)),
        max_retries=0,
    )


def anthropic_client(chunks: tuple[bytes, ...]) -> Any:
    import anthropic

    return anthropic.Anthropic(
        api_key="sk-bench",
        base_url="https://api.anthropic.test",
        http_client=mock_http_client(chunks, sdk_http_module(anthropic)),
        max_retries=0,
    )


_MESSAGES = [{"role": "user", "content": "What is the weather in São Paulo and Tokyo?"}]


def sdk_collect(wire: str, client: Any) -> Callable[[], Any]:
    """A zero-argument callable doing one request through the SDK's stream helper."""
    if wire == "openai-chat":

        def run() -> Any:
            with client.chat.completions.stream(
                model="gpt-4o", messages=_MESSAGES, stream_options={"include_usage": True}
            ) as s:
                return s.get_final_completion()

    elif wire == "openai-responses":

        def run() -> Any:
            with client.responses.stream(model="gpt-4.1", input=_MESSAGES[0]["content"]) as s:
                return s.get_final_response()

    elif wire == "anthropic":

        def run() -> Any:
            with client.messages.stream(model="claude-sonnet-4-6", max_tokens=4096, messages=_MESSAGES) as s:
                return s.get_final_message()

    else:
        raise ValueError(wire)
    return run


def sdk_text_and_calls(wire: str, result: Any) -> tuple[str, int]:
    """(output text, number of tool calls) of an SDK's final object, for the sanity checks."""
    if wire == "openai-chat":
        msg = result.choices[0].message
        return msg.content or "", len(msg.tool_calls or [])
    if wire == "openai-responses":
        return result.output_text, sum(1 for item in result.output if item.type == "function_call")
    text = "".join(b.text for b in result.content if b.type == "text")
    return text, sum(1 for b in result.content if b.type == "tool_use")
