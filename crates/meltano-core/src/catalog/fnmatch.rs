//! Shell-style wildcards exactly as Python's `fnmatch.fnmatch` treats them on POSIX.
//!
//! Meltano matches stream IDs and property breadcrumbs with `fnmatch.fnmatch`, which on Linux
//! does no case folding (`os.path.normcase` is the identity), so matching is case-sensitive.
//! `*` matches any run of characters (dots and newlines included), `?` any one character,
//! `[seq]` / `[!seq]` a character in / not in `seq` with `a-z` ranges. There is no escaping:
//! `\` is an ordinary character. An unterminated `[` is a literal `[`, a `]` right after `[` or
//! `[!` belongs to the set (`[]]`, `[!]]`), a reversed range such as `z-a` is dropped from the
//! set, and a set left empty that way never matches (`[z-a]`) or, negated, matches any character.

/// A compiled wildcard pattern; compile once, match many names.
#[derive(Clone, Debug)]
pub struct Pattern {
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    /// No wildcard at all: plain string equality.
    Exact(String),
    /// Literal text followed by a single trailing `*`.
    Prefix(String),
    /// Anything else.
    General(Vec<Token>),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Never,
    Set(CharSet),
}

#[derive(Clone, Debug, PartialEq)]
struct CharSet {
    negated: bool,
    /// Inclusive ranges; single characters are `(c, c)`.
    ranges: Vec<(char, char)>,
}

impl CharSet {
    fn contains(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

impl Token {
    fn matches(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::AnyChar => true,
            Token::Never | Token::Star => false,
            Token::Set(set) => set.contains(c),
        }
    }
}

impl Pattern {
    /// Compiles `pattern`; every string is a valid pattern, as in Python.
    pub fn new(pattern: &str) -> Pattern {
        let tokens = tokenize(pattern);
        let star_count = tokens.iter().filter(|t| **t == Token::Star).count();
        let literal_prefix = |tokens: &[Token]| -> Option<String> {
            tokens
                .iter()
                .map(|t| match t {
                    Token::Literal(c) => Some(*c),
                    _ => None,
                })
                .collect()
        };
        let kind = match (star_count, tokens.last()) {
            (0, _) => match literal_prefix(&tokens) {
                Some(text) => Kind::Exact(text),
                None => Kind::General(tokens),
            },
            (1, Some(Token::Star)) => match literal_prefix(&tokens[..tokens.len() - 1]) {
                Some(text) => Kind::Prefix(text),
                None => Kind::General(tokens),
            },
            _ => Kind::General(tokens),
        };
        Pattern { kind }
    }

    /// Whether the whole of `name` matches, as `fnmatch.fnmatch(name, pattern)` on POSIX.
    pub fn matches(&self, name: &str) -> bool {
        match &self.kind {
            Kind::Exact(text) => name == text,
            Kind::Prefix(text) => name.starts_with(text.as_str()),
            Kind::General(tokens) => match_tokens(tokens, name),
        }
    }
}

/// `fnmatch.fnmatch(name, pattern)` as Python computes it on POSIX (case-sensitive).
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    Pattern::new(pattern).matches(name)
}

/// Whether `pattern` starts with a character Meltano treats as a glob when it creates schema
/// properties named by the `schema` extra (`*`, `?`, `[` or `]`).
pub(super) fn starts_with_glob(pattern: &str) -> bool {
    matches!(pattern.chars().next(), Some('*' | '?' | '[' | ']'))
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let pat: Vec<char> = pattern.chars().collect();
    let n = pat.len();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < n {
        let c = pat[i];
        i += 1;
        match c {
            '*' => {
                if tokens.last() != Some(&Token::Star) {
                    tokens.push(Token::Star);
                }
            }
            '?' => tokens.push(Token::AnyChar),
            '[' => {
                let mut j = i;
                if j < n && pat[j] == '!' {
                    j += 1;
                }
                if j < n && pat[j] == ']' {
                    j += 1;
                }
                while j < n && pat[j] != ']' {
                    j += 1;
                }
                if j >= n {
                    tokens.push(Token::Literal('['));
                } else {
                    tokens.push(bracket(&pat, i, j));
                    i = j + 1;
                }
            }
            other => tokens.push(Token::Literal(other)),
        }
    }
    tokens
}

