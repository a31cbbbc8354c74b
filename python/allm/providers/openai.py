"""OpenAI: Chat Completions and Responses, and any OpenAI-compatible server.

Usage::

    engine = allm.Engine(adapter=allm.providers.OpenAI, model="gpt-4.1-mini")
    engine = allm.Engine(adapter=allm.providers.OpenAI, model="llama3.2",
                         adapter_opts={"base_url": "http://localhost:11434/v1", "api_key": ""})

Options (``adapter_opts``): ``api_key`` (else ``OPENAI_API_KEY``, sent only to
the default host), ``base_url`` (with ``/v1``, as the official SDK takes it),
``timeout``, ``idle_timeout``, ``http_client``, ``max_retries`` and
``endpoint`` ("chat" or "responses"). ``endpoint`` may also be passed per call
(``allm.generate(engine, req, endpoint="responses")``).

Endpoint choice: the explicit option wins; else, on the default host, models
``gpt-5*`` and ``o1``…``o9*`` use Responses and the rest Chat Completions; any
other ``base_url`` uses Chat Completions (what compatible servers speak).

Request translation (Chat Completions / Responses):

* system, user, assistant and tool messages → ``messages`` / ``input`` items
  (assistant tool calls → ``tool_calls`` / ``function_call`` items; tool
  results → ``tool`` messages / ``function_call_output`` items);
* reasoning: Chat Completions never gets reasoning back (DeepSeek rejects
  ``reasoning_content`` in input); Responses gets each OpenAI reasoning part that
  has an item id back as a ``reasoning`` input item (its summary text and
  ``encrypted_content``), in its place before the turn's text and function calls.
  When ``store`` is false (``options={"store": False}``), the request asks for
  ``include: ["reasoning.encrypted_content"]`` so the next turn can echo it;
* image parts → ``image_url`` / ``input_image`` (URL or base64 data URL, with ``detail``);
* tools → ``{"type": "function", "function": {...}}`` / flat function tools;
  ``tool_choice`` "auto" / "none" / "required" / a tool name / a dict;
* ``response_format`` → ``response_format`` / ``text.format``;
* ``temperature``; ``max_tokens`` → ``max_completion_tokens`` on the default
  host, ``max_tokens`` on compatible servers (Chat), ``max_output_tokens`` (Responses);
* Chat streams ask for usage (``stream_options.include_usage``);
* ``top_p``, ``stop``, ``seed``, ``parallel_tool_calls`` and ``reasoning``
  as in :mod:`allm.providers._params` (unsupported ones refused);
* ``request.options`` is deep-merged last (``model``, the messages / input
  and ``stream`` cannot be overridden).
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar, cast

from .. import _build
from .._messages import ImagePart, Message, ReasoningPart, TextPart
from .._request import Request
from .._results import Response
from .._source import Call
from ..errors import EngineError, ValidationError
from ._clients import HttpOptions, Prepared, encode_json
from ._errors import from_status
from ._http import HttpAdapter
from ._keys import Secret
from ._translate import (
    arguments_json,
    data_url,
    json_list,
    json_object,
    json_text,
    own_reasoning,
    parts,
    tool_choice_name,
)

__all__ = ["OpenAI", "parse_response"]

_RESPONSES_MODEL = re.compile(r"^(gpt-5|o[1-9])")
_ENDPOINTS = ("chat", "responses")
_CHAT_OWNED = frozenset({"model", "messages", "stream"})
_RESPONSES_OWNED = frozenset({"model", "input", "stream"})


class OpenAI(HttpAdapter):
    """OpenAI Chat Completions / Responses over HTTP (see the module docstring)."""

    name: ClassVar[str] = "openai"
    provider: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    env_var: ClassVar[str] = "OPENAI_API_KEY"
    call_options: ClassVar[tuple[str, ...]] = ("endpoint",)
    extra_options: ClassVar[tuple[str, ...]] = ("endpoint",)

    def __init__(self, *, retry: Any = "default", **opts: Any) -> None:
        super().__init__(retry=retry, **opts)
        self.endpoint: str | None = opts.get("endpoint")

    @classmethod
    def parse_options(cls, retry: Any, opts: dict[str, Any]) -> HttpOptions:
        """The common options, and ``endpoint`` checked."""
        endpoint = opts.get("endpoint")
        if endpoint is not None and endpoint not in _ENDPOINTS:
            raise ValidationError("invalid_options", errors=[("endpoint", "must be 'chat' or 'responses'")])
        return super().parse_options(retry, opts)

    def parse_body(self, body: dict[str, Any]) -> Response:
        """A complete JSON reply, by the non-streaming parser."""
        return parse_response(body)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def endpoint_for(self, model: str | None, call: Call | None = None) -> str:
        """ "chat" or "responses" for ``model`` (per-call option, adapter option, model, host)."""
        chosen = (call.options.get("endpoint") if call is not None else None) or self.endpoint
        if chosen is not None:
            if chosen not in _ENDPOINTS:
                raise ValidationError(
                    "invalid_options", errors=[("endpoint", "must be 'chat' or 'responses'")]
                )
            return str(chosen)
        if self.options.base.default and model and _RESPONSES_MODEL.match(model):
            return "responses"
        return "chat"

    def prepare(self, request: Request, call: Call, secret: Secret | None) -> Prepared:
        if not request.model:
            raise EngineError(
                "missing_model",
                "OpenAI needs a model (Engine(model=...) or request(model=...))",
                provider=self.provider,
            )
        endpoint = self.endpoint_for(request.model, call)
        if endpoint == "responses":
            body = responses_body(request)
            path, wire, owned = "/responses", "openai-responses", _RESPONSES_OWNED
        else:
            body = chat_body(request, compatible=not self.options.base.default)
            path, wire, owned = "/chat/completions", "openai-chat", _CHAT_OWNED
        self.settle(body, request, wire=wire, owned=owned)
        if endpoint == "responses":
            request_encrypted_reasoning(body)
        return Prepared(url=self.base_url + path, body=encode_json(body), wire=wire, secret=secret)


# -- Chat Completions ------------------------------------------------------------------


def _chat_content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):  # reasoning never goes to Chat Completions
            out.append({"type": "image_url", "image_url": {"url": data_url(part), "detail": part.detail}})
    return out


def chat_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages in Chat Completions form."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.text})
        elif m.role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": m.text or None}
            if m.tool_calls:
                item["tool_calls"] = [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": arguments_json(c)},
                    }
                    for c in m.tool_calls
                ]
            elif item["content"] is None:
                item["content"] = ""
            out.append(item)
        else:
            item = {"role": m.role, "content": m.text if m.role == "system" else _chat_content(m)}
            if m.name:
                item["name"] = m.name
            out.append(item)
    return out


def _tool_choice(choice: Any, responses: bool) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    fields = json_object(choice)
    if "type" in fields:
        function = fields.get("function")
        if responses and fields.get("type") == "function" and isinstance(function, dict):
            return {"type": "function", "name": json_object(fields["function"]).get("name")}
        return fields
    name = tool_choice_name(choice)
    if name is None:
        raise ValidationError(
            "invalid_request", errors=[("tool_choice", "must be auto, none, required or a tool name")]
        )
    return (
        {"type": "function", "name": name} if responses else {"type": "function", "function": {"name": name}}
    )


def _schema_format(fmt: dict[str, Any]) -> dict[str, Any]:
    inner: dict[str, Any] = {"name": fmt.get("name") or "response", "schema": fmt.get("schema") or {}}
    if "strict" in fmt:
        inner["strict"] = bool(fmt["strict"])
    return inner


def chat_body(request: Request, *, compatible: bool = False) -> dict[str, Any]:
    """The Chat Completions body for ``request`` (without ``options``)."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": chat_messages(request.messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.schema},
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice, responses=False)
    fmt = request.response_format
    if fmt is not None:
        if fmt.get("type") == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": fmt.get("json_schema") or _schema_format(fmt),
            }
        else:
            body["response_format"] = {"type": fmt.get("type", "text")}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens" if compatible else "max_completion_tokens"] = request.max_tokens
    return body


