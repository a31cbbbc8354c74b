//! Provider wire decoders: SSE events in, core events out (docs/internals.md §4).

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::event::{CoreError, CoreEvent, Event, RawData, Usage};
use crate::sse::SseEventRef;

pub mod anthropic;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;

/// The four wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    OpenAiChat,
    OpenAiResponses,
    Anthropic,
    Gemini,
}

impl Wire {
    pub fn name(self) -> &'static str {
        match self {
            Wire::OpenAiChat => "openai-chat",
            Wire::OpenAiResponses => "openai-responses",
            Wire::Anthropic => "anthropic",
            Wire::Gemini => "gemini",
        }
    }
}

/// The error for an unknown wire name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWire(pub String);

impl std::fmt::Display for UnknownWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown wire {:?}; expected one of 'openai-chat', 'openai-responses', 'anthropic', 'gemini'", self.0)
    }
}

impl std::error::Error for UnknownWire {}

impl FromStr for Wire {
    type Err = UnknownWire;
    fn from_str(s: &str) -> Result<Self, UnknownWire> {
        match s {
            "openai-chat" => Ok(Wire::OpenAiChat),
            "openai-responses" => Ok(Wire::OpenAiResponses),
            "anthropic" => Ok(Wire::Anthropic),
            "gemini" => Ok(Wire::Gemini),
            other => Err(UnknownWire(other.to_owned())),
        }
    }
}

/// Message text of the shared stream errors.
pub const MSG_MALFORMED: &str = "SSE data is not valid JSON";
pub const MSG_INCOMPLETE: &str = "the stream ended before the message completed";
pub fn msg_argument_limit(limit: usize) -> String {
    format!("tool call arguments longer than max_argument_bytes ({limit} bytes)")
}

/// State every decoder keeps: message start, text, usage, reasoning, calls.
#[derive(Debug, Default)]
pub(crate) struct Common {
    pub started: bool,
    pub text: String,
    pub usage: Option<Usage>,
    pub reasoning: Option<String>,
    pub calls: Vec<Call>,
    pub max_argument_bytes: Option<usize>,
}

/// A tool call being assembled.
#[derive(Debug, Default)]
pub(crate) struct Call {
    pub id: Option<String>,
    pub name: Option<String>,
    pub raw: String,
    /// Final arguments text that replaces the accumulated deltas.
    pub final_raw: Option<String>,
    /// Fragments seen before the call started.
    pub buffered: Vec<String>,
    pub started: bool,
    pub completed: bool,
    pub metadata: Map<String, Value>,
}

impl Common {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Common { max_argument_bytes, ..Default::default() }
    }

    pub fn start(&mut self, id: Option<&str>, model: Option<&str>, out: &mut Vec<CoreEvent>) {
        if !self.started {
            self.started = true;
            out.push(Event::MessageStarted { id: id.map(str::to_owned), model: model.map(str::to_owned) });
        }
    }

    pub fn text_delta(&mut self, delta: &str, out: &mut Vec<CoreEvent>) {
        if !delta.is_empty() {
            self.text.push_str(delta);
            out.push(Event::TextDelta { delta: delta.to_owned() });
        }
    }

    pub fn reasoning_delta(&mut self, delta: &str, out: &mut Vec<CoreEvent>) {
        if !delta.is_empty() {
            self.reasoning.get_or_insert_with(String::new).push_str(delta);
            out.push(Event::RawChunk(RawData::ReasoningDelta(delta.to_owned())));
        }
    }

    /// Checks an argument text length against max_argument_bytes.
    pub fn check_args(&self, len: usize) -> Result<(), CoreError> {
        match self.max_argument_bytes {
            Some(limit) if len > limit => Err(CoreError::stream("limit_exceeded", msg_argument_limit(limit))),
            _ => Ok(()),
        }
    }

    /// Starts call `i` if it has an id and a name, flushing buffered fragments.
    pub fn maybe_start_call(&mut self, i: usize, out: &mut Vec<CoreEvent>) {
        let call = &mut self.calls[i];
        if call.started {
            return;
        }
        if let (Some(id), Some(name)) = (&call.id, &call.name) {
            call.started = true;
            out.push(Event::ToolCallStarted { id: id.clone(), name: name.clone() });
            for fragment in std::mem::take(&mut call.buffered) {
                out.push(Event::ToolCallDelta { id: id.clone(), delta: fragment });
            }
        }
    }

    /// Appends an argument fragment to call `i` (emitting a delta once started).
    pub fn call_delta(&mut self, i: usize, fragment: &str, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if fragment.is_empty() {
            return Ok(());
        }
        self.check_args(self.calls[i].raw.len() + fragment.len())?;
        let call = &mut self.calls[i];
        call.raw.push_str(fragment);
        if call.started {
            out.push(Event::ToolCallDelta { id: call.id.clone().unwrap_or_default(), delta: fragment.to_owned() });
        } else {
            call.buffered.push(fragment.to_owned());
        }
        Ok(())
    }

    /// Emits tool_call_completed for call `i`.
    pub fn complete_call(&mut self, i: usize, out: &mut Vec<CoreEvent>) {
        let call = &mut self.calls[i];
        if call.completed {
            return;
        }
        call.completed = true;
        let raw = call.final_raw.take().unwrap_or_else(|| call.raw.clone());
        out.push(Event::ToolCallCompleted {
            id: call.id.clone().unwrap_or_default(),
            name: call.name.clone().unwrap_or_default(),
            arguments: parse_arguments(&raw),
            raw_arguments: raw,
            metadata: std::mem::take(&mut call.metadata),
        });
    }

    /// The end of the message: pending calls, text_completed, usage, message_completed.
    pub fn finish(
        &mut self,
        finish_reason: Option<&'static str>,
        raw_finish_reason: Option<String>,
        out: &mut Vec<CoreEvent>,
    ) {
        for i in 0..self.calls.len() {
            self.complete_call(i, out);
        }
        if !self.text.is_empty() {
            out.push(Event::TextCompleted { text: std::mem::take(&mut self.text) });
        }
        if let Some(usage) = self.usage.take() {
            out.push(Event::RawChunk(RawData::Usage(usage)));
        }
        let mut metadata = Map::new();
        if let Some(reasoning) = self.reasoning.take() {
            metadata.insert("reasoning".to_owned(), Value::String(reasoning));
        }
        out.push(Event::MessageCompleted {
            finish_reason: finish_reason.map(str::to_owned),
            raw_finish_reason,
            metadata,
        });
    }
}

