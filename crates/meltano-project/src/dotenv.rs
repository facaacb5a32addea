//! The project's `.env` file, read and written as Meltano (python-dotenv 1.2) does.
//!
//! A statement is `KEY=value`, `export KEY=value` or a bare `KEY` (which Meltano drops, but which
//! still hides an earlier value of the key and reads as empty in `${KEY}`). Values may be unquoted
//! (`#` after whitespace starts a comment), single-quoted (only `\'` and `\\` are escapes) or
//! double-quoted (`\n`, `\t`, `\"`… are escapes; any other `\x` stays as written), and may span
//! lines when quoted. Every value, single-quoted ones included, then has `${VAR}` and
//! `${VAR:-default}` replaced: earlier keys of the file first, then the process environment (the
//! `override=True` that `dotenv_values` uses), then the default.
//!
//! A statement that does not parse is skipped, as python-dotenv skips it: reading resumes after
//! the rest of the line where parsing failed, so an unterminated quote costs only its own line.
//! Writes splice whole statements, so a multi-line value is replaced or removed entirely and every
//! other byte of the file stays as it was.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use indexmap::IndexMap;

/// A `.env` file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DotenvError {
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// The variables of a `.env` file and a warning for each statement that was skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DotenvFile {
    pub vars: IndexMap<String, String>,
    /// One per skipped statement, naming the file and line, for the CLI to log.
    pub warnings: Vec<String>,
}

/// One statement that names a key, where it sits in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub key: String,
    /// The value with quotes and escapes decoded, not interpolated; `None` for a bare `KEY`.
    pub value: Option<String>,
    /// From the start of its first line to the end of its last line, line ending included.
    pub range: Range<usize>,
    /// The 1-based line where the statement starts.
    pub line: usize,
}

/// A statement that does not parse; python-dotenv skips it with a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadStatement {
    /// The 1-based line where the statement starts.
    pub line: usize,
    pub message: String,
}

/// The variables of a `.env` file in file order; a missing file is empty, as in Meltano.
/// Bad statements are skipped silently; [`read_with_warnings`] also reports them.
pub fn read(path: &Path) -> Result<IndexMap<String, String>, DotenvError> {
    read_with_warnings(path).map(|file| file.vars)
}

