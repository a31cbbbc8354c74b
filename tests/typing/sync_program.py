"""An ordinary synchronous user program: every public entry point, checked by mypy --strict and pyright."""

from __future__ import annotations

from typing import Any

from typing_extensions import assert_type

import allm
from allm.errors import AdapterError, AllmError, ValidationError
from allm.events import Event, MessageCompleted, TextDelta, ToolCallCompleted


def weather(args: dict[str, Any]) -> dict[str, str]:
    return {"city": str(args["city"]), "forecast": "sunny"}


schema = {"type": "object", "properties": {"city": {"type": "string"}}}
tool = allm.tool("weather", "Forecast", schema, handler=weather)
engine = allm.Engine(
    adapter=allm.providers.Fake,
    tools=[tool],
    adapter_opts={"script": [("text", "hi"), ("finish", "stop")]},
)
request = allm.request([allm.system("Be brief."), allm.user("hi")], temperature=0.2, top_p=0.9, stop="END")

response = allm.generate(engine, request)
assert_type(response, allm.Response)
assert_type(response.output_text, str)
# usage is None when the provider never reported it (a stream cut before its usage chunk)
assert_type(response.usage, allm.Usage | None)
input_tokens: int = response.usage.input_tokens if response.usage is not None else 0
cost = response.cost
finish: str | None = response.finish_reason
calls: tuple[allm.ToolCall, ...] = response.tool_calls

with allm.stream_generate(engine, request) as stream:
    assert_type(stream, allm.EventStream)
    for ev in stream:
        assert_type(ev, Event)
        if ev.type == "text_delta":
            print(ev.delta)
        elif ev.type == "tool_call_completed":
            print(ev.name, ev.arguments)
        elif ev.type == "message_completed":
            print(ev.finish_reason)
        elif ev.type == "error":
            print(ev.error.reason)
    final = stream.get_final_response()
    assert_type(final, allm.Response)


def show(ev: Event) -> str:
    match ev:
        case TextDelta(delta=text):
            return text
        case ToolCallCompleted(name=name):
            return name
        case MessageCompleted(finish_reason=reason):
            return f"[{reason}]"
        case _:
            return ""


result = allm.chat(engine, [allm.user("Weather?")], max_turns=3)
assert_type(result, allm.ChatResult)
halted: str = result.halted_reason
thread: allm.Thread = result.thread
roles = [m.role for m in thread.messages]

step = allm.step(engine, [allm.user("hi")])
assert_type(step, allm.StepResult)

with allm.stream(engine, [allm.user("hi")]) as chat_stream:
    for ev in chat_stream:
        if ev.type == "chat_completed":
            assert_type(ev.result, allm.ChatResult)
    chat_result = chat_stream.get_final_result()
    assert_type(chat_result, allm.ChatResult)

with allm.stream_step(engine, [allm.user("hi")]) as step_stream:
    step_result = step_stream.get_final_result()
    assert_type(step_result, allm.StepResult)

session, started = allm.Session().start(engine, [allm.user("hi")])
assert_type(session, allm.Session)
assert_type(started, allm.ChatResult)
saved: str = allm.to_json(session)
loaded = allm.from_json(saved)

decoder = allm.StreamDecoder("openai-chat")
events: list[Event] = decoder.feed(b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n')
folded: allm.Response = allm.collect("openai-chat", [b"data: [DONE]\n\n"])

try:
    allm.generate(engine, allm.request([]))
except ValidationError as exc:
    problems: list[tuple[str, str]] = exc.errors
except AdapterError as exc:
    status: int | None = exc.status
except AllmError as exc:
    why: str = exc.reason

info = allm.backend_info()
transport: str = info.http_transport
over_httpx = allm.Engine(
    adapter=allm.providers.OpenAI, model="gpt-4o-mini", adapter_opts={"transport": "httpx"}
)