# -- Responses -------------------------------------------------------------------------


_ENCRYPTED_REASONING = "reasoning.encrypted_content"


def request_encrypted_reasoning(body: dict[str, Any]) -> None:
    """With ``store: false`` nothing is kept server-side, so ask for the encrypted
    reasoning the next turn must echo (added to any ``include`` the options gave)."""
    if body.get("store") is not False:
        return
    include: object = body.get("include")
    items: list[object] = []
    if isinstance(include, (list, tuple)):
        items.extend(cast("list[object] | tuple[object, ...]", include))
    if _ENCRYPTED_REASONING not in items:
        items.append(_ENCRYPTED_REASONING)
    body["include"] = items


def _reasoning_item(part: ReasoningPart) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": part.id,
        "summary": [{"type": "summary_text", "text": part.text}] if part.text else [],
    }
    if part.encrypted_content is not None:
        item["encrypted_content"] = part.encrypted_content
    return item


def _assistant_items(message: Message) -> list[dict[str, Any]]:
    """An assistant turn as Responses items: its text and reasoning items in content
    order (reasoning items only for OpenAI parts with an id), then function calls."""
    out: list[dict[str, Any]] = []
    text: list[str] = []
    for part in parts(message):
        if isinstance(part, TextPart):
            text.append(part.text)
            continue
        reasoning = own_reasoning(part, "openai")
        if reasoning is not None and reasoning.id is not None:
            if any(text):
                out.append({"role": "assistant", "content": "".join(text)})
            text = []
            out.append(_reasoning_item(reasoning))
    if any(text):
        out.append({"role": "assistant", "content": "".join(text)})
    return out


