"""Parity properties: chunking never matters, and both backends agree.

Properties that compare a backend with itself run on both backends (the
``backend`` fixture); properties that compare the pure twin with the native
module use the ``native`` fixture and skip when it is not built.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allm import _pure
from allm._messages import ReasoningPart
from allm._usage import Usage
from allm.errors import AdapterError, StreamError
from allm.events import (
    ErrorEvent,
    MessageCompleted,
    MessageStarted,
    RawChunk,
    TextCompleted,
    TextDelta,
    ToolCallCompleted,
    ToolCallDelta,
    ToolCallStarted,
    ToolExecutionStarted,
)
from conftest import OWN_FIXTURES, SHARED_FIXTURES

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- chunkings ----------------------------------------------------------------


@st.composite
def chunked(draw, data: bytes) -> list[bytes]:
    """``data`` cut at random points (sometimes one byte at a time)."""
    if not data:
        return [data]
    if draw(st.integers(0, 9)) == 0:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=12)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


# -- SSE byte streams ---------------------------------------------------------

SSE_PIECES = [
    b"data",
    b"data:",
    b"data: ",
    b"event:",
    b"event: e",
    b"id:",
    b"id: 7",
    b"retry:",
    b"retry: 12",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\r\r",
    b"x",
    b"\xc3\xa9",
    b"\xe2\x82\xac",
    b"\xf0\x9f\x91\x8b",
    b"\xc3",
    b"\xa9",
    b"\xff",
    b"\x00",
    b"\xef\xbb\xbf",
    b"1",
    b"abc",
    b"{}",
]
sse_streams = st.lists(st.sampled_from(SSE_PIECES), max_size=40).map(b"".join)


def sse_run(module: ModuleType, chunks: list[bytes], **limits):
    decoder = module.SSEDecoder(**limits)
    events = []
    try:
        for chunk in chunks:
            events.extend(decoder.feed(chunk))
        events.extend(decoder.close())
    except StreamError as error:
        return events, (error.reason, error.message), decoder.last_event_id, decoder.retry
    return events, None, decoder.last_event_id, decoder.retry


@SETTINGS
@given(data=st.data(), stream=sse_streams)
def test_sse_rechunking_gives_the_one_shot_events(backend: ModuleType, data, stream: bytes) -> None:
    chunks = data.draw(chunked(stream))
    assert sse_run(backend, chunks) == sse_run(backend, [stream])


@SETTINGS
@given(data=st.data(), stream=sse_streams)
def test_sse_one_byte_at_a_time_gives_the_one_shot_events(backend: ModuleType, data, stream: bytes) -> None:
    assert sse_run(backend, [stream[i : i + 1] for i in range(len(stream))]) == sse_run(backend, [stream])


@SETTINGS
@given(
    data=st.data(),
    stream=sse_streams,
    line=st.none() | st.integers(1, 30),
    event=st.none() | st.integers(1, 30),
)
def test_sse_native_equals_pure(native: ModuleType, data, stream: bytes, line, event) -> None:
    chunks = data.draw(chunked(stream))
    limits = {"max_line_bytes": line, "max_event_bytes": event}
    assert sse_run(native, chunks, **limits) == sse_run(_pure, chunks, **limits)


# -- fold ---------------------------------------------------------------------

ids = st.sampled_from(["a", "b", "c"])
texts = st.text(max_size=6)
small_json = st.dictionaries(st.sampled_from(["k", "n"]), st.integers(-3, 3) | texts, max_size=2)
usages = st.builds(
    Usage, input_tokens=st.integers(0, 99), output_tokens=st.integers(0, 99), total_tokens=st.integers(0, 200)
)
errors = st.sampled_from(
    [
        StreamError("incomplete", "cut"),
        AdapterError("rate_limited", "slow", provider="openai"),
        StreamError("malformed_event"),
    ]
)
events = st.one_of(
    st.builds(MessageStarted, st.none() | ids, st.none() | texts),
    st.builds(TextDelta, texts),
    st.builds(TextCompleted, texts),
    st.builds(ToolCallStarted, ids, st.sampled_from(["", "f", "g"])),
    st.builds(ToolCallDelta, ids, texts),
    st.builds(ToolCallCompleted, ids, st.sampled_from(["f", "g"]), small_json, texts, small_json),
    st.builds(
        MessageCompleted,
        st.none() | st.sampled_from(["stop", "length", "tool_calls", "content_filter", "other"]),
        st.none() | texts,
        st.dictionaries(st.sampled_from(["reasoning", "x"]), texts, max_size=1),
    ),
    st.builds(RawChunk, st.just("usage"), usages),
    st.builds(RawChunk, st.just("reasoning_delta"), texts),
    st.builds(
        RawChunk,
        st.just("reasoning"),
        st.builds(ReasoningPart, texts, st.none() | texts, provider=st.sampled_from(["anthropic", "gemini"])),
    ),
    st.builds(ErrorEvent, errors),
    st.builds(ToolExecutionStarted, ids, st.just("f"), small_json),
)
event_lists = st.lists(events, max_size=25)


@SETTINGS
@given(batch=event_lists)
def test_fold_apply_one_by_one_equals_apply_many(backend: ModuleType, batch) -> None:
    one, many = backend.Fold(), backend.Fold()
    for event in batch:
        one.apply(event)
    many.apply_many(batch)
    assert one.response() == many.response()


@SETTINGS
@given(batch=event_lists)
def test_fold_native_equals_pure(native: ModuleType, batch) -> None:
    pure, fast = _pure.Fold(), native.Fold()
    pure.apply_many(batch)
    fast.apply_many(batch)
    assert fast.response() == pure.response()


# -- whole provider streams ---------------------------------------------------


def wire_of(path: Path) -> str:
    parts = path.parts
    if "openai" in parts:
        return "openai-responses" if "responses" in parts or "responses" in path.stem else "openai-chat"
    for wire in ("openai-chat", "openai-responses", "anthropic", "gemini"):
        if wire in parts:
            return wire
    raise ValueError(path)


def stream_files() -> list[Path]:
    files = sorted(OWN_FIXTURES.rglob("*.sse"))
    if SHARED_FIXTURES.is_dir():
        files += sorted(SHARED_FIXTURES.rglob("*.sse"))
    return files


STREAMS = stream_files()


def decode_all(module: ModuleType, wire: str, chunks: list[bytes]):
    decoder = module.StreamDecoder(wire, include_raw_chunks=True)
    out = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out, decoder.response()


def test_every_stream_file_is_exercised() -> None:
    assert len(STREAMS) >= 10
    assert {wire_of(p) for p in STREAMS} == {"openai-chat", "openai-responses", "anthropic", "gemini"}


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: str(p.relative_to(p.parents[2])))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stream_rechunked_folds_to_the_one_shot_response(backend: ModuleType, path: Path, data) -> None:
    raw = path.read_bytes()
    wire = wire_of(path)
    chunks = data.draw(chunked(raw))
    assert decode_all(backend, wire, chunks) == decode_all(backend, wire, [raw])
    assert backend.collect(wire, chunks) == decode_all(backend, wire, [raw])[1]


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: str(p.relative_to(p.parents[2])))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stream_native_equals_pure(native: ModuleType, path: Path, data) -> None:
    raw = path.read_bytes()
    wire = wire_of(path)
    chunks = data.draw(chunked(raw))
    assert decode_all(native, wire, chunks) == decode_all(_pure, wire, chunks)
    assert native.collect(wire, chunks) == _pure.collect(wire, chunks)
