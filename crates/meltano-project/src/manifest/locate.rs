//! Maps between source positions and key paths (`plugins.extractors[0].select`).
//!
//! serde-saphyr errors carry a line and column but not the key path, so the error renderer walks the
//! YAML events of the same text once to name the node at that position and describe what was found
//! there. The same walk finds the position of a path for checks made after deserialization.

use std::fmt;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A key path, displayed as `plugins.extractors[0].config."a.b"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyPath(pub(crate) Vec<Segment>);

impl KeyPath {
    /// Builds a path from keys and indices.
    pub(crate) fn new(segments: impl IntoIterator<Item = Segment>) -> Self {
        KeyPath(segments.into_iter().collect())
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if k.is_empty() || k.contains(['.', ' ', '[', ']', '"']) {
                        write!(f, "{k:?}")?;
                    } else {
                        f.write_str(k)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A node of the document: where it starts, its path, and what it is.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) path: KeyPath,
    /// 1-based line and column of the node's first character.
    pub(crate) start: (u64, u64),
    /// Character offset and length of the node's event (zero for the start of a block collection),
    /// which is what serde-saphyr error spans point at.
    pub(crate) span: (u64, u64),
    /// End of a collection (exclusive); `None` for scalars or collections cut short by an error.
    pub(crate) end: Option<(u64, u64)>,
    /// The node is a mapping key (its path ends with its own text).
    pub(crate) is_key: bool,
    /// What the node is, as error messages say it: "integer `5`", "a mapping"…
    pub(crate) description: String,
}

enum Frame {
    Map {
        path: KeyPath,
        pending_key: Option<String>,
        node: usize,
    },
    Seq {
        path: KeyPath,
        index: usize,
        node: usize,
    },
}

/// Every node of the first document, in document order. Stops quietly at a syntax error, so the
/// nodes before it are still available.
pub(crate) fn nodes(text: &str) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        let start = (span.start.line() as u64, span.start.col() as u64 + 1);
        let end = (span.end.line() as u64, span.end.col() as u64 + 1);
        let offsets = (
            span.start.index() as u64,
            span.end.index().saturating_sub(span.start.index()) as u64,
        );
        match event {
            Event::Scalar(value, style, _, _) => {
                let (path, is_key) = child_path(&stack, Some(&value));
                out.push(Node {
                    path,
                    start,
                    span: offsets,
                    end: None,
                    is_key,
                    description: describe_scalar(&value, style),
                });
                finish_child(&mut stack, Some(value.into_owned()));
            }
            Event::Alias(_) => {
                let (path, is_key) = child_path(&stack, None);
                out.push(Node {
                    path,
                    start,
                    span: offsets,
                    end: None,
                    is_key,
                    description: "an alias".to_string(),
                });
                finish_child(&mut stack, None);
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let (path, is_key) = child_path(&stack, None);
                let description = if is_map { "a mapping" } else { "a sequence" }.to_string();
                out.push(Node {
                    path: path.clone(),
                    start,
                    span: offsets,
                    end: None,
                    is_key,
                    description,
                });
                let node = out.len() - 1;
                stack.push(if is_map {
                    Frame::Map {
                        path,
                        pending_key: None,
                        node,
                    }
                } else {
                    Frame::Seq {
                        path,
                        index: 0,
                        node,
                    }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(Frame::Map { node, .. } | Frame::Seq { node, .. }) = stack.pop() {
                    out[node].end = Some(end);
                }
                finish_child(&mut stack, None);
            }
            Event::DocumentEnd => break,
            _ => {}
        }
    }
    out
}

/// The path of the next node under the top frame, and whether that node is a mapping key.
fn child_path(stack: &[Frame], scalar: Option<&str>) -> (KeyPath, bool) {
    match stack.last() {
        None => (KeyPath::default(), false),
        Some(Frame::Seq { path, index, .. }) => {
            let mut p = path.clone();
            p.0.push(Segment::Index(*index));
            (p, false)
        }
        Some(Frame::Map {
            path,
            pending_key: None,
            ..
        }) => {
            let mut p = path.clone();
            p.0.push(Segment::Key(scalar.unwrap_or("?").to_string()));
            (p, true)
        }
        Some(Frame::Map {
            path,
            pending_key: Some(key),
            ..
        }) => {
            let mut p = path.clone();
            p.0.push(Segment::Key(key.clone()));
            (p, false)
        }
    }
}

/// Advances the top frame past a finished child node.
fn finish_child(stack: &mut [Frame], key_text: Option<String>) {
    match stack.last_mut() {
        Some(Frame::Seq { index, .. }) => *index += 1,
        Some(Frame::Map { pending_key, .. }) => {
            *pending_key = match pending_key.take() {
                None => Some(key_text.unwrap_or_else(|| "?".to_string())),
                Some(_) => None,
            };
        }
        None => {}
    }
}

/// Describes a scalar the way serde describes unexpected values.
fn describe_scalar(value: &str, style: ScalarStyle) -> String {
    if style != ScalarStyle::Plain {
        return format!("string {value:?}");
    }
    match value {
        "" | "~" | "null" | "Null" | "NULL" => "null".to_string(),
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => format!("boolean `{value}`"),
        _ if value.parse::<i64>().is_ok() || value.parse::<u64>().is_ok() => {
            format!("integer `{value}`")
        }
        _ if value.parse::<f64>().is_ok() && value.chars().any(|c| c.is_ascii_digit()) => {
            format!("floating point `{value}`")
        }
        _ => format!("string {value:?}"),
    }
}

/// What lies at a position: the node starting there, or else the innermost collection around it.
pub(crate) struct Found {
    /// The node's path.
    pub(crate) path: KeyPath,
    /// The node's start, which may differ from the asked position when it was a key.
    pub(crate) start: (u64, u64),
    /// What was found, if a node starts exactly there.
    pub(crate) description: Option<String>,
    /// Whether the position is inside the node rather than at its start.
    pub(crate) inside: bool,
}

/// What an error reported at a mapping key is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRole {
    /// The key itself (duplicate or unknown key).
    Key,
    /// The key's value (type errors are reported at the key of the offending value).
    Value,
    /// The mapping holding the key (a missing field is reported at the mapping's first key).
    Mapping,
}

/// Finds the node an error points at. `span` is the error's character offset and length, `pos` its
/// 1-based line and column; `prefer` breaks ties between zero-length collection starts that share
/// an offset (a block sequence and its first mapping item) by description.
pub(crate) fn at(
    nodes: &[Node],
    span: Option<(u64, u64)>,
    pos: (u64, u64),
    role: KeyRole,
    prefer: Option<&str>,
) -> Option<Found> {
    let exact = span.and_then(|span| {
        let mut matches = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.span == span)
            .map(|(i, _)| i);
        let first = matches.next()?;
        let preferred = prefer.and_then(|p| {
            std::iter::once(first)
                .chain(matches)
                .find(|&i| nodes[i].description == p)
        });
        Some(preferred.unwrap_or(first))
    });
    if let Some(i) = exact.or_else(|| nodes.iter().position(|n| n.start == pos)) {
        let node = &nodes[i];
        let target = match role {
            KeyRole::Value if node.is_key => nodes[i + 1..]
                .iter()
                .find(|n| !n.is_key && n.path == node.path),
            KeyRole::Mapping if node.is_key => {
                let parent = &node.path.0[..node.path.0.len().saturating_sub(1)];
                nodes[..i]
                    .iter()
                    .rev()
                    .find(|n| !n.is_key && n.path.0 == parent)
            }
            _ => None,
        }
        .unwrap_or(node);
        return Some(Found {
            path: target.path.clone(),
            start: target.start,
            description: Some(target.description.clone()),
            inside: false,
        });
    }
    nodes
        .iter()
        .filter(|n| n.start <= pos && n.end.is_none_or(|end| pos < end))
        .filter(|n| !n.is_key && (n.description == "a mapping" || n.description == "a sequence"))
        .max_by_key(|n| n.path.0.len())
        .map(|n| Found {
            path: n.path.clone(),
            start: pos,
            description: None,
            inside: true,
        })
}

/// The start of the node at `path` (its key, when it is a mapping value), if present.
pub(crate) fn position_of(nodes: &[Node], path: &KeyPath) -> Option<(u64, u64)> {
    nodes.iter().find(|n| &n.path == path).map(|n| n.start)
}
