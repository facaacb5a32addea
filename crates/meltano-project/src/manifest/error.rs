//! Errors from reading meltano.yml and its included files.
//!
//! A bad file must produce one line a user can act on: `file:line:column: what is wrong at
//! key.path`, plus a hint for the usual YAML traps (tabs, unquoted `: `). serde-saphyr gives the
//! position; [`locate`](super::locate) supplies the key path and what was actually found there.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde_saphyr::{DefaultMessageFormatter, Error as YamlError, Location, MessageFormatter};

use super::load::EntryKey;
use super::locate::{self, KeyPath, KeyRole};

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The project file does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The unreadable file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// meltano.yml holds no document (empty, only comments, or null).
    #[error(
        "Your meltano.yml file is empty. Please update your meltano file with a valid configuration."
    )]
    Empty {
        /// The empty file.
        path: PathBuf,
    },
    /// Invalid YAML, or YAML of the wrong shape, at a known place.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
    /// An `include_paths` entry is not a valid relative glob pattern.
    #[error("invalid include_paths pattern `{pattern}`: {message}")]
    IncludePattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },
    /// An `include_paths` pattern matched something outside the project root.
    #[error(
        "include_paths pattern `{pattern}` matches `{}`, which is outside the project root `{}`",
        path.display(),
        root.display()
    )]
    IncludeOutsideRoot {
        /// The pattern as written.
        pattern: String,
        /// The offending match.
        path: PathBuf,
        /// The project root.
        root: PathBuf,
    },
    /// An `include_paths` pattern matched a directory or other non-file.
    #[error("include_paths pattern `{pattern}` matches `{}`, which is not a regular file", path.display())]
    IncludeNotAFile {
        /// The pattern as written.
        pattern: String,
        /// The offending match.
        path: PathBuf,
    },
    /// The same plugin, schedule, environment or job is defined in two files.
    #[error(
        "Duplicate {} name found: {key} is defined in both `{}` and `{}`",
        key.kind(),
        first.display(),
        second.display()
    )]
    Duplicate {
        /// What is defined twice.
        key: EntryKey,
        /// Where it was defined first.
        first: PathBuf,
        /// Where it was defined again.
        second: PathBuf,
    },
}

impl ManifestError {
    /// The diagnostic, for errors that point into a file.
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ManifestError::Invalid(d) => Some(d),
            _ => None,
        }
    }
}

/// A problem at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, or 0 when unknown.
    pub line: u64,
    /// 1-based column, or 0 when unknown.
    pub column: u64,
    /// What is wrong, e.g. "invalid type: integer `5`, expected a sequence of plugins".
    pub message: String,
    /// Where in the document, e.g. `plugins.extractors[0].select`.
    pub key_path: Option<String>,
    /// Line and column of the alias through which the offending value was reached, if any.
    pub via_alias: Option<(u64, u64)>,
    /// How to fix it, for common mistakes.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(path) = &self.key_path {
            write!(f, " at {path}")?;
        }
        if let Some((line, column)) = self.via_alias {
            write!(f, " (reached through the alias at {line}:{column})")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// A diagnostic for a check made after deserialization, placed at `path` in `text`.
    pub(crate) fn at_path(
        file: &Path,
        text: &str,
        path: &KeyPath,
        message: String,
        hint: Option<String>,
    ) -> Self {
        let (line, column) = locate::position_of(&locate::nodes(text), path).unwrap_or((0, 0));
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message,
            key_path: (!path.0.is_empty()).then(|| path.to_string()),
            via_alias: None,
            hint,
        }
    }

    /// Turns a serde-saphyr error on `text` into a diagnostic.
    pub(crate) fn from_yaml(err: &YamlError, text: &str, file: &Path) -> Self {
        let (inner, alias_use) = original(err);
        let location = inner
            .location()
            .or_else(|| err.location())
            .filter(|l| l.line() > 0);
        let position = location.map(|l| (l.line(), l.column()));
        let span = location.map(|l| (l.span().offset(), l.span().len()));
        let (role, prefer) = match inner {
            YamlError::SerdeInvalidType { unexpected, .. }
            | YamlError::SerdeInvalidValue { unexpected, .. } => {
                let prefer = match unexpected.as_str() {
                    "map" => Some("a mapping"),
                    "sequence" => Some("a sequence"),
                    _ => None,
                };
                (KeyRole::Value, prefer)
            }
            YamlError::Unexpected {
                expected: "mapping start",
                ..
            } => (KeyRole::Value, Some("a sequence")),
            YamlError::Unexpected {
                expected: "sequence start",
                ..
            } => (KeyRole::Value, Some("a mapping")),
            YamlError::SerdeInvalidLength { .. }
            | YamlError::Unexpected { .. }
            | YamlError::InvalidScalar { .. }
            | YamlError::InvalidBooleanStrict { .. }
            | YamlError::NullIntoString { .. } => (KeyRole::Value, None),
            YamlError::SerdeMissingField { .. } => (KeyRole::Mapping, Some("a mapping")),
            _ => (KeyRole::Key, None),
        };
        let nodes = locate::nodes(text);
        let found = position.and_then(|pos| locate::at(&nodes, span, pos, role, prefer));
        let (line, column) = match (&found, position) {
            (Some(f), _) if !f.inside => f.start,
            (_, Some(pos)) => pos,
            _ => (0, 0),
        };
        let description = found.as_ref().and_then(|f| f.description.as_deref());
        let message = message(inner, description).into_owned();
        let via_alias = alias_use
            .filter(|l| l.line() > 0)
            .map(|l| (l.line(), l.column()));
        let hint = hint(inner, &message);
        let key_path = found
            .filter(|f| !f.path.0.is_empty())
            .map(|f| f.path.to_string());
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            message,
            key_path,
            via_alias,
            hint,
        }
    }
}

