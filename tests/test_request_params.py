"""Common request parameters: the README's table, executed row by row, and options deep-merged."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import allm
from allm._source import Call
from allm.errors import ValidationError
from allm.providers import Anthropic, Gemini, OpenAI
from allm.providers.base import Adapter

README = Path(__file__).resolve().parents[1] / "README.md"
WIRES = ("openai-chat", "openai-responses", "anthropic", "gemini")
MODELS = {
    "openai-chat": "gpt-4.1",
    "openai-responses": "gpt-4.1",
    "anthropic": "claude-x",
    "gemini": "gemini-x",
}


def _adapter(wire: str, **opts: Any) -> Adapter:
    if wire.startswith("openai"):
        return OpenAI(api_key="k", endpoint="chat" if wire == "openai-chat" else "responses", **opts)
    return (Anthropic if wire == "anthropic" else Gemini)(api_key="k", **opts)


def _body(wire: str, *, adapter_opts: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    request = allm.request([allm.user("hi")], model=MODELS[wire], **fields)
    prepared = _adapter(wire, **(adapter_opts or {})).prepare(request, Call("rid"), None)
    body: dict[str, Any] = json.loads(prepared.body)
    return body


def _table_rows() -> list[tuple[str, Any, str, str]]:
    """(parameter, value, wire, expected cell) for every cell of the README table."""
    text = README.read_text()
    section = text[text.index("### Common parameters") :]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("parameter", "---"):
            continue
        if not cells[1].startswith("`"):
            continue
        value = json.loads(cells[1].strip("`"))
        rows += [(cells[0], value, wire, cell) for wire, cell in zip(WIRES, cells[2:], strict=True)]
    return rows


ROWS = _table_rows()


def _lookup(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for key in path.split("."):
        assert isinstance(node, dict) and key in node, f"{path} missing from {body}"
        node = node[key]
    return node


def test_the_readme_table_has_every_parameter_for_every_wire() -> None:
    assert {(p, w) for p, _, w, _ in ROWS} == {
        (p, w) for p in ("top_p", "stop", "seed", "parallel_tool_calls", "reasoning") for w in WIRES
    }


@pytest.mark.parametrize(
    ("param", "value", "wire", "cell"), ROWS, ids=[f"{r[0]}={r[1]}-{r[2]}" for r in ROWS]
)
def test_readme_row(param: str, value: Any, wire: str, cell: str) -> None:
    fields = {param: value}
    if param == "parallel_tool_calls":
        fields["tools"] = [allm.tool("f", "f", {"type": "object"})]
    if cell == "refused":
        with pytest.raises(ValidationError) as info:
            _body(wire, **fields)
        provider = "openai" if wire.startswith("openai") else wire
        assert any(path.startswith(param) and provider in why for path, why in info.value.errors)
        return
    match = re.fullmatch(r"`([\w.]+): (.*)`", cell)
    assert match, cell
    assert _lookup(_body(wire, **fields), match.group(1)) == json.loads(match.group(2))


@pytest.mark.parametrize("wire", ["openai-responses", "anthropic"])
def test_drop_unsupported_params_drops_only_what_the_wire_cannot_express(wire: str) -> None:
    body = _body(wire, adapter_opts={"drop_unsupported_params": True}, seed=7, top_p=0.5)
    assert "seed" not in json.dumps(body)
    assert body["top_p"] == 0.5


def test_an_explicit_anthropic_budget_wins_over_the_effort() -> None:
    body = _body("anthropic", reasoning={"effort": "low", "budget_tokens": 5000})
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 5000}


def test_gemini_options_deep_merge_into_the_generation_config() -> None:
    schema = allm.json_schema("r", {"type": "object", "properties": {"a": {"type": "string"}}})
    body = _body(
        "gemini",
        temperature=0.3,
        max_tokens=50,
        response_format=schema,
        options={"generationConfig": {"topK": 4}},
    )
    config = body["generationConfig"]
    assert (config["temperature"], config["maxOutputTokens"], config["topK"]) == (0.3, 50, 4)
    assert config["responseJsonSchema"]["properties"] == {"a": {"type": "string"}}


def test_options_replace_non_mapping_values() -> None:
    assert _body("openai-chat", temperature=0.3, options={"temperature": 0.9})["temperature"] == 0.9


@pytest.mark.parametrize(
    ("wire", "key"),
    [
        ("openai-chat", "stream"),
        ("openai-chat", "messages"),
        ("openai-chat", "model"),
        ("openai-responses", "input"),
        ("anthropic", "messages"),
        ("anthropic", "stream"),
        ("gemini", "contents"),
    ],
)
def test_options_cannot_override_what_the_wire_contract_owns(wire: str, key: str) -> None:
    with pytest.raises(ValidationError) as info:
        _body(wire, options={key: False})
    assert info.value.errors[0][0] == f"options.{key}"


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"top_p": 1.5}, "top_p"),
        ({"stop": ""}, "stop"),
        ({"stop": [1]}, "stop"),
        ({"seed": 1.5}, "seed"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"reasoning": {"effort": "max"}}, "reasoning.effort"),
        ({"reasoning": {"budget_tokens": 0}}, "reasoning.budget_tokens"),
        ({"reasoning": {}}, "reasoning"),
        ({"reasoning": "high"}, "reasoning"),
    ],
)
def test_bad_common_parameters_are_refused_before_anything_is_sent(fields: dict[str, Any], path: str) -> None:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": [("finish", "stop")]})
    with pytest.raises(ValidationError) as info:
        allm.generate(engine, allm.request([allm.user("hi")], **fields))
    assert path in [p for p, _ in info.value.errors]


def test_common_parameters_round_trip_through_json() -> None:
    request = allm.request([allm.user("hi")], stop=["a", "b"], seed=1, reasoning={"effort": "low"})
    assert allm.from_json(allm.to_json(request)) == request
    assert request.stop == ("a", "b")
    assert request.reasoning == allm.Reasoning(effort="low")


def test_drop_unsupported_params_must_be_a_bool() -> None:
    with pytest.raises(ValidationError):
        OpenAI(api_key="k", drop_unsupported_params="yes")
