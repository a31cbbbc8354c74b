"""Native-only behaviour of ``allm._native``: module surface, boundary types, panics."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

import allm
from allm import _pure
from allm.errors import AdapterError, StreamError
from allm.events import ErrorEvent, MessageCompleted, RawChunk, TextDelta
from allm.sse import ServerSentEvent


def test_version_and_profile(native: ModuleType) -> None:
    assert allm.__version__ == native.VERSION
    assert native.BUILD_PROFILE in {"release", "debug"}


def test_surface(native: ModuleType) -> None:
    for name in ("SSEDecoder", "Fold", "StreamDecoder", "collect", "filter_events"):
        assert hasattr(native, name), name


def test_a_panic_becomes_a_stream_error(native: ModuleType) -> None:
    with pytest.raises(StreamError) as info:
        native._panic_for_tests()
    assert info.value.reason == "unknown"
    assert "deliberate panic" in info.value.message


@pytest.mark.parametrize("wire", ["openai", "", "OPENAI-CHAT", None, 3])
def test_unknown_wire_is_a_value_error(native: ModuleType, wire: object) -> None:
    with pytest.raises(ValueError, match="unknown wire"):
        native.StreamDecoder(wire)
    with pytest.raises(ValueError, match="unknown wire"):
        native.collect(wire, [])


def test_collect_rejects_unknown_limits(native: ModuleType) -> None:
    with pytest.raises(TypeError):
        native.collect("openai-chat", [], max_bytes=3)


def test_events_are_the_python_classes(native: ModuleType) -> None:
    dec = native.StreamDecoder("openai-chat")
    events = dec.feed(
        b'data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    )
    assert type(events[1]) is TextDelta and events[1] == TextDelta("hi")
    assert type(events[-1]) is MessageCompleted and events[-1].finish_reason == "stop"
    assert dec.done and dec.started


def test_boundary_accepts_bytes_like(native: ModuleType) -> None:
    dec = native.StreamDecoder("gemini")
    body = b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]},"finishReason":"STOP"}]}\n\n'
    n = dec.feed_quiet(bytearray(body[:10])) + dec.feed_quiet(memoryview(body[10:]))
    assert n == 4
    assert dec.response().output_text == "a"


def test_sse_decoder_values_and_limit(native: ModuleType) -> None:
    d = native.SSEDecoder(max_line_bytes=8)
    assert d.feed(b"id: 1\nretry: 5\ndata: x\n\n") == [ServerSentEvent("message", "x", "1", 5)]
    assert (d.last_event_id, d.retry) == ("1", 5)
    with pytest.raises(StreamError) as info:
        d.feed(b"data: 0123456789")
    assert info.value.reason == "limit_exceeded"
    assert info.value.message == "SSE line exceeds max_line_bytes (8)"


def test_fail_keeps_the_callers_error_object(native: ModuleType) -> None:
    dec = native.StreamDecoder("anthropic")
    dec.feed(b'data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":3}}}\n\n')
    err = AdapterError("network_error", "dropped", provider="anthropic")
    events = dec.fail(err)
    assert [type(e) for e in events] == [RawChunk, ErrorEvent]
    assert events[1].error is err
    assert dec.response().error is err
    assert dec.fail(err) == [] and dec.close() == []


def test_fold_reads_other_event_objects_by_attribute(backend: ModuleType) -> None:
    class Delta:
        type = "text_delta"

        def __init__(self, delta: str) -> None:
            self.delta = delta

    fold = backend.Fold()
    fold.apply_many(iter([Delta("a"), TextDelta("b")]))
    assert fold.response().output_text == "ab"


def _stub_surface() -> dict[str, set[str]]:
    """Top-level names of ``_native.pyi`` and, for each class, its public members."""
    tree = ast.parse((Path(allm.__file__).parent / "_native.pyi").read_text())
    surface: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            surface[""].add(node.name)
            members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            surface[node.name] = {m for m in members if not m.startswith("_")}
        elif isinstance(node, ast.FunctionDef):
            surface[""].add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            surface[""].add(node.target.id)
    return surface


def _public(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_the_stub_names_exactly_what_the_native_module_defines(native: ModuleType) -> None:
    stub = _stub_surface()
    assert stub[""] == {n for n in dir(native) if not n.startswith("__")} - {"allm"}
    for cls in ("SSEDecoder", "Fold", "StreamDecoder"):
        assert stub[cls] == _public(getattr(native, cls)), cls


@pytest.mark.parametrize("name", ["SSEDecoder", "StreamDecoder"])
def test_the_pure_twin_public_classes_expose_what_the_native_ones_do(native: ModuleType, name: str) -> None:
    # Type checkers see the twin's classes (allm.StreamDecoder, allm.sse.SSEDecoder):
    # a public member only one backend has would type-check and then fail on the other.
    assert _public(getattr(_pure, name)) == _public(getattr(native, name))
