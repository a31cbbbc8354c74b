"""Typed structured output: an output type in, a validated object out (I/O-free).

``allm.request(messages, output_type=T)`` accepts anything pydantic's
``TypeAdapter`` handles (a pydantic model, a dataclass, a TypedDict,
``list[...]``, ...; pydantic is the optional extra ``allm-engine[pydantic]``),
a raw JSON schema dict, or the value of :func:`allm.json_schema` (both without
pydantic, validated with ``jsonschema`` when it is installed).

For a Python type allm derives the strict JSON schema (:mod:`allm._schema`) and
sends it as ``response_format`` (the providers translate it: OpenAI
``response_format`` / Responses ``text.format`` with ``strict``, Anthropic
``output_config.format``, Gemini ``responseJsonSchema``). A type whose schema
is not an object (``list[...]``, a scalar, a union) is wrapped as
``{"result": ...}`` on the wire, since strict modes need an object at the top,
and unwrapped when validating.

The folded Response carries a :class:`StructuredOutput`: the raw JSON text,
the output type's name, the validation error if any, and (runtime only, never
serialized) the validated object.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import telemetry
from ._messages import Message
from ._schema import as_dict, strict_schema
from .errors import ValidationError

if TYPE_CHECKING:
    from ._request import Request
    from ._results import Response

__all__ = [
    "DEFAULT_OUTPUT_RETRIES",
    "NOT_VALIDATED",
    "OutputRetries",
    "OutputSpec",
    "StructuredOutput",
    "attach_output",
    "output_format",
    "parsed_value",
    "retry_message",
    "revalidate",
]

WRAP_KEY = "result"
DEFAULT_OUTPUT_RETRIES = 1
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_MODULE_PATH = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")
_PREVIEW = 200


class _NotValidated:
    """The value of a StructuredOutput loaded from JSON before it is re-validated."""

    def __repr__(self) -> str:
        return "NOT_VALIDATED"


NOT_VALIDATED: Any = _NotValidated()


@dataclass(frozen=True, slots=True)
class StructuredOutput:
    """The structured answer of a Response: raw JSON text, type name, error or object.

    ``value`` is runtime-only: it is never serialized, and a loaded output holds
    ``NOT_VALIDATED`` until :meth:`allm.Response.validate_output` is called.
    """

    type_name: str
    raw: str
    error: ValidationError | None = None
    value: Any = field(default=NOT_VALIDATED, compare=False, repr=False)


def _invalid(reason: str, message: str, raw: str = "", **extra: Any) -> ValidationError:
    preview = raw if len(raw) <= _PREVIEW else raw[:_PREVIEW] + "..."
    text = f"{message}; raw output: {preview!r}" if raw else message
    return ValidationError(reason, text, **extra)


def type_name(output_type: Any) -> str:
    """A readable name for ``output_type`` (module paths dropped): ``City``, ``list[City]``."""
    if isinstance(output_type, type):
        return output_type.__qualname__
    return _MODULE_PATH.sub("", str(output_type)).replace("typing.", "")


def _schema_name(name: str) -> str:
    return _NAME_CHARS.sub("_", name)[:64] or "response"


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """How one output type is asked for and validated."""

    name: str
    type_name: str
    schema: dict[str, Any]
    strict: bool
    wrapped: bool
    validate_text: Callable[[str], Any] = field(repr=False, compare=False)
    validate_partial: Callable[[Any], Any] = field(repr=False, compare=False)

    @staticmethod
    def of(output_type: Any) -> OutputSpec:
        """The spec of ``output_type``; raises ``ValidationError`` when it is unusable."""
        raw = as_dict(output_type)
        if raw is not None:
            return _raw_spec(raw)
        try:
            hash(output_type)
        except TypeError:  # unhashable: built each time
            return _typed_spec(output_type)
        return _cached_typed_spec(output_type)

    def response_format(self) -> dict[str, Any]:
        """The ``response_format`` value (as :func:`allm.json_schema` builds it)."""
        return {"type": "json_schema", "name": self.name, "schema": self.schema, "strict": self.strict}


def output_format(output_type: Any) -> dict[str, Any]:
    """The ``response_format`` for ``output_type``."""
    return OutputSpec.of(output_type).response_format()


def _bad_type(why: str) -> ValidationError:
    return ValidationError("invalid_request", errors=[("output_type", why)])


def _raw_spec(schema: dict[str, Any]) -> OutputSpec:
    if schema.get("type") == "json_schema" and isinstance(schema.get("schema"), dict):
        name = str(schema.get("name") or "response")
        body: dict[str, Any] = schema["schema"]
        strict = bool(schema.get("strict", True))
    else:
        name, body, strict = "response", schema, True
    check = _json_schema_check(body)

    def validate_text(text: str) -> Any:
        value = _loads(text)
        check(value, text)
        return value

    return OutputSpec(name, name, body, strict, False, validate_text, lambda value: value)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _invalid("invalid_output", f"the answer is not valid JSON ({exc})", text) from exc


def _json_schema_check(schema: dict[str, Any]) -> Callable[[Any, str], None]:
    try:
        from jsonschema import validators  # type: ignore[import-untyped]
    except ImportError:  # optional: without jsonschema only the JSON syntax is checked
        return lambda value, text: None
    validator = validators.validator_for(schema)(schema)

    def check(value: Any, text: str) -> None:
        problems = [
            (".".join(map(str, e.absolute_path)) or "$", e.message) for e in validator.iter_errors(value)
        ]
        if problems:
            raise _invalid("invalid_output", _problems_text(problems), text, errors=problems)

    return check


def _problems_text(problems: list[tuple[str, str]]) -> str:
    return "the answer does not match the output type: " + "; ".join(f"{p}: {w}" for p, w in problems)


def _typed_spec(output_type: Any) -> OutputSpec:
    try:
        import pydantic
    except ImportError:
        raise _bad_type("a Python output type needs pydantic: pip install 'allm-engine[pydantic]'") from None
    try:
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(output_type)
        schema = adapter.json_schema()
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError) as exc:
        raise _bad_type(f"pydantic cannot build a schema for {output_type!r}: {exc}") from exc
    name = type_name(output_type)
    wrapped = schema.get("type") != "object"
    if wrapped:
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {WRAP_KEY: schema}}
        if defs:
            schema["$defs"] = defs
    return OutputSpec(
        _schema_name(name),
        name,
        strict_schema(schema),
        True,
        wrapped,
        functools.partial(_validate_typed, adapter, wrapped),
        functools.partial(_validate_partial, adapter, wrapped),
    )


_cached_typed_spec = functools.lru_cache(maxsize=256)(_typed_spec)


def _pydantic_problems(exc: Any) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]) or "$", str(e["msg"])) for e in exc.errors()]


_MISSING: Any = object()


def _unwrap(value: Any) -> Any:
    """The wrapped value of ``{"result": value}``, or ``_MISSING``."""
    mapping = as_dict(value)
    return _MISSING if mapping is None else mapping.get(WRAP_KEY, _MISSING)


def _validate_typed(adapter: Any, wrapped: bool, text: str) -> Any:
    import pydantic

    value: Any = _loads(text)
    if wrapped:
        value = _unwrap(value)
        if value is _MISSING:
            raise _invalid("invalid_output", f"the answer is not an object with a {WRAP_KEY!r} key", text)
    try:
        return adapter.validate_json(json.dumps(value)) if wrapped else adapter.validate_json(text)
    except pydantic.ValidationError as exc:
        problems = _pydantic_problems(exc)
        raise _invalid("invalid_output", _problems_text(problems), text, errors=problems) from None


def _validate_partial(adapter: Any, wrapped: bool, value: Any) -> Any:
    import pydantic

    if wrapped:
        value = _unwrap(value)
        if value is _MISSING:
            return None
    try:
        return adapter.validate_python(value, experimental_allow_partial="trailing-strings")
    except pydantic.ValidationError:
        return None


# -- outcomes -------------------------------------------------------------------------


def _failure(response: Response[Any]) -> ValidationError | None:
    """Why ``response`` cannot hold a structured answer at all (before parsing), or None."""
    raw = response.output_text
    if response.finish_reason == "content_filter":
        return _invalid("output_refused", "the model refused to answer (finish_reason 'content_filter')", raw)
    if response.finish_reason == "error":
        return _invalid("invalid_output", f"the call failed before a complete answer: {response.error}", raw)
    if response.tool_calls and not raw:
        return _invalid("invalid_output", "the model called tools instead of giving the structured answer")
    return None


def outcome(spec: OutputSpec, response: Response[Any]) -> StructuredOutput:
    """The StructuredOutput of ``response`` for ``spec``."""
    raw = response.output_text
    error = _failure(response)
    if error is not None:
        return StructuredOutput(spec.type_name, raw, error)
    try:
        value = spec.validate_text(raw)
    except ValidationError as exc:
        if response.finish_reason == "length":
            exc = _invalid(
                "output_truncated",
                "the answer was cut off (finish_reason 'length') before the JSON was complete; "
                "raise max_tokens",
                raw,
                errors=exc.errors,
            )
        return StructuredOutput(spec.type_name, raw, exc)
    return StructuredOutput(spec.type_name, raw, None, value)


def attach_output(response: Response[Any], request: Request[Any]) -> Response[Any]:
    """``response`` with its StructuredOutput when ``request`` has an output type."""
    if request.output_type is None:
        return response
    return replace(response, output=outcome(OutputSpec.of(request.output_type), response))


def parsed_value(output: StructuredOutput | None) -> Any:
    """The validated object of ``output``; raises the parse error (or why there is none)."""
    if output is None:
        raise ValidationError(
            "invalid_output", "this response has no structured output: pass output_type to allm.request"
        )
    if output.error is not None:
        raise output.error
    if output.value is NOT_VALIDATED:
        raise ValidationError(
            "invalid_output",
            f"the {output.type_name} output was loaded from JSON and is not validated yet: "
            "call validate_output(<the output type>) first",
        )
    return output.value


def revalidate(output: StructuredOutput | None, output_type: Any) -> StructuredOutput:
    """``output`` validated again (from its raw JSON) against ``output_type``."""
    if output is None:
        raise ValidationError("invalid_output", "this response has no structured output to validate")
    spec = OutputSpec.of(output_type)
    if spec.type_name != output.type_name:
        raise ValidationError(
            "invalid_output", f"the saved output is a {output.type_name}, not a {spec.type_name}"
        )
    if output.error is not None and output.error.reason == "output_refused":
        return output
    try:
        return StructuredOutput(output.type_name, output.raw, None, spec.validate_text(output.raw))
    except ValidationError as exc:
        return StructuredOutput(output.type_name, output.raw, exc)


def retry_message(error: ValidationError) -> Message | None:
    """The follow-up user message asking the model to fix its answer (None: do not retry)."""
    if error.reason == "output_refused":
        return None
    if error.reason == "output_truncated":
        why = "Your previous answer was cut off before the JSON was complete."
    elif error.errors:
        why = "Your previous answer did not match the required schema: " + "; ".join(
            f"{path}: {problem}" for path, problem in error.errors
        )
    else:
        why = "Your previous answer was not valid JSON."
    text = f"{why}\nReply again with only the complete JSON value, matching the schema exactly."
    return Message(role="user", content=text)


class OutputRetries:
    """The chat loop's retry-on-invalid-output policy (``output_retries=N``), I/O-free.

    After each final answer, :meth:`follow_up` gives the user message to append
    (and run one more model call) or None when the answer validated, was a
    refusal, or the retries are spent. Each retry is a telemetry event
    ``allm.output.retry``; :meth:`summary` is what goes into the ChatResult's
    metadata. Thread-safety: one instance per chat loop.
    """

    def __init__(self, retries: Any = DEFAULT_OUTPUT_RETRIES) -> None:
        if type(retries) is not int or retries < 0:
            raise ValidationError("invalid_options", errors=[("output_retries", "must be an int >= 0")])
        self.retries = retries
        self.used = 0
        self.last_error: ValidationError | None = None

    def follow_up(self, response: Response[Any]) -> Message | None:
        """The follow-up message asking for a valid answer, or None to stop here."""
        self.last_error = response.parse_error
        if self.last_error is None or self.used >= self.retries:
            return None
        message = retry_message(self.last_error)
        if message is not None:
            self.used += 1
            telemetry.emit(
                "allm.output.retry",
                {"attempt": self.used, "of": self.retries, "reason": self.last_error.reason},
            )
        return message

    def summary(self) -> dict[str, Any]:
        """``{"retries": used, "outcome": "parsed" or the last error's reason}``."""
        outcome = "parsed" if self.last_error is None else self.last_error.reason
        return {"retries": self.used, "outcome": outcome}
