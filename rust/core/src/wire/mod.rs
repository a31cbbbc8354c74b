//! Provider wire decoders: SSE events in, core events out (docs/internals.md §4).

use std::str::FromStr;

use serde_json::{Map, Value};

use crate::event::{CoreError, CoreEvent, Event, RawData, Usage};
use crate::sse::SseEventRef;

pub mod anthropic;
pub mod gemini;
pub mod openai_chat;
pub mod openai_responses;

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

/// Message text of the shared stream errors (docs/internals.md §6).
pub const MSG_MALFORMED: &str = "event data is not valid JSON";
pub const MSG_NOT_OBJECT: &str = "event data is not a JSON object";
pub const MSG_INCOMPLETE: &str = "stream ended before the provider's terminal event";
pub fn msg_argument_limit(limit: usize) -> String {
    format!("tool call arguments exceed max_argument_bytes ({limit})")
}

pub(crate) fn malformed() -> CoreError {
    CoreError::stream("malformed_event", MSG_MALFORMED)
}

/// Whether `data` has a `\u` escape in the surrogate range (D800-DFFF).
#[cfg(test)]
pub(crate) fn has_surrogate_escape(data: &str) -> bool {
    let b = data.as_bytes();
    memchr::memchr_iter(b'\\', b).any(|i| {
        b.get(i + 1) == Some(&b'u')
            && matches!(b.get(i + 2), Some(b'd' | b'D'))
            && matches!(b.get(i + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
    })
}

/// Whether `data` may hold a `-0` integer literal: the bytes `-0` where a
/// JSON value can start (at the start, or after `:`, `,`, `[` or whitespace)
/// and not followed by a digit, `.`, `e` or `E`. A superset of the real
/// literals (a string may contain `: -0`); dates and ids such as
/// `"gpt-4o-2024-08-06"` do not match.
pub(crate) fn has_minus_zero(data: &str) -> bool {
    let b = data.as_bytes();
    memchr::memchr_iter(b'-', b).any(|i| is_minus_zero_at(b, i))
}

/// Whether the `-` at `i` may start a `-0` integer literal.
#[inline]
fn is_minus_zero_at(b: &[u8], i: usize) -> bool {
    b.get(i + 1) == Some(&b'0')
        && !matches!(b.get(i + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
        && (i == 0 || matches!(b[i - 1], b':' | b',' | b'[' | b' ' | b'\t' | b'\n' | b'\r'))
}

/// Whether a payload must take the exact `Value` path instead of the lenient
/// typed fast path: one pass over the bytes (16 at a time) looking for
/// * a `\u` escape in the surrogate range (see [`has_surrogate_escape`]);
/// * a possible `-0` integer literal (see [`has_minus_zero`]);
/// * a number that may overflow to infinity, or more than 127 nested
///   arrays/objects: serde_json checks neither inside the values it skips
///   (unknown fields of the lenient structs). A superset: more than 127
///   `[`/`{` bytes, an exponent of three or more digits right after a digit
///   (`1e999`, `2E+400`), or a run of 200 or more digits (with an exponent
///   below 100 a finite double has at most 309 integer digits).
pub(crate) fn needs_exact_parse(data: &str) -> bool {
    let b = data.as_bytes();
    let digit = |c: u8| c.is_ascii_digit();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut brackets = 0u32;
    let mut carry = 0u32; // whether the byte before this block is a digit
    let mut start = 0;
    while start < b.len() {
        let m = masks16(b, start);
        brackets += m.opens.count_ones();
        let mut candidates = ((m.digits << 1) | carry) & m.es;
        carry = (m.digits >> 15) & 1;
        while candidates != 0 {
            let i = start + candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let first = if matches!(at(i + 1), b'+' | b'-') { i + 2 } else { i + 1 };
            if digit(at(first)) && digit(at(first + 1)) && digit(at(first + 2)) {
                return true;
            }
        }
        let mut backslashes = m.backslashes;
        while backslashes != 0 {
            let i = start + backslashes.trailing_zeros() as usize;
            backslashes &= backslashes - 1;
            if at(i + 1) == b'u'
                && matches!(at(i + 2), b'd' | b'D')
                && matches!(at(i + 3), b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F')
            {
                return true;
            }
        }
        let mut minuses = m.minuses;
        while minuses != 0 {
            let i = start + minuses.trailing_zeros() as usize;
            minuses &= minuses - 1;
            if is_minus_zero_at(b, i) {
                return true;
            }
        }
        start += 16;
    }
    if brackets > 127 {
        return true;
    }
    // Every run of 200 digits covers a multiple of 100.
    (0..b.len()).step_by(100).any(|p| {
        digit(b[p]) && {
            let left = b[..p].iter().rev().take_while(|c| digit(**c)).count();
            let right = b[p..].iter().take_while(|c| digit(**c)).count();
            left + right >= 200
        }
    })
}

/// Bit masks of the 16 bytes at `start` (zero-padded at the end).
struct Masks {
    digits: u32,
    /// `e` or `E`.
    es: u32,
    /// `[` or `{`.
    opens: u32,
    backslashes: u32,
    minuses: u32,
}

#[inline]
fn masks16(b: &[u8], start: usize) -> Masks {
    match b.get(start..start + 16) {
        Some(full) => masks_of(full.try_into().expect("16 bytes")),
        None => {
            let mut block = [0u8; 16];
            let rest = &b[start..];
            block[..rest.len()].copy_from_slice(rest);
            masks_of(&block)
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn masks_of(bytes: &[u8; 16]) -> Masks {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; the unaligned load reads
    // exactly the 16 bytes of `bytes`.
    unsafe {
        let x = _mm_loadu_si128(bytes.as_ptr().cast());
        let set = |c: u8| _mm_set1_epi8(c as i8);
        let mask = |v: __m128i| _mm_movemask_epi8(v) as u32;
        let ge0 = _mm_cmpgt_epi8(x, set(b'0' - 1));
        let le9 = _mm_cmplt_epi8(x, set(b'9' + 1));
        // `[` is 0x5B and `{` is 0x7B, `E` 0x45 and `e` 0x65: one compare after setting bit 0x20.
        let lower = _mm_or_si128(x, set(0x20));
        Masks {
            digits: mask(_mm_and_si128(ge0, le9)),
            es: mask(_mm_cmpeq_epi8(lower, set(b'e'))),
            opens: mask(_mm_cmpeq_epi8(lower, set(b'{'))),
            backslashes: mask(_mm_cmpeq_epi8(x, set(b'\\'))),
            minuses: mask(_mm_cmpeq_epi8(x, set(b'-'))),
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks_of(bytes: &[u8; 16]) -> Masks {
    let mut m = Masks { digits: 0, es: 0, opens: 0, backslashes: 0, minuses: 0 };
    for (i, &c) in bytes.iter().enumerate() {
        m.digits |= u32::from(c.is_ascii_digit()) << i;
        m.es |= u32::from(c | 0x20 == b'e') << i;
        m.opens |= u32::from(c | 0x20 == b'{') << i;
        m.backslashes |= u32::from(c == b'\\') << i;
        m.minuses |= u32::from(c == b'-') << i;
    }
    m
}

/// Rewrites `-0` integer literals (outside strings) to `0`: JSON `-0` is the
/// int 0 for Python, while serde_json reads it as the float -0.0.
/// `None` when there is nothing to rewrite.
pub fn normalize_negative_zero(data: &str) -> Option<String> {
    let b = data.as_bytes();
    if !has_minus_zero(data) {
        return None;
    }
    let mut out: Option<Vec<u8>> = None;
    let mut in_str = false;
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if in_str {
            if ch == b'\\' {
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(&b[i..(i + 2).min(b.len())]);
                }
                i += 2;
                continue;
            }
            if ch == b'"' {
                in_str = false;
            }
        } else if ch == b'"' {
            in_str = true;
        } else if ch == b'-'
            && b.get(i + 1) == Some(&b'0')
            && !matches!(b.get(i + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let o = out.get_or_insert_with(|| b[..i].to_vec());
            o.push(b'0');
            i += 2;
            continue;
        }
        if let Some(o) = out.as_mut() {
            o.push(ch);
        }
        i += 1;
    }
    out.map(|o| String::from_utf8(o).expect("only ASCII was replaced"))
}

/// Parses JSON text as a `Value` with `-0` read as the int 0.
pub fn parse_json(data: &str) -> serde_json::Result<Value> {
    match normalize_negative_zero(data) {
        Some(fixed) => serde_json::from_str(&fixed),
        None => serde_json::from_str(data),
    }
}

/// Parses a payload fully as a JSON value (the slow, exact path).
pub(crate) fn parse_value(data: &str) -> Result<Value, CoreError> {
    match parse_json(data) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(CoreError::stream("malformed_event", MSG_NOT_OBJECT)),
        Err(_) => Err(malformed()),
    }
}

/// Reads a payload as `$ty`: a borrowed, lenient fast path, falling back to a
/// full `Value` parse (kept in `$holder`) for duplicate keys, surrogate
/// escapes, `-0`, possibly overflowing numbers or deep nesting (which
/// serde_json does not check in skipped values), non-objects and errors, so
/// the result matches a dict-based reader.
macro_rules! parse_payload {
    ($data:expr, $ty:ident, $holder:ident) => {{
        let data: &str = $data;
        let fast = if $crate::wire::needs_exact_parse(data) {
            None
        } else {
            match serde_json::from_str::<$crate::lenient::LObj<$ty>>(data) {
                Ok($crate::lenient::LObj(Some(p))) => Some(p),
                _ => None,
            }
        };
        match fast {
            Some(p) => p,
            None => {
                $holder = $crate::wire::parse_value(data)?;
                <$ty as serde::Deserialize>::deserialize(&$holder).map_err(|_| $crate::wire::malformed())?
            }
        }
    }};
}
pub(crate) use parse_payload;

/// State every decoder keeps: message start, text, usage, reasoning, calls.
#[derive(Debug, Default)]
pub(crate) struct Common {
    pub started: bool,
    pub text: String,
    pub usage: Option<Usage>,
    pub reasoning: Option<String>,
    pub calls: Vec<Call>,
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
    pub key: i64,
    pub id: Option<String>,
    pub name: Option<String>,
    pub raw: String,
    /// Final arguments text that replaces the accumulated deltas.
    pub final_raw: Option<String>,
    /// Fragments seen before the call started.
    pub buffered: Vec<String>,
    pub started: bool,
    pub completed: bool,
    pub metadata: Map<String, Value>,
}

impl Common {
    pub fn new(max_argument_bytes: Option<usize>) -> Self {
        Common { max_argument_bytes, ..Default::default() }
    }

    pub fn start(&mut self, id: Option<&str>, model: Option<&str>, out: &mut Vec<CoreEvent>) {
        if !self.started {
            self.started = true;
            out.push(Event::MessageStarted { id: id.map(str::to_owned), model: model.map(str::to_owned) });
        }
    }

    pub fn text_delta(&mut self, delta: &str, out: &mut Vec<CoreEvent>) {
        if !delta.is_empty() {
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

    /// Checks an argument text length against max_argument_bytes.
    pub fn check_args(&self, len: usize) -> Result<(), CoreError> {
        check_args(self.max_argument_bytes, len)
    }

    /// A new call, started at once when it has an id and a name.
    pub fn new_call(&mut self, call: Call, out: &mut Vec<CoreEvent>) -> usize {
        self.calls.push(call);
        let i = self.calls.len() - 1;
        self.maybe_start_call(i, out);
        i
    }
}

fn check_args(max_argument_bytes: Option<usize>, len: usize) -> Result<(), CoreError> {
    {
        match max_argument_bytes {
            Some(limit) if len > limit => Err(CoreError::stream("limit_exceeded", msg_argument_limit(limit))),
            _ => Ok(()),
        }
    }
}

impl Common {
    /// Starts call `i` if it has an id and a name, flushing buffered fragments.
    pub fn maybe_start_call(&mut self, i: usize, out: &mut Vec<CoreEvent>) {
        let call = &mut self.calls[i];
        if call.started {
            return;
        }
        if let (Some(id), Some(name)) = (&call.id, &call.name) {
            call.started = true;
            out.push(Event::ToolCallStarted { id: id.clone(), name: name.clone() });
            for fragment in std::mem::take(&mut call.buffered) {
                out.push(Event::ToolCallDelta { id: id.clone(), delta: fragment });
            }
        }
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
    ) {
        for i in 0..self.calls.len() {
            if !self.calls[i].completed {
                if !self.calls[i].started {
                    let call = &mut self.calls[i];
                    if call.id.is_none() {
                        call.id = Some(format!("call_{}", call.key));
                    }
                    call.name.get_or_insert_with(String::new);
                    self.maybe_start_call(i, out);
                }
                self.complete_call(i, out);
            }
        }
        if !self.text.is_empty() {
            out.push(Event::TextCompleted { text: std::mem::take(&mut self.text) });
        }
        if let Some(usage) = self.usage.take() {
            out.push(Event::RawChunk(RawData::Usage(usage)));
        }
        let mut metadata = Map::new();
        if let Some(reasoning) = self.reasoning.take() {
            metadata.insert("reasoning".to_owned(), Value::String(reasoning));
        }
        out.push(Event::MessageCompleted {
            finish_reason: finish_reason.map(str::to_owned),
            raw_finish_reason,
            metadata,
        });
    }
}

/// Tool-call arguments: a JSON object, else `{}` (empty text, bad JSON, not an object).
pub fn parse_arguments(raw: &str) -> Map<String, Value> {
    if raw.is_empty() {
        return Map::new();
    }
    match parse_json(raw) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Maps one provider error string to an AdapterError reason (§5).
fn reason_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "rate_limit_error" | "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => "rate_limited",
        "overloaded_error" | "api_error" | "server_error" | "UNAVAILABLE" | "INTERNAL" => "provider_unavailable",
        "authentication_error" | "invalid_api_key" | "permission_error" => "authentication_failed",
        "invalid_request_error" => "invalid_request",
        "context_length_exceeded" => "context_length_exceeded",
        _ => return None,
    })
}

/// An AdapterError from a provider error object: the first of its `code`,
/// `type`, `status` (string values only) found in the §5 table gives the reason.
pub fn provider_error(err: Option<&Map<String, Value>>, provider: &'static str) -> CoreError {
    let Some(err) = err else {
        return CoreError::adapter(provider, "unknown", None);
    };
    let reason = ["code", "type", "status"]
        .iter()
        .find_map(|k| err.get(*k).and_then(Value::as_str).and_then(reason_of))
        .unwrap_or("unknown");
    CoreError::adapter(provider, reason, string(err, "message").map(str::to_owned))
}

/// Reads a token count: a JSON integer in `[0, 2**63-1]`, else `None`.
pub(crate) fn count(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64).filter(|n| *n >= 0)
}

/// Reads a nested token count.
pub(crate) fn nested_count(o: &Map<String, Value>, outer: &str, key: &str) -> Option<i64> {
    obj(o, outer).and_then(|inner| count(inner, key))
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
    /// The usage reported so far (emitted before a terminal error).
    fn take_usage(&mut self) -> Option<Usage> {
        self.common().usage.take()
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

/// Python's `json.dumps(value, ensure_ascii=False, separators=(",", ":"))`.
pub fn canonical_dumps(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter);
    serde::Serialize::serialize(value, &mut ser).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

struct PyFormatter;

impl serde_json::ser::Formatter for PyFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, value: f64) -> std::io::Result<()> {
        writer.write_all(py_float_repr(value).as_bytes())
    }
}

/// Python's `repr(float)` for a finite float.
pub fn py_float_repr(x: f64) -> String {
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp >= 0 {
            if n <= exp + 1 {
                format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
            } else {
                format!("{}.{}", &digits[..(exp + 1) as usize], &digits[(exp + 1) as usize..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let frac = if digits.len() > 1 { format!(".{}", &digits[1..]) } else { String::new() };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{frac}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_float_repr() {
        for (x, s) in [
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e15, "1000000000000000.0"),
            (1.2345e-7, "1.2345e-07"),
            (0.1, "0.1"),
        ] {
            assert_eq!(py_float_repr(x), s);
        }
        assert_eq!(
            canonical_dumps(&json!({"a": [1, 2.5, "é\n\u{0001}"], "b": null})),
            "{\"a\":[1,2.5,\"é\\n\\u0001\"],\"b\":null}"
        );
    }

    #[test]
    fn negative_zero_is_int() {
        assert_eq!(
            parse_json(r#"{"a": -0, "b": -0.0, "c": "-0", "d": [-0], "e": -05}"#).ok().map(|v| v.to_string()),
            None
        );
        assert_eq!(
            parse_json(r#"{"a": -0, "b": -0.0, "c": "x\"-0", "d": [-0]}"#).unwrap().to_string(),
            r#"{"a":0,"b":-0.0,"c":"x\"-0","d":[0]}"#
        );
    }

    #[test]
    fn minus_zero_candidates() {
        assert!(!has_minus_zero(r#"{"model":"gpt-4o-2024-08-06","a":-0.5,"b":-05,"c":-0e1}"#));
        for s in ["-0", "[-0]", r#"{"a":-0}"#, r#"{"a": -0 }"#, "{\"a\":\n-0}", r#"{"a":[1,-0]}"#] {
            assert!(has_minus_zero(s), "{s}");
        }
        // a false positive inside a string is harmless (the exact path handles it)
        assert!(has_minus_zero(r#"{"a":"x:-0"}"#));
        assert_eq!(parse_json(r#"{"a":"x:-0","b":-0}"#).unwrap().to_string(), r#"{"a":"x:-0","b":0}"#);
    }

    #[test]
    fn overflow_and_nesting_candidates() {
        assert!(needs_exact_parse(r#"{"x":1e999}"#));
        assert!(needs_exact_parse(r#"{"x":2.5E+400}"#));
        assert!(needs_exact_parse(r#"{"x":1e-400}"#)); // harmless false positive
        assert!(!needs_exact_parse(r#"{"x":1e99,"y":"8e60b","z":1.5e-07}"#));
        let big = format!("{{\"x\":{}}}", "9".repeat(310));
        assert!(needs_exact_parse(&big));
        assert!(parse_json(&big).is_err());
        let deep = format!("{{\"x\":{}1{}}}", "[".repeat(127), "]".repeat(127));
        assert!(needs_exact_parse(&deep));
        assert!(parse_json(&deep).is_err());
        let ok = format!("{{\"x\":{}1{}}}", "[".repeat(126), "]".repeat(126));
        assert!(!needs_exact_parse(&ok));
        assert!(parse_json(&ok).is_ok());
    }

    #[test]
    fn surrogate_escapes() {
        assert!(has_surrogate_escape(r#"{"a":"\ud800"}"#));
        assert!(!has_surrogate_escape(r#"{"a":"\u00e9"}"#));
        // The fused pre-check agrees with the single ones, across 16-byte blocks.
        for pad in 0..20 {
            let p = " ".repeat(pad);
            for (text, want) in [
                (format!(r#"{{"a":{p}"x\ud800"}}"#), true),
                (format!(r#"{{"a":{p}"x\uDbff"}}"#), true),
                (format!(r#"{{"a":{p}"x\u00e9\n"}}"#), false),
                (format!(r#"{{"a":{p}-0}}"#), true),
                (format!(r#"{{"a":{p}"gpt-4o-2024-08-06",-0.5}}"#), false),
                (format!(r#"{{"a":{p}12e345}}"#), true),
                (format!(r#"{{"a":{p}"8e60b",1e-07}}"#), false),
            ] {
                assert_eq!(needs_exact_parse(&text), want, "{text}");
            }
        }
    }
}
