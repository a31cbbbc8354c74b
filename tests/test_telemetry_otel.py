"""OpenTelemetry over real calls: the span tree of a tool chat on the local HTTP server, errors,
retries, streams broken off early, and a key that never shows in exported telemetry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import allm
from allm.providers import OpenAI
from support.fault_server import FaultServer, Reply
from support.otel import Otel, installed
from support.wire import openai_chat_sse, sse

pytestmark = pytest.mark.http

KEY = "plain-otel-key-7d1e2c3b4a5f6e7d8c9b"
USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


@pytest.fixture
def otel() -> Iterator[Otel]:
    sdk = installed()
    sdk.spans.clear()
    yield sdk
    allm.telemetry.capture_content(False)


def tool_turn() -> bytes:
    base = {"id": "chatcmpl-t", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": '{"q":1}'},
    }
    return sse(
        [
            (
                None,
                {**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": None}]},
            ),
            (None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
            (None, {**base, "choices": [], "usage": USAGE}),
            (None, "[DONE]"),
        ]
    )


def lookup(args: dict[str, Any]) -> dict[str, Any]:
    return {"found": args["q"]}


def engine_for(server: FaultServer, name: str, **extra: Any) -> allm.Engine:
    return allm.Engine(
        adapter=OpenAI,
        model="gpt-4o-mini",
        tools=[allm.tool("lookup", "Look up", {"type": "object"}, handler=lookup)],
        retry={"base_delay": 0.001, "max_delay": 0.002},
        adapter_opts={"api_key": KEY, "base_url": server.url(name, "/v1"), **extra},
    )


def tree(otel: Otel) -> list[tuple[str, str | None]]:
    """(span name, parent span name) for every finished span, in start order."""
    spans = sorted(otel.finished(), key=lambda s: s.start_time or 0)
    by_id = {s.context.span_id: s.name for s in spans}
    return [(s.name, by_id.get(s.parent.span_id) if s.parent else None) for s in spans]


EXPECTED_TREE = [
    ("allm.chat", None),
    ("allm.step", "allm.chat"),
    ("chat gpt-4o-mini", "allm.step"),
    ("execute_tool lookup", "allm.step"),
    ("allm.step", "allm.chat"),
    ("chat gpt-4o-mini", "allm.step"),
]


def check_tool_chat(otel: Otel, result: allm.ChatResult) -> None:
    assert result.halted_reason == "completed"
    assert tree(otel) == EXPECTED_TREE
    calls = [s for s in otel.finished() if s.name == "chat gpt-4o-mini"]
    for span in calls:
        attributes = dict(span.attributes or {})
        assert attributes["gen_ai.provider.name"] == "openai"
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["gen_ai.usage.input_tokens"] == 12
        assert attributes["allm.request_id"] == result.metadata["request_id"]
    assert [dict(s.attributes or {})["gen_ai.response.finish_reasons"] for s in calls] == [
        ("tool_calls",),
        ("stop",),
    ]
    (tool,) = [s for s in otel.finished() if s.name.startswith("execute_tool")]
    assert dict(tool.attributes or {})["gen_ai.tool.call.id"] == "call_1"


def test_a_tool_chat_gives_the_expected_span_tree(backend: object, otel: Otel) -> None:
    with FaultServer() as server:
        server.script("c", [Reply.sse(tool_turn()), Reply.sse(openai_chat_sse(["done"], usage=USAGE))])
        result = allm.chat(engine_for(server, "c"), [allm.user("find 1")])
    check_tool_chat(otel, result)


def test_an_async_tool_chat_gives_the_same_span_tree(backend: object, otel: Otel) -> None:
    async def run(server: FaultServer) -> allm.ChatResult:
        engine = engine_for(server, "c")
        try:
            return await allm.achat(engine, [allm.user("find 1")])
        finally:
            await engine.aclose()

    with FaultServer() as server:
        server.script("c", [Reply.sse(tool_turn()), Reply.sse(openai_chat_sse(["done"], usage=USAGE))])
        result = asyncio.run(run(server))
    check_tool_chat(otel, result)


def test_a_streamed_call_has_one_client_span_under_the_callers_span(backend: object, otel: Otel) -> None:
    tracer = __import__("opentelemetry.trace", fromlist=["get_tracer"]).get_tracer("user-app")
    with FaultServer() as server:
        server.script("s", [Reply.sse(openai_chat_sse(["a", "b"], usage=USAGE))])
        request = allm.request([allm.user("hi")])
        with (
            tracer.start_as_current_span("handler"),
            allm.stream_generate(engine_for(server, "s"), request) as stream,
        ):
            list(stream)
    assert tree(otel) == [("handler", None), ("chat gpt-4o-mini", "handler")]


def test_a_failed_call_has_an_error_type_and_status(backend: object, otel: Otel) -> None:
    with FaultServer() as server:
        server.script(
            "f", [Reply.json(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})]
        )
        response = allm.generate(engine_for(server, "f"), allm.request([allm.user("hi")]))
    assert response.finish_reason == "error"
    (span,) = otel.finished()
    assert dict(span.attributes or {})["error.type"] == "authentication_failed"
    assert span.status.status_code.name == "ERROR"


def test_a_retried_call_records_its_retries(backend: object, otel: Otel) -> None:
    with FaultServer() as server:
        busy = Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit"}})
        server.script("r", [busy, Reply.sse(openai_chat_sse(["ok"], usage=USAGE))])
        response = allm.generate(engine_for(server, "r"), allm.request([allm.user("hi")]))
    assert response.output_text == "ok"
    (span,) = otel.finished()
    (event,) = span.events
    assert event.name == "allm.retry" and dict(event.attributes or {})["error.type"] == "rate_limited"


def test_a_stream_broken_off_early_still_ends_its_span(backend: object, otel: Otel) -> None:
    with FaultServer() as server:
        server.script("b", [Reply.sse(openai_chat_sse(["a", "b", "c"], usage=USAGE))])
        with allm.stream_generate(engine_for(server, "b"), allm.request([allm.user("hi")])) as stream:
            next(iter(stream))
    (span,) = otel.finished()
    assert dict(span.attributes or {})["allm.cancelled"] is True


def test_the_key_never_appears_in_exported_telemetry(backend: object, otel: Otel) -> None:
    allm.telemetry.capture_content(True)
    echo = {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid_request_error"}}
    with FaultServer() as server:
        server.script(
            "k",
            [
                Reply.sse(tool_turn()),
                Reply.sse(openai_chat_sse(["done"], usage=USAGE)),
                Reply.json(401, echo),
            ],
        )
        engine = engine_for(server, "k")
        allm.chat(engine, [allm.user("find 1")])
        allm.generate(engine, allm.request([allm.user("hi")]))
    exported = [
        json.dumps(
            {"name": s.name, "attributes": dict(s.attributes or {}), "events": [e.name for e in s.events]}
        )
        + str(s.status.description)
        for s in otel.finished()
    ]
    assert any("gen_ai.input.messages" in text for text in exported)  # content capture was on
    assert [text for text in exported if KEY in text] == []
    points = otel.metrics.get_metrics_data()
    assert KEY not in str(points)


def test_the_readme_console_export_example_prints_the_span() -> None:
    import re
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### Telemetry and cost") :]
    (code,) = re.findall(r"```py\n(.*?)```", section, flags=re.S)[:1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"name": "chat gpt-4o"' in done.stdout
    assert '"gen_ai.usage.input_tokens": 12' in done.stdout


def test_a_session_operation_is_the_parent_of_its_chat(backend: object, otel: Otel) -> None:
    with FaultServer() as server:
        server.script("s", [Reply.sse(openai_chat_sse(["hello"], usage=USAGE))])
        session, result = allm.Session().start(engine_for(server, "s"), [allm.user("hi")])
    assert result.halted_reason == "completed" and session.status == "completed"
    assert tree(otel) == [
        ("allm.session.start", None),
        ("allm.chat", "allm.session.start"),
        ("allm.step", "allm.chat"),
        ("chat gpt-4o-mini", "allm.step"),
    ]


def _tracing_lookup(args: dict[str, Any]) -> str:
    tracer = __import__("opentelemetry.trace", fromlist=["get_tracer"]).get_tracer("user-tool")
    with tracer.start_as_current_span("inside the tool"):
        return "ok"


async def _async_tracing_lookup(args: dict[str, Any]) -> str:
    return _tracing_lookup(args)


@pytest.mark.parametrize("handler", [_tracing_lookup, _async_tracing_lookup], ids=["thread", "task"])
def test_a_tool_handlers_own_spans_nest_under_its_execute_tool_span(otel: Otel, handler: Any) -> None:
    with FaultServer() as server:
        server.script("h", [Reply.sse(tool_turn()), Reply.sse(openai_chat_sse(["done"], usage=USAGE))])
        engine = engine_for(server, "h").put_tool(
            allm.tool("lookup", "Look up", {"type": "object"}, handler=handler)
        )

        async def run() -> allm.ChatResult:
            try:
                return await allm.achat(engine, [allm.user("find 1")])
            finally:
                await engine.aclose()

        asyncio.run(run())
    assert ("inside the tool", "execute_tool lookup") in tree(otel)
