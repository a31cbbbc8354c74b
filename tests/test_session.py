"""Sessions: immutable values, statuses and legality, streaming/async twins, JSON, resume elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import allm
from allm._session import SessionReducer
from allm.errors import SessionError, ValidationError

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "python"


def engine(*scripts: list[Any], tools: tuple[allm.Tool, ...] = ()) -> allm.Engine:
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scripts": list(scripts)}, tools=tools)


def call(call_id: str, name: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    return ("tool_call", {"id": call_id, "name": name, "arguments": arguments})


def tool_turn(*calls: Any) -> list[Any]:
    return [*calls, ("finish", "tool_calls")]


def text_turn(text: str, finish: str = "stop") -> list[Any]:
    return [("text", text), ("finish", finish)]


ASK = allm.tool("confirm", "ask the user", {"type": "object"}, lambda a: allm.ask_user("Which city?"))
APPROVE = allm.tool("approve", "a human approves", {"type": "object"}, manual=True)
ECHO = allm.tool("echo", "", {"type": "object"}, lambda a: "echoed")


def boom(args: dict[str, Any]) -> Any:
    raise RuntimeError("kaput")


BOOM = allm.tool("boom", "", {"type": "object"}, boom)


def completed_session() -> allm.Session:
    session, _ = allm.Session().start(engine(text_turn("hi")), [allm.user("hello")])
    return session


def awaiting_user_session(*more: list[Any]) -> tuple[allm.Session, allm.Engine]:
    eng = engine(tool_turn(call("q1", "confirm")), *more, tools=(ASK,))
    session, _ = allm.Session().start(eng, [allm.user("book a trip")])
    return session, eng


def awaiting_tools_session(*more: list[Any]) -> tuple[allm.Session, allm.Engine]:
    eng = engine(
        tool_turn(call("m1", "approve", amount=5), call("m2", "approve", amount=7)), *more, tools=(APPROVE,)
    )
    session, _ = allm.Session().start(eng, [allm.user("pay")])
    return session, eng


def error_session() -> allm.Session:
    session, _ = allm.Session().start(engine([("error", "provider_unavailable")]), [allm.user("x")])
    return session


# -- transitions ----------------------------------------------------------------


def test_start_from_idle_completes(backend):
    fresh = allm.Session()
    session, result = fresh.start(engine(text_turn("hi")), [allm.user("hello")])
    assert (session.status, result.halted_reason) == ("completed", "completed")
    assert [m.role for m in session.thread.messages] == ["user", "assistant"]
    assert fresh.status == "idle" and fresh.thread.messages == ()
    assert session.id == fresh.id


def test_start_accepts_a_string(backend):
    session, _ = allm.Session().start(engine(text_turn("hi")), "hello")
    assert session.thread.messages[0] == allm.user("hello")


def test_start_on_a_session_with_messages_is_illegal(backend):
    with pytest.raises(SessionError, match="already has 2 message") as info:
        completed_session().start(engine(text_turn("x")), "again")
    assert info.value.reason == "invalid_status_for_operation"


def test_reply_from_completed(backend):
    session, result = completed_session().reply(engine(text_turn("again")), "more")
    assert session.status == "completed" and result.final_response.output_text == "again"
    assert [m.role for m in session.thread.messages] == ["user", "assistant", "user", "assistant"]


def test_continue_from_completed(backend):
    session, _ = completed_session().continue_(engine(text_turn("more")))
    assert session.status == "completed" and len(session.thread) == 3


def test_step_from_completed(backend):
    session, step_result = completed_session().step(engine(text_turn("one")))
    assert isinstance(step_result, allm.StepResult) and session.status == "completed"


def test_step_that_would_continue_leaves_the_session_idle(backend):
    eng = engine(tool_turn(call("c1", "echo")), text_turn("done"), tools=(ECHO,))
    session, step_result = allm.Session(thread=allm.Thread.of([allm.user("go")])).step(eng)
    assert (session.status, step_result.done) == ("idle", False)
    session, result = session.continue_(eng)
    assert session.status == "completed" and result.final_response.output_text == "done"


def test_ask_user_sets_awaiting_user(backend):
    session, _ = awaiting_user_session()
    assert session.status == "awaiting_user"
    assert (session.pending_question, session.pending_tool_call_id) == ("Which city?", "q1")
    assert session.metadata["halted_reason"] == "ask_user"


def test_reply_answers_the_question_and_completes(backend):
    session, _ = awaiting_user_session(text_turn("Paris booked"))
    session, result = session.reply(_same_engine_second_call(text_turn("Paris booked")), "Paris")
    assert session.status == "completed"
    assert session.pending_question is None and session.pending_tool_call_id is None
    assert result.final_response.output_text == "Paris booked"
    assert session.thread.messages[-2] == allm.user("Paris")


def _same_engine_second_call(script: list[Any]) -> allm.Engine:
    return engine(script, tools=(ASK,))


@pytest.mark.parametrize("operation", ["continue", "step", "start", "submit"])
def test_awaiting_user_allows_only_reply(backend, operation):
    session, _ = awaiting_user_session()
    eng = engine(text_turn("x"))
    with pytest.raises(SessionError, match="reply") as info:
        _do(session, operation, eng)
    assert info.value.reason == "invalid_status_for_operation"


def _do(session: allm.Session, operation: str, eng: allm.Engine) -> Any:
    if operation == "continue":
        return session.continue_(eng)
    if operation == "step":
        return session.step(eng)
    if operation == "start":
        return session.start(eng, "x")
    if operation == "reply":
        return session.reply(eng, "x")
    return session.submit_tool_result("m1", "ok")


def test_manual_tools_set_awaiting_tools(backend):
    session, _ = awaiting_tools_session()
    assert session.status == "awaiting_tools"
    assert [c.id for c in session.pending_tool_calls] == ["m1", "m2"]
    assert session.metadata["halted_reason"] == "manual_tool_calls"


def test_submitting_every_result_returns_to_idle_then_continue(backend):
    session, _ = awaiting_tools_session()
    half = session.submit_tool_result("m1", {"approved": True})
    assert half.status == "awaiting_tools" and [c.id for c in half.pending_tool_calls] == ["m2"]
    done = half.submit_tool_result("m2", "approved")
    assert done.status == "idle" and done.pending_tool_calls == ()
    assert [(m.tool_call_id, m.content) for m in done.thread.messages[-2:]] == [
        ("m1", '{"approved":true}'),
        ("m2", "approved"),
    ]
    final, result = done.continue_(engine(text_turn("paid")))
    assert final.status == "completed" and result.final_response.output_text == "paid"
    assert session.status == "awaiting_tools"  # the old value is untouched


@pytest.mark.parametrize("operation", ["continue", "step", "start", "reply"])
def test_awaiting_tools_allows_only_submit(backend, operation):
    session, _ = awaiting_tools_session()
    with pytest.raises(SessionError, match="submit_tool_result") as info:
        _do(session, operation, engine(text_turn("x")))
    assert info.value.reason == "invalid_status_for_operation"


def test_submit_unknown_tool_call_id_raises(backend):
    session, _ = awaiting_tools_session()
    with pytest.raises(SessionError, match="nope") as info:
        session.submit_tool_result("nope", "x")
    assert info.value.reason == "unknown_tool_call_id"


@pytest.mark.parametrize("status", ["idle", "completed"])
def test_submit_without_pending_calls_is_illegal(backend, status):
    session = allm.Session() if status == "idle" else completed_session()
    with pytest.raises(SessionError, match="no tool calls are pending"):
        session.submit_tool_result("m1", "x")


def test_mid_stream_error_sets_error(backend):
    session = error_session()
    assert session.status == "error"
    assert session.metadata["error"].reason == "provider_unavailable"


def test_tool_error_halt_sets_error(backend):
    eng = engine(tool_turn(call("b1", "boom")), tools=(BOOM,))
    session, result = allm.Session().start(eng, "go", on_tool_error="halt")
    assert (session.status, result.halted_reason) == ("error", "tool_error")
    assert session.metadata["error"].reason == "handler_raised"


@pytest.mark.parametrize("operation", ["continue", "step", "start", "reply", "submit"])
def test_error_state_rejects_every_operation(backend, operation):
    with pytest.raises(SessionError, match="error state") as info:
        _do(error_session(), operation, engine(text_turn("x")))
    assert info.value.reason == "session_in_error_state"


def test_custom_halt_completes_the_session(backend):
    stop = allm.tool("stop", "", {"type": "object"}, lambda a: allm.halt("enough"))
    session, result = allm.Session().start(engine(tool_turn(call("s1", "stop")), tools=(stop,)), "go")
    assert (session.status, result.halted_reason, session.metadata["halted_reason"]) == (
        "completed",
        "enough",
        "enough",
    )


def test_step_with_ask_user_awaits_the_user(backend):
    eng = engine(tool_turn(call("q1", "confirm")), tools=(ASK,))
    session, step_result = allm.Session(thread=allm.Thread.of([allm.user("go")])).step(eng)
    assert session.status == "awaiting_user" and session.thread.messages[-1].content == "Which city?"
    assert step_result.metadata["halted_reason"] == "ask_user"


def test_inconsistent_fields_are_rejected(backend):
    with pytest.raises(ValidationError):
        allm.Session(status="awaiting_user")
    with pytest.raises(ValidationError):
        allm.Session(status="awaiting_tools")
    with pytest.raises(ValidationError):
        allm.Session(status="sleeping")  # type: ignore[arg-type]


# -- ids, context, streaming and async twins --------------------------------------


def test_session_id_and_context_reach_handlers(backend):
    seen: list[allm.ToolContext] = []
    tool = allm.tool("ctx", "", {"type": "object"}, lambda a, ctx: seen.append(ctx) or "ok")
    eng = engine(tool_turn(call("c1", "ctx")), text_turn("fine"), tools=(tool,))
    session = allm.Session(context={"tenant": "acme"})
    session.start(eng, "go")
    (ctx,) = seen
    assert (ctx.session_id, ctx.context) == (session.id, {"tenant": "acme"})


def test_stream_reply_folds_through_the_reducer(backend):
    session, _ = awaiting_user_session()
    with session.stream_reply(engine(text_turn("Rome")), "Rome") as events:
        kinds = [e.type for e in events]
        new, result = events.get_final_result()
    assert kinds[-1] == "chat_completed"
    assert new.status == "completed" and result.final_response.output_text == "Rome"


def test_reducer_folds_events_by_hand(backend):
    session = allm.Session()
    thread = allm.Thread.of([allm.user("hello")])
    reducer = SessionReducer(session, thread)
    for event in allm.stream(engine(text_turn("hi")), thread):
        reducer.apply(event)
    new, result = reducer.finalize()
    assert new.status == "completed" and new.thread == result.thread


def test_cancelled_stream_leaves_the_session_unchanged(backend):
    session = completed_session()
    with session.stream_reply(engine(text_turn("never")), "more") as events:
        next(events)
    new, result = events.get_final_result()
    assert new is session and result.halted_reason == "cancelled"


async def test_async_twins(backend):
    eng = engine(tool_turn(call("q1", "confirm")), text_turn("done"), tools=(ASK,))
    session, result = await allm.Session().astart(eng, "go")
    assert session.status == "awaiting_user"
    session, result = await session.areply(eng, "Paris")
    assert session.status == "completed" and result.final_response.output_text == "done"
    session, _ = await session.acontinue(engine(text_turn("more")))
    session, step_result = await session.astep(engine(text_turn("again")))
    assert session.status == "completed" and step_result.response.output_text == "again"


async def test_async_stream_twin(backend):
    async with allm.Session().astream_start(engine(text_turn("hi")), "hello") as events:
        kinds = [e.type async for e in events]
        session, _ = await events.get_final_result()
    assert kinds[-1] == "chat_completed" and session.status == "completed"


# -- serialization and resuming elsewhere ----------------------------------------


def test_json_round_trip_carries_a_schema_version_and_no_handlers(backend):
    session, _ = awaiting_user_session()
    text = allm.to_json(session)
    document = json.loads(text)
    assert document["value"]["__type__"] == "Session"
    assert document["value"]["data"]["schema_version"] == 1
    assert "handler" not in text and "lambda" not in text and "api_key" not in text
    assert allm.from_json(text) == session


def test_unsupported_schema_version_is_refused(backend):
    document = json.loads(allm.to_json(allm.Session()))
    document["value"]["data"]["schema_version"] = 99
    with pytest.raises(ValidationError, match="schema version"):
        allm.from_json(json.dumps(document))


RESUME = textwrap.dedent(
    """
    import json, sys
    import allm

    saved = sys.stdin.read()
    session = allm.from_json(saved)
    assert isinstance(session, allm.Session), type(session)
    approve = allm.tool("approve", "", {"type": "object"}, manual=True)
    confirm = allm.tool("confirm", "", {"type": "object"}, lambda a: allm.ask_user("Which city?"))
    engine = allm.Engine(adapter=allm.providers.Fake, tools=[approve, confirm],
                         adapter_opts={"script": [("text", "all done"), ("finish", "stop")]})
    if session.status == "awaiting_user":
        session, result = session.reply(engine, "Paris")
    else:
        for call in session.pending_tool_calls:
            session = session.submit_tool_result(call.id, {"approved": call.arguments["amount"] < 6})
        session, result = session.continue_(engine)
    print(json.dumps({"status": session.status, "text": result.final_response.output_text,
                      "roles": [m.role for m in session.thread.messages],
                      "contents": [m.text for m in session.thread.messages]}))
    """
)


def resume_in_subprocess(session: allm.Session, backend: Any) -> dict[str, Any]:
    name = "python" if backend.__name__ == "allm._pure" else "rust"
    path = os.pathsep.join(p for p in (str(PACKAGE_DIR), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "ALLM_BACKEND": name}
    done = subprocess.run(
        [sys.executable, "-c", RESUME],
        input=allm.to_json(session),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_saved_awaiting_user_session_completes_in_a_subprocess(backend):
    session, _ = awaiting_user_session()
    out = resume_in_subprocess(session, backend)
    assert out["status"] == "completed" and out["text"] == "all done"
    assert out["roles"] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert out["contents"][3:5] == ["Which city?", "Paris"]


def test_saved_awaiting_tools_session_completes_in_a_subprocess(backend):
    session, _ = awaiting_tools_session()
    out = resume_in_subprocess(session, backend)
    assert out["status"] == "completed" and out["text"] == "all done"
    assert out["roles"] == ["user", "assistant", "tool", "tool", "assistant"]
    assert out["contents"][2:4] == ['{"approved":true}', '{"approved":false}']
