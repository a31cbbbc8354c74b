//! The message-level collector fold (docs/internals.md §3), generic over payloads.

use std::collections::HashMap;

use crate::event::{Event, RawKind, Types};

/// One tool call's state.
pub struct CallState<T: Types> {
    pub id: T::Id,
    /// `None` means the empty name.
    pub name: Option<T::Str>,
    pub raw_arguments: T::Text,
    /// `None` means `{}`.
    pub arguments: Option<T::Args>,
    /// `None` means `{}`.
    pub metadata: Option<T::Meta>,
    pub completed: bool,
}

/// The fold state behind a Response.
pub struct Fold<T: Types> {
    pub id: Option<T::Str>,
    pub model: Option<T::Str>,
    pub text: T::Text,
    pub calls: Vec<CallState<T>>,
    index: HashMap<String, usize>,
    /// The call of the previous lookup (deltas of one call come in runs).
    last: usize,
    pub usage: Option<T::Usage>,
    pub finish_reason: Option<FinishReason<T>>,
    pub raw_finish_reason: Option<T::Str>,
    pub error: Option<T::Error>,
    pub metadata: T::MetaAcc,
    /// Reasoning parts with their anchors ([`Types::anchor`]), in stream order.
    pub reasoning: Vec<(usize, T::Part)>,
}

/// The folded finish reason: one taken from an event, or "error".
pub enum FinishReason<T: Types> {
    Given(T::Str),
    Error,
}

impl<T: Types> Default for Fold<T> {
    fn default() -> Self {
        Fold {
            id: None,
            model: None,
            text: T::Text::default(),
            calls: Vec::new(),
            index: HashMap::new(),
            last: 0,
            usage: None,
            finish_reason: None,
            raw_finish_reason: None,
            error: None,
            metadata: T::MetaAcc::default(),
            reasoning: Vec::new(),
        }
    }
}

impl<T: Types> Fold<T> {
    pub fn new() -> Self {
        Self::default()
    }

    fn call(&mut self, id: T::Id) -> &mut CallState<T> {
        let key = T::key(&id);
        let i = match self.calls.get(self.last) {
            Some(c) if T::key(&c.id) == key => self.last,
            _ => match self.index.get(key) {
                Some(&i) => i,
                None => {
                    self.index.insert(key.to_owned(), self.calls.len());
                    self.calls.push(CallState {
                        id,
                        name: None,
                        raw_arguments: T::Text::default(),
                        arguments: None,
                        metadata: None,
                        completed: false,
                    });
                    self.calls.len() - 1
                }
            },
        };
        self.last = i;
        &mut self.calls[i]
    }

