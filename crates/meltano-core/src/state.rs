//! Singer state as Meltano keeps it, with no IO: the record stored per state ID, how payloads are
//! written into it, what a tap gets back, and the checks `meltano state` makes on user input.
//!
//! A record holds two payloads, `completed` and `partial`, each `{}` or `{"singer_state": …}`.
//! A complete payload replaces `completed` and empties `partial`; a partial one is deep-merged
//! into `partial`. The state a tap receives is `partial` deep-merged over `completed`
//! ([`StateRecord::merged`]). Input is decoded like Python's `json.loads`, so malformed JSON is
//! reported in Meltano's words ([`loads`]), and [`validate_payload`] and [`check_payload_type`]
//! reproduce the checks Meltano applies before it stores a payload.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::settings::repr::py_json_dumps;

/// The key every valid payload has at its top level.
pub const SINGER_STATE_KEY: &str = "singer_state";

/// How a payload is written into a record (Meltano's `Payload.STATE` / `INCOMPLETE_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// A full state: replaces `completed`, empties `partial`.
    Complete,
    /// Bookmarks to add: deep-merged into `partial`.
    Partial,
}

impl PayloadKind {
    /// The `runs.payload_flags` value Meltano stores for this kind (1 state, 2 incomplete state).
    pub fn flags(self) -> i32 {
        match self {
            PayloadKind::Complete => 1,
            PayloadKind::Partial => 2,
        }
    }
}

/// The state stored for one state ID. A `Null` payload stands for a NULL column, which Meltano
/// leaves behind in a few cases (an import without `partial`, `state set --no-validate null`).
#[derive(Debug, Clone, PartialEq)]
pub struct StateRecord {
    /// The last complete payload.
    pub completed: Value,
    /// Partial payloads received since, merged together.
    pub partial: Value,
}

impl Default for StateRecord {
    fn default() -> Self {
        StateRecord {
            completed: Value::Object(Map::new()),
            partial: Value::Object(Map::new()),
        }
    }
}

impl StateRecord {
    /// The record Meltano creates when the first payload for a state ID arrives.
    pub fn from_payload(payload: Value, kind: PayloadKind) -> StateRecord {
        match kind {
            PayloadKind::Complete => StateRecord {
                completed: payload,
                partial: Value::Object(Map::new()),
            },
            PayloadKind::Partial => StateRecord {
                completed: Value::Object(Map::new()),
                partial: payload,
            },
        }
    }

    /// The effective state: `partial` deep-merged over `completed` (what `state get` prints and
    /// what the tap's `singer_state` comes from).
    pub fn merged(&self) -> Value {
        let mut merged = self.completed.clone();
        if is_truthy(&self.partial) {
            if !merged.is_object() {
                merged = Value::Object(Map::new());
            }
            deep_merge(&mut merged, &self.partial);
        }
        merged
    }

    /// Writes `payload` into an existing record.
    ///
    /// Complete: `completed := payload`, `partial := {}`. Partial: `partial := deep_merge(partial,
    /// payload)`. As in Meltano, an empty (or null) payload counts as partial whatever its kind,
    /// so it leaves the record as it was.
    pub fn apply(&mut self, payload: Value, kind: PayloadKind) {
        if !is_truthy(&payload) {
            return;
        }
        match kind {
            PayloadKind::Complete => {
                self.completed = payload;
                self.partial = Value::Object(Map::new());
            }
            PayloadKind::Partial => {
                if !self.partial.is_object() {
                    self.partial = Value::Object(Map::new());
                }
                deep_merge(&mut self.partial, &payload);
            }
        }
    }

    /// The record as `meltano state export` writes it: `{"completed": …, "partial": …}`.
    pub fn to_export(&self) -> Value {
        let mut map = Map::new();
        map.insert("completed".to_string(), self.completed.clone());
        map.insert("partial".to_string(), self.partial.clone());
        Value::Object(map)
    }
}