def responses_input(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages as Responses ``input`` items."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            out.append({"type": "function_call_output", "call_id": m.tool_call_id, "output": m.text})
        elif m.role == "assistant":
            out.extend(_assistant_items(m))
            for c in m.tool_calls:
                out.append(
                    {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": arguments_json(c)}
                )
        elif m.role == "system" or isinstance(m.content, str):
            out.append({"role": m.role, "content": m.text})
        else:
            content: list[dict[str, Any]] = []
            for part in parts(m):
                if isinstance(part, TextPart):
                    content.append({"type": "input_text", "text": part.text})
                elif isinstance(part, ImagePart):
                    content.append(
                        {"type": "input_image", "image_url": data_url(part), "detail": part.detail}
                    )
            out.append({"role": m.role, "content": content})
    return out


def responses_body(request: Request) -> dict[str, Any]:
    """The Responses body for ``request`` (without ``options``)."""
    body: dict[str, Any] = {
        "model": request.model,
        "input": responses_input(request.messages),
        "stream": True,
    }
    if request.tools:
        body["tools"] = [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.schema}
            for t in request.tools
        ]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice, responses=True)
    fmt = request.response_format
    if fmt is not None:
        if fmt.get("type") == "json_schema":
            body["text"] = {"format": {"type": "json_schema", **_schema_format(fmt)}}
        else:
            body["text"] = {"format": {"type": fmt.get("type", "text")}}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_output_tokens"] = request.max_tokens
    return body


# -- non-streaming bodies (for the stream/non-stream equivalence checks) ----------------

# The wire mappings (finish reasons, usage, arguments) live once, in the pure stream
# decoders; they are imported on first use so ``import allm`` does not load the pure
# backend.


def parse_chat_response(body: dict[str, Any]) -> Response:
    """A non-streaming Chat Completions body as a Response (what the folded stream gives)."""
    from .._pure.decoders._json import parse_arguments
    from .._pure.decoders.openai_chat import map_finish, usage_from

    if isinstance(body.get("error"), dict):
        err = from_status("openai", 0, {}, json.dumps(body).encode())
        return _build.response(body.get("id"), body.get("model"), "", [], "error", None, None, {}, err)
    choices = json_list(body.get("choices"))
    choice = json_object(choices[0]) if choices else {}
    message = json_object(choice.get("message"))
    text = json_text(message.get("content"))
    calls: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = []
    for item in json_list(message.get("tool_calls")):
        call = json_object(item)
        fn = json_object(call.get("function"))
        raw = json_text(fn.get("arguments"))
        calls.append((json_text(call.get("id")), json_text(fn.get("name")), parse_arguments(raw), raw, {}))
    raw_finish = choice.get("finish_reason")
    finish = None if raw_finish is None else map_finish(raw_finish)
    usage = usage_from(json_object(body["usage"])) if isinstance(body.get("usage"), dict) else None
    return _build.response(
        body.get("id"),
        body.get("model"),
        text,
        calls,
        finish,
        raw_finish,
        usage,
        {},
        None,
        _chat_reasoning(message),
    )


def _chat_reasoning(message: dict[str, Any]) -> list[tuple[int, ReasoningPart]]:
    """``reasoning_content`` (else ``reasoning``) of a Chat Completions message, before its text."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return [(0, ReasoningPart(value, provider="openai"))]
    return []


def parse_responses_response(body: dict[str, Any]) -> Response:
    """A non-streaming Responses body as a Response."""
    from .._pure.decoders._json import parse_arguments
    from .._pure.decoders.openai_responses import map_incomplete, reasoning_part, usage_from

    text_parts: list[str] = []
    calls: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = []
    reasoning: list[tuple[int, ReasoningPart]] = []
    chars = 0
    for entry in json_list(body.get("output")):
        item = json_object(entry)
        if item.get("type") == "reasoning":
            reasoning.append((chars, reasoning_part(item)))
        elif item.get("type") == "message":
            for part in json_list(item.get("content")):
                content = json_object(part)
                if content.get("type") == "output_text" and isinstance(content.get("text"), str):
                    text_parts.append(json_text(content["text"]))
                    chars += len(content["text"])
        elif item.get("type") == "function_call":
            raw = json_text(item.get("arguments"))
            call_id = json_text(item.get("call_id")) or json_text(item.get("id"))
            calls.append((call_id, json_text(item.get("name")), parse_arguments(raw), raw, {}))
    text = "".join(text_parts) or json_text(body.get("output_text"))
    status = body.get("status")
    usage = usage_from(json_object(body["usage"])) if isinstance(body.get("usage"), dict) else None
    error = None
    raw_finish: str | None = None
    if status == "completed":
        finish: str | None = "tool_calls" if calls else "stop"
        raw_finish = "completed"
    elif status == "incomplete":
        raw_finish = json_object(body.get("incomplete_details")).get("reason")
        finish = map_incomplete(raw_finish)
    elif status in ("failed", "cancelled"):
        finish = "error"
        err: Any = body.get("error") or {}
        error = from_status("openai", 0, {}, json.dumps({"error": err}).encode())
    else:
        finish = None
    return _build.response(
        body.get("id"), body.get("model"), text, calls, finish, raw_finish, usage, {}, error, reasoning
    )


def parse_response(body: dict[str, Any]) -> Response:
    """A non-streaming OpenAI body (Chat Completions or Responses) as a Response."""
    if body.get("object") == "response" or "output" in body or "output_text" in body:
        return parse_responses_response(body)
    return parse_chat_response(body)
