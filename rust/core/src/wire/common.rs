//! What every wire decoder shares: the message lifecycle, text, usage,
//! reasoning and tool-call assembly. Mirrors the pure twin's `_base.py`.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::json::parse_arguments;
use crate::event::{CoreError, CoreEvent, Event, RawData, Reasoning, Usage};
use crate::sse::SseEventRef;

/// Message text of the shared stream errors (docs/internals.md §6).
pub const MSG_INCOMPLETE: &str = "stream ended before the provider's terminal event";
pub const MSG_SHARED_ID: &str = "two tool calls in one message share an id";
pub fn msg_argument_limit(limit: usize) -> String {
    format!("tool call arguments exceed max_argument_bytes ({limit})")
}

/// State every decoder keeps: message start, text, usage, reasoning, calls.
#[derive(Debug, Default)]
pub(crate) struct Common {
    pub started: bool,
    pub text: String,
    pub usage: Option<Usage>,
    /// Reasoning text not yet in a part.
    pub reasoning: Option<String>,
    /// Whose reasoning tokens these are ("anthropic", "openai", "gemini").
    pub provider: &'static str,
    pub calls: Vec<Call>,
    /// The ids of the calls started so far (two calls may not share one).
    ids: HashSet<String>,
    /// Wire-specific entries of the final `message_completed.metadata`.
    pub metadata: Map<String, Value>,
    pub max_argument_bytes: Option<usize>,
    /// Fold-only mode (the `collect` path): text and reasoning deltas are
    /// accumulated here but not emitted as events; the pipeline hands the
    /// partial text to the fold at the end (see `Pipeline::fold_only`).
    pub fold_only: bool,
}

/// A tool call being assembled.
#[derive(Debug, Default)]
pub(crate) struct Call {
    /// openai-chat: the tool-call index (gives `call_<index>` to a call without id).
    pub key: i128,
    pub id: Option<String>,
    pub name: Option<String>,
    pub raw: String,
    /// Final arguments text that replaces the accumulated deltas.
    pub final_raw: Option<String>,
    /// Arguments given whole when the call began; used when no fragment follows.
    pub initial: Option<String>,
    /// Fragments seen before the call started.
    pub buffered: Vec<String>,
    pub started: bool,
    pub completed: bool,
    pub metadata: Map<String, Value>,
}

impl Common {
    pub fn new(max_argument_bytes: Option<usize>, provider: &'static str) -> Self {
        Common { max_argument_bytes, provider, ..Default::default() }
    }

    pub fn start(&mut self, id: Option<&str>, model: Option<&str>, out: &mut Vec<CoreEvent>) {
        if !self.started {
            self.started = true;
            out.push(Event::MessageStarted { id: id.map(str::to_owned), model: model.map(str::to_owned) });
        }
    }

    pub fn text_delta(&mut self, delta: &str, out: &mut Vec<CoreEvent>) {
        if !delta.is_empty() {
            self.flush_pending(out);
            self.text.push_str(delta);
            if !self.fold_only {
                out.push(Event::TextDelta { delta: delta.to_owned() });
            }
        }
    }

    pub fn reasoning_delta(&mut self, delta: &str, out: &mut Vec<CoreEvent>) {
        if !delta.is_empty() {
            self.reasoning.get_or_insert_with(String::new).push_str(delta);
            if !self.fold_only {
                out.push(Event::RawChunk(RawData::ReasoningDelta(delta.to_owned())));
            }
        }
    }

    /// Ends the current reasoning part: a `reasoning` raw chunk with the reasoning
    /// text since the last part (`fallback` when there is none) and `tokens`
    /// (whose `at`, `text` and `provider` are filled in here).
    pub fn flush_reasoning(&mut self, fallback: &str, tokens: Reasoning, out: &mut Vec<CoreEvent>) {
        let text = match self.reasoning.take() {
            Some(text) if !text.is_empty() => text,
            _ => fallback.to_owned(),
        };
        out.push(Event::RawChunk(RawData::Reasoning(Reasoning {
            at: self.text.len(),
            text,
            provider: self.provider,
            ..tokens
        })));
    }

    /// Reasoning text not yet in a part becomes one (text, a tool call or the end follows).
    pub fn flush_pending(&mut self, out: &mut Vec<CoreEvent>) {
        if self.reasoning.as_ref().is_some_and(|r| !r.is_empty()) {
            self.flush_reasoning("", Reasoning::default(), out);
        }
    }

