//! How a string is written into meltano.yml so that every reader takes it back as that string.
//!
//! Meltano 4.4.1 writes through ruamel.yaml, which quotes what a YAML 1.2 reader would resolve as
//! another type. But meltano.yml is also read by YAML 1.1 readers (PyYAML in DAG generators and
//! scripts), for which `yes`, `off`, `12:30` and `0777` are not strings. So a string is left plain
//! only when both a YAML 1.1 and a YAML 1.2 reader would read it as that same string; otherwise it
//! is single-quoted, or double-quoted when it holds a quote, a line break, a tab or a character
//! only an escape can carry (as ruamel does).

use std::str::FromStr;

use yaml_edit::{Document, Scalar};

/// The scalar node to write for the string `value`.
pub fn string_scalar(value: &str) -> Scalar {
    let text = if needs_escapes(value) {
        double_quoted(value)
    } else if plain_is_safe(value) {
        value.to_string()
    } else if value.contains('\'') {
        double_quoted(value)
    } else {
        format!("'{value}'")
    };
    // Parsing our own rendering gives a node yaml-edit copies as it is, quoting included. Fully
    // escaped double quotes always read back, should a rendering above ever not.
    parsed(&text, value)
        .or_else(|| parsed(&double_quoted(value), value))
        .expect("a fully escaped double-quoted scalar reads back as its value")
}

fn parsed(text: &str, value: &str) -> Option<Scalar> {
    Document::from_str(text)
        .ok()?
        .as_scalar()
        .filter(|scalar| scalar.as_string() == value)
}

