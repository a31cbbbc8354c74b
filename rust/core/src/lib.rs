//! allm-core: the sans-IO stream core behind `allm._native`, free of PyO3.
//!
//! * [`sse`]: the WHATWG server-sent events decoder, with size limits.
//! * [`wire`]: provider decoders (openai-chat, openai-responses, anthropic, gemini).
//! * [`fold`]: the collector fold, generic over how event payloads are held.
//! * [`filter`]: stream-option filtering.
//! * [`pipeline`]: bytes to events, and `collect` (bytes to fold state).
//! * [`partial`]: the value so far of a growing JSON text (structured output).

pub mod event;
pub mod filter;
pub mod fold;
pub mod lenient;
pub mod partial;
pub mod pipeline;
pub mod sse;
pub mod wire;

pub use event::{Core, CoreError, CoreEvent, ErrorClass, Event, RawData, RawKind, Reasoning, Types, Usage};
pub use filter::Filter;
pub use fold::Fold;
pub use pipeline::{collect, Limits, Pipeline, DEFAULT_LIMIT, DEFAULT_RESPONSE_LIMIT};
pub use sse::{SseDecoder, SseError, SseEvent, SseEventRef};
pub use wire::Wire;

/// The crate version; equals the Python package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