    /// Checks an argument text length against max_argument_bytes.
    pub fn check_args(&self, len: usize) -> Result<(), CoreError> {
        check_args(self.max_argument_bytes, len)
    }

    /// A new call, started at once when it has an id and a name.
    pub fn new_call(&mut self, call: Call, out: &mut Vec<CoreEvent>) -> Result<usize, CoreError> {
        self.calls.push(call);
        let i = self.calls.len() - 1;
        self.maybe_start_call(i, out)?;
        Ok(i)
    }

    /// The usage to report: `None` unless the wire reported a non-zero count
    /// (an all-zero usage is a placeholder, not a count).
    pub fn take_reported_usage(&mut self) -> Option<Usage> {
        self.usage.take().filter(Usage::is_counted)
    }
}

pub(crate) fn check_args(max_argument_bytes: Option<usize>, len: usize) -> Result<(), CoreError> {
    {
        match max_argument_bytes {
            Some(limit) if len > limit => Err(CoreError::stream("limit_exceeded", msg_argument_limit(limit))),
            _ => Ok(()),
        }
    }
}

impl Common {
    /// Starts call `i` if it has an id and a name, flushing buffered fragments.
    /// A second call with the id of a started one is an error: the fold keys
    /// calls by id, so the first would silently lose its answer.
    pub fn maybe_start_call(&mut self, i: usize, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        let call = &self.calls[i];
        let (false, Some(id), Some(name)) = (call.started, &call.id, &call.name) else {
            return Ok(());
        };
        let (id, name) = (id.clone(), name.clone());
        if !self.ids.insert(id.clone()) {
            return Err(CoreError::stream("malformed_event", MSG_SHARED_ID));
        }
        self.flush_pending(out);
        let call = &mut self.calls[i];
        call.started = true;
        let buffered = std::mem::take(&mut call.buffered);
        out.push(Event::ToolCallStarted { id: id.clone(), name });
        for fragment in buffered {
            out.push(Event::ToolCallDelta { id: id.clone(), delta: fragment });
        }
        Ok(())
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
        if let (true, Some(initial)) = (call.raw.is_empty(), call.initial.take()) {
            out.push(Event::ToolCallDelta { id: call.id.clone().unwrap_or_default(), delta: initial.clone() });
            call.raw = initial;
        }
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
    ) -> Result<(), CoreError> {
        self.flush_pending(out);
        for i in 0..self.calls.len() {
            if !self.calls[i].completed {
                if !self.calls[i].started {
                    let call = &mut self.calls[i];
                    if call.id.is_none() {
                        call.id = Some(format!("call_{}", call.key));
                    }
                    call.name.get_or_insert_with(String::new);
                    self.maybe_start_call(i, out)?;
                }
                self.complete_call(i, out);
            }
        }
        if !self.text.is_empty() {
            out.push(Event::TextCompleted { text: std::mem::take(&mut self.text) });
        }
        if let Some(usage) = self.take_reported_usage() {
            out.push(Event::RawChunk(RawData::Usage(usage)));
        }
        out.push(Event::MessageCompleted {
            finish_reason: finish_reason.map(str::to_owned),
            raw_finish_reason,
            metadata: std::mem::take(&mut self.metadata),
        });
        Ok(())
    }
}

pub(crate) fn obj<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Map<String, Value>> {
    obj.get(key).and_then(Value::as_object)
}

pub(crate) fn string<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v str> {
    obj.get(key).and_then(Value::as_str)
}

/// A wire decoder: one SSE event at a time; pushes events to `out`.
pub(crate) trait WireDecoder {
    /// The state every wire decoder shares.
    fn common(&mut self) -> &mut Common;
    /// Decodes one SSE event. Returns an error event's payload on failure.
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError>;
    /// End of body before a terminal event was produced: `incomplete` unless the
    /// wire can end without its terminal marker.
    fn on_close(&mut self, _out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        Err(CoreError::stream("incomplete", MSG_INCOMPLETE))
    }
    /// What goes before a terminal error: the pending reasoning part, then the
    /// usage reported so far.
    fn before_error(&mut self, out: &mut Vec<CoreEvent>) {
        let common = self.common();
        common.flush_pending(out);
        if let Some(u) = common.take_reported_usage() {
            out.push(Event::RawChunk(RawData::Usage(u)));
        }
    }
}
