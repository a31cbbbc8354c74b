//! OpenAI Chat Completions streams (also every OpenAI-compatible server).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::common::{check_args, Call, Common, WireDecoder, MSG_INCOMPLETE};
use super::json::parse_arguments;
use super::json::parse_payload;
use super::provider_error;
use super::usage::openai_usage;
use crate::event::{CoreError, CoreEvent};
use crate::lenient::{LArr, LInt, LObj, LStr, LStrOrArr};
use crate::sse::SseEventRef;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: LStr<'a>,
    #[serde(borrow)]
    model: LStr<'a>,
    #[serde(borrow)]
    choices: LArr<LObj<Choice<'a>>>,
    usage: LObj<Box<Map<String, Value>>>,
    error: LObj<Box<Map<String, Value>>>,
}

/// A chunk after the first: `id` and `model` are only read from the first
/// one, so later chunks skip them (validated, not decoded).
#[derive(Deserialize, Default)]
#[serde(default)]
struct LaterChunk<'a> {
    #[serde(borrow)]
    choices: LArr<LObj<Choice<'a>>>,
    usage: LObj<Box<Map<String, Value>>>,
    error: LObj<Box<Map<String, Value>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Choice<'a> {
    index: LInt,
    #[serde(borrow)]
    delta: LObj<Delta<'a>>,
    #[serde(borrow)]
    finish_reason: LStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Delta<'a> {
    #[serde(borrow)]
    content: LStrOrArr<'a, LObj<Part<'a>>>,
    #[serde(borrow)]
    reasoning_content: LStr<'a>,
    #[serde(borrow)]
    reasoning: LStr<'a>,
    #[serde(borrow)]
    tool_calls: LArr<LObj<ToolCallDelta<'a>>>,
}

/// A content part (Mistral): `text`, or `thinking` as a string or text parts.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Part<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    text: LStr<'a>,
    #[serde(borrow)]
    thinking: LStrOrArr<'a, LObj<TextPart<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TextPart<'a> {
    #[serde(borrow, rename = "type")]
    kind: LStr<'a>,
    #[serde(borrow)]
    text: LStr<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ToolCallDelta<'a> {
    index: LInt,
    #[serde(borrow)]
    id: LStr<'a>,
    #[serde(borrow)]
    function: LObj<FunctionDelta<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FunctionDelta<'a> {
    #[serde(borrow)]
    name: LStr<'a>,
    #[serde(borrow)]
    arguments: LStr<'a>,
}

/// The openai-chat decoder.
pub struct Decoder {
    pub(crate) c: Common,
    finish: Option<String>,
    /// Choice 0's tool calls by `index`: the position in `c.calls`.
    by_index: HashMap<i128, usize>,
    /// Every other choice (n > 1), by its `index`.
    others: BTreeMap<i128, Other>,
}

/// A choice other than 0, folded on its own.
#[derive(Default)]
struct Other {
    text: String,
    reasoning: String,
    calls: Vec<OtherCall>,
    by_index: HashMap<i128, usize>,
    finish: Option<String>,
}

/// A tool call of another choice.
struct OtherCall {
    key: i128,
    id: Option<String>,
    name: Option<String>,
    raw: String,
}

