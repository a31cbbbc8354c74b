//! Gemini `streamGenerateContent?alt=sse` streams.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{Call, Common, WireDecoder};
use super::json::parse_payload;
use super::usage::count;
use super::{canonical_dumps, provider_error, redact};
use crate::event::{CoreError, CoreEvent, Reasoning, Usage};
use crate::lenient::{LArr, LBool, LObj, LStr};
use crate::sse::SseEventRef;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Payload<'a> {
    #[serde(borrow)]
    response_id: LStr<'a>,
    #[serde(borrow)]
    model_version: LStr<'a>,
    #[serde(borrow)]
    candidates: LArr<LObj<Candidate<'a>>>,
    #[serde(borrow)]
    prompt_feedback: LObj<PromptFeedback<'a>>,
    usage_metadata: LObj<Map<String, Value>>,
    error: LObj<Map<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow)]
    block_reason: LStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    content: LObj<Content<'a>>,
    #[serde(borrow)]
    finish_reason: LStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Content<'a> {
    #[serde(borrow)]
    parts: LArr<LObj<Part<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Part<'a> {
    #[serde(borrow)]
    text: LStr<'a>,
    thought: LBool,
    function_call: LObj<Map<String, Value>>,
    #[serde(borrow)]
    thought_signature: LStr<'a>,
}

/// The gemini decoder.
pub struct Decoder {
    pub(crate) c: Common,
}

/// Maps a Gemini finishReason.
pub fn map_finish(raw: &str, calls_seen: bool) -> &'static str {
    match raw {
        "STOP" if calls_seen => "tool_calls",
        "STOP" => "stop",
        "MAX_TOKENS" => "length",
        "SAFETY" | "RECITATION" | "LANGUAGE" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            "content_filter"
        }
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" => "error",
        _ => "other",
    }
}

/// Usage from a Gemini `usageMetadata` object.
pub fn usage(u: &Map<String, Value>) -> Usage {
    Usage {
        input_tokens: count(u, "promptTokenCount").unwrap_or(0),
        output_tokens: count(u, "candidatesTokenCount").or_else(|| count(u, "responseTokenCount")).unwrap_or(0),
        total_tokens: count(u, "totalTokenCount").unwrap_or(0),
        cached_input_tokens: count(u, "cachedContentTokenCount").unwrap_or(0),
        cache_write_input_tokens: 0,
        reasoning_tokens: count(u, "thoughtsTokenCount").unwrap_or(0),
        extra: Map::new(),
    }
}

impl Decoder {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Decoder { c: Common::new(max_argument_bytes, "gemini") }
    }

    /// A reasoning part closed by `signature`.
    fn signed(&mut self, signature: &str, out: &mut Vec<CoreEvent>) {
        let tokens = Reasoning { signature: Some(signature.to_owned()), ..Reasoning::default() };
        self.c.flush_reasoning("", tokens, out);
    }

    fn part(&mut self, part: &Part<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        let signature = part.thought_signature.non_empty();
        if part.thought.0 == Some(true) {
            if let Some(text) = part.text.as_deref() {
                self.c.reasoning_delta(text, out);
            }
            if let Some(sig) = signature {
                self.signed(sig, out);
            }
        } else {
            if let (Some(sig), None) = (signature, &part.function_call.0) {
                self.c.flush_pending(out);
                self.signed(sig, out);
            }
            if let Some(text) = part.text.as_deref() {
                self.c.text_delta(text, out);
            }
        }
        let Some(fc) = &part.function_call.0 else { return Ok(()) };
        let n = self.c.calls.len();
        let id = match fc.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{n}"),
        };
        let name = fc.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
        let raw = match fc.get("args") {
            None | Some(Value::Null) => "{}".to_owned(),
            Some(args) => canonical_dumps(args),
        };
        let mut call = Call { key: n as i128, id: Some(id), name: Some(name), ..Call::default() };
        if let Some(sig) = signature {
            call.metadata.insert("thought_signature".to_owned(), Value::String(sig.to_owned()));
        }
        let i = self.c.new_call(call, out)?;
        self.c.call_delta(i, &raw, out)?;
        self.c.complete_call(i, out);
        Ok(())
    }
}

