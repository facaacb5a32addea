//! The catalog walk every rule executor shares: depth-first, each dict handed to the executor
//! before its children, in document order, exactly as Meltano's visitor does.
//!
//! The order matters for the output: entries a property adds to its stream's `metadata` list
//! are seen by the rules only if that list is walked after the schema. Meltano appends them as it
//! goes; the walker holds them as pending and adds them where Meltano's list would have grown.

use serde_json::{Map, Value};

use super::CatalogError;
use super::path::{NodeKind, classify_map};

/// Deeper than this Meltano's recursive walk would hit Python's recursion limit.
const MAX_DEPTH: usize = 300;

/// How a node handler ended early.
pub(super) enum Flow {
    /// A key was missing: Meltano's dispatcher swallows the `KeyError`, the walk goes on.
    KeyError,
    /// Anything else: the whole walk fails.
    Fail(CatalogError),
}

impl From<CatalogError> for Flow {
    fn from(err: CatalogError) -> Self {
        Flow::Fail(err)
    }
}

/// Only objects and arrays can hold nodes; scalars are not worth a path.
fn is_container(value: &Value) -> bool {
    matches!(value, Value::Object(_) | Value::Array(_))
}

/// Appends `[i]` to a path.
fn push_index(path: &mut String, i: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut n = i;
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    path.push('[');
    path.extend(digits[start..].iter().map(|&d| char::from(d)));
    path.push(']');
}

/// Per-node callbacks of a catalog walk.
pub(super) trait Executor {
    /// A stream dict; `loc` locates it from the root (positions of keys and items).
    fn stream_node(&mut self, node: &mut Map<String, Value>, loc: &[usize]) -> Result<(), Flow>;
    /// A property dict at `path` (`….schema.properties.<name>`).
    fn property_node(&mut self, _node: &mut Map<String, Value>, _path: &str) -> Result<(), Flow> {
        Ok(())
    }
    /// A metadata entry dict (one with a `breadcrumb` key).
    fn metadata_node(&mut self, node: &mut Map<String, Value>) -> Result<(), Flow>;
    /// The visit number of the stream the executor currently works on, if it tracks one.
    fn current_stream(&self) -> Option<u64> {
        None
    }
    /// Moves metadata entries created for the current stream into its `metadata` list.
    fn flush(&mut self, _list: &mut Vec<Value>) {}
}

struct Walk<'e, E> {
    exec: &'e mut E,
    path: String,
    loc: Vec<usize>,
}

/// Walks `root`, calling `exec` on streams, properties and metadata entries.
pub(super) fn walk<E: Executor>(root: &mut Value, exec: &mut E) -> Result<(), CatalogError> {
    let mut walk = Walk {
        exec,
        path: String::new(),
        loc: Vec::new(),
    };
    walk.value(root, None)
}

/// Walks the item `index` of the root's `streams` list, as [`walk`] reaches it in a catalog
/// whose only key is `streams`.
pub(super) fn walk_stream<E: Executor>(
    stream: &mut Value,
    index: usize,
    exec: &mut E,
) -> Result<(), CatalogError> {
    let mut walk = Walk {
        exec,
        path: String::from(".streams"),
        loc: vec![0, index],
    };
    push_index(&mut walk.path, index);
    walk.value(stream, None)
}

