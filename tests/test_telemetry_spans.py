"""One span system: callbacks with ids and parents, OTel spans and metrics by the GenAI conventions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import allm
from allm import _spans
from allm._call_telemetry import ModelCallTelemetry, provider_name, server_of, tool_span
from allm._messages import Message
from allm._results import Response
from allm.errors import AdapterError
from support.otel import Otel, installed


@pytest.fixture
def otel() -> Iterator[Otel]:
    sdk = installed()
    sdk.spans.clear()
    yield sdk
    allm.telemetry.capture_content(False)


@pytest.fixture
def callbacks() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        seen.append((name, payload))

    allm.telemetry.add_handler(handler)
    yield seen
    allm.telemetry.remove_handler(handler)


def _request(model: str, **fields: Any) -> allm.Request:
    return allm.request([allm.system("be brief"), allm.user("hi")], model=model, **fields)


def _response(model: str, **fields: Any) -> Response:
    return Response(
        message=Message(role="assistant", content="hello"), output_text="hello", model=model, **fields
    )


def _call(model: str, **fields: Any) -> ModelCallTelemetry:
    return ModelCallTelemetry(
        provider="openai",
        request=_request(model, **fields),
        request_id="rid",
        base_url="https://api.openai.com/v1",
        streaming=True,
    )


def test_a_model_call_span_follows_the_genai_conventions(otel: Otel) -> None:
    call = _call("gpt-4o", temperature=0.5, max_tokens=20, top_p=0.9)
    usage = allm.Usage(input_tokens=10, output_tokens=5, cached_input_tokens=4)
    call.finish(
        _response("gpt-4o-2024-08-06", id="resp_1", finish_reason="stop", usage=usage, provider="openai")
    )
    (span,) = otel.finished()
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.response.id"] == "resp_1"
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 20
    assert attributes["gen_ai.request.top_p"] == 0.9
    assert attributes["gen_ai.usage.input_tokens"] == 10
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 4
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attributes["server.address"], attributes["server.port"]) == ("api.openai.com", 443)
    assert attributes["allm.request_id"] == "rid"
    assert attributes["allm.cost_usd"] > 0
    assert span.status.is_ok


def test_a_failed_call_has_an_error_type_and_an_error_status(otel: Otel) -> None:
    error = AdapterError("rate_limited", "slow down", provider="openai")
    _call("gpt-4o").finish(_response("gpt-4o", finish_reason="error", metadata={"error": error}))
    (span,) = otel.finished()
    assert span.attributes is not None and span.attributes["error.type"] == "rate_limited"
    assert span.status.status_code.name == "ERROR"


def test_retries_are_span_events(otel: Otel) -> None:
    call = _call("gpt-4o")
    call.retry(attempt=1, delay=0.25, reason="rate_limited", status=429)
    call.finish(_response("gpt-4o", finish_reason="stop"))
    (event,) = otel.finished()[0].events
    assert event.name == "allm.retry"
    assert event.attributes is not None and dict(event.attributes) == {
        "allm.attempt": 1,
        "allm.delay_s": 0.25,
        "error.type": "rate_limited",
        "http.response.status_code": 429,
    }


def test_a_call_broken_off_early_still_ends_its_span(otel: Otel) -> None:
    _call("gpt-4o").abandon()
    (span,) = otel.finished()
    assert span.attributes is not None and span.attributes["allm.cancelled"] is True


def test_metrics_record_tokens_duration_and_chunk_timing(otel: Otel) -> None:
    model = f"model-{uuid.uuid4().hex}"
    call = _call(model)
    text = allm.events.TextDelta("a")
    call.observe([allm.events.MessageStarted(None, None)])  # no content: no chunk timing
    call.observe([text])
    call.observe([text])
    call.finish(_response(model, finish_reason="stop", usage=allm.Usage(input_tokens=7, output_tokens=3)))

    def mine(name: str) -> list[Any]:
        return [p for p in otel.metric_points(name) if p.attributes.get("gen_ai.request.model") == model]

    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in mine("gen_ai.client.token.usage")}
    assert tokens == {"input": 7, "output": 3}
    assert [p.count for p in mine("gen_ai.client.operation.duration")] == [1]
    assert [p.count for p in mine("gen_ai.client.operation.time_to_first_chunk")] == [1]
    assert [p.count for p in mine("gen_ai.client.operation.time_per_output_chunk")] == [1]


def test_content_is_recorded_only_when_capture_is_on(otel: Otel) -> None:
    _call("gpt-4o").finish(_response("gpt-4o", finish_reason="stop"))
    allm.telemetry.capture_content(True)
    _call("gpt-4o").finish(_response("gpt-4o", finish_reason="stop"))
    off, on = otel.finished()
    assert not any(k.startswith("gen_ai.input") for k in off.attributes or {})
    attributes = dict(on.attributes or {})
    assert '"content":"hi"' in attributes["gen_ai.input.messages"]
    assert '"content":"be brief"' in attributes["gen_ai.system_instructions"]
    assert '"content":"hello"' in attributes["gen_ai.output.messages"]


def test_a_tool_span_is_an_execute_tool_child(otel: Otel) -> None:
    parent = _spans.start("step", "allm.step", request_id="rid")
    span = tool_span("lookup", "call_1", {"q": 1}, request_id="rid", parent=parent)
    span.end()
    parent.end()
    tool, step = otel.finished()
    assert tool.name == "execute_tool lookup"
    assert tool.attributes is not None and tool.attributes["gen_ai.tool.call.id"] == "call_1"
    assert tool.parent is not None and tool.parent.span_id == step.context.span_id


def test_callbacks_see_the_same_spans_with_ids_and_parents(
    callbacks: list[tuple[str, dict[str, Any]]],
) -> None:
    with allm.telemetry.span("chat", request_id="rid"), allm.telemetry.span("step", request_id="rid"):
        pass
    names = [name for name, _ in callbacks]
    assert names == ["allm.chat.start", "allm.step.start", "allm.step.stop", "allm.chat.stop"]
    chat_start, step_start = callbacks[0][1], callbacks[1][1]
    assert step_start["parent_id"] == chat_start["span_id"]
    assert chat_start["parent_id"] is None
    assert callbacks[3][1]["duration_ms"] >= 0


def test_gemini_is_named_by_the_conventions() -> None:
    assert provider_name("gemini") == "gcp.gemini"
    assert provider_name("anthropic") == "anthropic"


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("https://api.openai.com/v1", ("api.openai.com", 443)),
        ("http://127.0.0.1:8000/v1", ("127.0.0.1", 8000)),
    ],
)
def test_server_address_and_port(url: str, server: tuple[str, int]) -> None:
    assert server_of(url) == server


_NO_OTEL = textwrap.dedent(
    """
    import importlib.abc, sys

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(name)
            return None

    sys.meta_path.insert(0, Hide())
    import allm
    script = [[("text", "hi"), ("finish", "stop")]] * 2
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scripts": script})
    assert allm.generate(engine, allm.request([allm.user("hi")])).output_text == "hi"
    with allm.stream_generate(engine, allm.request([allm.user("hi")])) as stream:
        list(stream)
    loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
    print(loaded)
    assert not loaded, loaded
    """
)


def test_without_opentelemetry_nothing_of_it_is_imported() -> None:
    done = subprocess.run([sys.executable, "-c", _NO_OTEL], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
