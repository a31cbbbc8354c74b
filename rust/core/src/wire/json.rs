//! Strict JSON as both backends read it (docs/internals.md §6.2): the exact
//! `Value` path, the pre-check that picks it, and the lenient payload reader.
//! Mirrors the pure twin's `_json.py`.

use serde_json::{Map, Value};

use crate::event::CoreError;

/// Message text of the shared stream errors (docs/internals.md §6).
pub const MSG_MALFORMED: &str = "event data is not valid JSON";
pub const MSG_NOT_OBJECT: &str = "event data is not a JSON object";

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
        let fast = if $crate::wire::json::needs_exact_parse(data) {
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
                $holder = $crate::wire::json::parse_value(data)?;
                <$ty as serde::Deserialize>::deserialize(&$holder).map_err(|_| $crate::wire::json::malformed())?
            }
        }
    }};
}
pub(crate) use parse_payload;

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

#[cfg(test)]
mod tests {
    use super::*;

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
