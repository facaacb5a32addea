//! The project's `.env` file, read and written as Meltano (python-dotenv) does.
//!
//! Values may be unquoted (`#` starts a comment after whitespace), single-quoted (only `\'` and
//! `\\` are escapes, no interpolation) or double-quoted (C-style escapes); unquoted and
//! double-quoted values interpolate `${VAR}` and `${VAR:-default}` from the process environment,
//! then earlier keys of the file. A key with no `=` is dropped.

use std::path::Path;

use indexmap::IndexMap;

/// A `.env` file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
}

/// The variables of a `.env` file in file order; a missing file is empty, as in Meltano.
pub fn read(path: &Path) -> Result<IndexMap<String, String>, DotenvError> {
    let text = read_text(path).map_err(|source| DotenvError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &|name| std::env::var(name).ok()).map_err(|(line, message)| DotenvError::Parse {
        path: path.display().to_string(),
        line,
        message,
    })
}

/// Parses `.env` text; `env` answers interpolation before the file's own earlier keys.
/// An error carries the 1-based line where the bad assignment starts.
pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, (usize, String)> {
    let mut vars = IndexMap::new();
    let mut pos = 0;
    while pos < text.len() {
        let line_no = text[..pos].matches('\n').count() + 1;
        let rest = &text[pos..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let next_line = (pos + line_end + 1).min(text.len());
        let trimmed = rest[..line_end].trim_start();
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            pos = next_line;
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .map_or(trimmed, str::trim_start);
        let key_end = body
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(body.len());
        let key = &body[..key_end];
        let Some(value_text) = body[key_end..]
            .trim_start_matches([' ', '\t'])
            .strip_prefix('=')
        else {
            // `KEY` alone: no value, dropped as python-dotenv drops it.
            pos = next_line;
            continue;
        };
        if key.is_empty() {
            return Err((line_no, "expected KEY=value".to_string()));
        }
        let value_text = value_text.trim_start_matches([' ', '\t']);
        let value_start = pos + line_end - value_text.len();
        let value = match value_text.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (raw, used) = quoted(&text[value_start + 1..], quote)
                    .ok_or((line_no, format!("unterminated {quote} quote")))?;
                let value_end = value_start + 1 + used;
                pos = text[value_end..]
                    .find('\n')
                    .map_or(text.len(), |i| value_end + i + 1);
                if quote == '"' {
                    interpolate(&unescape_double(&raw), env, &vars)
                } else {
                    raw
                }
            }
            _ => {
                let raw = &text[value_start..pos + line_end];
                let raw = match raw.find(" #").or_else(|| raw.find("\t#")) {
                    Some(i) => &raw[..i],
                    None => raw,
                };
                pos = next_line;
                interpolate(raw.trim_end(), env, &vars)
            }
        };
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

/// The text up to the closing `quote` (escapes kept for the caller), and the bytes consumed.
fn quoted(text: &str, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next()?;
                if quote == '\'' && next != '\'' && next != '\\' {
                    out.push('\\');
                    out.push(next);
                } else if quote == '\'' {
                    out.push(next);
                } else {
                    out.push('\\');
                    out.push(next);
                }
            }
            c if c == quote => return Some((out, i + 1)),
            c => out.push(c),
        }
    }
    None
}

fn unescape_double(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('v') => out.push('\u{b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Replaces `${VAR}` and `${VAR:-default}`.
fn interpolate(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
    earlier: &IndexMap<String, String>,
) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, default),
            None => (inner, ""),
        };
        let resolved = env(name)
            .or_else(|| earlier.get(name).cloned())
            .unwrap_or_else(|| default.to_string());
        out.push_str(&resolved);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// Sets `key` in the `.env` file at `path` to `value`, written `KEY='value'` as python-dotenv
/// writes it. An existing assignment is replaced in place; other lines are kept as they are.
/// The file is left with mode 0600, as python-dotenv leaves it: it holds secrets.
pub fn set_key(path: &Path, key: &str, value: &str) -> std::io::Result<()> {
    let quoted = format!("{key}='{}'", value.replace('\'', "\\'"));
    let text = read_text(path)?;
    let mut replaced = false;
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if assigns(line, key) {
            if !replaced {
                lines.push(quoted.clone());
                replaced = true;
            }
        } else {
            lines.push(line.to_string());
        }
    }
    if !replaced {
        lines.push(quoted);
    }
    write(path, &lines)
}

/// Removes the assignments of `keys` from the `.env` file; returns the keys that were there.
pub fn unset_keys(path: &Path, keys: &[String]) -> std::io::Result<Vec<String>> {
    let text = read_text(path)?;
    let mut removed = Vec::new();
    let lines: Vec<String> = text
        .lines()
        .filter(|line| match keys.iter().find(|k| assigns(line, k)) {
            Some(k) => {
                if !removed.contains(k) {
                    removed.push(k.clone());
                }
                false
            }
            None => true,
        })
        .map(str::to_string)
        .collect();
    if !removed.is_empty() {
        write(path, &lines)?;
    }
    Ok(removed)
}

/// Whether `line` assigns `key` (`KEY=…`, `export KEY=…`, spaces around `=` allowed).
fn assigns(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

fn read_text(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

fn write(path: &Path, lines: &[String]) -> std::io::Result<()> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    crate::atomic::write_atomic_private(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_unset_keep_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# secrets\nA=1\nexport TAP_X_PASSWORD=old\nB='two'\n",
        )
        .unwrap();
        set_key(&path, "TAP_X_PASSWORD", "it's new").unwrap();
        set_key(&path, "C", "3").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# secrets\nA=1\nTAP_X_PASSWORD='it\\'s new'\nB='two'\nC='3'\n"
        );
        assert_eq!(
            read(&path)
                .unwrap()
                .get("TAP_X_PASSWORD")
                .map(String::as_str),
            Some("it's new")
        );
        assert_eq!(
            read(&path).unwrap().get("B").map(String::as_str),
            Some("two")
        );
        let removed = unset_keys(&path, &["A".to_string(), "ZZ".to_string()]).unwrap();
        assert_eq!(removed, ["A"]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# secrets\nTAP_X_PASSWORD='it\\'s new'\nB='two'\nC='3'\n"
        );
    }

    #[test]
    fn parses_like_python_dotenv() {
        let text = "# c\nA=plain value  # comment\nexport B = 'single ${A} \\' q'\nC=\"dq ${A}\\n${MISSING:-dflt}\"\nD\nE=\nF=\"multi\nline\"\nG=${C}\n";
        let env = |name: &str| (name == "HOME").then(|| "/root".to_string());
        let vars = parse(text, &env).unwrap();
        assert_eq!(vars.get("A").unwrap(), "plain value");
        assert_eq!(vars.get("B").unwrap(), "single ${A} ' q");
        assert_eq!(vars.get("C").unwrap(), "dq plain value\ndflt");
        assert!(!vars.contains_key("D"));
        assert_eq!(vars.get("E").unwrap(), "");
        assert_eq!(vars.get("F").unwrap(), "multi\nline");
        assert_eq!(vars.get("G").unwrap(), "dq plain value\ndflt");
        assert_eq!(parse("X='open\n", &env).unwrap_err().0, 1);
    }

    #[test]
    fn new_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        set_key(&path, "K", "v").unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
