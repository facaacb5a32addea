//! Catalog rules and their application, as Meltano applies them to a discovered catalog before
//! running a tap: `schema` extra first, then (if any metadata rule exists) the "not found"
//! warnings, then the metadata rules (`!*.*`, `select`, `metadata` extra, `select_filter`).
//!
//! Matching is `fnmatch` on the tap_stream_id and on the breadcrumb joined with dots
//! (`properties.a.properties.b`), so `*` in a property pattern spans nesting levels. Missing
//! metadata entries are created (`inclusion: automatic` for the stream and top-level properties,
//! `available` below) and stream-level rules also set the legacy key on the stream
//! (`replication-method` → `replication_method`). `selected: true` never lands on an
//! `inclusion: unsupported` node.

use std::collections::HashSet;
use std::fmt;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::CatalogError;
use super::exec::{MetadataExec, SchemaExec};
use super::fnmatch::Pattern;
use super::select::{select_filter_metadata_rules, select_metadata_rules};
use super::visit::walk;

/// Which streams a rule names, kept in Meltano's two shapes because they behave differently:
/// a list (select rules with an empty stream part, `select_filter`) is never warned about.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamPatterns {
    /// A single stream pattern.
    One(String),
    /// Any of these patterns (an empty list matches no stream).
    AnyOf(Vec<String>),
}

impl StreamPatterns {
    fn patterns(&self) -> &[String] {
        match self {
            StreamPatterns::One(p) => std::slice::from_ref(p),
            StreamPatterns::AnyOf(ps) => ps,
        }
    }
}

/// Sets `metadata[key] = value` on matching stream/property metadata entries.
#[derive(Clone, Debug, PartialEq)]
pub struct MetadataRule {
    /// Stream patterns.
    pub streams: StreamPatterns,
    /// Breadcrumb pattern segments (`["properties", "a*"]`; empty for the stream itself).
    pub breadcrumb: Vec<String>,
    /// The metadata key (`selected`, `replication-method`, …).
    pub key: String,
    /// The value to set.
    pub value: Value,
    /// When true the rule applies to streams matching none of the patterns.
    pub negated: bool,
}

/// Replaces the schema of matching properties by `payload` (creating named ones if missing).
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaRule {
    /// Stream pattern.
    pub stream: String,
    /// `["properties", <property pattern>]`.
    pub breadcrumb: Vec<String>,
    /// The JSON schema that replaces the property node.
    pub payload: Value,
}

/// `["a", "b"]` → `["properties", "a", "properties", "b"]`: a property path as a schema
/// breadcrumb.
pub fn property_breadcrumb<S: AsRef<str>>(props: &[S]) -> Vec<String> {
    props
        .iter()
        .flat_map(|p| ["properties".to_owned(), p.as_ref().to_owned()])
        .collect()
}

/// The rules of the `metadata` extra (`{<stream>: {<prop>: {<key>: value}}}`, nested as
/// Meltano's settings service returns it): every leaf path `<stream>[.<prop>…].<key>` split at
/// every dot, so a stream ID containing dots cannot be named except through a glob (`a?b`).
pub fn metadata_extra_rules(extra: &Value) -> Result<Vec<MetadataRule>, CatalogError> {
    let map = extra.as_object().ok_or(CatalogError::BadExtra {
        extra: "metadata",
        expected: "an object",
    })?;
    let mut flat = IndexMap::new();
    flatten_dotted(map, None, &mut flat);
    flat.into_iter()
        .map(|(name, value)| {
            let parts: Vec<&str> = name.split('.').collect();
            match parts.as_slice() {
                [stream, props @ .., key] => Ok(MetadataRule {
                    streams: StreamPatterns::One((*stream).to_owned()),
                    breadcrumb: property_breadcrumb(props),
                    key: (*key).to_owned(),
                    value,
                    negated: false,
                }),
                _ => Err(CatalogError::BadMetadataKey(name)),
            }
        })
        .collect()
}

fn flatten_dotted(
    map: &Map<String, Value>,
    prefix: Option<&str>,
    out: &mut IndexMap<String, Value>,
) {
    for (key, value) in map {
        let name = match prefix {
            Some(prefix) => format!("{prefix}.{key}"),
            None => key.clone(),
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten_dotted(inner, Some(&name), out),
            _ => {
                out.insert(name, value.clone());
            }
        }
    }
}

/// The rules of the `schema` extra (`{<stream pattern>: {<property pattern>: <schema>}}`).
pub fn schema_extra_rules(extra: &Value) -> Result<Vec<SchemaRule>, CatalogError> {
    let bad = CatalogError::BadExtra {
        extra: "schema",
        expected: "an object of objects",
    };
    let map = extra.as_object().ok_or(bad.clone())?;
    let mut rules = Vec::new();
    for (stream, props) in map {
        for (prop, payload) in props.as_object().ok_or(bad.clone())? {
            rules.push(SchemaRule {
                stream: stream.clone(),
                breadcrumb: property_breadcrumb(&[prop]),
                payload: payload.clone(),
            });
        }
    }
    Ok(rules)
}