/// A double-quoted scalar: `\` escapes for what cannot appear as itself.
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escapes(c.encode_utf8(&mut [0; 4])) => {
                out.push_str(&format!("\\u{:04X}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Line breaks, tabs and characters outside YAML's printable set (ruamel double-quotes these).
fn needs_escapes(value: &str) -> bool {
    value.chars().any(|c| {
        !matches!(c, '\x20'..='\x7E' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{85}')
    })
}

/// Whether `value` written plain reads back as the same string in YAML 1.1 and 1.2.
fn plain_is_safe(value: &str) -> bool {
    !value.is_empty() && plain_syntax_ok(value) && !resolves_implicitly(value)
}

/// The plain-scalar grammar for a block context: no leading indicator, no `: ` or ` #`, no
/// surrounding spaces, no document markers.
fn plain_syntax_ok(value: &str) -> bool {
    let bytes = value.as_bytes();
    let first = bytes[0];
    let second_is_space = bytes.get(1).is_none_or(|b| *b == b' ');
    if b"#,[]{}&*!|>'\"%@`".contains(&first) || (b"-?:".contains(&first) && second_is_space) {
        return false;
    }
    if value.starts_with("---") || value.starts_with("...") {
        return false;
    }
    if value.starts_with(' ') || value.ends_with(' ') || value.ends_with(':') {
        return false;
    }
    !(value.contains(": ") || value.contains(" #"))
}

/// Whether a YAML 1.1 (PyYAML) or YAML 1.2 (ruamel, core schema) reader resolves the plain
/// scalar `value` as something other than a string.
fn resolves_implicitly(value: &str) -> bool {
    const WORDS: [&str; 25] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false",
        "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL",
    ];
    WORDS.contains(&value)
        || matches!(value, "~" | "=" | "<<")
        || is_int(value)
        || is_float(value)
        || is_timestamp(value)
}

fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '_' || c.is_digit(radix))
}

fn unsigned(value: &str) -> &str {
    value.strip_prefix(['-', '+']).unwrap_or(value)
}

/// Decimal (with `_`, leading zeros: octal in 1.1), `0b`, `0o`, `0x` and sexagesimal (`1:30`).
fn is_int(value: &str) -> bool {
    let v = unsigned(value);
    if v.starts_with(|c: char| c.is_ascii_digit()) && digits(v, 10) {
        return true;
    }
    let radix = [("0b", 2), ("0o", 8), ("0x", 16)]
        .iter()
        .find_map(|(prefix, radix)| v.strip_prefix(prefix).map(|rest| (rest, *radix)));
    if let Some((rest, radix)) = radix {
        return digits(rest, radix);
    }
    is_sexagesimal(v)
}

/// YAML 1.1's base 60: `[1-9][0-9_]*(:[0-5]?[0-9])+`, optionally with a fraction.
fn is_sexagesimal(v: &str) -> bool {
    let v = v.split_once('.').map_or(v, |(whole, fraction)| {
        if digits(fraction, 10) || fraction.is_empty() {
            whole
        } else {
            ""
        }
    });
    let mut parts = v.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    let mut rest = parts.peekable();
    if rest.peek().is_none() || !head.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return false;
    }
    digits(head, 10)
        && rest.all(|p| {
            let b = p.as_bytes();
            match b {
                [d] => d.is_ascii_digit(),
                [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
                _ => false,
            }
        })
}

/// `1.5`, `.5`, `1.`, `1e3`, `1.0e+3`, `.inf`, `-.Inf`, `.nan`.
fn is_float(value: &str) -> bool {
    if matches!(value, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let v = unsigned(value);
    if matches!(v, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match v.find(['e', 'E']) {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    if let Some(exp) = exponent
        && !digits(exp.strip_prefix(['-', '+']).unwrap_or(exp), 10)
    {
        return false;
    }
    match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (whole.is_empty() && digits(fraction, 10))
                || (whole.starts_with(|c: char| c.is_ascii_digit())
                    && digits(whole, 10)
                    && (fraction.is_empty() || digits(fraction, 10)))
        }
        None => {
            exponent.is_some()
                && mantissa.starts_with(|c: char| c.is_ascii_digit())
                && digits(mantissa, 10)
        }
    }
}

/// `2002-12-14`, and date-times such as `2001-12-14t21:59:43.10-05:00` or `2001-12-14 21:59:43.10 -5`.
fn is_timestamp(value: &str) -> bool {
    let b = value.as_bytes();
    let all_digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    if b.len() < 8 || !all_digits(&b[..4]) || b[4] != b'-' {
        return false;
    }
    let rest = &value[5..];
    let (month, rest) = rest.split_once('-').unwrap_or((rest, ""));
    let day_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (day, time) = rest.split_at(day_len);
    if !(1..=2).contains(&month.len())
        || !all_digits(month.as_bytes())
        || !(1..=2).contains(&day.len())
    {
        return false;
    }
    if time.is_empty() {
        // A date alone must be written in full.
        return month.len() == 2 && day.len() == 2;
    }
    let time = match time.strip_prefix(['T', 't']) {
        Some(t) => t,
        None if time.starts_with([' ', '\t']) => time.trim_start_matches([' ', '\t']),
        None => return false,
    };
    let mut fields = time.splitn(3, ':');
    let (Some(h), Some(m), Some(s)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let seconds_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&h.len())
        || !all_digits(h.as_bytes())
        || m.len() != 2
        || !all_digits(m.as_bytes())
        || seconds_len != 2
    {
        return false;
    }
    let mut zone = &s[2..];
    if let Some(fraction) = zone.strip_prefix('.') {
        zone = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let zone = zone.trim_start_matches([' ', '\t']);
    if zone.is_empty() || zone == "Z" {
        return true;
    }
    let Some(offset) = zone.strip_prefix(['+', '-']) else {
        return false;
    };
    let (hours, minutes) = offset.split_once(':').unwrap_or((offset, "00"));
    (1..=2).contains(&hours.len())
        && all_digits(hours.as_bytes())
        && minutes.len() == 2
        && all_digits(minutes.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(value: &str) -> String {
        string_scalar(value).value()
    }

    /// Each plain case is what Meltano 4.4.1 writes too; the quoted ones that 4.4.1 leaves plain
    /// (`yes`, `12:30`) are strings only to a YAML 1.2 reader.
    #[test]
    fn quotes_what_a_yaml_1_1_or_1_2_reader_would_not_read_as_the_string() {
        for (value, expected) in [
            ("2022-04-25T00:00:01Z", "'2022-04-25T00:00:01Z'"),
            ("2024-01-05", "'2024-01-05'"),
            ("2001-12-14 21:59:43.10 -5", "'2001-12-14 21:59:43.10 -5'"),
            ("1_000", "'1_000'"),
            ("yes", "'yes'"),
            ("ON", "'ON'"),
            ("y", "'y'"),
            ("~", "'~'"),
            ("0123", "'0123'"),
            ("09", "'09'"),
            (".inf", "'.inf'"),
            ("-.inf", "'-.inf'"),
            (".NaN", "'.NaN'"),
            ("1e3", "'1e3'"),
            ("1.0e+3", "'1.0e+3'"),
            ("0x1F", "'0x1F'"),
            ("0o17", "'0o17'"),
            ("0b101", "'0b101'"),
            ("12:30", "'12:30'"),
            ("190:20:30", "'190:20:30'"),
            ("null", "'null'"),
            ("True", "'True'"),
            ("+1", "'+1'"),
            (".5", "'.5'"),
            ("1.", "'1.'"),
            ("3.0", "'3.0'"),
            ("", "''"),
            (" x", "' x'"),
            ("x ", "'x '"),
            ("a: b", "'a: b'"),
            ("x:", "'x:'"),
            ("#x", "'#x'"),
            ("a #b", "'a #b'"),
            ("@x", "'@x'"),
            ("`x", "'`x'"),
            ("*a", "'*a'"),
            ("&a", "'&a'"),
            ("!t", "'!t'"),
            ("%x", "'%x'"),
            ("- x", "'- x'"),
            ("? x", "'? x'"),
            ("[x", "'[x'"),
            ("{x", "'{x'"),
            ("|", "'|'"),
            (">", "'>'"),
            ("=", "'='"),
            ("<<", "'<<'"),
            ("---", "'---'"),
            ("'q'", "\"'q'\""),
            ("tab\tx", "\"tab\\tx\""),
            ("nl\nx", "\"nl\\nx\""),
            // Plain, as Meltano writes them.
            ("it's", "it's"),
            ("a\"b", "a\"b"),
            ("-x", "-x"),
            ("a&b", "a&b"),
            ("1,000", "1,000"),
            (":x", ":x"),
            ("a  b", "a  b"),
            ("é", "é"),
            ("Jan 5 2024", "Jan 5 2024"),
            ("s3://bucket/prefix", "s3://bucket/prefix"),
            ("postgres://u@h:5432/db", "postgres://u@h:5432/db"),
            ("$DB_PORT", "$DB_PORT"),
            ("*.*", "'*.*'"),
            ("tags.*", "tags.*"),
            ("<x", "<x"),
            ("!tags.*", "'!tags.*'"),
        ] {
            assert_eq!(written(value), expected, "{value:?}");
        }
    }
}
