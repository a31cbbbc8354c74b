"""The seed corpus and the case generator: case ``i`` of seed ``s`` is always the same case."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

from .harness import MODES, Case
from .mutate import mutate

__all__ = ["CORPUS", "WIRES", "load_corpus", "make_case"]

WIRES = ("openai-chat", "openai-responses", "anthropic", "gemini")

CORPUS = Path(__file__).resolve().parent / "corpus"
LIMITS = ("max_line_bytes", "max_event_bytes", "max_argument_bytes")
FLAGS = ("emit_text_deltas", "emit_tool_deltas", "include_raw_chunks")
HUGE_LIMITS = (2**63 - 1, 2**64, 2**64 + 1)
MAX_CHUNKS = 4096


def load_corpus(root: Path = CORPUS) -> dict[str, list[bytes]]:
    """The valid seed streams of each wire (``corpus/<wire>/*.sse``), in name order."""
    return {wire: [p.read_bytes() for p in sorted((root / wire).glob("*.sse"))] for wire in WIRES}


def chunking(rng: random.Random, data: bytes) -> tuple[bytes, ...]:
    """``data`` cut one of several ways: whole, bytewise, fixed size, at CR, or at random points."""
    n = len(data)
    way = rng.randrange(6)
    if way == 0 or n == 0:
        return (data,)
    if way == 1 and n <= MAX_CHUNKS:
        return tuple(data[i : i + 1] for i in range(n))
    if way == 2:
        size = max(rng.choice((2, 3, 7, 64, 4096)), n // MAX_CHUNKS + 1)
        return tuple(data[i : i + size] for i in range(0, n, size))
    if way == 3:
        return tuple(re.split(rb"(?<=\r)", data))
    cuts = sorted(rng.randint(0, n) for _ in range(rng.randint(1, 16)))
    bounds = [0, *cuts, n]
    return tuple(data[a:b] for a, b in itertools.pairwise(bounds))


def limit(rng: random.Random, size: int) -> int | str | None:
    """A limit option: usually absent ("default"), sometimes tight, rarely None or huge."""
    r = rng.random()
    if r < 0.1:
        return rng.randint(1, max(1, size))
    if r < 0.13:
        return None
    if r < 0.135:
        return rng.choice(HUGE_LIMITS)
    return "default"


def options(rng: random.Random, mode: str, size: int) -> dict[str, object]:
    opts: dict[str, object] = {}
    if mode == "feed":
        opts.update({flag: rng.random() < 0.7 for flag in FLAGS if rng.random() < 0.5})
    for name in LIMITS:
        value = limit(rng, size)
        if value != "default":
            opts[name] = value
    return opts


def make_case(seed: int, index: int, corpus: dict[str, list[bytes]]) -> Case:
    """Case ``index`` of the run with ``seed``: a mutated seed stream, chunked, with options."""
    rng = random.Random(f"{seed}:{index}")
    wire = rng.choice(WIRES)
    data = mutate(rng, rng.choice(corpus[wire]), rng.choice(corpus[wire]))
    mode = rng.choices(MODES, weights=(4, 2, 2, 1))[0]
    return Case(
        wire=wire,
        mode=mode,
        chunks=chunking(rng, data),
        options=options(rng, mode, len(data)),
        end=rng.choice(("close", "close", "fail", "none")),
        peek=rng.random() < 0.15,
        chunk_type="bytes" if rng.random() < 0.95 else rng.choice(("bytearray", "memoryview")),
    )
