"""Pre-flight validation of requests, messages and tools.

    validate_request(request, *, known_tools=()) -> None
    validate_messages(messages, path="messages") -> None
    validate_tools(tools, path="tools") -> None

Each raises ``ValidationError(reason="invalid_request", errors=[(path, why), ...])``
listing EVERY problem found (not just the first), with paths such as
``"messages[2].role"``, ``"tools[0].name"`` or ``"temperature"``.
``request_errors``, ``message_errors`` and ``tool_errors`` return the same
list without raising.

The values checked here come from users and from loaded JSON, so their static
types cannot be trusted: the checks are deliberately "unnecessary" for a type
checker, and the values they walk are of unknown type.
"""

# pyright: reportUnnecessaryIsInstance=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownMemberType=false

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from ._messages import ROLES, ImagePart, Message, ReasoningPart, TextPart, ToolCall
from ._request import REASONING_EFFORTS, Reasoning, Request
from ._tool import Tool
from .errors import ValidationError

__all__ = [
    "RESERVED_TOOL_NAMES",
    "TOOL_NAME_PATTERN",
    "message_errors",
    "request_errors",
    "tool_errors",
    "validate_messages",
    "validate_request",
    "validate_tools",
]

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
RESERVED_TOOL_NAMES: frozenset[str] = frozenset({"auto", "none", "required"})
_DETAILS = frozenset({"auto", "low", "high"})
_TOOL_CHOICE_MODES = ("auto", "none", "required")
_JSON_SCHEMA_KEYS = frozenset({"type", "name", "schema", "strict", "description"})

Errors = list[tuple[str, str]]


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_str_dict(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) for k in v)


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def message_errors(messages: Any, path: str = "messages") -> Errors:
    """Every problem with a message list, as (path, reason) pairs."""
    errors: Errors = []
    if not isinstance(messages, (tuple, list)):
        errors.append((path, f"must be a tuple or list of Message, got {type(messages).__name__}"))
        return errors
    if not messages:
        errors.append((path, "empty"))
    for i, m in enumerate(messages):
        _check_message(m, f"{path}[{i}]", errors)
    return errors


def _check_message(m: Any, path: str, errors: Errors) -> None:
    if not isinstance(m, Message):
        errors.append((path, f"must be a Message, got {type(m).__name__}"))
        return
    role_ok = isinstance(m.role, str) and m.role in ROLES
    if not role_ok:
        errors.append((f"{path}.role", f"unknown role {_short(m.role)}"))
    _check_content(m.content, f"{path}.content", errors)
    if m.name is not None and not (isinstance(m.name, str) and m.name):
        errors.append((f"{path}.name", "must be a non-empty string or None"))
    if m.role == "tool":
        if not (isinstance(m.tool_call_id, str) and m.tool_call_id):
            errors.append((f"{path}.tool_call_id", "required for tool messages"))
    elif m.tool_call_id is not None and not isinstance(m.tool_call_id, str):
        errors.append((f"{path}.tool_call_id", "must be a string or None"))
    if not isinstance(m.tool_calls, (tuple, list)):
        errors.append((f"{path}.tool_calls", "must be a tuple or list of ToolCall"))
    elif m.tool_calls:
        if role_ok and m.role != "assistant":
            errors.append((f"{path}.tool_calls", "only assistant messages carry tool calls"))
        seen: set[str] = set()
        for j, call in enumerate(m.tool_calls):
            _check_tool_call(call, f"{path}.tool_calls[{j}]", seen, errors)
    if not _is_str_dict(m.metadata):
        errors.append((f"{path}.metadata", "must be a dict with string keys"))


def _check_content(content: Any, path: str, errors: Errors) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, (tuple, list)):
        errors.append((path, "must be a str or a tuple/list of TextPart/ImagePart/ReasoningPart"))
        return
    for j, part in enumerate(content):
        ppath = f"{path}[{j}]"
        if isinstance(part, TextPart):
            if not isinstance(part.text, str):
                errors.append((f"{ppath}.text", "must be a string"))
        elif isinstance(part, ImagePart):
            _check_image(part, ppath, errors)
        elif isinstance(part, ReasoningPart):
            _check_reasoning_part(part, ppath, errors)
        else:
            errors.append(
                (ppath, f"must be a TextPart, ImagePart or ReasoningPart, got {type(part).__name__}")
            )


def _check_reasoning_part(part: ReasoningPart, path: str, errors: Errors) -> None:
    if not isinstance(part.text, str):
        errors.append((f"{path}.text", "must be a string"))
    for name in ("signature", "redacted", "id", "encrypted_content", "provider"):
        value = getattr(part, name)
        if value is not None and not isinstance(value, str):
            errors.append((f"{path}.{name}", "must be a string or None"))


