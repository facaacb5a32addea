//! Select patterns (`[!]<stream>[.<property path>]`) and the metadata rules Meltano derives from
//! the `select` extra, the `select_filter` extra and `meltano el --select/--exclude`.
//!
//! A pattern is split at its first dot not preceded by `\`; in the stream part `\.` stands for a
//! literal dot (`a\.b.c` is stream `a.b`, property `c`), so a stream ID containing dots is
//! written escaped, or matched with `?` (`a?b.c`). The property part is split at every dot into
//! nesting levels and is not unescaped.

use serde_json::Value;

use super::rules::{MetadataRule, StreamPatterns, property_breadcrumb};

/// The metadata key select rules set.
const SELECTED: &str = "selected";

/// One parsed select pattern, as `meltano select --list` shows it and the rules read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectPattern {
    /// Stream ID pattern, with `\.` already turned into `.`.
    pub stream: String,
    /// Property path pattern (`a.b`), `None` when the pattern has no unescaped dot.
    pub property: Option<String>,
    /// Whether the pattern starts with `!` (an exclusion).
    pub negated: bool,
    /// The pattern as written.
    pub raw: String,
}

impl SelectPattern {
    /// Parses a pattern the way Meltano does; every string is a pattern.
    pub fn parse(pattern: &str) -> SelectPattern {
        let (negated, body) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern),
        };
        let (stream, property) = match first_unescaped_dot(body) {
            Some(dot) => (&body[..dot], Some(body[dot + 1..].to_owned())),
            None => (body, None),
        };
        SelectPattern {
            stream: stream.replace("\\.", "."),
            property,
            negated,
            raw: pattern.to_owned(),
        }
    }
}

fn first_unescaped_dot(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| bytes[i] == b'.' && (i == 0 || bytes[i - 1] != b'\\'))
}

fn select_rule(value: bool, stream: &str, props: &[&str]) -> MetadataRule {
    MetadataRule {
        // Meltano stores an empty stream pattern as an empty list, which matches no stream.
        streams: if stream.is_empty() {
            StreamPatterns::AnyOf(Vec::new())
        } else {
            StreamPatterns::One(stream.to_owned())
        },
        breadcrumb: property_breadcrumb(props),
        key: SELECTED.to_owned(),
        value: Value::Bool(value),
        negated: false,
    }
}

/// The rules of the `select` extra: all inclusions first, then all exclusions, whatever the
/// order written, so `!users.email` beats `users.*`. A stream-only pattern means `stream.*`;
/// selecting `a.b.c` also selects `a` and `a.b`.
pub fn select_metadata_rules<S: AsRef<str>>(patterns: &[S]) -> Vec<MetadataRule> {
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for pattern in patterns {
        let parsed = SelectPattern::parse(pattern.as_ref());
        let selected = !parsed.negated;
        let rules = if selected { &mut include } else { &mut exclude };
        let stream = parsed.stream.as_str();
        match parsed.property.as_deref() {
            None | Some("") => {
                rules.push(select_rule(selected, stream, &[]));
                rules.push(select_rule(selected, stream, &["*"]));
            }
            Some(property) => {
                if selected || property == "*" {
                    rules.push(select_rule(selected, stream, &[]));
                }
                let props: Vec<&str> = property.split('.').collect();
                rules.push(select_rule(selected, stream, &props));
                if selected {
                    for end in 1..props.len() {
                        rules.push(select_rule(selected, stream, &props[..end]));
                    }
                }
            }
        }
    }
    include.extend(exclude);
    include
}

/// The rules of `select_filter` (or `el --select/--exclude`): deselect every stream matching
/// none of the positive filters, and every stream matching a `!` filter. Filters never select.
pub fn select_filter_metadata_rules<S: AsRef<str>>(filters: &[S]) -> Vec<MetadataRule> {
    let mut keep = Vec::new();
    let mut drop = Vec::new();
    for filter in filters {
        let parsed = SelectPattern::parse(filter.as_ref());
        if parsed.negated {
            drop.push(parsed.stream);
        } else {
            keep.push(parsed.stream);
        }
    }
    let deselect = |streams: Vec<String>, negated: bool| MetadataRule {
        streams: StreamPatterns::AnyOf(streams),
        breadcrumb: Vec::new(),
        key: SELECTED.to_owned(),
        value: Value::Bool(false),
        negated,
    };
    let mut rules = Vec::new();
    if !keep.is_empty() {
        rules.push(deselect(keep, true));
    }
    if !drop.is_empty() {
        rules.push(deselect(drop, false));
    }
    rules
}

/// The `select_filter` that `meltano el -s A -e B` runs with (`["A", "!B"]`); when empty, the
/// extractor's own `select_filter` extra stays in force.
pub fn el_select_filter<S: AsRef<str>>(select: &[S], exclude: &[S]) -> Vec<String> {
    select
        .iter()
        .map(|s| s.as_ref().to_owned())
        .chain(exclude.iter().map(|e| format!("!{}", e.as_ref())))
        .collect()
}

/// The pattern `meltano select <tap> STREAMS PROPERTIES [--exclude]` appends to (or with `--rm`
/// removes from) the `select` extra.
pub fn select_pattern_string(streams: &str, properties: &str, exclude: bool) -> String {
    let bang = if exclude { "!" } else { "" };
    format!("{bang}{streams}.{properties}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escaped_dots_in_the_stream_only() {
        let p = SelectPattern::parse("!a\\.b.c\\.d.e");
        assert_eq!(p.stream, "a.b");
        assert_eq!(p.property.as_deref(), Some("c\\.d.e"));
        assert!(p.negated);
        let p = SelectPattern::parse("a.b.c");
        assert_eq!(
            (p.stream.as_str(), p.property.as_deref()),
            ("a", Some("b.c"))
        );
        let p = SelectPattern::parse("a\\.b");
        assert_eq!((p.stream.as_str(), p.property), ("a.b", None));
        let p = SelectPattern::parse(".x");
        assert_eq!((p.stream.as_str(), p.property.as_deref()), ("", Some("x")));
    }

    #[test]
    fn el_filters() {
        assert_eq!(el_select_filter(&["a", "b"], &["c"]), ["a", "b", "!c"]);
        assert_eq!(select_pattern_string("users", "*", true), "!users.*");
    }
}
