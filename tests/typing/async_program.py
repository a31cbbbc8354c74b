"""An ordinary asyncio user program: the async twins, checked by mypy --strict and pyright."""

from __future__ import annotations

from typing_extensions import assert_type

import allm
from allm.events import Event

engine = allm.Engine(
    adapter=allm.providers.Fake, adapter_opts={"script": [("text", "hi"), ("finish", "stop")]}
)
request = allm.request([allm.user("hi")])


async def main() -> None:
    response = await allm.agenerate(engine, request)
    assert_type(response, allm.Response)
    async with allm.astream_generate(engine, request) as stream:
        assert_type(stream, allm.AsyncEventStream)
        async for ev in stream:
            assert_type(ev, Event)
            if ev.type == "text_delta":
                print(ev.delta)
        final = await stream.get_final_response()
        assert_type(final, allm.Response)
    result = await allm.achat(engine, [allm.user("hi")])
    assert_type(result, allm.ChatResult)
    step = await allm.astep(engine, [allm.user("hi")])
    assert_type(step, allm.StepResult)
    async with allm.astream(engine, [allm.user("hi")]) as chat_stream:
        async for ev in chat_stream:
            if ev.type == "step_completed":
                assert_type(ev.result, allm.StepResult)
        chat_result = await chat_stream.get_final_result()
        assert_type(chat_result, allm.ChatResult)
    session, started = await allm.Session().astart(engine, [allm.user("hi")])
    assert_type(session, allm.Session)
    assert_type(started, allm.ChatResult)
