"""Deterministic, realistic provider SSE streams for the benchmarks.

Everything here is generated from a fixed seed, so every run of every bench
sees byte-identical inputs. One *script* (the assistant's text pieces and its
parallel tool calls with their argument fragments) is rendered three ways:

* ``openai-chat``       Chat Completions chunks (``chat.completion.chunk`` objects,
                        ``stream_options.include_usage`` style: ``"usage": null`` on
                        every chunk, then the usage-only chunk with ``choices: []``,
                        then ``data: [DONE]``); tool calls keyed by ``index``, their
                        argument fragments interleaved across calls.
* ``openai-responses``  Responses API events (``response.created``, ``in_progress``,
                        a message item with ``output_text.delta`` events, function_call
                        items with interleaved ``function_call_arguments.delta``,
                        ``*.done`` events, ``response.completed`` with the full output
                        and usage), each with ``event:`` line and ``sequence_number``.
* ``anthropic``         Messages events (``message_start`` with usage, ``ping``,
                        ``content_block_start/delta/stop`` for a text block and for
                        ``tool_use`` blocks, ``message_delta`` with stop_reason and usage,
                        ``message_stop``). Anthropic streams content blocks one after the
                        other, so its tool calls are sequential, not interleaved.

``n_events`` counts SSE events (dispatched ``data:`` payloads, ``[DONE]`` included).
Text is multilingual (Latin with diacritics, Greek, Cyrillic, CJK, Arabic, emoji
including ZWJ sequences), JSON is compact with raw UTF-8 like the real APIs.

The body is then split into network chunks of 1-4 KiB; about a third of the cuts
are moved to fall inside a multi-byte UTF-8 sequence, and since cuts are random
most of them fall inside lines (inside ``data:`` payloads, between the two LFs
of an event's end).

``message_events`` gives the list of ``allm.events`` objects a decoder produces
for the same script (the fold benchmarks' input).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = [
    "SEED",
    "SIZES",
    "WIRES",
    "Script",
    "Stream",
    "chunk_body",
    "message_events",
    "script",
    "stream",
]

SEED = 20240611
SIZES = (200, 2_000, 20_000)
WIRES = ("openai-chat", "openai-responses", "anthropic")

# Fixed ids so the streams look like the real thing.
CHAT_ID = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
CHAT_MODEL = "gpt-4o-2024-08-06"
CHAT_FINGERPRINT = "fp_f9f4fb6dbf"
CREATED = 1_741_570_283
RESP_ID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
RESP_MSG_ID = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"
RESP_MODEL = "gpt-4.1-2025-04-14"
ANTH_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
ANTH_MODEL = "claude-sonnet-4-6"

_WORDS = (
    # plain ASCII, the bulk of real output
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "stream",
    "token",
    "result",
    "because",
    "function",
    "weather",
    "forecast",
    "data",
    "value",
    "request",
    "response",
    "example",
    "should",
    "would",
    "could",
    "between",
    "**Note:**",
    "`code`",
    "- item",
    "1.",
    "(see",
    "above)",
    "e.g.",
    "i.e.,",
    "\n\n",
    "\n",
    # Latin with diacritics
    "naïve",
    "café",
    "São",
    "Paulo",
    "Zürich",
    "façade",
    "déjà",
    "vu",
    "Ærøskøbing",
    "Łódź",
    # Greek, Cyrillic, Arabic, Hebrew
    "λόγος",
    "αβγ",
    "Привет",
    "мир",
    "данные",
    "مرحبا",
    "بالعالم",
    "שלום",
    # CJK
    "你好",
    "世界",
    "数据流",
    "天气预报",
    "東京",
    "こんにちは",
    "ストリーム",
    "한국어",
    "서울",
    # emoji: 4-byte, with variation selectors, ZWJ sequences, flags, skin tones
    "🚀",
    "😀",
    "🌧️",
    "☀️",
    "🔥",
    "👩‍💻",
    "👨‍👩‍👧‍👦",
    "🇯🇵",
    "🇧🇷",
    "👍🏽",
    "✅",
    "🎉",
)
# Weighted toward ASCII, as real model output is.
_ASCII_UPTO = 40

_TOOL_NAMES = (
    "get_weather",
    "search_documents",
    "lookup_customer",
    "convert_currency",
    "create_calendar_event",
    "translate_text",
)
_CITIES = ("São Paulo", "東京", "Zürich", "Reykjavík", "Москва", "القاهرة", "Kraków", "서울")


def _word(rng: random.Random) -> str:
    if rng.random() < 0.8:
        return _WORDS[rng.randrange(_ASCII_UPTO)]
    return _WORDS[rng.randrange(_ASCII_UPTO, len(_WORDS))]


def _text_piece(rng: random.Random) -> str:
    """One model token-ish delta: usually one word with its leading space."""
    n = 1 if rng.random() < 0.85 else rng.randint(2, 4)
    out = []
    for _ in range(n):
        w = _word(rng)
        out.append(w if w.startswith("\n") else " " + w)
    return "".join(out)


def _arguments(rng: random.Random, min_len: int) -> str:
    """A JSON object (compact, raw UTF-8) whose serialization is at least min_len characters."""
    words: list[str] = []
    obj: dict[str, Any] = {
        "location": rng.choice(_CITIES),
        "unit": rng.choice(("celsius", "fahrenheit")),
        "days": rng.randint(1, 14),
        "include": {"hourly": rng.random() < 0.5, "alerts": True, "tags": ["rain", "雪", "🌧️"]},
        "query": "",
    }
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    while len(text) < min_len:
        words.extend(_word(rng).strip() or "x" for _ in range(16))
        obj["query"] = " ".join(words)
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text


def _split_exact(rng: random.Random, text: str, parts: int) -> list[str]:
    """Split text into exactly ``parts`` non-empty pieces at random points."""
    if parts <= 1:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), parts - 1))
    bounds = [0, *cuts, len(text)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(parts)]


@dataclass(frozen=True)
class ToolCallScript:
    index: int
    call_id: str  # "call_..." (OpenAI) / "toolu_..." (Anthropic) share the suffix
    item_id: str  # Responses API item id ("fc_...")
    name: str
    fragments: tuple[str, ...]

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@dataclass(frozen=True)
class Script:
    """What the assistant says: text pieces, then parallel tool calls.

    ``order`` is the interleaving of argument fragments across calls
    (a list of call indexes, one per fragment, each call's fragments in order).
    """

    text_pieces: tuple[str, ...]
    calls: tuple[ToolCallScript, ...]
    order: tuple[int, ...]
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.text_pieces)


def _n_calls(n_events: int) -> int:
    return 2 if n_events < 1_000 else 4 if n_events < 10_000 else 6


# SSE events that are not text or argument deltas, per wire, as a function of the call count.
def _overhead(wire: str, calls: int) -> int:
    if wire == "openai-chat":
        # role chunk, one start fragment per call, finish chunk, usage chunk, [DONE]
        return 1 + calls + 1 + 1 + 1
    if wire == "openai-responses":
        # created, in_progress, item.added, part.added, text.done, part.done, item.done,
        # per call: item.added, arguments.done, item.done; completed
        return 7 + 3 * calls + 1
    if wire == "anthropic":
        # message_start, text block start, ping, text block stop, per call: start + stop,
        # message_delta, message_stop, plus one ping per ~500 events (see _anthropic)
        return 4 + 2 * calls + 2
    raise ValueError(wire)


def _anthropic_pings(n_events: int) -> int:
    return n_events // 500


@cache
def script(wire: str, n_events: int, seed: int = SEED, tools: bool = True) -> Script:
    """The script for one wire and size: deltas fill exactly n_events SSE events.

    ``tools=False`` gives a text-only answer (a plain token stream, no tool calls).
    """
    rng = random.Random(f"{seed}:{wire}:{n_events}")
    calls = _n_calls(n_events) if tools else 0
    deltas = n_events - _overhead(wire, calls)
    if wire == "anthropic":
        deltas -= _anthropic_pings(n_events)
    # ~70% text, ~30% tool-argument deltas (at least 3 fragments per call)
    arg_deltas = max(3 * calls, int(deltas * 0.3)) if calls else 0
    text_deltas = deltas - arg_deltas
    text_pieces = tuple(_text_piece(rng) for _ in range(text_deltas))
    # split argument deltas across calls, unevenly
    weights = [rng.uniform(0.5, 1.5) for _ in range(calls)]
    total_w = sum(weights)
    per_call = [max(3, int(arg_deltas * w / total_w)) for w in weights]
    if per_call:
        per_call[-1] += arg_deltas - sum(per_call)
    # interleave: a random merge of the per-call fragment sequences
    order: list[int] = []
    remaining = list(per_call)
    while any(remaining):
        live = [i for i, r in enumerate(remaining) if r]
        i = rng.choice(live)
        run = min(remaining[i], rng.randint(1, 3))
        order.extend([i] * run)
        remaining[i] -= run
    # number the calls in the order they start (OpenAI's index / output_index do)
    first_seen = list(dict.fromkeys(order))
    rank = {old: new for new, old in enumerate(first_seen)}
    order = [rank[i] for i in order]
    per_call = [per_call[old] for old in first_seen]
    tool_calls = []
    for i, parts in enumerate(per_call):
        suffix = "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24)
        )
        args = _arguments(rng, min_len=parts * 7)
        tool_calls.append(
            ToolCallScript(
                index=i,
                call_id=("toolu_01" if wire == "anthropic" else "call_") + suffix,
                item_id="fc_67ccd2c" + suffix.lower(),
                name=_TOOL_NAMES[i % len(_TOOL_NAMES)],
                fragments=tuple(_split_exact(rng, args, parts)),
            )
        )
    return Script(
        text_pieces=text_pieces,
        calls=tuple(tool_calls),
        order=tuple(order),
        input_tokens=1_000 + rng.randrange(5_000),
        cached_tokens=512,
        output_tokens=text_deltas + arg_deltas,
        reasoning_tokens=0,
    )


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------
# OpenAI Chat Completions


def _openai_chat(s: Script) -> str:
    out: list[str] = []

    def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
        obj = {
            "id": CHAT_ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": CHAT_MODEL,
            "service_tier": "default",
            "system_fingerprint": CHAT_FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }
        out.append("data: " + _dumps(obj) + "\n\n")

    chunk({"role": "assistant", "content": "", "refusal": None})
    for piece in s.text_pieces:
        chunk({"content": piece})
    started: set[int] = set()
    pos = [0] * len(s.calls)
    for i in s.order:
        call = s.calls[i]
        if i not in started:
            started.add(i)
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call.call_id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": ""},
                        }
                    ]
                }
            )
        frag = call.fragments[pos[i]]
        pos[i] += 1
        chunk({"tool_calls": [{"index": i, "function": {"arguments": frag}}]})
    chunk({}, "tool_calls" if s.calls else "stop")
    usage_obj = {
        "id": CHAT_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": CHAT_MODEL,
        "service_tier": "default",
        "system_fingerprint": CHAT_FINGERPRINT,
        "choices": [],
        "usage": {
            "prompt_tokens": s.input_tokens,
            "completion_tokens": s.output_tokens,
            "total_tokens": s.input_tokens + s.output_tokens,
            "prompt_tokens_details": {"cached_tokens": s.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": s.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
    }
    out.append("data: " + _dumps(usage_obj) + "\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out)


# --------------------------------------------------------------------------------------
# OpenAI Responses


def _responses_usage(s: Script) -> dict[str, Any]:
    return {
        "input_tokens": s.input_tokens,
        "input_tokens_details": {"cached_tokens": s.cached_tokens},
        "output_tokens": s.output_tokens,
        "output_tokens_details": {"reasoning_tokens": s.reasoning_tokens},
        "total_tokens": s.input_tokens + s.output_tokens,
    }


def _response_obj(status: str, output: list[Any], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": RESP_ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": RESP_MODEL,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _openai_responses(s: Script) -> str:
    out: list[str] = []
    seq = 0

    def event(kind: str, body: dict[str, Any]) -> None:
        nonlocal seq
        obj = {"type": kind, "sequence_number": seq, **body}
        seq += 1
        out.append(f"event: {kind}\ndata: {_dumps(obj)}\n\n")

    event("response.created", {"response": _response_obj("in_progress", [], None)})
    event("response.in_progress", {"response": _response_obj("in_progress", [], None)})
    msg_item = {
        "id": RESP_MSG_ID,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    event("response.output_item.added", {"output_index": 0, "item": msg_item})
    event(
        "response.content_part.added",
        {
            "item_id": RESP_MSG_ID,
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        },
    )
    for n, piece in enumerate(s.text_pieces):
        event(
            "response.output_text.delta",
            {
                "item_id": RESP_MSG_ID,
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
                "logprobs": [],
                "obfuscation": "abcdefghijklmnop"[: 16 - n % 9],
            },
        )
    text = s.text
    part_done = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    event(
        "response.output_text.done",
        {"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0, "text": text, "logprobs": []},
    )
    event(
        "response.content_part.done",
        {"item_id": RESP_MSG_ID, "output_index": 0, "content_index": 0, "part": part_done},
    )
    msg_done = {**msg_item, "status": "completed", "content": [part_done]}
    event("response.output_item.done", {"output_index": 0, "item": msg_done})

    def fc_item(call: ToolCallScript, status: str, arguments: str) -> dict[str, Any]:
        return {
            "id": call.item_id,
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": call.call_id,
            "name": call.name,
        }

    started: set[int] = set()
    pos = [0] * len(s.calls)
    for i in s.order:
        call = s.calls[i]
        if i not in started:
            started.add(i)
            event(
                "response.output_item.added",
                {"output_index": 1 + i, "item": fc_item(call, "in_progress", "")},
            )
        frag = call.fragments[pos[i]]
        pos[i] += 1
        event(
            "response.function_call_arguments.delta",
            {"item_id": call.item_id, "output_index": 1 + i, "delta": frag, "obfuscation": "xyz"},
        )
        if pos[i] == len(call.fragments):
            event(
                "response.function_call_arguments.done",
                {"item_id": call.item_id, "output_index": 1 + i, "arguments": call.arguments},
            )
            event(
                "response.output_item.done",
                {"output_index": 1 + i, "item": fc_item(call, "completed", call.arguments)},
            )
    output = [msg_done] + [fc_item(c, "completed", c.arguments) for c in s.calls]
    event("response.completed", {"response": _response_obj("completed", output, _responses_usage(s))})
    return "".join(out)


# --------------------------------------------------------------------------------------
# Anthropic Messages


def _anthropic(s: Script, n_events: int) -> str:
    out: list[str] = []
    pings_left = _anthropic_pings(n_events)
    deltas = 0
    ping = 'event: ping\ndata: {"type": "ping"}\n\n'

    def event(kind: str, body: dict[str, Any]) -> None:
        nonlocal deltas, pings_left
        out.append(f"event: {kind}\ndata: {_dumps({'type': kind, **body})}\n\n")
        if kind == "content_block_delta":
            deltas += 1
            if deltas % 500 == 0 and pings_left:  # keep-alive pings now and then
                pings_left -= 1
                out.append(ping)

    event(
        "message_start",
        {
            "message": {
                "id": ANTH_ID,
                "type": "message",
                "role": "assistant",
                "model": ANTH_MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": s.input_tokens - s.cached_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": s.cached_tokens,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": 1,
                    "service_tier": "standard",
                },
            }
        },
    )
    event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    out.append(ping)
    for piece in s.text_pieces:
        event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
    event("content_block_stop", {"index": 0})
    for call in s.calls:  # sequential blocks: Anthropic never interleaves content blocks
        idx = 1 + call.index
        event(
            "content_block_start",
            {
                "index": idx,
                "content_block": {"type": "tool_use", "id": call.call_id, "name": call.name, "input": {}},
            },
        )
        for frag in call.fragments:
            event(
                "content_block_delta",
                {"index": idx, "delta": {"type": "input_json_delta", "partial_json": frag}},
            )
        event("content_block_stop", {"index": idx})
    out.extend([ping] * pings_left)  # any pings not yet sent (keeps the event count exact)
    event(
        "message_delta",
        {
            "delta": {"stop_reason": "tool_use" if s.calls else "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": s.output_tokens},
        },
    )
    event("message_stop", {})
    return "".join(out)


# --------------------------------------------------------------------------------------
# Bodies, chunks, events


def chunk_body(body: bytes, seed: str, lo: int = 1024, hi: int = 4096) -> tuple[bytes, ...]:
    """Split a body into network chunks of lo..hi bytes; ~1/3 of cuts land inside a UTF-8 sequence."""
    rng = random.Random(seed)
    chunks: list[bytes] = []
    pos = 0
    n = len(body)
    while pos < n:
        cut = min(n, pos + rng.randint(lo, hi))
        if cut < n and rng.random() < 0.33:
            # move the cut just past the lead byte of the next multi-byte character
            j = cut
            limit = min(n - 1, cut + 512)
            while j < limit and body[j] < 0xC0:
                j += 1
            if j < limit:
                cut = j + 1
        chunks.append(body[pos:cut])
        pos = cut
    return tuple(chunks)


@dataclass(frozen=True)
class Stream:
    wire: str
    n_events: int
    body: bytes
    chunks: tuple[bytes, ...]
    script: Script

    @property
    def text(self) -> str:
        return self.script.text


@cache
def stream(wire: str, n_events: int, seed: int = SEED, tools: bool = True) -> Stream:
    """The body of one provider stream with its network chunking (``tools``: see :func:`script`)."""
    s = script(wire, n_events, seed, tools)
    if wire == "openai-chat":
        text = _openai_chat(s)
    elif wire == "openai-responses":
        text = _openai_responses(s)
    elif wire == "anthropic":
        text = _anthropic(s, n_events)
    else:
        raise ValueError(wire)
    body = text.encode("utf-8")
    return Stream(wire, n_events, body, chunk_body(body, f"{seed}:{wire}:{n_events}:chunks"), s)


def count_sse_events(body: bytes) -> int:
    """Number of dispatched events (blank-line terminated blocks with data)."""
    return sum(1 for block in body.split(b"\n\n") if b"data:" in block)


def usage_for(wire: str, s: Script) -> Any:
    from allm._usage import Usage

    if wire == "anthropic":
        uncached = s.input_tokens - s.cached_tokens
        return Usage(
            input_tokens=s.input_tokens,
            output_tokens=s.output_tokens,
            total_tokens=s.input_tokens + s.output_tokens,
            cached_input_tokens=s.cached_tokens,
            cache_write_input_tokens=0,
            reasoning_tokens=0,
            extra={"uncached_input_tokens": uncached},
        )
    return Usage(
        input_tokens=s.input_tokens,
        output_tokens=s.output_tokens,
        total_tokens=s.input_tokens + s.output_tokens,
        cached_input_tokens=s.cached_tokens,
        reasoning_tokens=s.reasoning_tokens,
    )


@cache
def message_events(wire: str, n_events: int, seed: int = SEED) -> tuple[Any, ...]:
    """The allm events a decoder produces for this stream (docs/internals.md §4 order)."""
    from allm import events as ev

    s = script(wire, n_events, seed)
    out: list[Any] = []
    if wire == "openai-chat":
        out.append(ev.MessageStarted(CHAT_ID, CHAT_MODEL))
    elif wire == "openai-responses":
        out.append(ev.MessageStarted(RESP_ID, RESP_MODEL))
    else:
        out.append(ev.MessageStarted(ANTH_ID, ANTH_MODEL))
    out.extend(ev.TextDelta(p) for p in s.text_pieces)

    def completed(call: ToolCallScript) -> Any:
        return ev.ToolCallCompleted(call.call_id, call.name, json.loads(call.arguments), call.arguments, {})

    if wire == "anthropic":
        for call in s.calls:
            out.append(ev.ToolCallStarted(call.call_id, call.name))
            out.extend(ev.ToolCallDelta(call.call_id, f) for f in call.fragments)
            out.append(completed(call))
    else:
        started: set[int] = set()
        pos = [0] * len(s.calls)
        for i in s.order:
            call = s.calls[i]
            if i not in started:
                started.add(i)
                out.append(ev.ToolCallStarted(call.call_id, call.name))
            out.append(ev.ToolCallDelta(call.call_id, call.fragments[pos[i]]))
            pos[i] += 1
        out.extend(completed(c) for c in s.calls)
    out.append(ev.TextCompleted(s.text))
    out.append(ev.RawChunk("usage", usage_for(wire, s)))
    raw = "tool_use" if wire == "anthropic" else "completed" if wire == "openai-responses" else "tool_calls"
    out.append(ev.MessageCompleted("tool_calls", raw, {}))
    return tuple(out)


def dump(directory: str, n_events: int = 20_000) -> None:
    """Write ``<wire>.sse`` (the body) and ``<wire>.cuts`` (chunk lengths) for the Rust floor bench
    (``ALLM_FLOOR_STREAMS=<directory> cargo bench -p allm-core --bench floor``)."""
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for wire in WIRES:
        st = stream(wire, n_events)
        (out / f"{wire}.sse").write_bytes(st.body)
        (out / f"{wire}.cuts").write_text(" ".join(str(len(c)) for c in st.chunks) + "\n")


def _main(argv: list[str]) -> None:
    if len(argv) >= 3 and argv[1] == "--dump":
        dump(argv[2], int(argv[3]) if len(argv) > 3 else 20_000)
        return
    for w in WIRES:  # quick look: sizes and event counts
        for n in SIZES:
            st = stream(w, n)
            print(
                f"{w:17} {n:>6} events={count_sse_events(st.body):>6} bytes={len(st.body):>9} "
                f"chunks={len(st.chunks):>5} text_chars={len(st.text):>7} "
                f"calls={len(st.script.calls)} arg_chars={sum(len(c.arguments) for c in st.script.calls)}"
            )


if __name__ == "__main__":
    import sys

    _main(sys.argv)