/// Tool-call arguments: a JSON object, else `{}` (empty text, bad JSON, not an object).
pub fn parse_arguments(raw: &str) -> Map<String, Value> {
    if raw.is_empty() {
        return Map::new();
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Maps a provider error type or code to an AdapterError reason (§5).
pub fn adapter_reason(kind: Option<&str>, code: Option<&str>) -> &'static str {
    for key in [kind, code].into_iter().flatten() {
        let reason = match key {
            "rate_limit_error" | "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => "rate_limited",
            "overloaded_error" | "api_error" | "server_error" | "UNAVAILABLE" | "INTERNAL" => "provider_unavailable",
            "authentication_error" | "invalid_api_key" | "permission_error" => "authentication_failed",
            "invalid_request_error" => {
                if code == Some("context_length_exceeded") {
                    "context_length_exceeded"
                } else {
                    "invalid_request"
                }
            }
            "context_length_exceeded" => "context_length_exceeded",
            _ => continue,
        };
        return reason;
    }
    "unknown"
}

/// Reads an integer field of a JSON object (`None` when absent, null or not an integer).
pub(crate) fn int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64)
}

pub(crate) fn obj<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

pub(crate) fn string<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key).and_then(Value::as_str)
}

/// A wire decoder: one SSE event at a time; pushes events to `out`.
pub trait WireDecoder {
    /// Decodes one SSE event. Returns an error event's payload on failure.
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError>;
    /// End of body before a terminal event was produced.
    fn on_close(&mut self, out: &mut Vec<CoreEvent>) -> Result<(), CoreError>;
}

/// One of the four decoders.
pub enum AnyDecoder {
    OpenAiChat(openai_chat::Decoder),
    OpenAiResponses(openai_responses::Decoder),
    Anthropic(anthropic::Decoder),
    Gemini(gemini::Decoder),
}

impl AnyDecoder {
    pub fn new(wire: Wire, max_argument_bytes: Option<usize>) -> Self {
        match wire {
            Wire::OpenAiChat => AnyDecoder::OpenAiChat(openai_chat::Decoder::new(max_argument_bytes)),
            Wire::OpenAiResponses => AnyDecoder::OpenAiResponses(openai_responses::Decoder::new(max_argument_bytes)),
            Wire::Anthropic => AnyDecoder::Anthropic(anthropic::Decoder::new(max_argument_bytes)),
            Wire::Gemini => AnyDecoder::Gemini(gemini::Decoder::new(max_argument_bytes)),
        }
    }
}

impl WireDecoder for AnyDecoder {
    #[inline]
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        match self {
            AnyDecoder::OpenAiChat(d) => d.on_event(event, out),
            AnyDecoder::OpenAiResponses(d) => d.on_event(event, out),
            AnyDecoder::Anthropic(d) => d.on_event(event, out),
            AnyDecoder::Gemini(d) => d.on_event(event, out),
        }
    }
    fn on_close(&mut self, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        match self {
            AnyDecoder::OpenAiChat(d) => d.on_close(out),
            AnyDecoder::OpenAiResponses(d) => d.on_close(out),
            AnyDecoder::Anthropic(d) => d.on_close(out),
            AnyDecoder::Gemini(d) => d.on_close(out),
        }
    }
}

/// Parses a payload as a JSON value of type `T` wrapped leniently; `Err` when it is not JSON.
pub(crate) fn parse<'a, T: serde::Deserialize<'a>>(data: &'a str) -> Result<T, CoreError> {
    serde_json::from_str(data).map_err(|_| CoreError::stream("malformed_event", MSG_MALFORMED))
}