impl<E: Executor> Walk<'_, E> {
    /// `metadata_of` is the stream whose `metadata` list `value` is, if it is one.
    fn value(&mut self, value: &mut Value, metadata_of: Option<u64>) -> Result<(), CatalogError> {
        if self.loc.len() > MAX_DEPTH {
            return Err(CatalogError::TooDeep);
        }
        match value {
            Value::Object(map) => self.dict(map),
            Value::Array(items) => self.list(items, metadata_of),
            _ => Ok(()),
        }
    }

    fn dict(&mut self, map: &mut Map<String, Value>) -> Result<(), CatalogError> {
        let kind = classify_map(&self.path, map);
        let outcome = match kind {
            Some(NodeKind::Stream) => self.exec.stream_node(map, &self.loc),
            Some(NodeKind::Property) => self.exec.property_node(map, &self.path),
            Some(NodeKind::Metadata) => self.exec.metadata_node(map),
            None => Ok(()),
        };
        if let Err(Flow::Fail(err)) = outcome {
            return Err(err);
        }
        let this_stream = match kind {
            Some(NodeKind::Stream) => self.exec.current_stream(),
            _ => None,
        };
        let is_current = |exec: &E| this_stream.is_some() && exec.current_stream() == this_stream;
        for (pos, (key, child)) in map.iter_mut().enumerate() {
            if kind == Some(NodeKind::Property) && (key == "anyOf" || key == "type")
                || !is_container(child)
            {
                continue;
            }
            let mut metadata_of = None;
            if key == "metadata" && is_current(self.exec) {
                if let Value::Array(list) = child {
                    self.exec.flush(list);
                }
                metadata_of = this_stream;
            }
            let len = self.path.len();
            self.path.push('.');
            self.path.push_str(key);
            self.loc.push(pos);
            let result = self.value(child, metadata_of);
            self.loc.pop();
            self.path.truncate(len);
            result?;
        }
        if is_current(self.exec)
            && let Some(Value::Array(list)) = map.get_mut("metadata")
        {
            self.exec.flush(list);
        }
        Ok(())
    }

    fn list(
        &mut self,
        items: &mut Vec<Value>,
        metadata_of: Option<u64>,
    ) -> Result<(), CatalogError> {
        let mut i = 0;
        while i < items.len() {
            if !is_container(&items[i]) {
                i += 1;
                continue;
            }
            let len = self.path.len();
            push_index(&mut self.path, i);
            self.loc.push(i);
            let result = self.value(&mut items[i], None);
            self.loc.pop();
            self.path.truncate(len);
            result?;
            if metadata_of.is_some() && self.exec.current_stream() == metadata_of {
                self.exec.flush(items);
            }
            i += 1;
        }
        Ok(())
    }
}

/// The node at `loc` (positions of keys and items from the root), if it is still there.
pub(super) fn node_at<'v>(root: &'v mut Value, loc: &[usize]) -> Option<&'v mut Value> {
    let mut node = root;
    for &pos in loc {
        node = match node {
            Value::Object(map) => map.values_mut().nth(pos)?,
            Value::Array(items) => items.get_mut(pos)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Per-node callbacks of a walk that only reads (streams and metadata entries).
pub(super) trait ReadExecutor {
    /// A stream dict.
    fn stream_node(&mut self, node: &Map<String, Value>) -> Result<(), Flow>;
    /// A metadata entry dict (one with a `breadcrumb` key).
    fn metadata_node(&mut self, node: &Map<String, Value>) -> Result<(), Flow>;
}

/// Walks `root` without changing it, in the same order and with the same node kinds as
/// [`walk`].
pub(super) fn walk_read<E: ReadExecutor>(root: &Value, exec: &mut E) -> Result<(), CatalogError> {
    read_value(root, &mut String::new(), 0, exec)
}

/// [`walk_read`] of the item `index` of the root's `streams` list, as reached in a catalog whose
/// only key is `streams`.
pub(super) fn walk_read_stream<E: ReadExecutor>(
    stream: &Value,
    index: usize,
    exec: &mut E,
) -> Result<(), CatalogError> {
    let mut path = String::from(".streams");
    push_index(&mut path, index);
    read_value(stream, &mut path, 2, exec)
}

fn read_value<E: ReadExecutor>(
    v: &Value,
    path: &mut String,
    depth: usize,
    exec: &mut E,
) -> Result<(), CatalogError> {
    if depth > MAX_DEPTH {
        return Err(CatalogError::TooDeep);
    }
    match v {
        Value::Object(map) => {
            let kind = classify_map(path, map);
            let outcome = match kind {
                Some(NodeKind::Stream) => exec.stream_node(map),
                Some(NodeKind::Metadata) => exec.metadata_node(map),
                _ => Ok(()),
            };
            if let Err(Flow::Fail(err)) = outcome {
                return Err(err);
            }
            for (key, child) in map {
                if kind == Some(NodeKind::Property) && (key == "anyOf" || key == "type")
                    || !is_container(child)
                {
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(key);
                let result = read_value(child, path, depth + 1, exec);
                path.truncate(len);
                result?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate().filter(|(_, v)| is_container(v)) {
                let len = path.len();
                push_index(path, i);
                let result = read_value(item, path, depth + 1, exec);
                path.truncate(len);
                result?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