def _check_image(part: ImagePart, path: str, errors: Errors) -> None:
    has_url = part.url is not None
    has_data = part.data is not None
    if has_url == has_data:
        errors.append((path, "needs exactly one of url or data"))
    if has_url and not (isinstance(part.url, str) and part.url):
        errors.append((f"{path}.url", "must be a non-empty string"))
    if has_data:
        if not (isinstance(part.data, str) and part.data):
            errors.append((f"{path}.data", "must be a non-empty base64 string"))
        if not (isinstance(part.media_type, str) and part.media_type):
            errors.append((f"{path}.media_type", "required with data"))
    elif part.media_type is not None and not isinstance(part.media_type, str):
        errors.append((f"{path}.media_type", "must be a string or None"))
    if part.detail not in _DETAILS:
        errors.append((f"{path}.detail", f"must be one of 'auto', 'low', 'high', got {_short(part.detail)}"))


def _check_tool_call(call: Any, path: str, seen: set[str], errors: Errors) -> None:
    if not isinstance(call, ToolCall):
        errors.append((path, f"must be a ToolCall, got {type(call).__name__}"))
        return
    if not (isinstance(call.id, str) and call.id):
        errors.append((f"{path}.id", "must be a non-empty string"))
    elif call.id in seen:
        errors.append((f"{path}.id", f"duplicate tool call id {_short(call.id)}"))
    else:
        seen.add(call.id)
    if not (isinstance(call.name, str) and call.name):
        errors.append((f"{path}.name", "must be a non-empty string"))
    if not _is_str_dict(call.arguments):
        errors.append((f"{path}.arguments", "must be a dict with string keys"))
    if not isinstance(call.raw_arguments, str):
        errors.append((f"{path}.raw_arguments", "must be a string"))


# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------


def tool_errors(tools: Any, path: str = "tools") -> Errors:
    """Every problem with a tool list, as (path, reason) pairs."""
    errors: Errors = []
    if not isinstance(tools, (tuple, list)):
        errors.append((path, f"must be a tuple or list of Tool, got {type(tools).__name__}"))
        return errors
    seen: set[str] = set()
    for i, t in enumerate(tools):
        tpath = f"{path}[{i}]"
        if not isinstance(t, Tool):
            errors.append((tpath, f"must be a Tool, got {type(t).__name__}"))
            continue
        name = t.name
        if not (isinstance(name, str) and _TOOL_NAME.fullmatch(name)):
            errors.append((f"{tpath}.name", f"must match {TOOL_NAME_PATTERN}"))
        elif name in RESERVED_TOOL_NAMES:
            errors.append((f"{tpath}.name", f"reserved name {name!r}"))
        elif name in seen:
            errors.append((f"{tpath}.name", f"duplicate tool name {name!r}"))
        else:
            seen.add(name)
        if not isinstance(t.description, str):
            errors.append((f"{tpath}.description", "must be a string"))
        if not (_is_str_dict(t.schema) and t.schema.get("type") == "object"):
            errors.append((f"{tpath}.schema", 'must be a dict whose "type" is "object"'))
        if not isinstance(t.manual, bool):
            errors.append((f"{tpath}.manual", "must be a bool"))
        if t.handler is not None and not callable(t.handler):
            errors.append((f"{tpath}.handler", "must be callable or None"))
        if not _is_str_dict(t.metadata):
            errors.append((f"{tpath}.metadata", "must be a dict with string keys"))
    return errors


# ---------------------------------------------------------------------------
# Request
# ---------------------------------------------------------------------------


def request_errors(request: Any, *, known_tools: Iterable[str] = ()) -> Errors:
    """Every problem with a request, as (path, reason) pairs.

    ``known_tools`` names tools supplied outside the request (an engine's
    tools, say) that a ``tool_choice`` may refer to.
    """
    if not isinstance(request, Request):
        return [("request", f"must be a Request, got {type(request).__name__}")]
    errors: Errors = []
    errors += message_errors(request.messages, "messages")
    if request.model is not None and not (isinstance(request.model, str) and request.model):
        errors.append(("model", "must be a non-empty string or None"))
    errors += tool_errors(request.tools, "tools")
    names = (
        {t.name for t in request.tools if isinstance(t, Tool)}
        if isinstance(request.tools, (tuple, list))
        else set()
    )
    names.update(known_tools)
    _check_tool_choice(request.tool_choice, names, errors)
    t = request.temperature
    if t is not None:
        if not _is_number(t):
            errors.append(("temperature", f"must be a number, got {type(t).__name__}"))
        elif not (math.isfinite(t) and 0 <= t <= 2):
            errors.append(("temperature", "must be between 0 and 2"))
    mt = request.max_tokens
    if mt is not None:
        if not isinstance(mt, int) or isinstance(mt, bool):
            errors.append(("max_tokens", f"must be an integer, got {type(mt).__name__}"))
        elif mt <= 0:
            errors.append(("max_tokens", "must be > 0"))
    _check_response_format(request.response_format, errors)
    _check_common_params(request, errors)
    if not _is_str_dict(request.options):
        errors.append(("options", "must be a dict with string keys"))
    if not _is_str_dict(request.metadata):
        errors.append(("metadata", "must be a dict with string keys"))
    return errors


