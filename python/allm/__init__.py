"""allm: provider-neutral LLM execution with streaming as the primitive.

One API over OpenAI, Anthropic, Gemini and OpenAI-compatible servers. Every
call is a stream of normalized events (:mod:`allm.events`); non-streaming
calls are folds of that stream. See README.md for a tour.
"""

from . import errors, events, providers, telemetry
from ._backend import BackendInfo, backend_info
from ._chat import (
    AsyncChatStream,
    ChatStream,
    achat,
    astep,
    astream,
    astream_step,
    chat,
    step,
    stream,
    stream_step,
)
from ._collector import StreamCollector
from ._constructors import assistant, image, json_schema, request, system, tool, tool_result, user
from ._cost import Price, set_price
from ._decoding import StreamDecoder, collect
from ._engine import Engine
from ._execution import agenerate, astream_generate, generate, stream_generate
from ._messages import ImagePart, Message, ReasoningPart, TextPart, Thread, ToolCall
from ._output import StructuredOutput
from ._request import Reasoning, Request
from ._results import ChatResult, Response, StepResult
from ._serialization import from_json, to_json
from ._session import AsyncSessionStream, Session, SessionStream
from ._stream import AsyncEventStream, EventStream
from ._tool import Tool
from ._tool_runner import AskUser, Halt, ToolContext, ask_user, halt
from ._usage import Usage
from ._version import __version__
from .errors import ToolError

__all__ = [
    "AskUser",
    "AsyncChatStream",
    "AsyncEventStream",
    "AsyncSessionStream",
    "BackendInfo",
    "ChatResult",
    "ChatStream",
    "Engine",
    "EventStream",
    "Halt",
    "ImagePart",
    "Message",
    "Price",
    "Reasoning",
    "ReasoningPart",
    "Request",
    "Response",
    "Session",
    "SessionStream",
    "StepResult",
    "StreamCollector",
    "StreamDecoder",
    "StructuredOutput",
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
    "set_price",
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
