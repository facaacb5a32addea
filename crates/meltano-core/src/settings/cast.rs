//! Turning strings (from the environment, `.env`, `config set`, or string-valued YAML) into values
//! of a setting's kind, with Meltano's rules and error messages.
//!
//! Only strings are cast: a YAML `port: 5432` is already an integer, while `port: "5432"` becomes
//! one. Values of kind `options` must be one of the option values, whatever their type.

use serde_json::{Map, Number, Value};

use super::repr::{py_repr_str, py_str};
use super::spec::{Kind, SettingSpec};

/// Why a value does not fit its setting's kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CastError {
    /// Not a base-10 integer (Python's `int()` message).
    #[error("invalid literal for int() with base 10: {}", py_repr_str(.0))]
    Integer(String),
    /// An integer beyond what a 64-bit value holds.
    #[error("integer out of range: {}", py_repr_str(.0))]
    IntegerRange(String),
    /// Not a finite decimal number.
    #[error("invalid literal for Decimal: {}", py_repr_str(.0))]
    Decimal(String),
    /// Neither JSON nor a Python literal of the expected shape (`kind` is `array` or `object`).
    #[error("Failed to parse JSON {kind} from string: {}", py_repr_str(.raw))]
    Json { kind: &'static str, raw: String },
    /// Not one of an `options` setting's values.
    #[error("'{}' is not a valid choice for '{name}'", py_str(.value))]
    Choice { value: Value, name: String },
}

/// Casts a raw string by the setting's kind: boolean (`true`/`1`/`yes`/`on`, any case, else
/// false), integer, decimal, array/object (JSON, else a Python literal), options (checked);
/// other kinds stay strings.
pub fn cast(spec: &SettingSpec, raw: &str) -> Result<Value, CastError> {
    let value = match spec.kind {
        Some(Kind::Boolean) => Value::Bool(truthy(raw)),
        Some(Kind::Integer) => parse_int(raw)?,
        Some(Kind::Decimal) => parse_decimal(raw)?,
        Some(Kind::Array) => parse_collection(raw, "array")?,
        Some(Kind::Object) => parse_collection(raw, "object")?,
        _ => Value::String(raw.to_string()),
    };
    check_choice(spec, value)
}

/// Casts a value from meltano.yml, a default or the database: strings as [`cast`], anything else
/// unchanged (but still checked against `options`).
pub fn cast_value(spec: &SettingSpec, v: &Value) -> Result<Value, CastError> {
    match v {
        Value::String(s) => cast(spec, s),
        other => check_choice(spec, other.clone()),
    }
}

/// Meltano's truthiness of a string: lower-cased, one of `true`, `1`, `yes`, `on` (no trimming).
pub fn truthy(raw: &str) -> bool {
    matches!(raw.to_lowercase().as_str(), "true" | "1" | "yes" | "on")
}

fn check_choice(spec: &SettingSpec, value: Value) -> Result<Value, CastError> {
    if spec.kind == Some(Kind::Options)
        && !value.is_null()
        && !spec.options.iter().any(|o| py_eq(&o.value, &value))
    {
        return Err(CastError::Choice {
            value,
            name: spec.name.clone(),
        });
    }
    Ok(value)
}

/// Python's `==` on JSON-like values: numbers compare by value and `True == 1`.
fn py_eq(a: &Value, b: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !x.is_f64() && !y.is_f64() => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| py_eq(p, q)))
        }
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// Digits with single `_` between them, as Python's `int()` and `Decimal()` accept.
fn digits_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

