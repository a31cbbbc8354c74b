"""The Engine: options, derived engines, secrets kept out of repr."""

from __future__ import annotations

import pytest

import allm
from allm.errors import EngineError, ValidationError


def fake_engine(**kwargs):
    return allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": [("finish", "stop")]}, **kwargs)


def test_an_unknown_keyword_raises():
    with pytest.raises(TypeError):
        allm.Engine(adapter=allm.providers.Fake, colour="red")


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
