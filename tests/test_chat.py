"""The chat loop: step / stream_step / chat / stream (and async twins) on the Fake provider."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import allm
from allm.errors import AdapterError, ToolError, ValidationError

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def engine(*scripts: list[Any], tools: tuple[allm.Tool, ...] = (), **adapter_opts: Any) -> allm.Engine:
    """A Fake engine answering each call with the next script."""
    return allm.Engine(
        adapter=allm.providers.Fake,
        adapter_opts={"scripts": list(scripts), **adapter_opts},
        tools=tools,
        model="fake-1",
    )


def call(call_id: str, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    return ("tool_call", {"id": call_id, "name": name, "arguments": arguments})


def tool_turn(*calls: tuple[str, dict[str, Any]]) -> list[Any]:
    return [*calls, ("finish", "tool_calls")]


def text_turn(text: str, finish: str = "stop") -> list[Any]:
    return [("text", text), ("finish", finish)]


def weather_tool(handler: Any = None, **kw: Any) -> allm.Tool:
    return allm.tool(
        "weather",
        "current weather",
        WEATHER_SCHEMA,
        handler or (lambda args: {"city": args["city"], "temp": 21}),
        **kw,
    )


def echo_tool(name: str = "echo", delay: float = 0.0, **kw: Any) -> allm.Tool:
    def handler(args: dict[str, Any]) -> Any:
        time.sleep(delay)
        return f"{name}:{args.get('x', '')}"

    return allm.tool(name, "echo", {"type": "object"}, handler, **kw)


USER = [allm.user("weather in Paris?")]


def roles(thread: allm.Thread) -> list[str]:
    return [m.role for m in thread.messages]


def test_two_step_tool_chat_thread(backend):
    eng = engine(
        tool_turn(call("c1", "weather", city="Paris")), text_turn("21 degrees"), tools=(weather_tool(),)
    )
    result = allm.chat(eng, USER)
    assert roles(result.thread) == ["user", "assistant", "tool", "assistant"]
    assert result.thread.messages[1].tool_calls[0].name == "weather"
    assert result.thread.messages[2].tool_call_id == "c1"
    assert result.thread.messages[2].content == '{"city":"Paris","temp":21}'
    assert result.final_response.output_text == "21 degrees"
    assert result.halted_reason == "completed"
    assert len(result.steps) == 2


def test_streamed_tool_turn_exact_event_order(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Paris")), text_turn("sunny"), tools=(weather_tool(),))
    with allm.stream(eng, USER) as events:
        kinds = [e.type for e in events]
    assert kinds == [
        "message_started",
        "tool_call_started",
        "tool_call_completed",
        "message_completed",
        "tool_execution_started",
        "tool_execution_completed",
        "tool_result_encoded",
        "step_completed",
        "message_started",
        "text_delta",
        "text_completed",
        "message_completed",
        "step_completed",
        "chat_completed",
    ]


def test_step_runs_tools_and_ends_with_one_step_completed(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Oslo")), tools=(weather_tool(),))
    with allm.stream_step(eng, USER) as events:
        seen = list(events)
        result = events.get_final_result()
    assert [e.type for e in seen].count("step_completed") == 1 and seen[-1].type == "step_completed"
    assert roles(result.thread) == ["user", "assistant", "tool"]
    assert result.tool_results[0].content == '{"city":"Oslo","temp":21}'
    assert result.done is False


def test_parallel_tools_results_in_model_order_events_in_completion_order(backend):
    tools = (echo_tool("slow", delay=0.3), echo_tool("fast"))
    eng = engine(tool_turn(call("a", "slow", x=1), call("b", "fast", x=2)), text_turn("ok"), tools=tools)
    with allm.stream(eng, USER) as events:
        seen = list(events)
        result = events.get_final_result()
    encoded = [e.id for e in seen if e.type == "tool_result_encoded"]
    assert encoded == ["b", "a"]
    tool_msgs = [m for m in result.thread.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_msgs] == ["a", "b"]
    assert [m.content for m in tool_msgs] == ["slow:1", "fast:2"]


def test_parallel_tools_run_concurrently(backend):
    tools = (echo_tool("one", delay=0.3), echo_tool("two", delay=0.3))
    eng = engine(tool_turn(call("a", "one"), call("b", "two")), tools=tools)
    started = time.monotonic()
    allm.step(eng, USER)
    assert time.monotonic() - started < 0.55


def test_slow_tool_times_out(backend):
    eng = engine(tool_turn(call("a", "slow")), text_turn("gave up"), tools=(echo_tool("slow", delay=2.0),))
    started = time.monotonic()
    result = allm.chat(eng, USER, tool_timeout=0.1)
    assert time.monotonic() - started < 1.5
    tool_msg = result.thread.messages[2]
    assert '"reason":"timeout"' in tool_msg.content
    assert result.halted_reason == "completed"


def boom(args: dict[str, Any]) -> Any:
    raise RuntimeError("kaput")


def failing_engine() -> allm.Engine:
    return engine(
        tool_turn(call("c1", "boom")), text_turn("sorry"), tools=(allm.tool("boom", "", None, boom),)
    )


def test_raising_handler_continue_policy_tells_the_model(backend):
    result = allm.chat(failing_engine(), USER)
    assert result.halted_reason == "completed"
    assert result.thread.messages[2].content == (
        '{"error":{"reason":"handler_raised","message":"RuntimeError: kaput"}}'
    )


def test_raising_handler_halt_policy_halts_with_tool_error(backend):
    result = allm.chat(failing_engine(), USER, on_tool_error="halt")
    assert result.halted_reason == "tool_error"
    error = result.metadata["error"]
    assert isinstance(error, ToolError) and error.reason == "handler_raised" and error.tool_call_id == "c1"
    assert len(result.steps) == 1
    assert roles(result.thread) == ["user", "assistant", "tool"]


def test_raising_handler_callable_policy_continue_with_value(backend):
    seen: list[Any] = []

    def policy(tool_call: allm.ToolCall, error: ToolError) -> Any:
        seen.append((tool_call.id, error.reason))
        return ("continue", {"fallback": True})

    result = allm.chat(failing_engine(), USER, on_tool_error=policy)
    assert seen == [("c1", "handler_raised")]
    assert result.thread.messages[2].content == '{"fallback":true}'
    assert result.halted_reason == "completed"


def test_raising_handler_callable_policy_halt(backend):
    result = allm.chat(failing_engine(), USER, on_tool_error=lambda call, error: "halt")
    assert result.halted_reason == "tool_error"


def test_raising_policy_halts_and_records_why(backend):
    def policy(tool_call: allm.ToolCall, error: ToolError) -> Any:
        raise ValueError("policy broke")

    result = allm.chat(failing_engine(), USER, on_tool_error=policy)
    assert result.halted_reason == "tool_error"
    assert "policy broke" in result.metadata["error"].metadata["on_tool_error_exception"]


def test_manual_mode_returns_tool_calls_without_running(backend):
    ran: list[Any] = []
    tool = weather_tool(lambda args: ran.append(args))
    eng = engine(tool_turn(call("c1", "weather", city="Rome")), tools=(tool,))
    result = allm.chat(eng, USER, mode="manual")
    assert ran == []
    assert result.halted_reason == "manual_tool_calls"
    assert [c.id for c in result.metadata["manual_tool_calls"]] == ["c1"]
    assert roles(result.thread) == ["user", "assistant"]
    assert result.steps[0].metadata["mode"] == "manual"


def test_per_tool_manual_mix_runs_auto_and_holds_manual(backend):
    approve = allm.tool("approve", "needs a human", {"type": "object"}, lambda a: "never", manual=True)
    eng = engine(
        tool_turn(call("a", "weather", city="Rome"), call("b", "approve")), tools=(weather_tool(), approve)
    )
    result = allm.chat(eng, USER)
    assert result.halted_reason == "manual_tool_calls"
    assert [c.id for c in result.metadata["manual_tool_calls"]] == ["b"]
    assert [m.tool_call_id for m in result.thread.messages if m.role == "tool"] == ["a"]


def test_ask_user_halts_with_pending_question(backend):
    ask = allm.tool(
        "confirm", "", {"type": "object"}, lambda a: allm.ask_user("Which city?", choices=["A", "B"])
    )
    eng = engine(tool_turn(call("q1", "confirm")), tools=(ask,))
    with allm.stream(eng, USER) as events:
        kinds = [e.type for e in events]
        result = events.get_final_result()
    assert kinds[-3:] == ["ask_user_requested", "step_completed", "chat_completed"]
    assert result.halted_reason == "ask_user"
    assert (result.pending_question, result.pending_tool_call_id) == ("Which city?", "q1")
    assert result.metadata["ask_user_options"] == {"choices": ["A", "B"]}
    assert roles(result.thread) == ["user", "assistant", "tool", "assistant"]
    assert result.thread.messages[2].content == "<awaiting user response>"
    assert result.thread.messages[3].content == "Which city?"


def test_ask_user_then_reply_continues_the_chat(backend):
    ask = allm.tool("confirm", "", {"type": "object"}, lambda a: allm.ask_user("Which city?"))
    eng = engine(tool_turn(call("q1", "confirm")), text_turn("Paris it is"), tools=(ask,))
    first = allm.chat(eng, USER)
    second = allm.chat(eng, first.thread.add(allm.user("Paris")))
    assert second.halted_reason == "completed"
    assert second.final_response.output_text == "Paris it is"
    assert roles(second.thread) == ["user", "assistant", "tool", "assistant", "user", "assistant"]


def test_custom_halt_stops_the_loop_with_its_reason(backend):
    done = allm.tool("finish_task", "", {"type": "object"}, lambda a: allm.halt("task_done", {"id": 7}))
    eng = engine(tool_turn(call("h1", "finish_task")), tools=(done,))
    result = allm.chat(eng, USER)
    assert result.halted_reason == "task_done"
    assert result.metadata["halt_result"] == {"id": 7}
    assert result.metadata["halt_tool_call_id"] == "h1"
    assert result.thread.messages[-1].content == '{"id":7}'


@pytest.mark.parametrize(
    "reason", ["ask_user", "max_turns", "halt_when", "tool_error", "cancelled", "completed", "error"]
)
def test_reserved_halt_reason_is_rejected_as_a_tool_error(backend, reason):
    bad = allm.tool("bad", "", {"type": "object"}, lambda a: allm.halt(reason))
    eng = engine(tool_turn(call("h1", "bad")), text_turn("ok"), tools=(bad,))
    result = allm.chat(eng, USER)
    assert result.halted_reason == "completed"
    assert '"reason":"invalid_return"' in result.thread.messages[2].content


def test_ask_user_wins_over_tool_error_in_one_step(backend):
    ask = allm.tool("confirm", "", {"type": "object"}, lambda a: allm.ask_user("Sure?"))
    eng = engine(
        tool_turn(call("e1", "boom"), call("q1", "confirm")), tools=(ask, allm.tool("boom", "", None, boom))
    )
    result = allm.chat(eng, USER, on_tool_error="halt")
    assert result.halted_reason == "ask_user"
    assert [m.tool_call_id for m in result.thread.messages if m.role == "tool"] == ["e1", "q1"]


def test_max_turns_stops_the_loop(backend):
    eng = engine(*[tool_turn(call(f"c{i}", "echo")) for i in range(5)], tools=(echo_tool(),))
    result = allm.chat(eng, USER, max_turns=3)
    assert result.halted_reason == "max_turns"
    assert len(result.steps) == 3
    assert result.metadata["max_turns"] == 3


def test_max_turns_defaults_to_eight(backend):
    eng = engine(*[tool_turn(call(f"c{i}", "echo")) for i in range(10)], tools=(echo_tool(),))
    result = allm.chat(eng, USER)
    assert (result.halted_reason, len(result.steps)) == ("max_turns", 8)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_non_positive_max_turns_raises(backend, bad):
    with pytest.raises(ValidationError):
        allm.chat(engine(text_turn("hi")), USER, max_turns=bad)


def test_halt_when_stops_after_the_matching_step(backend):
    eng = engine(*[tool_turn(call(f"c{i}", "echo")) for i in range(4)], tools=(echo_tool(),))
    seen: list[int] = []

    def stop_at_second(step_result: allm.StepResult) -> bool:
        seen.append(len(step_result.thread))
        return len(seen) == 2

    result = allm.chat(eng, USER, halt_when=stop_at_second)
    assert result.halted_reason == "halt_when"
    assert len(result.steps) == 2


def test_halt_when_is_not_consulted_on_a_completed_step(backend):
    calls: list[Any] = []
    result = allm.chat(engine(text_turn("done")), USER, halt_when=lambda s: calls.append(s) or True)
    assert (result.halted_reason, calls) == ("completed", [])


SCHEMA_FORMAT = allm.json_schema("answer", {"type": "object", "properties": {"temp": {"type": "number"}}})


def test_structured_finalize_runs_a_final_tool_free_call_with_the_schema(backend):
    eng = engine(
        tool_turn(call("c1", "weather", city="Paris")),
        text_turn("It is 21"),
        text_turn('{"temp": 21}'),
        tools=(weather_tool(),),
    )
    result = allm.chat(eng, USER, response_format=SCHEMA_FORMAT, structured_finalize=True)
    requests = eng.instance.requests
    assert [r.response_format for r in requests] == [None, None, SCHEMA_FORMAT]
    assert requests[2].tools == () and requests[0].tools != ()
    assert requests[2].messages[-1].content == "Now provide your final structured response."
    assert result.final_response.output_text == '{"temp": 21}'
    assert result.halted_reason == "completed"
    assert result.metadata["structured_finalize"] == {"pass_1_halted": "completed"}
    assert len(result.steps) == 3


def test_structured_finalize_is_automatic_when_the_adapter_needs_it(backend):
    eng = engine(
        text_turn("It is 21"), text_turn('{"temp": 21}'), tools=(weather_tool(),), structured_finalize=True
    )
    result = allm.chat(eng, USER, response_format=SCHEMA_FORMAT)
    assert [r.response_format for r in eng.instance.requests] == [None, SCHEMA_FORMAT]
    assert result.final_response.output_text == '{"temp": 21}'


def test_without_finalize_the_schema_goes_with_the_tools(backend):
    eng = engine(text_turn('{"temp": 1}'), tools=(weather_tool(),))
    allm.chat(eng, USER, response_format=SCHEMA_FORMAT)
    assert [r.response_format for r in eng.instance.requests] == [SCHEMA_FORMAT]


def test_structured_finalize_needs_a_json_schema(backend):
    with pytest.raises(ValidationError):
        allm.chat(engine(text_turn("x")), USER, structured_finalize=True)


def test_structured_finalize_skipped_after_a_tool_error_halt(backend):
    eng = engine(tool_turn(call("c1", "boom")), text_turn("{}"), tools=(allm.tool("boom", "", None, boom),))
    result = allm.chat(
        eng, USER, response_format=SCHEMA_FORMAT, structured_finalize=True, on_tool_error="halt"
    )
    assert result.halted_reason == "tool_error"
    assert len(eng.instance.requests) == 1


def test_unknown_tool_is_told_to_the_model(backend):
    eng = engine(tool_turn(call("c1", "nope")), text_turn("my mistake"), tools=(weather_tool(),))
    result = allm.chat(eng, USER)
    assert result.halted_reason == "completed"
    content = result.thread.messages[2].content
    assert '"reason":"not_found"' in content and "nope" in content and "weather" in content


def test_invalid_arguments_are_told_to_the_model(backend):
    ran: list[Any] = []
    eng = engine(
        tool_turn(call("c1", "weather", town="Paris")),
        text_turn("retry"),
        tools=(weather_tool(lambda a: ran.append(a)),),
    )
    result = allm.chat(eng, USER)
    assert ran == []
    assert '"reason":"invalid_arguments"' in result.thread.messages[2].content


def test_mid_stream_error_halts_with_error(backend):
    eng = engine([("text", "par"), ("error", "provider_unavailable")])
    result = allm.chat(eng, USER)
    assert result.halted_reason == "error"
    assert isinstance(result.metadata["error"], AdapterError)
    assert result.final_response.output_text == "par"


def test_first_call_preflight_error_raises_at_call_time(backend):
    with pytest.raises(AdapterError) as info:
        allm.stream(engine(), USER)
    assert info.value.reason == "no_scripted_response"


def test_later_step_preflight_error_becomes_an_error_event(backend):
    eng = engine(tool_turn(call("c1", "echo")), tools=(echo_tool(),))
    with allm.stream(eng, USER) as events:
        kinds = [e.type for e in events]
        result = events.get_final_result()
    assert kinds[-2:] == ["error", "chat_completed"]
    assert result.halted_reason == "error"
    assert result.metadata["error"].reason == "no_scripted_response"
    assert len(result.steps) == 1


def test_filters_change_what_the_consumer_sees_not_the_result(backend):
    eng = engine(text_turn("hello"))
    with allm.stream(eng, USER, emit_text_deltas=False) as events:
        kinds = [e.type for e in events]
        result = events.get_final_result()
    assert "text_delta" not in kinds
    assert result.final_response.output_text == "hello"


def test_on_event_sees_every_event(backend):
    seen: list[str] = []
    eng = engine(tool_turn(call("c1", "echo")), text_turn("hi"), tools=(echo_tool(),))
    allm.chat(eng, USER, on_event=lambda e: seen.append(e.type), emit_text_deltas=False)
    assert "text_delta" in seen and seen[-1] == "chat_completed"


def test_breaking_out_closes_the_stream_and_cancels(backend):
    eng = engine(tool_turn(call("c1", "echo")), text_turn("never read"), tools=(echo_tool(),))
    with allm.stream(eng, USER) as events:
        for event in events:
            if event.type == "message_completed":
                break
    result = events.get_final_result()
    assert result.halted_reason == "cancelled"
    assert len(eng.instance.requests) == 1


def test_model_call_is_closed_when_stream_closes(backend, monkeypatch):
    closed: list[bool] = []
    eng = engine(text_turn("abc"))
    original = eng.instance.open

    def spy(request: Any, call_: Any) -> Any:
        source = original(request, call_)
        real_close = source.close
        source.close = lambda: (closed.append(True), real_close())  # type: ignore[method-assign]
        return source

    monkeypatch.setattr(eng.instance, "open", spy)
    events = allm.stream(eng, USER)
    next(events)
    events.close()
    assert closed


def test_one_request_id_for_the_whole_chat(backend):
    eng = engine(tool_turn(call("c1", "echo")), text_turn("hi"), tools=(echo_tool(),))
    result = allm.chat(eng, USER, request_id="rid-1")
    assert [s.response.request_id for s in result.steps] == ["rid-1", "rid-1"]
    assert result.metadata["request_id"] == "rid-1"


def test_telemetry_spans_nest_and_share_the_request_id(backend):
    seen: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    def handler(name: str, payload: dict[str, Any]) -> None:
        with lock:
            seen.append((name, payload))

    allm.telemetry.add_handler(handler)
    try:
        eng = engine(tool_turn(call("c1", "echo")), text_turn("hi"), tools=(echo_tool(),))
        allm.chat(eng, USER)
    finally:
        allm.telemetry.remove_handler(handler)
    names = [n for n, _ in seen]
    assert names == [
        "allm.chat.start",
        "allm.step.start",
        "allm.generate.start",
        "allm.generate.stop",
        "allm.tool.start",
        "allm.tool.stop",
        "allm.step.stop",
        "allm.step.start",
        "allm.generate.start",
        "allm.generate.stop",
        "allm.step.stop",
        "allm.chat.stop",
    ]
    assert len({p["request_id"] for _, p in seen}) == 1
    assert all("duration_ms" in p for n, p in seen if n.endswith(".stop"))
    assert dict(seen)["allm.chat.stop"]["chat_result"].halted_reason == "completed"


def test_telemetry_tool_exception_span_for_a_raising_handler(backend):
    seen: list[str] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        seen.append(name)

    allm.telemetry.add_handler(handler)
    try:
        allm.chat(failing_engine(), USER)
    finally:
        allm.telemetry.remove_handler(handler)
    assert "allm.tool.exception" in seen and "allm.tool.stop" not in seen


def test_context_and_ids_reach_two_argument_handlers(backend):
    seen: list[allm.ToolContext] = []

    def handler(args: dict[str, Any], context: allm.ToolContext) -> str:
        seen.append(context)
        return "ok"

    eng = engine(tool_turn(call("c1", "ctx")), text_turn("hi"), tools=(allm.tool("ctx", "", None, handler),))
    eng = eng.put_context("user", "ada")
    allm.chat(eng, USER, request_id="rid-2", session_id="s-1")
    (context,) = seen
    assert (context.context, context.session_id, context.request_id) == ({"user": "ada"}, "s-1", "rid-2")
    assert context.tool_call.id == "c1" and context.engine is eng


def test_call_tools_add_to_and_replace_engine_tools(backend):
    replaced = allm.tool("weather", "", None, lambda a: "from call")
    eng = engine(tool_turn(call("c1", "weather", city="X")), text_turn("ok"), tools=(weather_tool(),))
    result = allm.chat(eng, USER, tools=[replaced])
    assert result.thread.messages[2].content == "from call"
    assert [t.name for t in eng.instance.requests[0].tools] == ["weather"]


def test_step_fold_matches_stream_step(backend):
    eng1 = engine(tool_turn(call("c1", "weather", city="Oslo")), tools=(weather_tool(),))
    eng2 = engine(tool_turn(call("c1", "weather", city="Oslo")), tools=(weather_tool(),))
    direct = allm.step(eng1, USER, request_id="r")
    with allm.stream_step(eng2, USER, request_id="r") as events:
        folded = allm.StreamCollector(allm.Thread.of(USER)).apply_many(events).to_step_result()
    assert direct == folded


async def test_achat_runs_async_and_sync_handlers(backend):
    async def slow(args: dict[str, Any]) -> str:
        import asyncio

        await asyncio.sleep(0.05)
        return "async-done"

    tools = (allm.tool("slow", "", None, slow), echo_tool())
    eng = engine(tool_turn(call("a", "slow"), call("b", "echo", x=1)), text_turn("fine"), tools=tools)
    result = await allm.achat(eng, USER)
    assert [m.content for m in result.thread.messages if m.role == "tool"] == ["async-done", "echo:1"]
    assert result.halted_reason == "completed"


async def test_astream_event_order_matches_sync(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Paris")), text_turn("sunny"), tools=(weather_tool(),))
    async with allm.astream(eng, USER) as events:
        kinds = [e.type async for e in events]
        result = await events.get_final_result()
    assert kinds[4:8] == [
        "tool_execution_started",
        "tool_execution_completed",
        "tool_result_encoded",
        "step_completed",
    ]
    assert kinds[-1] == "chat_completed" and result.halted_reason == "completed"


async def test_astep_and_astream_step(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Oslo")), text_turn("x"), tools=(weather_tool(),))
    step_result = await allm.astep(eng, USER)
    assert roles(step_result.thread) == ["user", "assistant", "tool"]
    async with allm.astream_step(eng, step_result.thread) as events:
        kinds = [e.type async for e in events]
        second = await events.get_final_result()
    assert kinds[-1] == "step_completed" and second.done and second.response.output_text == "x"


async def test_async_slow_tool_times_out(backend):
    import asyncio

    async def slow(args: dict[str, Any]) -> str:
        await asyncio.sleep(5)
        return "never"

    eng = engine(tool_turn(call("a", "slow")), text_turn("ok"), tools=(allm.tool("slow", "", None, slow),))
    started = time.monotonic()
    result = await allm.achat(eng, USER, tool_timeout=0.1)
    assert time.monotonic() - started < 1.5
    assert '"reason":"timeout"' in result.thread.messages[2].content


async def test_async_manual_mode(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Rome")), tools=(weather_tool(),))
    result = await allm.achat(eng, USER, mode="manual")
    assert result.halted_reason == "manual_tool_calls"


def test_a_step_stream_closed_early_returns_the_step_so_far(backend):
    eng = engine([("text", "ab"), ("text", "cd"), ("finish", "stop")])
    events = allm.stream_step(eng, USER)
    next(events), next(events)
    events.close()
    result = events.get_final_result()
    assert (result.response.output_text, result.done) == ("ab", False)
    assert roles(result.thread) == ["user", "assistant"]


async def test_an_async_step_stream_closed_early_returns_the_step_so_far(backend):
    eng = engine([("text", "ab"), ("text", "cd"), ("finish", "stop")])
    events = allm.astream_step(eng, USER)
    await events.__anext__(), await events.__anext__()
    await events.aclose()
    result = await events.get_final_result()
    assert (result.response.output_text, result.done) == ("ab", False)


def test_a_chat_closed_right_after_a_mid_stream_error_reports_the_error(backend):
    eng = engine([("text", "par"), ("error", "provider_unavailable")])
    with allm.stream(eng, USER) as events:
        kinds = []
        for event in events:
            kinds.append(event.type)
            if event.type == "error":
                break
    result = events.get_final_result()
    assert kinds[-1] == "error"
    assert result.halted_reason == "error" and result.metadata["error"].reason == "provider_unavailable"


def test_the_model_calls_per_chunk_batches_pass_through_whole(backend):
    eng = engine(tool_turn(call("c1", "weather", city="Paris")), text_turn("sunny"), tools=(weather_tool(),))
    with allm.stream(eng, USER) as events:
        batches = [[e.type for e in batch] for batch in events._batches]
    assert ["tool_call_started", "tool_call_completed"] in batches
    assert ["text_completed", "message_completed"] in batches
