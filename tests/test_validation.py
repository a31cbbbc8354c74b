"""allm.validation: every pre-flight rule, and every problem reported at once."""

from __future__ import annotations

import pytest

from allm._messages import ImagePart, Message, TextPart, ToolCall
from allm._request import Request
from allm._tool import Tool
from allm._validation import (
    request_errors,
    validate_messages,
    validate_request,
    validate_tools,
)
from allm.errors import ValidationError

USER = Message("user", "hi")
WEATHER = Tool("get_weather", "Weather by city", {"type": "object", "properties": {}})


def req(messages=(USER,), **fields) -> Request:
    return Request(messages=tuple(messages), **fields)


def problems(request: Request, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as info:
        validate_request(request, **kwargs)
    assert info.value.reason == "invalid_request"
    return info.value.errors


def paths(request: Request) -> set[str]:
    return {p for p, _ in problems(request)}


# ---------------------------------------------------------------------------
# A valid request passes
# ---------------------------------------------------------------------------


def test_minimal_request_is_valid():
    validate_request(req())


def test_full_valid_request_is_valid():
    call = ToolCall("c1", "get_weather", {"city": "Paris"}, '{"city": "Paris"}')
    validate_request(
        req(
            [
                Message("system", "be brief"),
                Message(
                    "user",
                    (
                        TextPart("what?"),
                        ImagePart(url="https://x/a.png"),
                        ImagePart(data="AAAA", media_type="image/png", detail="low"),
                    ),
                ),
                Message("assistant", "", tool_calls=(call,)),
                Message("tool", "21", tool_call_id="c1"),
            ],
            model="m",
            tools=(WEATHER,),
            tool_choice="get_weather",
            temperature=2,
            max_tokens=1,
            response_format={
                "type": "json_schema",
                "name": "w",
                "schema": {"type": "object"},
                "strict": True,
            },
        )
    )


def test_list_content_is_accepted():
    validate_request(req([Message("user", [TextPart("a")])]))  # type: ignore[arg-type]


def test_request_errors_returns_the_list_without_raising():
    assert request_errors(req([])) == [("messages", "empty")]
    assert request_errors(req()) == []


def test_non_request_is_refused():
    assert problems("hello") == [("request", "must be a Request, got str")]  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def test_empty_messages_are_refused():
    assert problems(req([])) == [("messages", "empty")]


def test_unknown_role_is_refused():
    assert ("messages[2].role", "unknown role 'bot'") in problems(req([USER, USER, Message("bot", "x")]))  # type: ignore[arg-type]


def test_tool_message_without_tool_call_id_is_refused():
    assert problems(req([USER, Message("tool", "21")])) == [
        ("messages[1].tool_call_id", "required for tool messages")
    ]


def test_non_message_in_messages_is_refused():
    assert paths(req([USER, {"role": "user", "content": "hi"}])) == {"messages[1]"}  # type: ignore[list-item]


def test_content_of_the_wrong_type_is_refused():
    assert problems(req([Message("user", 5)])) == [  # type: ignore[arg-type]
        ("messages[0].content", "must be a str or a tuple/list of TextPart/ImagePart/ReasoningPart")
    ]


def test_content_part_of_the_wrong_type_is_refused():
    assert paths(req([Message("user", (TextPart("a"), "b"))])) == {"messages[0].content[1]"}  # type: ignore[arg-type]


def test_image_part_with_neither_url_nor_data_is_refused():
    assert problems(req([Message("user", (ImagePart(),))])) == [
        ("messages[0].content[0]", "needs exactly one of url or data")
    ]


def test_image_part_with_both_url_and_data_is_refused():
    part = ImagePart(url="https://x/a.png", data="AAAA", media_type="image/png")
    assert problems(req([Message("user", (part,))])) == [
        ("messages[0].content[0]", "needs exactly one of url or data")
    ]


def test_image_data_without_media_type_is_refused():
    assert problems(req([Message("user", (ImagePart(data="AAAA"),))])) == [
        ("messages[0].content[0].media_type", "required with data")
    ]


def test_image_detail_outside_auto_low_high_is_refused():
    part = ImagePart(url="https://x/a.png", detail="ultra")  # type: ignore[arg-type]
    assert paths(req([Message("user", (part,))])) == {"messages[0].content[0].detail"}


def test_tool_calls_on_a_non_assistant_message_are_refused():
    msg = Message("user", "x", tool_calls=(ToolCall("c1", "f"),))
    assert paths(req([msg])) == {"messages[0].tool_calls"}


def test_tool_call_without_id_is_refused():
    msg = Message("assistant", "", tool_calls=(ToolCall("", "f"),))
    assert paths(req([USER, msg])) == {"messages[1].tool_calls[0].id"}


def test_duplicate_tool_call_ids_are_refused():
    msg = Message("assistant", "", tool_calls=(ToolCall("c1", "f"), ToolCall("c1", "g")))
    assert problems(req([USER, msg])) == [("messages[1].tool_calls[1].id", "duplicate tool call id 'c1'")]


def test_validate_messages_uses_the_given_path():
    with pytest.raises(ValidationError) as info:
        validate_messages([USER, Message("tool", "x")], path="thread.messages")
    assert info.value.errors == [("thread.messages[1].tool_call_id", "required for tool messages")]
    assert info.value.reason == "invalid_request"


def test_validate_messages_accepts_valid_messages():
    validate_messages((USER, Message("assistant", "hello")))


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "has space", "dots.not.ok", "x" * 65, "naïve", "trailing\n"])
def test_tool_name_not_matching_the_pattern_is_refused(name):
    assert problems(req(tools=(Tool(name),))) == [("tools[0].name", "must match ^[A-Za-z0-9_-]{1,64}$")]