/// The extras the rules come from, as the extractor's settings resolve them.
#[derive(Clone, Copy, Debug)]
pub struct RuleSources<'a> {
    /// The `select` extra (default `["*.*"]`).
    pub select: &'a [String],
    /// The `metadata` extra (default `{}`).
    pub metadata: &'a Value,
    /// The `schema` extra (default `{}`).
    pub schema: &'a Value,
    /// The `select_filter` extra, or the `el --select/--exclude` filter that replaces it.
    pub select_filter: &'a [String],
    /// A custom catalog is in use (`catalog` extra, `el --catalog`): only `select_filter` applies.
    pub custom_catalog: bool,
}

/// A warning Meltano logs when a rule names a stream or property the catalog lacks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CatalogWarning {
    /// No stream has this tap_stream_id.
    StreamNotFound {
        /// The stream named by the rule.
        stream: String,
    },
    /// The stream's schema has no such property.
    PropertyNotFound {
        /// The stream named by the rule.
        stream: String,
        /// The rule's breadcrumb after its first segment (`address.properties.city`).
        property: String,
    },
}

impl fmt::Display for CatalogWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogWarning::StreamNotFound { stream } => {
                write!(f, "Stream `{stream}` was not found in the catalog")
            }
            CatalogWarning::PropertyNotFound { stream, property } => write!(
                f,
                "Property `{property}` was not found in the schema of stream `{stream}`"
            ),
        }
    }
}

/// A rule's patterns, compiled once.
#[derive(Clone, Debug)]
pub(super) struct Matcher {
    streams: Vec<Pattern>,
    negated: bool,
    /// The breadcrumb pattern, joined with dots.
    pub(super) breadcrumb: Pattern,
}

impl Matcher {
    fn new(streams: &StreamPatterns, negated: bool, breadcrumb: &[String]) -> Matcher {
        Matcher {
            streams: streams.patterns().iter().map(|p| Pattern::new(p)).collect(),
            negated,
            breadcrumb: Pattern::new(&breadcrumb.join(".")),
        }
    }

    /// Whether the rule applies to the stream; `None` for a stream ID that is not text, which
    /// Meltano fails on as soon as a pattern is tried.
    fn stream_hit(&self, id: Option<&str>) -> Option<bool> {
        if self.streams.is_empty() {
            return Some(self.negated);
        }
        let id = id?;
        Some(self.streams.iter().any(|p| p.matches(id)) != self.negated)
    }
}

/// Per rule, whether it applies to stream `id`; `None` when `id` is not text and some rule has
/// a pattern to try on it (Meltano fails there).
pub(super) fn stream_hits<'m>(
    matchers: impl Iterator<Item = &'m Matcher>,
    id: Option<&str>,
) -> Option<Vec<bool>> {
    matchers.map(|m| m.stream_hit(id)).collect()
}

/// All rules for one catalog, compiled; build once per run, apply to the discovered catalog.
#[derive(Clone, Debug, Default)]
pub struct CatalogRules {
    pub(super) schema: Vec<(SchemaRule, Matcher)>,
    pub(super) metadata: Vec<(MetadataRule, Matcher)>,
}

impl CatalogRules {
    /// Compiles explicit rule lists.
    pub fn new(schema: Vec<SchemaRule>, metadata: Vec<MetadataRule>) -> CatalogRules {
        CatalogRules {
            schema: schema
                .into_iter()
                .map(|r| {
                    let streams = StreamPatterns::One(r.stream.clone());
                    let m = Matcher::new(&streams, false, &r.breadcrumb);
                    (r, m)
                })
                .collect(),
            metadata: metadata
                .into_iter()
                .map(|r| {
                    let m = Matcher::new(&r.streams, r.negated, &r.breadcrumb);
                    (r, m)
                })
                .collect(),
        }
    }

    /// The rules Meltano derives from an extractor's extras, in its order: `schema` rules;
    /// then `!*.*`, `select`, `metadata` and `select_filter` rules (only the last with a custom
    /// catalog).
    pub fn from_sources(sources: &RuleSources<'_>) -> Result<CatalogRules, CatalogError> {
        let mut schema = Vec::new();
        let mut metadata = Vec::new();
        if !sources.custom_catalog {
            schema = schema_extra_rules(sources.schema)?;
            metadata.extend(select_metadata_rules(&["!*.*"]));
            metadata.extend(select_metadata_rules(sources.select));
            metadata.extend(metadata_extra_rules(sources.metadata)?);
        }
        metadata.extend(select_filter_metadata_rules(sources.select_filter));
        Ok(CatalogRules::new(schema, metadata))
    }

    /// True when there is nothing to apply; Meltano then leaves the catalog file untouched and
    /// writes no cache key.
    pub fn is_empty(&self) -> bool {
        self.schema.is_empty() && self.metadata.is_empty()
    }

    /// The metadata rules, in application order.
    pub fn metadata_rules(&self) -> impl Iterator<Item = &MetadataRule> {
        self.metadata.iter().map(|(r, _)| r)
    }

