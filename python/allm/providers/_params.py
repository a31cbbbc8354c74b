"""Common request parameters per wire, and provider ``options`` deep-merged into the body.

Each common parameter of :class:`allm.Request` is either translated for the
wire or refused: a parameter the wire does not support is a
``ValidationError("invalid_request")`` naming the provider and the parameter,
unless the adapter was built with ``drop_unsupported_params=True``, which
drops it instead. Nothing is dropped silently.

The per-wire mapping is the README's table "Common parameters" (a test
executes it row by row); :data:`_SETTERS` below is its implementation.

Anthropic has no effort knob: an effort alone becomes a thinking budget
(:data:`ANTHROPIC_EFFORT_BUDGET`); an explicit ``budget_tokens`` wins. Gemini
asks for thought summaries (``includeThoughts``) whenever reasoning is set.

``options`` (``Request.options``, the engine's extra params) are merged last,
recursively: a mapping merges into the mapping the translation built, any
other value replaces. Keys the wire contract owns (the model, the message
list, ``stream``) cannot be overridden.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from .._request import Reasoning, Request
from ..errors import ValidationError

__all__ = [
    "ANTHROPIC_EFFORT_BUDGET",
    "COMMON_PARAMS",
    "apply_common_params",
    "merge_options",
]

COMMON_PARAMS = ("top_p", "stop", "seed", "parallel_tool_calls", "reasoning")

ANTHROPIC_EFFORT_BUDGET: Mapping[str, int] = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
"""The Anthropic thinking budget an effort stands for (1,024 is Anthropic's minimum)."""

_Setter = Callable[[dict[str, Any], Any], None]


def _at(body: dict[str, Any], *path: str) -> dict[str, Any]:
    """The mapping at ``path`` in ``body``, created where missing."""
    node = body
    for key in path:
        node = node.setdefault(key, {})
    return node


def _put(*path: str) -> _Setter:
    """A setter storing the value at ``path`` (the last element is the key)."""
    *parents, key = path

    def put(body: dict[str, Any], value: Any) -> None:
        _at(body, *parents)[key] = (
            list(cast("tuple[object, ...]", value)) if isinstance(value, tuple) else value
        )

    return put


def _anthropic_parallel(body: dict[str, Any], value: Any) -> None:
    choice = body.get("tool_choice") or {"type": "auto"}
    body["tool_choice"] = {**choice, "disable_parallel_tool_use": not value}


def _anthropic_thinking(body: dict[str, Any], budget: int) -> None:
    body["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _gemini_thinking(key: str) -> _Setter:
    def put(body: dict[str, Any], value: Any) -> None:
        config = _at(body, "generationConfig", "thinkingConfig")
        config[key] = value
        config["includeThoughts"] = True

    return put


# (wire, parameter) -> setter; a missing entry means the wire does not support it.
# ``reasoning`` is split into its two parts, "reasoning.effort" and "reasoning.budget_tokens".
_SETTERS: dict[str, dict[str, _Setter]] = {
    "openai-chat": {
        "top_p": _put("top_p"),
        "stop": _put("stop"),
        "seed": _put("seed"),
        "parallel_tool_calls": _put("parallel_tool_calls"),
        "reasoning.effort": _put("reasoning_effort"),
    },
    "openai-responses": {
        "top_p": _put("top_p"),
        "parallel_tool_calls": _put("parallel_tool_calls"),
        "reasoning.effort": _put("reasoning", "effort"),
    },
    "anthropic": {
        "top_p": _put("top_p"),
        "stop": _put("stop_sequences"),
        "parallel_tool_calls": _anthropic_parallel,
        "reasoning.effort": lambda body, effort: _anthropic_thinking(body, ANTHROPIC_EFFORT_BUDGET[effort]),
        "reasoning.budget_tokens": _anthropic_thinking,
    },
    "gemini": {
        "top_p": _put("generationConfig", "topP"),
        "stop": _put("generationConfig", "stopSequences"),
        "seed": _put("generationConfig", "seed"),
        "reasoning.effort": _gemini_thinking("thinkingLevel"),
        "reasoning.budget_tokens": _gemini_thinking("thinkingBudget"),
    },
}


def _requested(request: Request) -> list[tuple[str, Any]]:
    """The common parameters ``request`` sets, with ``reasoning`` split into its parts."""
    out: list[tuple[str, Any]] = []
    for name in COMMON_PARAMS:
        value = getattr(request, name)
        if value is None:
            continue
        if isinstance(value, Reasoning):
            # With both parts, Anthropic's explicit budget wins: apply it last.
            out += [
                (f"reasoning.{part}", v)
                for part in ("effort", "budget_tokens")
                if (v := getattr(value, part))
            ]
        else:
            out.append((name, value))
    return out


def apply_common_params(
    body: dict[str, Any], request: Request, *, wire: str, provider: str, drop_unsupported: bool
) -> None:
    """Translate the request's common parameters into ``body`` for ``wire``.

    Raises ValidationError naming every unsupported parameter, unless ``drop_unsupported``.
    """
    setters = _SETTERS[wire]
    unsupported: list[tuple[str, str]] = []
    for name, value in _requested(request):
        setter = setters.get(name)
        if setter is None:
            unsupported.append(
                (name, f"not supported by {provider} ({wire}); set drop_unsupported_params=True to drop it")
            )
        else:
            setter(body, value)
    if unsupported and not drop_unsupported:
        raise ValidationError("invalid_request", errors=unsupported)


def merge_options(
    body: dict[str, Any], options: Mapping[str, Any], *, owned: frozenset[str], provider: str
) -> None:
    """Deep-merge ``options`` into ``body``; ValidationError for keys the wire contract owns."""
    clashes = sorted(key for key in options if key in owned)
    if clashes:
        raise ValidationError(
            "invalid_request",
            errors=[
                (f"options.{key}", f"is owned by allm's {provider} request and cannot be overridden")
                for key in clashes
            ],
        )
    _deep_merge(body, options)


def _deep_merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        current = into.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged = dict(cast("dict[str, Any]", current))
            _deep_merge(merged, cast("Mapping[str, Any]", value))
            into[key] = merged
        else:
            into[key] = value
