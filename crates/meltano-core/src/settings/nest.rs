//! Dotted setting names and nested config objects.
//!
//! A setting `auth.token` may be written in meltano.yml nested (`auth: {token: x}`) or dotted
//! (`auth.token: x`); plugins receive it nested. `\.` in a name is a literal dot: in meltano.yml
//! the key keeps its backslash (`s3\.endpoint_url`), in the plugin's config it is a plain dot.

use indexmap::IndexMap;
use serde_json::{Map, Value};

/// The segments of a dotted name, split at dots not preceded by `\`, with `\.` turned into `.`:
/// `aws.s3\.endpoint_url` → `["aws", "s3.endpoint_url"]`.
pub fn split_name(name: &str) -> Vec<String> {
    split_raw(name)
        .into_iter()
        .map(|segment| segment.replace("\\.", "."))
        .collect()
}

/// Segments as meltano.yml keys spell them (escapes kept).
pub fn split_raw(name: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut start = 0;
    let bytes = name.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'.' && (i == 0 || bytes[i - 1] != b'\\') {
            segments.push(&name[start..i]);
            start = i + 1;
        }
    }
    segments.push(&name[start..]);
    segments
}

/// The value of setting `name` in a config map, written nested, dotted or any mix
/// (`a: {b.c: 1}`); `None` if absent. If it is written more than once, the last occurrence in
/// document order wins, as in Meltano's flattened view. A found object is returned whole.
pub fn get_nested<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let mut found = None;
    for (key, value) in map {
        if key == name {
            found = Some(value);
        } else if let Some(rest) = name
            .strip_prefix(key.as_str())
            .and_then(|r| r.strip_prefix('.'))
            && !key.ends_with('\\')
            && let Value::Object(inner) = value
            && let Some(v) = get_nested(inner, rest)
        {
            found = Some(v);
        }
    }
    found
}

/// Sets `name` to `value` nested (`a.b` → `a: {b: value}`), replacing non-object intermediates and
/// removing a dotted top-level key of the same name so it cannot shadow the new value.
/// Segments keep their `\.` escapes, as Meltano writes them to meltano.yml.
pub fn set_nested(map: &mut Map<String, Value>, name: &str, value: Value) {
    let segments = split_raw(name);
    if segments.len() > 1 {
        map.shift_remove(name);
    }
    let Some((tail, initial)) = segments.split_last() else {
        return;
    };
    let mut cursor = map;
    for key in initial {
        let slot = cursor
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(inner) = slot else {
            return;
        };
        cursor = inner;
    }
    cursor.insert(tail.to_string(), value);
}

/// Removes `name`, both the dotted top-level key and the nested path, dropping objects the
/// removal leaves empty (as `config unset` does). Returns the nested value if there was one,
/// else the dotted one.
pub fn remove_nested(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let segments = split_raw(name);
    let flat = if segments.len() > 1 {
        map.shift_remove(name)
    } else {
        None
    };
    remove_path(map, &segments).or(flat)
}

fn remove_path(map: &mut Map<String, Value>, segments: &[&str]) -> Option<Value> {
    match segments {
        [] => None,
        [last] => map.shift_remove(*last),
        [first, rest @ ..] => {
            let Some(Value::Object(inner)) = map.get_mut(*first) else {
                return None;
            };
            let removed = remove_path(inner, rest);
            if inner.is_empty() {
                map.shift_remove(*first);
            }
            removed
        }
    }
}

/// Every leaf of `map` with its dotted name (`a: {b: {c: 1}}` → `a.b.c`); empty objects are
/// leaves (`{}`). Keys are joined as written; a name reached twice keeps its first position and
/// last value. This is how `config list` names custom settings.
pub fn flatten(map: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut out = IndexMap::new();
    flatten_into(map, None, &mut out);
    out.into_iter().collect()
}

fn flatten_into(map: &Map<String, Value>, parent: Option<&str>, out: &mut IndexMap<String, Value>) {
    for (key, value) in map {
        let name = match parent {
            Some(parent) => format!("{parent}.{key}"),
            None => key.clone(),
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten_into(inner, Some(&name), out),
            _ => {
                out.insert(name, value.clone());
            }
        }
    }
}

/// The config object handed to a plugin: `nested.value` → `{"nested": {"value": …}}`, `a\.b` →
/// key `a.b`. The first value given for a path wins; a pair whose path runs through a
/// non-object value is dropped.
pub fn nest<S: AsRef<str>>(pairs: impl IntoIterator<Item = (S, Value)>) -> Map<String, Value> {
    let mut root = Map::new();
    for (name, value) in pairs {
        insert_first(&mut root, &split_name(name.as_ref()), value);
    }
    root
}

