//! Anthropic Messages streams.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::canonical_dumps;
use super::common::{obj, string, Call, Common, WireDecoder};
use super::json::parse_payload;
use super::provider_error;
use super::usage::{count, nested_count};
use crate::event::{CoreError, CoreEvent, Reasoning, Usage};
use crate::lenient::{LInt, LObj, LStr};
use crate::sse::SseEventRef;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Payload<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    index: LInt,
    #[serde(borrow)]
    delta: LObj<Delta<'a>>,
    #[serde(borrow)]
    content_block: LObj<Block<'a>>,
    message: LObj<Box<Map<String, Value>>>,
    usage: LObj<Box<Map<String, Value>>>,
    error: LObj<Box<Map<String, Value>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Delta<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    text: LStr<'a>,
    #[serde(borrow)]
    partial_json: LStr<'a>,
    #[serde(borrow)]
    thinking: LStr<'a>,
    #[serde(borrow)]
    signature: LStr<'a>,
    #[serde(borrow)]
    stop_reason: LStr<'a>,
}

/// A content block: from `content_block_start`, or one of a whole turn given inside
/// `message_start.message.content` (where a text block carries its `text`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Block<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    text: LStr<'a>,
    #[serde(borrow)]
    id: LStr<'a>,
    #[serde(borrow)]
    name: LStr<'a>,
    input: LObj<Map<String, Value>>,
    #[serde(borrow)]
    thinking: LStr<'a>,
    #[serde(borrow)]
    signature: LStr<'a>,
    #[serde(borrow)]
    data: LStr<'a>,
}

#[derive(Default)]
struct Counts {
    input: Option<i64>,
    output: Option<i64>,
    cache_read: Option<i64>,
    cache_write: Option<i64>,
    thinking: Option<i64>,
}

/// The anthropic decoder.
pub struct Decoder {
    pub(crate) c: Common,
    /// Tool-use blocks by `index`: the call position.
    tool_blocks: HashMap<i128, usize>,
    /// Open `thinking` blocks by `index`: their signature so far.
    thinking_blocks: HashMap<i128, String>,
    /// Open `redacted_thinking` blocks by `index`: their data.
    redacted_blocks: HashMap<i128, Option<String>>,
    counts: Counts,
    stop_reason: Option<String>,
}

/// Maps an Anthropic stop_reason.
pub fn map_stop(raw: &str) -> &'static str {
    match raw {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "other",
    }
}

