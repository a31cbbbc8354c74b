"""Output types shared by the structured-output tests, and the strict schema allm derives for City."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel


class Kind(enum.Enum):
    CAPITAL = "capital"
    TOWN = "town"


class Mayor(BaseModel):
    name: str


class City(BaseModel):
    name: str
    kind: Kind
    mayor: Mayor
    nickname: str | None = None
    population: int = 0


CITY_JSON = (
    '{"name": "Paris", "kind": "capital", "mayor": {"name": "Anne"}, "nickname": null, "population": 2}'
)
CITY = City(name="Paris", kind=Kind.CAPITAL, mayor=Mayor(name="Anne"), population=2)

CITY_SCHEMA: dict[str, Any] = {
    "$defs": {
        "Kind": {"enum": ["capital", "town"], "title": "Kind", "type": "string"},
        "Mayor": {
            "properties": {"name": {"title": "Name", "type": "string"}},
            "required": ["name"],
            "title": "Mayor",
            "type": "object",
            "additionalProperties": False,
        },
    },
    "properties": {
        "name": {"title": "Name", "type": "string"},
        "kind": {"$ref": "#/$defs/Kind"},
        "mayor": {"$ref": "#/$defs/Mayor"},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Nickname"},
        "population": {"title": "Population", "type": "integer"},
    },
    "required": ["name", "kind", "mayor", "nickname", "population"],
    "title": "City",
    "type": "object",
    "additionalProperties": False,
}
