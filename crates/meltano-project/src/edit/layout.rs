//! Where the dashes of a block list go: the file's own habit.
//!
//! YAML lets a list under a key start at the key's column (`key:\n- a`, what Meltano writes) or
//! indented below it (`key:\n  - a`). yaml-edit indents every list it attaches below the top
//! level, so in a file written the first way a new `loaders:` or `tasks:` list would stand out in
//! `git diff` and differ from what Meltano writes. When every list of the original file sits at
//! its key's column (or the file has no lists yet, as Meltano would write it), lists the edit
//! indented are moved back to their key's column. A file that indents its lists keeps yaml-edit's
//! layout, which already matches it; a file that mixes both is left as yaml-edit writes it.

/// How the lists of a file sit under their keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListIndent {
    /// `key:\n- item` (Meltano's own layout), or no block list under a key yet.
    AtKeyColumn,
    /// `key:\n  - item`, or a mix of both.
    Indented,
}

/// The layout of the lists under keys in `text`.
pub fn detect(text: &str) -> ListIndent {
    let lines: Vec<&str> = text.lines().collect();
    let in_scalar = block_scalar_lines(&lines);
    let offsets: Vec<usize> = (0..lines.len())
        .filter(|&i| !in_scalar[i])
        .filter_map(|i| list_under_key(&lines, i).map(|(key, dash)| dash.saturating_sub(key)))
        .collect();
    if offsets.iter().all(|&offset| offset == 0) {
        ListIndent::AtKeyColumn
    } else {
        ListIndent::Indented
    }
}

/// `text` with every list indented below its key moved to the key's column (with everything it
/// holds), when the file's layout is [`ListIndent::AtKeyColumn`].
pub fn apply(text: String, layout: ListIndent) -> String {
    if layout == ListIndent::Indented {
        return text;
    }
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let mut i = 0;
    while i < lines.len() {
        let view: Vec<&str> = lines.iter().map(String::as_str).collect();
        if block_scalar_lines(&view)[i] {
            i += 1;
            continue;
        }
        let Some((key, dash)) = list_under_key(&view, i) else {
            i += 1;
            continue;
        };
        if dash <= key {
            i += 1;
            continue;
        }
        let shift = dash - key;
        // The list runs until a line that is not blank, not a comment, and less indented than
        // its dashes.
        let mut end = i + 1;
        while end < lines.len() {
            let line = &lines[end];
            let trimmed = line.trim_start();
            let blank_or_comment = trimmed.is_empty() || trimmed.starts_with('#');
            if !blank_or_comment && indent(line) < dash {
                break;
            }
            end += 1;
        }
        // Comments after the last item belong to what follows.
        while end > i + 1 && {
            let trimmed = lines[end - 1].trim_start();
            trimmed.is_empty() || trimmed.starts_with('#')
        } {
            end -= 1;
        }
        for line in &mut lines[i + 1..end] {
            let removable = indent(line).min(shift);
            line.drain(..removable);
        }
        // Lists inside the one just moved are looked at on the next lines.
        i += 1;
    }
    lines.join("\n")
}

/// Which lines are the body of a block scalar (`key: |` or `- >-`): text, not structure.
fn block_scalar_lines(lines: &[&str]) -> Vec<bool> {
    let mut inside = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let opens = opens_block_scalar(line);
        i += 1;
        if opens {
            let parent = indent(line);
            while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) > parent) {
                inside[i] = true;
                i += 1;
            }
        }
    }
    inside
}

/// `key: |`, `- >-`, `key: |2+`: the lines below are a block scalar's text.
fn opens_block_scalar(line: &str) -> bool {
    let body = line.split(" #").next().unwrap_or(line).trim_end();
    let Some(last) = body.rsplit(' ').next() else {
        return false;
    };
    let before = body[..body.len() - last.len()].trim_end();
    (before.ends_with(':') || before.ends_with('-'))
        && last.starts_with(['|', '>'])
        && last[1..]
            .chars()
            .all(|c| matches!(c, '+' | '-' | '1'..='9'))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// For a line `key:` (block value follows, maybe a comment) whose value is a block list, the
/// columns of the key and of the list's first dash.
fn list_under_key(lines: &[&str], i: usize) -> Option<(usize, usize)> {
    let line = lines[i];
    let content = line.trim_start_matches(' ');
    if content.starts_with('#') || content.is_empty() {
        return None;
    }
    let key_column = indent(line)
        + if content.starts_with("- ") {
            dash_content_offset(content)
        } else {
            0
        };
    let without_comment = match content.find(" #") {
        Some(at) => &content[..at],
        None => content,
    };
    let body = without_comment.trim_end();
    if !body.ends_with(':') || body.starts_with(['\'', '"']) && !is_quoted_key(body) {
        return None;
    }
    let next = lines[i + 1..].iter().find(|l| {
        let t = l.trim_start();
        !t.is_empty() && !t.starts_with('#')
    })?;
    let next_content = next.trim_start_matches(' ');
    (next_content == "-" || next_content.starts_with("- ")).then(|| (key_column, indent(next)))
}

/// Where the key starts within `- key:` lines (`- ` and any further `- `).
fn dash_content_offset(content: &str) -> usize {
    let rest = content.trim_start_matches(['-', ' ']);
    content.len() - rest.len()
}

fn is_quoted_key(body: &str) -> bool {
    let inner = &body[..body.len() - 1];
    (inner.starts_with('\'') && inner.ends_with('\''))
        || (inner.starts_with('"') && inner.ends_with('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_files_habit() {
        assert_eq!(detect("a:\n- x\n"), ListIndent::AtKeyColumn);
        assert_eq!(detect("a:\n  b:\n  - x\n"), ListIndent::AtKeyColumn);
        assert_eq!(detect("a: 1\n"), ListIndent::AtKeyColumn);
        assert_eq!(detect("a:\n  - x\n"), ListIndent::Indented);
        assert_eq!(detect("a:\n- b:\n    - x\n"), ListIndent::Indented);
        assert_eq!(detect("a:\n- x\nb:\n  - y\n"), ListIndent::Indented);
    }

    #[test]
    fn leaves_block_scalars_alone() {
        let text = "a:\n- x\nb:\n  script: |\n    k:\n      - not a list\n  c:\n    - y\n";
        assert_eq!(detect(text), ListIndent::Indented);
        let compact = "a:\n- x\nb:\n  script: |\n    k:\n      - not a list\n";
        assert_eq!(detect(compact), ListIndent::AtKeyColumn);
        assert_eq!(apply(compact.to_string(), ListIndent::AtKeyColumn), compact);
    }

    #[test]
    fn moves_indented_lists_to_their_keys_column() {
        let text = "plugins:\n  extractors:\n  - name: tap\n    config:\n      arr:\n        - foo\n        - bar:\n            - deep\n      # note\n      after: 1\n  loaders:\n    - name: target\n      pip_url: x\n";
        let expected = "plugins:\n  extractors:\n  - name: tap\n    config:\n      arr:\n      - foo\n      - bar:\n        - deep\n      # note\n      after: 1\n  loaders:\n  - name: target\n    pip_url: x\n";
        assert_eq!(apply(text.to_string(), ListIndent::AtKeyColumn), expected);
        assert_eq!(apply(text.to_string(), ListIndent::Indented), text);
    }
}