/// Merges `overlay` into `base` at depth, as Meltano's `merge`: objects key by key (keys new to
/// `base` appended in `overlay`'s order), anything else in `overlay` replacing what `base` had.
/// Where Python would fail (an object over a list or scalar) the object replaces it.
pub fn deep_merge(base: &mut Value, overlay: &Value) {
    let Value::Object(overlay) = overlay else {
        *base = overlay.clone();
        return;
    };
    if !base.is_object() {
        *base = Value::Object(Map::new());
    }
    let Value::Object(base) = base else {
        return;
    };
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => deep_merge(existing, value),
            // Python's `setdefault` keeps what was there, and merging nothing into it changes nothing.
            (Some(_), Value::Object(m)) if m.is_empty() => {}
            (Some(existing), _) => *existing = value.clone(),
            (None, _) => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

pub use crate::python::{is_truthy, type_name as python_type_name};

/// Why a payload was refused, in Meltano's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload has no top-level `singer_state`.
    #[error("singer_state not found in top level of provided state")]
    MissingSingerState,
    /// The payload is a scalar Python cannot look a key up in.
    #[error("argument of type '{0}' is not iterable")]
    NotIterable(&'static str),
    /// The payload is not an object, so Meltano cannot store it.
    #[error("Attribute '{attribute}' does not accept objects of type <class '{type_name}'>")]
    NotAnObject {
        /// The column Meltano was filling (`payload`, `completed_state`, `partial_state`).
        attribute: &'static str,
        /// Python's name for the payload's type.
        type_name: &'static str,
    },
}

/// Meltano's `validate_state`: `"singer_state" in payload`, with Python's meaning of `in` for
/// lists (an element) and strings (a substring).
pub fn validate_payload(payload: &Value) -> Result<(), PayloadError> {
    let found = match payload {
        Value::Object(map) => map.contains_key(SINGER_STATE_KEY),
        Value::Array(items) => items.iter().any(|v| v.as_str() == Some(SINGER_STATE_KEY)),
        Value::String(s) => s.contains(SINGER_STATE_KEY),
        scalar => return Err(PayloadError::NotIterable(python_type_name(scalar))),
    };
    if found {
        Ok(())
    } else {
        Err(PayloadError::MissingSingerState)
    }
}

/// Whether Meltano can store `value` in the column `attribute`: an object or null only.
pub fn check_payload_type(value: &Value, attribute: &'static str) -> Result<(), PayloadError> {
    match value {
        Value::Object(_) | Value::Null => Ok(()),
        other => Err(PayloadError::NotAnObject {
            attribute,
            type_name: python_type_name(other),
        }),
    }
}

/// Python's `==` on decoded JSON: objects ignore key order, `1 == 1.0` and `true == 1`.
pub fn py_equal(a: &Value, b: &Value) -> bool {
    fn numeric(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !x.is_f64() && !y.is_f64() => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(_) | Value::Bool(_), Value::Number(_) | Value::Bool(_)) => {
            numeric(a) == numeric(b)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| py_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|other| py_equal(v, other)))
        }
        _ => a == b,
    }
}

/// Python's `json.dumps(value, separators=(",", ":"))`: one line, no spaces, non-ASCII escaped.
/// `state get` and `state export` print this.
pub fn dumps_compact(value: &Value) -> String {
    fn write(out: &mut String, value: &Value) {
        match value {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(out, item);
                }
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&py_json_dumps(&Value::String(key.clone())));
                    out.push(':');
                    write(out, item);
                }
                out.push('}');
            }
            scalar => out.push_str(&py_json_dumps(scalar)),
        }
    }
    let mut out = String::new();
    write(&mut out, value);
    out
}

/// The parts of a state ID made by `meltano run`: `<environment>:<extractor>-to-<loader>[:<suffix>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateIdParts<'a> {
    pub environment: &'a str,
    pub extractor: &'a str,
    pub loader: &'a str,
    pub suffix: Option<&'a str>,
}

