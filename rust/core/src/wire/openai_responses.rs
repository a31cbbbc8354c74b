//! OpenAI Responses API streams (named events).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{obj, string, Call, Common, WireDecoder};
use super::json::parse_payload;
use super::provider_error;
use super::usage::openai_usage;
use crate::event::{CoreError, CoreEvent, Reasoning};
use crate::lenient::{LArr, LObj, LStr};
use crate::sse::SseEventRef;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Payload<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    delta: LStr<'a>,
    #[serde(borrow)]
    item_id: LStr<'a>,
    #[serde(borrow)]
    arguments: LStr<'a>,
    #[serde(borrow)]
    item: LObj<Item<'a>>,
    response: LObj<Box<Map<String, Value>>>,
    error: LObj<Box<Map<String, Value>>>,
    #[serde(borrow)]
    code: LStr<'a>,
    #[serde(borrow, rename = "status")]
    status: LStr<'a>,
    #[serde(borrow)]
    message: LStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    id: LStr<'a>,
    #[serde(borrow)]
    call_id: LStr<'a>,
    #[serde(borrow)]
    name: LStr<'a>,
    #[serde(borrow)]
    arguments: LStr<'a>,
    #[serde(borrow)]
    encrypted_content: LStr<'a>,
    #[serde(borrow)]
    summary: LArr<LObj<Summary<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Summary<'a> {
    #[serde(borrow)]
    text: LStr<'a>,
}

/// The openai-responses decoder.
pub struct Decoder {
    pub(crate) c: Common,
    /// The position in `c.calls` of each function_call `item.id`.
    items: HashMap<String, usize>,
}

impl Decoder {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Decoder { c: Common::new(max_argument_bytes, "openai"), items: HashMap::new() }
    }

    fn call_of(&self, item_id: Option<&str>) -> Option<usize> {
        self.items.get(item_id?).copied()
    }

    /// A function_call item with a string id.
    fn function_item<'p>(item: &'p LObj<Item<'p>>) -> Option<(&'p Item<'p>, &'p str)> {
        let item = item.0.as_ref()?;
        if item.kind.as_deref() != Some("function_call") {
            return None;
        }
        Some((item, item.id.as_deref()?))
    }

    fn track(&mut self, item: &Item<'_>, item_id: &str, out: &mut Vec<CoreEvent>) -> Result<usize, CoreError> {
        let call = Call {
            id: Some(item.call_id.non_empty().unwrap_or(item_id).to_owned()),
            name: Some(item.name.as_deref().unwrap_or("").to_owned()),
            ..Call::default()
        };
        let i = self.c.new_call(call, out)?;
        self.items.insert(item_id.to_owned(), i);
        Ok(i)
    }

    /// A finished reasoning item: its summary text (the deltas, else the item's
    /// `summary` texts), id and encrypted content become one reasoning part.
    fn reasoning_item(&mut self, item: &Item<'_>, out: &mut Vec<CoreEvent>) {
        let fallback: String =
            item.summary.items().iter().filter_map(|s| s.0.as_ref().and_then(|s| s.text.as_deref())).collect();
        let tokens = Reasoning {
            id: item.id.non_empty().map(str::to_owned),
            encrypted_content: item.encrypted_content.non_empty().map(str::to_owned),
            ..Reasoning::default()
        };
        self.c.flush_reasoning(&fallback, tokens, out);
    }

    fn set_final(&mut self, i: usize, args: Option<&str>) -> Result<(), CoreError> {
        if let Some(args) = args {
            self.c.check_args(args.len())?;
            self.c.calls[i].final_raw = Some(args.to_owned());
        }
        Ok(())
    }

    fn take_response_usage(&mut self, response: Option<&Map<String, Value>>) {
        if let Some(u) = response.and_then(|r| obj(r, "usage")) {
            self.c.usage = Some(openai_usage(u, "input_tokens", "output_tokens"));
        }
    }
}

