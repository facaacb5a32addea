//! The Python objects an unpickler builds, and their JSON form.
//!
//! Objects live in a [`Heap`] and refer to each other by [`ObjId`], so that the memo shares one
//! object between several places and a list appended to after a `BINGET` changes everywhere, as
//! in Python. Only the final conversion to JSON copies, and it refuses cycles, depth beyond
//! [`MAX_DEPTH`] and output beyond [`MAX_WEIGHT`] (a pickle of shared references can describe a
//! value exponentially larger than itself).

use std::collections::HashSet;

use serde_json::{Map, Number, Value};

use super::PickleError;
use super::int::Int;
use super::text::float_repr;

/// Deepest nesting of containers we convert. CPython's pickler cannot write more than about 500
/// (two recursion levels per container under the default limit of 1000).
const MAX_DEPTH: usize = 512;

/// Largest JSON value we build, in bytes of text plus [`NODE_WEIGHT`] per value: far beyond any
/// setting, small enough that a hostile pickle cannot exhaust memory.
const MAX_WEIGHT: usize = 64 << 20;

/// What one value costs against [`MAX_WEIGHT`] beyond its text: roughly its size in memory.
const NODE_WEIGHT: usize = std::mem::size_of::<Value>() + 16;

/// An index into a [`Heap`].
pub(super) type ObjId = usize;

/// A Python object of one of the types a setting value may hold.
#[derive(Debug)]
pub(super) enum Obj {
    None,
    Bool(bool),
    Int(Int),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<ObjId>),
    Tuple(Vec<ObjId>),
    /// Items in insertion order; a repeated key is resolved when converting to JSON.
    Dict(Vec<(ObjId, ObjId)>),
    /// Items in insertion order; duplicates are dropped when converting to JSON.
    Set(Vec<ObjId>),
    FrozenSet(Vec<ObjId>),
}

impl Obj {
    /// The Python type name, for error messages.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Self::None => "NoneType",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::List(_) => "list",
            Self::Tuple(_) => "tuple",
            Self::Dict(_) => "dict",
            Self::Set(_) => "set",
            Self::FrozenSet(_) => "frozenset",
        }
    }

    /// Whether Python could use this object as a dict key or set member (a tuple's items are
    /// not checked: a tuple key has no JSON form anyway).
    pub(super) fn is_hashable(&self) -> bool {
        !matches!(self, Self::List(_) | Self::Dict(_) | Self::Set(_))
    }
}

/// The objects of one unpickling.
#[derive(Debug, Default)]
pub(super) struct Heap {
    objects: Vec<Obj>,
}

impl Heap {
    /// Stores `obj` and returns its id.
    pub(super) fn alloc(&mut self, obj: Obj) -> ObjId {
        self.objects.push(obj);
        self.objects.len() - 1
    }

    /// The object `id` refers to; ids only come from [`Heap::alloc`].
    pub(super) fn get(&self, id: ObjId) -> &Obj {
        &self.objects[id]
    }

    /// The object `id` refers to, to append to it.
    pub(super) fn get_mut(&mut self, id: ObjId) -> &mut Obj {
        &mut self.objects[id]
    }

    /// The JSON form of `root`: tuples and sets become arrays, dict keys become strings as
    /// `json.dumps` writes them, ints beyond `i64`/`u64` become strings of digits.
    ///
    /// Iterative, with an explicit stack of open containers, so that no input can overflow the
    /// Rust stack.
    pub(super) fn to_json(&self, root: ObjId) -> Result<Value, PickleError> {
        let mut converter = Converter {
            heap: self,
            on_path: vec![false; self.objects.len()],
            weight: 0,
        };
        let mut open: Vec<Container<'_>> = Vec::new();
        let mut start = Some(root);
        let mut done = None;
        loop {
            if let Some(id) = start.take() {
                match converter.start(id, open.len())? {
                    Started::Leaf(value) => done = Some(value),
                    Started::Container(container) => open.push(container),
                }
            }
            if let Some(value) = done.take() {
                match open.last_mut() {
                    None => return Ok(value),
                    Some(parent) => parent.accept(value),
                }
            }
            let Some(current) = open.last_mut() else {
                return Err(PickleError::NotJson("empty pickle".into()));
            };
            match converter.next_child(current)? {
                Some(child) => start = Some(child),
                None => {
                    if let Some(finished) = open.pop() {
                        converter.on_path[finished.id] = false;
                        done = Some(finished.into_value());
                    }
                }
            }
        }
    }
}

/// What starting to convert an object gives: its value, or a container to fill.
enum Started<'h> {
    Leaf(Value),
    Container(Container<'h>),
}

/// A list, tuple, set or dict being converted.
struct Container<'h> {
    id: ObjId,
    next: usize,
    kind: ContainerKind<'h>,
}

enum ContainerKind<'h> {
    Array {
        items: &'h [ObjId],
        out: Vec<Value>,
    },
    /// Python sets hold no duplicates; equal JSON values are dropped.
    Set {
        items: &'h [ObjId],
        out: Vec<Value>,
        seen: HashSet<String>,
    },
    Object {
        entries: &'h [(ObjId, ObjId)],
        out: Map<String, Value>,
        /// The key of the value being converted.
        key: String,
    },
}

