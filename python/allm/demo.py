"""``python -m allm.demo``: a short streamed session against the built-in Fake provider."""

from __future__ import annotations

import sys
import time

import allm


def _pieces(text: str) -> list[str]:
    """Split text into word-sized stream deltas that join back to it."""
    words = text.split(" ")
    return [words[0], *(" " + w for w in words[1:])]


def _engine() -> allm.Engine:
    reply = "Streaming is the primitive: every call is a stream of events, and generate is its fold."
    script: list[tuple[str, object]] = [("text", piece) for piece in _pieces(reply)]
    script += [("usage", {"input_tokens": 12, "output_tokens": 17, "total_tokens": 29}), ("finish", "stop")]
    return allm.Engine(adapter=allm.providers.Fake, model="fake-1", adapter_opts={"script": script})


def main() -> int:
    """Stream a Fake reply token by token, then print the folded Response."""
    info = allm.backend_info()
    print(f"allm {allm.__version__} on the {info.name} backend ({info.build_profile}): {info.reason}\n")
    req = allm.request([allm.user("What is allm's core idea?")])
    print("user> What is allm's core idea?\nassistant> ", end="", flush=True)
    with allm.stream_generate(_engine(), req) as stream:
        for event in stream:
            if isinstance(event, allm.events.TextDelta):
                print(event.delta, end="", flush=True)
                time.sleep(0.03)
        response = stream.get_final_response()
    usage = response.usage
    print("\n\nfolded Response:")
    print(f"  text          {response.output_text!r}")
    print(f"  finish_reason {response.finish_reason}")
    if usage is not None:
        counts = f"input={usage.input_tokens} output={usage.output_tokens} total={usage.total_tokens}"
        print(f"  usage         {counts}")
    print(f"  request_id    {response.request_id}")
    _tool_chat()
    return 0


def _weather(arguments: dict[str, object]) -> dict[str, object]:
    return {"city": arguments["city"], "forecast": "sunny", "high_c": 21}


def _tool_engine() -> allm.Engine:
    weather = allm.tool(
        "get_weather",
        "Today's forecast for a city",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        handler=_weather,
    )
    ask = [
        ("tool_call", {"id": "call_1", "name": "get_weather", "arguments": {"city": "Lisbon"}}),
        ("finish", "tool_calls"),
    ]
    answer = [("text", piece) for piece in _pieces("Lisbon will be sunny today, with a high of 21 °C.")]
    return allm.Engine(
        adapter=allm.providers.Fake,
        model="fake-1",
        tools=(weather,),
        adapter_opts={"scripts": [ask, [*answer, ("finish", "stop")]]},
    )


def _tool_chat() -> None:
    """Stream a chat in which the model calls a tool and uses its result."""
    print("\n--- a streamed chat with a tool ---\nuser> What's the weather in Lisbon?")
    with allm.stream(_tool_engine(), [allm.user("What's the weather in Lisbon?")]) as stream:
        for event in stream:
            match event:
                case allm.events.ToolCallCompleted(name=name, arguments=args):
                    print(f"  [model calls {name}({args})]")
                case allm.events.ToolResultEncoded(content=content):
                    print(f"  [tool returns {content}]\nassistant> ", end="", flush=True)
                case allm.events.TextDelta(delta=delta):
                    print(delta, end="", flush=True)
                    time.sleep(0.03)
                case allm.events.ChatCompleted(result=result):
                    roles = " / ".join(m.role for m in result.thread.messages)
                    print(f"\n\nchat halted: {result.halted_reason}; thread: {roles}")
                case _:
                    pass  # the other events (starts, completions, usage) are not shown


if __name__ == "__main__":
    sys.exit(main())