/// Splits a state ID the way `meltano state` recognises one made by `meltano run` (Meltano's
/// regex `^(?P<env>.+):(?P<tap>.+)-to-(?P<target>.+?)(?::(?P<suffix>.+))?(?<=[^:])$`: the last
/// `:` that leaves a valid rest, the last `-to-`, the shortest loader name).
pub fn parse_state_id(id: &str) -> Option<StateIdParts<'_>> {
    // `$` also matches before a final newline; `.` matches no other newline.
    let id = id.strip_suffix('\n').unwrap_or(id);
    if id.contains('\n') || id.ends_with(':') {
        return None;
    }
    let colons: Vec<usize> = id.match_indices(':').map(|(i, _)| i).collect();
    for &colon in colons.iter().rev().filter(|i| **i > 0) {
        let environment = &id[..colon];
        let rest = &id[colon + 1..];
        // Every `-to-`, overlapping ones included, last first.
        let separators: Vec<usize> = (1..rest.len())
            .filter(|i| rest.is_char_boundary(*i) && rest[*i..].starts_with("-to-"))
            .collect();
        for &separator in separators.iter().rev() {
            let extractor = &rest[..separator];
            let after = &rest[separator + 4..];
            let ends = after
                .char_indices()
                .skip(1)
                .map(|(i, _)| i)
                .chain(std::iter::once(after.len()))
                .filter(|_| !after.is_empty());
            for end in ends {
                if end < after.len() - 1 && after[end..].starts_with(':') {
                    return Some(StateIdParts {
                        environment,
                        extractor,
                        loader: &after[..end],
                        suffix: Some(&after[end + 1..]),
                    });
                }
                if end == after.len() {
                    return Some(StateIdParts {
                        environment,
                        extractor,
                        loader: after,
                        suffix: None,
                    });
                }
            }
        }
    }
    None
}

/// A document Python's `json.loads` would refuse, with its message and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonDecodeError {
    /// What was expected, e.g. `Expecting ',' delimiter`.
    pub message: &'static str,
    /// Where, in characters from the start.
    pub pos: usize,
    /// 1-based line of `pos`.
    pub line: usize,
    /// 1-based column of `pos`.
    pub column: usize,
}

impl fmt::Display for JsonDecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: line {} column {} (char {})",
            self.message, self.line, self.column, self.pos
        )
    }
}

impl std::error::Error for JsonDecodeError {}

