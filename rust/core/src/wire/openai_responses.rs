//! OpenAI Responses API streams (named events).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::openai_chat::openai_error;
use super::{int, obj, parse, string, Call, Common, WireDecoder, MSG_INCOMPLETE};
use crate::event::{CoreError, CoreEvent, Usage};
use crate::lenient::{LObj, LStr};
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
    response: LObj<Map<String, Value>>,
    #[serde(borrow)]
    code: LStr<'a>,
    #[serde(borrow)]
    message: LStr<'a>,
    error: LObj<Map<String, Value>>,
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
}

/// The openai-responses decoder.
pub struct Decoder {
    c: Common,
    /// `item.id` of each entry of `c.calls`.
    items: Vec<String>,
}

/// Usage from a Responses `usage` object.
pub fn usage(u: &Map<String, Value>) -> Usage {
    let input = obj(u, "input_tokens_details");
    let output = obj(u, "output_tokens_details");
    Usage {
        input_tokens: int(u, "input_tokens").unwrap_or(0),
        output_tokens: int(u, "output_tokens").unwrap_or(0),
        total_tokens: int(u, "total_tokens").unwrap_or(0),
        cached_input_tokens: input.and_then(|p| int(p, "cached_tokens")).unwrap_or(0),
        cache_write_input_tokens: input.and_then(|p| int(p, "cache_write_tokens")).unwrap_or(0),
        reasoning_tokens: output.and_then(|c| int(c, "reasoning_tokens")).unwrap_or(0),
        extra: Map::new(),
    }
}

impl Decoder {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Decoder { c: Common::new(max_argument_bytes), items: Vec::new() }
    }

    fn call_of(&self, item_id: &str) -> Option<usize> {
        self.items.iter().position(|x| x == item_id)
    }

    fn set_final(&mut self, i: usize, args: &str) -> Result<(), CoreError> {
        self.c.check_args(args.len())?;
        self.c.calls[i].final_raw = Some(args.to_owned());
        Ok(())
    }

    fn take_usage(&mut self, response: Option<&Map<String, Value>>) {
        if let Some(u) = response.and_then(|r| obj(r, "usage")) {
            self.c.usage = Some(usage(u));
        }
    }
}

