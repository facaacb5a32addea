//! The materialised paths Meltano builds while walking a catalog (`.streams[0].schema.properties.id`)
//! and the regular expressions it uses to tell streams, properties and metadata entries apart.
//!
//! Meltano decides what a node is from its path alone: a dict whose path ends in `streams[<n>]`
//! is a stream, `schema(.properties.<\w*>)+` a property, `metadata[<n>]` (with a `breadcrumb`
//! key) a metadata entry. Property names with characters outside Python's `\w` (`my-field`,
//! `a.b`, `a b`) are therefore never visited as properties.

use serde_json::{Map, Value};

use super::pyre_tables::{DIGIT, WORD};

/// What the walker found at a path, as Meltano classifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NodeKind {
    Stream,
    Property,
    Metadata,
}

fn in_table(table: &[(u32, u32)], c: char) -> bool {
    let cp = u32::from(c);
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Python's `\w` for `str` patterns.
pub(super) fn is_word(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    in_table(WORD, c)
}

/// Python's `\d` for `str` patterns.
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_table(DIGIT, c)
}

/// The texts a regex anchored with Python's `$` may end at: the end, or before a final newline.
fn anchored_ends(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once(path).chain(path.strip_suffix('\n'))
}

/// Whether `text` ends with `<name>[<\d+>]`.
fn ends_with_indexed(text: &str, name: &str) -> bool {
    let Some(inner) = text.strip_suffix(']') else {
        return false;
    };
    let digits_start = inner
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_digit(c))
        .last()
        .map(|(i, _)| i);
    match digits_start {
        Some(start) => inner[..start]
            .strip_suffix('[')
            .is_some_and(|before| before.ends_with(name)),
        None => false,
    }
}

/// Whether `text` ends with `schema(\.properties\.\w*)+`.
fn ends_with_property(text: &str) -> bool {
    let mut rest = text;
    let mut groups = 0;
    loop {
        if groups > 0 && rest.ends_with("schema") {
            return true;
        }
        let Some(dot) = rest.rfind('.') else {
            return false;
        };
        if !rest[dot + 1..].chars().all(is_word) {
            return false;
        }
        match rest[..dot].strip_suffix(".properties") {
            Some(before) => rest = before,
            None => return false,
        }
        groups += 1;
    }
}

/// Classifies a dict node by its path the way Meltano's catalog visitor does (the last
/// matching test wins, as in the reference).
pub(super) fn classify(path: &str, has_breadcrumb: bool) -> Option<NodeKind> {
    let mut kind = None;
    if anchored_ends(path).any(|p| ends_with_indexed(p, "streams")) {
        kind = Some(NodeKind::Stream);
    }
    if anchored_ends(path).any(ends_with_property) {
        kind = Some(NodeKind::Property);
    }
    if has_breadcrumb && anchored_ends(path).any(|p| ends_with_indexed(p, "metadata")) {
        kind = Some(NodeKind::Metadata);
    }
    kind
}

/// [`classify`] for the dict `map` at `path`; looks for a `breadcrumb` key only where it matters.
pub(super) fn classify_map(path: &str, map: &Map<String, Value>) -> Option<NodeKind> {
    if anchored_ends(path).any(|p| ends_with_indexed(p, "metadata"))
        && field(map, "breadcrumb").is_some()
    {
        return Some(NodeKind::Metadata);
    }
    classify(path, false)
}

/// `map.get(key)`, by a linear scan for the small dicts a catalog is made of: cheaper there
/// than hashing the key.
pub(super) fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if map.len() <= 8 {
        map.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        map.get(key)
    }
}

/// The breadcrumb text of a property path: everything from the first `properties` in the path
/// (`.streams[0].schema.properties.a.properties.b` → `properties.a.properties.b`).
pub(super) fn property_breadcrumb_text(path: &str) -> &str {
    path.find("properties").map_or("", |idx| &path[idx..])
}

/// The dotted property name of a breadcrumb text, as `re.findall(r"properties\.([^.]+)+")`
/// joined with dots gives it: `properties.a.properties.b` → `a.b`.
pub fn path_property(breadcrumb: &str) -> String {
    const KEY: &str = "properties.";
    let bytes = breadcrumb.as_bytes();
    let mut parts: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(KEY.as_bytes()) {
            let from = i + KEY.len();
            let to = bytes[from..]
                .iter()
                .position(|&b| b == b'.')
                .map_or(bytes.len(), |n| from + n);
            if to > from {
                parts.push(&breadcrumb[from..to]);
                i = to;
                continue;
            }
        }
        i += 1;
    }
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_meltano() {
        assert_eq!(classify(".streams[0]", false), Some(NodeKind::Stream));
        assert_eq!(classify(".streams[12]\n", false), Some(NodeKind::Stream));
        assert_eq!(classify(".streams[]", false), None);
        assert_eq!(
            classify(".streams[0].schema.properties.id", false),
            Some(NodeKind::Property)
        );
        assert_eq!(
            classify(".streams[0].schema.properties.a.properties.b_2", false),
            Some(NodeKind::Property)
        );
        assert_eq!(
            classify(".streams[0].schema.properties.", false),
            Some(NodeKind::Property)
        );
        assert_eq!(
            classify(".streams[0].schema.properties.my-field", false),
            None
        );
        assert_eq!(classify(".streams[0].schema.properties.a.b", false), None);
        assert_eq!(
            classify(".streams[0].schema.properties.a.items.properties.b", false),
            None
        );
        assert_eq!(classify(".streams[0].schema.properties", false), None);
        assert_eq!(
            classify(".streams[0].metadata[3]", true),
            Some(NodeKind::Metadata)
        );
        assert_eq!(classify(".streams[0].metadata[3]", false), None);
        assert!(is_word('é') && is_word('_') && !is_word('-') && !is_word('\u{93E}'));
    }

    #[test]
    fn property_names() {
        assert_eq!(path_property("properties.a.properties.b"), "a.b");
        assert_eq!(
            path_property("properties.properties.properties.x"),
            "properties.x"
        );
        assert_eq!(path_property("properties.x.y"), "x");
        assert_eq!(path_property("properties..properties.z"), "z");
        assert_eq!(
            property_breadcrumb_text(".streams[0].schema.properties.a"),
            "properties.a"
        );
    }
}