/// Decodes `text` as Python's `json.loads` does, failing with its exact message.
///
/// `NaN`, `Infinity` and floats too large for a double decode in Python but have no JSON value
/// here; a document that is otherwise valid fails on them with `Out of range float values are
/// not JSON compliant`. Integers beyond 64 bits become the nearest double.
pub fn loads(text: &str) -> Result<Value, JsonDecodeError> {
    let chars: Vec<char> = text.chars().collect();
    let decoder = Decoder {
        s: &chars,
        out_of_range: std::cell::Cell::new(None),
    };
    if chars.first() == Some(&'\u{feff}') {
        return Err(decoder.error("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0));
    }
    let start = decoder.skip_ws(0);
    let (value, end) = decoder.scan(start).map_err(|e| decoder.failure_error(e))?;
    let end = decoder.skip_ws(end);
    if end != chars.len() {
        return Err(decoder.error("Extra data", end));
    }
    // Python decodes these; only a document that is otherwise valid gets this far.
    if let Some(pos) = decoder.out_of_range.get() {
        return Err(decoder.error(OUT_OF_RANGE, pos));
    }
    Ok(value)
}

/// A failure inside the decoder: Python's `StopIteration` (no value where one was expected)
/// or a message at a position.
enum Failure {
    NoValue(usize),
    At(&'static str, usize),
}

/// A port of CPython 3.11's `_json` scanner: the same grammar, positions and messages.
struct Decoder<'a> {
    s: &'a [char],
    /// Where the first number that has no JSON value (`NaN`, `1e999`) starts.
    out_of_range: std::cell::Cell<Option<usize>>,
}

impl Decoder<'_> {
    fn error(&self, message: &'static str, pos: usize) -> JsonDecodeError {
        let before = &self.s[..pos.min(self.s.len())];
        let line = before.iter().filter(|c| **c == '\n').count() + 1;
        let column = match before.iter().rposition(|c| *c == '\n') {
            Some(newline) => pos - newline,
            None => pos + 1,
        };
        JsonDecodeError {
            message,
            pos,
            line,
            column,
        }
    }

    fn failure_error(&self, failure: Failure) -> JsonDecodeError {
        match failure {
            Failure::NoValue(pos) => self.error("Expecting value", pos),
            Failure::At(message, pos) => self.error(message, pos),
        }
    }

    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    fn follows(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// One value starting exactly at `i`; returns it and the index after it.
    fn scan(&self, i: usize) -> Result<(Value, usize), Failure> {
        match self.at(i) {
            None => Err(Failure::NoValue(i)),
            Some('"') => self.string(i + 1).map(|(s, end)| (Value::String(s), end)),
            Some('{') => self.object(i + 1),
            Some('[') => self.array(i + 1),
            Some('n') if self.follows(i, "null") => Ok((Value::Null, i + 4)),
            Some('t') if self.follows(i, "true") => Ok((Value::Bool(true), i + 4)),
            Some('f') if self.follows(i, "false") => Ok((Value::Bool(false), i + 5)),
            Some('N') if self.follows(i, "NaN") => Ok(self.out_of_range(i, i + 3)),
            Some('I') if self.follows(i, "Infinity") => Ok(self.out_of_range(i, i + 8)),
            Some('-') if self.follows(i, "-Infinity") => Ok(self.out_of_range(i, i + 9)),
            Some(_) => self.number(i),
        }
    }

    fn number(&self, start: usize) -> Result<(Value, usize), Failure> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('1'..='9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some('0') => i += 1,
            _ => return Err(Failure::NoValue(start)),
        }
        let mut is_float = false;
        if self.at(i) == Some('.') && digit(i + 1) {
            is_float = true;
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        // An exponent needs at least one character after the `e` (CPython checks `idx < end_idx`).
        if matches!(self.at(i), Some('e' | 'E')) && i + 1 < self.s.len() {
            let e_start = i;
            i += 1;
            if matches!(self.at(i), Some('-' | '+')) && i + 1 < self.s.len() {
                i += 1;
            }
            while digit(i) {
                i += 1;
            }
            if digit(i - 1) {
                is_float = true;
            } else {
                i = e_start;
            }
        }
        let text: String = self.s[start..i].iter().collect();
        let number = if is_float {
            text.parse::<f64>().ok().and_then(Number::from_f64)
        } else if let Ok(n) = text.parse::<i64>() {
            Some(Number::from(n))
        } else if let Ok(n) = text.parse::<u64>() {
            Some(Number::from(n))
        } else {
            // Python keeps big integers exactly; the nearest double is the best a JSON value can hold.
            text.parse::<f64>().ok().and_then(Number::from_f64)
        };
        match number {
            Some(n) => Ok((Value::Number(n), i)),
            None => Ok(self.out_of_range(start, i)),
        }
    }

    /// Notes a number JSON cannot hold and stands in for it until decoding ends.
    fn out_of_range(&self, start: usize, end: usize) -> (Value, usize) {
        if self.out_of_range.get().is_none() {
            self.out_of_range.set(Some(start));
        }
        (Value::Null, end)
    }

    /// A string whose opening quote is at `end - 1`.
    fn string(&self, mut end: usize) -> Result<(String, usize), Failure> {
        let begin = end - 1;
        let len = self.s.len();
        let mut out = String::new();
        loop {
            let mut next = end;
            let mut terminator = None;
            while next < len {
                let c = self.s[next];
                if c == '"' || c == '\\' {
                    terminator = Some(c);
                    break;
                }
                if u32::from(c) <= 0x1f {
                    return Err(Failure::At("Invalid control character at", next));
                }
                next += 1;
            }
            let Some(terminator) = terminator else {
                return Err(Failure::At("Unterminated string starting at", begin));
            };
            out.extend(&self.s[end..next]);
            next += 1;
            if terminator == '"' {
                return Ok((out, next));
            }
            let Some(escape) = self.at(next) else {
                return Err(Failure::At("Unterminated string starting at", begin));
            };
            if escape != 'u' {
                end = next + 1;
                let c = match escape {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    _ => return Err(Failure::At("Invalid \\escape", end - 2)),
                };
                out.push(c);
                continue;
            }
            next += 1;
            end = next + 4;
            if end >= len {
                return Err(Failure::At("Invalid \\uXXXX escape", next - 1));
            }
            let mut code = self
                .hex4(next)
                .ok_or(Failure::At("Invalid \\uXXXX escape", end - 5))?;
            if (0xd800..0xdc00).contains(&code)
                && end + 6 < len
                && self.s[end] == '\\'
                && self.s[end + 1] == 'u'
            {
                let low = self
                    .hex4(end + 2)
                    .ok_or(Failure::At("Invalid \\uXXXX escape", end + 1))?;
                if (0xdc00..0xe000).contains(&low) {
                    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                    end += 6;
                }
            }
            // A lone surrogate is a valid Python string but no Rust one.
            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut code = 0;
        for k in 0..4 {
            code = code * 16 + self.at(at + k)?.to_digit(16)?;
        }
        Some(code)
    }

    /// An object whose `{` is at `i - 1`.
    fn object(&self, i: usize) -> Result<(Value, usize), Failure> {
        let mut map = Map::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some('}') {
            return Ok((Value::Object(map), i + 1));
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(Failure::At(
                    "Expecting property name enclosed in double quotes",
                    i,
                ));
            }
            let (key, next) = self.string(i + 1)?;
            i = self.skip_ws(next);
            if self.at(i) != Some(':') {
                return Err(Failure::At("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            let (value, next) = self.scan(i)?;
            // Python's dict keeps the first position of a repeated key and its last value.
            map.insert(key, value);
            i = self.skip_ws(next);
            match self.at(i) {
                Some('}') => return Ok((Value::Object(map), i + 1)),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Failure::At("Expecting ',' delimiter", i)),
            }
        }
    }

    /// An array whose `[` is at `i - 1`.
    fn array(&self, i: usize) -> Result<(Value, usize), Failure> {
        let mut items = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(']') {
            return Ok((Value::Array(items), i + 1));
        }
        loop {
            let (value, next) = self.scan(i)?;
            items.push(value);
            i = self.skip_ws(next);
            match self.at(i) {
                Some(']') => return Ok((Value::Array(items), i + 1)),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Failure::At("Expecting ',' delimiter", i)),
            }
        }
    }
}

/// Our message for the numbers Python decodes but JSON cannot hold (`NaN`, `Infinity`, `1e999`).
const OUT_OF_RANGE: &str = "Out of range float values are not JSON compliant";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn merged_puts_partial_over_completed() {
        let record = StateRecord {
            completed: json!({"singer_state": {"bookmarks": {"a": {"x": 1}, "b": {"y": 1}}}}),
            partial: json!({"singer_state": {"bookmarks": {"b": {"y": 2}, "c": [1]}}}),
        };
        assert_eq!(
            dumps_compact(&record.merged()),
            r#"{"singer_state":{"bookmarks":{"a":{"x":1},"b":{"y":2},"c":[1]}}}"#
        );
    }

    #[test]
    fn merged_of_null_columns() {
        let record = StateRecord {
            completed: Value::Null,
            partial: json!({}),
        };
        assert_eq!(record.merged(), Value::Null);
        let record = StateRecord {
            completed: json!({"singer_state": {"a": 1}}),
            partial: Value::Null,
        };
        assert_eq!(record.merged(), json!({"singer_state": {"a": 1}}));
        let record = StateRecord {
            completed: Value::Null,
            partial: json!({"singer_state": {"a": 1}}),
        };
        assert_eq!(record.merged(), json!({"singer_state": {"a": 1}}));
    }

    #[test]
    fn lists_and_scalars_are_replaced() {
        let mut base = json!({"a": [1, 2], "b": {"c": 1}, "d": 1});
        deep_merge(&mut base, &json!({"a": [3], "b": 5, "d": {"e": 1}}));
        assert_eq!(base, json!({"a": [3], "b": 5, "d": {"e": 1}}));
    }

    #[test]
    fn empty_object_in_overlay_creates_a_key_but_clears_nothing() {
        let mut base = json!({"a": {"x": 1}});
        deep_merge(&mut base, &json!({"a": {}, "b": {}}));
        assert_eq!(base, json!({"a": {"x": 1}, "b": {}}));
    }

    #[test]
    fn complete_payload_replaces_and_clears_partial() {
        let mut record = StateRecord {
            completed: json!({"singer_state": {"a": 1}}),
            partial: json!({"singer_state": {"b": 1}}),
        };
        record.apply(json!({"singer_state": {"c": 1}}), PayloadKind::Complete);
        assert_eq!(record.completed, json!({"singer_state": {"c": 1}}));
        assert_eq!(record.partial, json!({}));
    }

    #[test]
    fn partial_payload_merges_into_partial_only() {
        let mut record = StateRecord {
            completed: json!({"singer_state": {"a": 1}}),
            partial: json!({"singer_state": {"b": {"x": 1}}}),
        };
        record.apply(
            json!({"singer_state": {"b": {"y": 2}}}),
            PayloadKind::Partial,
        );
        assert_eq!(record.completed, json!({"singer_state": {"a": 1}}));
        assert_eq!(
            record.partial,
            json!({"singer_state": {"b": {"x": 1, "y": 2}}})
        );
    }

    #[test]
    fn empty_complete_payload_changes_nothing() {
        let before = StateRecord {
            completed: json!({"a": 1}),
            partial: Value::Null,
        };
        let mut record = before.clone();
        record.apply(json!({}), PayloadKind::Complete);
        record.apply(Value::Null, PayloadKind::Complete);
        assert_eq!(record, before);
        assert_eq!(
            StateRecord::from_payload(Value::Null, PayloadKind::Complete),
            StateRecord {
                completed: Value::Null,
                partial: json!({})
            }
        );
    }

    #[test]
    fn validation_follows_python_in() {
        assert_eq!(validate_payload(&json!({"singer_state": {}})), Ok(()));
        assert_eq!(
            validate_payload(&json!({"a": 1})),
            Err(PayloadError::MissingSingerState)
        );
        assert_eq!(validate_payload(&json!(["singer_state"])), Ok(()));
        assert_eq!(validate_payload(&json!("my singer_state")), Ok(()));
        assert_eq!(
            validate_payload(&json!([1])),
            Err(PayloadError::MissingSingerState)
        );
        assert_eq!(
            validate_payload(&json!(5)).unwrap_err().to_string(),
            "argument of type 'int' is not iterable"
        );
        assert_eq!(
            validate_payload(&Value::Null).unwrap_err().to_string(),
            "argument of type 'NoneType' is not iterable"
        );
        assert_eq!(
            check_payload_type(&json!([1]), "payload")
                .unwrap_err()
                .to_string(),
            "Attribute 'payload' does not accept objects of type <class 'list'>"
        );
        assert_eq!(check_payload_type(&Value::Null, "payload"), Ok(()));
    }

    #[test]
    fn state_ids_are_split_like_meltano() {
        let parts =
            |id| parse_state_id(id).map(|p| (p.environment, p.extractor, p.loader, p.suffix));
        assert_eq!(
            parts("dev:tap-x-to-target-y"),
            Some(("dev", "tap-x", "target-y", None))
        );
        assert_eq!(
            parts("dev:tap-x-to-target-y:sfx:2"),
            Some(("dev", "tap-x", "target-y", Some("sfx:2")))
        );
        assert_eq!(parts("a:b:c-to-d"), Some(("a:b", "c", "d", None)));
        assert_eq!(parts("dev:a-to-b-to-c"), Some(("dev", "a-to-b", "c", None)));
        assert_eq!(parts("dev:a-to-to-b"), Some(("dev", "a-to", "b", None)));
        assert_eq!(parts("a:b:-to-c"), Some(("a", "b:", "c", None)));
        assert_eq!(parts("dev:x-to-y\n"), Some(("dev", "x", "y", None)));
        assert_eq!(parts("dév:é-to-ü:ß"), Some(("dév", "é", "ü", Some("ß"))));
        for id in [
            "foo",
            "dev:tap-to-",
            "dev:-to-x",
            ":a-to-b",
            "dev:a-to-b:",
            "dev:a-to-b\nc",
            "2024-01-01T000000--tap--target",
        ] {
            assert_eq!(parse_state_id(id), None, "{id}");
        }
    }

    #[test]
    fn python_equality() {
        assert!(py_equal(
            &json!({"a": 1, "b": 2}),
            &json!({"b": 2, "a": 1.0})
        ));
        assert!(py_equal(&json!([true]), &json!([1])));
        assert!(!py_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(!py_equal(&json!({"a": 1}), &json!({"a": "1"})));
    }

    #[test]
    fn compact_dumps_like_python() {
        // python3 -c 'import json; print(json.dumps({"a": [1, 2.5, None, True], "é": "\u2603\n"}, separators=(",", ":")))'
        assert_eq!(
            dumps_compact(&json!({"a": [1, 2.5, null, true], "é": "\u{2603}\n"})),
            r#"{"a":[1,2.5,null,true],"\u00e9":"\u2603\n"}"#
        );
        assert_eq!(dumps_compact(&json!(1e16)), "1e+16");
    }

    /// Each message below was produced by Python 3.11's `json.loads` on the same input.
    #[test]
    fn decode_errors_match_python() {
        let cases: &[(&str, &str)] = &[
            ("", "Expecting value: line 1 column 1 (char 0)"),
            ("  ", "Expecting value: line 1 column 3 (char 2)"),
            (
                "{bad",
                "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            ),
            (
                "{\"a\" 1}",
                "Expecting ':' delimiter: line 1 column 6 (char 5)",
            ),
            (
                "{\"a\": 1 \"b\": 2}",
                "Expecting ',' delimiter: line 1 column 9 (char 8)",
            ),
            (
                "{\"a\": 1,}",
                "Expecting property name enclosed in double quotes: line 1 column 9 (char 8)",
            ),
            ("[1,]", "Expecting value: line 1 column 4 (char 3)"),
            ("[1 2]", "Expecting ',' delimiter: line 1 column 4 (char 3)"),
            ("{}\n{}", "Extra data: line 2 column 1 (char 3)"),
            ("01", "Extra data: line 1 column 2 (char 1)"),
            (
                "\"abc",
                "Unterminated string starting at: line 1 column 1 (char 0)",
            ),
            (
                "\"a\tb\"",
                "Invalid control character at: line 1 column 3 (char 2)",
            ),
            ("\"\\x\"", "Invalid \\escape: line 1 column 2 (char 1)"),
            (
                "\"\\u12\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            (
                "\"\\u12x4\"",
                "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
            ),
            ("[\n  tru\n]", "Expecting value: line 2 column 3 (char 4)"),
            ("-", "Expecting value: line 1 column 1 (char 0)"),
            (
                "\u{feff}{}",
                "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
            ("{\"é\": x}", "Expecting value: line 1 column 7 (char 6)"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                loads(input).unwrap_err().to_string(),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn decodes_what_python_decodes() {
        assert_eq!(
            loads(" {\"a\": [1, -2.5e3, 1E2, 0, true, false, null, \"\\u00e9\\ud83d\\ude00\\n\"], \"a\": 2} ")
                .unwrap(),
            json!({"a": 2})
        );
        assert_eq!(
            loads("[1, -2.5e3, 1E2, 0, \"\\u00e9\\ud83d\\ude00\\/\"]").unwrap(),
            json!([1, -2500.0, 100.0, 0, "é😀/"])
        );
        assert_eq!(loads("1.5").unwrap(), json!(1.5));
        assert_eq!(
            loads("12e").unwrap_err().to_string(),
            "Extra data: line 1 column 3 (char 2)"
        );
        assert!(loads("NaN").is_err());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::vec(("[a-d]", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = Value> {
        prop::collection::vec(("[a-d]", json_value()), 0..4)
            .prop_map(|entries| Value::Object(entries.into_iter().collect()))
    }

    /// Every path of `value` down to a non-object leaf (empty objects count as leaves).
    fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Value)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    path.push(k.clone());
                    leaves(v, path, out);
                    path.pop();
                }
            }
            other => out.push((path.clone(), other.clone())),
        }
    }

    fn lookup<'a>(value: &'a Value, path: &[String]) -> Option<&'a Value> {
        path.iter().try_fold(value, |v, k| v.get(k))
    }

    proptest! {
        #[test]
        fn merge_with_empty_is_identity(base in json_object()) {
            let mut merged = base.clone();
            deep_merge(&mut merged, &json!({}));
            prop_assert_eq!(&merged, &base);
            let mut onto_empty = json!({});
            deep_merge(&mut onto_empty, &base);
            prop_assert_eq!(onto_empty, base);
        }

        #[test]
        fn merge_is_idempotent(base in json_object(), overlay in json_object()) {
            let mut once = base.clone();
            deep_merge(&mut once, &overlay);
            let mut twice = once.clone();
            deep_merge(&mut twice, &overlay);
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn overlay_wins_at_every_leaf(base in json_object(), overlay in json_object()) {
            let mut merged = base.clone();
            deep_merge(&mut merged, &overlay);
            let mut found = Vec::new();
            leaves(&overlay, &mut Vec::new(), &mut found);
            for (path, leaf) in found {
                let got = lookup(&merged, &path);
                prop_assert!(got.is_some(), "path {:?} lost", path);
                if !leaf.as_object().is_some_and(|m| m.is_empty()) {
                    prop_assert_eq!(got, Some(&leaf));
                }
            }
        }

        #[test]
        fn base_keys_survive(base in json_object(), overlay in json_object()) {
            let mut merged = base.clone();
            deep_merge(&mut merged, &overlay);
            let (Value::Object(base), Value::Object(merged)) = (&base, &merged) else {
                unreachable!()
            };
            for key in base.keys() {
                prop_assert!(merged.contains_key(key));
            }
            // Keys keep their first position; new keys follow.
            let order: Vec<&String> = merged.keys().take(base.len()).collect();
            prop_assert_eq!(order, base.keys().collect::<Vec<_>>());
        }

        #[test]
        fn partials_accumulate_and_leave_completed_alone(
            completed in json_object(), p1 in json_object(), p2 in json_object()
        ) {
            let wrap = |v: Value| json!({"singer_state": v});
            let mut record = StateRecord::from_payload(wrap(completed.clone()), PayloadKind::Complete);
            record.apply(wrap(p1.clone()), PayloadKind::Partial);
            record.apply(wrap(p2.clone()), PayloadKind::Partial);
            let mut partial = json!({});
            deep_merge(&mut partial, &wrap(p1));
            deep_merge(&mut partial, &wrap(p2));
            prop_assert_eq!(&record.completed, &wrap(completed.clone()));
            prop_assert_eq!(&record.partial, &partial);
            let mut merged = wrap(completed);
            deep_merge(&mut merged, &partial);
            prop_assert_eq!(record.merged(), merged);
            record.apply(json!({"singer_state": {"z": 1}}), PayloadKind::Complete);
            prop_assert_eq!(record.merged(), json!({"singer_state": {"z": 1}}));
        }

        #[test]
        fn compact_dumps_round_trip(value in json_value()) {
            prop_assert_eq!(loads(&dumps_compact(&value)).unwrap(), value.clone());
            prop_assert_eq!(loads(&py_json_dumps(&value)).unwrap(), value);
        }
    }
}
