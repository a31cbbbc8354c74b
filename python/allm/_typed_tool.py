"""Typed tools: ``@allm.tool`` on an ordinary typed function (sync or async).

The tool's name is the function's name, its description the docstring (the
summary and long description), and its JSON schema comes from the signature
through pydantic, with each parameter's description taken from the docstring
(Google, NumPy, reST or Epydoc style, read by ``docstring-parser``). Both are
in the optional extra ``allm-engine[pydantic]``.

The handler receives validated, typed arguments: pydantic models and
dataclasses are built, enums converted, defaults filled in. Arguments that do
not validate never reach the function: the call fails with
``ToolError("invalid_arguments")``. A parameter annotated with
:class:`allm.ToolContext` receives the call's context and is not part of the
schema. A parameter without a type annotation, ``*args``, ``**kwargs`` or a
positional-only parameter is a ``ValidationError("invalid_tool")`` at
decoration time.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from ._tool import Tool
from .errors import ToolError, ValidationError

__all__ = ["tool_from_function"]

_EXTRA = "typed tools need pydantic and docstring-parser: pip install 'allm-engine[pydantic]'"


def _bad(fn: Callable[..., Any], why: str) -> ValidationError:
    return ValidationError("invalid_tool", errors=[(getattr(fn, "__qualname__", repr(fn)), why)])


def _is_context(annotation: Any) -> bool:
    from ._tool_runner import ToolContext

    return annotation is ToolContext


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        raise _bad(fn, f"its annotations cannot be resolved: {exc}") from exc


def _parameters(fn: Callable[..., Any]) -> tuple[dict[str, tuple[Any, Any]], str | None]:
    """The (annotation, default) of each argument, and the name of the context parameter."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise _bad(fn, f"has no readable signature: {exc}") from exc
    hints = _hints(fn)
    fields: dict[str, tuple[Any, Any]] = {}
    context: str | None = None
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise _bad(fn, f"{stars}{param.name} cannot be described by a JSON schema")
        if param.kind is param.POSITIONAL_ONLY:
            raise _bad(fn, f"parameter {param.name!r} is positional-only; tools are called by keyword")
        if param.name not in hints:
            raise _bad(fn, f"parameter {param.name!r} has no type annotation")
        if _is_context(hints[param.name]):
            context = param.name
            continue
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], default)
    return fields, context


def _docs(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description and per-parameter descriptions from the docstring."""
    import docstring_parser

    doc = docstring_parser.parse(inspect.getdoc(fn) or "")
    summary = "\n\n".join(p for p in (doc.short_description, doc.long_description) if p)
    return summary, {p.arg_name: p.description for p in doc.params if p.description}


def tool_from_function(
    fn: Callable[..., Any],
    *,
    description: str | None = None,
    manual: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Tool:
    """A Tool from a typed function: schema from its signature, description from its docstring."""
    try:
        import pydantic
    except ImportError:
        raise _bad(fn, _EXTRA) from None
    fields, context = _parameters(fn)
    summary, param_docs = _docs(fn)
    name = getattr(fn, "__name__", "")
    definitions: dict[str, Any] = {
        key: (annotation, pydantic.Field(default, description=param_docs.get(key)))
        for key, (annotation, default) in fields.items()
    }
    try:
        model = pydantic.create_model(
            f"{name}_arguments", __config__=pydantic.ConfigDict(extra="forbid"), **definitions
        )
        schema = model.model_json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        raise _bad(fn, f"pydantic cannot describe its parameters: {exc}") from exc
    schema.pop("title", None)
    return Tool(
        name=name,
        description=summary if description is None else description,
        schema=schema,
        handler=_handler(fn, model, list(fields), context),
        manual=manual,
        metadata=metadata or {},
    )


def _handler(
    fn: Callable[..., Any], model: type[Any], names: list[str], context_name: str | None
) -> Callable[[dict[str, Any], Any], Any]:
    """The runner-facing handler: validate, build typed arguments, call ``fn``."""
    name = getattr(fn, "__name__", "")

    def arguments(raw: dict[str, Any], context: Any) -> dict[str, Any]:
        import pydantic

        try:
            built = model.model_validate(raw)
        except pydantic.ValidationError as exc:
            raise ToolError("invalid_arguments", f"invalid arguments: {exc}", tool_name=name) from None
        kwargs = {key: getattr(built, key) for key in names}
        if context_name is not None:
            kwargs[context_name] = context
        return kwargs

    if inspect.iscoroutinefunction(fn):

        async def call_async(raw: dict[str, Any], context: Any) -> Any:
            return await fn(**arguments(raw, context))

        return call_async

    def call(raw: dict[str, Any], context: Any) -> Any:
        return fn(**arguments(raw, context))

    return call
