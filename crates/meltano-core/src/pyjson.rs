//! JSON text as Python's `json.dumps(obj, indent=2)` writes it: `\uXXXX` for non-ASCII, floats
//! as Python's `repr`, `[]`/`{}` for empty containers. Meltano writes lock files,
//! `tap.properties.json` and `select --list --json` this way, so ours match byte for byte.

use serde_json::Value;

use crate::settings::repr::py_json_dumps;

/// Renders `value` with two-space indentation and no trailing newline.
pub fn dumps_indent2(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

/// Appends [`dumps_indent2`]'s text to `out`, so a caller can reserve the capacity of a large
/// document (a discovered catalog) up front.
pub fn dumps_indent2_into(out: &mut String, value: &Value) {
    write(out, value, 0);
}

/// Appends a line break, the indentation of `depth` levels and [`dumps_indent2`]'s text of
/// `value` nested that deep: one item of a larger document rendered piece by piece.
pub fn dumps_indent2_item(out: &mut String, value: &Value, depth: usize) {
    newline(out, depth);
    write(out, value, depth);
}

/// A line break and the indentation of up to 32 levels, pushed in one copy.
const NEWLINE: &str = "\n                                                                ";

fn newline(out: &mut String, depth: usize) {
    let width = depth * 2;
    if width < NEWLINE.len() {
        out.push_str(&NEWLINE[..=width]);
    } else {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

/// A string as `json.dumps` quotes it. Printable ASCII other than `"` and `\` is never escaped,
/// whatever the escaping of the rest, so it is copied as is; anything else goes through
/// [`py_json_dumps`].
fn write_str(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&py_json_dumps(&Value::String(s.to_owned())));
    }
}

fn write(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_str(out, key);
                out.push_str(": ");
                write(out, item, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
        Value::String(s) => write_str(out, s),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
        Value::Number(_) => out.push_str(&py_json_dumps(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_indent2() {
        // python3 -c 'import json; print(json.dumps({...}, indent=2))'
        let value =
            json!({"a": [1, 2.5, true, null], "é\"": {"b": {}, "c": []}, "d": "x\\y\u{7f}"});
        assert_eq!(
            dumps_indent2(&value),
            "{\n  \"a\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"\\u00e9\\\"\": {\n    \"b\": {},\n    \"c\": []\n  },\n  \"d\": \"x\\\\y\\u007f\"\n}"
        );
        let deep = (0..40).fold(json!(1), |v, _| json!([v]));
        let text = dumps_indent2(&deep);
        assert!(text.contains(&format!("\n{}1\n", " ".repeat(80))));
        let mut into = String::from(">");
        dumps_indent2_into(&mut into, &deep);
        assert_eq!(into, format!(">{text}"));
    }
}
