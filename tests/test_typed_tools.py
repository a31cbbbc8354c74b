"""Typed tools: @allm.tool derives name, description and schema from a function; arguments are validated."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

import allm
from allm._tool_runner import ToolRunner
from allm.errors import ToolError, ValidationError


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "FR"


@dataclasses.dataclass
class Window:
    days: int


received: list[tuple[Any, ...]] = []


@allm.tool
def forecast(
    place: Place, unit: Unit, window: Window, tags: list[str], note: str | None = None, limit: int = 3
) -> str:
    """Weather forecast for a place.

    Reads the latest model run.

    Args:
        place: Where to look.
        unit: Temperature unit.
        window: How far ahead.
        tags: Labels to attach.
        note: Free text.
        limit: How many rows.
    """
    received.append((place, unit, window, tags, note, limit))
    return "sunny"


FORECAST_SCHEMA = {
    "$defs": {
        "Place": {
            "properties": {
                "city": {"title": "City", "type": "string"},
                "country": {"default": "FR", "title": "Country", "type": "string"},
            },
            "required": ["city"],
            "title": "Place",
            "type": "object",
        },
        "Unit": {"enum": ["celsius", "fahrenheit"], "title": "Unit", "type": "string"},
        "Window": {
            "additionalProperties": False,
            "properties": {"days": {"title": "Days", "type": "integer"}},
            "required": ["days"],
            "title": "Window",
            "type": "object",
        },
    },
    "additionalProperties": False,
    "properties": {
        "place": {"$ref": "#/$defs/Place", "description": "Where to look."},
        "unit": {"$ref": "#/$defs/Unit", "description": "Temperature unit."},
        "window": {"$ref": "#/$defs/Window", "description": "How far ahead."},
        "tags": {
            "description": "Labels to attach.",
            "items": {"type": "string"},
            "title": "Tags",
            "type": "array",
        },
        "note": {
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": None,
            "description": "Free text.",
            "title": "Note",
        },
        "limit": {"default": 3, "description": "How many rows.", "title": "Limit", "type": "integer"},
    },
    "required": ["place", "unit", "window", "tags"],
    "type": "object",
}
GOOD = {"place": {"city": "Paris"}, "unit": "celsius", "window": {"days": 2}, "tags": ["a"]}


def _run(tool: allm.Tool, arguments: dict[str, Any]) -> Any:
    runner = ToolRunner({tool.name: tool}, request_id="rid")
    (batch,) = list(runner.run([allm.ToolCall(id="c1", name=tool.name, arguments=arguments)]))
    return batch


def test_name_and_description_come_from_the_function() -> None:
    assert (forecast.name, forecast.description) == (
        "forecast",
        "Weather forecast for a place.\n\nReads the latest model run.",
    )


def test_schema_comes_from_the_signature_and_docstring() -> None:
    assert forecast.schema == FORECAST_SCHEMA


def test_handler_receives_built_models_dataclasses_and_enums(backend: Any) -> None:
    received.clear()
    batch = _run(forecast, GOOD)
    assert batch[-1].content == "sunny"
    assert received == [(Place(city="Paris"), Unit.CELSIUS, Window(days=2), ["a"], None, 3)]


def test_invalid_arguments_never_reach_the_handler(backend: Any) -> None:
    received.clear()
    batch = _run(forecast, {**GOOD, "unit": "kelvin"})
    assert received == [] and "invalid_arguments" in repr(batch)


def test_the_handler_itself_refuses_invalid_arguments() -> None:
    assert forecast.handler is not None
    with pytest.raises(ToolError) as info:
        forecast.handler({**GOOD, "window": {"days": "many"}}, None)
    assert info.value.reason == "invalid_arguments" and info.value.tool_name == "forecast"


def test_async_function_gets_an_async_handler_and_the_context() -> None:
    @allm.tool
    async def echo(text: str, context: allm.ToolContext) -> str:
        """Echo the text."""
        return f"{text} {context}"

    assert echo.handler is not None and echo.schema["properties"] == {
        "text": {"title": "Text", "type": "string"}
    }
    assert asyncio.run(echo.handler({"text": "hi"}, "ctx")) == "hi ctx"


def test_hand_written_tools_keep_working() -> None:
    tool = allm.tool("add", "Add.", {"type": "object"}, handler=dict)
    assert (tool.name, tool.description, tool.schema) == ("add", "Add.", {"type": "object"})


def _untyped(x, y: int) -> None:  # type: ignore[no-untyped-def]
    """Untyped x."""


def _star_args(*numbers: int) -> int:
    return sum(numbers)


def _star_kwargs(**options: int) -> int:
    return len(options)


def _positional_only(x: int, /) -> int:
    return x


INVALID_SIGNATURES: list[tuple[Callable[..., Any], str]] = [
    (_untyped, "parameter 'x' has no type annotation"),
    (_star_args, "*numbers cannot be described"),
    (_star_kwargs, "**options cannot be described"),
    (_positional_only, "positional-only"),
]


@pytest.mark.parametrize(("function", "problem"), INVALID_SIGNATURES)
def test_invalid_signature_is_an_error_at_decoration(function: Any, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        allm.tool(function)
    assert info.value.reason == "invalid_tool" and problem in info.value.message
