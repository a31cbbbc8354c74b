"""Mutations of valid provider streams: JSON-aware, event-level and byte-level.

Every function takes a ``random.Random`` and returns new bytes, so a case is a
pure function of its seed. JSON payloads are re-serialized by :func:`dump`,
which can also write what ``json.dumps`` refuses: duplicate keys
(:class:`Pairs`) and literal tokens (:class:`Raw`, e.g. ``1e999`` or a lone
surrogate escape).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

__all__ = ["Pairs", "Raw", "dump", "mutate"]


@dataclass(frozen=True)
class Raw:
    """A JSON token written verbatim (valid or not)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from a list of pairs, so keys may repeat."""

    items: tuple[tuple[str, Any], ...]


def dump(value: Any, spaced: bool = False, ascii_only: bool = False) -> str:
    """``value`` as JSON text; :class:`Raw` and :class:`Pairs` written as they are."""
    comma, colon = (", ", ": ") if spaced else (",", ":")
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs | dict):
        items = value.items if isinstance(value, Pairs) else tuple(children(value))
        body = comma.join(
            json.dumps(k, ensure_ascii=ascii_only) + colon + dump(v, spaced, ascii_only) for k, v in items
        )
        return "{" + body + "}"
    if isinstance(value, list):
        return "[" + comma.join(dump(v, spaced, ascii_only) for _, v in children(value)) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


# -- interesting values ---------------------------------------------------------------

EDGE_NUMBERS = (
    "0",
    "-0",
    "1",
    "-1",
    "0.0",
    "-0.0",
    "1.5",
    "1e2",
    "1E-400",
    "1e999",
    "-1e999",
    "5e-324",
    "1.7976931348623157e308",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1" * 250,
    "0." + "0" * 300 + "1",
    "NaN",
    "Infinity",
    "01",
    "+1",
    ".5",
)
EDGE_STRINGS = (
    "",
    " ",
    "é",
    "€",
    "👋",
    "e\u0301",
    "\u202eevil",
    "\ufeff",
    "\ufffd",
    "\x00",
    "\x7f",
    "line\nbreak",
    "tab\there",
    '"quoted"',
    "back\\slash",
    "[DONE]",
    "data: x\n\n",
    "\u2028\u2029",
)
RAW_STRINGS = (
    '"\\ud800"',
    '"\\udc00x"',
    '"\\ud83d\\ude00"',
    '"\\u0000"',
    '"raw\ttab"',
    '"\\/"',
    '"\\x41"',
    '"unterminated',
)
NESTING_DEPTHS = (1, 2, 64, 126, 127, 128, 200, 1000)


def random_scalar(rng: random.Random) -> Any:
    """A value of a random JSON type (possibly an invalid literal)."""
    choice = rng.randrange(9)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice((True, False))
    if choice == 2:
        return Raw(rng.choice(EDGE_NUMBERS))
    if choice == 3:
        return rng.choice(EDGE_STRINGS)
    if choice == 4:
        return Raw(rng.choice(RAW_STRINGS))
    if choice == 5:
        return {}
    if choice == 6:
        return []
    if choice == 7:
        return rng.randint(-5, 5)
    return "x" * rng.choice((1, 100, 70_000))


# -- JSON tree mutations --------------------------------------------------------------

Path = tuple[Any, ...]
Words = tuple[str, ...]


def children(value: Any) -> list[tuple[Any, Any]]:
    """(key or index, child) pairs of a JSON object or array; [] for anything else."""
    if isinstance(value, dict):
        return list(cast("dict[str, object]", value).items())
    if isinstance(value, list):
        return list(enumerate(cast("list[object]", value)))
    return []


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every node of a JSON tree, as key/index paths."""
    out = [prefix]
    for key, child in children(value):
        out += paths(child, (*prefix, key))
    return out