    /// Applies the rules to `catalog` in place and returns the warnings Meltano would log
    /// (each once). On error the catalog is half-done and must be discarded, as Meltano
    /// deletes the file ("Applying catalog rules failed: catalog file is invalid: <error>").
    pub fn apply(&self, catalog: &mut Value) -> Result<Vec<CatalogWarning>, CatalogError> {
        if !self.schema.is_empty() {
            walk(catalog, &mut SchemaExec::new(&self.schema))?;
        }
        let mut warnings = Vec::new();
        if !self.metadata.is_empty() {
            warnings = missing_warnings(&self.metadata, catalog)?;
            let mut exec = MetadataExec::new(&self.metadata);
            walk(catalog, &mut exec)?;
            exec.finish(catalog);
        }
        Ok(warnings)
    }
}

pub(super) use crate::python::{is_truthy as truthy, type_name as py_type};

/// `".".join(breadcrumb)` as Python evaluates it, into `out` (cleared first): a list of
/// strings, a string's characters, or a dict's keys.
pub(super) fn join_breadcrumb(breadcrumb: &Value, out: &mut String) -> Result<(), CatalogError> {
    out.clear();
    match breadcrumb {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let part = item
                    .as_str()
                    .ok_or(CatalogError::BadBreadcrumb(py_type(item)))?;
                if i > 0 {
                    out.push('.');
                }
                out.push_str(part);
            }
        }
        Value::String(s) => {
            for (i, c) in s.chars().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push(c);
            }
        }
        Value::Object(map) => {
            for (i, key) in map.keys().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(key);
            }
        }
        other => return Err(CatalogError::BadBreadcrumb(py_type(other))),
    }
    Ok(())
}

fn missing_warnings(
    rules: &[(MetadataRule, Matcher)],
    catalog: &Value,
) -> Result<Vec<CatalogWarning>, CatalogError> {
    let catalog = catalog
        .as_object()
        .ok_or(CatalogError::NotObject("the catalog"))?;
    let mut by_id: std::collections::HashMap<&str, &Map<String, Value>> =
        std::collections::HashMap::new();
    match catalog.get("streams") {
        None | Some(Value::Object(_) | Value::String(_)) => {}
        Some(Value::Array(streams)) => {
            for stream in streams.iter().filter_map(Value::as_object) {
                match stream.get("tap_stream_id") {
                    Some(Value::String(id)) => {
                        by_id.insert(id, stream);
                    }
                    Some(v @ (Value::Array(_) | Value::Object(_))) => {
                        return Err(CatalogError::Unhashable(py_type(v)));
                    }
                    _ => {}
                }
            }
        }
        Some(other) => return Err(CatalogError::NotIterable(py_type(other))),
    }
    missing_warnings_from(rules, |index| {
        let id = literal_stream(&rules[index].0)?;
        let stream = by_id.get(id)?;
        Some(property_missing(&rules[index].0, stream))
    })
}

/// The stream ID a rule names literally (warned about when missing), if any.
pub(super) fn literal_stream(rule: &MetadataRule) -> Option<&str> {
    match &rule.streams {
        StreamPatterns::One(id) if !id.contains('*') => Some(id),
        _ => None,
    }
}

/// Whether the property a rule names is missing from `stream`'s schema (false when the rule
/// names no property).
pub(super) fn property_missing(
    rule: &MetadataRule,
    stream: &Map<String, Value>,
) -> Result<bool, CatalogError> {
    let path: Vec<&String> = rule
        .breadcrumb
        .iter()
        .take_while(|seg| !seg.contains('*'))
        .collect();
    if path.len() <= 1 {
        return Ok(false);
    }
    let empty = Value::Object(Map::new());
    let mut node = stream.get("schema").unwrap_or(&empty);
    for seg in path {
        node = match node {
            Value::Object(map) => map.get(seg.as_str()).unwrap_or(&empty),
            other => return Err(CatalogError::NoGet(py_type(other))),
        };
    }
    Ok(!truthy(node))
}

/// The warnings of `rules`, given for each literal stream ID whether the property each rule names
/// is missing (`lookup(rule index)`: None when no stream has the ID).
pub(super) fn missing_warnings_from(
    rules: &[(MetadataRule, Matcher)],
    mut lookup: impl FnMut(usize) -> Option<Result<bool, CatalogError>>,
) -> Result<Vec<CatalogWarning>, CatalogError> {
    let mut seen = HashSet::new();
    let mut warnings = Vec::new();
    for (index, (rule, _)) in rules.iter().enumerate() {
        let Some(id) = literal_stream(rule) else {
            continue;
        };
        match lookup(index) {
            None => {
                if seen.insert((id.to_owned(), None)) {
                    warnings.push(CatalogWarning::StreamNotFound {
                        stream: id.to_owned(),
                    });
                }
            }
            Some(missing) => {
                if missing? && seen.insert((id.to_owned(), Some(rule.breadcrumb.clone()))) {
                    warnings.push(CatalogWarning::PropertyNotFound {
                        stream: id.to_owned(),
                        property: rule.breadcrumb[1..].join("."),
                    });
                }
            }
        }
    }
    Ok(warnings)
}