/// The token for the bracket expression `pat[start..end]` (between `[` and `]`).
fn bracket(pat: &[char], start: usize, end: usize) -> Token {
    let stuff = &pat[start..end];
    let chunks: Vec<Vec<char>> = if stuff.contains(&'-') {
        range_chunks(pat, start, end)
    } else {
        vec![stuff.to_vec()]
    };
    match chunks.as_slice() {
        [only] if only.is_empty() => return Token::Never,
        [only] if only.as_slice() == ['!'] => return Token::AnyChar,
        _ => {}
    }
    let negated = chunks.first().and_then(|c| c.first()) == Some(&'!');
    let mut ranges = Vec::new();
    let last = chunks.len() - 1;
    for (m, chunk) in chunks.iter().enumerate() {
        let mut members: &[char] = chunk;
        if m == 0 && negated {
            members = &members[1..];
        }
        if m > 0 {
            // The first character closes the range opened by the previous chunk.
            if let (Some(&lo), Some(&hi)) = (chunks[m - 1].last(), members.first()) {
                ranges.push((lo, hi));
            }
            members = members.get(1..).unwrap_or(&[]);
        }
        if m < last {
            // The last character opens a range with the next chunk.
            members = &members[..members.len().saturating_sub(1)];
        }
        ranges.extend(members.iter().map(|&c| (c, c)));
    }
    Token::Set(CharSet { negated, ranges })
}

/// Splits a bracket expression containing `-` into the chunks between range hyphens, merging
/// away reversed ranges, the way Python's `fnmatch.translate` does.
fn range_chunks(pat: &[char], start: usize, end: usize) -> Vec<Vec<char>> {
    let mut chunks: Vec<Vec<char>> = Vec::new();
    let mut i = start;
    let mut k = if pat[start] == '!' {
        start + 2
    } else {
        start + 1
    };
    while let Some(hyphen) = (k..end).find(|&x| pat[x] == '-') {
        chunks.push(pat[i..hyphen].to_vec());
        i = hyphen + 1;
        k = hyphen + 3;
    }
    let tail = &pat[i..end];
    if !tail.is_empty() {
        chunks.push(tail.to_vec());
    } else if let Some(last) = chunks.last_mut() {
        last.push('-');
    }
    for k in (1..chunks.len()).rev() {
        let reversed = matches!(
            (chunks[k - 1].last(), chunks[k].first()),
            (Some(lo), Some(hi)) if lo > hi
        );
        if reversed {
            let rest: Vec<char> = chunks[k][1..].to_vec();
            chunks[k - 1].pop();
            chunks[k - 1].extend(rest);
            chunks.remove(k);
        }
    }
    chunks
}

/// Matches single-character tokens and stars against `name`, backtracking to the last star.
fn match_tokens(tokens: &[Token], name: &str) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if t < tokens.len() {
            if tokens[t] == Token::Star {
                resume = Some((t + 1, p));
                t += 1;
                continue;
            }
            if let Some(c) = name[p..].chars().next()
                && tokens[t].matches(c)
            {
                t += 1;
                p += c.len_utf8();
                continue;
            }
        } else if p == name.len() {
            return true;
        }
        match resume {
            Some((after_star, from)) => match name[from..].chars().next() {
                Some(c) => {
                    let next = from + c.len_utf8();
                    resume = Some((after_star, next));
                    t = after_star;
                    p = next;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn basics() {
        assert!(fnmatch("users", "users"));
        assert!(!fnmatch("Users", "users"));
        assert!(fnmatch("properties.a.properties.b", "properties.*"));
        assert!(fnmatch("a\nb", "a?b"));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("", "?"));
        assert!(fnmatch("]", "[]]"));
        assert!(fnmatch("a", "[!]]"));
        assert!(fnmatch("[x", "[x"));
        assert!(!fnmatch("a", "[z-a]"));
        assert!(fnmatch("q", "[!z-a]"));
        assert!(fnmatch("-", "[a-]"));
        assert!(fnmatch("\\", "[\\]"));
        assert!(fnmatch("abcabd", "*ab?"));
    }
}
