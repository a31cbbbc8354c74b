"""Cost: USD per call from usage (genai-prices, overridable), totals per chat, Usage addition."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

import allm
from allm import Price, Usage, set_price
from allm._cost import cost_of
from allm._messages import Message, Thread
from allm._results import ChatResult, Response, StepResult

genai_prices = pytest.importorskip("genai_prices")

# Usage as recorded from real replies of each provider (token counts as allm normalizes them).
RECORDED = [
    (
        "openai",
        "gpt-4o",
        Usage(input_tokens=1200, output_tokens=300, total_tokens=1500, cached_input_tokens=1024),
    ),
    (
        "openai",
        "gpt-5-mini",
        Usage(input_tokens=50, output_tokens=900, total_tokens=950, reasoning_tokens=640),
    ),
    (
        "anthropic",
        "claude-sonnet-4-5",
        Usage(
            input_tokens=3000,
            output_tokens=120,
            total_tokens=3120,
            cached_input_tokens=2000,
            cache_write_input_tokens=500,
        ),
    ),
    (
        "gemini",
        "gemini-2.5-flash",
        Usage(input_tokens=80, output_tokens=40, total_tokens=620, reasoning_tokens=500),
    ),
]


@pytest.fixture(autouse=True)
def no_overrides() -> Iterator[None]:
    yield
    for model in ("mine", "gpt-4o"):
        set_price(model, None)


def _database(provider: str, model: str, usage: Usage) -> Decimal:
    """genai-prices' own calculation for the same usage (Gemini bills thoughts as output)."""
    output = usage.output_tokens + (usage.reasoning_tokens if provider == "gemini" else 0)
    priced = genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_input_tokens,
            output_tokens=output,
        ),
        model,
        provider_id=provider,
    )
    return Decimal(priced.total_price)


@pytest.mark.parametrize(("provider", "model", "usage"), RECORDED, ids=[r[1] for r in RECORDED])
def test_response_cost_matches_the_price_database(provider: str, model: str, usage: Usage) -> None:
    response = Response(
        message=Message(role="assistant", content=""), usage=usage, model=model, provider=provider
    )
    assert response.cost == _database(provider, model, usage)
    assert response.cost is not None and response.cost > 0


def test_an_unknown_model_costs_none_not_zero() -> None:
    assert cost_of(Usage(input_tokens=10, output_tokens=10), "no-such-model-xyz", "openai") is None


def test_no_usage_or_no_model_costs_none() -> None:
    assert cost_of(None, "gpt-4o", "openai") is None
    assert cost_of(Usage(input_tokens=1), None) is None


def test_a_price_set_by_the_user_overrides_the_database() -> None:
    set_price("gpt-4o", Price(input=Decimal(1), output=Decimal(2)))
    usage = Usage(input_tokens=1_000_000, output_tokens=500_000)
    assert cost_of(usage, "gpt-4o", "openai") == Decimal(2)


def test_a_user_price_prices_every_token_class() -> None:
    set_price("mine", Price(input=10, output=20, cached_input=1, cache_write=12, reasoning=30))
    usage = Usage(
        input_tokens=1_000_000 + 2_000_000 + 3_000_000,
        cached_input_tokens=2_000_000,
        cache_write_input_tokens=3_000_000,
        output_tokens=4_000_000,
        reasoning_tokens=1_000_000,
    )
    # uncached 1M x 10, cached 2M x 1, written 3M x 12, output 3M x 20, reasoning 1M x 30
    assert cost_of(usage, "mine") == Decimal(10 + 2 + 36 + 60 + 30)


def test_removing_a_user_price_goes_back_to_the_database() -> None:
    set_price("mine", Price(input=1, output=1))
    set_price("mine", None)
    assert cost_of(Usage(input_tokens=5), "mine") is None


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf")])
def test_a_price_must_be_finite_and_non_negative(bad: float) -> None:
    with pytest.raises(ValueError):
        Price(input=bad, output=1)


def test_usages_add_up() -> None:
    a = Usage(1, 2, 3, 4, 5, 6, extra={"n": 1, "label": "x"})
    b = Usage(10, 20, 30, 40, 50, 60, extra={"n": 2, "m": 3})
    assert a + b == Usage(11, 22, 33, 44, 55, 66, extra={"n": 3, "m": 3})
    assert sum([a, b]) == a + b


def _step(model: str, usage: Usage | None) -> StepResult:
    response = Response(
        message=Message(role="assistant", content=""), usage=usage, model=model, provider="openai"
    )
    return StepResult(thread=Thread(), response=response)


def test_a_chat_result_totals_the_usage_and_cost_of_its_steps() -> None:
    steps = (
        _step("gpt-4o", Usage(input_tokens=100, output_tokens=10)),
        _step("gpt-4o", Usage(input_tokens=200)),
    )
    result = ChatResult(thread=Thread(), steps=steps)
    assert result.usage == Usage(input_tokens=300, output_tokens=10)
    assert result.cost == steps[0].cost + steps[1].cost  # type: ignore[operator]


