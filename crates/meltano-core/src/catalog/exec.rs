//! The two executors that change a catalog: schema rules and metadata rules.
//!
//! Each handler mirrors the reference statement by statement, because Meltano's dispatcher
//! swallows a `KeyError` raised inside a handler: the handler stops where the key was missing
//! and the walk goes on. A stream without `tap_stream_id` thus becomes the current stream but
//! gets no rules, and a metadata entry without `metadata` is left alone. Other failures abort
//! the whole application.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::CatalogError;
use super::fnmatch::{Pattern, starts_with_glob};
use super::path::{field, property_breadcrumb_text};
use super::rules::{Matcher, MetadataRule, SchemaRule, join_breadcrumb, py_type, stream_hits};
use super::visit::{Executor, Flow, node_at};

/// How deep the expansion of glob-named schema properties may recurse before it counts as
/// Python's recursion error (a property named `*` matching itself).
const MAX_EXPANSION: usize = 100;

/// What the current stream's `tap_stream_id` lets rules do.
enum Hits {
    /// No `tap_stream_id`: every handler that reads it stops (`KeyError`).
    Missing,
    /// Per rule: does its stream part match.
    Ready(Vec<bool>),
    /// Not text while some rule has a pattern to try: fails when first used.
    Fails(&'static str),
}

fn hits_of<'m>(matchers: impl Iterator<Item = &'m Matcher>, node: &Map<String, Value>) -> Hits {
    match node.get("tap_stream_id") {
        None => Hits::Missing,
        Some(id) => match stream_hits(matchers, id.as_str()) {
            Some(hits) => Hits::Ready(hits),
            None => Hits::Fails(py_type(id)),
        },
    }
}

impl Hits {
    /// The per-rule hits, or how a handler reading the stream ID ends.
    fn ready(&self) -> Result<&[bool], Flow> {
        match self {
            Hits::Missing => Err(Flow::KeyError),
            Hits::Ready(hits) => Ok(hits),
            Hits::Fails(type_name) => Err(CatalogError::NotText(type_name).into()),
        }
    }
}

/// Applies `schema` rules: creates named properties, replaces matching property nodes.
pub(super) struct SchemaExec<'r> {
    rules: &'r [(SchemaRule, Matcher)],
    /// The current stream's hits (`None` before the first stream).
    hits: Option<Hits>,
}

impl<'r> SchemaExec<'r> {
    pub(super) fn new(rules: &'r [(SchemaRule, Matcher)]) -> Self {
        SchemaExec { rules, hits: None }
    }
}

impl Executor for SchemaExec<'_> {
    fn stream_node(&mut self, node: &mut Map<String, Value>, _loc: &[usize]) -> Result<(), Flow> {
        let hits = hits_of(self.rules.iter().map(|(_, m)| m), node);
        let outcome = match &hits {
            Hits::Missing => Err(Flow::KeyError),
            _ => {
                node.entry("schema")
                    .or_insert_with(|| json!({"type": "object"}));
                hits.ready().and_then(|ready| {
                    for ((rule, _), hit) in self.rules.iter().zip(ready) {
                        if *hit && let Some(schema) = node.get_mut("schema") {
                            ensure_property(schema, &rule.breadcrumb, 0)?;
                        }
                    }
                    Ok(())
                })
            }
        };
        self.hits = Some(hits);
        outcome
    }

    fn property_node(&mut self, node: &mut Map<String, Value>, path: &str) -> Result<(), Flow> {
        let hits = self
            .hits
            .as_ref()
            .ok_or(CatalogError::OutsideStream)?
            .ready()?;
        let breadcrumb = property_breadcrumb_text(path);
        let matching: Vec<&Value> = self
            .rules
            .iter()
            .zip(hits)
            .filter(|((_, matcher), hit)| **hit && matcher.breadcrumb.matches(breadcrumb))
            .map(|((rule, _), _)| &rule.payload)
            .collect();
        for payload in matching {
            set_payload(node, payload)?;
        }
        Ok(())
    }

    fn metadata_node(&mut self, _node: &mut Map<String, Value>) -> Result<(), Flow> {
        Ok(())
    }
}

