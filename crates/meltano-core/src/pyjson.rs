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

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
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
                out.push_str(&py_json_dumps(&Value::String(key.clone())));
                out.push_str(": ");
                write(out, item, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
        scalar_or_empty => out.push_str(&py_json_dumps(scalar_or_empty)),
    }
}