def test_a_chat_total_is_none_when_any_step_price_is_unknown() -> None:
    steps = (_step("gpt-4o", Usage(input_tokens=100)), _step("no-such-model-xyz", Usage(input_tokens=1)))
    assert ChatResult(thread=Thread(), steps=steps).cost is None


def test_a_chat_without_any_reported_usage_has_no_cost() -> None:
    assert ChatResult(thread=Thread(), steps=(_step("gpt-4o", None),)).cost is None


def test_a_fake_chat_totals_its_steps(backend: object) -> None:
    engine = allm.Engine(
        adapter=allm.providers.Fake,
        adapter_opts={
            "script": [("text", "hi"), ("usage", {"input_tokens": 3, "output_tokens": 2}), ("finish", "stop")]
        },
    )
    result = allm.chat(engine, [allm.user("hi")])
    assert result.usage.input_tokens == 3 and result.usage.output_tokens == 2


def _looping_engine(usage: dict[str, int], model: str = "gpt-4o") -> allm.Engine:
    def echo(args: dict[str, object]) -> str:
        return "again"

    turn = [
        ("tool_call", {"id": "c", "name": "echo", "arguments": {}}),
        ("usage", usage),
        ("finish", "tool_calls"),
    ]
    return allm.Engine(
        adapter=allm.providers.Fake,
        model=model,
        tools=[allm.tool("echo", "echo", {"type": "object"}, handler=echo)],
        adapter_opts={"scripts": [turn] * 8},
    )


def test_a_token_budget_halts_the_chat(backend: object) -> None:
    engine = _looping_engine({"input_tokens": 60, "output_tokens": 40})
    result = allm.chat(engine, [allm.user("go")], max_total_tokens=250, max_turns=8)
    assert result.halted_reason == "budget_exceeded"
    assert len(result.steps) == 3
    assert result.metadata["budget"]["total_tokens"] == 300


def test_a_cost_budget_halts_the_chat(backend: object) -> None:
    set_price("mine", Price(input=1_000_000, output=0))  # one USD per input token
    engine = _looping_engine({"input_tokens": 2, "output_tokens": 1}, model="mine")
    try:
        result = allm.chat(engine, [allm.user("go")], max_cost=5)
        assert result.halted_reason == "budget_exceeded"
        assert len(result.steps) == 3
        assert result.cost == Decimal(6)
    finally:
        set_price("mine", None)


def test_a_chat_under_budget_is_not_halted_by_it(backend: object) -> None:
    engine = _looping_engine({"input_tokens": 1, "output_tokens": 1})
    result = allm.chat(engine, [allm.user("go")], max_total_tokens=10_000, max_turns=2)
    assert result.halted_reason == "max_turns"


@pytest.mark.parametrize(("name", "value"), [("max_cost", -1), ("max_cost", "lots"), ("max_total_tokens", 0)])
def test_a_bad_budget_is_refused(name: str, value: object) -> None:
    with pytest.raises(allm.errors.ValidationError):
        allm.chat(_looping_engine({"input_tokens": 1}), [allm.user("go")], **{name: value})


def test_a_session_totals_the_usage_and_cost_of_every_call(backend: object) -> None:
    turn = [("text", "hi"), ("usage", {"input_tokens": 10, "output_tokens": 5}), ("finish", "stop")]
    engine = allm.Engine(adapter=allm.providers.Fake, model="gpt-4o", adapter_opts={"scripts": [turn] * 2})
    session, _ = allm.Session().start(engine, [allm.user("hi")])
    session, _ = session.reply(engine, "again")
    assert session.usage == Usage(input_tokens=20, output_tokens=10)
    assert session.cost is None  # the Fake is no priced provider
    restored = allm.from_json(allm.to_json(session))
    assert restored.usage == session.usage and restored.spend == session.spend


def test_a_session_cost_is_the_sum_of_its_calls_when_every_price_is_known(backend: object) -> None:
    set_price("mine", Price(input=1_000_000, output=2_000_000))
    turn = [("text", "hi"), ("usage", {"input_tokens": 1, "output_tokens": 1}), ("finish", "stop")]
    engine = allm.Engine(adapter=allm.providers.Fake, model="mine", adapter_opts={"scripts": [turn] * 2})
    try:
        session, _ = allm.Session().start(engine, [allm.user("hi")])
        session, _ = session.reply(engine, "again")
        assert session.cost == Decimal(6)
    finally:
        set_price("mine", None)


_NO_PRICES = """
import importlib.abc, sys

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "genai_prices" or name.startswith("genai_prices."):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Hide())
from decimal import Decimal
import allm
from allm._results import Response
from allm._messages import Message
usage = allm.Usage(input_tokens=1000, output_tokens=100)
response = Response(message=Message(role="assistant"), usage=usage, model="gpt-4o", provider="openai")
assert response.cost is None, response.cost
allm.set_price("gpt-4o", allm.Price(input=1, output=1))
assert response.cost == Decimal("0.0011"), response.cost
print("ok")
"""


def test_without_the_prices_extra_costs_are_none_unless_set_by_hand() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _NO_PRICES], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
