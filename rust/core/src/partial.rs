//! Partial JSON: the value so far of a growing JSON text, read with jiter's
//! partial mode (incomplete strings kept, incomplete keys and values dropped).
//!
//! A number or literal (`true`, `false`, `null`) at the very end of the text is
//! not settled (more text could still extend it, `12` becoming `123`), so
//! outside a string the trailing run of bytes that may continue one is cut
//! before parsing; successive partial values of a growing text never shrink.
//! The full text is read strictly.

use jiter::{JsonValue, PartialMode};
use memchr::memchr2;

/// Why a text is not a prefix of valid JSON (jiter's error, for diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialError(pub String);

impl std::fmt::Display for PartialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PartialError {}

/// Bytes that may continue a number or a literal at the end of a text.
fn extends_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-')
}

/// Whether `text` ends inside a string (one forward pass over quotes and backslashes).
fn ends_in_string(text: &[u8]) -> bool {
    let mut inside = false;
    let mut at = 0;
    while let Some(offset) = memchr2(b'"', b'\\', &text[at..]) {
        let found = at + offset;
        if text[found] == b'"' {
            inside = !inside;
            at = found + 1;
        } else {
            at = found + 2;
        }
        if at >= text.len() {
            break;
        }
    }
    inside
}

/// `text` without a trailing number or literal that more text could still extend.
pub fn settled_prefix(text: &[u8]) -> &[u8] {
    if ends_in_string(text) {
        return text;
    }
    let end = text.iter().rposition(|&b| !extends_token(b)).map_or(0, |i| i + 1);
    &text[..end]
}

/// The value so far of `text`, a prefix of a JSON document; `None` before any value.
pub fn parse_partial(text: &[u8]) -> Result<Option<JsonValue<'_>>, PartialError> {
    let settled = settled_prefix(text);
    if settled.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    JsonValue::parse_with_config(settled, false, PartialMode::TrailingStrings)
        .map(Some)
        .map_err(|e| PartialError(e.to_string()))
}

/// The value of `text`, a whole JSON document (strict: no partial values).
pub fn parse_complete(text: &[u8]) -> Result<JsonValue<'_>, PartialError> {
    JsonValue::parse(text, false).map_err(|e| PartialError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(text: &str) -> Option<JsonValue<'_>> {
        parse_partial(text.as_bytes()).unwrap()
    }

    #[test]
    fn trailing_number_is_not_settled() {
        assert_eq!(settled_prefix(b"[1, 12"), b"[1, ");
    }

    #[test]
    fn open_string_is_not_cut() {
        assert_eq!(settled_prefix(br#"["a\"1"#), br#"["a\"1"#);
    }

    #[test]
    fn empty_text_has_no_value() {
        assert_eq!(partial("  "), None);
    }

    #[test]
    fn open_string_is_kept() {
        assert_eq!(partial(r#"["ab"#), Some(JsonValue::parse(br#"["ab"]"#, false).unwrap()));
    }

    #[test]
    fn incomplete_key_is_dropped() {
        assert_eq!(partial(r#"{"a": 1, "b"#), Some(JsonValue::parse(br#"{"a": 1}"#, false).unwrap()));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_partial(b"[}").is_err());
    }

    #[test]
    fn complete_parse_is_strict() {
        assert!(parse_complete(b"[1").is_err());
    }
}