/// Makes sure the property a schema rule names exists (created as `{}`), expanding a name that
/// starts with a glob character to the existing properties it matches.
fn ensure_property(
    root: &mut Value,
    breadcrumb: &[String],
    depth: usize,
) -> Result<(), CatalogError> {
    if depth > MAX_EXPANSION {
        return Err(CatalogError::TooDeep);
    }
    let mut expand = None;
    let mut node = &mut *root;
    for (idx, key) in breadcrumb.iter().enumerate() {
        let type_name = py_type(node);
        let map = node
            .as_object_mut()
            .ok_or(CatalogError::SchemaNotObject(type_name))?;
        if starts_with_glob(key) {
            let pattern = Pattern::new(key);
            let keys: Vec<String> = map.keys().filter(|k| pattern.matches(k)).cloned().collect();
            expand = Some((idx, keys));
            break;
        }
        node = map
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if let Some((idx, keys)) = expand {
        for key in keys {
            let mut concrete = breadcrumb.to_vec();
            concrete[idx] = key;
            ensure_property(root, &concrete, depth + 1)?;
        }
    }
    Ok(())
}

/// `node.clear(); node.update(payload)`: a mapping, or a list of key/value pairs.
fn set_payload(node: &mut Map<String, Value>, payload: &Value) -> Result<(), CatalogError> {
    node.clear();
    match payload {
        Value::Object(map) => {
            for (k, v) in map {
                node.insert(k.clone(), v.clone());
            }
        }
        Value::Array(items) => {
            for item in items {
                let (key, value) = match item {
                    Value::Array(pair) => match pair.as_slice() {
                        [Value::String(k), v] => (k.clone(), v.clone()),
                        _ => return Err(CatalogError::BadSchemaPayload(py_type(item))),
                    },
                    Value::String(s) => {
                        let mut chars = s.chars();
                        match (chars.next(), chars.next(), chars.next()) {
                            (Some(k), Some(v), None) => {
                                (k.to_string(), Value::String(v.to_string()))
                            }
                            _ => return Err(CatalogError::BadSchemaPayload(py_type(item))),
                        }
                    }
                    other => return Err(CatalogError::BadSchemaPayload(py_type(other))),
                };
                node.insert(key, value);
            }
        }
        other => return Err(CatalogError::BadSchemaPayload(py_type(other))),
    }
    Ok(())
}

/// Where the search for an existing metadata entry stops early.
#[derive(Clone, Copy)]
enum Stop {
    /// A dict without `breadcrumb` (`KeyError`: the search, and its handler, just stop).
    NoBreadcrumb,
    /// An item that is not a dict (fails).
    NotDict(&'static str),
}

/// The current stream's `metadata`, as far as creating entries is concerned.
enum EntryList {
    /// No `metadata` key (`KeyError`: nothing is created).
    Missing,
    /// Not a list (fails).
    NotList(&'static str),
    /// A list: the breadcrumbs found before the first malformed item, and that item.
    List {
        known: HashSet<String>,
        stop: Option<Stop>,
    },
}

/// A breadcrumb as one hashable string, unambiguous whatever its parts contain:
/// `["properties", "a.b"]` → `10:properties3:a.b`.
fn crumb_key<'a>(parts: impl Iterator<Item = &'a str>, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    for part in parts {
        let _ = write!(out, "{}:", part.len());
        out.push_str(part);
    }
}

fn entry_list(node: &Map<String, Value>) -> EntryList {
    let Some(metadata) = node.get("metadata") else {
        return EntryList::Missing;
    };
    let Value::Array(items) = metadata else {
        return EntryList::NotList(py_type(metadata));
    };
    let mut known = HashSet::new();
    let mut key = String::new();
    let mut stop = None;
    for item in items {
        let Value::Object(entry) = item else {
            stop = Some(Stop::NotDict(py_type(item)));
            break;
        };
        match entry.get("breadcrumb") {
            None => {
                stop = Some(Stop::NoBreadcrumb);
                break;
            }
            Some(Value::Array(parts)) if parts.iter().all(Value::is_string) => {
                crumb_key(parts.iter().filter_map(Value::as_str), &mut key);
                known.insert(key.clone());
            }
            Some(_) => {}
        }
    }
    EntryList::List { known, stop }
}

/// Meltano's `_stream`: the stream the metadata executor is on.
struct StreamCtx {
    /// Visit number, to tell whether a `metadata` list belongs to this stream.
    visit: u64,
    /// Where the stream is, for entries added after its walk ended.
    loc: Vec<usize>,
    hits: Hits,
    entries: EntryList,
    /// Entries created but not yet added to the list.
    pending: Vec<Value>,
}

/// Applies metadata rules and creates missing metadata entries.
pub(super) struct MetadataExec<'r> {
    rules: &'r [(MetadataRule, Matcher)],
    visits: u64,
    ctx: Option<StreamCtx>,
    /// Entries for streams whose walk had ended when they were created.
    late: Vec<(Vec<usize>, Vec<Value>)>,
    /// Scratch space reused across nodes.
    text: String,
    matching: Vec<usize>,
}

fn new_entry(breadcrumb: Value, depth: usize) -> Value {
    let inclusion = if depth <= 2 { "automatic" } else { "available" };
    json!({"breadcrumb": breadcrumb, "metadata": {"inclusion": inclusion}})
}

/// Meltano's `set_metadata`: never selects an unsupported node.
fn set_metadata(target: &mut Map<String, Value>, key: &str, value: &Value) {
    if key == "selected"
        && *value == Value::Bool(true)
        && field(target, "inclusion").and_then(Value::as_str) == Some("unsupported")
    {
        return;
    }
    match target.get_mut(key) {
        Some(slot) => *slot = value.clone(),
        None => {
            target.insert(key.to_owned(), value.clone());
        }
    }
}

/// Ensures the stream's `[]` entry exists, searching as Meltano does.
fn ensure_stream_entry(metadata: &mut Value) -> Result<(), Flow> {
    let Value::Array(list) = metadata else {
        return Err(CatalogError::MetadataNotList(py_type(metadata)).into());
    };
    for item in list.iter() {
        let Value::Object(entry) = item else {
            return Err(CatalogError::BadMetadataEntry(py_type(item)).into());
        };
        match entry.get("breadcrumb") {
            Some(Value::Array(b)) if b.is_empty() => return Ok(()),
            Some(_) => {}
            None => return Err(Flow::KeyError),
        }
    }
    list.push(new_entry(json!([]), 0));
    Ok(())
}

impl<'r> MetadataExec<'r> {
    pub(super) fn new(rules: &'r [(MetadataRule, Matcher)]) -> Self {
        MetadataExec {
            rules,
            visits: 0,
            ctx: None,
            late: Vec::new(),
            text: String::new(),
            matching: Vec::new(),
        }
    }

    fn matchers(&self) -> impl Iterator<Item = &'r Matcher> {
        self.rules.iter().map(|(_, m)| m)
    }

    /// The stream-level part of Meltano's `stream_node`.
    fn stream_rules(&self, node: &mut Map<String, Value>) -> Result<(), Flow> {
        if !node.contains_key("tap_stream_id") {
            return Err(Flow::KeyError);
        }
        let metadata = node
            .entry("metadata")
            .or_insert_with(|| Value::Array(Vec::new()));
        ensure_stream_entry(metadata)?;
        let id = node.get("tap_stream_id").unwrap_or(&Value::Null);
        let hits =
            stream_hits(self.matchers(), id.as_str()).ok_or(CatalogError::NotText(py_type(id)))?;
        for ((rule, matcher), hit) in self.rules.iter().zip(&hits) {
            if *hit && matcher.breadcrumb.matches("") {
                // Legacy catalogs keep these keys on the stream itself, underscored.
                set_metadata(node, &rule.key.replace('-', "_"), &rule.value);
            }
        }
        Ok(())
    }

    /// Whether entries wait to be added to a stream whose walk has ended (by [`Self::finish`]).
    pub(super) fn has_unplaced(&self) -> bool {
        !self.late.is_empty() || self.ctx.as_ref().is_some_and(|c| !c.pending.is_empty())
    }

    /// Adds entries created after their stream's walk ended.
    pub(super) fn finish(mut self, root: &mut Value) {
        if let Some(ctx) = self.ctx.take()
            && !ctx.pending.is_empty()
        {
            self.late.push((ctx.loc, ctx.pending));
        }
        for (loc, entries) in self.late {
            if let Some(Value::Object(stream)) = node_at(root, &loc)
                && let Some(Value::Array(list)) = stream.get_mut("metadata")
            {
                list.extend(entries);
            }
        }
    }
}