impl WireDecoder for Decoder {
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        let LObj(p) = parse::<LObj<Payload>>(event.data)?;
        let Some(p) = p else {
            return Ok(());
        };
        let kind = p.kind.as_deref().unwrap_or(event.event);
        let response = p.response.0.as_ref();
        if kind == "response.created" {
            self.c.start(response.and_then(|r| string(r, "id")), response.and_then(|r| string(r, "model")), out);
        } else {
            self.c.start(None, None, out);
        }
        match kind {
            "response.output_text.delta" => {
                if let Some(d) = p.delta.as_deref() {
                    self.c.text_delta(d, out);
                }
            }
            "response.reasoning_summary_text.delta" => {
                if let Some(d) = p.delta.as_deref() {
                    self.c.reasoning_delta(d, out);
                }
            }
            "response.output_item.added" => {
                if let Some(item) = &p.item.0 {
                    if item.kind.as_deref() == Some("function_call") {
                        let key = item.id.as_deref().or(item.call_id.as_deref()).unwrap_or("").to_owned();
                        if self.call_of(&key).is_none() {
                            self.items.push(key);
                            self.c.calls.push(Call {
                                id: Some(item.call_id.as_deref().unwrap_or("").to_owned()),
                                name: Some(item.name.as_deref().unwrap_or("").to_owned()),
                                ..Call::default()
                            });
                            let i = self.c.calls.len() - 1;
                            self.c.maybe_start_call(i, out);
                            if let Some(args) = item.arguments.as_deref() {
                                self.c.call_delta(i, args, out)?;
                            }
                        }
                    }
                }
            }
            "response.function_call_arguments.delta" => {
                if let (Some(item_id), Some(d)) = (p.item_id.as_deref(), p.delta.as_deref()) {
                    if let Some(i) = self.call_of(item_id) {
                        self.c.call_delta(i, d, out)?;
                    }
                }
            }
            "response.function_call_arguments.done" => {
                if let (Some(item_id), Some(args)) = (p.item_id.as_deref(), p.arguments.as_deref()) {
                    if let Some(i) = self.call_of(item_id) {
                        self.set_final(i, args)?;
                    }
                }
            }
            "response.output_item.done" => {
                if let Some(item) = &p.item.0 {
                    if item.kind.as_deref() == Some("function_call") {
                        let key = item.id.as_deref().or(item.call_id.as_deref()).unwrap_or("");
                        if let (Some(i), Some(args)) = (self.call_of(key), item.arguments.as_deref()) {
                            self.set_final(i, args)?;
                        }
                    }
                }
            }
            "response.completed" => {
                self.take_usage(response);
                let status = response.and_then(|r| string(r, "status"));
                let finish = match status {
                    Some("completed") | None if !self.c.calls.is_empty() => "tool_calls",
                    Some("completed") | None => "stop",
                    Some("incomplete") => incomplete_reason(response),
                    Some(_) => "other",
                };
                let raw = status.map(str::to_owned);
                self.c.finish(Some(finish), raw, out);
            }
            "response.incomplete" => {
                self.take_usage(response);
                let raw = response
                    .and_then(|r| obj(r, "incomplete_details"))
                    .and_then(|d| string(d, "reason"))
                    .map(str::to_owned);
                self.c.finish(Some(incomplete_reason(response)), raw, out);
            }
            "response.failed" => {
                self.take_usage(response);
                if let Some(u) = self.c.usage.take() {
                    out.push(crate::event::Event::RawChunk(crate::event::RawData::Usage(u)));
                }
                let err = response.and_then(|r| obj(r, "error"));
                return Err(match err {
                    Some(e) => openai_error(e),
                    None => CoreError::adapter("openai", "unknown", "response failed"),
                });
            }
            "error" => {
                if let Some(e) = &p.error.0 {
                    return Err(openai_error(e));
                }
                let code = p.code.as_deref();
                let message = p.message.as_deref().unwrap_or("provider error").to_owned();
                return Err(CoreError::adapter("openai", super::adapter_reason(code, code), message));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_close(&mut self, _out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        Err(CoreError::stream("incomplete", MSG_INCOMPLETE))
    }
}

fn incomplete_reason(response: Option<&Map<String, Value>>) -> &'static str {
    match response.and_then(|r| obj(r, "incomplete_details")).and_then(|d| string(d, "reason")) {
        Some("max_output_tokens") => "length",
        Some("content_filter") => "content_filter",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, RawData, Usage};
    use crate::pipeline::tests::run;
    use serde_json::{json, Map};

    #[test]
    fn text_tool_reasoning_completed() {
        let body = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"gpt-5\"}}\n\n",
            "event: response.reasoning_summary_text.delta\ndata: {\"delta\":\"think\"}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n",
            "data: {\"type\":\"response.output_item.added\",\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_1\",\"name\":\"f\",\"arguments\":\"\"}}\n\n",
            "data: {\"type\":\"response.function_call_arguments.delta\",\"item_id\":\"fc_1\",\"delta\":\"{\\\"a\\\":\"}\n\n",
            "data: {\"type\":\"response.function_call_arguments.done\",\"item_id\":\"fc_1\",\"arguments\":\"{\\\"a\\\":2}\"}\n\n",
            "data: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"usage\":{\"input_tokens\":4,\"output_tokens\":3,\"total_tokens\":7,\"output_tokens_details\":{\"reasoning_tokens\":2}}}}\n\n",
        );
        let events = run("openai-responses", body.as_bytes());
        let mut meta = Map::new();
        meta.insert("reasoning".into(), json!("think"));
        assert_eq!(
            events,
            vec![
                Event::MessageStarted { id: Some("r1".into()), model: Some("gpt-5".into()) },
                Event::RawChunk(RawData::ReasoningDelta("think".into())),
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
                    metadata: meta
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
            matches!(events.last(), Some(Event::Error(e)) if e.reason == "provider_unavailable" && e.message == "boom")
        );
        let body = "event: error\ndata: {\"code\":\"rate_limit_exceeded\",\"message\":\"slow\"}\n\n";
        let events = run("openai-responses", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "rate_limited"));
    }
}