@pytest.mark.parametrize("name", ["a", "get_weather", "A-1", "x" * 64])
def test_tool_name_matching_the_pattern_is_accepted(name):
    validate_request(req(tools=(Tool(name),)))


def test_duplicate_tool_name_is_refused():
    assert problems(req(tools=(Tool("x"), Tool("x")))) == [("tools[1].name", "duplicate tool name 'x'")]


@pytest.mark.parametrize("name", ["auto", "none", "required"])
def test_reserved_tool_names_are_refused(name):
    assert problems(req(tools=(Tool(name),))) == [("tools[0].name", f"reserved name {name!r}")]


@pytest.mark.parametrize("schema", [{}, {"type": "string"}, "object", None, {"properties": {}}])
def test_tool_schema_must_be_an_object_schema(schema):
    assert problems(req(tools=(Tool("t", schema=schema),))) == [  # type: ignore[arg-type]
        ("tools[0].schema", 'must be a dict whose "type" is "object"')
    ]


def test_non_tool_in_tools_is_refused():
    assert paths(req(tools=(WEATHER, {"name": "x"}))) == {"tools[1]"}  # type: ignore[arg-type]


def test_validate_tools_uses_the_given_path():
    with pytest.raises(ValidationError) as info:
        validate_tools([Tool("ok"), Tool("bad name")], path="engine.tools")
    assert info.value.errors == [("engine.tools[1].name", "must match ^[A-Za-z0-9_-]{1,64}$")]


# ---------------------------------------------------------------------------
# tool_choice
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "choice", [None, "auto", "none", "required", "get_weather", {"type": "tool", "name": "get_weather"}]
)
def test_legal_tool_choices_are_accepted(choice):
    validate_request(req(tools=(WEATHER,), tool_choice=choice))


def test_tool_choice_naming_an_absent_tool_is_refused():
    assert problems(req(tools=(WEATHER,), tool_choice="search")) == [("tool_choice", "unknown tool 'search'")]


def test_tool_choice_dict_naming_an_absent_tool_is_refused():
    assert paths(req(tools=(WEATHER,), tool_choice={"type": "tool", "name": "search"})) == {
        "tool_choice.name"
    }


@pytest.mark.parametrize(
    "choice", [{"type": "function", "name": "get_weather"}, {"name": "get_weather"}, 3, ["auto"]]
)
def test_tool_choice_of_an_illegal_shape_is_refused(choice):
    assert paths(req(tools=(WEATHER,), tool_choice=choice)) == {"tool_choice"}