/// Like [`read`], with a warning for each statement that was skipped.
pub fn read_with_warnings(path: &Path) -> Result<DotenvFile, DotenvError> {
    let text = read_text(path).map_err(|source| DotenvError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let (vars, bad) = parse_lenient(&text, &|name| std::env::var(name).ok());
    let warnings = bad
        .into_iter()
        .map(|b| {
            format!(
                "{}: could not parse the statement starting at line {}: {}; skipped it",
                path.display(),
                b.line,
                b.message
            )
        })
        .collect();
    Ok(DotenvFile { vars, warnings })
}

/// Parses `.env` text strictly: the first bad statement is an error carrying its 1-based line.
/// `env` answers `${VAR}` for names no earlier key of the text defines.
pub fn parse(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, (usize, String)> {
    let (vars, bad) = parse_lenient(text, env);
    match bad.into_iter().next() {
        Some(b) => Err((b.line, b.message)),
        None => Ok(vars),
    }
}

/// Parses `.env` text as python-dotenv does, skipping bad statements and returning them.
pub fn parse_lenient(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> (IndexMap<String, String>, Vec<BadStatement>) {
    // Python reads the file with universal newlines, so values never hold `\r\n` or `\r`.
    let text = universal_newlines(text);
    let (assignments, bad) = statements(&text);
    let mut resolved: IndexMap<String, Option<String>> = IndexMap::new();
    for a in assignments {
        let value = a.value.map(|v| interpolate(&v, env, &resolved));
        resolved.insert(a.key, value);
    }
    let vars = resolved
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    (vars, bad)
}

fn universal_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Every statement of `text` that names a key, with its byte range, and every bad statement.
/// A leading byte-order mark is skipped; ranges still index `text` as given.
pub fn statements(text: &str) -> (Vec<Assignment>, Vec<BadStatement>) {
    let mut assignments = Vec::new();
    let mut bad = Vec::new();
    let mut lines = LineCounter::new(text);
    let mut pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
    while pos < text.len() {
        let start = skip(text, pos, is_space);
        if start == text.len() {
            break;
        }
        let line = lines.line_at(start);
        match statement(text, start) {
            Ok((key, value, end)) => {
                if let Some(key) = key {
                    let line_start = text[pos..start]
                        .rfind(['\n', '\r'])
                        .map_or(pos, |i| pos + i + 1);
                    assignments.push(Assignment {
                        key,
                        value,
                        range: line_start..end,
                        line,
                    });
                }
                pos = end;
            }
            Err((failed_at, message)) => {
                bad.push(BadStatement { line, message });
                // python-dotenv resumes after the rest of the line where parsing stopped.
                pos = rest_of_line(text, failed_at);
            }
        }
    }
    (assignments, bad)
}

/// Python's `\s` (Unicode whitespace, which includes the separators U+001C–U+001F).
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Whitespace that does not end a line.
fn is_inline_space(c: char) -> bool {
    is_space(c) && c != '\n' && c != '\r'
}

/// The first byte at or after `pos` whose char does not satisfy `pred`.
fn skip(text: &str, pos: usize, pred: impl Fn(char) -> bool) -> usize {
    text[pos..]
        .find(|c| !pred(c))
        .map_or(text.len(), |i| pos + i)
}

/// Just past the next line ending at or after `pos`, or the end of the text.
fn rest_of_line(text: &str, pos: usize) -> usize {
    let end = skip(text, pos, |c| c != '\n' && c != '\r');
    let rest = &text[end..];
    if rest.starts_with("\r\n") {
        end + 2
    } else if rest.is_empty() {
        end
    } else {
        end + 1
    }
}

/// A parsed statement's key (`None` for a comment), value, and the byte just past its line end.
type Statement = (Option<String>, Option<String>, usize);

/// The statement starting at `pos` (its first non-space char), or where parsing failed and why;
/// each step mirrors a regex of python-dotenv's parser, so the failure point is the same.
fn statement(text: &str, mut pos: usize) -> Result<Statement, (usize, String)> {
    if text[pos..].starts_with("export") {
        let after = skip(text, pos + 6, is_inline_space);
        if after > pos + 6 {
            pos = after;
        }
    }
    let key = match text[pos..].chars().next() {
        Some('#') => None,
        Some('\'') => match text[pos + 1..].find('\'') {
            Some(len) if len > 0 => {
                let key = text[pos + 1..pos + 1 + len].to_string();
                pos += len + 2;
                Some(key)
            }
            _ => return Err((pos, "expected a key before `=`".to_string())),
        },
        _ => {
            let end = skip(text, pos, |c| c != '=' && c != '#' && !is_space(c));
            if end == pos {
                return Err((pos, "expected a key before `=`".to_string()));
            }
            let key = text[pos..end].to_string();
            pos = end;
            Some(key)
        }
    };
    pos = skip(text, pos, is_inline_space);
    let value = if text[pos..].starts_with('=') {
        let after = skip(text, pos + 1, is_inline_space);
        let spaced = after > pos + 1;
        pos = after;
        // `KEY= # note` is empty; `KEY=#x` is the value `#x`.
        if spaced && text[pos..].starts_with('#') {
            Some(String::new())
        } else {
            let (value, end) = value(text, pos)?;
            pos = end;
            Some(value)
        }
    } else {
        None
    };
    let comment = skip(text, pos, is_inline_space);
    if text[comment..].starts_with('#') {
        pos = skip(text, comment, |c| c != '\n' && c != '\r');
    }
    let eol = skip(text, pos, is_inline_space);
    let rest = &text[eol..];
    let end = if rest.starts_with("\r\n") {
        eol + 2
    } else if rest.starts_with(['\n', '\r']) {
        eol + 1
    } else if rest.is_empty() {
        eol
    } else {
        let key = key.as_deref().unwrap_or_default();
        let message = match value {
            Some(_) => format!("unexpected text after the value of {key}"),
            None => format!("expected `=` after {key}"),
        };
        return Err((pos, message));
    };
    Ok((key, value, end))
}

/// A value from `pos`, decoded, and where it ends.
fn value(text: &str, pos: usize) -> Result<(String, usize), (usize, String)> {
    match text[pos..].chars().next() {
        Some(quote @ ('\'' | '"')) => {
            let body = pos + 1;
            let mut chars = text[body..].char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '\\' {
                    if chars.next().is_none() {
                        break;
                    }
                } else if c == quote {
                    let raw = &text[body..body + i];
                    return Ok((unescape(raw, quote), body + i + 1));
                }
            }
            Err((pos, format!("unterminated {quote} quote")))
        }
        None | Some('\n' | '\r') => Ok((String::new(), pos)),
        Some(_) => {
            let end = skip(text, pos, |c| c != '\n' && c != '\r');
            let part = &text[pos..end];
            // Python's `re.sub(r"\s+#.*", "", part)`: cut at the whitespace before the first `#`
            // that has whitespace before it.
            let cut = part
                .match_indices('#')
                .find(|(i, _)| part[..*i].ends_with(is_space))
                .map_or(part.len(), |(i, _)| {
                    part[..i].trim_end_matches(is_space).len()
                });
            Ok((part[..cut].trim_end_matches(is_space).to_string(), end))
        }
    }
}

/// Decodes the escapes python-dotenv decodes in a quoted value; any other `\x` stays as written.
fn unescape(raw: &str, quote: char) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match (quote, chars.peek()) {
            (_, Some('\\')) => Some('\\'),
            (_, Some('\'')) => Some('\''),
            ('"', Some('"')) => Some('"'),
            ('"', Some('a')) => Some('\u{7}'),
            ('"', Some('b')) => Some('\u{8}'),
            ('"', Some('f')) => Some('\u{c}'),
            ('"', Some('n')) => Some('\n'),
            ('"', Some('r')) => Some('\r'),
            ('"', Some('t')) => Some('\t'),
            ('"', Some('v')) => Some('\u{b}'),
            _ => None,
        };
        match decoded {
            Some(d) => {
                out.push(d);
                chars.next();
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Replaces `${VAR}` and `${VAR:-default}` (python-dotenv's `\$\{([^}:]*)(?::-([^}]*))?\}`):
/// an earlier key of the file wins (a bare `KEY` reads as empty), then `env`, then the default.
fn interpolate(
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
    earlier: &IndexMap<String, Option<String>>,
) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let inner = &rest[start + 2..];
        let name_len = inner.find(['}', ':']).unwrap_or(inner.len());
        let name = &inner[..name_len];
        let after_name = &inner[name_len..];
        let matched = if after_name.starts_with('}') {
            Some((None, name_len + 1))
        } else if let Some(default) = after_name.strip_prefix(":-") {
            default
                .find('}')
                .map(|d| (Some(&default[..d]), name_len + 2 + d + 1))
        } else {
            None
        };
        let Some((default, len)) = matched else {
            // Not a variable here; the next `${` may still be one.
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            continue;
        };
        out.push_str(&rest[..start]);
        let resolved = match earlier.get(name) {
            Some(value) => value.clone().unwrap_or_default(),
            None => env(name).unwrap_or_else(|| default.unwrap_or_default().to_string()),
        };
        out.push_str(&resolved);
        rest = &inner[len..];
    }
    out.push_str(rest);
    out
}

/// Counts lines as Python does (`\r\n`, `\n` and `\r` each end one), for increasing positions.
struct LineCounter<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text,
            pos: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, pos: usize) -> usize {
        let bytes = self.text.as_bytes();
        for i in self.pos..pos {
            match bytes[i] {
                b'\r' => self.line += 1,
                b'\n' if i == 0 || bytes[i - 1] != b'\r' => self.line += 1,
                _ => {}
            }
        }
        self.pos = pos;
        self.line
    }
}

/// Sets `key` in the `.env` file at `path` to `value`, written `KEY='value'` as python-dotenv
/// writes it. Every statement assigning the key is replaced whole (as python-dotenv does); other
/// bytes are kept. The file is left with mode 0600, as python-dotenv leaves it: it holds secrets.
pub fn set_key(path: &Path, key: &str, value: &str) -> std::io::Result<()> {
    // Backslashes first, so the one escaping a quote is not doubled.
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    let line_out = format!("{key}='{escaped}'\n");
    let text = read_text(path)?;
    let (assignments, _) = statements(&text);
    let ranges: Vec<Range<usize>> = assignments
        .into_iter()
        .filter(|a| a.key == key)
        .map(|a| a.range)
        .collect();
    let mut out = splice(&text, &ranges, &line_out);
    if ranges.is_empty() {
        if !out.is_empty() && !out.ends_with(['\n', '\r']) {
            out.push('\n');
        }
        out.push_str(&line_out);
    }
    crate::atomic::write_atomic_private(path, out.as_bytes())
}

/// Removes the statements assigning `keys` from the `.env` file, multi-line values whole;
/// returns the keys that were there.
pub fn unset_keys(path: &Path, keys: &[String]) -> std::io::Result<Vec<String>> {
    let text = read_text(path)?;
    let (assignments, _) = statements(&text);
    let mut removed: Vec<String> = Vec::new();
    let mut ranges = Vec::new();
    for a in assignments.into_iter().filter(|a| keys.contains(&a.key)) {
        if !removed.contains(&a.key) {
            removed.push(a.key);
        }
        ranges.push(a.range);
    }
    if !removed.is_empty() {
        crate::atomic::write_atomic_private(path, splice(&text, &ranges, "").as_bytes())?;
    }
    Ok(removed)
}

/// `text` with each of the ordered, disjoint `ranges` replaced by `with`.
fn splice(text: &str, ranges: &[Range<usize>], with: &str) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * with.len());
    let mut last = 0;
    for range in ranges {
        out.push_str(&text[last..range.start]);
        out.push_str(with);
        last = range.end;
    }
    out.push_str(&text[last..]);
    out
}

