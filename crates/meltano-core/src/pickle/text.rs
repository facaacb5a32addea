//! The text forms of protocol 0 (`STRING`, `UNICODE`) and Python's `repr()` of a float.

/// Decodes the argument of `STRING`: a quoted Python 2 `repr()` of a byte string, unescaped as
/// `codecs.escape_decode` does.
pub(super) fn string_literal(line: &[u8]) -> Result<Vec<u8>, String> {
    let inner = match line {
        [quote, inner @ .., last] if quote == last && (*quote == b'\'' || *quote == b'"') => inner,
        _ => return Err("the STRING opcode argument must be quoted".into()),
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&byte) = inner.get(i) {
        i += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&escape) = inner.get(i) else {
            return Err("trailing \\ in string".into());
        };
        i += 1;
        match escape {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(escape),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'a' => out.push(0x07),
            b'0'..=b'7' => {
                let mut value = u32::from(escape - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                // Python keeps the low byte of an octal escape above \377.
                out.push(value.to_le_bytes()[0]);
            }
            b'x' => {
                let value = inner
                    .get(i..i + 2)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("invalid \\x escape at position {}", i - 2))?;
                out.push(value);
                i += 2;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Decodes the argument of `UNICODE` as Python's `raw-unicode-escape` codec does: bytes are
/// Latin-1 characters except `\uXXXX` and `\UXXXXXXXX`. A UTF-16 surrogate pair (as Python 2's
/// narrow builds wrote) becomes its character; a lone surrogate is an error, since a Rust string
/// cannot hold it.
pub(super) fn raw_unicode_escape(line: &[u8]) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut pending_high: Option<u32> = None;
    let mut i = 0;
    while let Some(&byte) = line.get(i) {
        i += 1;
        let code = match (byte, line.get(i)) {
            (b'\\', Some(&marker @ (b'u' | b'U'))) => {
                let width = if marker == b'u' { 4 } else { 8 };
                let code = line
                    .get(i + 1..i + 1 + width)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| format!("truncated \\{} escape", char::from(marker)))?;
                i += 1 + width;
                code
            }
            (b'\\', Some(&next)) => {
                // Any other escape is kept as is, both bytes.
                flush_surrogate(&mut pending_high)?;
                out.push('\\');
                out.push(char::from(next));
                i += 1;
                continue;
            }
            _ => u32::from(byte),
        };
        match code {
            0xd800..=0xdbff => {
                flush_surrogate(&mut pending_high)?;
                pending_high = Some(code);
            }
            0xdc00..=0xdfff => {
                let high = pending_high.take().ok_or_else(|| lone_surrogate(code))?;
                let combined = 0x10000 + ((high - 0xd800) << 10) + (code - 0xdc00);
                out.push(char::from_u32(combined).ok_or_else(|| lone_surrogate(code))?);
            }
            _ => {
                flush_surrogate(&mut pending_high)?;
                let ch = char::from_u32(code)
                    .ok_or_else(|| format!("\\U{code:08x} is not a Unicode code point"))?;
                out.push(ch);
            }
        }
    }
    flush_surrogate(&mut pending_high)?;
    Ok(out)
}

fn flush_surrogate(pending_high: &mut Option<u32>) -> Result<(), String> {
    match pending_high.take() {
        Some(code) => Err(lone_surrogate(code)),
        None => Ok(()),
    }
}

fn lone_surrogate(code: u32) -> String {
    format!("string holds the lone surrogate \\u{code:04x}")
}

/// Python's `repr()` of a finite float (shortest round-trip digits, exponent form below 1e-4 and
/// from 1e16 on), with `json.dumps`'s spellings of NaN and the infinities: how `json.dumps`
/// writes a float dict key.
pub(super) fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if value == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` writes the shortest round-trip digits, like Python's repr.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..16).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!(
            "{sign}{first}{fraction}e{exp_sign}{:02}",
            exponent.unsigned_abs()
        );
    }
    if exponent < 0 {
        let zeros = "0".repeat(usize::try_from(-exponent - 1).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = usize::try_from(exponent).unwrap_or(0) + 1;
    if digits.len() <= point {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point);
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_escapes() {
        assert_eq!(string_literal(b"'abc'").unwrap(), b"abc");
        assert_eq!(string_literal(b"\"it's\"").unwrap(), b"it's");
        assert_eq!(
            string_literal(br"'a\'b\\c\n\t\x41\101\0\q'").unwrap(),
            b"a'b\\c\n\tAA\0\\q"
        );
        assert!(string_literal(b"abc").is_err());
        assert!(string_literal(b"'").is_err());
        assert!(string_literal(br"'\x4'").is_err());
        assert!(string_literal(b"'\\'").is_err());
    }

    #[test]
    fn raw_unicode() {
        assert_eq!(raw_unicode_escape(b"abc").unwrap(), "abc");
        assert_eq!(raw_unicode_escape(b"caf\xe9").unwrap(), "café");
        assert_eq!(raw_unicode_escape(br"\u005c\u000a").unwrap(), "\\\n");
        assert_eq!(raw_unicode_escape(br"\U0001f600").unwrap(), "😀");
        assert_eq!(raw_unicode_escape(br"\ud83d\ude00").unwrap(), "😀");
        assert_eq!(raw_unicode_escape(br"\\u0041").unwrap(), r"\\u0041");
        assert_eq!(raw_unicode_escape(br"a\b").unwrap(), r"a\b");
        assert!(raw_unicode_escape(br"\ud83d").is_err());
        assert!(raw_unicode_escape(br"\ude00x").is_err());
        assert!(raw_unicode_escape(br"\u12").is_err());
        assert!(raw_unicode_escape(br"\U00110000").is_err());
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123.456, "123.456"),
            (1e308, "1e+308"),
            (-2.5e-300, "-2.5e-300"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (value, repr) in cases {
            assert_eq!(float_repr(value), repr, "{value}");
        }
    }
}
