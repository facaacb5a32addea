//! Manifest text as Python's `json.dumps(value, sort_keys=True, indent=n)` writes it: keys sorted
//! at every level, non-ASCII as `\uXXXX`, floats as Python's `repr`, `[]`/`{}` for empty
//! containers, and without indentation one line with `", "` and `": "` separators.

use meltano_core::settings::repr::py_json_dumps;
use serde_json::{Map, Value};

/// Renders `value` with its keys sorted, indented by `indent` spaces per level, or on one line.
pub fn dumps_sorted(value: &Value, indent: Option<usize>) -> String {
    let sorted = sort_keys(value);
    match indent {
        None => py_json_dumps(&sorted),
        Some(width) => {
            let mut out = String::new();
            write(&mut out, &sorted, width, 0);
            out
        }
    }
}

/// A copy of `value` whose objects list their keys in code-point order.
fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let sorted: Map<String, Value> = keys
                .into_iter()
                .map(|k| (k.clone(), sort_keys(&map[k])))
                .collect();
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        scalar => scalar.clone(),
    }
}

fn newline(out: &mut String, width: usize, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', width * depth));
}

fn write(out: &mut String, value: &Value, width: usize, depth: usize) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, width, depth + 1);
                write(out, item, width, depth + 1);
            }
            newline(out, width, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, width, depth + 1);
                out.push_str(&py_json_dumps(&Value::String(key.clone())));
                out.push_str(": ");
                write(out, item, width, depth + 1);
            }
            newline(out, width, depth);
            out.push('}');
        }
        scalar_or_empty => out.push_str(&py_json_dumps(scalar_or_empty)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_indents_like_python() {
        let value = json!({"b": [1, {"z": 1.0, "a": "é"}], "a": {}, "c": []});
        assert_eq!(
            dumps_sorted(&value, Some(2)),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"a\": \"\\u00e9\",\n      \"z\": 1.0\n    }\n  ],\n  \"c\": []\n}"
        );
        assert_eq!(
            dumps_sorted(&value, None),
            "{\"a\": {}, \"b\": [1, {\"a\": \"\\u00e9\", \"z\": 1.0}], \"c\": []}"
        );
    }
}