def _check_common_params(request: Request, errors: Errors) -> None:
    p = request.top_p
    if p is not None and not (_is_number(p) and math.isfinite(p) and 0 <= p <= 1):
        errors.append(("top_p", "must be a number between 0 and 1"))
    stop = request.stop
    if stop is not None and not (
        isinstance(stop, tuple) and len(stop) > 0 and all(isinstance(s, str) and s for s in stop)
    ):
        errors.append(("stop", "must be a non-empty string or a non-empty list of non-empty strings"))
    seed = request.seed
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        errors.append(("seed", f"must be an integer, got {type(seed).__name__}"))
    if request.parallel_tool_calls not in (None, True, False):
        errors.append(("parallel_tool_calls", "must be a bool"))
    _check_reasoning(request.reasoning, errors)


def _check_reasoning(reasoning: Any, errors: Errors) -> None:
    if reasoning is None:
        return
    if not isinstance(reasoning, Reasoning):
        errors.append(("reasoning", "must be allm.Reasoning or a mapping with effort and/or budget_tokens"))
        return
    if reasoning.effort is None and reasoning.budget_tokens is None:
        errors.append(("reasoning", "needs an effort or budget_tokens"))
    if reasoning.effort is not None and reasoning.effort not in REASONING_EFFORTS:
        errors.append(("reasoning.effort", f"must be one of {', '.join(REASONING_EFFORTS)}"))
    budget = reasoning.budget_tokens
    if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget <= 0):
        errors.append(("reasoning.budget_tokens", "must be a positive integer"))


def _check_tool_choice(choice: Any, names: set[str], errors: Errors) -> None:
    if choice is None:
        return
    if isinstance(choice, str):
        if choice in ("auto", "none"):
            return
        if choice == "required":
            if not names:
                errors.append(("tool_choice", "'required' needs at least one tool"))
        elif choice not in names:
            errors.append(("tool_choice", f"unknown tool {_short(choice)}"))
        return
    if isinstance(choice, dict):
        if choice.get("type") != "tool" or set(choice) != {"type", "name"}:
            errors.append(("tool_choice", 'a dict tool_choice must be {"type": "tool", "name": ...}'))
            return
        name = choice["name"]
        if not isinstance(name, str) or name not in names:
            errors.append(("tool_choice.name", f"unknown tool {_short(name)}"))
        return
    errors.append(
        (
            "tool_choice",
            'must be None, "auto", "none", "required", a tool name or {"type": "tool", "name": ...}',
        )
    )


def _check_response_format(rf: Any, errors: Errors) -> None:
    if rf is None:
        return
    if not isinstance(rf, dict):
        errors.append(("response_format", f"must be None or a dict, got {type(rf).__name__}"))
        return
    kind = rf.get("type")
    if kind in ("text", "json_object"):
        extra = sorted(str(k) for k in rf if k != "type")
        if extra:
            errors.append(("response_format", f"unexpected keys {extra} for type {kind!r}"))
        return
    if kind != "json_schema":
        errors.append(("response_format.type", "must be 'text', 'json_object' or 'json_schema'"))
        return
    extra = sorted(str(k) for k in rf if k not in _JSON_SCHEMA_KEYS)
    if extra:
        errors.append(("response_format", f"unexpected keys {extra}"))
    name = rf.get("name")
    if not (isinstance(name, str) and _TOOL_NAME.fullmatch(name)):
        errors.append(("response_format.name", f"must be a string matching {TOOL_NAME_PATTERN}"))
    if not _is_str_dict(rf.get("schema")):
        errors.append(("response_format.schema", "must be a dict"))
    if "strict" in rf and not isinstance(rf["strict"], bool):
        errors.append(("response_format.strict", "must be a bool"))
    if "description" in rf and not isinstance(rf["description"], str):
        errors.append(("response_format.description", "must be a string"))


# ---------------------------------------------------------------------------
# Raising forms
# ---------------------------------------------------------------------------


def _raise(errors: Errors) -> None:
    if errors:
        raise ValidationError("invalid_request", errors=errors)


def validate_request(request: Any, *, known_tools: Iterable[str] = ()) -> None:
    """Raise ``ValidationError("invalid_request")`` listing every problem with ``request``."""
    _raise(request_errors(request, known_tools=known_tools))


def validate_messages(messages: Any, path: str = "messages") -> None:
    """Raise ``ValidationError("invalid_request")`` listing every problem with ``messages``."""
    _raise(message_errors(messages, path))


def validate_tools(tools: Any, path: str = "tools") -> None:
    """Raise ``ValidationError("invalid_request")`` listing every problem with ``tools``."""
    _raise(tool_errors(tools, path))
