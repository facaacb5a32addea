//! Splitting a `pip_url` into `pip install` arguments exactly like Python's `shlex.split(s)` (POSIX mode, no
//! comments), because the fingerprint of Meltano-created venvs hashes those arguments.

/// Why a `pip_url` could not be split; the same two failures Python's `shlex.split` raises.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A `'` or `"` was opened and never closed.
    #[error("No closing quotation")]
    NoClosingQuotation,
    /// The string ends with a lone backslash.
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// Splits `s` on whitespace honouring quotes and backslashes as Python's `shlex.split(s)` does (`#` is an
/// ordinary character, so `git+https://…#egg=x` and `pkg #tag` keep every word).
pub fn split_pip_url(s: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word exists once any character or quote pair was seen, so `''` yields an empty argument.
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(q) => word.push(q),
                        None => return Err(SplitError::NoClosingQuotation),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        // Inside double quotes a backslash escapes only `"` and itself.
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => return Err(SplitError::NoEscapedCharacter),
                        },
                        Some(q) => word.push(q),
                        None => return Err(SplitError::NoClosingQuotation),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(e) => word.push(e),
                    None => return Err(SplitError::NoEscapedCharacter),
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_pip_url(s).unwrap()
    }

    #[test]
    fn splits_on_any_whitespace() {
        assert_eq!(
            split("  target-jsonl\t--no-deps \n x "),
            ["target-jsonl", "--no-deps", "x"]
        );
        assert!(split("   ").is_empty());
    }

    #[test]
    fn hash_is_not_a_comment() {
        assert_eq!(
            split("git+https://h/x.git@v1#egg=x #y"),
            ["git+https://h/x.git@v1#egg=x", "#y"]
        );
    }

    #[test]
    fn quotes_join_and_keep_spaces() {
        assert_eq!(split(r#"a'b c'd "e f""#), ["ab cd", "e f"]);
        assert_eq!(split("'' x"), ["", "x"]);
        assert_eq!(
            split(r#""pkg[a,b]>=1.0; python_version>'3'""#),
            ["pkg[a,b]>=1.0; python_version>'3'"]
        );
    }

    #[test]
    fn backslashes_follow_python_posix_rules() {
        assert_eq!(split(r"a\ b"), ["a b"]);
        assert_eq!(split(r#""a\"b\\c\d""#), [r#"a"b\c\d"#]);
        assert_eq!(split(r"'a\b'"), [r"a\b"]);
    }

    #[test]
    fn unbalanced_input_is_an_error() {
        assert_eq!(split_pip_url("'abc"), Err(SplitError::NoClosingQuotation));
        assert_eq!(split_pip_url("\"abc"), Err(SplitError::NoClosingQuotation));
        assert_eq!(split_pip_url("abc\\"), Err(SplitError::NoEscapedCharacter));
    }
}