impl Container<'_> {
    fn accept(&mut self, value: Value) {
        match &mut self.kind {
            ContainerKind::Array { out, .. } => out.push(value),
            ContainerKind::Set { out, seen, .. } => {
                if seen.insert(value.to_string()) {
                    out.push(value);
                }
            }
            ContainerKind::Object { out, key, .. } => {
                // Like Python, a repeated key keeps its first place and its last value.
                out.insert(std::mem::take(key), value);
            }
        }
    }

    fn into_value(self) -> Value {
        match self.kind {
            ContainerKind::Array { out, .. } | ContainerKind::Set { out, .. } => Value::Array(out),
            ContainerKind::Object { out, .. } => Value::Object(out),
        }
    }
}

struct Converter<'h> {
    heap: &'h Heap,
    /// The containers being converted, to detect cycles.
    on_path: Vec<bool>,
    weight: usize,
}

impl<'h> Converter<'h> {
    fn charge(&mut self, weight: usize) -> Result<(), PickleError> {
        self.weight = self.weight.saturating_add(weight);
        if self.weight > MAX_WEIGHT {
            return Err(PickleError::NotJson(format!(
                "the value is larger than {} MiB",
                MAX_WEIGHT >> 20
            )));
        }
        Ok(())
    }

    /// Converts a scalar, or opens a container found `depth` containers deep.
    fn start(&mut self, id: ObjId, depth: usize) -> Result<Started<'h>, PickleError> {
        self.charge(NODE_WEIGHT)?;
        let heap = self.heap;
        let leaf = match heap.get(id) {
            Obj::None => Value::Null,
            Obj::Bool(value) => Value::Bool(*value),
            Obj::Int(value) => {
                let value = value.to_json();
                if let Value::String(digits) = &value {
                    self.charge(digits.len())?;
                }
                value
            }
            Obj::Float(value) => Value::Number(Number::from_f64(*value).ok_or_else(|| {
                PickleError::NotJson(format!("the float {} has no JSON form", float_repr(*value)))
            })?),
            Obj::Str(text) => {
                self.charge(text.len())?;
                Value::String(text.clone())
            }
            Obj::Bytes(bytes) => {
                self.charge(bytes.len())?;
                Value::String(utf8(bytes)?)
            }
            Obj::List(items) | Obj::Tuple(items) => {
                return self.open(
                    id,
                    depth,
                    ContainerKind::Array {
                        items,
                        out: Vec::with_capacity(items.len()),
                    },
                );
            }
            Obj::Set(items) | Obj::FrozenSet(items) => {
                return self.open(
                    id,
                    depth,
                    ContainerKind::Set {
                        items,
                        out: Vec::with_capacity(items.len()),
                        seen: HashSet::new(),
                    },
                );
            }
            Obj::Dict(entries) => {
                return self.open(
                    id,
                    depth,
                    ContainerKind::Object {
                        entries,
                        out: Map::with_capacity(entries.len()),
                        key: String::new(),
                    },
                );
            }
        };
        Ok(Started::Leaf(leaf))
    }

    fn open(
        &mut self,
        id: ObjId,
        depth: usize,
        kind: ContainerKind<'h>,
    ) -> Result<Started<'h>, PickleError> {
        if depth >= MAX_DEPTH {
            return Err(PickleError::NotJson(format!(
                "containers are nested more than {MAX_DEPTH} deep"
            )));
        }
        if self.on_path[id] {
            return Err(PickleError::NotJson(format!(
                "a {} contains itself",
                self.heap.get(id).type_name()
            )));
        }
        self.on_path[id] = true;
        Ok(Started::Container(Container { id, next: 0, kind }))
    }

    /// The next item of `container` to convert (for a dict, its value, the key converted
    /// already), or `None` when it is complete.
    fn next_child(&mut self, container: &mut Container<'h>) -> Result<Option<ObjId>, PickleError> {
        let index = container.next;
        container.next += 1;
        match &mut container.kind {
            ContainerKind::Array { items, .. } | ContainerKind::Set { items, .. } => {
                Ok(items.get(index).copied())
            }
            ContainerKind::Object { entries, key, .. } => match entries.get(index) {
                Some(&(key_id, value_id)) => {
                    *key = self.key(key_id)?;
                    Ok(Some(value_id))
                }
                None => Ok(None),
            },
        }
    }

    /// A dict key as `json.dumps` writes it: str as is, int, float, bool and None as text.
    fn key(&mut self, id: ObjId) -> Result<String, PickleError> {
        self.charge(NODE_WEIGHT)?;
        let key = match self.heap.get(id) {
            Obj::Str(text) => text.clone(),
            Obj::Bytes(bytes) => utf8(bytes)?,
            Obj::Int(value) => value.to_string(),
            Obj::Float(value) => float_repr(*value),
            Obj::Bool(value) => value.to_string(),
            Obj::None => "null".into(),
            other => {
                return Err(PickleError::NotJson(format!(
                    "a dict key of type {} has no JSON form",
                    other.type_name()
                )));
            }
        };
        self.charge(key.len())?;
        Ok(key)
    }
}

fn utf8(bytes: &[u8]) -> Result<String, PickleError> {
    String::from_utf8(bytes.to_vec()).map_err(|error| {
        PickleError::NotJson(format!(
            "bytes are not UTF-8 (invalid byte at {})",
            error.utf8_error().valid_up_to()
        ))
    })
}