fn read_text(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
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
        // python-dotenv interpolates single-quoted values too.
        assert_eq!(vars.get("B").unwrap(), "single plain value ' q");
        assert_eq!(vars.get("C").unwrap(), "dq plain value\ndflt");
        assert!(!vars.contains_key("D"));
        assert_eq!(vars.get("E").unwrap(), "");
        assert_eq!(vars.get("F").unwrap(), "multi\nline");
        assert_eq!(vars.get("G").unwrap(), "dq plain value\ndflt");
        assert_eq!(parse("X='open\n", &env).unwrap_err().0, 1);
    }

    /// The process environment as the reference runs saw it: only HOME and VAR.
    fn fake_env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/root".to_string()),
            "VAR" => Some("shell".to_string()),
            _ => None,
        }
    }

    #[test]
    fn set_and_unset_splice_whole_multiline_assignments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let original = "A=1\n\n# c\nK=\"line1\nOTHER=evil\nline3\"\n  export Z=1 # z\n";
        std::fs::write(&path, original).unwrap();
        set_key(&path, "K", "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "A=1\n\n# c\nK='new'\n  export Z=1 # z\n"
        );
        std::fs::write(&path, original).unwrap();
        assert_eq!(unset_keys(&path, &["K".to_string()]).unwrap(), ["K"]);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "A=1\n\n# c\n  export Z=1 # z\n"
        );
        assert!(!read(&path).unwrap().contains_key("OTHER"));
    }

    #[test]
    fn set_key_matches_python_dotenv_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        // Every assignment of the key is replaced, as python-dotenv does; backslashes are escaped.
        std::fs::write(&path, "A=1\n  export K=1 # c\nK=2\nZ=1").unwrap();
        set_key(&path, "K", "a\\b'c").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "A=1\nK='a\\\\b\\'c'\nK='a\\\\b\\'c'\nZ=1"
        );
        assert_eq!(read(&path).unwrap()["K"], "a\\b'c");
        std::fs::write(&path, "A=1").unwrap();
        set_key(&path, "B", "x").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "A=1\nB='x'\n");
        // A bad statement is kept as written; the key after it is still found.
        std::fs::write(&path, "A=1\nG='bad\nK=1\n").unwrap();
        set_key(&path, "K", "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "A=1\nG='bad\nK='x'\n"
        );
    }

    #[test]
    fn read_skips_a_bad_statement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "A=1\n\n\nG='unterminated\nH=2\n").unwrap();
        let vars = read(&path).unwrap();
        assert_eq!(
            vars.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            [("A", "1"), ("H", "2")]
        );
    }

    #[test]
    fn warnings_name_file_and_line_and_resync_like_python_dotenv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        // python-dotenv resumes after the rest of the line where parsing failed: the opening
        // quote's line for `G`, the closing quote's line for `H`.
        std::fs::write(&path, "G='unterminated\nH=\"a\nb\" junk\nI=3\n\n=x\nJ=4\n").unwrap();
        let file = read_with_warnings(&path).unwrap();
        assert_eq!(
            file.vars
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
            [("I", "3"), ("J", "4")]
        );
        let shown = path.display();
        assert_eq!(
            file.warnings,
            [
                format!(
                    "{shown}: could not parse the statement starting at line 1: unterminated ' quote; skipped it"
                ),
                format!(
                    "{shown}: could not parse the statement starting at line 2: unexpected text after the value of H; skipped it"
                ),
                format!(
                    "{shown}: could not parse the statement starting at line 6: expected a key before `=`; skipped it"
                ),
            ]
        );
        assert_eq!(
            parse("A=1\nB C\n", &fake_env).unwrap_err(),
            (2, "expected `=` after B".to_string())
        );
    }

    #[test]
    fn earlier_keys_win_over_the_environment() {
        let vars = parse("X=${VAR}\nVAR=file\nY=${VAR}\n", &fake_env).unwrap();
        assert_eq!(vars["X"], "shell");
        assert_eq!(vars["Y"], "file");
    }

    #[test]
    fn parses_edge_cases_like_python_dotenv() {
        // Expected values come from python-dotenv 1.2.4 `dotenv_values` on the same text.
        let text = "A=1\nexport\tB=2\nexport C\n'q k'=3\nexport=4\nE='a\\\\b\\x'\nF=\"\\'\\\"\\a\\z\"\nG=a\t#c\nH=\"x\"  # c\nI= # c\nJ=#nv\nZ=${VAR:x}${NOPE:-b:-c}$${HOME}\nD2=1\nD2\nL=${D2:-dflt}\n";
        let vars = parse(text, &fake_env).unwrap();
        let got: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            got,
            [
                ("A", "1"),
                ("B", "2"),
                ("q k", "3"),
                ("export", "4"),
                ("E", "a\\b\\x"),
                ("F", "'\"\u{7}\\z"),
                ("G", "a"),
                ("H", "x"),
                ("I", ""),
                ("J", "#nv"),
                ("Z", "${VAR:x}b:-c$/root"),
                ("L", ""),
            ]
        );
        let crlf = parse("A=1 \r\nB=\"x\r\ny\"\r\nC=2\rD=3", &fake_env).unwrap();
        assert_eq!(crlf["A"], "1");
        assert_eq!(crlf["B"], "x\ny");
        assert_eq!(crlf["D"], "3");
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