    /// Folds one event.
    pub fn apply(&mut self, event: Event<T>) {
        match event {
            Event::MessageStarted { id, model } => {
                if id.is_some() {
                    self.id = id;
                }
                if model.is_some() {
                    self.model = model;
                }
            }
            Event::TextDelta { delta } => T::text_push(&mut self.text, delta),
            Event::TextCompleted { text } => T::text_set(&mut self.text, text),
            Event::ToolCallStarted { id, name } => {
                let call = self.call(id);
                if call.name.as_ref().is_none_or(T::is_empty) {
                    call.name = Some(name);
                }
            }
            Event::ToolCallDelta { id, delta } => T::text_push(&mut self.call(id).raw_arguments, delta),
            Event::ToolCallCompleted { id, name, arguments, raw_arguments, metadata } => {
                let call = self.call(id);
                call.name = Some(name);
                call.arguments = Some(arguments);
                T::text_set(&mut call.raw_arguments, raw_arguments);
                call.metadata = Some(metadata);
                call.completed = true;
            }
            Event::MessageCompleted { finish_reason, raw_finish_reason, metadata } => {
                if let Some(reason) = finish_reason {
                    if self.error.is_none() {
                        self.finish_reason = Some(FinishReason::Given(reason));
                        self.raw_finish_reason = raw_finish_reason;
                    }
                }
                T::meta_update(&mut self.metadata, metadata);
            }
            Event::RawChunk(raw) => match T::raw_kind(raw) {
                RawKind::Usage(usage) => self.usage = Some(usage),
                RawKind::Reasoning(part) => {
                    let at = T::anchor(&part, &self.text);
                    self.reasoning.push((at, part));
                }
                RawKind::Other => {}
            },
            Event::Error(error) => {
                self.error = Some(error);
                self.finish_reason = Some(FinishReason::Error);
            }
            Event::Other => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Core, CoreError, RawData, Reasoning, Usage};
    use serde_json::{json, Map, Value};

    fn meta(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn folds_text_tools_usage_and_finish() {
        let mut f: Fold<Core> = Fold::new();
        f.apply(Event::MessageStarted { id: Some("m1".into()), model: None });
        f.apply(Event::MessageStarted { id: None, model: Some("gpt".into()) });
        f.apply(Event::TextDelta { delta: "he".into() });
        f.apply(Event::TextDelta { delta: "llo".into() });
        assert_eq!(f.text, "hello");
        f.apply(Event::ToolCallDelta { id: "b".into(), delta: "{\"x\"".into() });
        f.apply(Event::ToolCallStarted { id: "a".into(), name: "fa".into() });
        f.apply(Event::ToolCallStarted { id: "b".into(), name: "fb".into() });
        f.apply(Event::ToolCallStarted { id: "b".into(), name: "other".into() });
        f.apply(Event::ToolCallDelta { id: "b".into(), delta: ":1}".into() });
        f.apply(Event::ToolCallCompleted {
            id: "a".into(),
            name: "fa2".into(),
            arguments: meta(json!({"k": 1})),
            raw_arguments: "{\"k\":1}".into(),
            metadata: Map::new(),
        });
        f.apply(Event::TextCompleted { text: "whole".into() });
        f.apply(Event::RawChunk(RawData::ReasoningDelta("r".into())));
        f.apply(Event::RawChunk(RawData::Reasoning(Reasoning { at: 3, text: "r".into(), ..Reasoning::default() })));
        f.apply(Event::RawChunk(RawData::Usage(Usage { input_tokens: 3, ..Usage::default() })));
        f.apply(Event::MessageCompleted {
            finish_reason: Some("stop".into()),
            raw_finish_reason: Some("end".into()),
            metadata: meta(json!({"reasoning": "r"})),
        });
        assert_eq!(f.id.as_deref(), Some("m1"));
        assert_eq!(f.model.as_deref(), Some("gpt"));
        assert_eq!(f.text, "whole");
        assert_eq!(f.calls.len(), 2);
        assert_eq!(f.calls[0].id, "b");
        assert_eq!(f.calls[0].name.as_deref(), Some("fb"));
        assert_eq!(f.calls[0].raw_arguments, "{\"x\":1}");
        assert!(f.calls[0].arguments.is_none());
        assert_eq!(f.calls[1].name.as_deref(), Some("fa2"));
        assert_eq!(f.calls[1].arguments, Some(meta(json!({"k": 1}))));
        assert_eq!(f.usage.as_ref().unwrap().input_tokens, 3);
        assert!(matches!(f.finish_reason, Some(FinishReason::Given(ref s)) if s == "stop"));
        assert_eq!(f.raw_finish_reason.as_deref(), Some("end"));
        assert_eq!(f.metadata, meta(json!({"reasoning": "r"})));
        assert_eq!(f.reasoning.len(), 1);
        assert_eq!((f.reasoning[0].0, f.reasoning[0].1.text.as_str()), (3, "r"));
    }

    #[test]
    fn error_is_sticky() {
        let mut f: Fold<Core> = Fold::new();
        f.apply(Event::Error(CoreError::stream("incomplete", "x")));
        f.apply(Event::MessageCompleted {
            finish_reason: Some("stop".into()),
            raw_finish_reason: None,
            metadata: Map::new(),
        });
        assert!(matches!(f.finish_reason, Some(FinishReason::Error)));
        // A message_completed without a finish reason leaves state alone.
        let mut f: Fold<Core> = Fold::new();
        f.apply(Event::MessageCompleted {
            finish_reason: Some("stop".into()),
            raw_finish_reason: Some("s".into()),
            metadata: Map::new(),
        });
        f.apply(Event::MessageCompleted { finish_reason: None, raw_finish_reason: None, metadata: Map::new() });
        assert!(matches!(f.finish_reason, Some(FinishReason::Given(ref s)) if s == "stop"));
        assert_eq!(f.raw_finish_reason.as_deref(), Some("s"));
    }
}