/// A piece of a delta, in wire order: reasoning first, then content.
enum Piece<'p> {
    Reasoning(&'p str),
    Text(&'p str),
}

/// The reasoning and text pieces of a delta: `reasoning_content` (else
/// `reasoning`), then `content` as a string or as text and thinking parts.
fn pieces<'p>(delta: &'p Delta<'_>) -> Vec<Piece<'p>> {
    let mut out = Vec::new();
    if let Some(r) = delta.reasoning_content.non_empty().or_else(|| delta.reasoning.non_empty()) {
        out.push(Piece::Reasoning(r));
    }
    match &delta.content {
        LStrOrArr::Str(text) => out.push(Piece::Text(text)),
        LStrOrArr::Arr(parts) => {
            for part in parts.iter().filter_map(|p| p.0.as_ref()) {
                match part.kind.as_deref() {
                    Some("text") => out.extend(part.text.as_deref().map(Piece::Text)),
                    Some("thinking") => match &part.thinking {
                        LStrOrArr::Str(text) => out.push(Piece::Reasoning(text)),
                        LStrOrArr::Arr(items) => out.extend(
                            items
                                .iter()
                                .filter_map(|t| t.0.as_ref())
                                .filter(|t| t.kind.as_deref() == Some("text"))
                                .filter_map(|t| t.text.as_deref().map(Piece::Reasoning)),
                        ),
                        LStrOrArr::Neither => {}
                    },
                    _ => {}
                }
            }
        }
        LStrOrArr::Neither => {}
    }
    out
}

fn index_value(index: i128) -> Value {
    i64::try_from(index).map(Value::from).unwrap_or_else(|_| Value::from(index as u64))
}

impl Other {
    fn apply(&mut self, choice: &Choice<'_>, limit: Option<usize>) -> Result<(), CoreError> {
        if let Some(delta) = &choice.delta.0 {
            for piece in pieces(delta) {
                match piece {
                    Piece::Reasoning(r) => self.reasoning.push_str(r),
                    Piece::Text(t) => self.text.push_str(t),
                }
            }
            for (pos, tc) in delta.tool_calls.items().iter().enumerate() {
                let Some(tc) = &tc.0 else { continue };
                let key = tc.index.0.unwrap_or(pos as i128);
                let calls = &mut self.calls;
                let i = *self.by_index.entry(key).or_insert_with(|| {
                    calls.push(OtherCall { key, id: None, name: None, raw: String::new() });
                    calls.len() - 1
                });
                let call = &mut self.calls[i];
                let function = tc.function.0.as_ref();
                if call.id.is_none() {
                    call.id = tc.id.non_empty().map(str::to_owned);
                }
                if call.name.is_none() {
                    call.name = function.and_then(|f| f.name.non_empty()).map(str::to_owned);
                }
                if let Some(args) = function.and_then(|f| f.arguments.as_deref()) {
                    check_args(limit, call.raw.len() + args.len())?;
                    call.raw.push_str(args);
                }
            }
        }
        if let Some(reason) = choice.finish_reason.non_empty() {
            self.finish = Some(reason.to_owned());
        }
        Ok(())
    }

    /// The choice as `message_completed.metadata["choices"]` lists it.
    fn into_value(self, index: i128) -> Value {
        let calls: Vec<Value> = self
            .calls
            .into_iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("id".into(), Value::String(c.id.unwrap_or_else(|| format!("call_{}", c.key))));
                m.insert("name".into(), Value::String(c.name.unwrap_or_default()));
                m.insert("arguments".into(), Value::Object(parse_arguments(&c.raw)));
                m.insert("raw_arguments".into(), Value::String(c.raw));
                Value::Object(m)
            })
            .collect();
        let opt = |s: Option<String>| s.map_or(Value::Null, Value::String);
        let mut m = Map::new();
        m.insert("index".into(), index_value(index));
        m.insert("text".into(), Value::String(self.text));
        m.insert(
            "reasoning".into(),
            if self.reasoning.is_empty() { Value::Null } else { Value::String(self.reasoning) },
        );
        m.insert("tool_calls".into(), Value::Array(calls));
        m.insert("finish_reason".into(), opt(self.finish.as_deref().map(|r| map_finish(r).to_owned())));
        m.insert("raw_finish_reason".into(), opt(self.finish));
        Value::Object(m)
    }
}

impl Decoder {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Decoder {
            c: Common::new(max_argument_bytes, "openai"),
            finish: None,
            by_index: HashMap::new(),
            others: BTreeMap::new(),
        }
    }

    fn end(&mut self, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        let raw = self.finish.take();
        let mapped = raw.as_deref().map(map_finish);
        if !self.others.is_empty() {
            let choices = std::mem::take(&mut self.others).into_iter().map(|(i, o)| o.into_value(i)).collect();
            self.c.metadata.insert("choices".to_owned(), Value::Array(choices));
        }
        self.c.finish(mapped, raw, out)
    }
}

/// Maps a Chat Completions finish_reason.
pub fn map_finish(raw: &str) -> &'static str {
    match raw {
        "stop" => "stop",
        "length" => "length",
        "tool_calls" | "function_call" => "tool_calls",
        "content_filter" => "content_filter",
        _ => "other",
    }
}

impl WireDecoder for Decoder {
    fn on_event(&mut self, event: SseEventRef<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        let data = event.data;
        if data == "[DONE]" {
            self.c.start(None, None, out);
            return self.end(out);
        }
        let holder;
        if self.c.started {
            let chunk = parse_payload!(data, LaterChunk, holder);
            self.on_chunk(&chunk.choices, chunk.usage.0.as_deref(), chunk.error.0.as_deref(), out)
        } else {
            let chunk = parse_payload!(data, Chunk, holder);
            self.c.start(chunk.id.as_deref(), chunk.model.as_deref(), out);
            self.on_chunk(&chunk.choices, chunk.usage.0.as_deref(), chunk.error.0.as_deref(), out)
        }
    }

    fn on_close(&mut self, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if self.finish.is_some() {
            self.end(out)
        } else {
            Err(CoreError::stream("incomplete", MSG_INCOMPLETE))
        }
    }

    fn common(&mut self) -> &mut Common {
        &mut self.c
    }
}

