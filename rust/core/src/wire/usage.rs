//! Token counts out of provider usage objects (docs/internals.md §6.2).
//! Mirrors the pure twin's `_usage.py`.

use serde_json::{Map, Value};

use super::common::obj;
use crate::event::Usage;

/// Reads a token count: a JSON integer in `[0, 2**63-1]`, else `None`.
pub(crate) fn count(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64).filter(|n| *n >= 0)
}

/// Reads a nested token count.
pub(crate) fn nested_count(o: &Map<String, Value>, outer: &str, key: &str) -> Option<i64> {
    obj(o, outer).and_then(|inner| count(inner, key))
}

/// Usage from an OpenAI usage object (Chat: prompt/completion; Responses: input/output).
pub fn openai_usage(u: &Map<String, Value>, input: &str, output: &str) -> Usage {
    let details_in = format!("{input}_details");
    let details_out = format!("{output}_details");
    Usage {
        input_tokens: count(u, input).unwrap_or(0),
        output_tokens: count(u, output).unwrap_or(0),
        total_tokens: count(u, "total_tokens").unwrap_or(0),
        cached_input_tokens: nested_count(u, &details_in, "cached_tokens").unwrap_or(0),
        cache_write_input_tokens: nested_count(u, &details_in, "cache_write_tokens").unwrap_or(0),
        reasoning_tokens: nested_count(u, &details_out, "reasoning_tokens").unwrap_or(0),
        extra: Map::new(),
    }
}
