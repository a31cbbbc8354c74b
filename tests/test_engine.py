"""The Engine: options, derived engines, secrets kept out of repr."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import allm
from allm.errors import EngineError, ValidationError
from allm.providers._keys import Secret


def fake_engine(**kwargs):
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": [("finish", "stop")]}, **kwargs)


def test_an_unknown_keyword_is_a_validation_error():
    with pytest.raises(ValidationError):
        allm.Engine(adapter=allm.providers.Fake, colour="red")  # type: ignore[call-arg]


def test_with_model_returns_a_new_engine():
    engine = fake_engine(model="a")
    other = engine.with_model("b")
    assert (engine.model, other.model) == ("a", "b")


def test_put_tool_replaces_a_tool_of_the_same_name():
    engine = fake_engine().put_tool(allm.tool("t", "first")).put_tool(allm.tool("t", "second"))
    assert [t.description for t in engine.tools] == ["second"]


def test_put_param_and_put_context_leave_the_original_unchanged():
    engine = fake_engine()
    changed = engine.put_param("temperature", 0.5).put_context("user", "u1")
    assert changed.params == {"temperature": 0.5} and changed.context == {"user": "u1"}
    assert engine.params == {} and engine.context == {}


def test_derived_engines_share_the_adapter_instance():
    engine = fake_engine()
    assert engine.with_model("x").instance is engine.instance


def test_an_engine_without_adapter_fails_at_call_time():
    engine = allm.Engine()
    with pytest.raises(EngineError) as info:
        allm.generate(engine, allm.request([allm.user("hi")]))
    assert info.value.reason == "missing_adapter"


def test_an_adapter_that_is_not_an_adapter_class_is_rejected():
    with pytest.raises(ValidationError):
        allm.Engine(adapter=object)  # type: ignore[arg-type]


def test_repr_redacts_api_keys():
    class Keyed(allm.providers.Fake):
        def __init__(self, *, api_key=None, **kw):
            super().__init__(**kw)

    engine = allm.Engine(adapter=Keyed, adapter_opts={"api_key": "sk-canary-123", "script": []})
    assert "sk-canary-123" not in repr(engine)


class CountedFake(allm.providers.Fake):
    """A Fake that counts how many instances were built."""

    built = 0

    def __init__(self, **kwargs):
        type(self).built += 1
        super().__init__(**kwargs)


@pytest.fixture
def counted():
    CountedFake.built = 0
    return allm.Engine(adapter=CountedFake, adapter_opts={"script": [("finish", "stop")]})


def test_the_adapter_is_built_on_first_use_not_at_construction(counted):
    assert CountedFake.built == 0
    counted.instance  # noqa: B018
    assert CountedFake.built == 1


def test_deriving_engines_builds_no_adapter(counted):
    derived = counted.with_model("m").put_tool(allm.tool("t", "d")).put_param("temperature", 0.1)
    derived = derived.put_context("k", "v")
    assert CountedFake.built == 0
    assert derived.instance is counted.instance and CountedFake.built == 1


def test_first_use_from_many_threads_builds_one_adapter(counted):
    barrier = threading.Barrier(8)

    def first_use():
        barrier.wait()
        return counted.instance

    with ThreadPoolExecutor(8) as pool:
        instances = list(pool.map(lambda _: first_use(), range(8)))
    assert CountedFake.built == 1 and all(i is instances[0] for i in instances)


def test_bad_adapter_options_are_refused_at_construction():
    with pytest.raises(ValidationError):
        allm.Engine(adapter=allm.providers.OpenAI, adapter_opts={"timeout": -1})


def test_closing_an_engine_whose_adapter_was_never_built_builds_nothing(counted):
    counted.close()
    assert CountedFake.built == 0


def test_engine_reports_the_public_module():
    assert allm.Engine.__module__ == "allm" and repr(allm.Engine).startswith("<class 'allm.Engine'")


CANARY = "sk-engine-canary-5f2b9c0e7a"


def keyed_chat_engine() -> allm.Engine:
    tool_call = (
        b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1",'
        b'"function":{"name":"peek","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n'
    )
    answer = (
        b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"ok"},'
        b'"finish_reason":"stop"}]}\n\n'
    )
    bodies = iter([tool_call, answer + b"data: [DONE]\n\n"])

    def serve(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=next(bodies))

    client = httpx.Client(transport=httpx.MockTransport(serve))
    return allm.Engine(
        adapter=allm.providers.OpenAI, model="m", adapter_opts={"api_key": CANARY, "http_client": client}
    )


def views_of(engine: allm.Engine) -> list[str]:
    """Every way of reading an engine that code holding it has without calling ``reveal()``."""
    texts = [repr(engine), str(engine), repr(vars(engine)), repr(engine.adapter_opts)]
    texts += [repr(engine.adapter_opts["api_key"]), str(engine.adapter_opts["api_key"])]
    texts += [repr(engine.instance), repr(vars(engine.instance)), repr(engine.instance.options)]
    for target in (engine.adapter_opts, engine):
        try:
            texts.append(repr(pickle.dumps(target)))
        except TypeError as exc:
            texts.append(repr(exc))
    return texts


def test_the_plaintext_key_is_held_as_a_secret_from_construction_on(backend):
    engine = keyed_chat_engine()
    assert isinstance(engine.adapter_opts["api_key"], Secret)
    assert [t for t in views_of(engine) if CANARY in t] == []


def test_a_tool_handler_cannot_read_the_key_through_its_context(backend):
    seen: list[str] = []

    def peek(args, ctx):
        seen.extend(views_of(ctx.engine))
        return "looked"

    engine = keyed_chat_engine()
    result = allm.chat(engine, [allm.user("go")], tools=[allm.tool("peek", "look", handler=peek)])
    assert result.final_response.output_text == "ok" and seen
    assert [t for t in seen if CANARY in t] == []
