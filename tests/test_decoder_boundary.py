"""The public boundary of the sans-IO decoders, on both backends: accepted chunk
types, limits, overlapping calls, threads and large inputs (issue 9 items 4, 5, 7,
10, 12, 14, 15, 17)."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

from allm.errors import StreamError, ValidationError
from allm.sse import ServerSentEvent


def chat(text: str) -> bytes:
    return b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % text.encode()


FINISH = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
BAD_CHUNKS = [None, 5, "data: x\n\n", 1.5, [b"x"], object()]


# -- item 12: one accepted chunk type set, one error for the rest ------------------------


@pytest.mark.parametrize("make", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"])
def test_feed_accepts_bytes_bytearray_and_memoryview(
    backend: ModuleType, make: Callable[[bytes], Any]
) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    events = decoder.feed(make(chat("hi") + FINISH)) + decoder.close()
    assert [e.type for e in events][-1] == "message_completed"
    assert decoder.response().output_text == "hi"


@pytest.mark.parametrize("chunk", BAD_CHUNKS, ids=repr)
def test_feed_of_anything_else_is_an_invalid_input_error(backend: ModuleType, chunk: object) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    with pytest.raises(ValidationError) as info:
        decoder.feed(chunk)
    assert info.value.reason == "invalid_input"
    assert info.value.errors == [
        ("chunk", f"must be bytes, bytearray or memoryview, not {type(chunk).__name__}")
    ]


@pytest.mark.parametrize("chunk", BAD_CHUNKS, ids=repr)
def test_feed_quiet_collect_and_sse_reject_the_same_chunks(backend: ModuleType, chunk: object) -> None:
    for call in (
        lambda: backend.StreamDecoder("gemini").feed_quiet(chunk),
        lambda: backend.collect("gemini", [chunk]),
        lambda: backend.SSEDecoder().feed(chunk),
    ):
        with pytest.raises(ValidationError) as info:
            call()
        assert info.value.reason == "invalid_input"


def test_a_rejected_chunk_leaves_the_decoder_usable(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    with pytest.raises(ValidationError):
        decoder.feed(None)
    decoder.feed(chat("ok") + FINISH)
    assert decoder.response().output_text == "ok"


# -- item 4: a retry field too long for int() is ignored, like any invalid one -----------------


def test_a_retry_of_5000_digits_is_ignored(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    assert decoder.feed(b"retry: " + b"9" * 5000 + b"\ndata: x\n\n") == [ServerSentEvent(data="x")]
    assert decoder.retry is None


def test_a_retry_with_5000_leading_zeros_is_its_value(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    assert decoder.feed(b"retry: " + b"0" * 5000 + b"42\ndata: x\n\n") == [
        ServerSentEvent(data="x", retry=42)
    ]


def test_a_long_retry_inside_a_stream_keeps_the_partial_response(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    decoder.feed(chat("kept") + b"retry: " + b"7" * 5000 + b"\n\n" + chat(" more") + FINISH)
    assert decoder.response().output_text == "kept more"


# -- item 17: max_response_bytes ---------------------------------------------------------------


def test_a_body_over_max_response_bytes_ends_in_limit_exceeded_with_partial_text(backend: ModuleType) -> None:
    body = chat("kept") + chat("lost") + FINISH
    response = backend.collect("openai-chat", [body], max_response_bytes=len(chat("kept")) + 5)
    assert (response.output_text, response.finish_reason) == ("kept", "error")
    assert response.error == StreamError(
        "limit_exceeded", f"response exceeds max_response_bytes ({len(chat('kept')) + 5})"
    )


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_the_response_limit_decodes_the_same_bytes_whatever_the_chunking(
    backend: ModuleType, size: int
) -> None:
    body = b"".join(chat(str(i)) for i in range(40)) + FINISH
    limit = len(body) // 2
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    whole = backend.collect("openai-chat", [body], max_response_bytes=limit)
    assert backend.collect("openai-chat", chunks, max_response_bytes=limit) == whole
    assert whole.error.reason == "limit_exceeded" and whole.output_text


def test_a_body_exactly_at_max_response_bytes_passes(backend: ModuleType) -> None:
    body = chat("all") + FINISH
    response = backend.collect("openai-chat", [body], max_response_bytes=len(body))
    assert (response.output_text, response.finish_reason) == ("all", "stop")


def test_the_response_limit_is_an_error_event_from_feed(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat", max_response_bytes=10)
    events = decoder.feed(chat("x"))
    assert events[-1].type == "error" and events[-1].error.reason == "limit_exceeded"
    assert decoder.done and decoder.feed(chat("y")) == []


def test_none_disables_the_response_limit(backend: ModuleType) -> None:
    body = chat("a" * 1000) + FINISH
    assert backend.collect("openai-chat", [body], max_response_bytes=None).output_text == "a" * 1000


# -- items 7 and 10: one call at a time per decoder ----------------------------------------------


@contextmanager
def collecting_on_every_gc(reenter: Callable[[], None]) -> Iterator[list[str]]:
    """Calls ``reenter`` from every garbage collection (threshold 1), recording the outcome."""
    outcomes: list[str] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase != "start":
            return
        try:
            reenter()
        except StreamError as error:
            outcomes.append(error.reason)
        else:
            outcomes.append("ok")

    thresholds = gc.get_threshold()
    gc.callbacks.append(callback)
    gc.set_threshold(1, 1, 1)
    try:
        yield outcomes
    finally:
        gc.set_threshold(*thresholds)
        gc.callbacks.remove(callback)


ANTHROPIC = (
    b'data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3}}}\n\n'
    + b"".join(
        b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%d"}}\n\n' % i
        for i in range(200)
    )
    + b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}\n\n'
    + b'data: {"type":"message_stop"}\n\n'
)


def test_a_call_re_entering_a_busy_stream_decoder_is_a_concurrent_use_error(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("anthropic")
    with collecting_on_every_gc(lambda: decoder.feed(b"")) as outcomes:
        events = decoder.feed(ANTHROPIC)
    assert "concurrent_use" in outcomes
    assert set(outcomes) <= {"concurrent_use", "ok"}
    assert events[-1].type == "message_completed"  # the interrupted call finished intact
    assert decoder.response().output_text == "".join(str(i) for i in range(200))


def test_a_call_re_entering_a_busy_sse_decoder_is_a_concurrent_use_error(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    with collecting_on_every_gc(lambda: decoder.feed(b"")) as outcomes:
        events = decoder.feed(b"data: x\n\n" * 300)
    assert "concurrent_use" in outcomes
    assert len(events) == 300


def test_the_concurrent_use_error_names_the_contract(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("anthropic")
    errors: list[StreamError] = []

    def reenter() -> None:
        try:
            decoder.feed(b"")
        except StreamError as error:
            errors.append(error)

    with collecting_on_every_gc(reenter):
        decoder.feed(ANTHROPIC)
    assert errors[0].message.startswith("this StreamDecoder is already in use by another call")


def test_a_decoder_shared_by_8_threads_loses_no_event_silently(backend: ModuleType) -> None:
    decoder = backend.StreamDecoder("openai-chat")
    piece = chat("ab")
    delivered: list[int] = []
    refused: list[str] = []

    def work() -> None:
        for _ in range(300):
            try:
                delivered.append(len(decoder.feed(piece)))
            except StreamError as error:
                refused.append(error.reason)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert len(delivered) + len(refused) == 8 * 300
    assert set(refused) <= {"concurrent_use"}
    # Every accepted chunk was decoded whole: one text delta each, all in the fold.
    text_deltas = sum(delivered) - 1  # the first accepted chunk also starts the message
    assert text_deltas == len(delivered)
    assert decoder.response().output_text == "ab" * len(delivered)


# -- items 14 and 15: large inputs give the same result as small ones ----------------------------


def test_a_long_line_in_many_chunks_is_one_event(backend: ModuleType) -> None:
    line = b"data: " + b"x" * 300_000 + b"\n\n"
    decoder = backend.SSEDecoder()
    events = [e for i in range(0, len(line), 1024) for e in decoder.feed(line[i : i + 1024])]
    assert events == [ServerSentEvent(data="x" * 300_000)]


def test_a_line_growing_over_the_limit_across_chunks_is_refused(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder(max_line_bytes=5000)
    for _ in range(4):
        decoder.feed(b"x" * 1000)
    with pytest.raises(StreamError) as info:
        decoder.feed(b"x" * 1001)
    assert info.value.message == "SSE line exceeds max_line_bytes (5000)"


def test_a_cr_ending_a_held_partial_line_then_lf_is_one_line_end(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    assert decoder.feed(b"data: a") == []
    assert decoder.feed(b"bc\r") == []
    assert decoder.feed(b"\n\n") == [ServerSentEvent(data="abc")]


def test_large_chunks_fold_like_small_ones(backend: ModuleType) -> None:
    body = b"".join(chat(f"w{i} ") for i in range(20_000)) + FINISH  # about 1.3 MB
    small = [body[i : i + 500] for i in range(0, len(body), 500)]
    large = backend.collect("openai-chat", [body[: len(body) // 2], body[len(body) // 2 :]])
    assert large == backend.collect("openai-chat", small)
    decoder = backend.StreamDecoder("openai-chat")
    decoder.feed_quiet(body)
    assert decoder.response() == large


def test_collect_in_4_threads_gives_each_the_same_response(backend: ModuleType) -> None:
    body = b"".join(chat(f"t{i} ") for i in range(10_000)) + FINISH
    chunks = [body[i : i + 256 * 1024] for i in range(0, len(body), 256 * 1024)]
    expected = backend.collect("openai-chat", chunks)
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.collect("openai-chat", chunks)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4
