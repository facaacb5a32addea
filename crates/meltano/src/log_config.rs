//! `--log-config` / `cli.log_config`: a Python logging configuration, as far as it decides what
//! a user or a log shipper sees.
//!
//! Meltano hands the file to Python's `logging.config.dictConfig`. We honour the root logger's
//! level and each of its handlers: where it writes (stderr, stdout, a file, nowhere), its own
//! level, and its formatter (Meltano's `console_log_formatter`, `json_formatter`,
//! `key_value_formatter`, `plain_formatter`, or a `%(...)s` format string). Per-logger sections
//! (`loggers:`) are not applied: every line goes to the root's handlers.

use std::path::{Path, PathBuf};

use meltano_cli::{LogFormat, LogLevel};
use serde_json::Value;

/// What a logging configuration file asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogConfig {
    pub path: PathBuf,
    /// The root logger's level.
    pub level: Option<LogLevel>,
    pub handlers: Vec<HandlerConfig>,
}

/// One handler of the root logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerConfig {
    pub name: String,
    /// The handler's own level: lines below it are not written there.
    pub level: Option<LogLevel>,
    pub style: LineStyle,
    pub target: Target,
}

/// How a handler writes a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineStyle {
    Meltano(LogFormat),
    /// A Python `%`-style format string (`[%(asctime)s] %(levelname)s %(message)s`).
    Python(String),
}

/// Where a handler writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stderr,
    Stdout,
    /// Relative paths are relative to the working directory, as Python opens them.
    File {
        path: PathBuf,
        append: bool,
    },
    /// `logging.NullHandler`, or a class we cannot emulate.
    Null,
}

/// The configuration at `path` (relative to the working directory), trying `.yaml`↔`.yml` when
/// the file is missing, as Meltano does. `Ok(None)` when neither exists.
pub fn load(path: &Path) -> Result<Option<LogConfig>, String> {
    let Some(path) = existing(path) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Value =
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let root = &config["root"];
    let level = root["level"].as_str().and_then(level_from_python);
    let handlers = root["handlers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|name| handler(&config, name))
        .collect();
    Ok(Some(LogConfig {
        path,
        level,
        handlers,
    }))
}

fn handler(config: &Value, name: &str) -> HandlerConfig {
    let spec = &config["handlers"][name];
    let class = spec["class"].as_str().unwrap_or_default();
    let target = if class.ends_with("FileHandler") {
        match spec["filename"].as_str() {
            Some(file) => Target::File {
                path: PathBuf::from(file),
                append: !spec["mode"].as_str().is_some_and(|m| m.starts_with('w')),
            },
            None => Target::Null,
        }
    } else if class.ends_with("StreamHandler") {
        match spec["stream"].as_str() {
            Some(stream) if stream.ends_with("stdout") => Target::Stdout,
            _ => Target::Stderr,
        }
    } else {
        Target::Null
    };
    let formatter = spec["formatter"]
        .as_str()
        .map(|f| &config["formatters"][f])
        .unwrap_or(&Value::Null);
    HandlerConfig {
        name: name.to_string(),
        level: spec["level"].as_str().and_then(level_from_python),
        style: style(formatter),
        target,
    }
}

fn existing(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    let other = match path.extension().and_then(|e| e.to_str()) {
        Some("yaml") => path.with_extension("yml"),
        Some("yml") => path.with_extension("yaml"),
        _ => return None,
    };
    other.is_file().then_some(other)
}

fn level_from_python(level: &str) -> Option<LogLevel> {
    match level.to_ascii_uppercase().as_str() {
        "DEBUG" | "NOTSET" => Some(LogLevel::Debug),
        "INFO" => Some(LogLevel::Info),
        "WARNING" | "WARN" => Some(LogLevel::Warning),
        "ERROR" => Some(LogLevel::Error),
        "CRITICAL" | "FATAL" => Some(LogLevel::Critical),
        _ => None,
    }
}

/// The line style of a formatter: one of Meltano's factories, a format string, or Python's
/// default (`%(message)s`) when the handler names none.
fn style(formatter: &Value) -> LineStyle {
    let factory = formatter["()"].as_str().unwrap_or_default();
    let format = match factory.rsplit(['.', ':']).next().unwrap_or_default() {
        "json_formatter" => Some(LogFormat::Json),
        "key_value_formatter" => Some(LogFormat::KeyValue),
        "plain_formatter" => Some(LogFormat::Plain),
        "console_log_formatter" if formatter["colors"] == Value::Bool(false) => {
            Some(LogFormat::Uncolored)
        }
        "console_log_formatter" => Some(LogFormat::Colored),
        _ => None,
    };
    match format {
        Some(format) => LineStyle::Meltano(format),
        None => LineStyle::Python(
            formatter["format"]
                .as_str()
                .unwrap_or("%(message)s")
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_root_level_and_every_handler() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logging.yaml");
        std::fs::write(
            &path,
            "version: 1\nformatters:\n  structured:\n    (): meltano.core.logging.json_formatter\n\
             \x20 plain:\n    (): meltano.core.logging.console_log_formatter\n    colors: False\n\
             \x20 default:\n    format: '%(levelname)s %(message)s'\n\
             handlers:\n  file:\n    class: logging.FileHandler\n    formatter: structured\n    filename: meltano.log\n    mode: w\n\
             \x20 console:\n    class: logging.StreamHandler\n    level: INFO\n    formatter: plain\n    stream: ext://sys.stdout\n\
             \x20 raw:\n    class: logging.StreamHandler\n    formatter: default\n\
             root:\n  level: WARNING\n  handlers: [file, console, raw]\n",
        )
        .unwrap();
        let config = load(&dir.path().join("logging.yml")).unwrap().unwrap();
        assert_eq!(config.level, Some(LogLevel::Warning));
        assert_eq!(
            config.handlers,
            vec![
                HandlerConfig {
                    name: "file".into(),
                    level: None,
                    style: LineStyle::Meltano(LogFormat::Json),
                    target: Target::File {
                        path: PathBuf::from("meltano.log"),
                        append: false
                    },
                },
                HandlerConfig {
                    name: "console".into(),
                    level: Some(LogLevel::Info),
                    style: LineStyle::Meltano(LogFormat::Uncolored),
                    target: Target::Stdout,
                },
                HandlerConfig {
                    name: "raw".into(),
                    level: None,
                    style: LineStyle::Python("%(levelname)s %(message)s".into()),
                    target: Target::Stderr,
                },
            ]
        );
        assert_eq!(load(&dir.path().join("missing.yaml")).unwrap(), None);
    }
}