impl Executor for MetadataExec<'_> {
    fn stream_node(&mut self, node: &mut Map<String, Value>, loc: &[usize]) -> Result<(), Flow> {
        let outcome = self.stream_rules(node);
        // Meltano makes this the current stream before anything can fail.
        if let Some(old) = self.ctx.take()
            && !old.pending.is_empty()
        {
            self.late.push((old.loc, old.pending));
        }
        self.visits += 1;
        self.ctx = Some(StreamCtx {
            visit: self.visits,
            loc: loc.to_vec(),
            hits: hits_of(self.matchers(), node),
            entries: entry_list(node),
            pending: Vec::new(),
        });
        outcome
    }

    fn property_node(&mut self, _node: &mut Map<String, Value>, path: &str) -> Result<(), Flow> {
        let ctx = self.ctx.as_mut().ok_or(CatalogError::OutsideStream)?;
        let (known, stop) = match &mut ctx.entries {
            EntryList::Missing => return Err(Flow::KeyError),
            EntryList::NotList(type_name) => {
                return Err(CatalogError::MetadataNotList(type_name).into());
            }
            EntryList::List { known, stop } => (known, stop),
        };
        let text = property_breadcrumb_text(path);
        crumb_key(text.split('.'), &mut self.text);
        if known.contains(self.text.as_str()) {
            return Ok(());
        }
        match stop {
            Some(Stop::NoBreadcrumb) => return Err(Flow::KeyError),
            Some(Stop::NotDict(type_name)) => {
                return Err(CatalogError::BadMetadataEntry(type_name).into());
            }
            None => {}
        }
        let parts: Vec<Value> = text
            .split('.')
            .map(|p| Value::String(p.to_owned()))
            .collect();
        let depth = parts.len();
        ctx.pending.push(new_entry(Value::Array(parts), depth));
        known.insert(self.text.clone());
        Ok(())
    }

    fn metadata_node(&mut self, node: &mut Map<String, Value>) -> Result<(), Flow> {
        let ctx = self.ctx.as_ref().ok_or(CatalogError::OutsideStream)?;
        let hits = ctx.hits.ready()?;
        let mut joined = false;
        self.matching.clear();
        for (i, ((_, matcher), hit)) in self.rules.iter().zip(hits).enumerate() {
            if !*hit {
                continue;
            }
            if !joined {
                let breadcrumb = field(node, "breadcrumb").ok_or(Flow::KeyError)?;
                join_breadcrumb(breadcrumb, &mut self.text)?;
                joined = true;
            }
            if matcher.breadcrumb.matches(&self.text) {
                self.matching.push(i);
            }
        }
        if self.matching.is_empty() {
            return Ok(());
        }
        let target = node.get_mut("metadata").ok_or(Flow::KeyError)?;
        let type_name = py_type(target);
        let target = target
            .as_object_mut()
            .ok_or(CatalogError::NoGet(type_name))?;
        for &i in &self.matching {
            let rule = &self.rules[i].0;
            set_metadata(target, &rule.key, &rule.value);
        }
        Ok(())
    }

    fn current_stream(&self) -> Option<u64> {
        self.ctx.as_ref().map(|c| c.visit)
    }

    fn flush(&mut self, list: &mut Vec<Value>) {
        if let Some(ctx) = self.ctx.as_mut() {
            list.append(&mut ctx.pending);
        }
    }
}
