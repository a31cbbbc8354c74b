"""Provider streams and error bodies replayed through httpx.MockTransport, on both backends.

Streams come from ../shared/fixtures (recorded and hand-made) and from
tests/fixtures/http; each is served in random small chunks so that the
decoder sees realistic network boundaries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import allm
from allm.errors import AdapterError, StreamError
from allm.providers import Anthropic, Gemini, OpenAI
from support.fault_server import rechunk

pytestmark = pytest.mark.http

OWN = Path(__file__).resolve().parent / "fixtures" / "http"
KEY = "sk-replay-0123456789abcdef"


class ChunkedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = 0

    def __iter__(self):  # type: ignore[override]
        yield from self.chunks

    async def __aiter__(self):  # type: ignore[override]
        for c in self.chunks:
            yield c

    def close(self) -> None:
        self.closed += 1

    async def aclose(self) -> None:
        self.closed += 1


class Replay:
    """A MockTransport handler serving one scripted response per request, recording requests."""

    def __init__(self, *replies: tuple[int, bytes, dict[str, str]], seed: int = 1) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.streams: list[ChunkedStream] = []
        self.seed = seed

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        status, body, headers = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        stream = ChunkedStream(rechunk(body, self.seed + len(self.requests), 1, 40))
        self.streams.append(stream)
        ctype = (
            "text/event-stream" if status < 300 and not body.lstrip().startswith(b"{") else "application/json"
        )
        return httpx.Response(status, headers={"content-type": ctype, **headers}, stream=stream)


def engine_for(adapter: type, replay: Replay, *, asynchronous: bool = False, **opts: Any) -> allm.Engine:
    transport = httpx.MockTransport(replay)
    client = httpx.AsyncClient(transport=transport) if asynchronous else httpx.Client(transport=transport)
    model = {OpenAI: "gpt-4o-mini", Anthropic: "claude-x", Gemini: "gemini-2.5-flash"}[adapter]
    retry = opts.pop("retry", {"base_delay": 0.001, "max_delay": 0.002})
    return allm.Engine(
        adapter=adapter,
        model=model,
        retry=retry,
        adapter_opts={"api_key": KEY, "http_client": client, **opts},
    )


REQ = allm.request([allm.user("hi")])

STREAMS = [
    # (adapter, opts, fixture path, expected text, finish, tool call names)
    (OpenAI, {}, "openai/synthesized/happy_text_stream.sse", "hello", "stop", []),
    (OpenAI, {}, "openai/synthesized/tool_call_deltas.sse", None, "tool_calls", None),
    (OpenAI, {}, "openai/synthesized/parallel_tool_calls_stream.sse", None, "tool_calls", None),
    (OpenAI, {}, "openai/synthesized/usage_chunk.sse", None, "stop", []),
    (OpenAI, {}, "openai/chat_completions/recorded/prompt_cache_stream.sse", None, "stop", []),
    (OpenAI, {}, "openai/synthesized/content_filter_stream.sse", None, "content_filter", []),
    (OpenAI, {"endpoint": "responses"}, "openai/responses/happy_text_with_usage.sse", "hello", "stop", []),
    (OpenAI, {"endpoint": "responses"}, "openai/responses/tool_call_deltas.sse", None, "tool_calls", None),
    (
        OpenAI,
        {"endpoint": "responses"},
        "openai/responses/incomplete_max_output_tokens.sse",
        None,
        "length",
        [],
    ),
    (Anthropic, {}, "anthropic/messages/happy_text.sse", "hello", "stop", []),
    (Anthropic, {}, "anthropic/messages/tool_use_deltas.sse", None, "tool_calls", None),
    (Anthropic, {}, "anthropic/messages/parallel_tool_use_deltas.sse", None, "tool_calls", None),
    (Anthropic, {}, "anthropic/messages/recorded/prompt_cache_stream.sse", None, "stop", []),
    (Anthropic, {}, "anthropic/synthesized/thinking_stream.sse", None, "stop", []),
    (Anthropic, {}, "anthropic/synthesized/content_filter_stream.sse", None, "content_filter", []),
    (Gemini, {}, "gemini/synthesized/happy_text_stream.sse", None, "stop", []),
    (Gemini, {}, "gemini/synthesized/function_call_stream.sse", None, "tool_calls", None),
    (Gemini, {}, "gemini/synthesized/tool_call_parallel_stream.sse", None, "tool_calls", None),
    (Gemini, {}, "gemini/synthesized/cache_usage.sse", None, "stop", []),
]


@pytest.mark.parametrize(
    ("adapter", "opts", "path", "text", "finish", "calls"), STREAMS, ids=[s[2] for s in STREAMS]
)
def test_stream_fixture_replays(backend, shared_fixtures, adapter, opts, path, text, finish, calls) -> None:
    body = (shared_fixtures / path).read_bytes()
    wire = {"openai": "openai-responses" if opts.get("endpoint") else "openai-chat"}.get(
        adapter.provider, adapter.provider
    )
    expected = allm.collect(wire, [body])
    replay = Replay((200, body, {}))
    engine = engine_for(adapter, replay, **opts)
    response = allm.generate(engine, REQ)
    assert response.finish_reason == finish
    if text is not None:
        assert response.output_text == text
    assert response.output_text == expected.output_text
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        (c.id, c.name, c.arguments) for c in expected.tool_calls
    ]
    assert response.usage == expected.usage
    if finish == "tool_calls":
        assert response.tool_calls
    # the streaming path folds to the same Response
    with allm.stream_generate(engine, REQ, include_raw_chunks=True) as stream:
        events = list(stream)
    assert events[-1].type == "message_completed"
    streamed = allm.StreamCollector()
    for e in events:
        streamed.apply(e)
    assert streamed.to_response().output_text == response.output_text
    assert all(s.closed >= 1 for s in replay.streams)
    assert len(replay.requests) == 2


@pytest.mark.parametrize(
    "path",
    [
        "openai/synthesized/malformed_event.sse",
        "anthropic/synthesized/malformed_event.sse",
    ],
)
def test_malformed_event_is_a_stream_error_with_partial_text(backend, shared_fixtures, path) -> None:
    body = (shared_fixtures / path).read_bytes()
    adapter = OpenAI if path.startswith("openai") else Anthropic
    replay = Replay((200, body, {}))
    response = allm.generate(engine_for(adapter, replay), REQ)
    assert response.finish_reason == "error"
    assert isinstance(response.error, StreamError) and response.error.reason == "malformed_event"
    assert len(replay.requests) == 1


def test_mid_stream_provider_error_after_content_is_not_retried(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "anthropic/synthesized/error_event_stream.sse").read_bytes()
    replay = Replay((200, body, {}))
    response = allm.generate(engine_for(Anthropic, replay), REQ)
    assert response.finish_reason == "error"
    assert isinstance(response.error, AdapterError)
    assert response.error.reason == "provider_unavailable"
    assert response.output_text  # partial content kept
    assert len(replay.requests) == 1


@pytest.mark.parametrize("endpoint_path", ["openai/responses/failed.sse"])
def test_responses_failed_maps_by_type(backend, shared_fixtures, endpoint_path) -> None:
    body = (shared_fixtures / endpoint_path).read_bytes()
    replay = Replay((200, body, {}))
    response = allm.generate(engine_for(OpenAI, replay, endpoint="responses"), REQ)
    assert response.finish_reason == "error"
    assert response.error.reason == "provider_unavailable"
    assert len(replay.requests) == 1  # content had been produced: no retry


def test_error_event_as_first_event_is_retried(backend, shared_fixtures) -> None:
    first = (shared_fixtures / "openai/responses/error_event.sse").read_bytes()
    ok = (shared_fixtures / "openai/responses/happy_text_with_usage.sse").read_bytes()
    replay = Replay((200, first, {}), (200, ok, {}))
    events: list[tuple[str, dict[str, Any]]] = []

    def handler(name: str, payload: dict[str, Any]) -> None:
        events.append((name, payload))

    allm.telemetry.add_handler(handler)
    try:
        response = allm.generate(engine_for(OpenAI, replay, endpoint="responses"), REQ)
    finally:
        allm.telemetry.remove_handler(handler)
    assert response.output_text == "hello" and response.finish_reason == "stop"
    assert len(replay.requests) == 2
    retries = [p for n, p in events if n == "allm.adapter.retry"]
    assert len(retries) == 1 and retries[0]["reason"] == "rate_limited" and retries[0]["attempt"] == 1


ERRORS = [
    (OpenAI, 401, "openai/synthesized/auth_failed.json", "authentication_failed"),
    (OpenAI, 429, "openai/synthesized/rate_limited.json", "rate_limited"),
    (OpenAI, 500, "openai/synthesized/server_error.json", "provider_unavailable"),
    (OpenAI, 400, "openai/synthesized/invalid_request.json", "invalid_request"),
    (OpenAI, 400, "openai/synthesized/context_length_exceeded.json", "context_length_exceeded"),
    (OpenAI, 400, "openai/synthesized/content_filter.json", "content_filter"),
    (Anthropic, 401, "anthropic/synthesized/auth_failed.json", "authentication_failed"),
    (Anthropic, 429, "anthropic/synthesized/rate_limited.json", "rate_limited"),
    (Anthropic, 500, "anthropic/synthesized/server_error.json", "provider_unavailable"),
    (Anthropic, 529, "anthropic/synthesized/overloaded.json", "provider_unavailable"),
    (Anthropic, 400, "anthropic/synthesized/bad_request.json", "invalid_request"),
    (Anthropic, 400, "anthropic/synthesized/context_length_exceeded.json", "context_length_exceeded"),
    (Anthropic, 413, "anthropic/synthesized/request_too_large.json", "invalid_request"),
    (Gemini, 401, "gemini/synthesized/auth_failed.json", "authentication_failed"),
    (Gemini, 403, "gemini/synthesized/permission_denied.json", "authentication_failed"),
    (Gemini, 404, "gemini/synthesized/not_found.json", "invalid_request"),
    (Gemini, 400, "gemini/synthesized/invalid_argument.json", "invalid_request"),
    (Gemini, 400, "gemini/synthesized/context_length_exceeded.json", "context_length_exceeded"),
    (Gemini, 429, "gemini/synthesized/rate_limited.json", "rate_limited"),
    (Gemini, 500, "gemini/synthesized/server_error.json", "provider_unavailable"),
    (Gemini, 503, "gemini/synthesized/unavailable.json", "provider_unavailable"),
    (Gemini, 400, "gemini/generate_content/recorded/prompt_cache_unknown_field.json", "invalid_request"),
]


@pytest.mark.parametrize(("adapter", "status", "path", "reason"), ERRORS, ids=[e[2] for e in ERRORS])
def test_error_bodies_are_classified(backend, shared_fixtures, adapter, status, path, reason) -> None:
    body = (shared_fixtures / path).read_bytes()
    headers = {"x-request-id": "req_123", "request-id": "req_123"}
    replay = Replay((status, body, headers))
    response = allm.generate(engine_for(adapter, replay, retry=False), REQ)
    err = response.error
    assert response.finish_reason == "error"
    assert isinstance(err, AdapterError)
    assert (err.reason, err.status, err.provider, err.request_id) == (
        reason,
        status,
        adapter.provider,
        "req_123",
    )
    parsed = json.loads(body)
    inner = parsed[0]["error"] if isinstance(parsed, list) else parsed["error"]
    assert err.message == inner["message"]
    assert len(replay.requests) == 1
    assert all(s.closed >= 1 for s in replay.streams)


def test_retryable_error_status_is_retried_then_succeeds(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "openai/synthesized/rate_limited.json").read_bytes()
    headers = json.loads((shared_fixtures / "openai/synthesized/rate_limited.headers.json").read_text())
    headers = {k: str(v) for k, v in headers.items() if not k.startswith("_")}
    assert "retry-after" in {k.lower() for k in headers}
    ok = (shared_fixtures / "openai/synthesized/happy_text_stream.sse").read_bytes()
    replay = Replay((429, body, {"retry-after-ms": "5"}), (200, ok, {}))
    response = allm.generate(engine_for(OpenAI, replay), REQ)
    assert response.output_text == "hello"
    assert len(replay.requests) == 2


def test_retry_after_above_the_cap_is_not_waited_for(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "openai/synthesized/rate_limited.json").read_bytes()
    replay = Replay((429, body, {"retry-after": "3600"}))
    response = allm.generate(engine_for(OpenAI, replay), REQ)
    assert response.error.reason == "rate_limited"
    assert response.error.retry_after_ms == 3_600_000
    assert len(replay.requests) == 1


def test_x_should_retry_false_wins_over_the_status(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "anthropic/synthesized/overloaded.json").read_bytes()
    replay = Replay((529, body, {"x-should-retry": "false"}))
    response = allm.generate(engine_for(Anthropic, replay), REQ)
    assert response.error.reason == "provider_unavailable"
    assert len(replay.requests) == 1


def test_non_stream_200_bodies(backend, shared_fixtures) -> None:
    malformed = (shared_fixtures / "openai/synthesized/malformed.json").read_bytes()
    replay = Replay((200, malformed, {"content-type": "application/json"}))
    response = allm.generate(engine_for(OpenAI, replay), REQ)
    assert response.error.reason == "malformed_response"
    # a 200 whose JSON body is a provider error is classified by its content
    err_body = (shared_fixtures / "gemini/synthesized/rate_limited.json").read_bytes()
    replay = Replay((200, err_body, {"content-type": "application/json"}), seed=3)
    response = allm.generate(engine_for(Gemini, replay, retry=False), REQ)
    assert response.error.reason == "rate_limited"


def test_gemini_prompt_block_in_stream(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "gemini/synthesized/prompt_blocked_stream.sse").read_bytes()
    response = allm.generate(engine_for(Gemini, Replay((200, body, {}))), REQ)
    assert response.finish_reason == "error" and response.error.reason == "content_filter"


@pytest.mark.parametrize(
    "path",
    [
        "openai/synthesized/mid_stream_error.sse",
        "anthropic/synthesized/mid_stream_overloaded.sse",
        "gemini/synthesized/mid_stream_error.sse",
    ],
)
def test_truncated_streams_keep_partial_text(backend, shared_fixtures, path) -> None:
    body = (shared_fixtures / path).read_bytes()
    adapter = {"openai": OpenAI, "anthropic": Anthropic, "gemini": Gemini}[path.split("/")[0]]
    replay = Replay((200, body, {}))
    response = allm.generate(engine_for(adapter, replay), REQ)
    assert response.finish_reason == "error"
    assert response.error.reason == "incomplete"
    assert response.output_text
    assert len(replay.requests) == 1


async def test_async_replay_matches_sync(backend, shared_fixtures) -> None:
    body = (shared_fixtures / "anthropic/messages/parallel_tool_use_deltas.sse").read_bytes()
    sync = allm.generate(engine_for(Anthropic, Replay((200, body, {}))), REQ)
    replay = Replay((200, body, {}))
    engine = engine_for(Anthropic, replay, asynchronous=True)
    got = await allm.agenerate(engine, REQ)
    assert (got.output_text, got.tool_calls, got.finish_reason, got.usage) == (
        sync.output_text,
        sync.tool_calls,
        sync.finish_reason,
        sync.usage,
    )
    events = []
    async with allm.astream_generate(engine, REQ) as stream:
        async for event in stream:
            events.append(event.type)
    assert events[0] == "message_started" and events[-1] == "message_completed"
    assert events.count("tool_call_completed") == 2
    assert all(s.closed >= 1 for s in replay.streams)


def test_own_fixtures_replay(backend) -> None:
    paths = sorted(OWN.rglob("*.sse"))
    assert len(paths) == 3
    for path in paths:
        adapter = {"openai": OpenAI, "anthropic": Anthropic, "gemini": Gemini}[path.parent.name]
        opts = {"endpoint": "responses"} if "responses" in path.name else {}
        twin = json.loads(path.with_suffix(".json").read_text())
        response = allm.generate(engine_for(adapter, Replay((200, path.read_bytes(), {})), **opts), REQ)
        assert response.output_text == twin["_expect"]["text"], path.name
        assert response.finish_reason == twin["_expect"]["finish_reason"], path.name
