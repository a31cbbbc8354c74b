"""The tool runner: handler shapes, validation, outcomes, error policies, timeouts, events."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import allm
from allm._tool_runner import RESERVED_HALT_REASONS, ToolRunner, encode_result
from allm.errors import ToolError, ValidationError

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def calls(*specs: tuple[str, str, dict[str, Any]]) -> list[allm.ToolCall]:
    return [allm.ToolCall(id=i, name=n, arguments=a) for i, n, a in specs]


def run(tools: list[allm.Tool], tool_calls: list[allm.ToolCall], **opts: Any) -> list[list[Any]]:
    runner = ToolRunner({t.name: t for t in tools}, request_id="rid", **opts)
    return list(runner.run(tool_calls))


async def arun(tools: list[allm.Tool], tool_calls: list[allm.ToolCall], **opts: Any) -> list[list[Any]]:
    runner = ToolRunner({t.name: t for t in tools}, request_id="rid", **opts)
    return [batch async for batch in runner.arun(tool_calls)]


def last(batches: list[list[Any]]) -> Any:
    (batch,) = batches
    return batch[-1]


def test_value_result_gives_the_event_trio(backend):
    tool = allm.tool("double", "", SCHEMA, lambda a: {"n": a["n"] * 2})
    (batch,) = run([tool], calls(("c1", "double", {"n": 2})))
    assert [e.type for e in batch] == [
        "tool_execution_started",
        "tool_execution_completed",
        "tool_result_encoded",
    ]
    assert batch[1].result == {"n": 4} and batch[1].is_error is False
    assert batch[2].content == '{"n":4}'


def test_string_result_is_verbatim(backend):
    tool = allm.tool("say", "", None, lambda a: 'plain "text"')
    assert last(run([tool], calls(("c1", "say", {})))).content == 'plain "text"'


def test_encode_result_rules(backend):
    assert encode_result("x") == "x"
    assert encode_result([1, "é", None]) == '[1,"é",null]'
    with pytest.raises(ValueError):
        encode_result(float("nan"))


def test_unencodable_result_is_encoding_failed(backend):
    tool = allm.tool("bad", "", None, lambda a: object())
    assert '"reason":"encoding_failed"' in last(run([tool], calls(("c1", "bad", {})))).content


def test_two_argument_handler_gets_a_tool_context(backend):
    seen: list[allm.ToolContext] = []
    tool = allm.tool("ctx", "", None, lambda args, ctx: seen.append(ctx) or "ok")
    run([tool], calls(("c1", "ctx", {})), session_id="s", context={"k": 1})
    (ctx,) = seen
    assert (ctx.request_id, ctx.session_id, ctx.context, ctx.tool_call.id) == ("rid", "s", {"k": 1}, "c1")


def test_coroutine_handler_runs_in_the_sync_runner(backend):
    async def handler(args: dict[str, Any]) -> str:
        await asyncio.sleep(0.01)
        return "from a coroutine"

    tool = allm.tool("co", "", None, handler)
    assert last(run([tool], calls(("c1", "co", {})))).content == "from a coroutine"


async def test_async_runner_runs_sync_and_async_handlers(backend):
    async def handler(args: dict[str, Any], ctx: allm.ToolContext) -> str:
        return f"async:{ctx.tool_call.id}"

    tools = [allm.tool("co", "", None, handler), allm.tool("plain", "", None, lambda a: "sync")]
    batches = await arun(tools, calls(("a", "co", {}), ("b", "plain", {})))
    assert sorted(b[-1].content for b in batches) == ["async:a", "sync"]


def test_arguments_are_validated_before_the_handler_runs(backend):
    ran: list[Any] = []
    tool = allm.tool("double", "", SCHEMA, lambda a: ran.append(a))
    event = last(run([tool], calls(("c1", "double", {"n": "two"}))))
    assert ran == []
    assert '"reason":"invalid_arguments"' in event.content and "n:" in event.content


def test_arguments_that_are_not_json_are_rejected(backend):
    tool = allm.tool("any", "", None, lambda a: "ran")
    bad = allm.ToolCall(id="c1", name="any", arguments={}, raw_arguments='{"n": 1')
    assert '"reason":"invalid_arguments"' in last(run([tool], [bad])).content


def test_unknown_tool_is_a_not_found_error(backend):
    event = last(run([], calls(("c1", "ghost", {}))))
    assert event.type == "tool_result_encoded" and '"reason":"not_found"' in event.content


def test_raised_exception_is_handler_raised(backend):
    def handler(args: dict[str, Any]) -> Any:
        raise KeyError("k")

    (batch,) = run([allm.tool("x", "", None, handler)], calls(("c1", "x", {})))
    error = batch[1].result
    assert batch[1].is_error and isinstance(error, ToolError) and error.reason == "handler_raised"
    assert error.tool_name == "x" and error.tool_call_id == "c1"


def test_returned_tool_error_is_an_error(backend):
    tool = allm.tool("x", "", None, lambda a: ToolError("invalid_return", "nope"))
    assert last(run([tool], calls(("c1", "x", {})))).content == (
        '{"error":{"reason":"invalid_return","message":"nope"}}'
    )


def test_raised_tool_error_keeps_its_reason(backend):
    def handler(args: dict[str, Any]) -> Any:
        raise ToolError("not_found", "no such record")

    assert (
        '"reason":"not_found"'
        in last(run([allm.tool("x", "", None, handler)], calls(("c1", "x", {})))).content
    )


def test_halt_policy_gives_a_tool_halt(backend):
    def handler(args: dict[str, Any]) -> Any:
        raise RuntimeError("bad")

    event = last(run([allm.tool("x", "", None, handler)], calls(("c1", "x", {})), on_tool_error="halt"))
    assert (
        event.type == "tool_halt" and event.reason == "tool_error" and event.result.reason == "handler_raised"
    )


def test_callable_policy_invalid_decision_halts(backend):
    def handler(args: dict[str, Any]) -> Any:
        raise RuntimeError("bad")

    event = last(
        run(
            [allm.tool("x", "", None, handler)],
            calls(("c1", "x", {})),
            on_tool_error=lambda call, error: "maybe",
        )
    )
    assert event.type == "tool_halt" and "maybe" in event.result.metadata["on_tool_error_exception"]


@pytest.mark.parametrize("policy", ["ignore", 3, None])
def test_invalid_on_tool_error_raises(backend, policy):
    with pytest.raises(ValidationError):
        ToolRunner({}, on_tool_error=policy)


@pytest.mark.parametrize("timeout", [0, -1, "5"])
def test_invalid_tool_timeout_raises(backend, timeout):
    with pytest.raises(ValidationError):
        ToolRunner({}, tool_timeout=timeout)


def test_ask_user_gives_ask_user_requested(backend):
    tool = allm.tool("ask", "", None, lambda a: allm.ask_user("Sure?", default="yes"))
    event = last(run([tool], calls(("c1", "ask", {}))))
    assert event == allm.events.AskUserRequested("c1", "ask", "Sure?", {"default": "yes"})


def test_custom_halt_gives_tool_halt_with_encoded_result(backend):
    tool = allm.tool("stop", "", None, lambda a: allm.halt("found_it", [1, 2]))
    event = last(run([tool], calls(("c1", "stop", {}))))
    assert (event.type, event.reason, event.result, event.content) == (
        "tool_halt",
        "found_it",
        [1, 2],
        "[1,2]",
    )


@pytest.mark.parametrize("reason", sorted(RESERVED_HALT_REASONS | {""}))
def test_reserved_halt_reasons_are_tool_errors(backend, reason):
    tool = allm.tool("stop", "", None, lambda a: allm.halt(reason))
    event = last(run([tool], calls(("c1", "stop", {}))))
    assert event.type == "tool_result_encoded" and '"reason":"invalid_return"' in event.content


def test_batches_arrive_in_completion_order(backend):
    def slow(args: dict[str, Any]) -> str:
        time.sleep(0.2)
        return "slow"

    tools = [allm.tool("slow", "", None, slow), allm.tool("fast", "", None, lambda a: "fast")]
    batches = run(tools, calls(("a", "slow", {}), ("b", "fast", {})))
    assert [b[-1].id for b in batches] == ["b", "a"]


def test_sync_timeout_abandons_the_handler(backend):
    def slow(args: dict[str, Any]) -> str:
        time.sleep(3)
        return "late"

    started = time.monotonic()
    (batch,) = run([allm.tool("slow", "", None, slow)], calls(("a", "slow", {})), tool_timeout=0.1)
    assert time.monotonic() - started < 1.0
    assert batch[1].result.reason == "timeout"


async def test_async_timeout_cancels_the_coroutine(backend):
    cancelled: list[bool] = []

    async def slow(args: dict[str, Any]) -> str:
        try:
            await asyncio.sleep(3)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "late"

    (batch,) = await arun([allm.tool("slow", "", None, slow)], calls(("a", "slow", {})), tool_timeout=0.1)
    assert batch[1].result.reason == "timeout" and cancelled == [True]


def test_handler_with_no_arguments_is_an_error(backend):
    tool = allm.tool("zero", "", None, lambda: "x")
    assert '"reason":"invalid_return"' in last(run([tool], calls(("c1", "zero", {})))).content


def _counting_tools(n: int) -> tuple[dict[str, allm.Tool], list[int], list[allm.ToolCall]]:
    import threading
    import time as _time

    active, peak, lock = [0], [0], threading.Lock()

    def slow(args: dict[str, Any]) -> str:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        _time.sleep(0.02)
        with lock:
            active[0] -= 1
        return "ok"

    tools = {"slow": allm.tool("slow", "", {"type": "object"}, handler=slow)}
    calls = [allm.ToolCall(id=f"c{i}", name="slow") for i in range(n)]
    return tools, peak, calls


def test_max_tool_concurrency_caps_the_tools_running_at_once(backend: object) -> None:
    tools, peak, calls = _counting_tools(6)
    runner = ToolRunner(tools, max_concurrency=2)
    batches = list(runner.run(calls))
    assert len(batches) == 6 and peak[0] == 2


def test_without_a_cap_every_tool_of_a_step_runs_at_once(backend: object) -> None:
    tools, peak, calls = _counting_tools(4)
    list(ToolRunner(tools).run(calls))
    assert peak[0] == 4


async def test_max_tool_concurrency_caps_async_runs_too(backend: object) -> None:
    tools, peak, calls = _counting_tools(6)
    batches = [batch async for batch in ToolRunner(tools, max_concurrency=3).arun(calls)]
    assert len(batches) == 6 and peak[0] == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_max_tool_concurrency_is_refused(bad: object) -> None:
    with pytest.raises(allm.errors.ValidationError):
        ToolRunner({}, max_concurrency=bad)  # type: ignore[arg-type]