impl WireDecoder for Decoder {
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if event.data == "[DONE]" {
            return Ok(());
        }
        let holder;
        let p = parse_payload!(event.data, Payload, holder);
        self.c.start(p.response_id.as_deref(), p.model_version.as_deref(), out);
        if let Some(err) = &p.error.0 {
            return Err(provider_error(Some(err), "gemini"));
        }
        if let Some(u) = &p.usage_metadata.0 {
            self.c.usage = Some(usage(u));
        }
        let candidates = p.candidates.items();
        let Some(first) = candidates.first() else {
            if let Some(reason) = p.prompt_feedback.0.as_ref().and_then(|f| f.block_reason.as_deref()) {
                let message = redact(&format!("prompt blocked: {reason}"));
                return Err(CoreError::adapter("gemini", "content_filter", Some(message)));
            }
            return Ok(());
        };
        let Some(candidate) = &first.0 else { return Ok(()) };
        if let Some(content) = &candidate.content.0 {
            for part in content.parts.items() {
                if let Some(part) = &part.0 {
                    self.part(part, out)?;
                }
            }
        }
        if let Some(raw) = candidate.finish_reason.as_deref() {
            let mapped = map_finish(raw, !self.c.calls.is_empty());
            self.c.finish(Some(mapped), Some(raw.to_owned()), out)?;
        }
        Ok(())
    }

    fn common(&mut self) -> &mut Common {
        &mut self.c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, RawData};
    use crate::pipeline::tests::run;
    use serde_json::json;

    fn args_json(m: &Map<String, Value>) -> String {
        canonical_dumps(&Value::Object(m.clone()))
    }

    #[test]
    fn text_calls_usage_finish() {
        let body = concat!(
            "data: {\"responseId\":\"g1\",\"modelVersion\":\"gemini-2.5\",\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hm\",\"thought\":true},{\"text\":\"Hi\"}]}}]}\n\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}},\"thoughtSignature\":\"sig\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5,\"thoughtsTokenCount\":1}}\n\n",
        );
        let events = run("gemini", body.as_bytes());
        let mut meta = Map::new();
        meta.insert("thought_signature".into(), json!("sig"));
        assert_eq!(
            events,
            vec![
                Event::MessageStarted { id: Some("g1".into()), model: Some("gemini-2.5".into()) },
                Event::RawChunk(RawData::ReasoningDelta("hm".into())),
                Event::RawChunk(RawData::Reasoning(crate::event::Reasoning {
                    text: "hm".into(),
                    provider: "gemini",
                    ..Default::default()
                })),
                Event::TextDelta { delta: "Hi".into() },
                Event::ToolCallStarted { id: "call_0".into(), name: "f".into() },
                Event::ToolCallDelta { id: "call_0".into(), delta: args_json(json!({"a": 1}).as_object().unwrap()) },
                Event::ToolCallCompleted {
                    id: "call_0".into(),
                    name: "f".into(),
                    arguments: json!({"a": 1}).as_object().unwrap().clone(),
                    raw_arguments: args_json(json!({"a": 1}).as_object().unwrap()),
                    metadata: meta
                },
                Event::TextCompleted { text: "Hi".into() },
                Event::RawChunk(RawData::Usage(Usage {
                    input_tokens: 3,
                    output_tokens: 2,
                    total_tokens: 5,
                    reasoning_tokens: 1,
                    ..Usage::default()
                })),
                Event::MessageCompleted {
                    finish_reason: Some("tool_calls".into()),
                    raw_finish_reason: Some("STOP".into()),
                    metadata: Map::new()
                },
            ]
        );
    }

    #[test]
    fn blocked_and_incomplete() {
        let body = "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n";
        let events = run("gemini", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "content_filter"));
        let body = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\n\n";
        let events = run("gemini", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "incomplete"));
    }
}