impl Decoder {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Decoder {
            c: Common::new(max_argument_bytes, "anthropic"),
            tool_blocks: HashMap::new(),
            thinking_blocks: HashMap::new(),
            redacted_blocks: HashMap::new(),
            counts: Counts::default(),
            stop_reason: None,
        }
    }

    fn block_call(&self, index: Option<i128>) -> Option<usize> {
        self.tool_blocks.get(&index?).copied()
    }

    /// A tool_use call (id and name not strings give ""), with its input
    /// given whole: the canonical JSON of a non-empty `input` object.
    fn tool_use(
        &mut self,
        id: &LStr<'_>,
        name: &LStr<'_>,
        input: &LObj<Map<String, Value>>,
    ) -> Result<Call, CoreError> {
        let initial = match &input.0 {
            Some(map) if !map.is_empty() => {
                let text = canonical_dumps(&Value::Object(map.clone()));
                self.c.check_args(text.len())?;
                Some(text)
            }
            _ => None,
        };
        Ok(Call {
            id: Some(id.as_deref().unwrap_or("").to_owned()),
            name: Some(name.as_deref().unwrap_or("").to_owned()),
            initial,
            ..Call::default()
        })
    }

    /// `message_start` carrying the whole turn: its text, thinking and
    /// tool_use blocks (each call completed at once), and its stop reason.
    fn whole_turn(&mut self, message: &Map<String, Value>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if let Some(reason) = string(message, "stop_reason") {
            self.stop_reason = Some(reason.to_owned());
        }
        let Some(content) = message.get("content").and_then(Value::as_array) else { return Ok(()) };
        for block in content {
            let Ok(LObj(Some(block))) = LObj::<Block<'_>>::deserialize(block) else { continue };
            match block.kind.as_deref() {
                Some("text") => self.c.text_delta(block.text.as_deref().unwrap_or(""), out),
                Some("thinking") => {
                    self.c.reasoning_delta(block.thinking.as_deref().unwrap_or(""), out);
                    let signature = block.signature.non_empty().map(str::to_owned);
                    self.c.flush_reasoning("", Reasoning { signature, ..Reasoning::default() }, out);
                }
                Some("redacted_thinking") => {
                    let redacted = block.data.non_empty().map(str::to_owned);
                    self.c.flush_pending(out);
                    self.c.flush_reasoning("", Reasoning { redacted, ..Reasoning::default() }, out);
                }
                Some("tool_use") => {
                    let call = self.tool_use(&block.id, &block.name, &block.input)?;
                    let i = self.c.new_call(call, out)?;
                    self.c.complete_call(i, out);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn block_start(&mut self, index: i128, block: &Block<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        match block.kind.as_deref() {
            Some("thinking") => {
                self.c.reasoning_delta(block.thinking.as_deref().unwrap_or(""), out);
                let signature = block.signature.non_empty().unwrap_or("").to_owned();
                self.thinking_blocks.insert(index, signature);
            }
            Some("redacted_thinking") => {
                self.redacted_blocks.insert(index, block.data.non_empty().map(str::to_owned));
            }
            Some("tool_use") => {
                let call = self.tool_use(&block.id, &block.name, &block.input)?;
                let i = self.c.new_call(call, out)?;
                self.tool_blocks.insert(index, i);
            }
            _ => {}
        }
        Ok(())
    }

    fn block_stop(&mut self, index: Option<i128>, out: &mut Vec<CoreEvent>) {
        if let Some(signature) = index.and_then(|i| self.thinking_blocks.remove(&i)) {
            let signature = (!signature.is_empty()).then_some(signature);
            self.c.flush_reasoning("", Reasoning { signature, ..Reasoning::default() }, out);
        } else if let Some(redacted) = index.and_then(|i| self.redacted_blocks.remove(&i)) {
            self.c.flush_pending(out);
            self.c.flush_reasoning("", Reasoning { redacted, ..Reasoning::default() }, out);
        }
        if let Some(i) = self.block_call(index) {
            self.c.complete_call(i, out);
        }
    }

    /// A count present in the newer usage replaces the older one; never summed.
    fn merge_usage(&mut self, u: Option<&Map<String, Value>>) {
        let Some(u) = u else { return };
        let c = &mut self.counts;
        for (slot, key) in [
            (&mut c.input, "input_tokens"),
            (&mut c.output, "output_tokens"),
            (&mut c.cache_read, "cache_read_input_tokens"),
            (&mut c.cache_write, "cache_creation_input_tokens"),
        ] {
            if let Some(n) = count(u, key) {
                *slot = Some(n);
            }
        }
        if let Some(n) = nested_count(u, "output_tokens_details", "thinking_tokens") {
            c.thinking = Some(n);
        }
        let uncached = c.input.unwrap_or(0);
        let read = c.cache_read.unwrap_or(0);
        let write = c.cache_write.unwrap_or(0);
        let output = c.output.unwrap_or(0);
        // Sums saturate at 2**63-1, the largest count (docs/internals.md §6.4).
        let total_input = uncached.saturating_add(read).saturating_add(write);
        let mut extra = Map::new();
        extra.insert("uncached_input_tokens".to_owned(), Value::from(uncached));
        self.c.usage = Some(Usage {
            input_tokens: total_input,
            output_tokens: output,
            total_tokens: total_input.saturating_add(output),
            cached_input_tokens: read,
            cache_write_input_tokens: write,
            reasoning_tokens: c.thinking.unwrap_or(0),
            extra,
        });
    }
}

impl WireDecoder for Decoder {
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if event.data == "[DONE]" {
            return Ok(());
        }
        let holder;
        let p = parse_payload!(event.data, Payload, holder);
        let message = p.message.0.as_deref();
        self.c.start(message.and_then(|m| string(m, "id")), message.and_then(|m| string(m, "model")), out);
        match p.kind.as_deref().unwrap_or(event.event) {
            "message_start" => {
                self.merge_usage(message.and_then(|m| obj(m, "usage")));
                if let Some(m) = message {
                    self.whole_turn(m, out)?;
                }
            }
            "content_block_start" => {
                if let (Some(index), Some(block)) = (p.index.0, &p.content_block.0) {
                    self.block_start(index, block, out)?;
                }
            }
            "content_block_delta" => {
                let Some(delta) = &p.delta.0 else { return Ok(()) };
                match delta.kind.as_deref() {
                    Some("text_delta") => {
                        if let Some(t) = delta.text.as_deref() {
                            self.c.text_delta(t, out);
                        }
                    }
                    Some("input_json_delta") => {
                        if let Some(i) = self.block_call(p.index.0) {
                            if !self.c.calls[i].completed {
                                if let Some(j) = delta.partial_json.as_deref() {
                                    self.c.call_delta(i, j, out)?;
                                }
                            }
                        }
                    }
                    Some("thinking_delta") => {
                        if let Some(t) = delta.thinking.as_deref() {
                            self.c.reasoning_delta(t, out);
                        }
                    }
                    Some("signature_delta") => {
                        let open = p.index.0.and_then(|index| self.thinking_blocks.get_mut(&index));
                        if let (Some(signature), Some(piece)) = (open, delta.signature.as_deref()) {
                            signature.push_str(piece);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => self.block_stop(p.index.0, out),
            "message_delta" => {
                if let Some(reason) = p.delta.0.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                    self.stop_reason = Some(reason.to_owned());
                }
                self.merge_usage(p.usage.0.as_deref());
            }
            "message_stop" => {
                let raw = self.stop_reason.take();
                let mapped = raw.as_deref().map(map_stop);
                self.c.finish(mapped, raw, out)?;
            }
            "error" => return Err(provider_error(Some(p.error.0.as_deref().unwrap_or(&Map::new())), "anthropic")),
            _ => {}
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

    #[test]
    fn tool_thinking_usage_merge() {
        let body = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":10,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: ping\ndata: {\"type\": \"ping\"}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"si\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"g\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"opaque\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n",
            "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"f\",\"input\":{}}}\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"[1]\"}}\n\n",
            "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
            "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":9,\"input_tokens\":10}}\n\n",
            "data: {\"type\":\"message_stop\"}\n\n",
        );
        let events = run("anthropic", body.as_bytes());
        let mut extra = Map::new();
        extra.insert("uncached_input_tokens".into(), json!(10));
        let part = |text: &str, signature: Option<&str>, redacted: Option<&str>| {
            Event::RawChunk(RawData::Reasoning(Reasoning {
                text: text.into(),
                signature: signature.map(Into::into),
                redacted: redacted.map(Into::into),
                provider: "anthropic",
                ..Reasoning::default()
            }))
        };
        assert_eq!(
            events,
            vec![
                Event::MessageStarted { id: Some("m1".into()), model: Some("claude".into()) },
                Event::RawChunk(RawData::ReasoningDelta("hm".into())),
                part("hm", Some("sig"), None),
                part("", None, Some("opaque")),
                Event::TextDelta { delta: "ok".into() },
                Event::ToolCallStarted { id: "t1".into(), name: "f".into() },
                Event::ToolCallDelta { id: "t1".into(), delta: "[1]".into() },
                Event::ToolCallCompleted {
                    id: "t1".into(),
                    name: "f".into(),
                    arguments: Map::new(),
                    raw_arguments: "[1]".into(),
                    metadata: Map::new()
                },
                Event::TextCompleted { text: "ok".into() },
                Event::RawChunk(RawData::Usage(Usage {
                    input_tokens: 15,
                    output_tokens: 9,
                    total_tokens: 24,
                    cached_input_tokens: 5,
                    extra,
                    ..Usage::default()
                })),
                Event::MessageCompleted {
                    finish_reason: Some("tool_calls".into()),
                    raw_finish_reason: Some("tool_use".into()),
                    metadata: Map::new()
                },
            ]
        );
    }

    #[test]
    fn error_event() {
        let body = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let events = run("anthropic", body.as_bytes());
        assert_eq!(
            events.last(),
            Some(&Event::Error(CoreError::adapter("anthropic", "provider_unavailable", Some("Overloaded".into()))))
        );
    }
}
