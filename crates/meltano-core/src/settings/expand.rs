//! `$VAR` and `${VAR}` expansion of setting values from meltano.yml and of defaults.
//!
//! Rules (Meltano 4.4.1): a bare `$NAME` expands only when NAME matches `[A-Z][A-Z0-9_]*`
//! (`$lower` stays literal); `${name}` takes any word characters; `\$X` and `\${X}` are the
//! literal `$X` / `${X}` (backslash dropped); an unset variable expands to `""`, or is an error in
//! strict mode (`ff.strict_env_var_mode`).
//!
//! Our addition (meltano#8637): `$$` is a literal `$`, so any text can be written unexpanded by
//! doubling its dollars. Meltano has no reliable escape: `\$` only works before a variable name,
//! and `$$FOO` there means `$` followed by the value of `FOO`.

use serde_json::Value;

/// A variable referenced in strict mode that is not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Environment variable '{0}' referenced but not set. Make sure the environment variable is set."
)]
pub struct ExpandError(pub String);

/// Expands variables in `s`; `None` when a non-empty `s` expands to `""` entirely, which Meltano
/// treats as unset (so `password: $UNSET` falls through to lower stores).
pub fn expand_str(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Option<String>, ExpandError> {
    let expanded = expand_text(s, lookup, strict)?;
    Ok((s.is_empty() || !expanded.is_empty()).then_some(expanded))
}

/// Expands variables in every string of `v`; object keys are left alone.
///
/// A non-empty string that expands to `""` becomes null when it is `v` itself or an object member
/// (Meltano reads meltano.yml objects as flattened leaves, each treated as a value of its own);
/// inside arrays it stays `""`.
pub fn expand_value(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Value, ExpandError> {
    match v {
        Value::String(s) => Ok(expand_str(s, lookup, strict)?.map_or(Value::Null, Value::String)),
        Value::Object(map) => map
            .iter()
            .map(|(k, item)| Ok((k.clone(), expand_value(item, lookup, strict)?)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        Value::Array(items) => items
            .iter()
            .map(|item| expand_in_array(item, lookup, strict))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Writes `s` so that expansion gives it back unchanged: every `$` doubled.
pub fn escape(s: &str) -> String {
    s.replace('$', "$$")
}

fn expand_in_array(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Value, ExpandError> {
    match v {
        Value::String(s) => Ok(Value::String(expand_text(s, lookup, strict)?)),
        other => expand_value(other, lookup, strict),
    }
}

/// A variable reference starting at byte `i` (which holds `$`): its end and name.
fn reference_at(s: &str, i: usize) -> Option<(usize, &str)> {
    let rest = s.get(i + 1..)?;
    if let Some(inner) = rest.strip_prefix('{') {
        let len: usize = inner
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .map(char::len_utf8)
            .sum();
        if len > 0 && inner[len..].starts_with('}') {
            return Some((i + 2 + len + 1, &inner[..len]));
        }
        return None;
    }
    let bytes = rest.as_bytes();
    if !bytes.first()?.is_ascii_uppercase() {
        return None;
    }
    let len = bytes
        .iter()
        .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
        .count();
    Some((i + 1 + len, &rest[..len]))
}

fn expand_text(
    s: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<String, ExpandError> {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut plain_from = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if bytes.get(i + 1) == Some(&b'$') => {
                if let Some((end, _)) = reference_at(s, i + 1) {
                    out.push_str(&s[plain_from..i]);
                    out.push_str(&s[i + 1..end]);
                    i = end;
                    plain_from = end;
                } else {
                    i += 1;
                }
            }
            b'$' if bytes.get(i + 1) == Some(&b'$') => {
                out.push_str(&s[plain_from..i]);
                out.push('$');
                i += 2;
                plain_from = i;
            }
            b'$' => {
                if let Some((end, name)) = reference_at(s, i) {
                    out.push_str(&s[plain_from..i]);
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None if strict => return Err(ExpandError(name.to_string())),
                        None => {}
                    }
                    i = end;
                    plain_from = end;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&s[plain_from..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "FOO" => Some("bar".into()),
            "foo" => Some("low".into()),
            "EMPTY" => Some(String::new()),
            "NS" => Some("fakens".into()),
            "é" => Some("accent".into()),
            _ => None,
        }
    }

    fn x(s: &str) -> Option<String> {
        expand_str(s, &env, false).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn bare_and_braced() {
        assert_eq!(x("$FOO").as_deref(), Some("bar"));
        assert_eq!(x("${FOO}").as_deref(), Some("bar"));
        assert_eq!(x("${foo}").as_deref(), Some("low"));
        assert_eq!(x("${é}").as_deref(), Some("accent"));
        assert_eq!(x("$foo").as_deref(), Some("$foo"));
        assert_eq!(x("a$FOO.b").as_deref(), Some("abar.b"));
        assert_eq!(x("$FOO_X"), None);
        assert_eq!(x("$FOO-X").as_deref(), Some("bar-X"));
    }

    #[test]
    fn not_references() {
        assert_eq!(x("$").as_deref(), Some("$"));
        assert_eq!(x("$1").as_deref(), Some("$1"));
        assert_eq!(x("${a-b}").as_deref(), Some("${a-b}"));
        assert_eq!(x("${}").as_deref(), Some("${}"));
        assert_eq!(x("${FOO").as_deref(), Some("${FOO"));
        assert_eq!(x("price: 5$").as_deref(), Some("price: 5$"));
        assert_eq!(x("a\\b").as_deref(), Some("a\\b"));
        assert_eq!(x("\\").as_deref(), Some("\\"));
    }

    #[test]
    fn reference_example() {
        // Observed with FOO=bar foo=low, meltano.yml `a\$FOO-${foo}-$foo-$$FOO-\${FOO}-$UNSET_X|`:
        // Meltano gives `a$FOO-low-$foo-$bar-${FOO}-|`; ours differs only in `$$FOO` → `$FOO`.
        assert_eq!(
            x("a\\$FOO-${foo}-$foo-$$FOO-\\${FOO}-$UNSET_X|").as_deref(),
            Some("a$FOO-low-$foo-$FOO-${FOO}-|")
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(x("\\$FOO").as_deref(), Some("$FOO"));
        assert_eq!(x("\\${FOO}").as_deref(), Some("${FOO}"));
        assert_eq!(x("\\$foo").as_deref(), Some("\\$foo"));
        assert_eq!(x("$$").as_deref(), Some("$"));
        assert_eq!(x("$$FOO").as_deref(), Some("$FOO"));
        assert_eq!(x("$$$FOO").as_deref(), Some("$bar"));
        assert_eq!(x("$$$$").as_deref(), Some("$$"));
        assert_eq!(x("\\$$FOO").as_deref(), Some("\\$FOO"));
    }

    #[test]
    fn missing_and_empty() {
        assert_eq!(x("$UNSET"), None);
        assert_eq!(x("${UNSET}$OTHER"), None);
        assert_eq!(x("$EMPTY"), None);
        assert_eq!(x("").as_deref(), Some(""));
        assert_eq!(x("a$UNSET").as_deref(), Some("a"));
    }

    #[test]
    fn strict_mode() {
        let err = expand_str("x-${foo}-$MISSING", &env, true).unwrap_err();
        assert_eq!(err, ExpandError("MISSING".into()));
        // Observed wording.
        assert_eq!(
            ExpandError("foo".into()).to_string(),
            "Environment variable 'foo' referenced but not set. Make sure the environment variable is set."
        );
        // Set but empty is not an error.
        assert_eq!(expand_str("$EMPTY", &env, true), Ok(None));
        // Lower-case bare names are not references, so not errors either.
        assert_eq!(expand_str("$lower", &env, true), Ok(Some("$lower".into())));
    }

    #[test]
    fn values() {
        let v = json!({
            "k": "$FOO",
            "$FOO": 1,
            "gone": "$UNSET",
            "deep": {"x": "${NS}-s", "y": "$UNSET"},
            "list": ["$FOO", "$UNSET", {"z": "$UNSET"}, 3],
            "n": null,
            "b": true
        });
        assert_eq!(
            expand_value(&v, &env, false).unwrap_or_else(|e| panic!("{e}")),
            json!({
                "k": "bar",
                "$FOO": 1,
                "gone": null,
                "deep": {"x": "fakens-s", "y": null},
                "list": ["bar", "", {"z": null}, 3],
                "n": null,
                "b": true
            })
        );
        assert_eq!(expand_value(&json!("$UNSET"), &env, false), Ok(Value::Null));
        assert_eq!(expand_value(&json!(5), &env, false), Ok(json!(5)));
        assert!(expand_value(&json!(["$MISSING"]), &env, true).is_err());
    }

    #[test]
    fn escape_round_trips() {
        for s in ["$FOO", "\\$FOO", "$$", "a$", "${x}", "\\${FOO}", "plain"] {
            assert_eq!(x(&escape(s)).as_deref(), Some(s), "{s}");
        }
    }
}