def get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def replace(value: Any, path: Path, new: Any) -> Any:
    """A copy of ``value`` with the node at ``path`` replaced (``_DELETE`` removes it)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    out: dict[str, Any] | list[Any]
    out = dict(children(value)) if isinstance(value, dict) else [v for _, v in children(value)]
    if rest or new is not _DELETE:
        out[head] = replace(out[head], rest, new)
    else:
        del out[head]
    return out


_DELETE = object()


def node_value(rng: random.Random, node: Any, words: Words) -> Any:
    """A replacement for ``node``: an edge of its own kind, a word of the wire, or any other type."""
    if isinstance(node, str) and words and rng.random() < 0.4:
        return rng.choice(words)
    if isinstance(node, bool) or rng.random() < 0.4:
        return random_scalar(rng)
    if isinstance(node, int | float):
        return Raw(rng.choice(EDGE_NUMBERS))
    if isinstance(node, str):
        return rng.choice((*EDGE_STRINGS, node * rng.choice((2, 1000)), Raw(rng.choice(RAW_STRINGS))))
    return random_scalar(rng)


def nest(rng: random.Random, node: Any) -> Any:
    depth = rng.choice(NESTING_DEPTHS)
    if rng.random() < 0.5:
        return Raw("[" * depth + dump(node) + "]" * depth)
    return Raw('{"a":' * depth + dump(node) + "}" * depth)


def duplicate_key(rng: random.Random, node: dict[str, Any], words: Words) -> Any:
    if not node:
        return Pairs((("k", 1), ("k", 2)))
    key = rng.choice(list(node))
    items = list(node.items())
    clone = (key, node_value(rng, node[key], words))
    items.insert(rng.randint(0, len(items)), clone)
    return Pairs(tuple(items))


def mutate_tree(rng: random.Random, tree: Any, words: Words) -> Any:
    """One JSON-aware change to the decoded payload ``tree``."""
    path = rng.choice(paths(tree))
    node = get(tree, path)
    op = rng.randrange(7)
    if op == 0 and path:
        return replace(tree, path, _DELETE)
    if op == 1 and isinstance(node, dict):
        return replace(tree, path, duplicate_key(rng, dict(children(node)), words))
    if op == 2 and isinstance(node, dict):
        key = (
            rng.choice(words)
            if words and rng.random() < 0.5
            else rng.choice(("x", "type", "index", "id", ""))
        )
        extra = {key: random_scalar(rng)}
        return replace(tree, path, {**dict(children(node)), **extra})
    if op == 3:
        return replace(tree, path, nest(rng, node))
    items = [v for _, v in children(node)]
    if op == 4 and isinstance(node, list) and items:
        return replace(tree, path, items * 2 if rng.random() < 0.5 else items[::-1])
    return replace(tree, path, node_value(rng, node, words))


def leaves(value: Any, prefix: Path = ()) -> list[Path]:
    """Paths of the scalar leaves and empty containers (where the interesting values live)."""
    kids = children(value)
    if not kids:
        return [prefix]
    return [p for key, child in kids for p in leaves(child, (*prefix, key))]


def mutate_leaf(rng: random.Random, tree: Any, words: Words) -> Any:
    """Change one scalar leaf: the commonest way a provider's value goes wrong."""
    path = rng.choice(leaves(tree))
    return replace(tree, path, node_value(rng, get(tree, path), words))


MAX_NESTING = 100
WORD = re.compile(rb'"([A-Za-z][A-Za-z0-9_.-]{1,40})"')
DATA_LINE = re.compile(rb"data: ?(\{[^\r\n]*)")


def vocabulary(*streams: bytes) -> Words:
    """The short identifier-like strings of ``streams`` (event types, reasons, keys), in order."""
    found = (m.decode() for s in streams for m in WORD.findall(s))
    return tuple(dict.fromkeys(found))


