//! Provider wire decoders: SSE events in, core events out (docs/internals.md §4).

use std::str::FromStr;

use crate::event::{CoreError, CoreEvent};
use crate::sse::SseEventRef;

pub mod anthropic;
mod canonical;
mod common;
mod errors;
pub mod gemini;
mod json;
pub mod openai_chat;
pub mod openai_responses;
mod redact;
mod usage;

pub use canonical::{canonical_dumps, py_float_repr};
pub use common::{msg_argument_limit, MSG_INCOMPLETE};
pub(crate) use common::{Common, WireDecoder};
pub use errors::{provider_error, status_reason};
pub use json::{normalize_negative_zero, parse_arguments, parse_json, MSG_MALFORMED, MSG_NOT_OBJECT};
pub use redact::redact;

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

impl AnyDecoder {
    /// Fold-only mode: no `text_delta` / reasoning `raw_chunk` events.
    pub fn set_fold_only(&mut self) {
        self.common().fold_only = true;
    }

    /// The text accumulated since the last `text_completed` (taken).
    pub fn take_partial_text(&mut self) -> String {
        std::mem::take(&mut self.common().text)
    }
}

impl WireDecoder for AnyDecoder {
    fn common(&mut self) -> &mut Common {
        match self {
            AnyDecoder::OpenAiChat(d) => &mut d.c,
            AnyDecoder::OpenAiResponses(d) => &mut d.c,
            AnyDecoder::Anthropic(d) => &mut d.c,
            AnyDecoder::Gemini(d) => &mut d.c,
        }
    }
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