/// The error itself, without snippet or alias wrappers, and where an alias led to it.
fn original(err: &YamlError) -> (&YamlError, Option<Location>) {
    match err.without_snippet() {
        YamlError::AliasError {
            error, locations, ..
        } => {
            let (inner, _) = original(error);
            (inner, Some(locations.reference_location))
        }
        other => (other, None),
    }
}

/// The message for an error, naming what was found when the generic text does not.
fn message<'a>(err: &'a YamlError, found: Option<&str>) -> Cow<'a, str> {
    let mismatch = |kind: &str, expected: &str| match found {
        Some(found) => Cow::Owned(format!("invalid {kind}: {found}, expected {expected}")),
        None => Cow::Owned(format!("expected {expected}")),
    };
    match err {
        YamlError::Unexpected { expected, .. } => {
            let expected = match *expected {
                "sequence start" => "a sequence",
                "mapping start" => "a mapping",
                other => other,
            };
            mismatch("type", expected)
        }
        YamlError::InvalidScalar { ty, .. } => {
            let expected = match *ty {
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
                "f32" | "f64" => "a number",
                "bool" => "a boolean",
                other => other,
            };
            mismatch("value", expected)
        }
        YamlError::InvalidBooleanStrict { .. } => mismatch("value", "a boolean (true or false)"),
        YamlError::NullIntoString { .. } => Cow::Borrowed("invalid type: null, expected a string"),
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => Cow::Owned(format!(
            "invalid type: {}, expected {expected}",
            serde_found(unexpected)
        )),
        YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => Cow::Owned(format!(
            "invalid value: {}, expected {expected}",
            serde_found(unexpected)
        )),
        YamlError::DuplicateMappingKey { key: Some(key), .. } => {
            Cow::Owned(format!("duplicate key `{key}`"))
        }
        YamlError::DuplicateMappingKey { key: None, .. } => Cow::Borrowed("duplicate key"),
        YamlError::MultipleDocuments { .. } => {
            Cow::Borrowed("more than one YAML document in the file")
        }
        YamlError::Eof { .. } => Cow::Borrowed("unexpected end of file"),
        other => DefaultMessageFormatter.format_message(other),
    }
}

/// Serde's name for what was found, in the words [`locate`] uses.
fn serde_found(unexpected: &str) -> &str {
    match unexpected {
        "map" => "a mapping",
        "sequence" => "a sequence",
        "unit value" => "null",
        other => other,
    }
}

/// A fix for the usual YAML mistakes.
fn hint(err: &YamlError, message: &str) -> Option<String> {
    let hint = if message.contains("tab") {
        "indent with spaces: YAML does not allow tab characters in indentation"
    } else if message.contains("mapping values are not allowed") {
        "quote a value that contains `: `, e.g. `description: \"a: b\"`"
    } else if matches!(err, YamlError::DuplicateMappingKey { .. }) {
        "a key may appear only once in a mapping; remove or merge the repeated one"
    } else if message.contains("string \"$") && message.contains("expected a") {
        "`$VAR` references are not expanded in boolean and integer project settings; set the setting's `MELTANO_*` environment variable instead"
    } else if matches!(err, YamlError::MultipleDocuments { .. }) {
        "remove the `---` line that starts a second document"
    } else {
        return None;
    };
    Some(hint.to_string())
}
