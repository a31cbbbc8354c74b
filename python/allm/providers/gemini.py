"""Google Gemini (``generateContent`` API) over HTTP.

Usage::

    engine = allm.Engine(adapter=allm.providers.Gemini, model="gemini-2.5-flash")

Calls ``POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse``.
The key (``api_key``, else ``GEMINI_API_KEY``, sent only to the default host)
travels in the ``x-goog-api-key`` header, never in the query string.

Options (``adapter_opts``): ``api_key``, ``base_url`` (without the version
path, as the official SDK takes it), ``timeout``, ``idle_timeout``,
``http_client``, ``max_retries``.

Request translation:

* system messages → ``systemInstruction``; user → role ``user``; assistant →
  role ``model`` (tool calls → ``functionCall`` parts, echoing a
  ``thought_signature`` kept in the ToolCall's metadata; Gemini reasoning parts
  that carry a ``thoughtSignature`` go back where they were: a thought part with
  its text, or the signature on the text part that follows it; unsigned thought
  summaries and other providers' reasoning are not sent); tool messages →
  ``functionResponse`` parts (the function name is taken from the matching
  earlier tool call; JSON-object content is sent as the response, other
  content as ``{"result": text}``);
* image parts → ``inlineData`` (base64 data or data URLs) or ``fileData`` (other URLs);
* tools → one ``functionDeclarations`` tool (``parametersJsonSchema``);
  ``tool_choice`` "auto" / "none" / "required" / a name → ``toolConfig.functionCallingConfig``;
* ``response_format`` json_schema → ``generationConfig.responseMimeType =
  application/json`` + ``responseJsonSchema``; json_object → the MIME type only;
* ``temperature`` and ``max_tokens`` (``maxOutputTokens``) in ``generationConfig``;
* ``top_p``, ``stop``, ``seed`` and ``reasoning`` in ``generationConfig`` as in
  :mod:`allm.providers._params` (unsupported ones refused);
* ``request.options`` is deep-merged last (``contents`` cannot be overridden).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import quote

from .. import _build
from .._messages import Message, ReasoningPart, TextPart
from .._request import Request
from .._results import Response
from .._source import Call
from ..errors import AdapterError, EngineError, ValidationError
from ._clients import Prepared, encode_json
from ._errors import from_status
from ._http import HttpAdapter
from ._keys import Secret
from ._translate import (
    json_list,
    json_object,
    own_reasoning,
    parts,
    split_data_url,
    tool_choice_name,
)

__all__ = ["Gemini", "parse_response"]


_OWNED = frozenset({"contents"})
"""Body keys the wire contract owns; ``options`` cannot override them."""


class Gemini(HttpAdapter):
    """Gemini over HTTP (see the module docstring)."""

    name: ClassVar[str] = "gemini"
    provider: ClassVar[str] = "gemini"
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com"
    env_var: ClassVar[str] = "GEMINI_API_KEY"

    def parse_body(self, body: dict[str, Any]) -> Response:
        """A complete JSON reply, by the non-streaming parser."""
        return parse_response(body)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    def prepare(self, request: Request, call: Call, secret: Secret | None) -> Prepared:
        if not request.model:
            raise EngineError("missing_model", "Gemini needs a model", provider=self.provider)
        model = request.model.removeprefix("models/")
        body = generate_body(request)
        self.settle(body, request, wire="gemini", owned=_OWNED)
        url = f"{self.base_url}/v1beta/models/{quote(model, safe='-._~')}:streamGenerateContent?alt=sse"
        return Prepared(url=url, body=encode_json(body), wire="gemini", secret=secret)


def _parts(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    signature: str | None = None
    """A signature waiting for the text part that follows it."""
    for part in parts(message):
        if isinstance(part, ReasoningPart):
            reasoning = own_reasoning(part, "gemini") if message.role == "assistant" else None
            if reasoning is None or reasoning.signature is None:
                continue
            if reasoning.text:
                out.append({"text": reasoning.text, "thought": True, "thoughtSignature": reasoning.signature})
            else:
                signature = reasoning.signature
        elif isinstance(part, TextPart):
            if part.text:
                out.append(_signed({"text": part.text}, signature))
                signature = None
        elif part.data:
            out.append({"inlineData": {"mimeType": part.media_type or "image/png", "data": part.data}})
        elif part.url:
            split = split_data_url(part.url)
            if split is not None:
                out.append({"inlineData": {"mimeType": split[0], "data": split[1]}})
            else:
                item: dict[str, Any] = {"fileUri": part.url}
                if part.media_type:
                    item["mimeType"] = part.media_type
                out.append({"fileData": item})
        else:
            raise ValidationError(
                "invalid_message", errors=[("content", "an image part needs a url or data")]
            )
    if signature is not None:
        out.append({"text": "", "thoughtSignature": signature})
    return out


def _signed(part: dict[str, Any], signature: str | None) -> dict[str, Any]:
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def _response_value(text: str) -> dict[str, Any]:
    try:
        value: object = json.loads(text)
    except ValueError:
        return {"result": text}
    fields = json_object(value)
    return fields if isinstance(value, dict) else {"result": value}


def gemini_contents(messages: tuple[Message, ...]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(systemInstruction, contents) for ``messages``."""
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for m in messages:
        if m.role == "system":
            system.append({"text": m.text})
        elif m.role == "tool":
            fn: dict[str, Any] = {
                "name": names.get(m.tool_call_id or "", m.name or ""),
                "response": _response_value(m.text),
            }
            if m.tool_call_id and not m.tool_call_id.startswith("call_"):
                fn["id"] = m.tool_call_id
            part = {"functionResponse": fn}
            if (
                contents
                and contents[-1]["role"] == "user"
                and all("functionResponse" in p for p in contents[-1]["parts"])
            ):
                contents[-1]["parts"].append(part)
            else:
                contents.append({"role": "user", "parts": [part]})
        elif m.role == "assistant":
            out = _parts(m)
            for c in m.tool_calls:
                names[c.id] = c.name
                call: dict[str, Any] = {"name": c.name, "args": dict(c.arguments)}
                if not c.id.startswith("call_"):
                    call["id"] = c.id
                item: dict[str, Any] = {"functionCall": call}
                signature = c.metadata.get("thought_signature")
                if isinstance(signature, str):
                    item["thoughtSignature"] = signature
                out.append(item)
            contents.append({"role": "model", "parts": out})
        else:
            contents.append({"role": "user", "parts": _parts(m)})
    return ({"parts": system} if system else None), contents


