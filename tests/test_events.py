"""The event types (the design's sixteen and partial_output): tags, immutability, equality, repr and match."""

from __future__ import annotations

import pytest

from allm import events
from allm.errors import AdapterError
from allm.events import EVENT_TYPES, ErrorEvent, MessageCompleted, TextDelta, ToolCallDelta

DESIGN_TAGS = {
    "message_started",
    "text_delta",
    "text_completed",
    "tool_call_started",
    "tool_call_delta",
    "tool_call_completed",
    "tool_execution_started",
    "tool_execution_completed",
    "tool_result_encoded",
    "ask_user_requested",
    "tool_halt",
    "message_completed",
    "step_completed",
    "chat_completed",
    "raw_chunk",
    "error",
}
# Added by the typed-output issue: the structured answer so far while it streams.
TYPED_OUTPUT_TAGS = {"partial_output"}


def test_there_are_exactly_the_design_event_types_and_partial_output():
    assert set(EVENT_TYPES) == DESIGN_TAGS | TYPED_OUTPUT_TAGS
    assert all(cls.type == tag for tag, cls in EVENT_TYPES.items())


def test_events_are_exported_from_allm_events():
    assert all(getattr(events, cls.__name__) is cls for cls in EVENT_TYPES.values())


def test_keyword_and_positional_construction_are_equal():
    assert TextDelta("hi") == TextDelta(delta="hi") == TextDelta("hi", None)


def test_events_are_immutable():
    event = TextDelta("hi")
    with pytest.raises(AttributeError):
        event.delta = "no"  # type: ignore[misc]


def test_events_of_different_types_with_equal_fields_differ():
    assert TextDelta("x", "a") != ToolCallDelta("x", "a")


def test_repr_names_the_type_and_fields():
    assert repr(TextDelta("hi")) == "TextDelta(delta='hi', id=None)"


def test_missing_required_field_raises():
    with pytest.raises(TypeError, match="delta"):
        TextDelta()


def test_unknown_field_raises():
    with pytest.raises(TypeError, match="colour"):
        TextDelta("hi", colour="red")


def test_dict_defaults_are_not_shared_between_events():
    first, second = MessageCompleted("stop"), MessageCompleted("stop")
    first.metadata["x"] = 1
    assert second.metadata == {}


def test_events_work_in_match_statements():
    def describe(event):
        match event:
            case TextDelta(delta=d):
                return f"text {d}"
            case MessageCompleted(finish_reason=r):
                return f"done {r}"
            case ErrorEvent(error=e):
                return f"error {e.reason}"
        return "other"

    assert describe(TextDelta("a")) == "text a"
    assert describe(MessageCompleted("stop")) == "done stop"
    assert describe(ErrorEvent(AdapterError("timeout"))) == "error timeout"


def test_replace_returns_a_changed_copy():
    assert TextDelta("a")._replace(delta="b") == TextDelta("b")


def test_events_take_no_new_attributes():
    event = TextDelta("hi")
    with pytest.raises(AttributeError):
        event.colour = "red"  # type: ignore[attr-defined]
    assert not hasattr(event, "__dict__")
