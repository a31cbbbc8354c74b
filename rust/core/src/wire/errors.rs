//! Provider error objects inside a stream to AdapterError (docs/internals.md
//! §5, §6.3). Mirrors the pure twin's `_errors.py`.

use serde_json::{Map, Value};

use super::common::string;
use super::redact::redact;
use crate::event::CoreError;

/// Maps one provider error string to an AdapterError reason (§5).
fn reason_of(key: &str) -> Option<&'static str> {
    Some(match key {
        "rate_limit_error" | "rate_limit_exceeded" | "RESOURCE_EXHAUSTED" => "rate_limited",
        "overloaded_error" | "api_error" | "server_error" | "UNAVAILABLE" | "INTERNAL" => "provider_unavailable",
        "authentication_error" | "invalid_api_key" | "permission_error" | "API_KEY_INVALID" => "authentication_failed",
        "invalid_request_error" => "invalid_request",
        "context_length_exceeded" => "context_length_exceeded",
        _ => return None,
    })
}

/// The reason for an HTTP status carried as an error code (400 to 599), as
/// the HTTP path maps statuses.
pub fn status_reason(status: u64) -> Option<&'static str> {
    Some(match status {
        401 | 403 => "authentication_failed",
        429 => "rate_limited",
        408 => "timeout",
        409 | 500..=599 => "provider_unavailable",
        400..=499 => "invalid_request",
        _ => return None,
    })
}

/// A numeric `code`: a JSON integer or a string of ASCII digits.
fn numeric_code(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// The first `details[].reason` string found in the table (Gemini's `API_KEY_INVALID`).
fn detail_reason(err: &Map<String, Value>) -> Option<&'static str> {
    err.get("details")?.as_array()?.iter().find_map(|d| d.get("reason")?.as_str().and_then(reason_of))
}

/// An AdapterError from a provider error object. The reason is the first found
/// of: a `details[].reason` in the §5 table; the first of `code`, `type`,
/// `status` (string values) in the table; a numeric `code` mapped as an HTTP
/// status. The message is redacted of key material.
pub fn provider_error(err: Option<&Map<String, Value>>, provider: &'static str) -> CoreError {
    let Some(err) = err else {
        return CoreError::adapter(provider, "unknown", None);
    };
    let reason = detail_reason(err)
        .or_else(|| ["code", "type", "status"].iter().find_map(|k| err.get(*k)?.as_str().and_then(reason_of)))
        .or_else(|| err.get("code").and_then(numeric_code).and_then(status_reason))
        .unwrap_or("unknown");
    CoreError::adapter(provider, reason, string(err, "message").map(redact))
}
