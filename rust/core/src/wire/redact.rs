//! Removing key material from provider-supplied text before it reaches an
//! error (docs/internals.md §6.3). The same rules as `allm.providers._redact`:
//! known key shapes, bearer tokens and credential query parameters become
//! `[redacted]`, and the text is cut to 2000 characters.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The longest text kept, in characters.
const MAX_CHARS: usize = 2000;

/// Whitespace as Python's `re.ASCII` `\s` reads it.
const WS: &str = r"\t\n\x0B\x0C\r ";

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"sk-ant-[A-Za-z0-9_\-]{6,}".to_owned(),
        r"sk-[A-Za-z0-9_\-]{6,}".to_owned(),
        r"AIza[0-9A-Za-z_\-]{10,}".to_owned(),
        r"ya29\.[0-9A-Za-z_\-.]{6,}".to_owned(),
        format!(r"((?i-u:bearer)[{WS}]+)[A-Za-z0-9_\-.~+/=]{{6,}}"),
        format!(r#"((?i-u:[?&](?:key|api_key|token|access_token)=))[^&{WS}"']+"#),
    ]
    .iter()
    .map(|p| Regex::new(p).expect("the redaction patterns are valid"))
    .collect()
});

/// `text` with key-like substrings replaced by `[redacted]`, cut to 2000 characters.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for pattern in PATTERNS.iter() {
        if pattern.is_match(&out) {
            let keep = |c: &Captures<'_>| format!("{}[redacted]", c.get(1).map_or("", |m| m.as_str()));
            out = pattern.replace_all(&out, keep).into_owned();
        }
    }
    match out.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &out[..cut]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn key_shapes_bearer_and_query_parameters() {
        assert_eq!(
            redact("Incorrect API key provided: sk-live-123456. Bearer abc.def-123 at https://x/?key=AIzaSy&a=1"),
            "Incorrect API key provided: [redacted]. Bearer [redacted] at https://x/?key=[redacted]&a=1"
        );
        assert_eq!(redact("sk-ant-api03-abcdef and AIzaSyA1234567890"), "[redacted] and [redacted]");
        assert_eq!(redact("short sk-12 stays"), "short sk-12 stays");
    }

    #[test]
    fn cut_to_2000_characters() {
        let long = "é".repeat(2001);
        assert_eq!(redact(&long), format!("{}...", "é".repeat(2000)));
        assert_eq!(redact(&"é".repeat(2000)), "é".repeat(2000));
    }
}