def test_required_tool_choice_without_tools_is_refused():
    assert paths(req(tool_choice="required")) == {"tool_choice"}


def test_tool_choice_may_name_a_known_tool_from_elsewhere():
    validate_request(req(tool_choice="engine_tool"), known_tools=["engine_tool"])


# ---------------------------------------------------------------------------
# Sampling parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [-0.1, 2.01, 100, float("nan"), float("inf")])
def test_temperature_outside_0_to_2_is_refused(temperature):
    assert problems(req(temperature=temperature)) == [("temperature", "must be between 0 and 2")]


@pytest.mark.parametrize("temperature", [0, 0.0, 1, 1.5, 2])
def test_temperature_inside_0_to_2_is_accepted(temperature):
    validate_request(req(temperature=temperature))


@pytest.mark.parametrize("temperature", ["1", True])
def test_temperature_that_is_not_a_number_is_refused(temperature):
    assert paths(req(temperature=temperature)) == {"temperature"}


@pytest.mark.parametrize("max_tokens", [0, -1])
def test_max_tokens_not_positive_is_refused(max_tokens):
    assert problems(req(max_tokens=max_tokens)) == [("max_tokens", "must be > 0")]


@pytest.mark.parametrize("max_tokens", [1.5, "10", True])
def test_max_tokens_that_is_not_an_integer_is_refused(max_tokens):
    assert paths(req(max_tokens=max_tokens)) == {"max_tokens"}


# ---------------------------------------------------------------------------
# response_format
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt",
    [
        None,
        {"type": "text"},
        {"type": "json_object"},
        {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True},
        {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": False},
    ],
    ids=repr,
)
def test_legal_response_formats_are_accepted(fmt):
    validate_request(req(response_format=fmt))


@pytest.mark.parametrize(
    "fmt, where",
    [
        ("json", "response_format"),
        ({}, "response_format.type"),
        ({"type": "xml"}, "response_format.type"),
        ({"type": "text", "schema": {}}, "response_format"),
        ({"type": "json_schema", "schema": {"type": "object"}, "strict": True}, "response_format.name"),
        ({"type": "json_schema", "name": "a b", "schema": {}, "strict": True}, "response_format.name"),
        ({"type": "json_schema", "name": "a", "schema": "{}", "strict": True}, "response_format.schema"),
        ({"type": "json_schema", "name": "a", "schema": {}, "strict": "yes"}, "response_format.strict"),
        ({"type": "json_schema", "name": "a", "schema": {}, "extra": 1}, "response_format"),
    ],
    ids=repr,
)
def test_illegal_response_format_shapes_are_refused(fmt, where):
    assert paths(req(response_format=fmt)) == {where}


# ---------------------------------------------------------------------------
# Everything at once
# ---------------------------------------------------------------------------


def test_a_request_with_several_problems_reports_all_of_them():
    bad = req(
        [USER, Message("tool", "x"), Message("bot", "y")],  # type: ignore[arg-type]
        tools=(Tool("bad name"), Tool("x"), Tool("x"), Tool("auto")),
        tool_choice="missing",
        temperature=3,
        max_tokens=0,
        response_format={"type": "yaml"},
    )
    assert problems(bad) == [
        ("messages[1].tool_call_id", "required for tool messages"),
        ("messages[2].role", "unknown role 'bot'"),
        ("tools[0].name", "must match ^[A-Za-z0-9_-]{1,64}$"),
        ("tools[2].name", "duplicate tool name 'x'"),
        ("tools[3].name", "reserved name 'auto'"),
        ("tool_choice", "unknown tool 'missing'"),
        ("temperature", "must be between 0 and 2"),
        ("max_tokens", "must be > 0"),
        ("response_format.type", "must be 'text', 'json_object' or 'json_schema'"),
    ]


def test_the_error_message_lists_every_problem():
    with pytest.raises(ValidationError) as info:
        validate_request(req([], temperature=-1))
    assert "messages: empty" in info.value.message
    assert "temperature: must be between 0 and 2" in info.value.message
