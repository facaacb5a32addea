//! Serde helpers shared by the model.
//!
//! meltano.yml is read by Python with YAML 1.2 semantics and almost no validation, so the model is
//! lenient where Meltano is (null where a list or map is expected means "empty", scalar keys of any
//! type become strings, booleans may be spelled `yes`/`off`, numbers may be quoted) and strict
//! only about shape. Every
//! helper here deserializes straight from serde-saphyr, never through a buffered value, so errors
//! keep their line and column.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Arbitrary values keyed by name, in file order: plugin `config`, extras, `metadata`, `vars`…
pub type ValueMap = IndexMap<String, Value>;

/// `annotations`: free-form data keyed by tool name, ignored by Meltano.
pub type Annotations = IndexMap<String, Value>;

/// An `env:` block: variable name to value. Scalars are kept as Python's `str()` would print them.
pub type EnvMap = IndexMap<String, String>;

/// The spellings Meltano's boolean cast accepts (plus their negations), case-insensitively.
fn parse_bool_word(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "y" => Some(true),
        "false" | "no" | "off" | "0" | "n" => Some(false),
        _ => None,
    }
}

/// How Python prints a boolean (`str(True)`), which is what Meltano puts in environment variables.
fn python_bool(v: bool) -> &'static str {
    if v { "True" } else { "False" }
}

/// How Python prints a float (`str(1.0)` is `1.0`), close enough for env values and stringified keys.
fn python_float(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// Names the items of a list in "expected a sequence of …" errors.
pub(crate) trait Noun {
    /// Plural noun, e.g. `plugins`.
    const PLURAL: &'static str;
}

/// A list of model entries; null means empty. Errors say "expected a sequence of <noun>".
pub(crate) fn seq<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Noun,
{
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de> + Noun> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a sequence of {}", T::PLURAL)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(V(PhantomData))
}

/// A struct-valued key where null means "all defaults" (`plugins:` with nothing under it).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A map of arbitrary values (`config`, `annotations`, unknown keys); null means empty.
pub(crate) fn value_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ValueMap, D::Error> {
    Ok(opt_value_map(deserializer)?.unwrap_or_default())
}

/// An optional map of arbitrary values (`metadata`, `schema`, `vars`); null means absent.
pub(crate) fn opt_value_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ValueMap>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<ValueMap>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = ValueMap::new();
            while let Some(MapKey(key)) = map.next_key()? {
                let AnyValue(value) = map.next_value()?;
                out.insert(key, value);
            }
            Ok(Some(out))
        }
    }
    deserializer.deserialize_any(V)
}

/// The unknown keys of an object, for `#[serde(flatten)]`: keys stringified, values kept as JSON.
pub(crate) fn extras<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ValueMap, D::Error> {
    let raw = IndexMap::<MapKey, AnyValue>::deserialize(deserializer)?;
    Ok(raw.into_iter().map(|(k, v)| (k.0, v.0)).collect())
}

/// An `env:` block; null means empty, scalar values become strings the way Python prints them.
pub(crate) fn env_map<'de, D: Deserializer<'de>>(deserializer: D) -> Result<EnvMap, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = EnvMap;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping of environment variables")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(EnvMap::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(EnvMap::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = EnvMap::new();
            while let Some(MapKey(key)) = map.next_key()? {
                let EnvValue(value) = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(V)
}

/// An optional boolean (`hidden`, `project_readonly`) accepting `yes`/`no`/`on`/`off`/`0`/`1` too.
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    struct Flag;
    impl<'de> Visitor<'de> for Flag {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
            }
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            match v {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
            }
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse_bool_word(v)
                .map(Some)
                .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    deserializer.deserialize_any(Flag)
}

/// An optional integer setting (`database_max_retries`) also accepting numeric strings.
pub(crate) fn lenient_int<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    struct Int;
    impl<'de> Visitor<'de> for Int {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an integer")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            v.trim()
                .parse()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
    deserializer.deserialize_any(Int)
}

/// A mapping key of any scalar type, as a string (`1: x` gives `"1"`, like Python's JSON dump).
pub(crate) struct MapKey(pub(crate) String);

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MapKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_bool<E>(self, v: bool) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<MapKey, E> {
                Ok(MapKey(python_float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<MapKey, E> {
                Ok(MapKey(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<MapKey, E> {
                Ok(MapKey(v))
            }
            fn visit_unit<E>(self) -> Result<MapKey, E> {
                Ok(MapKey("null".to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl PartialEq for MapKey {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for MapKey {}
impl std::hash::Hash for MapKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// Any YAML value as JSON, with mapping keys stringified at every depth.
pub(crate) struct AnyValue(pub(crate) Value);

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyValueVisitor).map(AnyValue)
    }
}

struct AnyValueVisitor;

impl<'de> Visitor<'de> for AnyValueVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or_else(|| Value::String(v.to_string()), Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(AnyValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(MapKey(k)) = map.next_key()? {
            let v = map.next_value_seed(AnyValueSeed)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

struct AnyValueSeed;

impl<'de> DeserializeSeed<'de> for AnyValueSeed {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(AnyValueVisitor)
    }
}

/// A single value of an `env:` block.
struct EnvValue(String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_bool<E>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(python_bool(v).to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(python_float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<EnvValue, E> {
                Ok(EnvValue(v))
            }
            fn visit_unit<E>(self) -> Result<EnvValue, E> {
                Ok(EnvValue(String::new()))
            }
        }
        deserializer.deserialize_any(V)
    }
}
