"""allm.serialization: exact round trips of Layer A values and refusal of hostile JSON."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allm._messages import ImagePart, Message, TextPart, Thread, ToolCall
from allm._request import Request
from allm._results import ChatResult, Response, StepResult
from allm._serialization import from_json, register, to_json
from allm._tool import Tool
from allm._usage import Usage
from allm.errors import (
    AdapterError,
    AllmError,
    EngineError,
    SessionError,
    StreamError,
    ToolError,
    ValidationError,
)

# ---------------------------------------------------------------------------
# Sample values
# ---------------------------------------------------------------------------

CALL = ToolCall(
    id="call_1",
    name="get_weather",
    arguments={"city": "Paris", "days": [1, 2]},
    raw_arguments='{"city": "Paris", "days": [1, 2]}',
    metadata={"index": 0},
)
ASSISTANT = Message("assistant", "Let me check.", tool_calls=(CALL,))
TOOL_MSG = Message("tool", '{"temp": 21.5}', name="get_weather", tool_call_id="call_1")
USER_PARTS = Message(
    "user",
    (
        TextPart("what is this?"),
        ImagePart(data="aGVsbG8=", media_type="image/png", detail="high"),
        ImagePart(url="https://example.com/a.png"),
    ),
)
THREAD = Thread((Message("system", "be brief"), USER_PARTS, ASSISTANT, TOOL_MSG), metadata={"id": "t1"})
USAGE = Usage(
    input_tokens=10,
    output_tokens=5,
    total_tokens=15,
    cached_input_tokens=2,
    cache_write_input_tokens=1,
    reasoning_tokens=3,
    extra={"service_tier": "default"},
)
ERROR = AdapterError(
    "rate_limited",
    "slow down",
    provider="openai",
    status=429,
    retry_after_ms=1500,
    request_id="req_9",
    metadata={"attempt": 2},
)
RESPONSE = Response(
    message=ASSISTANT,
    output_text="Let me check.",
    tool_calls=(CALL,),
    finish_reason="error",
    raw_finish_reason="error",
    usage=USAGE,
    id="resp_1",
    request_id="req_9",
    model="gpt-x",
    raw={"choices": [{"index": 0}]},
    metadata={"error": ERROR},
)
TOOL = Tool(
    name="get_weather",
    description="Weather by city",
    schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    manual=True,
    metadata={"tags": ("a", "b")},
)
REQUEST = Request(
    messages=THREAD.messages,
    model="gpt-x",
    tools=(TOOL,),
    tool_choice={"type": "tool", "name": "get_weather"},
    temperature=0.7,
    max_tokens=256,
    response_format={"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": True},
    options={"seed": 1},
    metadata={"trace": "x"},
)
STEP = StepResult(
    thread=THREAD, response=RESPONSE, tool_results=(TOOL_MSG,), done=False, metadata={"step": 1}
)
CHAT = ChatResult(
    thread=THREAD.add(Message("assistant", "21.5 degrees")),
    final_response=RESPONSE,
    steps=(STEP, STEP),
    halted_reason="completed",
    pending_question=None,
    pending_tool_call_id="call_1",
    metadata={"n": 2},
)


def roundtrip(value):
    return from_json(to_json(value))


def assert_invalid(text, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        from_json(text, **kwargs)
    assert info.value.reason == "invalid_json"
    assert info.value.errors
    return info.value


def doc(value) -> str:
    return json.dumps({"allm": 1, "value": value})


def tagged(tag, **data):
    return {"__type__": tag, "data": data}


# ---------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        TextPart("hi", {"lang": "en"}),
        ImagePart(url="https://example.com/x.jpg", detail="low"),
        ImagePart(data="AAAA", media_type="image/jpeg"),
        CALL,
        ASSISTANT,
        TOOL_MSG,
        USER_PARTS,
        THREAD,
        USAGE,
        TOOL,
        REQUEST,
        RESPONSE,
        STEP,
        CHAT,
    ],
    ids=lambda v: type(v).__name__,
)
def test_every_layer_a_type_round_trips_equal(value):
    back = roundtrip(value)
    assert type(back) is type(value)
    assert back == value


@pytest.mark.parametrize(
    "error",
    [
        AllmError("unknown", "x"),
        EngineError("missing_adapter", provider="fake"),
        ERROR,
        StreamError("incomplete", "stream ended early", metadata={"bytes": 12}),
        ToolError("handler_raised", "boom", tool_name="t", tool_call_id="c1"),
        ValidationError(
            "invalid_request", errors=[("messages", "empty"), ("temperature", "must be between 0 and 2")]
        ),
        SessionError("unknown_tool_call_id"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_class_round_trips_equal(error):
    back = roundtrip(error)
    assert type(back) is type(error)
    assert back == error
    assert back.metadata == error.metadata


def test_validation_error_errors_come_back_as_tuples():
    err = ValidationError("invalid_json", errors=[("a", "b")])
    assert roundtrip(err).errors == [("a", "b")]


def test_response_with_usage_tool_calls_and_error_in_metadata_round_trips():
    back = roundtrip(RESPONSE)
    assert back.usage == USAGE
    assert back.tool_calls == (CALL,)
    assert isinstance(back.error, AdapterError)
    assert (back.error.status, back.error.retry_after_ms) == (429, 1500)


def test_chat_result_with_threads_and_steps_round_trips():
    back = roundtrip(CHAT)
    assert back.steps[0].thread == THREAD
    assert isinstance(back.steps, tuple)
    assert isinstance(back.thread.messages, tuple)


def test_declared_tuple_fields_come_back_as_tuples():
    back = roundtrip(REQUEST)
    assert isinstance(back.messages, tuple)
    assert isinstance(back.tools, tuple)
    assert isinstance(back.messages[1].content, tuple)
    assert isinstance(back.messages[2].tool_calls, tuple)


def test_declared_tuple_fields_are_plain_json_lists():
    value = json.loads(to_json(Thread((Message("user", "hi"),))))["value"]
    assert isinstance(value["data"]["messages"], list)


def test_free_form_tuples_and_lists_keep_their_type():
    meta = {"t": (1, (2, 3)), "l": [1, [2, 3]], "nested": [{"x": (None,)}]}
    back = roundtrip(Message("user", "x", metadata=meta))
    assert back.metadata == meta
    assert isinstance(back.metadata["t"], tuple) and isinstance(back.metadata["t"][1], tuple)
    assert isinstance(back.metadata["l"], list)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**62,
        1.5,
        -0.0,
        "",
        "héllo \u2603 \n",
        [],
        (),
        {},
        [1, "a", None],
        {"a": {"b": [1, 2.5, (3,)]}},
    ],
    ids=repr,
)
def test_plain_values_round_trip_with_their_types(value):
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)


def test_dict_with_reserved_keys_round_trips():
    value = {"__type__": "Message", "__class__": "os.system", "ok": 1}
    assert roundtrip({"meta": value}) == {"meta": value}


def test_tool_handler_is_not_serialized():
    tool = Tool("shout", handler=lambda args: "HI")
    text = to_json(tool)
    assert "handler" not in text
    back = from_json(text)
    assert back.handler is None
    assert back == tool


def test_error_cause_is_written_as_text_and_dropped_on_reading():
    err = ToolError("handler_raised", "failed", tool_name="t", cause=KeyError("k"))
    text = to_json(err)
    assert json.loads(text)["value"]["data"]["cause"] == "'k'"
    back = from_json(text)
    assert back.cause is None
    assert back == err


def test_document_has_version_envelope():
    assert json.loads(to_json(1)) == {"allm": 1, "value": 1}


def test_from_json_accepts_utf8_bytes():
    assert from_json(to_json("snow \u2603").encode()) == "snow \u2603"


def test_a_list_in_a_tuple_field_comes_back_as_a_tuple():
    msg = Message("user", [TextPart("a")])  # type: ignore[arg-type]
    assert roundtrip(msg) == Message("user", (TextPart("a"),))


def test_omitted_fields_with_defaults_take_their_defaults():
    assert from_json(doc(tagged("Message", role="user"))) == Message("user")


# ---------------------------------------------------------------------------
# Hypothesis: random messages and threads round-trip equal
# ---------------------------------------------------------------------------

_text = st.text(max_size=20)
_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_meta = st.dictionaries(st.text(max_size=8), _json_value, max_size=3)
_parts = st.one_of(
    st.builds(TextPart, text=_text, metadata=_meta),
    st.builds(
        ImagePart,
        url=st.none() | _text,
        data=st.none() | _text,
        media_type=st.none() | _text,
        detail=st.sampled_from(["auto", "low", "high"]),
        metadata=_meta,
    ),
)
_calls = st.builds(ToolCall, id=_text, name=_text, arguments=_meta, raw_arguments=_text, metadata=_meta)
_messages = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    content=_text | st.lists(_parts, max_size=3).map(tuple),
    name=st.none() | _text,
    tool_call_id=st.none() | _text,
    tool_calls=st.lists(_calls, max_size=2).map(tuple),
    metadata=_meta,
)
_threads = st.builds(Thread, messages=st.lists(_messages, max_size=4).map(tuple), metadata=_meta)


@settings(max_examples=150, deadline=None)
@given(_messages)
def test_random_messages_round_trip_equal(message):
    assert roundtrip(message) == message


@settings(max_examples=75, deadline=None)
@given(_threads)
def test_random_threads_round_trip_equal(thread):
    assert roundtrip(thread) == thread


# ---------------------------------------------------------------------------
# Hostile input
# ---------------------------------------------------------------------------


def test_invalid_json_is_refused():
    assert_invalid('{"allm": 1, "value": [1, 2')


def test_non_text_input_is_refused():
    assert_invalid(12345)  # type: ignore[arg-type]


def test_non_utf8_bytes_are_refused():
    assert_invalid(b'{"allm": 1, "value": "\xff"}')


def test_missing_envelope_is_refused():
    assert_invalid(json.dumps(tagged("Message", role="user")))


def test_other_format_version_is_refused():
    err = assert_invalid('{"allm": 2, "value": null}')
    assert err.errors[0][0] == "$.allm"


def test_boolean_format_version_is_refused():
    assert_invalid('{"allm": true, "value": null}')


def test_extra_envelope_keys_are_refused():
    assert_invalid('{"allm": 1, "value": null, "x": 1}')


def test_unknown_tag_is_refused():
    err = assert_invalid(doc(tagged("Session2", x=1)))
    assert "unknown type tag" in err.errors[0][1]


@pytest.mark.parametrize(
    "tag",
    [
        "os.system",
        "builtins.eval",
        "subprocess.Popen",
        "allm.engine.Engine",
        "Engine",
        "__builtins__",
        "Message.__class__",
    ],
)
def test_tag_naming_an_importable_class_is_refused(tag):
    assert_invalid(doc(tagged(tag, command="echo pwned")))


@pytest.mark.parametrize("key", ["__class__", "__reduce__", "__reduce_ex__", "__init__", "__module__"])
def test_dunder_keys_in_a_plain_object_are_refused(key):
    assert_invalid(doc({key: "os.system", "args": ["echo pwned"]}))


@pytest.mark.parametrize("key", ["__class__", "__reduce__", "handler"])
def test_unknown_fields_in_a_tagged_value_are_refused(key):
    data = {"role": "user", "content": "hi", key: "os.system"}
    err = assert_invalid(doc({"__type__": "Message", "data": data}))
    assert any("unknown field" in why for _, why in err.errors)


def test_tool_handler_in_data_is_refused():
    assert_invalid(doc(tagged("Tool", name="x", handler="os.system")))


def test_extra_keys_beside_a_tag_are_refused():
    assert_invalid(doc({"__type__": "Message", "data": {"role": "user"}, "__reduce__": "x"}))


def test_tag_without_data_is_refused():
    assert_invalid(doc({"__type__": "Message"}))


def test_non_string_tag_is_refused():
    assert_invalid(doc({"__type__": ["Message"], "data": {}}))


def test_missing_required_field_is_refused():
    err = assert_invalid(doc(tagged("ToolCall", name="f")))
    assert ("$.id", "missing required field of ToolCall") in err.errors


def test_illegal_role_is_refused():
    err = assert_invalid(doc(tagged("Message", role="bot", content="hi")))
    assert err.errors[0][0] == "$.role"


def test_content_of_the_wrong_type_is_refused():
    assert_invalid(doc(tagged("Message", role="user", content=5)))


def test_content_list_of_non_parts_is_refused():
    assert_invalid(doc(tagged("Message", role="user", content=["hi"])))


def test_tool_calls_of_the_wrong_class_are_refused():
    assert_invalid(doc(tagged("Message", role="assistant", tool_calls=[tagged("TextPart", text="x")])))


@pytest.mark.parametrize(
    "data",
    [
        {"input_tokens": "10"},
        {"input_tokens": True},
        {"input_tokens": 1.5},
        {"extra": []},
    ],
    ids=repr,
)
def test_wrong_field_types_are_refused(data):
    assert_invalid(doc(tagged("Usage", **data)))


def test_illegal_finish_reason_is_refused():
    message = tagged("Message", role="assistant")
    assert_invalid(doc(tagged("Response", message=message, finish_reason="exploded")))


def test_illegal_error_reason_is_refused():
    assert_invalid(doc(tagged("AdapterError", reason="pwned", message="x")))


def test_unknown_error_field_is_refused():
    assert_invalid(doc(tagged("StreamError", reason="timeout", status=500)))


def test_malformed_validation_error_list_is_refused():
    assert_invalid(doc(tagged("ValidationError", reason="invalid_json", errors=[["a"]])))


def test_every_problem_is_reported():
    err = assert_invalid(doc(tagged("Message", role="bot", content=5, extra=1)))
    assert {p for p, _ in err.errors} == {"$.role", "$.content", "$.extra"}


def test_deep_nesting_of_100000_levels_is_refused():
    err = assert_invalid('{"allm": 1, "value": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nesting" in err.errors[0][1]


def test_nesting_over_the_default_limit_is_refused():
    assert_invalid(doc(json.loads("[" * 70 + "]" * 70)))


def test_nesting_limit_is_configurable():
    nested = json.loads("[" * 10 + "]" * 10)
    text = doc(nested)
    assert from_json(text, max_depth=20) == nested
    assert_invalid(text, max_depth=5)


def test_million_digit_integer_is_refused():
    assert_invalid('{"allm": 1, "value": ' + "9" * 1_000_000 + "}")


def test_huge_exponent_float_is_refused():
    assert_invalid('{"allm": 1, "value": 1e999}')


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(literal):
    assert_invalid('{"allm": 1, "value": ' + literal + "}")


def test_duplicate_keys_are_refused():
    assert_invalid('{"allm": 1, "value": {"a": 1, "a": 2}}')


def test_oversize_text_is_refused():
    text = doc("x" * 2000)
    assert_invalid(text, max_bytes=1000)
    assert from_json(text, max_bytes=4000) == "x" * 2000


def test_oversize_is_measured_in_utf8_bytes():
    text = doc("\u2603" * 400)  # 400 chars, 1200 bytes of snowmen
    assert_invalid(text, max_bytes=1000)


def test_default_size_limit_is_64_mib():
    assert_invalid(" " * (64 * 1024 * 1024 + 1))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "null",
        "[]",
        '"x"',
        '{"allm": 1}',
        '{"allm": 1, "value": {"__type__": "tuple", "data": {}}}',
        '{"allm": 1, "value": {"__type__": "dict", "data": []}}',
        '{"allm": 1, "value": {"__type__": "Thread", "data": []}}',
        '{"allm": 1, "value": {"__type__": "Thread", "data": {"messages": {}}}}',
        "\ud800",
    ],
    ids=repr,
)
def test_malformed_documents_raise_only_validation_error(text):
    assert_invalid(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200) | st.binary(max_size=200))
def test_random_input_raises_only_validation_error(text):
    with contextlib.suppress(ValidationError):
        from_json(text)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(max_size=5)
        | st.sampled_from(["Message", "Thread", "Tool", "__type__", "data", "role", "user"]),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["__type__", "data", "role", "content", "messages", "x"]), inner, max_size=3
            )
        ),
        max_leaves=15,
    )
)
def test_random_json_shapes_raise_only_validation_error(value):
    with contextlib.suppress(ValidationError):
        from_json(json.dumps({"allm": 1, "value": value}))


# ---------------------------------------------------------------------------
# to_json refuses what is not Layer A data
# ---------------------------------------------------------------------------


class _Client:
    api_key = "sk-secret"


@pytest.mark.parametrize(
    "value",
    [
        object(),
        _Client(),
        print,
        lambda: 1,
        {1, 2},
        b"bytes",
        {"nested": _Client()},
        [open],
        {1: "int key"},
        float("nan"),
        float("inf"),
        10**1001,
        Message("user", "x", metadata={"c": _Client()}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_to_json_refuses_non_layer_a_values(value):
    with pytest.raises(ValidationError) as info:
        to_json(value)
    assert info.value.reason == "invalid_json"
    assert "sk-secret" not in str(info.value)


def test_to_json_refuses_an_engine_and_never_shows_its_key():
    from allm._engine import Engine

    engine = Engine(adapter_opts={"api_key": "sk-secret"}, model="m")
    for value in (engine, {"engine": engine}, Response(Message("assistant"), metadata={"engine": engine})):
        with pytest.raises(ValidationError) as info:
            to_json(value)
        assert "sk-secret" not in repr(info.value.errors)


def test_to_json_refuses_events():
    from allm.events import TextDelta

    with pytest.raises(ValidationError):
        to_json(TextDelta("hi"))


def test_to_json_refuses_subclasses_of_registered_types():
    class MyMessage(Message):
        __slots__ = ()

    with pytest.raises(ValidationError):
        to_json(MyMessage("user", "x"))


def test_to_json_refuses_str_subclasses():
    class Secret(str):
        pass

    with pytest.raises(ValidationError):
        to_json({"key": Secret("sk-1")})


def test_to_json_refuses_fields_of_the_wrong_type():
    with pytest.raises(ValidationError) as info:
        to_json(Message("bot", 5))  # type: ignore[arg-type]
    assert {p for p, _ in info.value.errors} == {"$.role", "$.content"}


def test_to_json_refuses_cycles():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValidationError):
        to_json(loop)


def test_to_json_refuses_nesting_over_the_limit():
    with pytest.raises(ValidationError):
        to_json(json.loads("[" * 70 + "]" * 70))


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


def test_register_refuses_reserved_pseudo_tags():
    with pytest.raises(ValueError):
        register("tuple", Message)


def test_register_refuses_rebinding_a_tag():
    with pytest.raises(ValueError):
        register("Message", Thread)


def test_register_refuses_non_dataclasses():
    with pytest.raises(TypeError):
        register("Thing", object)


def _json_depth(j) -> int:
    if isinstance(j, dict):
        return 1 + max((_json_depth(v) for v in j.values()), default=0)
    if isinstance(j, list):
        return 1 + max((_json_depth(v) for v in j), default=0)
    return 0


def test_depth_limit_counts_json_nesting_exactly():
    text = to_json(CHAT)
    depth = _json_depth(json.loads(text))
    assert from_json(text, max_depth=depth) == CHAT
    assert_invalid(text, max_depth=depth - 1)
    with pytest.raises(ValidationError):
        to_json(CHAT, max_depth=depth - 1)


def test_tagged_value_in_a_plain_dict_field_is_refused():
    assert_invalid(doc(tagged("Message", role="user", metadata=tagged("Usage"))))


def test_an_escaped_lone_surrogate_is_refused():
    err = assert_invalid('{"allm": 1, "value": {"a": ["\\ud800"]}}')
    assert "lone surrogate" in err.errors[0][1]


def test_a_raw_lone_surrogate_in_a_str_document_is_refused():
    assert_invalid('{"allm": 1, "value": "\ud800"}')


def test_an_escaped_surrogate_pair_is_one_character():
    assert from_json('{"allm": 1, "value": "\\ud83d\\ude00"}') == "\U0001f600"


def test_an_escaped_backslash_before_u_d800_is_plain_text():
    assert from_json('{"allm": 1, "value": "\\\\ud800"}') == "\\ud800"


def test_to_json_refuses_a_lone_surrogate():
    with pytest.raises(ValidationError) as info:
        to_json({"text": "\ud800"})
    assert "lone surrogate" in info.value.errors[0][1]


@pytest.mark.parametrize("count", [-1, 2**63])
def test_a_token_count_outside_the_stream_range_is_refused(count):
    err = assert_invalid(doc(tagged("Usage", input_tokens=count)))
    assert err.errors == [("$.input_tokens", f"token count {count} is outside [0, 2**63 - 1]")]


def test_the_largest_token_count_reads_back():
    assert from_json(doc(tagged("Usage", output_tokens=2**63 - 1))) == Usage(output_tokens=2**63 - 1)


def test_the_default_size_limit_is_16_mib():
    fits = "x" * (16 * 2**20 - 100)
    assert from_json(doc(fits)) == fits
    err = assert_invalid(doc("x" * (16 * 2**20)))
    assert err.errors == [("$", f"document larger than {16 * 2**20} bytes")]
