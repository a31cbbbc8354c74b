"""Typed structured output: output_type, strict schemas, parsed results, errors, retries, sessions."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from typing_extensions import TypedDict

import allm
from allm._output import OutputRetries, OutputSpec, retry_message
from allm._schema import strict_schema
from allm.errors import ValidationError
from support.output_models import CITY, CITY_JSON, CITY_SCHEMA, City, Mayor


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Pair(TypedDict):
    left: str
    right: int


def _run(output_type: Any, script: list[tuple[str, Any]]) -> allm.Response[Any]:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": script})
    return allm.generate(engine, allm.request([allm.user("answer")], output_type=output_type))


def _answer(text: str, finish: str = "stop") -> list[tuple[str, Any]]:
    return [("text", text), ("finish", finish)]


def test_model_output_type_sends_the_strict_schema() -> None:
    request = allm.request([allm.user("hi")], output_type=City)
    assert request.response_format == {
        "type": "json_schema",
        "name": "City",
        "schema": CITY_SCHEMA,
        "strict": True,
    }


def test_list_output_type_is_wrapped_in_an_object() -> None:
    schema = allm.request([allm.user("hi")], output_type=list[Mayor]).response_format["schema"]  # type: ignore[index]
    assert schema["properties"]["result"]["type"] == "array"
    assert schema["required"] == ["result"] and schema["additionalProperties"] is False


def test_raw_schema_output_type_is_sent_unchanged() -> None:
    raw = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert allm.request([allm.user("hi")], output_type=raw).response_format == allm.json_schema(
        "response", raw
    )


def test_strict_schema_keeps_property_names_that_look_like_keywords() -> None:
    schema = {"type": "object", "properties": {"default": {"type": "string", "default": "x"}}}
    assert strict_schema(schema) == {
        "type": "object",
        "properties": {"default": {"type": "string"}},
        "required": ["default"],
        "additionalProperties": False,
    }


def test_strict_schema_inlines_a_ref_with_siblings() -> None:
    schema = {
        "$defs": {"M": {"type": "object", "properties": {"a": {"type": "string"}}}},
        "type": "object",
        "properties": {"m": {"$ref": "#/$defs/M", "description": "the m"}},
    }
    assert strict_schema(schema)["properties"]["m"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "description": "the m",
        "required": ["a"],
        "additionalProperties": False,
    }


def test_output_type_and_a_different_response_format_is_an_error() -> None:
    with pytest.raises(ValidationError) as info:
        allm.request([allm.user("hi")], output_type=City, response_format={"type": "json_object"})
    assert info.value.errors[0][0] == "output_type"


def test_a_type_pydantic_cannot_describe_is_an_error() -> None:
    with pytest.raises(ValidationError) as info:
        allm.request([allm.user("hi")], output_type=object())
    assert info.value.reason == "invalid_request" and info.value.errors[0][0] == "output_type"


def test_parsed_holds_the_validated_model(backend: Any) -> None:
    response = _run(City, _answer(CITY_JSON))
    assert response.parsed == CITY and response.parse_error is None


@pytest.mark.parametrize(
    ("output_type", "text", "expected"),
    [
        (Point, '{"x": 1, "y": 2}', Point(1, 2)),
        (Pair, '{"left": "a", "right": 3}', {"left": "a", "right": 3}),
        (list[Mayor], '{"result": [{"name": "A"}]}', [Mayor(name="A")]),
        ({"type": "object"}, '{"any": [1]}', {"any": [1]}),
    ],
)
def test_parsed_for_each_kind_of_output_type(
    backend: Any, output_type: Any, text: str, expected: Any
) -> None:
    assert _run(output_type, _answer(text)).parsed == expected


def test_invalid_json_keeps_the_raw_text_and_raises_on_parsed(backend: Any) -> None:
    response = _run(City, _answer('{"name": "Par'))
    error = response.parse_error
    assert error is not None and error.reason == "invalid_output" and "not valid JSON" in error.message
    assert response.output is not None and response.output.raw == '{"name": "Par'
    with pytest.raises(ValidationError) as info:
        _ = response.parsed
    assert info.value is error


def test_schema_mismatch_lists_every_problem(backend: Any) -> None:
    response = _run(City, _answer('{"name": "Paris", "kind": "village", "nickname": null, "population": 1}'))
    error = response.parse_error
    assert error is not None and error.reason == "invalid_output"
    assert {path for path, _ in error.errors} == {"kind", "mayor"}


def test_raw_schema_mismatch_is_an_invalid_output(backend: Any) -> None:
    response = _run({"type": "object", "required": ["n"]}, _answer('{"m": 1}'))
    assert response.parse_error is not None and response.parse_error.errors == [
        ("$", "'n' is a required property")
    ]


def test_truncated_answer_is_an_output_truncated_error(backend: Any) -> None:
    response = _run(City, _answer('{"name": "Paris", "kind": "cap', finish="length"))
    assert response.parse_error is not None and response.parse_error.reason == "output_truncated"
    assert "finish_reason 'length'" in response.parse_error.message


def test_refusal_is_an_output_refused_error(backend: Any) -> None:
    response = _run(City, _answer("I can't help with that.", finish="content_filter"))
    assert response.parse_error is not None and response.parse_error.reason == "output_refused"
    assert response.output is not None and response.output.raw == "I can't help with that."


def test_a_failed_call_is_an_invalid_output(backend: Any) -> None:
    response = _run(City, [("text", '{"na'), ("error", {"class": "StreamError", "reason": "incomplete"})])
    assert response.finish_reason == "error"
    assert (
        response.parse_error is not None and "failed before a complete answer" in response.parse_error.message
    )


def test_parsed_without_an_output_type_says_how_to_get_one(backend: Any) -> None:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": _answer("hi")})
    with pytest.raises(ValidationError, match="pass output_type"):
        _ = allm.generate(engine, allm.request([allm.user("hi")])).parsed


def test_serialized_response_keeps_raw_json_and_type_name_only(backend: Any) -> None:
    document = json.loads(allm.to_json(_run(City, _answer(CITY_JSON))))
    output = document["value"]["data"]["output"]
    assert output == {
        "__type__": "StructuredOutput",
        "data": {"type_name": "City", "raw": CITY_JSON, "error": None},
    }


def test_loaded_response_revalidates_against_the_given_type(backend: Any) -> None:
    loaded = allm.from_json(allm.to_json(_run(City, _answer(CITY_JSON))))
    with pytest.raises(ValidationError, match="not validated yet"):
        _ = loaded.parsed
    assert loaded.validate_output(City).parsed == CITY


def test_loaded_response_refuses_a_different_type(backend: Any) -> None:
    loaded = allm.from_json(allm.to_json(_run(City, _answer(CITY_JSON))))
    with pytest.raises(ValidationError, match="saved output is a City, not a Mayor"):
        loaded.validate_output(Mayor)


def test_loaded_failed_output_keeps_its_error(backend: Any) -> None:
    original = _run(City, _answer("{", finish="length"))
    loaded = allm.from_json(allm.to_json(original))
    assert loaded == original and loaded.parse_error == original.parse_error


def test_chat_result_exposes_the_final_parsed_output(backend: Any) -> None:
    response = _run(City, _answer(CITY_JSON))
    result = allm.ChatResult(thread=allm.Thread(()), final_response=response)
    loaded = allm.from_json(allm.to_json(result)).validate_output(City)
    assert result.parsed == CITY and loaded.parsed == CITY and loaded.parse_error is None


def test_retry_message_lists_the_problems() -> None:
    error = ValidationError("invalid_output", "x", errors=[("kind", "bad enum")])
    message = retry_message(error)
    assert message is not None and message.role == "user" and "kind: bad enum" in message.text


def test_no_retry_after_a_refusal() -> None:
    assert retry_message(ValidationError("output_refused", "no")) is None


def test_partial_validation_builds_what_it_can() -> None:
    spec = OutputSpec.of(list[Mayor])
    assert spec.validate_partial({"result": [{"name": "A"}, {"name": "B"}]}) == [
        Mayor(name="A"),
        Mayor(name="B"),
    ]
    assert spec.validate_partial({"other": 1}) is None


def test_output_retries_ask_again_until_spent(backend: Any) -> None:
    invalid = _run(City, _answer('{"name": 1}'))
    retries = OutputRetries(2)
    messages = [retries.follow_up(invalid) for _ in range(3)]
    assert [m is not None for m in messages] == [True, True, False]
    assert retries.summary() == {"retries": 2, "outcome": "invalid_output"}


def test_output_retries_stop_at_a_valid_answer(backend: Any) -> None:
    retries = OutputRetries()
    assert retries.follow_up(_run(City, _answer(CITY_JSON))) is None
    assert retries.summary() == {"retries": 0, "outcome": "parsed"}


def test_output_retries_do_not_retry_a_refusal(backend: Any) -> None:
    retries = OutputRetries(3)
    assert retries.follow_up(_run(City, _answer("no", finish="content_filter"))) is None
    assert retries.summary() == {"retries": 0, "outcome": "output_refused"}


def test_output_retry_is_a_telemetry_event(backend: Any) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        seen.append((name, payload))

    allm.telemetry.add_handler(handler)
    try:
        OutputRetries().follow_up(_run(City, _answer("{")))
    finally:
        allm.telemetry.remove_handler(handler)
    assert ("allm.output.retry", {"attempt": 1, "of": 1, "reason": "invalid_output"}) in seen


@pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
def test_output_retries_must_be_a_non_negative_int(value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        OutputRetries(value)
    assert info.value.errors == [("output_retries", "must be an int >= 0")]


def test_chat_with_an_output_type_parses_the_final_answer(backend: Any) -> None:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": _answer(CITY_JSON)})
    assert allm.chat(engine, [allm.user("a city")], output_type=City).parsed == CITY


def test_structured_finalize_asks_for_the_output_type_on_the_final_call_only(backend: Any) -> None:
    lookup = allm.tool("lookup", "Look it up", {"type": "object"}, handler=dict)
    engine = allm.Engine(
        adapter=allm.providers.Fake,
        tools=(lookup,),
        adapter_opts={
            "structured_finalize": True,
            "scripts": [
                [("tool_call", {"id": "c1", "name": "lookup", "arguments": {}}), ("finish", "tool_calls")],
                _answer("done"),
                _answer(CITY_JSON),
            ],
        },
    )
    result = allm.chat(engine, [allm.user("a city")], output_type=City)
    fake = engine.instance
    assert isinstance(fake, allm.providers.Fake)
    formats = [r.response_format for r in fake.requests]
    assert formats == [None, None, allm.request([], output_type=City).response_format]
    assert result.parsed == CITY


def test_saved_session_result_revalidates(backend: Any) -> None:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": _answer(CITY_JSON)})
    _, result = allm.Session().start(engine, [allm.user("a city")], output_type=City)
    loaded = allm.from_json(allm.to_json(result))
    assert loaded.validate_output(City).parsed == CITY


def _retrying_chat(scripts: list[list[tuple[str, Any]]], **opts: Any) -> allm.ChatResult:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"scripts": scripts})
    return allm.chat(engine, [allm.user("a city")], output_type=City, **opts)


def test_chat_retries_an_invalid_output_with_its_validation_error(backend: Any) -> None:
    result = _retrying_chat([_answer('{"name": 1}'), _answer(CITY_JSON)])
    follow_up = result.steps[1].thread.messages[-2]
    assert result.parsed == CITY and len(result.steps) == 2
    assert follow_up.role == "user" and "name: Input should be a valid string" in follow_up.text
    assert result.metadata["output"] == {"retries": 1, "outcome": "parsed"}


def test_chat_stops_retrying_when_output_retries_are_spent(backend: Any) -> None:
    result = _retrying_chat([_answer('{"name": 1}'), _answer('{"name": 2}')], output_retries=0)
    assert len(result.steps) == 1 and result.parse_error is not None
    assert result.metadata["output"] == {"retries": 0, "outcome": "invalid_output"}


def test_chat_does_not_retry_past_its_token_budget(backend: Any) -> None:
    invalid = [
        ("text", '{"name": 1}'),
        ("usage", {"input_tokens": 60, "output_tokens": 40}),
        ("finish", "stop"),
    ]
    result = _retrying_chat([invalid, _answer(CITY_JSON)], max_total_tokens=100)
    assert len(result.steps) == 1 and result.metadata["output"] == {"retries": 0, "outcome": "invalid_output"}


def test_structured_finalize_retries_the_final_call(backend: Any) -> None:
    lookup = allm.tool("lookup", "Look it up", {"type": "object"}, handler=dict)
    scripts = [
        [("tool_call", {"id": "c1", "name": "lookup", "arguments": {}}), ("finish", "tool_calls")],
        _answer("done"),
        _answer("{"),
        _answer(CITY_JSON),
    ]
    engine = allm.Engine(
        adapter=allm.providers.Fake,
        tools=(lookup,),
        adapter_opts={"structured_finalize": True, "scripts": scripts},
    )
    result = allm.chat(engine, [allm.user("a city")], output_type=City)
    assert result.parsed == CITY and len(result.steps) == 4
    assert result.metadata["output"] == {"retries": 1, "outcome": "parsed"}


def test_chat_refuses_a_negative_output_retries(backend: Any) -> None:
    engine = allm.Engine(adapter=allm.providers.Fake, adapter_opts={"script": _answer(CITY_JSON)})
    with pytest.raises(ValidationError) as info:
        allm.chat(engine, [allm.user("a city")], output_type=City, output_retries=-1)
    assert info.value.errors == [("output_retries", "must be an int >= 0")]
