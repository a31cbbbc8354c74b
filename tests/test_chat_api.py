"""The public surface: submodules stay modules, returned classes are exported, results are typed."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing
from types import ModuleType
from typing import Any

import pytest

import allm

SUBMODULES = sorted(info.name for info in pkgutil.walk_packages(allm.__path__, "allm."))


def _public_functions() -> list[tuple[str, Any]]:
    """Every public function of allm and every public method of its exported classes."""
    found: list[tuple[str, Any]] = []
    for name in allm.__all__:
        value = getattr(allm, name)
        if inspect.isfunction(value):
            found.append((name, value))
        elif inspect.isclass(value):
            for attr, member in vars(value).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    found.append((f"{name}.{attr}", member))
    return found


def _classes_in(annotation: Any) -> list[type]:
    """The allm classes an annotation names (through unions, generics and tuples)."""
    origin = typing.get_origin(annotation)
    if origin is not None:
        inner = [c for arg in typing.get_args(annotation) for c in _classes_in(arg)]
        return inner + _classes_in(origin)
    if isinstance(annotation, type) and annotation.__module__.split(".")[0] == "allm":
        return [annotation]
    return []


@pytest.mark.parametrize("name", SUBMODULES)
def test_import_of_every_submodule_gives_a_module(name: str) -> None:
    module = importlib.import_module(name)
    assert isinstance(module, ModuleType) and module.__name__ == name


@pytest.mark.parametrize("name", [n for n in SUBMODULES if n.count(".") == 1])
def test_no_public_name_shadows_a_submodule(name: str) -> None:
    module = importlib.import_module(name)
    assert getattr(allm, name.split(".")[1]) is module


@pytest.mark.parametrize(
    ("name", "function"), _public_functions(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_class_a_public_function_returns_is_exported(name: str, function: Any) -> None:
    returned = _classes_in(typing.get_type_hints(function).get("return"))
    # A class of a public submodule (allm.events, allm.errors, ...) is exported there.
    private = [
        c
        for c in returned
        if c.__module__ == "allm" or any(part.startswith("_") for part in c.__module__.split("."))
    ]
    missing = [c.__qualname__ for c in private if getattr(allm, c.__name__, None) is not c]
    assert not missing, f"{name} returns classes allm does not export: {missing}"
    assert all(c.__name__ in allm.__all__ for c in private)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (allm.stream, allm.ChatStream[allm.ChatResult]),
        (allm.stream_step, allm.ChatStream[allm.StepResult]),
        (allm.astream, allm.AsyncChatStream[allm.ChatResult]),
        (allm.astream_step, allm.AsyncChatStream[allm.StepResult]),
        (allm.Session.stream_start, allm.SessionStream[allm.ChatResult]),
        (allm.Session.stream_step, allm.SessionStream[allm.StepResult]),
        (allm.Session.astream_reply, allm.AsyncSessionStream[allm.ChatResult]),
    ],
)
def test_loop_streams_are_typed_by_their_result(function: Any, expected: Any) -> None:
    assert typing.get_type_hints(function)["return"] == expected


@pytest.mark.parametrize(
    "cls", [allm.ChatStream, allm.AsyncChatStream, allm.SessionStream, allm.AsyncSessionStream]
)
def test_loop_stream_classes_report_the_allm_module(cls: type) -> None:
    assert cls.__module__ == "allm" and f"allm.{cls.__name__}" in repr(cls)


def test_get_final_result_of_a_step_stream_is_a_step_result(backend: ModuleType) -> None:
    engine = allm.Engine(
        adapter=allm.providers.Fake, adapter_opts={"script": [("text", "hi"), ("finish", "stop")]}
    )
    with allm.stream_step(engine, [allm.user("x")]) as events:
        assert isinstance(events, allm.ChatStream)
        assert type(events.get_final_result()) is allm.StepResult