def mutate_json(rng: random.Random, data: bytes, words: Words = ()) -> bytes:
    """Mutate the JSON payload of one ``data:`` line (a byte flip if none parses)."""
    spans = [m.span(1) for m in DATA_LINE.finditer(data)]
    rng.shuffle(spans)
    for start, end in spans:
        text = data[start:end]
        if text.count(b"[") + text.count(b"{") > MAX_NESTING:
            continue  # deep trees stay as they are: the tree walk here is recursive
        try:
            tree = json.loads(text)
        except ValueError:
            continue
        changed = mutate_leaf(rng, tree, words) if rng.random() < 0.5 else mutate_tree(rng, tree, words)
        new = dump(changed, spaced=rng.random() < 0.3, ascii_only=rng.random() < 0.3)
        return data[:start] + new.encode("utf-8", "surrogatepass") + data[end:]
    return flip(rng, data)


# -- event-level mutations ------------------------------------------------------------

BLOCK_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)|(?<=\r\r)")


def blocks(data: bytes) -> list[bytes]:
    return [b for b in BLOCK_END.split(data) if b]


def mutate_events(rng: random.Random, data: bytes, donor: bytes) -> bytes:
    """Delete, repeat, swap, or splice in (from ``donor``) whole SSE events."""
    parts, extra = blocks(data), blocks(donor)
    if not parts:
        return data
    i = rng.randrange(len(parts))
    op = rng.randrange(4)
    if op == 0:
        del parts[i]
    elif op == 1:
        parts.insert(i, parts[i])
    elif op == 2:
        j = rng.randrange(len(parts))
        parts[i], parts[j] = parts[j], parts[i]
    elif extra:
        parts.insert(i, rng.choice(extra))
    return b"".join(parts)


# -- byte-level mutations -------------------------------------------------------------

TOKENS = (
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"data:",
    b"data: ",
    b"data",
    b"event: error\n",
    b"id: 42\n",
    b"id: a\x00b\n",
    b"retry: 17\n",
    b"retry: " + b"9" * 25 + b"\n",
    b"retry: " + b"7" * 5000 + b"\n",
    b": comment\n",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\x00",
    b"data: [DONE]\n\n",
    b"data: {}\n\n",
    b"data: []\n\n",
    b"data: {\n\n",
)


def flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def cut_range(rng: random.Random, data: bytes) -> bytes:
    a = rng.randint(0, len(data))
    b = min(len(data), a + rng.choice((1, 2, 8, 64, 1024)))
    return data[:a] + data[b:]


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randint(0, len(data))]


def insert_token(rng: random.Random, data: bytes) -> bytes:
    i = rng.randint(0, len(data))
    return data[:i] + rng.choice(TOKENS) + data[i:]


def insert_random(rng: random.Random, data: bytes) -> bytes:
    i = rng.randint(0, len(data))
    return data[:i] + rng.randbytes(rng.randint(1, 16)) + data[i:]


def repeat_range(rng: random.Random, data: bytes) -> bytes:
    a = rng.randint(0, len(data))
    b = min(len(data), a + rng.randint(1, 200))
    return data[:b] + data[a:b] * rng.choice((1, 2, 50)) + data[b:]


def line_endings(rng: random.Random, data: bytes) -> bytes:
    """Rewrite line ends (all or one) as CRLF, CR or LF."""
    new = rng.choice((b"\r\n", b"\r", b"\n"))
    ends = list(re.finditer(rb"\r\n|\r|\n", data))
    if not ends:
        return data
    if rng.random() < 0.5:
        return re.sub(rb"\r\n|\r|\n", new, data)
    a, b = rng.choice(ends).span()
    return data[:a] + new + data[b:]


BYTE_MUTATIONS: tuple[Callable[[random.Random, bytes], bytes], ...] = (
    flip,
    cut_range,
    truncate,
    insert_token,
    insert_random,
    repeat_range,
    line_endings,
)


def mutate(rng: random.Random, data: bytes, donor: bytes) -> bytes:
    """Apply 0-4 mutations to ``data`` (a valid stream); ``donor`` lends events to splice."""
    words = vocabulary(data, donor)
    for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 4))):
        kind = rng.random()
        if kind < 0.45:
            data = mutate_json(rng, data, words)
        elif kind < 0.6:
            data = mutate_events(rng, data, donor)
        else:
            data = rng.choice(BYTE_MUTATIONS)(rng, data)
    return data
