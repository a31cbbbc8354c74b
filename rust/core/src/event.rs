//! Message-level events, generic over how their payloads are represented.
//!
//! The native pipeline uses [`Core`] (plain Rust values); the bindings use a
//! Python-backed implementation of [`Types`] so that the same [`crate::fold::Fold`]
//! runs over Python event objects.

use serde_json::{Map, Value};

/// How event payloads are represented, and the few operations the fold needs.
pub trait Types {
    /// Strings: text pieces, names, finish reasons, message ids and models.
    type Str;
    /// Tool-call ids.
    type Id;
    /// Parsed tool-call arguments.
    type Args;
    /// A metadata mapping.
    type Meta;
    /// A raw chunk (kind and data).
    type Raw;
    /// Usage as carried by a `raw_chunk` of kind "usage".
    type Usage;
    /// An error value.
    type Error;
    /// A finished reasoning part, as carried by a `raw_chunk` of kind "reasoning".
    type Part;
    /// Accumulated text.
    type Text: Default;
    /// Accumulated message metadata.
    type MetaAcc: Default;

    /// What tool calls are keyed by: ids with equal keys are the same call.
    fn key(id: &Self::Id) -> &str;
    fn text_push(acc: &mut Self::Text, piece: Self::Str);
    fn text_set(acc: &mut Self::Text, text: Self::Str);
    fn is_empty(s: &Self::Str) -> bool;
    fn meta_update(acc: &mut Self::MetaAcc, meta: Self::Meta);
    /// What a raw chunk carries that the fold keeps: usage or a reasoning part.
    fn raw_kind(raw: Self::Raw) -> RawKind<Self::Usage, Self::Part>;
    /// Where a reasoning part goes in the message: the length of text before it
    /// (in the unit the response builder converts to characters).
    fn anchor(part: &Self::Part, text: &Self::Text) -> usize;
}

/// The raw chunks the fold keeps.
pub enum RawKind<U, P> {
    /// kind "usage".
    Usage(U),
    /// kind "reasoning".
    Reasoning(P),
    /// Any other kind (ignored).
    Other,
}

/// One message-level event (the ones the fold and the wire decoders know).
#[derive(Debug, Clone, PartialEq)]
pub enum Event<T: Types> {
    MessageStarted {
        id: Option<T::Str>,
        model: Option<T::Str>,
    },
    TextDelta {
        delta: T::Str,
    },
    TextCompleted {
        text: T::Str,
    },
    ToolCallStarted {
        id: T::Id,
        name: T::Str,
    },
    ToolCallDelta {
        id: T::Id,
        delta: T::Str,
    },
    ToolCallCompleted {
        id: T::Id,
        name: T::Str,
        arguments: T::Args,
        raw_arguments: T::Str,
        metadata: T::Meta,
    },
    MessageCompleted {
        finish_reason: Option<T::Str>,
        raw_finish_reason: Option<T::Str>,
        metadata: T::Meta,
    },
    RawChunk(T::Raw),
    Error(T::Error),
    /// Any event the fold ignores.
    Other,
}

impl<T: Types> Event<T> {
    /// Whether this event ends the message (`message_completed` or `error`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Event::MessageCompleted { .. } | Event::Error(_))
    }
}

/// Token counts (mirrors `allm.usage.Usage`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cached_input_tokens: i64,
    pub cache_write_input_tokens: i64,
    pub reasoning_tokens: i64,
    pub extra: Map<String, Value>,
}

impl Usage {
    /// Whether any count is non-zero: an all-zero usage is a placeholder
    /// (docs/internals.md §6.3), not a report.
    pub fn is_counted(&self) -> bool {
        [
            self.input_tokens,
            self.output_tokens,
            self.total_tokens,
            self.cached_input_tokens,
            self.cache_write_input_tokens,
            self.reasoning_tokens,
        ]
        .iter()
        .any(|n| *n != 0)
    }
}

/// Raw chunks the decoders produce.
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    /// kind "usage": the final usage.
    Usage(Usage),
    /// kind "reasoning_delta": a piece of reasoning text.
    ReasoningDelta(String),
    /// kind "reasoning": a finished reasoning part.
    Reasoning(Reasoning),
}

/// A finished reasoning part (`allm.ReasoningPart`): the text the provider showed
/// and its opaque tokens, to be sent back on the next turn.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reasoning {
    /// Bytes of message text decoded before this part (its place in the content).
    pub at: usize,
    pub text: String,
    /// Anthropic thinking signature; Gemini thoughtSignature.
    pub signature: Option<String>,
    /// Anthropic redacted_thinking data.
    pub redacted: Option<String>,
    /// Responses reasoning item id.
    pub id: Option<String>,
    /// Responses reasoning item encrypted_content.
    pub encrypted_content: Option<String>,
    /// "anthropic", "openai" or "gemini".
    pub provider: &'static str,
}

impl RawData {
    pub fn kind(&self) -> &'static str {
        match self {
            RawData::Usage(_) => "usage",
            RawData::ReasoningDelta(_) => "reasoning_delta",
            RawData::Reasoning(_) => "reasoning",
        }
    }
}

/// Which allm error class an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `allm.errors.StreamError`.
    Stream,
    /// `allm.errors.AdapterError` with the given provider.
    Adapter { provider: &'static str },
    /// An error supplied from outside (e.g. the transport error given to `fail`);
    /// the bindings keep the actual object.
    External,
}

/// An error produced by the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreError {
    pub class: ErrorClass,
    pub reason: &'static str,
    /// `None` gives the error class's default message.
    pub message: Option<String>,
}

impl CoreError {
    pub fn stream(reason: &'static str, message: impl Into<String>) -> Self {
        CoreError { class: ErrorClass::Stream, reason, message: Some(message.into()) }
    }
    pub fn adapter(provider: &'static str, reason: &'static str, message: Option<String>) -> Self {
        CoreError { class: ErrorClass::Adapter { provider }, reason, message }
    }
    pub fn external() -> Self {
        CoreError { class: ErrorClass::External, reason: "unknown", message: None }
    }
}

/// Plain-Rust payloads: what the wire decoders produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Core;

impl Types for Core {
    type Str = String;
    type Id = String;
    type Args = Map<String, Value>;
    type Meta = Map<String, Value>;
    type Raw = RawData;
    type Usage = Usage;
    type Error = CoreError;
    type Part = Reasoning;
    type Text = String;
    type MetaAcc = Map<String, Value>;

    fn key(id: &String) -> &str {
        id
    }
    fn text_push(acc: &mut String, piece: String) {
        if acc.is_empty() {
            *acc = piece;
        } else {
            acc.push_str(&piece);
        }
    }
    fn text_set(acc: &mut String, text: String) {
        *acc = text;
    }
    fn is_empty(s: &String) -> bool {
        s.is_empty()
    }
    fn meta_update(acc: &mut Map<String, Value>, meta: Map<String, Value>) {
        for (k, v) in meta {
            acc.insert(k, v);
        }
    }
    fn raw_kind(raw: RawData) -> RawKind<Usage, Reasoning> {
        match raw {
            RawData::Usage(u) => RawKind::Usage(u),
            RawData::Reasoning(r) => RawKind::Reasoning(r),
            RawData::ReasoningDelta(_) => RawKind::Other,
        }
    }
    fn anchor(part: &Reasoning, _text: &String) -> usize {
        part.at
    }
}

/// A core event.
pub type CoreEvent = Event<Core>;
