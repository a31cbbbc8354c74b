"""Anthropic Messages over HTTP.

Usage::

    engine = allm.Engine(adapter=allm.providers.Anthropic, model="claude-sonnet-4-5")

Options (``adapter_opts``): ``api_key`` (else ``ANTHROPIC_API_KEY``, sent only
to the default host, as ``x-api-key``), ``base_url`` (without ``/v1``, as the
official SDK takes it), ``timeout``, ``idle_timeout``, ``http_client``,
``max_retries``.

Request translation:

* system messages are joined (blank line between) into the top-level ``system``;
* user / assistant messages become content blocks; assistant tool calls become
  ``tool_use`` blocks; consecutive tool messages become one user message of
  ``tool_result`` blocks;
* an assistant message's Anthropic reasoning parts go back unchanged, in their
  place among the text blocks and before the ``tool_use`` blocks: ``thinking``
  blocks with their ``signature``, ``redacted_thinking`` blocks with their
  ``data`` (extended thinking with tools needs them on the next turn); reasoning
  without a signature, or from another provider, is not sent;
* image parts → ``image`` blocks with a ``url`` or ``base64`` source (``detail`` is dropped);
* tools → ``{"name", "description", "input_schema"}``; ``tool_choice`` "auto" →
  ``{"type": "auto"}``, "none" → ``{"type": "none"}``, "required" →
  ``{"type": "any"}``, a tool name → ``{"type": "tool", "name": ...}``;
* ``response_format`` json_schema uses Anthropic's **native structured
  output**: ``output_config = {"format": {"type": "json_schema", "schema": ...}}``.
  The JSON arrives as ordinary text, so streaming, ``output_text`` and the
  fold need no special case (no forced tool, nothing to lift back).
  ``{"type": "json_object"}`` has no Anthropic equivalent and raises
  ``EngineError("unsupported_response_format")`` at call time; ``{"type": "text"}`` is a no-op;
* ``temperature``; ``max_tokens`` (required by the API; default 4096);
* ``top_p``, ``stop`` (``stop_sequences``), ``parallel_tool_calls``
  (``tool_choice.disable_parallel_tool_use``) and ``reasoning`` (``thinking``) as
  in :mod:`allm.providers._params` (unsupported ones refused);
* ``request.options`` is deep-merged last (``model``, ``messages`` and
  ``stream`` cannot be overridden).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .. import _build
from .._messages import ImagePart, Message, Part, ReasoningPart, TextPart
from .._request import Request
from .._results import Response
from .._source import Call
from ..errors import EngineError, ValidationError
from ._clients import Prepared, encode_json
from ._errors import from_status
from ._http import HttpAdapter
from ._keys import Secret
from ._output_schema import anthropic_schema
from ._translate import (
    json_list,
    json_object,
    json_text,
    own_reasoning,
    parts,
    split_data_url,
    tool_choice_name,
)

__all__ = ["Anthropic", "parse_response"]

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096


_OWNED = frozenset({"model", "messages", "stream"})
"""Body keys the wire contract owns; ``options`` cannot override them."""


class Anthropic(HttpAdapter):
    """Anthropic Messages over HTTP (see the module docstring)."""

    name: ClassVar[str] = "anthropic"
    provider: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    env_var: ClassVar[str] = "ANTHROPIC_API_KEY"

    def parse_body(self, body: dict[str, Any]) -> Response:
        """A complete JSON reply, by the non-streaming parser."""
        return parse_response(body)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def prepare(self, request: Request, call: Call, secret: Secret | None) -> Prepared:
        if not request.model:
            raise EngineError("missing_model", "Anthropic needs a model", provider=self.provider)
        body = messages_body(request)
        self.settle(body, request, wire="anthropic", owned=_OWNED)
        return Prepared(
            url=self.base_url + "/v1/messages",
            body=encode_json(body),
            wire="anthropic",
            headers={"anthropic-version": API_VERSION},
            secret=secret,
        )


def _image_block(part: ImagePart) -> dict[str, Any]:
    if part.data:
        return {
            "type": "image",
            "source": {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data},
        }
    if part.url:
        split = split_data_url(part.url)
        if split is not None:
            return {"type": "image", "source": {"type": "base64", "media_type": split[0], "data": split[1]}}
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    raise ValidationError("invalid_message", errors=[("content", "an image part needs a url or data")])


def _thinking_block(part: ReasoningPart) -> dict[str, Any] | None:
    """The block an Anthropic reasoning part came from (None if it cannot go back)."""
    if part.redacted is not None:
        return {"type": "redacted_thinking", "data": part.redacted}
    if part.signature is not None:
        return {"type": "thinking", "thinking": part.text, "signature": part.signature}
    return None


def _block(part: Part, assistant: bool) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text} if part.text else None
    if isinstance(part, ImagePart):
        return _image_block(part)
    reasoning = own_reasoning(part, "anthropic") if assistant else None
    return None if reasoning is None else _thinking_block(reasoning)


def _blocks(message: Message) -> list[dict[str, Any]]:
    assistant = message.role == "assistant"
    return [block for part in parts(message) if (block := _block(part, assistant)) is not None]


def _tool_input(call: Any) -> dict[str, Any]:
    if call.arguments:
        return dict(call.arguments)
    try:
        value: object = json.loads(call.raw_arguments) if call.raw_arguments else {}
    except ValueError:
        return {}
    return json_object(value)


def anthropic_messages(messages: tuple[Message, ...]) -> tuple[str | None, list[dict[str, Any]]]:
    """(system text, Messages-API messages) for ``messages``."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            system.append(m.text)
            continue
        if m.role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.text}
            previous = out[-1] if out else None
            if (
                previous is not None
                and previous["role"] == "user"
                and all(b.get("type") == "tool_result" for b in previous["content"])
            ):
                previous["content"].append(block)
            else:
                out.append({"role": "user", "content": [block]})
            continue
        content = _blocks(m)
        if m.role == "assistant":
            content += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": _tool_input(c)}
                for c in m.tool_calls
            ]
        out.append({"role": m.role, "content": content})
    return ("\n\n".join(system) if system else None), out


