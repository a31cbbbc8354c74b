//! Provider error objects inside a stream to AdapterError (docs/internals.md
//! §5, §6.3). Mirrors the pure twin's `_errors.py`.

use serde_json::{Map, Value};

use super::common::string;
use crate::event::CoreError;

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
