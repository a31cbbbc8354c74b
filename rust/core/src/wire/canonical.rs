//! Canonical JSON text as Python's `json.dumps(value, ensure_ascii=False,
//! separators=(",", ":"))` writes it, floats as `repr(float)` (Gemini
//! `raw_arguments`, docs/internals.md §6.2). Mirrors `canonical_dumps` of the
//! pure twin's `_json.py`.

use serde_json::Value;

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
}