def _tool_choice(choice: Any) -> dict[str, Any]:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "none":
        return {"type": "none"}
    if choice in ("required", "any"):
        return {"type": "any"}
    if json_object(choice).get("type") in ("auto", "any", "none", "tool"):
        return json_object(choice)
    name = tool_choice_name(choice)
    if name is None:
        raise ValidationError(
            "invalid_request", errors=[("tool_choice", "must be auto, none, required or a tool name")]
        )
    return {"type": "tool", "name": name}


def messages_body(request: Request) -> dict[str, Any]:
    """The Messages body for ``request`` (without ``options``)."""
    system, messages = anthropic_messages(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens if request.max_tokens is not None else DEFAULT_MAX_TOKENS,
        "messages": messages,
        "stream": True,
    }
    if system:
        body["system"] = system
    if request.tools:
        body["tools"] = [
            {"name": t.name, "description": t.description, "input_schema": t.schema} for t in request.tools
        ]
    if request.tool_choice is not None:
        body["tool_choice"] = _tool_choice(request.tool_choice)
    fmt = request.response_format
    if fmt is not None:
        kind = fmt.get("type")
        if kind == "json_schema":
            schema: Any = fmt.get("schema") or json_object(fmt.get("json_schema")).get("schema") or {}
            body["output_config"] = {"format": {"type": "json_schema", "schema": anthropic_schema(schema)}}
        elif kind == "json_object":
            raise EngineError(
                "unsupported_response_format",
                "Anthropic has no JSON mode without a schema; use allm.json_schema(name, schema)",
                provider="anthropic",
            )
    if request.temperature is not None:
        body["temperature"] = request.temperature
    return body


# -- non-streaming bodies (for the stream/non-stream equivalence checks) ----------------


def parse_response(body: dict[str, Any]) -> Response:
    """A non-streaming Messages body as a Response (what the folded stream gives).

    The stop-reason map, usage and canonical arguments text come from the pure stream
    decoder (imported on first use, so ``import allm`` does not load the pure backend).
    """
    from .._pure.decoders._json import canonical_dumps
    from .._pure.decoders.anthropic import map_stop, usage_from

    if body.get("type") == "error" or isinstance(body.get("error"), dict):
        err = from_status("anthropic", 0, {}, json.dumps(body).encode())
        return _build.response(None, None, "", [], "error", None, None, {}, err)
    text: list[str] = []
    calls: list[tuple[str, str, dict[str, Any], str, dict[str, Any]]] = []
    reasoning: list[tuple[int, ReasoningPart]] = []
    chars = 0
    for item in json_list(body.get("content")):
        block = json_object(item)
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            text.append(json_text(block["text"]))
            chars += len(block["text"])
        elif kind == "tool_use":
            args = json_object(block.get("input"))
            raw = canonical_dumps(args)
            calls.append((json_text(block.get("id")), json_text(block.get("name")), args, raw, {}))
        elif kind in ("thinking", "redacted_thinking"):
            reasoning.append((chars, _reasoning_part(block)))
    raw_stop = body.get("stop_reason")
    finish = None if raw_stop is None else map_stop(raw_stop)
    usage = usage_from(json_object(body["usage"])) if isinstance(body.get("usage"), dict) else None
    return _build.response(
        body.get("id"),
        body.get("model"),
        "".join(text),
        calls,
        finish,
        raw_stop,
        usage,
        {},
        None,
        reasoning,
    )


def _reasoning_part(block: dict[str, Any]) -> ReasoningPart:
    """A non-streaming ``thinking`` / ``redacted_thinking`` block as a reasoning part."""
    from .._pure.decoders._base import get_token

    text = block.get("thinking")
    return ReasoningPart(
        text if isinstance(text, str) else "",
        signature=get_token(block, "signature"),
        redacted=get_token(block, "data") if block.get("type") == "redacted_thinking" else None,
        provider="anthropic",
    )