impl Decoder {
    /// One chunk, once the message has started.
    fn on_chunk(
        &mut self,
        choices: &LArr<LObj<Choice<'_>>>,
        usage: Option<&Map<String, Value>>,
        error: Option<&Map<String, Value>>,
        out: &mut Vec<CoreEvent>,
    ) -> Result<(), CoreError> {
        if let Some(err) = error {
            return Err(provider_error(Some(err), "openai"));
        }
        if let Some(u) = usage {
            self.c.usage = Some(openai_usage(u, "prompt_tokens", "completion_tokens"));
        }
        for (pos, choice) in choices.items().iter().enumerate() {
            let Some(choice) = &choice.0 else { continue };
            match choice.index.0.unwrap_or(pos as i128) {
                0 => self.on_choice(choice, out)?,
                n => self.others.entry(n).or_default().apply(choice, self.c.max_argument_bytes)?,
            }
        }
        Ok(())
    }

    /// Choice 0: the events and the Response describe it.
    fn on_choice(&mut self, choice: &Choice<'_>, out: &mut Vec<CoreEvent>) -> Result<(), CoreError> {
        if let Some(delta) = &choice.delta.0 {
            for piece in pieces(delta) {
                match piece {
                    Piece::Reasoning(r) => self.c.reasoning_delta(r, out),
                    Piece::Text(t) => self.c.text_delta(t, out),
                }
            }
            for (pos, tc) in delta.tool_calls.items().iter().enumerate() {
                let Some(tc) = &tc.0 else { continue };
                let key = tc.index.0.unwrap_or(pos as i128);
                let calls = &mut self.c.calls;
                let i = *self.by_index.entry(key).or_insert_with(|| {
                    calls.push(Call { key, ..Call::default() });
                    calls.len() - 1
                });
                let function = tc.function.0.as_ref();
                {
                    let call = &mut self.c.calls[i];
                    if call.id.is_none() {
                        call.id = tc.id.non_empty().map(str::to_owned);
                    }
                    if call.name.is_none() {
                        call.name = function.and_then(|f| f.name.non_empty()).map(str::to_owned);
                    }
                }
                self.c.maybe_start_call(i, out)?;
                if let Some(args) = function.and_then(|f| f.arguments.as_deref()) {
                    self.c.call_delta(i, args, out)?;
                }
            }
        }
        if let Some(reason) = choice.finish_reason.non_empty() {
            self.finish = Some(reason.to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, RawData, Usage};
    use crate::pipeline::tests::run;
    use serde_json::json;

    #[test]
    fn text_tools_usage_done() {
        let body = concat!(
            "data: {\"id\":\"c1\",\"model\":\"gpt\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_1\",\"function\":{\"name\":\"f\",\"arguments\":\":1}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"function_call\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":1}}}\n\n",
            "data: [DONE]\n\n",
        );
        let events = run("openai-chat", body.as_bytes());
        let args = json!({"a": 1}).as_object().unwrap().clone();
        assert_eq!(
            events,
            vec![
                Event::MessageStarted { id: Some("c1".into()), model: Some("gpt".into()) },
                Event::TextDelta { delta: "Hi".into() },
                Event::ToolCallStarted { id: "call_1".into(), name: "f".into() },
                Event::ToolCallDelta { id: "call_1".into(), delta: "{\"a\"".into() },
                Event::ToolCallDelta { id: "call_1".into(), delta: ":1}".into() },
                Event::ToolCallCompleted {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: args,
                    raw_arguments: "{\"a\":1}".into(),
                    metadata: Map::new()
                },
                Event::TextCompleted { text: "Hi".into() },
                Event::RawChunk(RawData::Usage(Usage {
                    input_tokens: 5,
                    output_tokens: 2,
                    total_tokens: 7,
                    cached_input_tokens: 3,
                    reasoning_tokens: 1,
                    ..Usage::default()
                })),
                Event::MessageCompleted {
                    finish_reason: Some("tool_calls".into()),
                    raw_finish_reason: Some("function_call".into()),
                    metadata: Map::new()
                },
            ]
        );
    }

    #[test]
    fn close_without_done() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"length\"}]}\n\n";
        let events = run("openai-chat", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::MessageCompleted { finish_reason: Some(r), .. }) if r == "length"));
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n";
        let events = run("openai-chat", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "incomplete"));
    }

    #[test]
    fn malformed_and_error_object() {
        let body = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\ndata: {nope\n\n";
        let events = run("openai-chat", body.as_bytes());
        assert!(matches!(events.last(), Some(Event::Error(e)) if e.reason == "malformed_event"));
        let body = "data: {\"error\":{\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\",\"message\":\"too long\"}}\n\n";
        let events = run("openai-chat", body.as_bytes());
        assert_eq!(
            events.last(),
            Some(&Event::Error(CoreError::adapter("openai", "context_length_exceeded", Some("too long".into()))))
        );
    }
}