def _tool_config(choice: Any) -> dict[str, Any]:
    if choice == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if choice == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if choice in ("required", "any"):
        return {"functionCallingConfig": {"mode": "ANY"}}
    name = tool_choice_name(choice)
    if name is None:
        raise ValidationError(
            "invalid_request", errors=[("tool_choice", "must be auto, none, required or a tool name")]
        )
    return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


def generate_body(request: Request) -> dict[str, Any]:
    """The generateContent body for ``request`` (without ``options``)."""
    system, contents = gemini_contents(request.messages)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = system
    if request.tools:
        body["tools"] = [
            {
                "functionDeclarations": [
                    {"name": t.name, "description": t.description, "parametersJsonSchema": t.schema}
                    for t in request.tools
                ]
            }
        ]
    if request.tool_choice is not None:
        body["toolConfig"] = _tool_config(request.tool_choice)
    config: dict[str, Any] = {}
    fmt = request.response_format
    if fmt is not None and fmt.get("type") in ("json_schema", "json_object"):
        config["responseMimeType"] = "application/json"
        if fmt.get("type") == "json_schema":
            schema: Any = fmt.get("schema") or json_object(fmt.get("json_schema")).get("schema") or {}
            config["responseJsonSchema"] = schema
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if config:
        body["generationConfig"] = config
    return body


# -- non-streaming bodies (for the stream/non-stream equivalence checks) ----------------


def parse_response(body: dict[str, Any]) -> Response:
    """A non-streaming generateContent body as a Response (what the folded stream gives).

    The finish-reason map, usage and canonical arguments text come from the pure stream
    decoder (imported on first use, so ``import allm`` does not load the pure backend).
    """
    from .._pure.decoders.gemini import usage_from

    rid, model = body.get("responseId"), body.get("modelVersion")
    usage = (
        usage_from(json_object(body["usageMetadata"]))
        if isinstance(body.get("usageMetadata"), dict)
        else None
    )
    if isinstance(body.get("error"), dict):
        err = from_status("gemini", 0, {}, json.dumps(body).encode())
        return _build.response(rid, model, "", [], "error", None, None, {}, err)
    candidates = json_list(body.get("candidates"))
    if not candidates:
        block = json_object(body.get("promptFeedback")).get("blockReason")
        if block:
            err = AdapterError("content_filter", f"prompt blocked: {block}", provider="gemini")
        else:
            err = AdapterError("malformed_response", "no candidates in the response", provider="gemini")
        return _build.response(rid, model, "", [], "error", None, usage, {}, err)
    return _parts_response(body)


def _parts_response(body: dict[str, Any]) -> Response:
    """A body with candidates, decoded as a one-payload stream (text, reasoning, calls,
    usage and finish exactly as the stream decoder reads them)."""
    from .._pure.decoders.gemini import GeminiDecoder
    from .._pure.fold import Fold

    decoder = GeminiDecoder(None)
    out: list[Any] = []
    decoder.start(out, body.get("responseId"), body.get("modelVersion"))
    decoder.payload(body, "", out)
    if not decoder.done:
        decoder.finish(None, None, out)
    fold = Fold()
    fold.apply_many(out)
    return fold.response()