impl WireDecoder for Decoder {
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if event.data == "[DONE]" {
            return Ok(());
        }
        let holder;
        let p = parse_payload!(event.data, Payload, holder);
        let response = p.response.0.as_deref();
        self.c.start(response.and_then(|r| string(r, "id")), response.and_then(|r| string(r, "model")), out);
        let kind = p.kind.as_deref().unwrap_or(event.event);
        match kind {
            "response.output_text.delta" => {
                if let Some(d) = p.delta.as_deref() {
                    self.c.text_delta(d, out);
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_summary.delta" => {
                if let Some(d) = p.delta.as_deref() {
                    self.c.reasoning_delta(d, out);
                }
            }
            "response.output_item.added" => {
                if let Some((item, item_id)) = Self::function_item(&p.item) {
                    if self.call_of(Some(item_id)).is_none() {
                        self.track(item, item_id, out)?;
                    }
                }
            }
            "response.output_item.done" => {
                if let Some(item) = p.item.0.as_ref().filter(|i| i.kind.as_deref() == Some("reasoning")) {
                    self.reasoning_item(item, out);
                } else if let Some((item, item_id)) = Self::function_item(&p.item) {
                    let i = match self.call_of(Some(item_id)) {
                        Some(i) => i,
                        None => self.track(item, item_id, out)?,
                    };
                    self.set_final(i, item.arguments.as_deref())?;
                }
            }
            "response.function_call_arguments.delta" => {
                if let Some(i) = self.call_of(p.item_id.as_deref()) {
                    if let Some(d) = p.delta.as_deref() {
                        self.c.call_delta(i, d, out)?;
                    }
                }
            }
            "response.function_call_arguments.done" => {
                if let Some(i) = self.call_of(p.item_id.as_deref()) {
                    self.set_final(i, p.arguments.as_deref())?;
                }
            }
            "response.completed" => {
                self.take_response_usage(response);
                let finish = if self.c.calls.is_empty() { "stop" } else { "tool_calls" };
                let raw = response.and_then(|r| string(r, "status")).map(str::to_owned);
                self.c.finish(Some(finish), raw, out)?;
            }
            "response.incomplete" => {
                self.take_response_usage(response);
                let raw = response.and_then(|r| obj(r, "incomplete_details")).and_then(|d| string(d, "reason"));
                let finish = match raw {
                    Some("max_output_tokens") => "length",
                    Some("content_filter") => "content_filter",
                    _ => "other",
                };
                let raw = raw.map(str::to_owned);
                self.c.finish(Some(finish), raw, out)?;
            }
            "response.failed" => {
                self.take_response_usage(response);
                return Err(provider_error(response.and_then(|r| obj(r, "error")), "openai"));
            }
            "error" => {
                if let Some(e) = &p.error.0 {
                    return Err(provider_error(Some(e), "openai"));
                }
                // The payload itself is the error object.
                let mut e = Map::new();
                for (key, value) in
                    [("code", &p.code), ("type", &p.kind), ("status", &p.status), ("message", &p.message)]
                {
                    if let Some(v) = value.as_deref() {
                        e.insert(key.to_owned(), Value::String(v.to_owned()));
                    }
                }
                return Err(provider_error(Some(&e), "openai"));
            }
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
    use crate::event::{Event, RawData, Reasoning, Usage};
    use crate::pipeline::tests::run;
    use serde_json::{json, Map};

    #[test]
    fn text_tool_reasoning_completed() {
        let body = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"gpt-5\"}}\n\n",
            "event: response.reasoning_summary_text.delta\ndata: {\"delta\":\"think\"}\n\n",
            "data: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"reasoning\",\"id\":\"rs_1\",\"encrypted_content\":\"enc\",\"summary\":[]}}\n\n",
            "data: {\"type\":\"response.output_item.done\",\"item\":{\"type\":\"reasoning\",\"id\":\"rs_2\",\"summary\":[{\"text\":\"a\"},{\"text\":\"b\"}]}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n",
            "data: {\"type\":\"response.output_item.added\",\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"x\"}}\n\n",
            "data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"delta\":\"{\\\"a\\\":\"}\n\n",
            "data: {\"type\":\"response.function_call_arguments.done\",\"item_id\":\"fc_1\",\"arguments\":\"{\\\"a\\\":2}\"}\n\n",
            "data: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":4,\"output_tokens\":3,\"total_tokens\":7,\"output_tokens_details\":{\"reasoning_tokens\":2}}}}\n\n",
        );
        let events = run("openai-responses", body.as_bytes());
        let part = |text: &str, id: &str, encrypted: Option<&str>| {
            Event::RawChunk(RawData::Reasoning(Reasoning {
                text: text.into(),
                id: Some(id.into()),
                encrypted_content: encrypted.map(Into::into),
                provider: "openai",
                ..Reasoning::default()
            }))
        };
        assert_eq!(
            events,
            vec![
                Event::MessageStarted { id: Some("r1".into()), model: Some("gpt-5".into()) },
                Event::RawChunk(RawData::ReasoningDelta("think".into())),
                part("think", "rs_1", Some("enc")),
                part("ab", "rs_2", None),
                Event::TextDelta { delta: "Hi".into() },
                Event::ToolCallStarted { id: "call_1".into(), name: "f".into() },
                Event::ToolCallDelta { id: "call_1".into(), delta: "{\"a\":".into() },
                Event::ToolCallCompleted {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: json!({"a": 2}).as_object().unwrap().clone(),
                    raw_arguments: "{\"a\":2}".into(),
                    metadata: Map::new()
                },
                Event::TextCompleted { text: "Hi".into() },
                Event::RawChunk(RawData::Usage(Usage {
                    input_tokens: 4,
                    output_tokens: 3,
                    total_tokens: 7,
                    reasoning_tokens: 2,
                    ..Usage::default()
                })),
                Event::MessageCompleted {
                    finish_reason: Some("tool_calls".into()),
                    raw_finish_reason: Some("completed".into()),
                    metadata: Map::new()
                },
            ]
        );
    }

    #[test]
    fn incomplete_failed_error() {
        let body = "data: {\"type\":\"response.incomplete\",\"response\":{\"incomplete_details\":{\"reason\":\"max_output_tokens\"}}}\n\n";
        let events = run("openai-responses", body.as_bytes());
        assert!(
            matches!(events.last(), Some(Event::MessageCompleted { finish_reason: Some(f), raw_finish_reason: Some(r), .. }) if f == "length" && r == "max_output_tokens")
        );
        let body = "data: {\"type\":\"response.failed\",\"response\":{\"error\":{\"code\":\"server_error\",\"message\":\"boom\"}}}\n\n";
        let events = run("openai-responses", body.as_bytes());
        assert!(
            matches!(events.last(), Some(Event::Error(e)) if e.reason == "provider_unavailable" && e.message.as_deref() == Some("boom"))
        );
        let body = "event: error\ndata: {\"code\":\"rate_limit_exceeded\",\"message\":\"slow\"}\n\n";
        let events = run("openai-responses", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "rate_limited"));
    }
}
