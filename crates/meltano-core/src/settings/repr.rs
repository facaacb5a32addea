//! Python's spellings of JSON values, so output matches Meltano's byte for byte.
//!
//! Meltano prints setting values with Python's `repr()` (`config list`, `config set` messages),
//! turns them into environment variables with `str()` or `json.dumps()`, and quotes raw input in
//! error messages with `repr()`. These functions reproduce those three spellings for
//! [`serde_json::Value`]s.

use serde_json::{Number, Value};

/// Python's `repr()` of a value: `'alice'`, `None`, `True`, `5432`, `0.5`, `['a', 'b']`, `{'a': 1}`.
///
/// Used wherever Meltano shows a value (`current value: …`, `(default: …)`).
pub fn py_repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v);
    out
}

/// Python's `str()` of a value: strings as they are, anything else as [`py_repr`].
///
/// Meltano uses `str()` for settings of kind string/decimal or without kind, and in messages
/// such as "'x' is not a valid choice".
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a string: single quotes unless the text holds `'` and no `"`.
pub fn py_repr_str(s: &str) -> String {
    let mut out = String::new();
    write_repr_str(&mut out, s);
    out
}

/// Python's `json.dumps()` with default options: `", "` and `": "` separators, non-ASCII as
/// `\uXXXX`. Meltano injects non-string settings into plugin environments this way.
pub fn py_json_dumps(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

/// Python's `repr()` of a float: the shortest digits that round-trip, in fixed notation for
/// decimal exponents -4..16 and scientific (`1e+16`, `1.5e-05`) outside it.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // `{:e}` gives the shortest round-trip digits as `d[.ddd]e<exp>`. When two digit strings of
    // that length both round-trip, Python takes the one nearest the exact value (ties to even):
    // the correctly rounded string of the same length, if it round-trips.
    let shortest = format!("{:e}", f.abs());
    let len = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let nearest = format!("{:.*e}", len.saturating_sub(1), f.abs());
    let sci = if nearest.parse::<f64>().ok() == Some(f.abs()) {
        nearest
    } else {
        shortest
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if digits.bytes().all(|b| b == b'0') {
        return format!("{sign}0.0");
    }
    // Position of the decimal point relative to the start of `digits`.
    let decpt = exp + 1;
    let n = digits.len() as i32;
    let body = if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= n {
            format!("{}{}.0", digits, "0".repeat((decpt - n) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        format!("{first}{frac}e{esign}{:02}", e.abs())
    };
    format!("{sign}{body}")
}

fn write_number(out: &mut String, n: &Number) {
    match n.as_f64() {
        Some(f) if n.is_f64() => out.push_str(&py_float_repr(f)),
        _ => out.push_str(&n.to_string()),
    }
}

fn write_repr(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_repr_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr_str(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

fn write_repr_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            _ if c == quote || c == '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            _ if c.is_ascii() || is_printable(c) => out.push(c),
            _ => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one non-ASCII character: false for controls, format
/// characters, separators other than space, private use and noncharacters. (Unassigned code
/// points are treated as printable; Rust has no Unicode category table to tell.)
fn is_printable(c: char) -> bool {
    let code = c as u32;
    const NOT_PRINTABLE: &[(u32, u32)] = &[
        (0x80, 0xa0),
        (0xad, 0xad),
        (0x600, 0x605),
        (0x378, 0x379),
        (0x380, 0x383),
        (0x38b, 0x38b),
        (0x38d, 0x38d),
        (0x3a2, 0x3a2),
        (0x61c, 0x61c),
        (0x6dd, 0x6dd),
        (0x70f, 0x70f),
        (0x890, 0x891),
        (0x8e2, 0x8e2),
        (0x1680, 0x1680),
        (0x180e, 0x180e),
        (0x2000, 0x200f),
        (0x2028, 0x202f),
        (0x205f, 0x206f),
        (0x3000, 0x3000),
        (0xd800, 0xf8ff),
        (0xfdd0, 0xfdef),
        (0xfeff, 0xfeff),
        (0xfff0, 0xfffb),
        (0x110bd, 0x110bd),
        (0x110cd, 0x110cd),
        (0x13430, 0x1343f),
        (0x1bca0, 0x1bca3),
        (0x1d173, 0x1d17a),
        (0xe0001, 0xe0001),
        (0xe0020, 0xe007f),
        (0xf0000, 0x10ffff),
    ];
    // U+FFFE/U+FFFF of every plane are noncharacters.
    if code & 0xfffe == 0xfffe {
        return false;
    }
    !NOT_PRINTABLE
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&code))
}

fn write_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(out, key);
                out.push_str(": ");
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected strings below were produced by python3 (`repr`, `str`, `json.dumps`).

    #[test]
    fn scalars() {
        assert_eq!(py_repr(&json!(null)), "None");
        assert_eq!(py_repr(&json!(true)), "True");
        assert_eq!(py_repr(&json!(false)), "False");
        assert_eq!(py_repr(&json!(5432)), "5432");
        assert_eq!(py_repr(&json!(-7)), "-7");
        assert_eq!(py_repr(&json!(u64::MAX)), "18446744073709551615");
        assert_eq!(py_repr(&json!("alice")), "'alice'");
    }

    #[test]
    fn collections() {
        assert_eq!(
            py_repr(&json!(["users.*", "!users.email"])),
            "['users.*', '!users.email']"
        );
        assert_eq!(
            py_repr(&json!({"a": 1, "b": [true, null]})),
            "{'a': 1, 'b': [True, None]}"
        );
        assert_eq!(py_repr(&json!([])), "[]");
        assert_eq!(py_repr(&json!({})), "{}");
    }

    #[test]
    fn string_quoting_and_escapes() {
        assert_eq!(py_repr_str("it's"), "\"it's\"");
        assert_eq!(py_repr_str("say \"hi\""), "'say \"hi\"'");
        assert_eq!(py_repr_str("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(py_repr_str("a\\b"), "'a\\\\b'");
        assert_eq!(py_repr_str("l1\nl2\tx\r"), "'l1\\nl2\\tx\\r'");
        assert_eq!(py_repr_str("\u{0}\u{1b}\u{7f}"), "'\\x00\\x1b\\x7f'");
        assert_eq!(py_repr_str("é漢😀"), "'é漢😀'");
        assert_eq!(py_repr_str("\u{85}\u{a0}\u{ad}"), "'\\x85\\xa0\\xad'");
        assert_eq!(
            py_repr_str("\u{200b}\u{2028}\u{3000}\u{feff}"),
            "'\\u200b\\u2028\\u3000\\ufeff'"
        );
        assert_eq!(py_repr_str("\u{e000}\u{10ffff}"), "'\\ue000\\U0010ffff'");
    }

    #[test]
    fn floats_like_python() {
        let cases = [
            (0.5, "0.5"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.5e300, "1.5e+300"),
            (-2.25, "-2.25"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (1.7, "1.7"),
            (100.0, "100.0"),
            (1_462_885_979_142_332.0 + 0.25, "1462885979142332.2"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float_repr(f), want, "{f:e}");
        }
        assert_eq!(py_repr(&json!(0.5)), "0.5");
    }

    #[test]
    fn str_leaves_strings_bare() {
        assert_eq!(py_str(&json!("x y")), "x y");
        assert_eq!(py_str(&json!(["a"])), "['a']");
        assert_eq!(py_str(&json!(true)), "True");
    }

    #[test]
    fn json_dumps_like_python() {
        assert_eq!(py_json_dumps(&json!(true)), "true");
        assert_eq!(py_json_dumps(&json!(1234)), "1234");
        assert_eq!(py_json_dumps(&json!(["a"])), "[\"a\"]");
        assert_eq!(py_json_dumps(&json!({})), "{}");
        assert_eq!(
            py_json_dumps(&json!({"a": 1, "b": [1, 2]})),
            "{\"a\": 1, \"b\": [1, 2]}"
        );
        assert_eq!(
            py_json_dumps(&json!([1, 2.5, 1e16, 1e-5, true, null, "é\u{7f}\n\"\\😀"])),
            "[1, 2.5, 1e+16, 1e-05, true, null, \"\\u00e9\\u007f\\n\\\"\\\\\\ud83d\\ude00\"]"
        );
        assert_eq!(
            py_json_dumps(&json!("\u{8}\u{c}\u{1}")),
            "\"\\b\\f\\u0001\""
        );
    }
}
