"""SSEDecoder: WHATWG "server-sent events" parsing, on both backends.

Every conformance case runs four ways: the chunks as given, one shot, one
byte at a time, and every split into two chunks. The answer may never depend
on how the bytes were cut.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from allm.errors import StreamError
from allm.sse import ServerSentEvent


def ev(data: str, event: str = "message", id: str = "", retry: int | None = None) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


# name -> (chunks as given, expected events)
CASES: dict[str, tuple[list[bytes], list[ServerSentEvent]]] = {
    "lf_line_ends": ([b"data: hello\n\n"], [ev("hello")]),
    "crlf_line_ends": ([b"data: hello\r\n\r\n"], [ev("hello")]),
    "lone_cr_line_ends": ([b"data: a\r\rdata: b\r\r"], [ev("a"), ev("b")]),
    "mixed_line_ends_in_one_event": ([b"data: a\r\ndata: b\rdata: c\n\n"], [ev("a\nb\nc")]),
    "cr_then_lf_in_next_chunk_is_one_line_end": ([b"data: a\r", b"\ndata: b\r\n\r\n"], [ev("a\nb")]),
    "cr_then_cr_across_chunks_is_two_line_ends": ([b"data: a\r", b"\rdata: b\n\n"], [ev("a"), ev("b")]),
    "data_lines_join_with_lf": ([b"data: a\ndata: b\ndata: c\n\n"], [ev("a\nb\nc")]),
    "empty_data_line_adds_a_line": ([b"data: a\ndata:\n\n"], [ev("a\n")]),
    "leading_bom_dropped": ([b"\xef\xbb\xbfdata: x\n\n"], [ev("x")]),
    "bom_split_across_chunks_dropped": ([b"\xef", b"\xbb", b"\xbfdata: x\n\n"], [ev("x")]),
    "only_one_bom_dropped": ([b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"], [ev("y")]),
    "bom_prefix_without_bom_is_content": ([b"\xefdata: x\n\ndata: y\n\n"], [ev("y")]),
    "comment_lines_ignored": ([b": hello\n:\ndata: x\n: between\n\n"], [ev("x")]),
    "comment_only_block_dispatches_nothing": ([b": keep-alive\n\n"], []),
    "one_space_after_colon_dropped": ([b"data:  two spaces\n\n"], [ev(" two spaces")]),
    "no_space_after_colon": ([b"data:tight\n\n"], [ev("tight")]),
    "colon_inside_value_kept": ([b"data: a: b:c\n\n"], [ev("a: b:c")]),
    "field_without_colon_has_empty_value": ([b"data\n\n"], [ev("")]),
    "two_fields_without_colon": ([b"data\ndata\n\n"], [ev("\n")]),
    "space_before_colon_is_another_field": ([b"data : x\n\n"], []),
    "leading_space_is_another_field": ([b" data: x\n\n"], []),
    "unknown_field_ignored": ([b"foo: bar\ndata: x\n\n"], [ev("x")]),
    "empty_data_buffer_dispatches_nothing": ([b"event: ping\n\n"], []),
    "event_type_resets_even_without_dispatch": ([b"event: ping\n\ndata: x\n\n"], [ev("x")]),
    "event_type_names_the_event": ([b"event: add\ndata: 1\n\n"], [ev("1", event="add")]),
    "event_type_applies_to_one_event": (
        [b"event: add\ndata: 1\n\ndata: 2\n\n"],
        [ev("1", event="add"), ev("2")],
    ),
    "empty_event_type_is_message": ([b"event:\ndata: 1\n\n"], [ev("1")]),
    "last_event_type_field_wins": ([b"event: a\nevent: b\ndata: 1\n\n"], [ev("1", event="b")]),
    "id_persists_across_events": ([b"id: 7\ndata: a\n\ndata: b\n\n"], [ev("a", id="7"), ev("b", id="7")]),
    "id_containing_nul_ignored": (
        [b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"],
        [ev("a", id="1"), ev("b", id="1")],
    ),
    "empty_id_resets": ([b"id: 1\ndata: a\n\nid\ndata: b\n\n"], [ev("a", id="1"), ev("b", id="")]),
    "id_set_in_dataless_block_persists": ([b"id: 9\n\ndata: a\n\n"], [ev("a", id="9")]),
    "retry_digits_accepted": ([b"retry: 1500\ndata: a\n\n"], [ev("a", retry=1500)]),
    "retry_with_non_digit_ignored": ([b"retry: 15x\ndata: a\n\n"], [ev("a")]),
    "retry_negative_ignored": ([b"retry: -1\ndata: a\n\n"], [ev("a")]),
    "retry_empty_ignored": ([b"retry:\ndata: a\n\n"], [ev("a")]),
    "retry_with_space_inside_ignored": ([b"retry: 1 0\ndata: a\n\n"], [ev("a")]),
    "retry_belongs_to_its_event_only": ([b"retry: 5\ndata: a\n\ndata: b\n\n"], [ev("a", retry=5), ev("b")]),
    "unterminated_event_at_eof_discarded": ([b"data: a\n\ndata: b\n"], [ev("a")]),
    "unterminated_line_at_eof_discarded": ([b"data: a\n\ndata: b"], [ev("a")]),
    "only_blank_lines": ([b"\n\r\n\r\n"], []),
    "invalid_utf8_becomes_replacement": ([b"data: a\xffb\n\n"], [ev("a\ufffdb")]),
    "truncated_utf8_before_line_end_is_one_replacement": (
        [b"data: \xe2\x82\ndata: ok\n\n"],
        [ev("\ufffd\nok")],
    ),
    "multibyte_split_across_chunks": ([b"data: \xe2", b"\x82\xac \xf0\x9f", b"\x91\x8b\n\n"], [ev("€ 👋")]),
    "nul_in_data_kept": ([b"data: a\x00b\n\n"], [ev("a\x00b")]),
    "invalid_utf8_in_event_type": ([b"event: \xff\ndata: x\n\n"], [ev("x", event="\ufffd")]),
}


def as_given(chunks: list[bytes]) -> list[list[bytes]]:
    return [chunks]


def one_shot(chunks: list[bytes]) -> list[list[bytes]]:
    return [[b"".join(chunks)]]


def byte_at_a_time(chunks: list[bytes]) -> list[list[bytes]]:
    data = b"".join(chunks)
    return [[data[i : i + 1] for i in range(len(data))]]


def every_two_split(chunks: list[bytes]) -> list[list[bytes]]:
    data = b"".join(chunks)
    return [[data[:i], data[i:]] for i in range(len(data) + 1)]


CHUNKINGS = [as_given, one_shot, byte_at_a_time, every_two_split]


def decode(backend: ModuleType, chunks: list[bytes], **limits: int | None) -> list[ServerSentEvent]:
    decoder = backend.SSEDecoder(**limits)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", sorted(CASES))
def test_whatwg_conformance(backend: ModuleType, case: str, chunking) -> None:
    chunks, expected = CASES[case]
    for split in chunking(chunks):
        assert decode(backend, split) == expected, split


def test_events_are_server_sent_event_values(backend: ModuleType) -> None:
    [event] = backend.SSEDecoder().feed(b"data: x\n\n")
    assert type(event) is ServerSentEvent


def test_close_returns_nothing_and_discards_the_pending_event(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    assert decoder.feed(b"data: pending\n") == []
    assert decoder.close() == []


def test_last_event_id_is_updated_when_a_blank_line_ends_the_block(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    decoder.feed(b"id: 41\ndata: x\n")
    assert decoder.last_event_id == ""
    decoder.feed(b"\n")
    assert decoder.last_event_id == "41"


def test_last_event_id_ignores_an_unterminated_final_block(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    decoder.close()
    assert decoder.last_event_id == "1"


def test_retry_attribute_is_set_as_soon_as_the_field_is_read(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder()
    assert decoder.retry is None
    decoder.feed(b"retry: 300\n")
    assert decoder.retry == 300
    decoder.feed(b"retry: nope\n\n")
    assert decoder.retry == 300


# -- limits -------------------------------------------------------------------


def raises_limit(backend: ModuleType, chunks: list[bytes], **limits: int | None) -> StreamError:
    with pytest.raises(StreamError) as info:
        decode(backend, chunks, **limits)
    assert info.value.reason == "limit_exceeded"
    return info.value


def test_line_longer_than_max_line_bytes_raises(backend: ModuleType) -> None:
    error = raises_limit(backend, [b"data: 0123456789\n\n"], max_line_bytes=15)
    assert error.message == "SSE line exceeds max_line_bytes (15)"


def test_line_of_exactly_max_line_bytes_passes(backend: ModuleType) -> None:
    assert decode(backend, [b"data: 0123456789\n\n"], max_line_bytes=16) == [ev("0123456789")]


def test_partial_line_over_the_limit_raises_before_its_end_arrives(backend: ModuleType) -> None:
    decoder = backend.SSEDecoder(max_line_bytes=8)
    decoder.feed(b"data: 12")
    with pytest.raises(StreamError, match="max_line_bytes"):
        decoder.feed(b"3")


def test_line_limit_counts_bytes_not_characters(backend: ModuleType) -> None:
    raises_limit(backend, [b"data: \xc3\xa9\xc3\xa9\n\n"], max_line_bytes=9)


def test_line_limit_excludes_the_terminator_and_the_bom(backend: ModuleType) -> None:
    assert decode(backend, [b"\xef\xbb\xbfdata: ab\r\n\r\n"], max_line_bytes=8) == [ev("ab")]


def test_event_data_over_max_event_bytes_raises(backend: ModuleType) -> None:
    error = raises_limit(backend, [b"data: abc\ndata: de\n\n"], max_event_bytes=5)
    assert error.message == "SSE event exceeds max_event_bytes (5)"


def test_event_limit_counts_joining_newlines(backend: ModuleType) -> None:
    assert decode(backend, [b"data: abc\ndata: de\n\n"], max_event_bytes=6) == [ev("abc\nde")]


def test_event_limit_applies_per_event(backend: ModuleType) -> None:
    chunks = [b"data: abcd\n\ndata: efgh\n\n"]
    assert decode(backend, chunks, max_event_bytes=4) == [ev("abcd"), ev("efgh")]


@pytest.mark.parametrize("chunking", CHUNKINGS, ids=lambda f: f.__name__)
def test_limit_error_whatever_the_chunking(backend: ModuleType, chunking) -> None:
    for split in chunking([b"data: ok\n\ndata: far too long\n\n"]):
        raises_limit(backend, split, max_line_bytes=10)


def test_none_disables_the_limits(backend: ModuleType) -> None:
    data = b"data: " + b"x" * 100_000 + b"\n\n"
    [event] = decode(backend, [data], max_line_bytes=None, max_event_bytes=None)
    assert len(event.data) == 100_000