fn parse_int(raw: &str) -> Result<Value, CastError> {
    let t = raw.trim();
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits_ok(body) {
        return Err(CastError::Integer(raw.to_string()));
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let number = if negative {
        format!("-{digits}").parse::<i64>().ok().map(Number::from)
    } else {
        digits.parse::<u64>().ok().map(Number::from)
    };
    number
        .map(Value::Number)
        .ok_or_else(|| CastError::IntegerRange(raw.to_string()))
}

/// Python's `Decimal()` syntax, as a JSON number (integral input without point or exponent stays
/// an integer when it fits). NaN and infinities have no JSON form and are rejected.
fn parse_decimal(raw: &str) -> Result<Value, CastError> {
    let err = || CastError::Decimal(raw.to_string());
    let t = raw.trim();
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let int_ok = int_part.is_empty() || digits_ok(int_part);
    let frac_ok = frac_part.is_none_or(|f| f.is_empty() || digits_ok(f));
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    let exp_ok = exponent.is_none_or(|e| digits_ok(e.strip_prefix(['+', '-']).unwrap_or(e)));
    if !(int_ok && frac_ok && has_digits && exp_ok) {
        return Err(err());
    }
    let clean: String = t.chars().filter(|c| *c != '_').collect();
    if frac_part.is_none() && exponent.is_none() {
        if let Ok(i) = clean.parse::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = clean.trim_start_matches('+').parse::<u64>() {
            return Ok(Value::from(u));
        }
    }
    let f: f64 = clean.parse().map_err(|_| err())?;
    Number::from_f64(f).map(Value::Number).ok_or_else(err)
}

/// JSON first, then a Python literal (`['a', 'b']`, `{'a': 1}`, `(1,)`); must give a list (or
/// tuple) for `array` and a dict for `object`.
fn parse_collection(raw: &str, kind: &'static str) -> Result<Value, CastError> {
    let err = || CastError::Json {
        kind,
        raw: raw.to_string(),
    };
    let parsed = serde_json::from_str::<Value>(raw)
        .ok()
        .or_else(|| PyLiteral::parse(raw))
        .ok_or_else(err)?;
    match (kind, &parsed) {
        ("array", Value::Array(_)) | ("object", Value::Object(_)) => Ok(parsed),
        _ => Err(err()),
    }
}

/// A parser for the Python literals `ast.literal_eval` accepts that have a JSON form: strings,
/// numbers, `True`/`False`/`None`, lists, tuples (as arrays) and dicts.
struct PyLiteral<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> PyLiteral<'a> {
    fn parse(s: &'a str) -> Option<Value> {
        let mut p = PyLiteral { s, pos: 0 };
        let v = p.value()?;
        p.ws();
        (p.pos == s.len()).then_some(v)
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        match self.peek()? {
            '[' => {
                self.pos += 1;
                self.items(']').map(Value::Array)
            }
            '(' => {
                self.pos += 1;
                self.tuple()
            }
            '{' => {
                self.pos += 1;
                self.dict()
            }
            '\'' | '"' => {
                let mut out = self.string()?;
                // Adjacent literals concatenate: 'a' "b" == 'ab'.
                loop {
                    self.ws();
                    match self.peek() {
                        Some('\'' | '"') => out.push_str(&self.string()?),
                        _ => break,
                    }
                }
                Some(Value::String(out))
            }
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.pos += 1;
                self.ws();
                let n = self.number()?;
                if !negative {
                    return Some(n);
                }
                match n {
                    Value::Number(n) if n.is_u64() => n
                        .as_u64()
                        .and_then(|u| i64::try_from(u).ok())
                        .map(|i| Value::from(-i))
                        .or_else(|| {
                            n.as_f64()
                                .and_then(|f| Number::from_f64(-f))
                                .map(Value::Number)
                        }),
                    Value::Number(n) => n
                        .as_f64()
                        .and_then(|f| Number::from_f64(-f))
                        .map(Value::Number),
                    _ => None,
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => {
                let word: String = self
                    .rest()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let v = match word.as_str() {
                    "True" => Value::Bool(true),
                    "False" => Value::Bool(false),
                    "None" => Value::Null,
                    _ => return None,
                };
                self.pos += word.len();
                Some(v)
            }
        }
    }

    /// Comma-separated values up to `close`, trailing comma allowed.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                return self.eat(close).then_some(items);
            }
        }
    }

    /// After `(`: `()` and `(a,)` are tuples, `(a)` is just `a`.
    fn tuple(&mut self) -> Option<Value> {
        if self.eat(')') {
            return Some(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        if self.eat(')') {
            return Some(first);
        }
        if !self.eat(',') {
            return None;
        }
        let mut rest = self.items(')')?;
        rest.insert(0, first);
        Some(Value::Array(rest))
    }

    fn dict(&mut self) -> Option<Value> {
        let mut map = Map::new();
        loop {
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let key = match self.value()? {
                Value::String(s) => s,
                Value::Null => "null".to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => py_str(&Value::Number(n)),
                _ => return None,
            };
            if !self.eat(':') {
                return None;
            }
            let value = self.value()?;
            map.insert(key, value);
            if !self.eat(',') {
                return self.eat('}').then(|| Value::Object(map));
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .take_while(|&(i, c)| {
                c.is_ascii_alphanumeric()
                    || c == '_'
                    || c == '.'
                    || ((c == '+' || c == '-')
                        && i > 0
                        && matches!(rest.as_bytes()[i - 1], b'e' | b'E')
                        && !rest[..i].starts_with("0x")
                        && !rest[..i].starts_with("0X"))
            })
            .map(|(_, c)| c.len_utf8())
            .sum();
        let text = &rest[..len];
        self.pos += len;
        let lower = text.to_ascii_lowercase();
        let radix = [("0x", 16), ("0o", 8), ("0b", 2)]
            .into_iter()
            .find(|(p, _)| lower.starts_with(p));
        if let Some((prefix, radix)) = radix {
            let body = lower[prefix.len()..]
                .strip_prefix('_')
                .unwrap_or(&lower[prefix.len()..]);
            if body.is_empty() || body.ends_with('_') || body.contains("__") {
                return None;
            }
            let digits: String = body.chars().filter(|c| *c != '_').collect();
            return u64::from_str_radix(&digits, radix).ok().map(Value::from);
        }
        let is_float = lower.contains(['.', 'e']);
        if !is_float {
            // Python forbids leading zeros in non-zero integer literals.
            if !digits_ok(text)
                || (text.len() > 1
                    && text.starts_with('0')
                    && text.bytes().any(|b| b != b'0' && b != b'_'))
            {
                return None;
            }
            let digits: String = text.chars().filter(|c| *c != '_').collect();
            return digits.parse::<u64>().ok().map(Value::from);
        }
        match parse_decimal(text) {
            Ok(Value::Number(n)) => n.as_f64().and_then(Number::from_f64).map(Value::Number),
            _ => None,
        }
    }

    /// A quoted string (after optional whitespace), with Python's escapes.
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        let triple: String = std::iter::repeat_n(quote, 3).collect();
        let is_triple = self.rest().starts_with(&triple);
        self.pos += if is_triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let rest = self.rest();
            if is_triple && rest.starts_with(&triple) {
                self.pos += 3;
                return Some(out);
            }
            let c = rest.chars().next()?;
            self.pos += c.len_utf8();
            match c {
                _ if c == quote && !is_triple => return Some(out),
                '\n' if !is_triple => return None,
                '\\' => {
                    let e = self.rest().chars().next()?;
                    self.pos += e.len_utf8();
                    match e {
                        '\n' => {}
                        '\\' | '\'' | '"' => out.push(e),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        '0'..='7' => {
                            let mut code = e.to_digit(8)?;
                            for _ in 0..2 {
                                match self.peek().and_then(|d| d.to_digit(8)) {
                                    Some(d) => {
                                        code = code * 8 + d;
                                        self.pos += 1;
                                    }
                                    None => break,
                                }
                            }
                            out.push(char::from_u32(code)?);
                        }
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let hex = self.rest().get(..n)?;
                            let code = u32::from_str_radix(hex, 16).ok()?;
                            self.pos += n;
                            out.push(char::from_u32(code)?);
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::spec::SettingOption;
    use serde_json::json;

    fn spec(kind: Kind) -> SettingSpec {
        SettingSpec {
            kind: Some(kind),
            ..SettingSpec::named("s")
        }
    }

    fn ok(kind: Kind, raw: &str) -> Value {
        cast(&spec(kind), raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn err(kind: Kind, raw: &str) -> String {
        match cast(&spec(kind), raw) {
            Ok(v) => panic!("{raw} gave {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn booleans() {
        // Observed: true/True/YES/on/1 → True; false/0/no/garbage/""/" true" → False.
        for raw in ["true", "True", "YES", "on", "1", "ON"] {
            assert_eq!(ok(Kind::Boolean, raw), json!(true), "{raw}");
        }
        for raw in ["false", "0", "no", "garbage", "", " true", "t", "y"] {
            assert_eq!(ok(Kind::Boolean, raw), json!(false), "{raw}");
        }
    }

    #[test]
    fn integers() {
        // Observed: 12, " 12 ", 1_000, +3, -0 accepted; abc and 1.5 rejected with int()'s message.
        assert_eq!(ok(Kind::Integer, "12"), json!(12));
        assert_eq!(ok(Kind::Integer, " 12 "), json!(12));
        assert_eq!(ok(Kind::Integer, "1_000"), json!(1000));
        assert_eq!(ok(Kind::Integer, "+3"), json!(3));
        assert_eq!(ok(Kind::Integer, "-0"), json!(0));
        assert_eq!(ok(Kind::Integer, "-42"), json!(-42));
        assert_eq!(ok(Kind::Integer, "007"), json!(7));
        assert_eq!(
            err(Kind::Integer, "abc"),
            "invalid literal for int() with base 10: 'abc'"
        );
        assert_eq!(
            err(Kind::Integer, "1.5"),
            "invalid literal for int() with base 10: '1.5'"
        );
        assert_eq!(
            err(Kind::Integer, ""),
            "invalid literal for int() with base 10: ''"
        );
        assert_eq!(
            err(Kind::Integer, "1__0"),
            "invalid literal for int() with base 10: '1__0'"
        );
        assert_eq!(
            err(Kind::Integer, "it's"),
            "invalid literal for int() with base 10: \"it's\""
        );
        assert!(err(Kind::Integer, "99999999999999999999").starts_with("integer out of range"));
    }

    #[test]
    fn decimals() {
        // Observed: 0.5, 1, 1e3, " 2.50 ", NaN, 1_0.5 accepted by Meltano (as Decimal).
        assert_eq!(ok(Kind::Decimal, "0.5"), json!(0.5));
        assert_eq!(ok(Kind::Decimal, "1"), json!(1));
        assert_eq!(ok(Kind::Decimal, "1e3"), json!(1000.0));
        assert_eq!(ok(Kind::Decimal, " 2.50 "), json!(2.5));
        assert_eq!(ok(Kind::Decimal, "1_0.5"), json!(10.5));
        assert_eq!(ok(Kind::Decimal, ".5"), json!(0.5));
        assert_eq!(ok(Kind::Decimal, "-5."), json!(-5.0));
        assert_eq!(
            err(Kind::Decimal, "abc"),
            "invalid literal for Decimal: 'abc'"
        );
        assert!(cast(&spec(Kind::Decimal), "NaN").is_err());
        assert!(cast(&spec(Kind::Decimal), ".").is_err());
        assert!(cast(&spec(Kind::Decimal), "1e").is_err());
    }

    #[test]
    fn arrays() {
        // Observed: JSON, Python list, tuple, [True, None, 1.5] accepted.
        assert_eq!(ok(Kind::Array, "[\"a\", 1]"), json!(["a", 1]));
        assert_eq!(ok(Kind::Array, "['a', 'b']"), json!(["a", "b"]));
        assert_eq!(ok(Kind::Array, "('a',)"), json!(["a"]));
        assert_eq!(
            ok(Kind::Array, "[True, None, 1.5]"),
            json!([true, null, 1.5])
        );
        assert_eq!(
            ok(Kind::Array, " [1, (2, 3), {'k': -4}, ] "),
            json!([1, [2, 3], {"k": -4}])
        );
        assert_eq!(ok(Kind::Array, "[]"), json!([]));
        assert_eq!(ok(Kind::Array, "()"), json!([]));
        // Observed error texts (repr of the input).
        assert_eq!(
            err(Kind::Array, "{\"a\":1}"),
            "Failed to parse JSON array from string: '{\"a\":1}'"
        );
        assert_eq!(
            err(Kind::Array, "abc"),
            "Failed to parse JSON array from string: 'abc'"
        );
        assert_eq!(
            err(Kind::Array, "{'a'}"),
            "Failed to parse JSON array from string: \"{'a'}\""
        );
        assert_eq!(
            err(Kind::Array, "{}"),
            "Failed to parse JSON array from string: '{}'"
        );
        assert!(cast(&spec(Kind::Array), "[1,2").is_err());
        // Meltano turns the JSON string "abc" into ['a', 'b', 'c']; we reject it.
        assert!(cast(&spec(Kind::Array), "\"abc\"").is_err());
    }

    #[test]
    fn objects() {
        assert_eq!(
            ok(Kind::Object, "{\"a\": {\"b\": [1]}}"),
            json!({"a": {"b": [1]}})
        );
        assert_eq!(
            ok(Kind::Object, "{'a': 1, \"b\": 'x\\'y', 'c': None}"),
            json!({"a": 1, "b": "x'y", "c": null})
        );
        assert_eq!(
            ok(Kind::Object, "{1: 'one', True: 2}"),
            json!({"1": "one", "true": 2})
        );
        assert_eq!(
            err(Kind::Object, "[1]"),
            "Failed to parse JSON object from string: '[1]'"
        );
        assert_eq!(
            err(Kind::Object, "nope"),
            "Failed to parse JSON object from string: 'nope'"
        );
    }

    #[test]
    fn python_literals() {
        let p = |s: &str| PyLiteral::parse(s);
        assert_eq!(p("'a' \"b\""), Some(json!("ab")));
        assert_eq!(p("'''x'y'''"), Some(json!("x'y")));
        assert_eq!(p("'\\x41\\u00e9\\n\\101'"), Some(json!("Aé\nA")));
        assert_eq!(p("0x1F"), Some(json!(31)));
        assert_eq!(p("1_000"), Some(json!(1000)));
        assert_eq!(p("-1.5e3"), Some(json!(-1500.0)));
        assert_eq!(p("(1)"), Some(json!(1)));
        assert_eq!(p("[1, 2,]"), Some(json!([1, 2])));
        assert_eq!(p("007"), None);
        assert_eq!(p("[1 2]"), None);
        assert_eq!(p("{1, 2}"), None);
        assert_eq!(p("name"), None);
        assert_eq!(p("'unterminated"), None);
    }

    #[test]
    fn options() {
        let level = SettingSpec {
            kind: Some(Kind::Options),
            options: ["a", "b"]
                .iter()
                .map(|v| SettingOption {
                    label: None,
                    value: json!(v),
                })
                .collect(),
            ..SettingSpec::named("level")
        };
        assert_eq!(cast(&level, "a"), Ok(json!("a")));
        // Observed wording.
        assert_eq!(
            cast(&level, "zz").map_err(|e| e.to_string()),
            Err("'zz' is not a valid choice for 'level'".to_string())
        );
        assert_eq!(
            cast_value(&level, &json!(5)).map_err(|e| e.to_string()),
            Err("'5' is not a valid choice for 'level'".to_string())
        );
        assert_eq!(cast_value(&level, &Value::Null), Ok(Value::Null));
        let numeric = SettingSpec {
            kind: Some(Kind::Options),
            options: vec![SettingOption {
                label: None,
                value: json!(1),
            }],
            ..SettingSpec::named("n")
        };
        assert_eq!(cast_value(&numeric, &json!(1.0)), Ok(json!(1.0)));
        assert_eq!(cast_value(&numeric, &json!(true)), Ok(json!(true)));
        assert!(cast(&numeric, "1").is_err());
    }

    #[test]
    fn other_kinds_stay_strings() {
        for kind in [
            Kind::String,
            Kind::Password,
            Kind::DateIso8601,
            Kind::Email,
            Kind::File,
            Kind::Oauth,
            Kind::Hidden,
        ] {
            assert_eq!(ok(kind, " x "), json!(" x "));
        }
        assert_eq!(cast(&SettingSpec::named("n"), "5"), Ok(json!("5")));
    }

    #[test]
    fn yaml_values() {
        // Observed: `port: "5432"` with kind integer shows 5432; `tags: "[1]"` shows [1].
        assert_eq!(
            cast_value(&spec(Kind::Integer), &json!("5432")),
            Ok(json!(5432))
        );
        assert_eq!(
            cast_value(&spec(Kind::Array), &json!("[1]")),
            Ok(json!([1]))
        );
        assert_eq!(
            cast_value(&spec(Kind::Integer), &json!(5.5)),
            Ok(json!(5.5))
        );
        assert_eq!(cast_value(&spec(Kind::Boolean), &json!(1)), Ok(json!(1)));
        assert_eq!(
            cast_value(&spec(Kind::Boolean), &json!("yes")),
            Ok(json!(true))
        );
    }
}
