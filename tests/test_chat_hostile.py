"""The chat loop under hostile input: deep nesting, raising callbacks, repeated tool call ids."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import allm
from allm._collector import StepTools
from allm._tool_runner import ToolRunner
from allm.providers import OpenAI
from support.fault_server import FaultServer, Reply
from support.wire import openai_chat_sse, sse

pytestmark = pytest.mark.http

DEPTH = 1000
DEEP_ARRAY = "[" * DEPTH + "]" * DEPTH
USER = [allm.user("go")]


def deep_list() -> list[Any]:
    value: list[Any] = []
    for _ in range(DEPTH):
        value = [value]
    return value


def engine(*scripts: list[Any], tools: tuple[allm.Tool, ...] = ()) -> allm.Engine:
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scripts": list(scripts)}, tools=tools)


def tool_turn(raw_arguments: str, call_id: str = "c1") -> list[Any]:
    call = {"id": call_id, "name": "t", "arguments": {}, "raw_arguments": raw_arguments}
    return [("tool_call", call), ("finish", "tool_calls")]


def answering(handler: Any = None) -> allm.Tool:
    return allm.tool("t", "", {"type": "object"}, handler or (lambda args: "ok"))


def tool_error_of(result: allm.ChatResult) -> str:
    (message,) = [m for m in result.thread.messages if m.role == "tool"]
    assert isinstance(message.content, str)
    return message.content


@pytest.mark.parametrize("raw", [DEEP_ARRAY, '{"a":' + DEEP_ARRAY + "}"])
def test_deeply_nested_arguments_from_the_fake_are_an_invalid_arguments_tool_error(
    backend: ModuleType, raw: str
) -> None:
    result = allm.chat(engine(tool_turn(raw), [("finish", "stop")], tools=(answering(),)), USER)
    assert result.halted_reason == "completed"
    assert '"reason":"invalid_arguments"' in tool_error_of(result)


def test_deeply_nested_arguments_halt_under_the_halt_policy(backend: ModuleType) -> None:
    result = allm.chat(engine(tool_turn(DEEP_ARRAY), tools=(answering(),)), USER, on_tool_error="halt")
    assert result.halted_reason == "tool_error"
    assert result.metadata["error"].reason == "invalid_arguments"


def test_a_handler_returning_a_deeply_nested_list_is_an_encoding_failed_tool_error(
    backend: ModuleType,
) -> None:
    tool = answering(lambda args: deep_list())
    result = allm.chat(engine(tool_turn("{}"), [("finish", "stop")], tools=(tool,)), USER)
    assert '"reason":"encoding_failed"' in tool_error_of(result)


def test_a_handler_halting_with_a_deeply_nested_result_keeps_a_readable_tool_message(
    backend: ModuleType,
) -> None:
    tool = answering(lambda args: allm.halt("stopped", deep_list()))
    result = allm.chat(engine(tool_turn("{}"), tools=(tool,)), USER)
    assert result.halted_reason == "stopped" and tool_error_of(result).startswith("[[")


def test_an_on_tool_error_callback_continuing_with_a_deeply_nested_value_halts(backend: ModuleType) -> None:
    tool = answering(lambda args: 1 / 0)
    eng = engine(tool_turn("{}"), tools=(tool,))
    result = allm.chat(eng, USER, on_tool_error=lambda call, error: ("continue", deep_list()))
    assert result.halted_reason == "tool_error"
    assert "nested too deeply" in result.metadata["error"].metadata["on_tool_error_exception"]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer() as s:
        yield s


def deep_tool_call_sse() -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    call = {"index": 0, "id": "c1", "type": "function", "function": {"name": "t", "arguments": DEEP_ARRAY}}
    delta = {"role": "assistant", "tool_calls": [call]}
    return sse(
        [
            (None, {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            (None, "[DONE]"),
        ]
    )


def test_deeply_nested_arguments_over_http_are_a_tool_error(backend: ModuleType, server: FaultServer) -> None:
    server.script("deep-args", [Reply.sse(deep_tool_call_sse()), Reply.sse(openai_chat_sse(["done"]))])
    eng = allm.Engine(
        adapter=OpenAI,
        model="gpt-4o-mini",
        tools=(answering(),),
        adapter_opts={"api_key": "sk-hostile-0123456789", "base_url": server.url("deep-args", "/v1")},
    )
    try:
        result = allm.chat(eng, USER)
    finally:
        eng.close()
    assert result.final_response is not None and result.final_response.output_text == "done"
    assert '"reason":"invalid_arguments"' in tool_error_of(result)


def test_a_raising_halt_when_halts_the_chat_and_says_why(backend: ModuleType) -> None:
    def broken(step: allm.StepResult) -> bool:
        raise RuntimeError("bad predicate")

    eng = engine(tool_turn("{}"), [("finish", "stop")], tools=(answering(),))
    result = allm.chat(eng, USER, halt_when=broken)
    assert result.halted_reason == "halt_when" and len(result.steps) == 1
    assert result.metadata["halt_when_exception"] == "RuntimeError: bad predicate"


async def test_a_raising_halt_when_halts_the_async_chat_too(backend: ModuleType) -> None:
    eng = engine(tool_turn("{}"), [("finish", "stop")], tools=(answering(),))
    result = await allm.achat(eng, USER, halt_when=lambda step: 1 / 0)
    assert result.halted_reason == "halt_when"
    assert result.metadata["halt_when_exception"].startswith("ZeroDivisionError")


def test_a_halt_when_returning_false_records_no_exception(backend: ModuleType) -> None:
    eng = engine(tool_turn("{}"), [("finish", "stop")], tools=(answering(),))
    result = allm.chat(eng, USER, halt_when=lambda step: False)
    assert result.halted_reason == "completed" and "halt_when_exception" not in result.metadata


TWINS = (
    allm.ToolCall("same", "t", {"n": 1}, '{"n":1}'),
    allm.ToolCall("other", "t", {"n": 2}, '{"n":2}'),
    allm.ToolCall("same", "t", {"n": 3}, '{"n":3}'),
)


def test_tool_calls_sharing_an_id_each_get_their_answer_in_model_order(backend: ModuleType) -> None:
    runner = ToolRunner({"t": answering(lambda args: args["n"])})
    tools = StepTools()
    for batch in runner.run(TWINS):
        for event in batch:
            tools.apply(event)
    response = allm.Response(message=allm.Message(role="assistant", tool_calls=TWINS), tool_calls=TWINS)
    step = tools.step_result(allm.Thread.of(USER), response)
    assert sorted(m.content for m in step.tool_results) == ["1", "2", "3"]
    assert [m.tool_call_id for m in step.tool_results] == ["same", "same", "other"]


def test_submitting_a_result_answers_one_of_the_pending_calls_sharing_an_id(backend: ModuleType) -> None:
    session = allm.Session(status="awaiting_tools", pending_tool_calls=TWINS)
    session = session.submit_tool_result("same", "first")
    assert [c.arguments["n"] for c in session.pending_tool_calls] == [2, 3]
    session = session.submit_tool_result("same", "second").submit_tool_result("other", "third")
    assert session.status == "idle"
    assert [m.content for m in session.thread.messages] == ["first", "second", "third"]


def test_submitting_an_unencodable_result_is_a_validation_error(backend: ModuleType) -> None:
    session = allm.Session(status="awaiting_tools", pending_tool_calls=TWINS[:1])
    with pytest.raises(allm.errors.ValidationError):
        session.submit_tool_result("same", deep_list())
