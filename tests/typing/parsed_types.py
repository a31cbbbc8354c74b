"""Checked by mypy --strict and pyright (strict) through tests/test_typing.py; never run.

``allm.request(..., output_type=T)`` gives a ``Request[T]``; ``generate`` keeps the
type, so ``response.parsed`` is a ``T``. Without an output type it is ``Any``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from typing_extensions import assert_type

import allm


class City(BaseModel):
    name: str


def typed(engine: allm.Engine) -> None:
    request = allm.request([allm.user("a city")], output_type=City)
    assert_type(request, allm.Request[City])
    response = allm.generate(engine, request)
    assert_type(response, allm.Response[City])
    assert_type(response.parsed, City)
    wrong: int = response.parsed  # type: ignore[assignment]  # mypy reports this ignore if unneeded
    del wrong


def untyped(engine: allm.Engine) -> None:
    response = allm.generate(engine, allm.request([allm.user("hi")]))
    assert_type(response.parsed, Any)
    assert_type(response.validate_output(City).parsed, City)


async def typed_async(engine: allm.Engine) -> None:
    response = await allm.agenerate(engine, allm.request([allm.user("a city")], output_type=City))
    assert_type(response.parsed, City)
