"""allm: provider-neutral LLM execution with streaming as the primitive.

One API over OpenAI, Anthropic, Gemini and OpenAI-compatible servers. Every
call is a stream of normalized events (:mod:`allm.events`); non-streaming
calls are folds of that stream. See README.md for a tour.
"""

from . import errors, events, providers, telemetry
from ._backend import backend_info
from ._decoding import StreamDecoder, collect
from ._version import __version__
from .chat import achat, astep, astream, astream_step, chat, step, stream, stream_step
from .collector import StreamCollector
from .constructors import assistant, image, json_schema, request, system, tool, tool_result, user
from .engine import Engine
from .errors import ToolError
from .execution import agenerate, astream_generate, generate, stream_generate
from .messages import ImagePart, Message, TextPart, Thread, ToolCall
from .request import Request
from .results import ChatResult, Response, StepResult
from .serialization import from_json, to_json
from .session import Session
from .stream import AsyncEventStream, EventStream
from .tool import Tool
from .tool_runner import ToolContext, ask_user, halt
from .usage import Usage

__all__ = [
    "AsyncEventStream",
    "ChatResult",
    "Engine",
    "EventStream",
    "ImagePart",
    "Message",
    "Request",
    "Response",
    "Session",
    "StepResult",
    "StreamCollector",
    "StreamDecoder",
    "TextPart",
    "Thread",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolError",
    "Usage",
    "__version__",
    "achat",
    "agenerate",
    "ask_user",
    "assistant",
    "astep",
    "astream",
    "astream_generate",
    "astream_step",
    "backend_info",
    "chat",
    "collect",
    "errors",
    "events",
    "from_json",
    "generate",
    "halt",
    "image",
    "json_schema",
    "providers",
    "request",
    "step",
    "stream",
    "stream_generate",
    "stream_step",
    "system",
    "telemetry",
    "to_json",
    "tool",
    "tool_result",
    "user",
]
