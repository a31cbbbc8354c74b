"""Telemetry: callbacks and OpenTelemetry, both fed by the same spans.

Every allm operation (a model call, a chat step, a chat loop, a tool run, a
session operation) is one span (see :mod:`allm._spans` for kinds, names and
attributes). Two views of the same spans:

* **OpenTelemetry** (``pip install allm-engine[otel]``): with ``opentelemetry-api``
  installed and a tracer provider configured, allm emits spans and metrics by
  the GenAI semantic conventions (``chat {model}``, ``execute_tool {name}``,
  ``gen_ai.client.token.usage``, ``gen_ai.client.operation.duration``, time to
  first chunk, time per output chunk). Content (prompts, completions, tool
  arguments and results) is recorded only after :func:`capture_content` or with
  ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
* **Callbacks**: :func:`add_handler` registers ``handler(name, payload)``, called
  with ``allm.<kind>.start`` / ``.stop`` / ``.exception`` (and point events such
  as ``allm.adapter.retry``). Every payload carries ``request_id``, ``span_id``
  and ``parent_id``; stop and exception payloads carry ``duration_ms``. A
  handler that raises is logged and ignored, so telemetry never breaks a call.

Neither view ever holds an API key.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from ._spans import Handler, add_handler, capture_content, content_captured, emit, remove_handler, start

__all__ = ["Handler", "add_handler", "capture_content", "content_captured", "emit", "remove_handler", "span"]


@contextmanager
def span(kind: str, name: str | None = None, **metadata: Any) -> Generator[dict[str, Any], None, None]:
    """A span of ``kind`` around the block, current inside it; yields a dict merged into the stop payload."""
    current = start(kind, name or f"allm.{kind}", **metadata)
    with current.active():
        try:
            yield current.extra
        except BaseException as exc:
            current.end(exc)
            raise
    current.end()