fn insert_first(map: &mut Map<String, Value>, segments: &[String], value: Value) {
    match segments {
        [] => {}
        [last] => {
            if !map.contains_key(last) {
                map.insert(last.clone(), value);
            }
        }
        [first, rest @ ..] => {
            let slot = map
                .entry(first.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = slot {
                insert_first(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn splitting() {
        assert_eq!(split_name("foo.bar.baz"), ["foo", "bar", "baz"]);
        assert_eq!(split_name("s3\\.endpoint_url"), ["s3.endpoint_url"]);
        assert_eq!(
            split_name("aws.s3\\.endpoint_url"),
            ["aws", "s3.endpoint_url"]
        );
        assert_eq!(split_name("plain"), ["plain"]);
        assert_eq!(split_name("_select"), ["_select"]);
        assert_eq!(split_name("a..b"), ["a", "", "b"]);
    }

    #[test]
    fn get_nested_or_dotted() {
        let m = obj(json!({"a": {"b": 1}, "c.d": 2, "e": {"f.g": 3}, "s3\\.url": "u"}));
        assert_eq!(get_nested(&m, "a.b"), Some(&json!(1)));
        assert_eq!(get_nested(&m, "a"), Some(&json!({"b": 1})));
        assert_eq!(get_nested(&m, "c.d"), Some(&json!(2)));
        assert_eq!(get_nested(&m, "e.f.g"), Some(&json!(3)));
        assert_eq!(get_nested(&m, "s3\\.url"), Some(&json!("u")));
        assert_eq!(get_nested(&m, "a.x"), None);
        assert_eq!(get_nested(&m, "c"), None);
        // A key ending in `\` does not split `s3\.url`.
        let m = obj(json!({"s3\\": {"url": 1}}));
        assert_eq!(get_nested(&m, "s3\\.url"), None);
    }

    #[test]
    fn get_nested_last_wins() {
        let m = obj(json!({"a.b": 1, "a": {"b": 2}}));
        assert_eq!(get_nested(&m, "a.b"), Some(&json!(2)));
        let m = obj(json!({"a": {"b": 2}, "a.b": 1}));
        assert_eq!(get_nested(&m, "a.b"), Some(&json!(1)));
    }

    #[test]
    fn set_nested_paths() {
        let mut m = obj(json!({"x": 1, "a.b": "old", "c": "scalar"}));
        set_nested(&mut m, "a.b", json!(2));
        set_nested(&mut m, "c.d", json!(3));
        set_nested(&mut m, "x", json!(4));
        set_nested(&mut m, "s3\\.url", json!("u"));
        set_nested(&mut m, "a.e", json!(5));
        assert_eq!(
            Value::Object(m),
            json!({"x": 4, "c": {"d": 3}, "a": {"b": 2, "e": 5}, "s3\\.url": "u"})
        );
    }

    #[test]
    fn remove_nested_prunes() {
        let mut m = obj(json!({"a": {"b": {"c": 1}}, "a.b.c": 0, "k": 2}));
        assert_eq!(remove_nested(&mut m, "a.b.c"), Some(json!(1)));
        assert_eq!(Value::Object(m.clone()), json!({"k": 2}));
        assert_eq!(remove_nested(&mut m, "zz"), None);
        assert_eq!(remove_nested(&mut m, "k"), Some(json!(2)));
        assert!(m.is_empty());
    }

    #[test]
    fn flatten_like_config_list() {
        // Observed custom settings: custom.dotted, custom_a.b, custom_a.c.d, empty_obj ({}).
        let m = obj(json!({
            "custom_a": {"b": 1, "c": {"d": "x"}},
            "custom.dotted": 2,
            "empty_obj": {},
            "list": [{"a": 1}]
        }));
        assert_eq!(
            flatten(&m),
            vec![
                ("custom_a.b".to_string(), json!(1)),
                ("custom_a.c.d".to_string(), json!("x")),
                ("custom.dotted".to_string(), json!(2)),
                ("empty_obj".to_string(), json!({})),
                ("list".to_string(), json!([{"a": 1}])),
            ]
        );
        let m = obj(json!({"a.b": 1, "x": 0, "a": {"b": 2}}));
        assert_eq!(
            flatten(&m),
            vec![("a.b".to_string(), json!(2)), ("x".to_string(), json!(0))]
        );
    }

    #[test]
    fn nest_for_plugins() {
        let pairs = vec![
            ("username", json!("alice")),
            ("nested.value", json!("nv")),
            ("nested.other", json!(1)),
            ("s3\\.endpoint_url", json!("http://x")),
            ("a.b\\.c.d", json!(true)),
            ("username", json!("second")),
            ("username.x", json!("blocked")),
        ];
        assert_eq!(
            Value::Object(nest(pairs)),
            json!({
                "username": "alice",
                "nested": {"value": "nv", "other": 1},
                "s3.endpoint_url": "http://x",
                "a": {"b.c": {"d": true}}
            })
        );
    }
}
