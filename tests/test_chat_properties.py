"""Fold equivalences over random Fake scripts: chat == folded stream, step == folded stream_step.

Beyond the equality of results, each step's result is re-derived from the events a
consumer sees (everything before its ``step_completed``), so the results carried by
``step_completed`` / ``chat_completed`` are checked against the stream itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allm
from allm import StreamCollector


def _fail(args: dict[str, Any]) -> Any:
    raise RuntimeError("nope")


TOOLS = (
    allm.tool("echo", "", {"type": "object"}, lambda a: a),
    allm.tool("fail", "", {"type": "object"}, _fail),
    allm.tool("ask", "", {"type": "object"}, lambda a: allm.ask_user("why?")),
    allm.tool("stop", "", {"type": "object"}, lambda a: allm.halt("stopped", a)),
    allm.tool("later", "", {"type": "object"}, manual=True),
)
NAMES = ["echo", "echo", "fail", "ask", "stop", "later", "ghost"]
THREAD = allm.Thread.of([allm.user("go")])
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

texts = st.lists(st.text(alphabet="ab é", min_size=1, max_size=4), max_size=3)
usage = st.none() | st.builds(
    lambda i, o: ("usage", {"input_tokens": i, "output_tokens": o}), st.integers(0, 50), st.integers(0, 50)
)


@st.composite
def tool_step(draw: Any, index: int) -> list[Any]:
    script: list[Any] = [("text", t) for t in draw(texts)]
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
    for j, name in enumerate(names):
        script.append(("tool_call", {"id": f"s{index}c{j}", "name": name, "arguments": {"n": j}}))
    extra = draw(usage)
    return [*script, *([extra] if extra else []), ("finish", "tool_calls")]


@st.composite
def final_step(draw: Any) -> list[Any]:
    script: list[Any] = [("text", t) for t in draw(texts)]
    ending = draw(st.sampled_from(["stop", "length", "content_filter", "other", "error"]))
    if ending == "error":
        return [*script, ("error", "provider_unavailable")]
    extra = draw(usage)
    return [*script, *([extra] if extra else []), ("finish", ending)]


@st.composite
def scripts(draw: Any) -> list[list[Any]]:
    count = draw(st.integers(1, 4))
    steps = [draw(tool_step(i)) if draw(st.booleans()) else draw(final_step()) for i in range(count)]
    return steps


options = st.fixed_dictionaries(
    {
        "on_tool_error": st.sampled_from(["continue", "halt"]),
        "mode": st.sampled_from(["auto", "auto", "manual"]),
        "emit_text_deltas": st.booleans(),
        "emit_tool_deltas": st.booleans(),
        "max_turns": st.integers(1, 5),
    }
)


def engine(steps: list[list[Any]]) -> allm.Engine:
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scripts": steps}, tools=TOOLS)


def split_steps(events: list[Any]) -> list[tuple[list[Any], Any]]:
    """The events of each completed step, paired with its step_completed event."""
    segments, current = [], []
    for event in events:
        if event.type == "step_completed":
            segments.append((current, event))
            current = []
        elif event.type != "chat_completed":
            current.append(event)
    return segments


def assert_rederived(start: allm.Thread, events: list[Any], deltas_seen: bool) -> None:
    """Each step's result equals the fold of the events before its step_completed.

    The Response itself is re-derived only when text deltas reached the consumer: with
    them filtered out, text that ended in an error (no text_completed) is not visible.
    """
    thread = start
    for segment, completed in split_steps(events):
        carried = completed.result
        rebuilt = (
            StreamCollector(thread)
            .apply_many(segment)
            .to_step_result(
                response=carried.response,
                metadata={
                    k: carried.metadata[k] for k in ("mode", "manual_tool_calls") if k in carried.metadata
                },
            )
        )
        assert rebuilt == carried
        folded_response = StreamCollector().apply_many(segment).to_response()
        assert not deltas_seen or (
            folded_response.output_text,
            folded_response.tool_calls,
            folded_response.finish_reason,
            folded_response.usage,
        ) == (
            carried.response.output_text,
            carried.response.tool_calls,
            carried.response.finish_reason,
            carried.response.usage,
        )
        thread = carried.thread


@SETTINGS
@given(steps=scripts(), opts=options)
def test_chat_equals_folded_stream(backend, steps, opts):
    direct = allm.chat(engine(steps), THREAD, request_id="r", **opts)
    with allm.stream(engine(steps), THREAD, request_id="r", **opts) as events:
        seen = list(events)
    assert [e.type for e in seen].count("chat_completed") == 1 and seen[-1].type == "chat_completed"
    assert StreamCollector(THREAD).apply_many(seen).to_chat_result() == direct
    assert [e.result for e in seen if e.type == "step_completed"] == list(direct.steps)
    assert_rederived(THREAD, seen, opts["emit_text_deltas"])
    assert len(direct.steps) <= opts["max_turns"]


@SETTINGS
@given(steps=scripts(), opts=options)
def test_step_equals_folded_stream_step(backend, steps, opts):
    direct = allm.step(engine(steps), THREAD, request_id="r", **opts)
    with allm.stream_step(engine(steps), THREAD, request_id="r", **opts) as events:
        seen = list(events)
    assert [e.type for e in seen].count("step_completed") == 1 and seen[-1].type == "step_completed"
    assert StreamCollector(THREAD).apply_many(seen).to_step_result() == direct
    assert_rederived(THREAD, seen, opts["emit_text_deltas"])
    assert direct.thread.messages[: len(THREAD)] == THREAD.messages


def runs_now(call: allm.ToolCall, mode: str) -> bool:
    """Whether the loop runs ``call`` itself (else it is held back for the caller)."""
    return mode == "auto" and call.name != "later"


@SETTINGS
@given(steps=scripts(), opts=options)
def test_every_call_the_loop_runs_is_answered_in_the_model_order(backend, steps, opts):
    result = allm.chat(engine(steps), THREAD, **opts)
    for step_result in result.steps:
        response = step_result.response
        ran = [c.id for c in response.tool_calls if runs_now(c, opts["mode"])]
        expected = ran if response.finish_reason == "tool_calls" else []
        assert [m.tool_call_id for m in step_result.tool_results] == expected


@SETTINGS
@given(steps=scripts(), opts=options)
def test_the_async_loop_gives_the_sync_loops_result(backend, steps, opts):
    direct = allm.chat(engine(steps), THREAD, request_id="r", **opts)
    assert asyncio.run(allm.achat(engine(steps), THREAD, request_id="r", **opts)) == direct
