"""allm: provider-neutral LLM execution with streaming as the primitive.

One API over OpenAI, Anthropic, Gemini and OpenAI-compatible servers. Every
call is a stream of normalized events (:mod:`allm.events`); non-streaming
calls are folds of that stream. See README.md for a tour.
"""

from . import errors, events, providers, telemetry
from ._backend import backend_info
from ._version import __version__
from .collector import StreamCollector
from .constructors import assistant, image, json_schema, request, system, tool, tool_result, user
from .decoding import StreamDecoder, collect
from .engine import Engine
from .execution import agenerate, astream_generate, generate, stream_generate
from .messages import ImagePart, Message, TextPart, Thread, ToolCall
from .request import Request
from .results import ChatResult, Response, StepResult
from .serialization import from_json, to_json
from .stream import AsyncEventStream, EventStream
from .tool import Tool
from .usage import Usage
from .errors import ToolError
from .tool_runner import ToolContext, ask_user, halt
from .chat import achat, astep, astream, astream_step, chat, step, stream, stream_step
from .session import Session

__all__ = [
    "Session",
    "ToolContext",
    "ToolError",
    "achat",
    "ask_user",
    "astep",
    "astream",
    "astream_step",
    "chat",
    "halt",
    "step",
    "stream",
    "stream_step",
    "AsyncEventStream",
    "ChatResult",
    "Engine",
    "EventStream",
    "ImagePart",
    "Message",
    "Request",
    "Response",
    "StepResult",
    "StreamCollector",
    "StreamDecoder",
    "TextPart",
    "Thread",
    "Tool",
    "ToolCall",
    "Usage",
    "__version__",
    "agenerate",
    "assistant",
    "astream_generate",
    "backend_info",
    "collect",
    "errors",
    "events",
    "from_json",
    "generate",
    "image",
    "json_schema",
    "providers",
    "telemetry",
    "request",
    "stream_generate",
    "system",
    "to_json",
    "tool",
    "tool_result",
    "user",
]
